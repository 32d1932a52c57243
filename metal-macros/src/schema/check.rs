//! Checks that the tasks form one tree of well-formed enums, and computes the end labels.
//!
//! Every problem is reported at the user's own token, and all of them are collected before the
//! macro gives up, so one build shows them all.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use proc_macro2::Ident;
use quote::quote;
use syn::ext::IdentExt;
use syn::Fields;

use super::ast::{item_ident, Schema, Task};
use crate::ctxt::Ctxt;

/// Names the macro generates in the module.
pub(crate) const GENERATED: [&str; 2] = ["Schema", "EndLabel"];

/// The resolved hierarchy of a schema that passed every check.
pub(crate) struct Tree {
    /// Per task: the parent task's index and the label that activates it (`None` for the root).
    pub(crate) parents: Vec<Option<(usize, u16)>>,
    /// The end labels, in the order of the runtime's `TaskGraph`.
    pub(crate) end_labels: Vec<EndLabelDef>,
}

/// One variant of the generated `EndLabel` enum.
pub(crate) struct EndLabelDef {
    /// The label identifiers along its path, concatenated (`CorporatePerformance`).
    pub(crate) ident: Ident,
    /// The path, for the variant's doc comment (`Corporate / Performance`).
    pub(crate) doc: String,
}

/// Runs every check; returns the tree when there was no error.
pub(crate) fn check(cx: &Ctxt, schema: &Schema<'_>) -> Option<Tree> {
    let module = schema.original;
    if schema.tasks.is_empty() {
        cx.error_spanned_by(
            &module.ident,
            format!("`#[task_schema]` module `{}` has no task; declare each task as an enum in it", module.ident),
        );
        return None;
    }
    check_generated_names(cx, schema);
    for task in &schema.tasks {
        check_enum(cx, task);
    }
    let index = task_index(cx, schema);
    let parents: Vec<Option<(usize, u16)>> =
        schema.tasks.iter().map(|t| resolve_parent(cx, schema, &index, t)).collect();
    check_roots(cx, schema);
    check_shared_activation(cx, schema, &parents);
    check_cycles(cx, schema, &parents);
    if !cx.is_ok() {
        return None;
    }
    let end_labels = end_labels(cx, schema, &parents);
    cx.is_ok().then_some(Tree { parents, end_labels })
}

/// The module must not declare what the macro generates.
fn check_generated_names(cx: &Ctxt, schema: &Schema<'_>) {
    let items = schema.original.content.as_ref().map_or(&[][..], |(_, items)| items);
    for ident in items.iter().filter_map(item_ident) {
        if GENERATED.iter().any(|g| ident == g) {
            cx.error_spanned_by(
                ident,
                format!("`#[task_schema]` generates `{ident}` in this module; rename this item"),
            );
        }
    }
}

/// One enum: not generic, at least two labels, unit variants without discriminants.
fn check_enum(cx: &Ctxt, task: &Task<'_>) {
    let original = task.original;
    let name = original.ident.unraw();
    if !original.generics.params.is_empty() {
        cx.error_spanned_by(&original.generics, format!("task `{name}` cannot be generic"));
    } else if let Some(where_clause) = &original.generics.where_clause {
        cx.error_spanned_by(where_clause, format!("task `{name}` cannot have a `where` clause"));
    }
    match task.labels.len() {
        0 => {
            cx.error_spanned_by(&original.ident, format!("task `{name}` has no labels; declare at least two variants"))
        }
        1 => {
            let hint = match &task.parent {
                Some(parent) => format!(
                    " (a label without a child task is already an end label: to make `{}::{}` a leaf, remove `{name}`)",
                    parent.task.unraw(),
                    parent.label.unraw()
                ),
                None => String::new(),
            };
            cx.error_spanned_by(
                &original.ident,
                format!("task `{name}` has only one label; a task needs at least two variants{hint}"),
            )
        }
        n if n > usize::from(u16::MAX) => {
            cx.error_spanned_by(&original.ident, format!("task `{name}` has {n} labels; at most 65535 are supported"))
        }
        _ => {}
    }
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for label in &task.labels {
        let variant = label.original;
        let ident = &variant.ident;
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                format!("label `{ident}` of task `{name}` cannot have fields; labels are unit variants"),
            );
        }
        if let Some((eq, discriminant)) = &variant.discriminant {
            cx.error_spanned_by(
                quote!(#eq #discriminant),
                format!(
                    "label `{ident}` cannot have an explicit discriminant; a label's index is its position in `{name}`"
                ),
            );
        }
        if seen.insert(ident.unraw().to_string(), ident).is_some() {
            cx.error_spanned_by(ident, format!("duplicate label `{ident}` in task `{name}`"));
        }
    }
}

