//! Generates the `Schema` type, the `EndLabel` enum and the trait impls of a `#[task_schema]`
//! module: data tables and one-line methods; the logic lives in the runtime.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::{Item, ItemMod, Path, Visibility};

use super::ast::{item_attrs_mut, Schema, Task};
use super::attr::{is_task_attr, parse_schema_args};
use super::check::{check, Tree, GENERATED};
use crate::ctxt::Ctxt;
use crate::parse::{default_crate_path, item_head};

/// Expands `#[task_schema(args)] item`. On errors, re-emits the module (without its `#[task]`
/// attributes) with stub impls, followed by the errors.
pub(crate) fn task_schema(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = parse_schema_args(&cx, args);
    let krate = args.krate.unwrap_or_else(default_crate_path);
    let mut module = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Mod(module)) if module.content.is_some() => module,
        Ok(Item::Mod(module)) => {
            cx.error_spanned_by(
                &module,
                format!(
                    "`#[task_schema]` needs an inline module: `mod {} {{ .. }}` with the task enums in it",
                    module.ident
                ),
            );
            return with_errors(item, cx);
        }
        Ok(other) => {
            cx.error_spanned_by(
                item_head(&other),
                "`#[task_schema]` can only be applied to an inline module of task enums, e.g. `mod tasks { .. }`",
            );
            return with_errors(item, cx);
        }
        Err(err) => {
            cx.syn_error(err);
            return with_errors(item, cx);
        }
    };

    let (generated, ok) = {
        let schema = Schema::from_module(&cx, &module);
        match check(&cx, &schema) {
            Some(tree) => (generate(&schema, &tree, &krate), true),
            None => (fallback(&schema, &krate), false),
        }
    };
    strip_task_attrs(&mut module);
    if !ok {
        remove_duplicate_variants(&mut module);
    }
    if let Some((_, items)) = &mut module.content {
        items.push(Item::Verbatim(generated));
    }
    let mut out = module.into_token_stream();
    out.extend(cx.into_compile_errors());
    out
}

fn with_errors(mut item: TokenStream, cx: Ctxt) -> TokenStream {
    item.extend(cx.into_compile_errors());
    item
}

/// Removes the `#[task(..)]` helper attributes, which only this macro understands.
fn strip_task_attrs(module: &mut ItemMod) {
    if let Some((_, items)) = &mut module.content {
        for item in items {
            if let Some(attrs) = item_attrs_mut(item) {
                attrs.retain(|a| !is_task_attr(a));
            }
        }
    }
}

/// Drops the second and later variants of the same name, which `check` has reported, so that
/// rustc does not report them again.
fn remove_duplicate_variants(module: &mut ItemMod) {
    if let Some((_, items)) = &mut module.content {
        for item in items {
            if let Item::Enum(e) = item {
                let mut seen = std::collections::HashSet::new();
                e.variants = std::mem::take(&mut e.variants)
                    .into_pairs()
                    .filter(|pair| seen.insert(pair.value().ident.unraw().to_string()))
                    .collect();
            }
        }
    }
}

/// The visibility of the generated types: the widest among the task enums (`pub`, else
/// `pub(crate)`, else the root's), since an impl of `Task` for a task enum cannot name a less
/// visible `Schema`. Usually all tasks, and so the generated types, have the root's visibility.
fn visibility<'a>(schema: &'a Schema<'_>) -> Option<&'a Visibility> {
    let visibilities = || schema.tasks.iter().map(|t| &t.original.vis);
    let is_crate = |vis: &&Visibility| match vis {
        Visibility::Restricted(r) => r.in_token.is_none() && r.path.is_ident("crate"),
        _ => false,
    };
    visibilities()
        .find(|vis| matches!(vis, Visibility::Public(_)))
        .or_else(|| visibilities().find(is_crate))
        .or_else(|| schema.root().or(schema.tasks.first()).map(|t| &t.original.vis))
}

