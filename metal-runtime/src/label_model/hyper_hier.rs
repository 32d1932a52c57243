//! The default label model: the hierarchical generative model, fit by maximum likelihood when
//! the votes are consistent with its assumptions, and otherwise with its parameters estimated
//! from the Hyper Label Model's probabilities.
//!
//! Neither estimate is trustworthy alone on every LF set. Fit by maximum likelihood, the
//! generative model ([`Hierarchical`]) explains whatever structure the votes have, and on real LF
//! sets that is often not the label: which LFs fire together, one broad LF's habits, a class
//! absorbing another. Its maximum-likelihood fit falls below majority vote on imdb, yelp and
//! trec, wherever EM starts. The Hyper Label Model ([`HyperLabelModel`]) reads the matrix without
//! fitting anything and is robust there, but it knows nothing of the class balance (it loses to
//! majority vote on the imbalanced commercial set) nor of a hierarchy's structure, and its
//! probabilities are cautious: LF accuracies estimated from them come out too low.
//!
//! [`HyperHier`] decides between the two on the training votes:
//!
//! 1. It fits the generative model by maximum likelihood (EM) and tests the assumption that
//!    makes that fit right, that the LFs vote independently of each other given the true label
//!    ([`IndependenceTest`]). When the test does not reject it, the maximum-likelihood fit is
//!    kept: it recovers the LFs' accuracies.
//! 2. Otherwise one M-step of the generative model on the Hyper Label Model's probabilities of
//!    the training items gives each LF's accuracy and firing propensities, the class balance and
//!    the off-task propensities. No EM iteration follows by default, since iterating moves the
//!    parameters back toward the rejected maximum-likelihood fit.
//!
//! Either way the model predicts with the generative model's posterior. The result is an ordinary
//! fitted [`Hierarchical`] model: it predicts on new items without seeing the training items
//! again, and its parameters can be inspected. [`FitReport::notes`] says which estimate was kept.

use std::time::Instant;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{
    FitReport, FittedHierarchical, FittedLabelModel, Hierarchical, HyperLabelModel, IndependenceTest, LabelModel,
    ModelForm, ProbLabels,
};
use crate::error::LabelModelError;
use crate::label_matrix::LabelMatrix;

/// Configuration of the default label model: the hierarchical generative model
/// ([`Hierarchical`]) fit by maximum likelihood when its LFs pass the test of independence given
/// the label, otherwise from one M-step on the Hyper Label Model's probabilities; then the
/// generative model's own posterior (the module's documentation says why, the README's "Why this
/// default" gives the measurements).
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
    /// When to trade the M-step's parameters for the generative model's maximum-likelihood fit
    /// (default: when the votes pass the test of its independence assumption at level 0.01).
    pub max_likelihood: MaxLikelihood,
}

/// Whether [`HyperHier`] also fits the generative model by maximum likelihood, and when it keeps
/// that fit.
///
/// Maximum likelihood is the best estimate when the generative model's assumptions hold: LFs that
/// vote independently of each other given the true label. Then it recovers the LFs' accuracies
/// closely, where the M-step on the Hyper Label Model's cautious probabilities underestimates
/// them (generated hierarchies: about two points of accuracy). When they do not hold, as on
/// real LF sets with LFs that fire together for reasons other than the label, maximum likelihood
/// explains the wrong structure and falls far below majority vote (trec, imdb, yelp). The
/// fitted model's [`IndependenceTest`](super::IndependenceTest) tells the two apart on the
/// training votes alone: on every real LF set measured it rejects independence with p below
/// 10⁻⁵⁰ (z² per statistic 8 to 612), on generated problems it does not (0.5 to 0.7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxLikelihood {
    /// Keep the M-step's parameters.
    Never,
    /// Fit by EM (from the generative model's own start) on at most `test_items` of the
    /// training items, test the fit on them, and when the test's p-value is at least `level`,
    /// keep maximum likelihood on all the training items (EM from the tested fit). A matrix too
    /// small for any of the test's statistics (see [`IndependenceTest`](super::IndependenceTest)),
    /// or with more than 2,048 LFs, where the test is not run, keeps the M-step.
    WhenIndependent {
        /// EM iterations at most (stopping earlier at the generative model's `tol`).
        n_epochs: usize,
        /// Significance level of the independence test.
        level: f64,
        /// Items the test is run on, drawn at random with the model's seed when there are more.
        /// The test holds its level at any size; more items only add power. Every real LF set
        /// measured fails it already at 1,000 items (z² per statistic 8.4 over 106 statistics),
        /// so 20,000 keep the cost small where it fails.
        test_items: usize,
    },
}

