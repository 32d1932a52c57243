//! Rejects the function signatures a labeling function cannot have.

use super::ast::Lf;
use crate::ctxt::Ctxt;

/// Checks what `Lf::from_fn` does not: qualifiers and generics. Returns whether the signature
/// passed, so that the `LabelingFunction` impl can be generated without follow-on errors.
pub(crate) fn check(cx: &Ctxt, lf: &Lf<'_>) -> bool {
    let sig = &lf.original.sig;
    let mut ok = true;
    if let Some(asyncness) = &sig.asyncness {
        cx.error_spanned_by(asyncness, "a labeling function cannot be `async`");
        ok = false;
    }
    if let Some(unsafety) = &sig.unsafety {
        cx.error_spanned_by(unsafety, "a labeling function cannot be `unsafe`");
        ok = false;
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "a labeling function cannot be generic; name the item and task types");
        ok = false;
    } else if let Some(where_clause) = &sig.generics.where_clause {
        cx.error_spanned_by(where_clause, "a labeling function cannot have a `where` clause");
        ok = false;
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a labeling function takes exactly one parameter, its item");
        ok = false;
    }
    ok && lf.item.is_some() && lf.output.is_some()
}
