//! Dev labels: a class balance estimated from them, and a label model chosen by its accuracy on
//! them (the paper's "label model cross-validation": its protocol always has 50 dev labels).

use std::time::Instant;

use super::{
    check_compatible, ClassBalance, FitReport, FittedLabelModel, Hierarchical, HyperHier, HyperLabelModel, LabelModel,
    MajorityVote, ProbLabels,
};
use crate::error::LabelModelError;
use crate::label_matrix::LabelMatrix;

/// Gold end labels of some items, with the LFs' votes on them.
#[derive(Debug, Clone, Copy)]
pub struct DevLabels<'a> {
    matrix: &'a LabelMatrix,
    labels: &'a [usize],
}

impl<'a> DevLabels<'a> {
    /// The votes `matrix` on the labeled items and their gold end labels, one per row.
    ///
    /// # Errors
    /// [`LabelModelError::DevLabels`] if the lengths differ, there is no item, or a label is not
    /// an end label of the matrix's schema.
    pub fn new(matrix: &'a LabelMatrix, labels: &'a [usize]) -> Result<Self, LabelModelError> {
        let bad = |what: String| Err(LabelModelError::DevLabels { what });
        if labels.len() != matrix.n_items() {
            return bad(format!("{} gold labels for {} items", labels.len(), matrix.n_items()));
        }
        if labels.is_empty() {
            return bad("there is no labeled item".into());
        }
        let k = matrix.graph().n_end_labels();
        if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y >= k) {
            return bad(format!("item {i} has label {y}, but the schema has {k} end labels"));
        }
        Ok(DevLabels { matrix, labels })
    }

    /// The votes on the labeled items.
    pub fn matrix(&self) -> &'a LabelMatrix {
        self.matrix
    }

    /// The gold end labels.
    pub fn labels(&self) -> &'a [usize] {
        self.labels
    }

    /// The class balance of the gold labels, with one pseudo-count per class
    /// ([`ClassBalance::from_labels`]).
    pub fn class_balance(&self) -> ClassBalance {
        ClassBalance::from_labels(self.labels, self.matrix.graph().n_end_labels())
    }

    /// Per LF, its accuracy on the labeled items as the center of an accuracy prior
    /// ([`Hierarchical::accuracy_prior_means`]): `(correct + a₀) / (votes + 1)`, counting the
    /// LF's votes on items where its task applies under the gold label, with one pseudo-vote at
    /// `a₀ = prior` (so that an LF with no such vote keeps `prior`).
    pub fn lf_accuracy_means(&self, prior: f64) -> Vec<f64> {
        let graph = self.matrix.graph();
        let feasible = graph.feasible_set();
        let lfs = self.matrix.lfs();
        let mut correct = vec![0.0; lfs.len()];
        let mut votes = vec![0.0; lfs.len()];
        for (i, &y) in self.labels.iter().enumerate() {
            for (j, v) in self.matrix.row(i) {
                if let Some(truth) = feasible[y][lfs[j].task] {
                    votes[j] += 1.0;
                    if truth == v {
                        correct[j] += 1.0;
                    }
                }
            }
        }
        correct.iter().zip(&votes).map(|(c, n)| (c + prior) / (n + 1.0)).collect()
    }

    /// Accuracy of `model` on the labeled items, ties broken with `seed`.
    ///
    /// # Errors
    /// If the model does not fit the matrix's schema and LFs.
    pub fn accuracy(&self, model: &dyn FittedLabelModel, seed: u64) -> Result<f64, LabelModelError> {
        let pred = model.predict(self.matrix, seed)?;
        crate::metrics::accuracy(&pred, self.labels).map_err(|e| LabelModelError::DevLabels { what: e.to_string() })
    }
}

/// A label model configuration behind a trait object, so that models of different types can be
/// candidates of one [`ModelSelection`]. Every [`LabelModel`] is one.
pub trait AnyLabelModel: Send + Sync {
    /// Fits the model, boxed.
    ///
    /// # Errors
    /// As the model's [`LabelModel::fit`].
    fn fit_boxed(&self, matrix: &LabelMatrix) -> Result<Box<dyn FittedLabelModel>, LabelModelError>;
}

impl<M> AnyLabelModel for M
where
    M: LabelModel + Send + Sync,
    M::Fitted: 'static,
{
    fn fit_boxed(&self, matrix: &LabelMatrix) -> Result<Box<dyn FittedLabelModel>, LabelModelError> {
        Ok(Box::new(self.fit(matrix)?))
    }
}

