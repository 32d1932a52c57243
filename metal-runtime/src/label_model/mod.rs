//! Label models: learn how accurate each LF is from the label matrix alone, and turn the votes into
//! probabilistic labels.
//!
//! Every model follows the same two-type pattern: a configuration implementing [`LabelModel`]
//! (`fit`) and the fitted model implementing [`FittedLabelModel`] (`predict_proba`, `predict`), so
//! an unfitted model cannot predict.
//!
//! - [`HyperHier`], **the default**: the hierarchical generative model, fit by maximum likelihood
//!   when its LFs pass the test of independence given the label ([`IndependenceTest`]), with its
//!   parameters estimated from the Hyper Label Model's probabilities otherwise. On the real LF sets of the WRENCH
//!   suite, the WRENCH splits and the three pipelines it is never below majority vote by more
//!   than half a point, where each of the other models is far below it on some set (the README's
//!   "Label models" table; `make bench` prints it).
//! - [`HyperLabelModel`]: the pretrained graph network of Wu et al. (ICLR 2023), no fitting,
//!   extended to hierarchies through the feasible set.
//! - [`MajorityVote`]: hierarchical majority vote ("Hard MV"), flat majority vote on one task.
//! - [`Hierarchical`]: the generative model of the paper (§3), fit by maximum marginal likelihood
//!   with exact inference over the feasible set, in the paper's exact form or extended with a
//!   class prior and off-task firing propensities; "Soft MV" is its prediction at fixed weights.
//! - [`MatrixCompletion`]: the matrix-completion model of snorkel-metal's and snorkel's
//!   `LabelModel` (Ratner et al., AAAI 2019), fit on the mergeable co-vote statistic [`McStats`].
//! - [`Triplet`]: FlyingSquid's triplet method (Fu et al., ICML 2020), LF accuracies in closed
//!   form from pairwise agreements, extended to several classes and hierarchies.
//!
//! With dev labels ([`DevLabels`]), [`ModelSelection`] fits several candidates and keeps the one
//! most accurate on them; [`ClassBalance`] can also come from them. [`diagnose`] (run by every
//! trained model's fit, into [`FitReport::warnings`]) flags a class that has collapsed or a model
//! that predicts one class for everything. [`FittedHierarchical::independence_test`] tests a
//! fitted generative model's assumption that the LFs vote independently given the label.
//!
//! ```
//! use std::sync::Arc;
//! use metal_runtime::label_model::{FittedLabelModel, HyperHier, LabelModel};
//! use metal_runtime::prelude::*;
//!
//! # fn main() -> metal_runtime::Result<()> {
//! let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
//! let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
//! let dense = ndarray::array![[1i16, 1, -1], [0, 0, 1], [1, -1, 1], [0, 0, 0]];
//! let matrix = LabelMatrix::from_dense(graph, lfs, dense.view())?;
//! let model = HyperHier::default().fit(&matrix)?;
//! for warning in &model.fit_report().warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let probs = model.predict_proba(&matrix)?;
//! assert!(probs.end_labels()[[0, 1]] > 0.5);
//! # Ok(()) }
//! ```

mod core;
mod diagnostics;
mod hier;
mod hyper;
mod hyper_hier;
mod independence;
mod mc;
mod mv;
mod patterns;
mod probs;
mod select;
mod triplet;

use serde::{Deserialize, Serialize};

use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

pub use diagnostics::diagnose;
pub use hier::{FittedHierarchical, Hierarchical, LfModel, ModelForm};
pub use hyper::{FittedHyperLabelModel, HyperLabelModel};
pub use hyper_hier::{FittedHyperHier, HyperHier, MaxLikelihood};
pub use independence::IndependenceTest;
pub use mc::{FittedMatrixCompletion, MatrixCompletion, McStats, PrecInit};
pub use mv::{FittedMajorityVote, MajorityVote};
pub use patterns::Patterns;
pub use probs::ProbLabels;
pub use select::{AnyLabelModel, DevLabels, ModelSelection, Selected};
pub use triplet::{FittedTriplet, Triplet};

/// The class balance (prior over end labels) of the trained label models.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum ClassBalance {
    /// Learned from the unlabeled data by EM.
    #[default]
    Learned,
    /// Uniform over the end labels.
    Uniform,
    /// Given (e.g. estimated from dev labels with [`ClassBalance::from_labels`]); one positive
    /// entry per end label, summing to 1.
    Given(Vec<f64>),
}

impl ClassBalance {
    /// The empirical class balance of gold end labels `labels` (out of `k`), with one pseudo-count
    /// per class so that no class gets zero mass.
    pub fn from_labels(labels: &[usize], k: usize) -> Self {
        let mut counts = vec![1.0; k];
        for &y in labels {
            if y < k {
                counts[y] += 1.0;
            }
        }
        let total: f64 = counts.iter().sum();
        ClassBalance::Given(counts.into_iter().map(|c| c / total).collect())
    }
}

/// A label model configuration that can be fit to a label matrix.
pub trait LabelModel {
    /// The fitted model.
    type Fitted: FittedLabelModel;

    /// Learns the model's parameters from `matrix` (no gold labels).
    fn fit(&self, matrix: &LabelMatrix) -> Result<Self::Fitted, LabelModelError>;

