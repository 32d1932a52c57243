//! The labeling function as the macro sees it: its item type and return type, with spans.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::ctxt::Ctxt;

/// A function under `#[labeling_function]`.
pub(crate) struct Lf<'a> {
    /// The function.
    pub(crate) original: &'a ItemFn,
    /// `X` of its parameter `x: &X`, if the parameter list has that shape.
    pub(crate) item: Option<&'a Type>,
    /// Its return type `Option<T>`, if it has that shape.
    pub(crate) output: Option<Output<'a>>,
}

/// The return type of an LF.
pub(crate) struct Output<'a> {
    /// The whole type, `Option<T>`.
    pub(crate) ty: &'a Type,
    /// `T`, the task the LF votes on unless `task = ..` says otherwise.
    pub(crate) task: &'a Type,
}

const RETURNS: &str = "a labeling function returns `Option<Task>`; `None` abstains";

impl<'a> Lf<'a> {
    /// Reads the signature of `original`; a parameter list or return type of the wrong shape is
    /// reported to `cx`.
    pub(crate) fn from_fn(cx: &Ctxt, original: &'a ItemFn) -> Lf<'a> {
        Lf { original, item: item_type(cx, original), output: output(cx, original) }
    }
}

/// `fn name(..)`, to underline a problem with the signature as a whole.
pub(crate) fn name_and_params(f: &ItemFn) -> TokenStream {
    let mut tokens = f.sig.ident.to_token_stream();
    f.sig.paren_token.surround(&mut tokens, |tokens| f.sig.inputs.to_tokens(tokens));
    tokens
}

fn strip_group(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => strip_group(&group.elem),
        Type::Paren(paren) => strip_group(&paren.elem),
        other => other,
    }
}

fn item_type<'a>(cx: &Ctxt, f: &'a ItemFn) -> Option<&'a Type> {
    let inputs = &f.sig.inputs;
    let mut params = inputs.iter();
    let Some(first) = params.next() else {
        cx.syn_error(syn::Error::new(
            f.sig.paren_token.span.join(),
            "a labeling function takes one parameter, its item by reference, e.g. `x: &Article`",
        ));
        return None;
    };
    let rest: Vec<&FnArg> = params.collect();
    if !rest.is_empty() {
        let msg = if rest.len() == 1 {
            "a labeling function takes exactly one parameter, its item; remove this parameter"
        } else {
            "a labeling function takes exactly one parameter, its item; remove these parameters"
        };
        cx.error_spanned_by(quote::quote!(#(#rest),*), msg);
    }
    let ty = match first {
        FnArg::Receiver(receiver) => {
            cx.error_spanned_by(
                receiver,
                "a labeling function cannot take `self`; write a free function, e.g. `fn lf(x: &Article)`",
            );
            return None;
        }
        FnArg::Typed(typed) => strip_group(&typed.ty),
    };
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            let elem = strip_group(&reference.elem);
            if let Type::ImplTrait(_) = elem {
                cx.error_spanned_by(elem, "a labeling function cannot be generic; name the item type");
                return None;
            }
            rest.is_empty().then_some(elem)
        }
        Type::Reference(reference) => {
            let (and, mutability) = (&reference.and_token, &reference.mutability);
            cx.error_spanned_by(
                quote::quote!(#and #mutability),
                "a labeling function takes its item by shared reference, e.g. `&Article`",
            );
            None
        }
        other => {
            cx.error_spanned_by(other, "a labeling function takes its item by reference, e.g. `&Article`");
            None
        }
    }
}

fn output<'a>(cx: &Ctxt, f: &'a ItemFn) -> Option<Output<'a>> {
    let ty = match &f.sig.output {
        ReturnType::Default => {
            cx.error_spanned_by(name_and_params(f), RETURNS);
            return None;
        }
        ReturnType::Type(_, ty) => ty.as_ref(),
    };
    match option_arg(strip_group(ty)) {
        Some(task) => Some(Output { ty, task }),
        None => {
            cx.error_spanned_by(ty, RETURNS);
            None
        }
    }
}

/// `T` of `Option<T>`, also written `std::option::Option<T>` or `core::option::Option<T>`.
fn option_arg(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segments = &path.path.segments;
    let last = segments.last()?;
    let prefix: Vec<String> = segments.iter().take(segments.len() - 1).map(|s| s.ident.to_string()).collect();
    let known_prefix = prefix.is_empty() || prefix == ["std", "option"] || prefix == ["core", "option"];
    if last.ident != "Option" || !known_prefix {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let mut args = args.args.iter();
    match (args.next(), args.next()) {
        (Some(GenericArgument::Type(task)), None) => Some(task),
        _ => None,
    }
}
