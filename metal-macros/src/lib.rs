//! Procedural macros of `metal-runtime`. Use them through `metal_runtime`, which re-exports them.

use proc_macro::TokenStream;

/// Declares a task schema (placeholder).
#[proc_macro_attribute]
pub fn task_schema(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Declares a labeling function (placeholder).
#[proc_macro_attribute]
pub fn labeling_function(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