/// Task name -> index; a repeated name is reported at its second enum.
fn task_index(cx: &Ctxt, schema: &Schema<'_>) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (t, task) in schema.tasks.iter().enumerate() {
        let ident = task.ident();
        match index.entry(ident.unraw().to_string()) {
            Entry::Occupied(_) => cx.error_spanned_by(ident, format!("duplicate task `{ident}`")),
            Entry::Vacant(slot) => {
                slot.insert(t);
            }
        }
    }
    index
}

/// Backticked names, comma separated: "`A`, `B`".
fn list<'a>(names: impl IntoIterator<Item = &'a Ident>) -> String {
    let names: Vec<String> = names.into_iter().map(|i| format!("`{}`", i.unraw())).collect();
    names.join(", ")
}

/// The task and label that `parent = Task::Label` names.
fn resolve_parent(
    cx: &Ctxt,
    schema: &Schema<'_>,
    index: &HashMap<String, usize>,
    task: &Task<'_>,
) -> Option<(usize, u16)> {
    let parent = task.parent.as_ref()?;
    let Some(&p) = index.get(&parent.task.unraw().to_string()) else {
        cx.error_spanned_by(
            &parent.task,
            format!(
                "no task `{}` in this `#[task_schema]` module; the tasks are {}",
                parent.task,
                list(schema.tasks.iter().map(Task::ident))
            ),
        );
        return None;
    };
    let parent_task = &schema.tasks[p];
    let label = parent.label.unraw().to_string();
    let Some(v) = parent_task.labels.iter().position(|l| l.ident().unraw() == label) else {
        cx.error_spanned_by(
            &parent.label,
            format!(
                "task `{}` has no label `{}`; its labels are {}",
                parent_task.ident(),
                parent.label,
                list(parent_task.labels.iter().map(|l| l.ident()))
            ),
        );
        return None;
    };
    u16::try_from(v).ok().map(|v| (p, v))
}

/// Exactly one task has no `parent`.
fn check_roots(cx: &Ctxt, schema: &Schema<'_>) {
    let mut roots = schema.tasks.iter().filter(|t| !t.has_parent);
    let Some(first) = roots.next() else {
        // Every task names a parent: either a parent failed to resolve (already reported) or the
        // parents form a cycle (reported by `check_cycles`).
        return;
    };
    for other in roots {
        cx.error_spanned_by(
            other.ident(),
            format!(
                "task `{}` has no `parent`, but `{}` is already the root task; \
                 give it a parent, e.g. `#[task(parent = {}::{})]`",
                other.ident(),
                first.ident(),
                first.ident(),
                first.labels.first().map_or_else(|| "Label".to_owned(), |l| l.ident().to_string()),
            ),
        );
    }
}

/// A label activates at most one child task; the second is reported at its `parent` value.
fn check_shared_activation(cx: &Ctxt, schema: &Schema<'_>, parents: &[Option<(usize, u16)>]) {
    let mut first_child: HashMap<(usize, u16), usize> = HashMap::new();
    for (t, parent) in parents.iter().enumerate() {
        let Some(key) = *parent else { continue };
        if let Some(&first) = first_child.get(&key) {
            if let Some(parent_ref) = &schema.tasks[t].parent {
                cx.error_spanned_by(
                    &parent_ref.path,
                    format!(
                        "`{}::{}` already activates task `{}`; a label activates at most one task",
                        parent_ref.task,
                        parent_ref.label,
                        schema.tasks[first].ident()
                    ),
                );
            }
        } else {
            first_child.insert(key, t);
        }
    }
}

