//! The example pipelines of the paper's experiments, one module per data set, and the code they
//! share.
//!
//! - [`news`]: Reuters-21578, Topic → Corporate | Markets (the paper's Example 3.1).
//! - [`radiology`]: IU X-ray reports, Triage → Acute | NonAcute.
//! - [`trec`]: TREC questions, 6 coarse classes → 50 fine classes.
//! - [`pipeline`]: the protocol they share (label models, end models, trials, report).
#![allow(clippy::result_large_err, reason = "loaders return the crate-wide `metal_runtime::Error`")]

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod jsonl;
pub mod memory;
pub mod news;
pub mod pipeline;
pub mod radiology;
pub mod trec;

/// The README's Rust snippets, compiled as doctests (`make test` runs them with every feature on,
/// since several use the end model).
#[cfg(all(doctest, feature = "torch"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
