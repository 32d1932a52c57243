//! Parses `#[task_schema(..)]` and the `#[task(..)]` helper attributes on its enums.
//!
//! Every bad key is reported, not only the first: errors go to the [`Ctxt`] and parsing goes on.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Attribute, Ident, Path};

use crate::ctxt::Ctxt;
use crate::parse::{key_name, path_value, skip_value};
use crate::symbol::{CRATE, PARENT, TASK_ATTR};

/// The arguments of `#[task_schema(..)]`.
#[derive(Default)]
pub(crate) struct SchemaArgs {
    /// `crate = "path"`: where the runtime crate is.
    pub(crate) krate: Option<Path>,
}

/// Parses the arguments of `#[task_schema(..)]`.
pub(crate) fn parse_schema_args(cx: &Ctxt, args: TokenStream) -> SchemaArgs {
    let mut out = SchemaArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path == CRATE {
            let path = path_value(&meta, "`crate` must be a path, e.g. `crate = \"metal_runtime\"`")?;
            if out.krate.is_some() {
                cx.error_spanned_by(&meta.path, format!("duplicate metal attribute `{CRATE}`"));
            } else {
                out.krate = Some(path);
            }
        } else {
            cx.error_spanned_by(
                &meta.path,
                format!("unknown metal attribute `{}`; `#[task_schema]` accepts `{CRATE}`", key_name(&meta)),
            );
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    out
}

/// `parent = Task::Label` of a `#[task(..)]` attribute, as written.
pub(crate) struct ParentRef {
    /// The whole path, for spans.
    pub(crate) path: Path,
    /// The parent task's enum.
    pub(crate) task: Ident,
    /// The label of the parent that activates the task.
    pub(crate) label: Ident,
}

/// The `#[task(..)]` attributes of one enum.
#[derive(Default)]
pub(crate) struct TaskAttr {
    /// `parent = Task::Label`; `None` for the root task, or when the value is malformed.
    pub(crate) parent: Option<ParentRef>,
    /// Whether the `parent` key was given, well formed or not, or may have been meant (the
    /// attribute has an unknown key or a syntax error). Such a task is not taken as a root, so a
    /// typo does not also report a second root.
    pub(crate) has_parent: bool,
}

/// True for `#[task(..)]`.
pub(crate) fn is_task_attr(attr: &Attribute) -> bool {
    attr.path() == TASK_ATTR
}

/// Parses every `#[task(..)]` in `attrs`; a key repeated across several attributes is a duplicate.
pub(crate) fn parse_task_attrs(cx: &Ctxt, attrs: &[Attribute]) -> TaskAttr {
    let mut out = TaskAttr::default();
    for attr in attrs.iter().filter(|a| is_task_attr(a)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path == PARENT {
                if out.has_parent {
                    cx.error_spanned_by(&meta.path, format!("duplicate metal attribute `{PARENT}`"));
                    return skip_value(&meta);
                }
                out.has_parent = true;
                let path = path_value(&meta, "`parent` must be a path, e.g. `parent = Topic::Corporate`")?;
                out.parent = parent_ref(cx, path);
            } else {
                cx.error_spanned_by(
                    &meta.path,
                    format!("unknown metal attribute `{}`; `#[task]` accepts `{PARENT}`", key_name(&meta)),
                );
                out.has_parent = true;
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(err) = result {
            out.has_parent = true;
            cx.syn_error(err);
        }
    }
    out
}

/// Splits `Task::Label`; anything else is reported at the path.
fn parent_ref(cx: &Ctxt, path: Path) -> Option<ParentRef> {
    let mut segments = path.segments.iter();
    let split = match (path.leading_colon, segments.next(), segments.next(), segments.next()) {
        (None, Some(task), Some(label), None) if task.arguments.is_none() && label.arguments.is_none() => {
            Some((task.ident.clone(), label.ident.clone()))
        }
        _ => None,
    };
    match split {
        Some((task, label)) => Some(ParentRef { path, task, label }),
        None => {
            cx.error_spanned_by(
                &path,
                "`parent` must name a task of this module and one of its labels, e.g. `parent = Topic::Corporate`",
            );
            None
        }
    }
}
