//! # metal-runtime: weak supervision for multi-task learning
//!
//! Declare a hierarchy of classification tasks as Rust enums, write labeling functions (LFs) as
//! plain Rust functions, apply them to unlabeled data, and inspect how they agree.
//!
//! ```
//! use metal_runtime::prelude::*;
//!
//! #[task_schema]
//! pub mod news {
//!     /// What the article is about.
//!     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//!     pub enum Topic { Corporate, Markets }
//!
//!     /// Kind of corporate news.
//!     #[task(parent = Topic::Corporate)]
//!     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//!     pub enum Corporate { Performance, Funding }
//!
//!     /// Kind of market news.
//!     #[task(parent = Topic::Markets)]
//!     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//!     pub enum Markets { Money, Commodity }
//! }
//! use news::{Corporate, Markets, Topic};
//!
//! #[labeling_function(task = "Topic")]
//! fn lf_shares(text: &String) -> Option<Topic> {
//!     text.contains("shares").then_some(Topic::Corporate)
//! }
//!
//! #[labeling_function(task = "Corporate")]
//! fn lf_profit(text: &String) -> Option<Corporate> {
//!     text.contains("profit").then_some(Corporate::Performance)
//! }
//!
//! #[labeling_function(task = "Markets")]
//! fn lf_wheat(text: &String) -> Option<Markets> {
//!     text.contains("wheat").then_some(Markets::Commodity)
//! }
//!
//! # fn main() -> metal_runtime::Result<()> {
//! let docs = vec![
//!     "profit up, shares rise".to_string(),
//!     "wheat exports fall".to_string(),
//!     "no signal here".to_string(),
//! ];
//! let lfs: LfSet<news::Schema, String> = lfs![lf_shares, lf_profit, lf_wheat];
//! let matrix = lfs.apply(&docs)?;
//! assert_eq!(matrix.n_items(), 3);
//! assert_eq!(matrix.get(0, 1), Vote::Label(Corporate::Performance as u16));
//! assert_eq!(matrix.get(2, 0), Vote::Abstain);
//!
//! // The end labels are a type; each knows its task-label vector (∅ = None).
//! assert_eq!(news::EndLabel::MarketsCommodity.task_labels(), &[Some(1), None, Some(1)]);
//! assert_eq!(news::EndLabel::MarketsCommodity.name(), "Markets/Commodity");
//! # Ok(()) }
//! ```
//!
//! The pieces:
//! - [`task_schema`] and [`labeling_function`] declare tasks and LFs; [`lfs!`] collects LFs into
//!   an explicit, ordered [`LfSet`](lf::LfSet).
//! - [`schema`]: the task hierarchy ([`TaskGraph`](schema::TaskGraph)) and its feasible set.
//! - [`lf`]: applying LFs in parallel into a sparse [`LabelMatrix`](label_matrix::LabelMatrix).
//! - [`analysis`]: LF coverage, overlaps, conflicts and accuracy against gold labels.
//! - [`label_model`]: the label models (the default [`HyperHier`](label_model::HyperHier), the
//!   Hyper Label Model, majority vote, the paper's generative model, matrix completion, the
//!   triplet method) and model selection on dev labels.
//! - [`metrics`]: accuracy per end label, task and level, confusion matrices, precision, recall
//!   and F1, mean ± std over trials.
//! - [`io`]: label matrices as `.npy` (snorkel convention), synthetic problems (read, written and
//!   generated), WRENCH files, and a data set's items from JSON lines or CSV.
//! - [`featurize`]: a bag-of-words vocabulary and sparse word-count (or TF-IDF) features.
//! - `end_model` (feature `torch`): the multi-task network compiled from the schema (SingleTask,
//!   FlatMTL, HierMTL), trained on probabilistic labels with dev-set model selection.
#![warn(missing_docs)]

#[allow(unused_extern_crates)] // lets generated `::metal_runtime::` paths resolve in this crate
extern crate self as metal_runtime;

pub use metal_macros::{labeling_function, task_schema};

pub mod analysis;
#[cfg(feature = "torch")]
pub mod device;
#[cfg(feature = "torch")]
pub mod encoder;
#[cfg(feature = "torch")]
pub mod end_model;
pub mod error;
pub mod featurize;
pub mod io;
pub mod label_matrix;
pub mod label_model;
pub mod lf;
pub mod metrics;
pub mod prelude;
pub mod report;
pub mod schema;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, Result};