    /// Learns the model's parameters from vote patterns and how many items have each: row `p` of
    /// `patterns` stands for `counts[p]` items (for example the `GROUP BY` of a table too large
    /// for memory, or counts merged across shards). The fit is that of [`fit`](Self::fit) on the
    /// matrix with each pattern repeated `counts[p]` times in pattern order. The default, the
    /// [`HyperHier`], [`Hierarchical`] and [`HyperLabelModel`] work on the patterns directly, in
    /// memory and time proportional to the patterns; the other models build that matrix.
    ///
    /// # Errors
    /// [`LabelModelError::IncompatibleMatrix`] when `counts` has another length than `patterns`
    /// has rows; [`LabelModelError::Empty`] when the counts sum to zero; as [`fit`](Self::fit).
    fn fit_counts(&self, patterns: &LabelMatrix, counts: &[u64]) -> Result<Self::Fitted, LabelModelError> {
        check_counts(patterns, counts)?;
        self.fit(&expand_counts(patterns, counts))
    }
}

/// Checks that `counts` has one count per row of `patterns` and that some count is nonzero.
pub(crate) fn check_counts(patterns: &LabelMatrix, counts: &[u64]) -> Result<(), LabelModelError> {
    if counts.len() != patterns.n_items() {
        return Err(LabelModelError::IncompatibleMatrix {
            what: format!("{} counts for {} patterns", counts.len(), patterns.n_items()),
        });
    }
    if counts.iter().all(|&c| c == 0) {
        return Err(LabelModelError::Empty);
    }
    Ok(())
}

/// The matrix with row `p` of `patterns` repeated `counts[p]` times, in pattern order.
pub fn expand_counts(patterns: &LabelMatrix, counts: &[u64]) -> LabelMatrix {
    let rows: Vec<usize> = counts.iter().enumerate().flat_map(|(p, &c)| std::iter::repeat_n(p, c as usize)).collect();
    patterns.select_items(&rows)
}

/// A fitted label model.
pub trait FittedLabelModel {
    /// The distribution over end labels of every item of `matrix` (which must have the schema and
    /// LFs the model was fit on).
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError>;

    /// The most probable end label of every item, ties broken at random with `seed`.
    fn predict(&self, matrix: &LabelMatrix, seed: u64) -> Result<Vec<usize>, LabelModelError> {
        Ok(self.predict_proba(matrix)?.argmax(seed))
    }

    /// Learned per-LF accuracy `P(vote = y_t | vote, y_t ≠ ∅)`, when the model has one.
    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        None
    }

    /// The prior over end labels the model uses, when it has one.
    fn class_prior(&self) -> Option<Vec<f64>> {
        None
    }

    /// What the fit did.
    fn fit_report(&self) -> &FitReport;
}

/// What a fit did: loss per epoch, iterations, time.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FitReport {
    /// The model's name.
    pub model: String,
    /// Items the model was fit on.
    pub n_items: usize,
    /// Distinct vote patterns among them.
    pub n_patterns: usize,
    /// Iterations run.
    pub n_epochs: usize,
    /// Whether the stopping tolerance was reached before the epoch limit.
    pub converged: bool,
    /// Loss (mean negative log marginal likelihood, plus regularization) after each epoch.
    pub loss: Vec<f64>,
    /// Wall time of the fit in seconds.
    pub seconds: f64,
    /// Signs that the fit went wrong (see [`diagnose`]); empty when none.
    pub warnings: Vec<String>,
    /// What the fit chose and why, in plain sentences (for example which estimate [`HyperHier`]
    /// kept); empty when there was no choice.
    pub notes: Vec<String>,
}

/// Checks that `matrix` has the schema and LFs a model was fit on.
pub(crate) fn check_compatible(graph: &TaskGraph, lfs: &[LfInfo], matrix: &LabelMatrix) -> Result<(), LabelModelError> {
    if matrix.graph() != graph {
        return Err(LabelModelError::IncompatibleMatrix { what: "the task schema differs from the one fit on".into() });
    }
    if matrix.lfs() != lfs {
        return Err(LabelModelError::IncompatibleMatrix {
            what: format!("the LFs differ from the ones fit on ({} LFs now, {} when fit)", matrix.n_lfs(), lfs.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use ndarray::array;

    use crate::label_matrix::{LabelMatrix, LfInfo};
    use crate::schema::{TaskDef, TaskGraph};

    /// Topic {corporate, markets} → Corporate {performance, funding}, Markets {money, commodity,
    /// other}: K = 5 end labels; 4 LFs (cardinalities 2, 2, 2, 3) on 5 items.
    pub(crate) fn tree_matrix() -> LabelMatrix {
        let graph = Arc::new(
            TaskGraph::new(vec![
                TaskDef::new("Topic", ["corporate", "markets"]),
                TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
                TaskDef::new("Markets", ["money", "commodity", "other"]).with_parent(0, 1),
            ])
            .unwrap(),
        );
        let lfs = vec![
            LfInfo { name: "t1".into(), task: 0 },
            LfInfo { name: "t2".into(), task: 0 },
            LfInfo { name: "c".into(), task: 1 },
            LfInfo { name: "m".into(), task: 2 },
        ];
        let dense = array![[0i16, 0, 1, -1], [1, -1, -1, 2], [0, 1, 0, 0], [-1, -1, -1, 1], [1, 1, -1, -1]];
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }
}
