//! The triplet method of FlyingSquid (Fu et al., *Fast and Three-rious: Speeding Up Weak
//! Supervision with Triplet Methods*, ICML 2020): LF accuracies in closed form from the pairwise
//! agreement rates, no iteration.
//!
//! For a binary label `Y ∈ {−1, +1}` and conditionally independent LFs whose votes `λ ∈ {−1,
//! +1}` have accuracy parameter `a_j = E[λ_j Y | λ_j votes]`, the agreement of two LFs on the
//! items both vote on is `E[λ_i λ_j] = a_i a_j`. Three LFs give `a_i² = E[λ_i λ_j] E[λ_i λ_k] /
//! E[λ_j λ_k]`; each LF's estimate averages this over triplets with its most overlapping partners
//! (weighted by the smallest overlap of the triplet), and LFs are taken to be better than chance
//! (`a_i ≥ 0`). The posterior of an item is then the naive Bayes combination of its votes with
//! the class balance.
//!
//! **Several classes and hierarchies** (the published method is binary): end label `c` is scored
//! as a binary problem on the ±1 matrix of votes consistent (+1) or inconsistent (−1) with `c`'s
//! path through the task hierarchy, as [`HyperLabelModel`](super::HyperLabelModel) does; the
//! scores are normalized over the end labels. Two classes on one task take one run.
//!
//! The statistics are the co-vote counts [`McStats`] of the matrix-completion model, so a fit
//! costs one pass over the items plus `O(m · P²)` per end label for `P` partners per LF.

use std::sync::Arc;
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::core::{Layout, NULL};
use super::{
    check_compatible, ClassBalance, FitReport, FittedLabelModel, LabelModel, MajorityVote, McStats, ProbLabels,
};
use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

/// Configuration of the triplet method: each LF's accuracy parameter `a = E[λ Y | λ votes]` from
/// `a_i² = E[λ_i λ_j] E[λ_i λ_k] / E[λ_j λ_k]`, averaged over triplets with its most overlapping
/// partners; each end label is scored as a binary problem on the votes consistent (+1) or not
/// (−1) with its path, and the scores are normalized.
///
/// ```
/// use std::sync::Arc;
/// use metal_runtime::label_model::{FittedLabelModel, LabelModel, Triplet};
/// use metal_runtime::prelude::*;
///
/// # fn main() -> metal_runtime::Result<()> {
/// let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
/// let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
/// let dense = ndarray::array![[1i16, 1, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 0, 1]];
/// let matrix = LabelMatrix::from_dense(graph, lfs, dense.view())?;
/// let model = Triplet::default().fit(&matrix)?;
/// assert_eq!(model.predict(&matrix, 0)?[0], 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triplet {
    /// The prior over end labels: uniform by default (as FlyingSquid's); `Learned` takes the
    /// shares of the majority-vote labels of the items with a vote; or given.
    pub class_balance: ClassBalance,
    /// Partners per LF: its triplets are formed with the `partners` LFs it shares most items
    /// with.
    pub partners: usize,
    /// Largest accuracy parameter `a` (an accuracy of `(1 + a) / 2`), so that no single LF
    /// decides alone with infinite weight.
    pub max_accuracy: f64,
}

impl Default for Triplet {
    fn default() -> Self {
        Triplet { class_balance: ClassBalance::Uniform, partners: 30, max_accuracy: 0.99 }
    }
}

/// A fitted [`Triplet`] model.
#[derive(Debug, Clone)]
pub struct FittedTriplet {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    layout: Layout,
    /// The end label scored by each run (one run, end label 1, for a binary flat task).
    runs: Vec<usize>,
    /// Per run and LF, the accuracy parameter `a`.
    acc: Array2<f64>,
    prior: Vec<f64>,
    report: FitReport,
}

impl Triplet {
    fn check(&self) -> Result<(), LabelModelError> {
        if self.partners < 2 {
            return Err(LabelModelError::InvalidConfig {
                name: "partners",
                value: self.partners.to_string(),
                expected: "at least 2",
            });
        }
        if !(self.max_accuracy > 0.0 && self.max_accuracy < 1.0) {
            return Err(LabelModelError::InvalidConfig {
                name: "max_accuracy",
                value: self.max_accuracy.to_string(),
                expected: "in (0, 1)",
            });
        }
        Ok(())
    }

