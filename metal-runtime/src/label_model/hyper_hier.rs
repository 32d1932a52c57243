//! The default label model: the hierarchical generative model with its parameters estimated from
//! the Hyper Label Model's probabilities.
//!
//! Neither part is trustworthy alone on real LF sets. Fit by maximum likelihood, the generative
//! model ([`Hierarchical`]) explains whatever structure the votes have, and on real LF sets that
//! is often not the label: which LFs fire together, one broad LF's habits, a class absorbing
//! another. Its maximum-likelihood fit falls below majority vote on imdb, yelp and trec, wherever
//! EM starts. The Hyper Label Model ([`HyperLabelModel`]) reads the matrix without fitting
//! anything and is robust there, but it knows nothing of the class balance (it loses to majority
//! vote on the imbalanced commercial set) nor of a hierarchy's structure.
//!
//! [`HyperHier`] takes the generative model's form and the Hyper Label Model's judgement: one
//! M-step of the generative model on the Hyper Label Model's probabilities of the training items
//! gives each LF's accuracy and firing propensities, the class balance and the off-task
//! propensities; the model then predicts with its own posterior. No EM iteration follows by
//! default, since iterating moves the parameters back toward the maximum-likelihood fit. The
//! result is an ordinary fitted [`Hierarchical`] model: it predicts on new items without seeing
//! the training items again, and its parameters can be inspected.

use std::time::Instant;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{FitReport, FittedHierarchical, FittedLabelModel, Hierarchical, HyperLabelModel, LabelModel, ProbLabels};
use crate::error::LabelModelError;
use crate::label_matrix::LabelMatrix;

/// Configuration of the default label model: one M-step of the hierarchical generative model
/// ([`Hierarchical`]) on the Hyper Label Model's probabilities, then the generative model's own
/// posterior (the README's "Why this default" gives the measurements behind it).
///
/// ```
/// use std::sync::Arc;
/// use metal_runtime::label_model::{FittedLabelModel, HyperHier, LabelModel};
/// use metal_runtime::prelude::*;
///
/// # fn main() -> metal_runtime::Result<()> {
/// let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
/// let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
/// let dense = ndarray::array![[1i16, 1, -1], [0, 0, 1], [1, -1, 1], [0, 0, 0]];
/// let matrix = LabelMatrix::from_dense(graph, lfs, dense.view())?;
/// let model = HyperHier::default().fit(&matrix)?;
/// assert_eq!(model.predict(&matrix, 0)?[0], 1);
/// println!("learned LF accuracies: {:?}", model.lf_accuracies());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HyperHier {
    /// The Hyper Label Model whose probabilities the parameters are estimated from, calibrated
    /// as the reference package returns them by default. The network's raw scores are far too
    /// cautious to estimate from (on real sets every LF's accuracy comes out near 0.52, and the
    /// class balance then decides every prediction).
    pub hyper: HyperLabelModel,
    /// Fit on at most this many items, drawn at random with `seed`, when the matrix has more
    /// (`None`: always all). The M-step needs only sums over items, which a sample estimates:
    /// at 100,000 items an LF that votes on 1 % of them still has about 1,000 votes, so its
    /// accuracy is estimated within about 1.5 points (one standard error). The Hyper Label Model
    /// is the costly part (about 40 s per million items with 100 LFs on two cores); prediction
    /// always covers every item.
    pub max_items: Option<usize>,
    /// Seed of the sample.
    pub seed: u64,
    /// The generative model. Its `class_balance` applies (learned: the mean of the Hyper Label
    /// Model's probabilities; or given, e.g. from dev labels), as do `smoothing`, `accuracy_prior`
    /// and `lf_model`; `n_epochs` counts the EM iterations after the first M-step (default 0).
    pub generative: Hierarchical,
}

impl Default for HyperHier {
    fn default() -> Self {
        HyperHier {
            hyper: HyperLabelModel { calibrate: true },
            max_items: Some(100_000),
            seed: 0,
            generative: Hierarchical { n_epochs: 0, ..Hierarchical::default() },
        }
    }
}

