//! Collects the errors of one macro invocation, so the user sees all of them in one build.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// An error collector, passed by reference through the parse and check phases.
///
/// Every error is spanned at a user token; [`Ctxt::check`] merges them with `syn::Error::combine`.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    /// An empty collector.
    pub(crate) fn new() -> Self {
        Ctxt::default()
    }

    /// Records an error spanned at `tokens` (its first to its last token).
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    /// Records an error built elsewhere (for example by `syn` while parsing).
    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors.borrow_mut().push(err);
    }

    /// True if no error was recorded so far.
    pub(crate) fn is_ok(&self) -> bool {
        self.errors.borrow().is_empty()
    }

    /// All recorded errors, combined into one; `Ok` if there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_inner().into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for err in errors {
                    first.combine(err);
                }
                Err(first)
            }
        }
    }

    /// The recorded errors as `compile_error!` invocations (empty if there were none).
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        match self.check() {
            Ok(()) => TokenStream::new(),
            Err(err) => err.into_compile_error(),
        }
    }
}
