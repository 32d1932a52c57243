//! The schema as the macro sees it: the module's task enums, each keeping its `syn` node for spans.

use syn::{Item, ItemEnum, ItemMod, Variant};

use super::attr::{self, ParentRef};
use crate::ctxt::Ctxt;
use crate::parse::doc_comment;

/// A `#[task_schema]` module.
pub(crate) struct Schema<'a> {
    /// The module.
    pub(crate) original: &'a ItemMod,
    /// Its enums, in declaration order: the tasks, indexed by position.
    pub(crate) tasks: Vec<Task<'a>>,
}

/// One task: an enum of the module.
pub(crate) struct Task<'a> {
    /// The enum.
    pub(crate) original: &'a ItemEnum,
    /// Its doc comment.
    pub(crate) doc: String,
    /// `#[task(parent = ..)]`, if given.
    pub(crate) parent: Option<ParentRef>,
    /// Whether `parent` was given (well formed or not): the root task is the one without.
    pub(crate) has_parent: bool,
    /// Its variants, in declaration order.
    pub(crate) labels: Vec<Label<'a>>,
}

/// One label: a variant of a task enum.
pub(crate) struct Label<'a> {
    /// The variant.
    pub(crate) original: &'a Variant,
    /// Its doc comment.
    pub(crate) doc: String,
}

impl<'a> Schema<'a> {
    /// Reads the tasks of `module`, which must be inline. Bad `#[task(..)]` attributes go to `cx`.
    pub(crate) fn from_module(cx: &Ctxt, module: &'a ItemMod) -> Schema<'a> {
        let items: &[Item] = module.content.as_ref().map_or(&[], |(_, items)| items);
        let mut tasks = Vec::new();
        for item in items {
            match item {
                Item::Enum(original) => tasks.push(Task::from_enum(cx, original)),
                other => {
                    if let Some(attr) = item_attrs(other).iter().find(|a| attr::is_task_attr(a)) {
                        cx.error_spanned_by(attr, "`#[task]` can only be applied to an enum");
                    }
                }
            }
        }
        Schema { original: module, tasks }
    }

    /// The root task: the first enum without `parent`.
    pub(crate) fn root(&self) -> Option<&Task<'a>> {
        self.tasks.iter().find(|t| !t.has_parent)
    }
}

impl<'a> Task<'a> {
    fn from_enum(cx: &Ctxt, original: &'a ItemEnum) -> Task<'a> {
        let attr = attr::parse_task_attrs(cx, &original.attrs);
        let labels = original.variants.iter().map(|v| Label { original: v, doc: doc_comment(&v.attrs) }).collect();
        Task { original, doc: doc_comment(&original.attrs), parent: attr.parent, has_parent: attr.has_parent, labels }
    }

    /// The enum's identifier.
    pub(crate) fn ident(&self) -> &'a syn::Ident {
        &self.original.ident
    }
}

impl Label<'_> {
    /// The variant's identifier.
    pub(crate) fn ident(&self) -> &syn::Ident {
        &self.original.ident
    }
}

/// The outer attributes of an item, where it has any.
pub(crate) fn item_attrs(item: &Item) -> &[syn::Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Mutable access to the outer attributes of an item, where it has any.
pub(crate) fn item_attrs_mut(item: &mut Item) -> Option<&mut Vec<syn::Attribute>> {
    match item {
        Item::Const(i) => Some(&mut i.attrs),
        Item::Enum(i) => Some(&mut i.attrs),
        Item::ExternCrate(i) => Some(&mut i.attrs),
        Item::Fn(i) => Some(&mut i.attrs),
        Item::ForeignMod(i) => Some(&mut i.attrs),
        Item::Impl(i) => Some(&mut i.attrs),
        Item::Macro(i) => Some(&mut i.attrs),
        Item::Mod(i) => Some(&mut i.attrs),
        Item::Static(i) => Some(&mut i.attrs),
        Item::Struct(i) => Some(&mut i.attrs),
        Item::Trait(i) => Some(&mut i.attrs),
        Item::TraitAlias(i) => Some(&mut i.attrs),
        Item::Type(i) => Some(&mut i.attrs),
        Item::Union(i) => Some(&mut i.attrs),
        Item::Use(i) => Some(&mut i.attrs),
        _ => None,
    }
}

/// The identifier an item declares, where it has one.
pub(crate) fn item_ident(item: &Item) -> Option<&syn::Ident> {
    match item {
        Item::Const(i) => Some(&i.ident),
        Item::Enum(i) => Some(&i.ident),
        Item::Fn(i) => Some(&i.sig.ident),
        Item::Mod(i) => Some(&i.ident),
        Item::Static(i) => Some(&i.ident),
        Item::Struct(i) => Some(&i.ident),
        Item::Trait(i) => Some(&i.ident),
        Item::TraitAlias(i) => Some(&i.ident),
        Item::Type(i) => Some(&i.ident),
        Item::Union(i) => Some(&i.ident),
        _ => None,
    }
}
