//! The types and macros most programs need: `use metal_runtime::prelude::*;`.

#[doc(no_inline)]
pub use crate::analysis::LfSummary;
#[doc(no_inline)]
pub use crate::error::{Error, Result};
#[doc(no_inline)]
pub use crate::label_matrix::{LabelMatrix, LfInfo};
#[doc(no_inline)]
pub use crate::label_model::{FittedLabelModel, Hierarchical, HyperHier, LabelModel, MajorityVote, ProbLabels};
#[doc(no_inline)]
pub use crate::lf::{ApplyConfig, ApplyReport, LabelingFunction, LfSet, PanicPolicy, Vote};
#[doc(no_inline)]
pub use crate::schema::{EndLabel, Task, TaskDef, TaskGraph, TaskSchema};
#[doc(no_inline)]
pub use crate::{labeling_function, lfs, task_schema};
