//! Procedural macros of `metal-runtime`: [`macro@task_schema`] and [`macro@labeling_function`].
//!
//! Use them through `metal_runtime`, which re-exports them; the generated code refers to
//! `::metal_runtime::__private` only.
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod ctxt;
mod lf;
mod parse;
mod schema;
mod symbol;

#[cfg(test)]
mod tests;

/// Declares a task schema: the enums of an inline module become the tasks of a hierarchy.
///
/// ```ignore
/// use metal_runtime::prelude::*;
///
/// #[task_schema]
/// pub mod news {
///     /// What the article is about.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Topic { Corporate, Markets }
///
///     /// Kind of corporate news.
///     #[task(parent = Topic::Corporate)]
///     pub enum Corporate {
///         /// Results, guidance, profit warnings.
///         Performance,
///         Funding,
///     }
///
///     #[task(parent = Topic::Markets)]
///     pub enum Markets { Money, Commodity }
/// }
///
/// assert_eq!(news::Corporate::INDEX, 1);
/// assert_eq!(news::EndLabel::CorporatePerformance.task_labels(), &[Some(0), Some(0), None]);
/// ```
///
/// Every enum of the module is a task, indexed in declaration order; its variants are the task's
/// labels, indexed in declaration order. The enum without `#[task(parent = ..)]` is the root task;
/// each other task applies only when its parent task takes the named value. Doc comments become the
/// descriptions of tasks and labels. Other items of the module are left as they are.
///
/// # Generated items
/// In the module, with the root enum's visibility (or the widest visibility of the task enums,
/// where they differ):
/// - `struct Schema`, implementing `TaskSchema`: the table of tasks (`Schema::TASKS`) and the
///   validated `TaskGraph` (`Schema::graph()`);
/// - `enum EndLabel`, implementing `EndLabel`: one variant per end label (a label that activates
///   no child task), in the order of the runtime's feasible set, named by the labels on its path
///   (`CorporatePerformance`; a root label without child keeps its own name);
/// - `impl Task` for each task enum (`INDEX`, `label_index`, `from_label_index`).
///
/// # Keys of `#[task_schema(..)]`
/// - `crate = "path"`: the path of the runtime crate, for a renamed dependency (default
///   `::metal_runtime`). Example: `#[task_schema(crate = "renamed")]`.
///
/// # Keys of `#[task(..)]` (on an enum of the module)
/// - `parent = Task::Label`: the task and label that activate this task. Example:
///   `#[task(parent = Topic::Corporate)]`.
///
/// # Compile errors
/// The tasks must form one tree: exactly one root, parents that name a task and label of the
/// module, no cycle, at most one child task per label. A task enum has at least two unit variants,
/// no explicit discriminants and no generics; two end labels cannot get the same name.
#[proc_macro_attribute]
pub fn task_schema(args: TokenStream, item: TokenStream) -> TokenStream {
    schema::task_schema(args.into(), item.into()).into()
}

/// Declares a labeling function (LF): a plain function `fn(&X) -> Option<Task>` that votes on
/// items of type `X`, where `None` abstains.
///
/// ```ignore
/// use metal_runtime::prelude::*;
/// # #[task_schema] pub mod news { pub enum Topic { Corporate, Markets } }
/// use news::Topic;
///
/// #[labeling_function(task = "Topic")]
/// fn lf_shares(text: &str) -> Option<Topic> {
///     text.contains("shares").then_some(Topic::Corporate)
/// }
///
/// // The task can also be a path, or be left out (it is then the type inside `Option`).
/// #[labeling_function(task = news::Topic, name = "wheat")]
/// fn lf_wheat(text: &str) -> Option<Topic> {
///     text.contains("wheat").then_some(Topic::Markets)
/// }
///
/// #[labeling_function]
/// fn lf_bank(text: &str) -> Option<Topic> {
///     text.contains("bank").then_some(Topic::Markets)
/// }
///
/// assert_eq!(lf_shares("shares rise"), Some(Topic::Corporate)); // still a plain function
/// let set: LfSet<news::Schema, str> = lfs![lf_shares, lf_wheat, lf_bank];
/// assert_eq!(set.names(), ["lf_shares", "wheat", "lf_bank"]);
/// ```
///
/// The function is kept as written. The macro adds a hidden braced struct of the same name, which
/// implements `LabelingFunction<X>` and which `lfs![..]` constructs. The function takes exactly one
/// parameter, a shared reference `&X` (`&str`, `&Article`, `&[u8]`), and is neither generic,
/// `async` nor `unsafe`.
///
/// # Keys
/// - `task = Path` or `task = "Path"`: the task enum the LF votes on; it must match the type inside
///   the returned `Option`. Optional: defaults to that type. Example: `task = "Topic"`.
/// - `name = "string"`: the name reported for the LF (default: the function's name). Example:
///   `name = "kw_shares"`.
/// - `crate = "path"`: the path of the runtime crate, for a renamed dependency (default
///   `::metal_runtime`). Example: `crate = "renamed"`.
#[proc_macro_attribute]
pub fn labeling_function(args: TokenStream, item: TokenStream) -> TokenStream {
    lf::labeling_function(args.into(), item.into()).into()
}
