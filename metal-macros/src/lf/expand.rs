//! Generates the proxy struct of a labeling function and its `LabelingFunction` impl; the user's
//! function is re-emitted untouched.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::{Item, LitStr};

use super::ast::Lf;
use super::attr::parse_lf_args;
use super::check::check;
use crate::ctxt::Ctxt;
use crate::parse::{default_crate_path, item_head};

/// Expands `#[labeling_function(args)] item`: the function as written, a hidden braced struct of
/// the same name (it lives in the type namespace only, so both coexist), and the impl. On errors,
/// the function is still re-emitted, so that its body is type-checked and one typo does not
/// cascade.
pub(crate) fn labeling_function(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = parse_lf_args(&cx, args);
    let original = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => f,
        Ok(other) => {
            cx.error_spanned_by(item_head(&other), "`#[labeling_function]` can only be applied to a function");
            return with_errors(item, cx);
        }
        Err(err) => {
            cx.syn_error(err);
            return with_errors(item, cx);
        }
    };
    let lf = Lf::from_fn(&cx, &original);
    let signature_ok = check(&cx, &lf);

    let ident = &original.sig.ident;
    let vis = &original.vis;
    let mut out = item;
    out.extend(quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #ident {}
    });
    if let (true, Some(item_ty), Some(output)) = (signature_ok, lf.item, &lf.output) {
        let krate = args.krate.unwrap_or_else(default_crate_path);
        let private = quote!(#krate::__private);
        let task = match &args.task {
            Some(path) => path.to_token_stream(),
            None => output.task.to_token_stream(),
        };
        let name = args.name.unwrap_or_else(|| LitStr::new(&ident.unraw().to_string(), ident.span()));
        let x = syn::Ident::new("item", Span::mixed_site());
        // A return type that does not match the task is reported at the user's return type, and
        // the expected type at the task: the call takes the return type's first and last spans,
        // the generated return type those of the task.
        let (first, last) = span_range(output.ty.to_token_stream());
        let mut callee = ident.clone();
        callee.set_span(first);
        let mut args = Group::new(Delimiter::Parenthesis, x.to_token_stream());
        args.set_span(last);
        let call = quote!(#callee #args);
        let (first, last) = span_range(task.clone());
        let option = quote_spanned!(first=> ::core::option::Option);
        let task_arg = quote_spanned!(last=> <Self::Task>);
        out.extend(quote! {
            const _: () = {
                #[automatically_derived]
                impl #private::LabelingFunction<#item_ty> for #ident {
                    type Task = #task;
                    fn name(&self) -> &str {
                        #name
                    }
                    fn label(&self, #x: &#item_ty) -> #option #task_arg {
                        #call
                    }
                    fn location(&self) -> #private::Location {
                        #private::Location { file: ::core::file!(), line: ::core::line!() }
                    }
                }
            };
        });
    }
    out.extend(cx.into_compile_errors());
    out
}

/// The spans of the first and the last token of `tokens` (a group counts as one token).
fn span_range(tokens: TokenStream) -> (Span, Span) {
    let mut spans = tokens.into_iter().map(|t| t.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    let last = spans.last().unwrap_or(first);
    (first, last)
}

fn with_errors(mut item: TokenStream, cx: Ctxt) -> TokenStream {
    item.extend(cx.into_compile_errors());
    item
}
