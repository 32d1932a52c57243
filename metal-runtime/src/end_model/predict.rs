//! Predictions: end labels, per-task and end-label distributions, accuracy.

use std::sync::Arc;

use ndarray::Array2;
use tch::{Device, Kind, TchError, Tensor};

use super::{torch, Architecture, DevSet, EndModel, Features, Result};
use crate::error::EndModelError;
use crate::label_model::ProbLabels;

/// Predicted distributions.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Per task: n × k_t for the root, n × (k_t + 1) with ∅ last for other tasks.
    pub tasks: Vec<Array2<f64>>,
    /// The end-label distribution (n × K): for multi-task architectures, the product of the task
    /// probabilities along each end label's path, normalized.
    pub end: ProbLabels,
}

/// Per-task distributions (`None` for SingleTask) and the end-label distribution.
type Distributions = (Option<Vec<Array2<f64>>>, Array2<f64>);

impl EndModel {
    /// End-label accuracy on labeled items.
    ///
    /// # Errors
    /// Sizes that do not match the model or each other, gold labels out of range.
    pub fn accuracy(&self, dev: &DevSet<'_>) -> Result<f64> {
        check_gold(dev, self.n_features, self.graph.n_end_labels())?;
        let pred = self.predict_inner(dev.features)?;
        let hits = pred.iter().zip(dev.gold).filter(|(p, g)| p == g).count();
        Ok(hits as f64 / dev.gold.len().max(1) as f64)
    }

    /// The most probable end label of each item (always a feasible one), ties broken at random
    /// with `seed`, as [`FittedLabelModel::predict`](crate::label_model::FittedLabelModel::predict).
    ///
    /// # Errors
    /// Features of another width ([`EndModelError::ShapeMismatch`]) or with non-finite values.
    pub fn predict<'a>(&self, features: impl Into<Features<'a>>, seed: u64) -> crate::Result<Vec<usize>> {
        Ok(self.predict_proba(features)?.argmax(seed))
    }

    /// The first most probable end label of each item (the dev accuracy during training).
    pub(super) fn predict_inner(&self, features: Features<'_>) -> Result<Vec<usize>> {
        let (_, end) = self.forward_all(features)?;
        Ok(end
            .outer_iter()
            .map(|row| {
                row.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (k, &p)| if p > b.1 { (k, p) } else { b }).0
            })
            .collect())
    }

    /// The end-label distribution of each item, as a label model's
    /// [`predict_proba`](crate::label_model::FittedLabelModel::predict_proba): for multi-task
    /// architectures, the product of the task probabilities along each end label's path,
    /// normalized.
    ///
    /// # Errors
    /// Features of another width ([`EndModelError::ShapeMismatch`]) or with non-finite values.
    pub fn predict_proba<'a>(&self, features: impl Into<Features<'a>>) -> crate::Result<ProbLabels> {
        let (_, end) = self.forward_all(features.into())?;
        Ok(ProbLabels::new(Arc::clone(&self.graph), end))
    }

    /// Per-task and end-label distributions of each item.
    ///
    /// # Errors
    /// Features of another width ([`EndModelError::ShapeMismatch`]) or with non-finite values.
    pub fn predict_distributions<'a>(&self, features: impl Into<Features<'a>>) -> crate::Result<Predictions> {
        let (tasks, end) = self.forward_all(features.into())?;
        let end = ProbLabels::new(Arc::clone(&self.graph), end);
        let tasks = match tasks {
            Some(tasks) => tasks,
            None => (0..self.graph.n_tasks()).map(|t| end.task_marginals(t)).collect(),
        };
        Ok(Predictions { tasks, end })
    }

    /// Runs the network in evaluation mode: per-task distributions (`None` for SingleTask) and the
    /// end-label distribution.
    pub(super) fn forward_all(&self, features: Features<'_>) -> Result<Distributions> {
        features.check(self.n_features)?;
        let n = features.n_items();
        let single = self.config.architecture == Architecture::SingleTask;
        let n_slots = if single { 1 } else { self.graph.n_tasks() };
        let mut task_rows: Vec<Vec<f64>> = vec![Vec::new(); n_slots];
        let mut end_rows: Vec<f64> = Vec::with_capacity(n * self.graph.n_end_labels());
        let items: Vec<usize> = (0..n).collect();
        let device = self.vs.device();
        tch::no_grad(|| -> Result<(), TchError> {
            for batch in items.chunks(1024) {
                let x = features.batch(batch, self.net.wants_sparse(), device)?;
                let logits = self.net.forward_t(&x, false)?;
                let end = if single {
                    logits[0].f_softmax(1, Kind::Float)?
                } else {
                    let logp = logits.iter().map(|z| z.f_log_softmax(1, Kind::Float)).collect::<Result<Vec<_>, _>>()?;
                    for (rows, lp) in task_rows.iter_mut().zip(&logp) {
                        rows.extend(to_vec(&lp.f_exp()?)?);
                    }
                    Tensor::f_cat(&logp, 1)?.f_matmul(&self.paths)?.f_softmax(1, Kind::Float)?
                };
                end_rows.extend(to_vec(&end)?);
            }
            Ok(())
        })
        .map_err(torch("prediction"))?;
        let k = self.graph.n_end_labels();
        let end = Array2::from_shape_vec((n, k), end_rows).map_err(|_| EndModelError::ShapeMismatch {
            what: "predicted end-label values",
            expected: n * k,
            got: 0,
        })?;
        if single {
            return Ok((None, end));
        }
        let root = self.graph.root();
        let tasks = task_rows
            .into_iter()
            .enumerate()
            .map(|(t, rows)| {
                let c = self.graph.cardinality(t) + usize::from(t != root);
                let len = rows.len();
                Array2::from_shape_vec((n, c), rows).map_err(|_| EndModelError::ShapeMismatch {
                    what: "predicted task values",
                    expected: n * c,
                    got: len,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((Some(tasks), end))
    }
}

pub(super) fn check_gold(dev: &DevSet<'_>, n_features: usize, n_labels: usize) -> Result<()> {
    dev.features.check(n_features)?;
    if dev.gold.len() != dev.features.n_items() {
        return Err(EndModelError::ShapeMismatch {
            what: "dev gold labels (one per dev item)",
            expected: dev.features.n_items(),
            got: dev.gold.len(),
        });
    }
    if let Some((item, &label)) = dev.gold.iter().enumerate().find(|(_, &g)| g >= n_labels) {
        return Err(EndModelError::GoldLabelOutOfRange { item, label, n_labels });
    }
    Ok(())
}

/// A tensor's values in row-major order, as f64, on the CPU.
pub(super) fn to_vec(t: &Tensor) -> Result<Vec<f64>, TchError> {
    Vec::<f64>::try_from(&t.f_to_kind(Kind::Double)?.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?)
}