/// Fits every candidate on the unlabeled matrix and keeps the one most accurate on the dev
/// labels; a tie goes to the earlier candidate.
///
/// With 50 dev labels, one item is 2 points of dev accuracy, so the choice is only as good as
/// the gap between candidates is wide; the defaults put the model that is best without labels
/// first, so that it is kept unless another is better on the dev labels.
///
/// ```
/// use std::sync::Arc;
/// use metal_runtime::label_model::{DevLabels, FittedLabelModel, ModelSelection};
/// use metal_runtime::prelude::*;
///
/// # fn main() -> metal_runtime::Result<()> {
/// let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
/// let lfs: Vec<LfInfo> = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
/// let train = ndarray::array![[1i16, 1, -1], [0, 0, 1], [1, -1, 1], [0, 0, 0], [1, 1, 0]];
/// let train = LabelMatrix::from_dense(graph.clone(), lfs.clone(), train.view())?;
/// let dev = LabelMatrix::from_dense(graph, lfs, ndarray::array![[1i16, 1, 0], [0, -1, 0]].view())?;
/// let gold = [1, 0];
/// let dev = DevLabels::new(&dev, &gold)?;
/// let selected = ModelSelection::defaults(&dev).fit(&train, &dev)?;
/// println!("chose {} (dev accuracy {:?})", selected.name(), selected.dev_accuracies());
/// let probs = selected.predict_proba(&train)?;
/// # Ok(()) }
/// ```
pub struct ModelSelection {
    /// Named candidates, in order of preference.
    pub candidates: Vec<(String, Box<dyn AnyLabelModel>)>,
    /// Seed of the tie-breaking in the dev predictions.
    pub seed: u64,
}

impl std::fmt::Debug for ModelSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSelection")
            .field("candidates", &self.candidates.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("seed", &self.seed)
            .finish()
    }
}

impl ModelSelection {
    /// The default candidates, in this order: the default model ([`HyperHier`]), the Hyper
    /// Label Model, the default model with the class balance of the dev labels, the
    /// maximum-likelihood hierarchical model with the dev class balance, and majority vote. The
    /// default model comes first, so that it is kept unless another does better on the dev
    /// labels.
    pub fn defaults(dev: &DevLabels<'_>) -> Self {
        let balance = dev.class_balance();
        let mut with_balance = HyperHier::default();
        with_balance.generative.class_balance = balance.clone();
        let hier = Hierarchical { class_balance: balance, progress: false, ..Hierarchical::default() };
        ModelSelection {
            candidates: vec![
                ("hyper-hier".into(), Box::new(HyperHier::default())),
                ("hyper".into(), Box::new(HyperLabelModel::default())),
                ("hyper-hier, dev class balance".into(), Box::new(with_balance)),
                ("hier, dev class balance".into(), Box::new(hier)),
                ("majority vote".into(), Box::new(MajorityVote)),
            ],
            seed: 0,
        }
    }

    /// Fits the candidates on `train` and keeps the best on `dev`.
    ///
    /// # Errors
    /// [`LabelModelError::InvalidConfig`] without candidates; [`LabelModelError::IncompatibleMatrix`]
    /// if `dev` has another schema or other LFs than `train`; a candidate's fit error.
    pub fn fit(&self, train: &LabelMatrix, dev: &DevLabels<'_>) -> Result<Selected, LabelModelError> {
        let start = Instant::now();
        if self.candidates.is_empty() {
            return Err(LabelModelError::InvalidConfig {
                name: "candidates",
                value: "[]".into(),
                expected: "at least one candidate model",
            });
        }
        check_compatible(train.graph(), train.lfs(), dev.matrix())?;
        let mut best: Option<(usize, f64, Box<dyn FittedLabelModel>)> = None;
        let mut accuracies = Vec::with_capacity(self.candidates.len());
        for (i, (name, candidate)) in self.candidates.iter().enumerate() {
            let model = candidate.fit_boxed(train)?;
            let acc = dev.accuracy(&*model, self.seed)?;
            accuracies.push((name.clone(), acc));
            if best.as_ref().is_none_or(|(_, b, _)| acc > *b) {
                best = Some((i, acc, model));
            }
        }
        let (chosen, _, model) = best.ok_or(LabelModelError::Empty)?;
        let report = FitReport {
            model: format!("selected: {}", self.candidates[chosen].0),
            seconds: start.elapsed().as_secs_f64(),
            ..model.fit_report().clone()
        };
        Ok(Selected { name: self.candidates[chosen].0.clone(), accuracies, model, report })
    }
}

