//! The news task on Reuters-21578 (the paper's Example 3.1): the data loader and the schema with
//! its labeling functions.

pub mod data;
pub mod lfs;
pub mod regex_lfs;
