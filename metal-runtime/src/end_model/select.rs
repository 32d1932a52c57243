//! Model selection on dev labels: the learning rate of a grid with the best dev accuracy.
//!
//! ```no_run
//! # use std::sync::Arc;
//! use metal_runtime::end_model::{select, Architecture, DevSet, EndModel, EndModelConfig, TrainConfig, TrainSet};
//! # fn run(graph: Arc<metal_runtime::schema::TaskGraph>, x: &metal_runtime::featurize::SparseFeatures,
//! #        x_dev: &metal_runtime::featurize::SparseFeatures, labels: &metal_runtime::label_model::ProbLabels,
//! #        gold: &[usize]) -> metal_runtime::Result<()> {
//! let build = || EndModel::new(graph.clone(), x.n_features(), EndModelConfig::paper(Architecture::hier()));
//! let chosen = select::learning_rate(
//!     build,
//!     &TrainSet::new(x, labels),
//!     &DevSet::new(x_dev, gold),
//!     &TrainConfig { n_epochs: 30, patience: Some(5), ..TrainConfig::default() },
//!     &[1e-3, 3e-3, 1e-2],
//! )?;
//! println!("lr {} (dev accuracy {:?})", chosen.lr, chosen.log.best_dev_accuracy);
//! let model = chosen.model; // trained at that rate, at its best epoch
//! # Ok(()) }
//! ```

use super::{DevSet, EndModel, TrainConfig, TrainLog, TrainSet};
use crate::error::EndModelError;

/// The outcome of [`learning_rate`].
#[derive(Debug)]
pub struct LrChoice {
    /// The chosen rate.
    pub lr: f64,
    /// The model trained at that rate (restored to its best epoch on dev).
    pub model: EndModel,
    /// Its training log.
    pub log: TrainLog,
    /// Every rate tried with the best dev accuracy it reached, in grid order.
    pub tried: Vec<(f64, f64)>,
}

/// Trains a fresh model from `build` at each rate of `grid` (with `config` otherwise, dev-based
/// epoch selection included) and keeps the one with the best dev accuracy; ties go to the rate
/// earlier in the grid.
///
/// # Errors
/// [`EndModelError::InvalidConfig`] for an empty grid; the errors of `build` and of
/// [`EndModel::train`].
pub fn learning_rate(
    mut build: impl FnMut() -> crate::Result<EndModel>,
    train: &TrainSet<'_>,
    dev: &DevSet<'_>,
    config: &TrainConfig,
    grid: &[f64],
) -> crate::Result<LrChoice> {
    if grid.is_empty() {
        return Err(EndModelError::InvalidConfig {
            name: "grid",
            value: "[]".into(),
            expected: "at least one learning rate",
        }
        .into());
    }
    let mut best: Option<LrChoice> = None;
    let mut tried = Vec::with_capacity(grid.len());
    for &lr in grid {
        let mut model = build()?;
        let log = model.train(train, Some(dev), &TrainConfig { lr, ..config.clone() })?;
        let acc = log.best_dev_accuracy.unwrap_or(0.0);
        tried.push((lr, acc));
        if best.as_ref().is_none_or(|b| acc > b.log.best_dev_accuracy.unwrap_or(0.0)) {
            best = Some(LrChoice { lr, model, log, tried: Vec::new() });
        }
    }
    let mut best = best.ok_or(EndModelError::EmptyTrainingSet)?;
    best.tried = tried;
    Ok(best)
}