    fn prior(&self, matrix: &LabelMatrix) -> Result<Vec<f64>, LabelModelError> {
        let k = matrix.graph().n_end_labels();
        match &self.class_balance {
            ClassBalance::Uniform => Ok(vec![1.0 / k as f64; k]),
            ClassBalance::Given(p) => {
                if p.len() != k || p.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
                    return Err(LabelModelError::InvalidConfig {
                        name: "class_balance",
                        value: format!("{p:?}"),
                        expected: "one positive weight per end label",
                    });
                }
                let total: f64 = p.iter().sum();
                Ok(p.iter().map(|v| v / total).collect())
            }
            ClassBalance::Learned => {
                let mv = MajorityVote.fit(matrix)?.predict_proba(matrix)?;
                let mut shares = vec![1.0; k];
                for (i, row) in mv.end_labels().outer_iter().enumerate() {
                    if matrix.row(i).len() > 0 {
                        shares.iter_mut().zip(row).for_each(|(s, p)| *s += p);
                    }
                }
                let total: f64 = shares.iter().sum();
                Ok(shares.into_iter().map(|s| s / total).collect())
            }
        }
    }
}

/// The ±1 value of each label of LF `j` in the run for end label `c`.
fn sign(lay: &Layout, c: usize, j: usize, u: usize) -> f64 {
    let want = lay.y_lf(c, j);
    if want != NULL && usize::from(want) == u {
        1.0
    } else {
        -1.0
    }
}

/// Per LF, the accuracy parameter `a` of the run for end label `c` from the co-vote counts.
fn run_accuracies(lay: &Layout, counts: &Array2<u64>, c: usize, partners: usize, max_acc: f64) -> Vec<f64> {
    let m = lay.m();
    // Overlap n_ij and mean agreement M_ij of every pair of LFs.
    let mut n = Array2::<f64>::zeros((m, m));
    let mut agree = Array2::<f64>::zeros((m, m));
    for i in 0..m {
        for j in i + 1..m {
            let (mut total, mut sum) = (0.0, 0.0);
            for (u, r) in lay.cols(i).enumerate() {
                let su = sign(lay, c, i, u);
                for (v, s) in lay.cols(j).enumerate() {
                    let x = counts[[r, s]] as f64;
                    total += x;
                    sum += x * su * sign(lay, c, j, v);
                }
            }
            let mean = if total > 0.0 { sum / total } else { 0.0 };
            n[[i, j]] = total;
            n[[j, i]] = total;
            agree[[i, j]] = mean;
            agree[[j, i]] = mean;
        }
    }
    // An LF with no usable triplet keeps the accuracy parameter of an LF 70 % accurate.
    let fallback = 0.4f64.min(max_acc);
    (0..m)
        .map(|i| {
            let mut order: Vec<usize> = (0..m).filter(|&j| j != i && n[[i, j]] > 0.0).collect();
            order.sort_by(|&a, &b| n[[i, b]].total_cmp(&n[[i, a]]).then(a.cmp(&b)));
            order.truncate(partners);
            let (mut wsum, mut est) = (0.0, 0.0);
            for (x, &j) in order.iter().enumerate() {
                for &k in &order[x + 1..] {
                    let w = n[[i, j]].min(n[[i, k]]).min(n[[j, k]]);
                    if w <= 0.0 || agree[[j, k]].abs() < 1e-9 {
                        continue;
                    }
                    let a2 = (agree[[i, j]] * agree[[i, k]] / agree[[j, k]]).abs();
                    wsum += w;
                    est += w * a2.min(1.0);
                }
            }
            if wsum > 0.0 {
                (est / wsum).sqrt().min(max_acc)
            } else {
                fallback
            }
        })
        .collect()
}

impl LabelModel for Triplet {
    type Fitted = FittedTriplet;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedTriplet, LabelModelError> {
        let start = Instant::now();
        self.check()?;
        if matrix.n_items() == 0 {
            return Err(LabelModelError::Empty);
        }
        let graph = matrix.graph_arc().clone();
        let layout = Layout::new(&graph, matrix.lfs());
        let stats = McStats::new(matrix)?;
        let k = layout.k;
        let runs: Vec<usize> = if graph.is_flat() && k == 2 { vec![1] } else { (0..k).collect() };
        let mut acc = Array2::zeros((runs.len(), layout.m()));
        for (r, &c) in runs.iter().enumerate() {
            let a = run_accuracies(&layout, stats.counts(), c, self.partners, self.max_accuracy);
            acc.row_mut(r).assign(&ndarray::Array1::from(a));
        }
        let prior = self.prior(matrix)?;
        let mut fitted = FittedTriplet {
            graph,
            lfs: matrix.lfs().to_vec(),
            layout,
            runs,
            acc,
            prior,
            report: FitReport {
                model: "triplet".into(),
                n_items: matrix.n_items(),
                converged: true,
                ..FitReport::default()
            },
        };
        fitted.report.warnings = super::diagnose(matrix, &fitted)?;
        fitted.report.seconds = start.elapsed().as_secs_f64();
        Ok(fitted)
    }
}

