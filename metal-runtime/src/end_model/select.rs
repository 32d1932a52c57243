//! Model selection on dev labels: the learning rate of a grid with the best dev accuracy
//! ([`learning_rate`]), and, for a model trained on the dev labels themselves, the number of
//! epochs by cross-validation over them ([`epochs_by_cross_validation`]).
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

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{DevSet, EndModel, Features, TrainConfig, TrainLog, TrainSet};
use crate::error::EndModelError;
use crate::label_model::ProbLabels;
use crate::schema::TaskGraph;

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

/// The outcome of [`epochs_by_cross_validation`].
#[derive(Debug, Clone, PartialEq)]
pub struct EpochChoice {
    /// The number of epochs with the best mean held-out accuracy (ties go to fewer epochs).
    pub epochs: usize,
    /// That accuracy.
    pub accuracy: f64,
    /// The mean held-out accuracy after each epoch.
    pub curve: Vec<f64>,
}

/// The number of epochs (up to `config.n_epochs`) for a model trained on gold labels alone,
/// when no other labeled items are left to choose it on: the items are split into `folds` folds
/// (shuffled with `seed`); a fresh model from `build` trains on the one-hot labels of all folds
/// but one and is scored on the held-out fold after every epoch; the epoch count with the best
/// mean held-out accuracy wins. `config.patience` is ignored (every epoch is scored).
///
/// ```no_run
/// # use std::sync::Arc;
/// use metal_runtime::end_model::{select, Architecture, EndModel, EndModelConfig, TrainConfig};
/// # fn run(graph: Arc<metal_runtime::schema::TaskGraph>, x_dev: &metal_runtime::featurize::SparseFeatures,
/// #        gold_dev: &[usize]) -> metal_runtime::Result<()> {
/// let build = || EndModel::new(graph.clone(), x_dev.n_features(), EndModelConfig::paper(Architecture::hier()));
/// let config = TrainConfig { n_epochs: 30, ..TrainConfig::default() };
/// let choice = select::epochs_by_cross_validation(build, x_dev.into(), gold_dev, &graph, &config, 5, 0)?;
/// println!("{} epochs (held-out accuracy {:.3})", choice.epochs, choice.accuracy);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`EndModelError::InvalidConfig`] for fewer than 2 folds or more folds than items;
/// [`EndModelError::ShapeMismatch`] when `gold` and `x` differ in length; the errors of `build`
/// and of [`EndModel::train`].
pub fn epochs_by_cross_validation(
    mut build: impl FnMut() -> crate::Result<EndModel>,
    x: Features<'_>,
    gold: &[usize],
    graph: &std::sync::Arc<TaskGraph>,
    config: &TrainConfig,
    folds: usize,
    seed: u64,
) -> crate::Result<EpochChoice> {
    let n = gold.len();
    if x.n_items() != n {
        return Err(
            EndModelError::ShapeMismatch { what: "gold labels (one per item)", expected: x.n_items(), got: n }.into()
        );
    }
    if folds < 2 || folds > n {
        return Err(EndModelError::InvalidConfig {
            name: "folds",
            value: folds.to_string(),
            expected: "at least 2 and at most the number of labeled items",
        }
        .into());
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    let mut sums = vec![0.0; config.n_epochs];
    for fold in 0..folds {
        let held: Vec<usize> = order.iter().copied().skip(fold).step_by(folds).collect();
        let fit: Vec<usize> = order.iter().copied().filter(|i| !held.contains(i)).collect();
        let labels_of = |items: &[usize]| -> Vec<usize> { items.iter().map(|&i| gold[i]).collect() };
        let labels = ProbLabels::one_hot(graph.clone(), &labels_of(&fit))?;
        let (x_fit, x_held, gold_held) = (x.select(&fit), x.select(&held), labels_of(&held));
        let mut model = build()?;
        let log = model.train(
            &TrainSet::new(x_fit.features(), &labels),
            Some(&DevSet::new(x_held.features(), &gold_held)),
            &TrainConfig { patience: None, ..config.clone() },
        )?;
        for (sum, epoch) in sums.iter_mut().zip(&log.epochs) {
            *sum += epoch.dev_accuracy.unwrap_or(0.0);
        }
    }
    let curve: Vec<f64> = sums.iter().map(|s| s / folds as f64).collect();
    let (best, accuracy) =
        curve.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (e, &a)| if a > b.1 { (e, a) } else { b });
    Ok(EpochChoice { epochs: best + 1, accuracy, curve })
}
