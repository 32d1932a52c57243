//! The news example's data loader and labeling functions, on the repository's data.

#[allow(dead_code)]
#[path = "../src/news/data.rs"]
pub mod data;
