//! The radiology triage task on IU X-ray reports (the paper's OpenI task, on the public Indiana
//! University chest X-ray collection): the data loader and the schema with its labeling
//! functions.
//!
//! Reports are triaged into four end labels arranged as a hierarchy: `Triage` (Acute or
//! NonAcute) at the root, `Acute` (Urgent or Emergent) and `NonAcute` (Normal or NonUrgent)
//! below it. The gold labels are silver labels derived from the reports' curated MeSH
//! annotations (see `examples/data/iu_xray/README.md`); the labeling functions read the report
//! text only.

pub mod data;
pub mod lfs;