impl Default for MaxLikelihood {
    fn default() -> Self {
        MaxLikelihood::WhenIndependent { n_epochs: 500, level: 0.01, test_items: 20_000 }
    }
}

impl Default for HyperHier {
    fn default() -> Self {
        HyperHier {
            hyper: HyperLabelModel { calibrate: true },
            max_items: Some(100_000),
            seed: 0,
            generative: Hierarchical { n_epochs: 0, ..Hierarchical::default() },
            max_likelihood: MaxLikelihood::default(),
        }
    }
}

/// A fitted [`HyperHier`]: a fitted generative model.
#[derive(Debug, Clone)]
pub struct FittedHyperHier {
    generative: FittedHierarchical,
    report: FitReport,
    independence: Option<IndependenceTest>,
    max_likelihood: bool,
}

impl FittedHyperHier {
    /// The fitted generative model (class prior, propensities, log likelihood).
    pub fn generative(&self) -> &FittedHierarchical {
        &self.generative
    }

    /// The independence test of the maximum-likelihood fit on the training votes (`None` with
    /// [`MaxLikelihood::Never`]).
    pub fn independence_test(&self) -> Option<&IndependenceTest> {
        self.independence.as_ref()
    }

    /// Whether the model kept the maximum-likelihood fit (the test did not reject it).
    pub fn is_max_likelihood(&self) -> bool {
        self.max_likelihood
    }
}

impl LabelModel for HyperHier {
    type Fitted = FittedHyperHier;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedHyperHier, LabelModelError> {
        self.fit_weighted(matrix, None)
    }

    fn fit_counts(&self, patterns: &LabelMatrix, counts: &[u64]) -> Result<FittedHyperHier, LabelModelError> {
        super::check_counts(patterns, counts)?;
        let counts: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        self.fit_weighted(patterns, Some(&counts))
    }
}

impl HyperHier {
    /// Fits on `matrix`, or with `counts` on its rows standing for `counts[i]` items each.
    fn fit_weighted(&self, matrix: &LabelMatrix, counts: Option<&[f64]>) -> Result<FittedHyperHier, LabelModelError> {
        let start = Instant::now();
        if self.max_items == Some(0) {
            return Err(LabelModelError::InvalidConfig {
                name: "max_items",
                value: "0".into(),
                expected: "at least 1, or None for all items",
            });
        }
        let sample = self.max_items.and_then(|max| sample_items(matrix, counts, max, self.seed));
        let (fit_on, fit_counts) = match &sample {
            Some((m, c)) => (m, c.as_deref()),
            None => (matrix, counts),
        };
        // Maximum likelihood first, from the generative model's own start, on at most
        // `test_items` items; kept if the votes pass the test of its independence assumption.
        let (mut kept, mut independence, mut failed) = (None, None, None);
        if let MaxLikelihood::WhenIndependent { n_epochs, level, test_items } = self.max_likelihood {
            if !(0.0..1.0).contains(&level) {
                return Err(LabelModelError::InvalidConfig {
                    name: "max_likelihood.level",
                    value: level.to_string(),
                    expected: "a significance level in [0, 1)",
                });
            }
            if test_items == 0 {
                return Err(LabelModelError::InvalidConfig {
                    name: "max_likelihood.test_items",
                    value: "0".into(),
                    expected: "at least 1",
                });
            }
            if self.generative.form == ModelForm::Extended {
                let em = Hierarchical { n_epochs, progress: false, ..self.generative.clone() };
                let screen = sample_items(fit_on, fit_counts, test_items, self.seed.wrapping_add(1));
                let (test_on, test_counts) = match &screen {
                    Some((m, c)) => (m, c.as_deref()),
                    None => (fit_on, fit_counts),
                };
                let attempt = || -> Result<_, LabelModelError> {
                    let ml = em.fit_undiagnosed(test_on, test_counts)?;
                    let test = ml.independence_test_counts(test_on, test_counts)?;
                    if !test.as_ref().is_some_and(|t| t.df > 0 && t.p_value >= level) {
                        return Ok((None, test));
                    }
                    // Passed: maximum likelihood on every sampled item, from the test's fit.
                    let ml = match screen {
                        Some(_) => em.fit_from_undiagnosed(fit_on, fit_counts, &ml.predict_proba(fit_on)?)?,
                        None => ml,
                    };
                    Ok((Some(ml), test))
                };
                match attempt() {
                    Ok((ml, test)) => (kept, independence) = (ml, test),
                    // EM failed (it diverged): the M-step, which runs no EM, stands.
                    Err(e) => failed = Some(e.to_string()),
                }
            }
        }
        let max_likelihood = kept.is_some();
        let generative = match kept {
            Some(ml) => ml,
            None => {
                let labels = self.hyper.infer_counts(fit_on, fit_counts)?;
                self.generative.fit_from_undiagnosed(fit_on, fit_counts, &labels)?
            }
        };
        let warnings = super::diagnostics::diagnose_weighted(fit_on, fit_counts, &generative)?;
        let mut notes: Vec<String> = independence.as_ref().map(|t| note(t, max_likelihood)).into_iter().collect();
        if let Some(e) = failed {
            notes.push(format!(
                "the maximum-likelihood fit failed ({e}): parameters from the Hyper Label Model's probabilities"
            ));
        }
        let report = FitReport {
            model: "hyper_hier".into(),
            warnings,
            notes,
            seconds: start.elapsed().as_secs_f64(),
            converged: !max_likelihood || generative.fit_report().converged,
            ..generative.fit_report().clone()
        };
        Ok(FittedHyperHier { generative, report, independence, max_likelihood })
    }
}