impl FittedTriplet {
    /// Per end label scored (one row, end label 1, for a binary flat task) and LF, the accuracy
    /// parameter `a = E[λ Y | λ votes]` on that end label's ±1 matrix.
    pub fn accuracy_parameters(&self) -> &Array2<f64> {
        &self.acc
    }
}

impl FittedLabelModel for FittedTriplet {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let lay = &self.layout;
        let k = lay.k;
        // Log-odds weight of each LF in each run.
        let weight = self.acc.mapv(|a| ((1.0 + a) / (1.0 - a)).ln());
        let mut out = Array2::zeros((matrix.n_items(), k));
        for (i, mut row) in out.outer_iter_mut().enumerate() {
            let score = |r: usize, c: usize| -> f64 {
                let pc = self.prior[c];
                let mut z = (pc / (1.0 - pc).max(f64::MIN_POSITIVE)).ln();
                for (j, v) in matrix.row(i) {
                    z += sign(lay, c, j, usize::from(v)) * weight[[r, j]];
                }
                1.0 / (1.0 + (-z).exp())
            };
            if self.runs.len() == 1 {
                let p = score(0, self.runs[0]);
                row[self.runs[0]] = p;
                row[1 - self.runs[0]] = 1.0 - p;
            } else {
                for (r, &c) in self.runs.iter().enumerate() {
                    row[c] = score(r, c);
                }
                let total = row.sum();
                if total > 0.0 {
                    row.mapv_inplace(|v| v / total);
                } else {
                    row.assign(&ndarray::ArrayView1::from(&self.prior));
                }
            }
        }
        Ok(ProbLabels::new(self.graph.clone(), out))
    }

    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        // The accuracy `P(vote = y_t | vote)` is the run's parameter only for one binary run.
        (self.runs.len() == 1).then(|| self.acc.row(0).iter().map(|a| (1.0 + a) / 2.0).collect())
    }

    fn class_prior(&self) -> Option<Vec<f64>> {
        Some(self.prior.clone())
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    /// Conditionally independent binary LFs with known accuracies: the triplet estimates come
    /// back close, and the predictions beat each LF alone.
    #[test]
    fn recovers_accuracies_of_independent_lfs() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let accs = [0.9, 0.8, 0.7, 0.65, 0.85];
        let n = 20_000;
        let mut dense = Array2::<i16>::from_elem((n, accs.len()), -1);
        let mut gold = Vec::with_capacity(n);
        for i in 0..n {
            let y = usize::from(rng.gen::<bool>());
            gold.push(y);
            for (j, &a) in accs.iter().enumerate() {
                if rng.gen::<f64>() < 0.6 {
                    dense[[i, j]] = if rng.gen::<f64>() < a { y as i16 } else { 1 - y as i16 };
                }
            }
        }
        let graph = Arc::new(TaskGraph::flat("t", ["a", "b"]).unwrap());
        let lfs = (0..accs.len()).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        let mat = LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap();
        let fit = Triplet::default().fit(&mat).unwrap();
        let learned = fit.lf_accuracies().unwrap();
        for (l, a) in learned.iter().zip(accs) {
            assert!((l - a).abs() < 0.02, "learned {learned:?} vs {accs:?}");
        }
        // As accurate as naive Bayes with the true accuracies (the Bayes rule here).
        let pred = fit.predict(&mat, 0).unwrap();
        let acc = crate::metrics::accuracy(&pred, &gold).unwrap();
        let bayes = (0..n)
            .filter(|&i| {
                let z: f64 =
                    mat.row(i).map(|(j, v)| (accs[j] / (1.0 - accs[j])).ln() * if v == 1 { 1.0 } else { -1.0 }).sum();
                let y = if z > 0.0 {
                    1
                } else if z < 0.0 {
                    0
                } else {
                    pred[i]
                };
                y == gold[i]
            })
            .count() as f64
            / n as f64;
        assert!(acc > bayes - 0.003, "{acc} vs {bayes}");
    }

    #[test]
    fn hierarchies_give_distributions_over_end_labels() {
        let mat = tree_matrix();
        let fit = Triplet::default().fit(&mat).unwrap();
        let p = fit.predict_proba(&mat).unwrap();
        for row in p.end_labels().outer_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
        }
        assert_eq!(fit.accuracy_parameters().nrows(), 5);
        assert!(fit.lf_accuracies().is_none());
    }

    #[test]
    fn bad_settings_are_errors() {
        let mat = tree_matrix();
        let err = Triplet { partners: 1, ..Triplet::default() }.fit(&mat).unwrap_err();
        assert!(err.to_string().contains("partners"), "{err}");
        let err =
            Triplet { class_balance: ClassBalance::Given(vec![1.0]), ..Triplet::default() }.fit(&mat).unwrap_err();
        assert!(err.to_string().contains("class_balance"), "{err}");
    }
}