fn generate(schema: &Schema<'_>, tree: &Tree, krate: &Path) -> TokenStream {
    let vis = visibility(schema);
    let private = quote!(#krate::__private);
    let option = quote!(::core::option::Option);

    let specs = schema.tasks.iter().zip(&tree.parents).map(|(task, parent)| {
        let name = task.ident().unraw().to_string();
        let labels = task.labels.iter().map(|l| l.ident().unraw().to_string());
        let parent = match parent {
            Some((p, v)) => {
                let (p, v) = (Literal::usize_unsuffixed(*p), Literal::u16_unsuffixed(*v));
                quote!(#option::Some((#p, #v)))
            }
            None => quote!(#option::None),
        };
        let doc = &task.doc;
        let label_docs = task.labels.iter().map(|l| &l.doc);
        quote! {
            #private::TaskSpec {
                name: #name,
                labels: &[#(#labels),*],
                parent: #parent,
                doc: #doc,
                label_docs: &[#(#label_docs),*],
            }
        }
    });

    let end_idents: Vec<_> = tree.end_labels.iter().map(|e| &e.ident).collect();
    let end_docs = tree.end_labels.iter().map(|e| format!(" {}", e.doc));
    let task_impls = schema.tasks.iter().enumerate().map(|(t, task)| task_impl(task, t, &private));
    let task_idents = schema.tasks.iter().map(Task::ident);

    quote! {
        /// The task schema of this module, generated by `#[task_schema]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #vis struct Schema;

        /// The end labels of this schema: the leaves of its task hierarchy, in feasible-set order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #vis enum EndLabel {
            #(
                #[doc = #end_docs]
                #end_idents,
            )*
        }

        const _: () = {
            #[automatically_derived]
            impl #private::TaskSchema for Schema {
                const TASKS: &'static [#private::TaskSpec] = &[#(#specs),*];
                type EndLabel = EndLabel;
                fn graph() -> &'static #private::TaskGraph {
                    static GRAPH: #private::OnceLock<#private::TaskGraph> = #private::OnceLock::new();
                    GRAPH.get_or_init(#private::graph_of::<Self>)
                }
            }

            #[automatically_derived]
            impl #private::EndLabel for EndLabel {
                type Schema = Schema;
                fn index(&self) -> usize {
                    *self as usize
                }
                fn from_index(index: usize) -> #option<Self> {
                    [#(Self::#end_idents),*].get(index).copied()
                }
            }

            #(#task_impls)*

            // The schema uses every task enum, also those no other code names.
            let _: #option<(#(#task_idents,)*)> = #option::None;
        };
    }
}

fn task_impl(task: &Task<'_>, index: usize, private: &TokenStream) -> TokenStream {
    let ident = task.ident();
    let option = quote!(::core::option::Option);
    let index = Literal::usize_unsuffixed(index);
    let labels: Vec<_> = task.labels.iter().map(|l| l.ident()).collect();
    let values = (0..labels.len()).map(Literal::usize_unsuffixed);
    quote! {
        #[automatically_derived]
        impl #private::Task for #ident {
            type Schema = Schema;
            const INDEX: usize = #index;
            fn label_index(&self) -> u16 {
                match self {
                    #(Self::#labels => #values,)*
                }
            }
            fn from_label_index(index: u16) -> #option<Self> {
                ::core::iter::IntoIterator::into_iter([#(Self::#labels),*]).nth(usize::from(index))
            }
        }
    }
}

/// Stub types and impls for a schema with errors, so that code using the module reports no
/// follow-on "cannot find type" or "trait not implemented" errors. Never run: the build fails.
fn fallback(schema: &Schema<'_>, krate: &Path) -> TokenStream {
    let module_items = schema.original.content.as_ref().map_or(&[][..], |(_, items)| items);
    let clashes =
        module_items.iter().filter_map(super::ast::item_ident).any(|ident| GENERATED.iter().any(|g| ident == g));
    if clashes {
        return TokenStream::new();
    }
    let vis = visibility(schema);
    let private = quote!(#krate::__private);
    let option = quote!(::core::option::Option);
    let mut seen = std::collections::HashSet::new();
    let task_impls = schema.tasks.iter().enumerate().filter_map(|(t, task)| {
        let generics = &task.original.generics;
        let ident = task.ident();
        if !generics.params.is_empty() || generics.where_clause.is_some() || !seen.insert(ident.to_string()) {
            return None;
        }
        let index = Literal::usize_unsuffixed(t);
        Some(quote! {
            impl #private::Task for #ident {
                type Schema = Schema;
                const INDEX: usize = #index;
                fn label_index(&self) -> u16 {
                    ::core::unreachable!()
                }
                fn from_label_index(_: u16) -> #option<Self> {
                    #option::None
                }
            }
        })
    });
    quote! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #vis struct Schema;

        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #vis enum EndLabel {}

        const _: () = {
            impl #private::TaskSchema for Schema {
                const TASKS: &'static [#private::TaskSpec] = &[];
                type EndLabel = EndLabel;
                fn graph() -> &'static #private::TaskGraph {
                    ::core::unreachable!()
                }
            }

            impl #private::EndLabel for EndLabel {
                type Schema = Schema;
                fn index(&self) -> usize {
                    match *self {}
                }
                fn from_index(_: usize) -> #option<Self> {
                    #option::None
                }
            }

            #(#task_impls)*
        };
    }
}