/// The sentence of [`FitReport::notes`] that says which estimate was kept.
fn note(t: &IndependenceTest, max_likelihood: bool) -> String {
    let test = format!("z² per statistic {:.2} over {} pairwise statistics, p = {:.1e}", t.ratio(), t.df, t.p_value);
    if max_likelihood {
        format!("the LFs pass the test of independence given the label ({test}): kept the maximum-likelihood fit")
    } else if t.df == 0 {
        "the LFs' independence given the label could not be tested (too few votes, or more than 2,048 LFs): \
         parameters from the Hyper Label Model's probabilities"
            .into()
    } else {
        format!(
            "the LFs fail the test of independence given the label ({test}): parameters from the Hyper Label \
             Model's probabilities, not maximum likelihood"
        )
    }
}

/// A sample of `max` items drawn at random with `seed`, when there are more: the rows of `matrix`
/// (in their order), or, with `counts` (row `i` standing for `counts[i]` items), the items of the
/// rows repeated in row order, as the rows that were drawn and how many of each. Both draw the
/// same items: `counts` sampled is the matrix with its rows repeated, sampled.
fn sample_items(
    matrix: &LabelMatrix,
    counts: Option<&[f64]>,
    max: usize,
    seed: u64,
) -> Option<(LabelMatrix, Option<Vec<f64>>)> {
    let n = counts.map_or(matrix.n_items(), |c| c.iter().sum::<f64>() as usize);
    if n <= max {
        return None;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut items = rand::seq::index::sample(&mut rng, n, max).into_vec();
    items.sort_unstable();
    let Some(counts) = counts else { return Some((matrix.select_items(&items), None)) };
    // Item `x` belongs to the row `r` with end[r - 1] <= x < end[r].
    let mut end = Vec::with_capacity(counts.len());
    let mut total = 0usize;
    for &c in counts {
        total += c as usize;
        end.push(total);
    }
    let (mut rows, mut drawn) = (Vec::new(), Vec::new());
    for x in items {
        let r = end.partition_point(|&e| e <= x);
        if rows.last() == Some(&r) {
            *drawn.last_mut().unwrap_or(&mut 0.0) += 1.0;
        } else {
            rows.push(r);
            drawn.push(1.0);
        }
    }
    Some((matrix.select_items(&rows), Some(drawn)))
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
    fn never_is_the_m_step_and_bad_levels_are_errors() {
        let mat = tree_matrix();
        let never = HyperHier { max_likelihood: MaxLikelihood::Never, ..HyperHier::default() }.fit(&mat).unwrap();
        assert!(never.independence_test().is_none() && !never.is_max_likelihood());
        assert!(never.fit_report().notes.is_empty());
        let labels = HyperLabelModel::default().infer(&mat).unwrap();
        let direct = Hierarchical { n_epochs: 0, ..Hierarchical::default() }.fit_from(&mat, &labels).unwrap();
        assert_eq!(never.predict_proba(&mat).unwrap(), direct.predict_proba(&mat).unwrap());
        for level in [1.0, -0.1, f64::NAN] {
            let model = HyperHier {
                max_likelihood: MaxLikelihood::WhenIndependent { n_epochs: 10, level, test_items: 100 },
                ..HyperHier::default()
            };
            assert!(model.fit(&mat).unwrap_err().to_string().contains("level"));
        }
        let model = HyperHier {
            max_likelihood: MaxLikelihood::WhenIndependent { n_epochs: 10, level: 0.01, test_items: 0 },
            ..HyperHier::default()
        };
        assert!(model.fit(&mat).unwrap_err().to_string().contains("test_items"));
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