/// The parents form no cycle; each cycle is reported once, at the `parent` value of its first
/// task in declaration order.
fn check_cycles(cx: &Ctxt, schema: &Schema<'_>, parents: &[Option<(usize, u16)>]) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let mut state = vec![State::New; parents.len()];
    for start in 0..parents.len() {
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            match state[cur] {
                State::Done => break,
                State::OnPath => {
                    let at = path.iter().position(|&t| t == cur).unwrap_or(0);
                    report_cycle(cx, schema, &path[at..]);
                    break;
                }
                State::New => {
                    state[cur] = State::OnPath;
                    path.push(cur);
                    match parents[cur] {
                        Some((p, _)) => cur = p,
                        None => break,
                    }
                }
            }
        }
        for t in path {
            state[t] = State::Done;
        }
    }
}

fn report_cycle(cx: &Ctxt, schema: &Schema<'_>, cycle: &[usize]) {
    let Some(&first) = cycle.iter().min() else { return };
    let at = cycle.iter().position(|&t| t == first).unwrap_or(0);
    let mut names: Vec<String> =
        cycle[at..].iter().chain(&cycle[..at]).map(|&t| format!("`{}`", schema.tasks[t].ident())).collect();
    names.push(format!("`{}`", schema.tasks[first].ident()));
    if let Some(parent) = &schema.tasks[first].parent {
        let msg = if cycle.len() == 1 {
            format!("task `{}` cannot be its own parent", schema.tasks[first].ident())
        } else {
            format!("the parents of {} form a cycle; the tasks must form one tree", names.join(" -> "))
        };
        cx.error_spanned_by(&parent.path, msg);
    }
}

/// The end labels in the order of the runtime's `TaskGraph::new`: tasks in index order, and for
/// each task its labels that activate no child task. Each is named by the label identifiers along
/// its root-to-leaf path.
fn end_labels(cx: &Ctxt, schema: &Schema<'_>, parents: &[Option<(usize, u16)>]) -> Vec<EndLabelDef> {
    let activates: HashSet<(usize, u16)> = parents.iter().flatten().copied().collect();
    let mut out = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (t, task) in schema.tasks.iter().enumerate() {
        for (v, label) in task.labels.iter().enumerate() {
            let Ok(v) = u16::try_from(v) else { continue };
            if activates.contains(&(t, v)) {
                continue;
            }
            let mut path = vec![label.ident()];
            let mut cur = t;
            while let Some((p, pv)) = parents[cur] {
                path.push(schema.tasks[p].labels[usize::from(pv)].ident());
                cur = p;
            }
            path.reverse();
            let doc = path.iter().map(|i| i.unraw().to_string()).collect::<Vec<_>>().join(" / ");
            let ident = match path.as_slice() {
                [single] => (*single).clone(),
                _ => {
                    let name: String = path.iter().map(|i| i.unraw().to_string()).collect();
                    Ident::new(&name, label.ident().span())
                }
            };
            let name = ident.unraw().to_string();
            if syn::parse_str::<Ident>(&ident.to_string()).is_err() {
                cx.error_spanned_by(
                    label.ident(),
                    format!("end label `{doc}` would be named `{name}`, a keyword; rename one of its labels"),
                );
            } else if let Some(first) = seen.get(&name) {
                cx.error_spanned_by(
                    label.ident(),
                    format!(
                        "end labels `{first}` and `{doc}` would both be named `EndLabel::{name}`; \
                         rename one of their labels"
                    ),
                );
            } else {
                seen.insert(name, doc.clone());
            }
            out.push(EndLabelDef { ident, doc });
        }
    }
    out
}