/// The candidate a [`ModelSelection`] kept, with every candidate's dev accuracy.
pub struct Selected {
    name: String,
    accuracies: Vec<(String, f64)>,
    model: Box<dyn FittedLabelModel>,
    report: FitReport,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selected").field("name", &self.name).field("dev_accuracies", &self.accuracies).finish()
    }
}

impl Selected {
    /// The kept candidate's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Each candidate's name and dev accuracy, in candidate order.
    pub fn dev_accuracies(&self) -> &[(String, f64)] {
        &self.accuracies
    }
}

impl FittedLabelModel for Selected {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        self.model.predict_proba(matrix)
    }

    fn predict(&self, matrix: &LabelMatrix, seed: u64) -> Result<Vec<usize>, LabelModelError> {
        self.model.predict(matrix, seed)
    }

    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        self.model.lf_accuracies()
    }

    fn class_prior(&self) -> Option<Vec<f64>> {
        self.model.class_prior()
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    #[test]
    fn keeps_the_best_candidate_and_the_first_on_ties() {
        let mat = tree_matrix();
        // Gold labels that majority vote gets right on every item it decides.
        let mv = MajorityVote.fit(&mat).unwrap().predict(&mat, 0).unwrap();
        let dev = DevLabels::new(&mat, &mv).unwrap();
        let sel = ModelSelection {
            candidates: vec![("mv".into(), Box::new(MajorityVote)), ("mv again".into(), Box::new(MajorityVote))],
            seed: 0,
        };
        let fit = sel.fit(&mat, &dev).unwrap();
        assert_eq!(fit.name(), "mv");
        assert_eq!(fit.dev_accuracies()[0].1, 1.0);
        assert_eq!(fit.predict(&mat, 0).unwrap(), mv);
        let all = ModelSelection::defaults(&dev).fit(&mat, &dev).unwrap();
        assert_eq!(all.dev_accuracies().len(), 5);
    }

    /// Votes counted where the LF's task applies under the gold label, with one pseudo-vote at
    /// the prior; and the means move the hierarchical model's fit.
    #[test]
    fn lf_accuracy_means_from_dev_labels() {
        let mat = tree_matrix();
        // End labels: 0 corporate/performance, 1 corporate/funding, 2 markets/money, ...
        let gold = [0, 2, 1, 3, 4];
        let dev = DevLabels::new(&mat, &gold).unwrap();
        let means = dev.lf_accuracy_means(0.7);
        // Items (-1 = abstain): [0,0,1,-1], [1,-1,-1,2], [0,1,0,0], [-1,-1,-1,1], [1,1,-1,-1].
        // t1 (Topic) votes on items 0, 1, 2 and 4, right each time.
        assert!((means[0] - (4.0 + 0.7) / (4.0 + 1.0)).abs() < 1e-12, "{means:?}");
        // c (Corporate) votes on items 0 and 2 (corporate), wrong both times.
        assert!((means[2] - 0.7 / (2.0 + 1.0)).abs() < 1e-12, "{means:?}");
        // m (Markets) votes on items 1, 2 and 3; item 2 is corporate, where Markets does not
        // apply, so it does not count; of items 1 and 3 one vote is right.
        assert!((means[3] - (1.0 + 0.7) / (2.0 + 1.0)).abs() < 1e-12, "{means:?}");
        let with = Hierarchical { accuracy_prior_means: Some(means), progress: false, ..Hierarchical::default() };
        let without = Hierarchical { progress: false, ..Hierarchical::default() };
        let (a, b) = (with.fit(&mat).unwrap(), without.fit(&mat).unwrap());
        assert_ne!(a.lf_accuracies(), b.lf_accuracies());
        let bad = Hierarchical { accuracy_prior_means: Some(vec![0.5; 3]), ..Hierarchical::default() };
        assert!(bad.fit(&mat).unwrap_err().to_string().contains("accuracy_prior_means"));
    }

    #[test]
    fn bad_dev_labels_are_errors() {
        let mat = tree_matrix();
        assert!(DevLabels::new(&mat, &[0, 1]).unwrap_err().to_string().contains("2 gold labels for 5 items"));
        let err = DevLabels::new(&mat, &[0, 1, 2, 3, 9]).unwrap_err().to_string();
        assert!(err.contains("item 4 has label 9"), "{err}");
        let none = ModelSelection { candidates: vec![], seed: 0 };
        let labels = [0, 1, 2, 3, 4];
        assert!(none.fit(&mat, &DevLabels::new(&mat, &labels).unwrap()).is_err());
    }
}
