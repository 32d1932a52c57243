//! Parsing helpers shared by both macros: path-valued keys, doc comments, skipping bad values.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, Item, Lit, LitStr, Path, Token, Visibility};

/// Parses the value of `key = Some::Path` or `key = "Some::Path"` into a path.
///
/// A string is parsed with [`LitStr::parse`], so the path's tokens carry the literal's span and a
/// type error about them points at the string. `expected` is the message for any other value.
pub(crate) fn path_value(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<Path> {
    let value: Expr = meta.value()?.parse()?;
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), attrs }) if attrs.is_empty() => {
            lit.parse::<Path>().map_err(|_| syn::Error::new(lit.span(), expected))
        }
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path),
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

/// Parses the value of `key = "string"`.
pub(crate) fn str_value(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<LitStr> {
    let value: Expr = meta.value()?.parse()?;
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), attrs }) if attrs.is_empty() => Ok(lit),
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

/// Consumes the value of a key that was rejected, if it has one (`= expr` or `(..)`), so that
/// parsing goes on with the next key.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

/// The key of `meta` as written, for messages (`parnt`, `a::b`).
pub(crate) fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    let segments: Vec<String> = meta.path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// The default path of the runtime crate.
pub(crate) fn default_crate_path() -> Path {
    let mut path = Path::from(syn::Ident::new("metal_runtime", Span::call_site()));
    path.leading_colon = Some(Default::default());
    path
}

/// The doc comment in `attrs`: one line per `#[doc = ".."]`, each without the single space that
/// follows `///`, joined with `\n` and trimmed. Attributes like `#[doc = include_str!(..)]` are
/// skipped.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = &nv.value {
                let line = lit.value();
                let line = line.strip_prefix(' ').unwrap_or(&line).trim_end().to_owned();
                lines.push(line);
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

/// The part of an item to underline when the whole item is wrong: up to its name.
pub(crate) fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => head(&i.vis, i.struct_token, &i.ident),
        Item::Enum(i) => head(&i.vis, i.enum_token, &i.ident),
        Item::Union(i) => head(&i.vis, i.union_token, &i.ident),
        Item::Trait(i) => head(&i.vis, i.trait_token, &i.ident),
        Item::Type(i) => head(&i.vis, i.type_token, &i.ident),
        Item::Fn(i) => head(&i.vis, i.sig.fn_token, &i.sig.ident),
        Item::Const(i) => head(&i.vis, i.const_token, &i.ident),
        Item::Static(i) => head(&i.vis, i.static_token, &i.ident),
        Item::Mod(i) => head(&i.vis, i.mod_token, &i.ident),
        _ => item.to_token_stream(),
    }
}

fn head(vis: &Visibility, keyword: impl ToTokens, ident: &syn::Ident) -> TokenStream {
    quote!(#vis #keyword #ident)
}