/// A fitted [`HyperHier`]: a fitted generative model.
#[derive(Debug, Clone)]
pub struct FittedHyperHier {
    generative: FittedHierarchical,
    report: FitReport,
}

impl FittedHyperHier {
    /// The fitted generative model (class prior, propensities, log likelihood).
    pub fn generative(&self) -> &FittedHierarchical {
        &self.generative
    }
}

impl LabelModel for HyperHier {
    type Fitted = FittedHyperHier;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedHyperHier, LabelModelError> {
        let start = Instant::now();
        if self.max_items == Some(0) {
            return Err(LabelModelError::InvalidConfig {
                name: "max_items",
                value: "0".into(),
                expected: "at least 1, or None for all items",
            });
        }
        let sample = match self.max_items {
            Some(max) if matrix.n_items() > max => {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
                let mut items = rand::seq::index::sample(&mut rng, matrix.n_items(), max).into_vec();
                items.sort_unstable();
                Some(matrix.select_items(&items))
            }
            _ => None,
        };
        let fit_on = sample.as_ref().unwrap_or(matrix);
        let labels = self.hyper.infer(fit_on)?;
        let generative = self.generative.fit_from(fit_on, &labels)?;
        let report = FitReport {
            model: "hyper_hier".into(),
            seconds: start.elapsed().as_secs_f64(),
            converged: true,
            ..generative.fit_report().clone()
        };
        Ok(FittedHyperHier { generative, report })
    }
}

impl FittedLabelModel for FittedHyperHier {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        self.generative.predict_proba(matrix)
    }

    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        self.generative.lf_accuracies()
    }

    fn class_prior(&self) -> Option<Vec<f64>> {
        Some(self.generative.class_prior())
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    /// With no EM iteration, the fit is the M-step on the Hyper Label Model's labels: the same
    /// as fitting the generative model from them directly.
    #[test]
    fn is_the_generative_model_fit_from_hyper_labels() {
        let mat = tree_matrix();
        let fit = HyperHier::default().fit(&mat).unwrap();
        let labels = HyperLabelModel::default().infer(&mat).unwrap();
        let direct = Hierarchical { n_epochs: 0, ..Hierarchical::default() }.fit_from(&mat, &labels).unwrap();
        assert_eq!(fit.predict_proba(&mat).unwrap(), direct.predict_proba(&mat).unwrap());
        assert_eq!(fit.fit_report().n_epochs, 0);
        // More EM iterations change the fit.
        let more =
            HyperHier { generative: Hierarchical { n_epochs: 20, ..Hierarchical::default() }, ..HyperHier::default() };
        assert_ne!(more.fit(&mat).unwrap().predict_proba(&mat).unwrap(), direct.predict_proba(&mat).unwrap());
    }

    #[test]
    fn the_paper_form_cannot_start_from_labels() {
        let mat = tree_matrix();
        let model = HyperHier { generative: Hierarchical::paper(), ..HyperHier::default() };
        assert!(model.fit(&mat).unwrap_err().to_string().contains("form"));
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    /// Above `max_items`, the fit uses a seeded sample: the same seed gives the same model, and
    /// the model still predicts every item.
    #[test]
    fn large_matrices_fit_on_a_seeded_sample() {
        let mat = tree_matrix();
        let small = HyperHier { max_items: Some(3), ..HyperHier::default() };
        let a = small.fit(&mat).unwrap();
        assert_eq!(a.fit_report().n_items, 3);
        assert_eq!(a.predict_proba(&mat).unwrap(), small.fit(&mat).unwrap().predict_proba(&mat).unwrap());
        assert_eq!(a.predict_proba(&mat).unwrap().n_items(), 5);
        let err = HyperHier { max_items: Some(0), ..HyperHier::default() }.fit(&mat).unwrap_err();
        assert!(err.to_string().contains("max_items"), "{err}");
    }
}
