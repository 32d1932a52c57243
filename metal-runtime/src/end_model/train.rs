//! The training loop.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, TchError, Tensor};

use super::predict::check_gold;
use super::{lazy_adam, net, torch, Architecture, DevSet, EndModel, Result, TrainConfig, TrainSet};
use crate::error::EndModelError;

/// One epoch of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's items.
    pub loss: f64,
    /// End-label accuracy on the dev set after the epoch.
    pub dev_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch (evaluation included).
    pub seconds: f64,
}

impl EpochLog {
    /// One line for a log: `end model epoch 3/20: loss 0.4123, dev accuracy 0.812 (1.2 s)`.
    pub fn line(&self, n_epochs: usize) -> String {
        let dev = self.dev_accuracy.map(|a| format!(", dev accuracy {a:.3}")).unwrap_or_default();
        format!("end model epoch {}/{n_epochs}: loss {:.4}{dev} ({:.1} s)", self.epoch, self.loss, self.seconds)
    }
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainLog {
    /// Per-epoch log.
    pub epochs: Vec<EpochLog>,
    /// The epoch whose weights were kept (the best on dev; the last without a dev set).
    pub best_epoch: Option<usize>,
    /// Its dev accuracy.
    pub best_dev_accuracy: Option<f64>,
    /// Whether patience ran out before `n_epochs`.
    pub stopped_early: bool,
    /// Items trained on (after `keep`).
    pub n_train_items: usize,
    /// The device, e.g. `Cpu` or `Cuda(0)`.
    pub device: String,
    /// Total seconds.
    pub seconds: f64,
}

impl EndModel {
    /// Trains on probabilistic labels with Adam, evaluating end-label accuracy on `dev` after each
    /// epoch and keeping the best weights (early stopping after `patience` epochs without a gain).
    ///
    /// The loss is the soft cross-entropy of each task head against
    /// [`ProbLabels::task_marginals`] (for SingleTask: against the end-label distribution), summed
    /// over tasks with `task_weights`.
    ///
    /// # Errors
    /// Every check runs before the first step: the configs ([`TrainConfig::check`]), labels of
    /// another schema ([`EndModelError::SchemaMismatch`]), sizes that differ
    /// ([`EndModelError::ShapeMismatch`]), label rows that are not distributions
    /// ([`EndModelError::InvalidLabels`]), gold labels out of range, and no item left to train on
    /// ([`EndModelError::EmptyTrainingSet`]). A non-finite loss stops training with
    /// [`EndModelError::Diverged`].
    ///
    /// Progress: with `cfg.progress`, a bar over epochs when standard error is a terminal, and a
    /// line per epoch (loss, dev accuracy, seconds) when it is not, as in a log file or CI.
    pub fn train(
        &mut self,
        data: &TrainSet<'_>,
        dev: Option<&DevSet<'_>>,
        cfg: &TrainConfig,
    ) -> crate::Result<TrainLog> {
        self.train_with(data, dev, cfg, |_| {})
    }

    /// [`train`](Self::train), calling `on_epoch` after each epoch with its log (e.g. to record
    /// curves or report progress elsewhere).
    ///
    /// # Errors
    /// As for [`train`](Self::train).
    pub fn train_with(
        &mut self,
        data: &TrainSet<'_>,
        dev: Option<&DevSet<'_>>,
        cfg: &TrainConfig,
        mut on_epoch: impl FnMut(&EpochLog),
    ) -> crate::Result<TrainLog> {
        let log = self.train_inner(data, dev, cfg, &mut on_epoch)?;
        self.log = Some(log.clone());
        Ok(log)
    }

    pub(super) fn train_inner(
        &mut self,
        data: &TrainSet<'_>,
        dev: Option<&DevSet<'_>>,
        cfg: &TrainConfig,
        on_epoch: &mut dyn FnMut(&EpochLog),
    ) -> Result<TrainLog> {
        let start = Instant::now();
        let graph = Arc::clone(&self.graph);
        cfg.check(graph.n_tasks())?;
        if data.labels.graph() != &*graph {
            return Err(EndModelError::SchemaMismatch {
                what: "the probabilistic labels belong to another task graph than the model".into(),
            });
        }
        let n = data.features.n_items();
        data.features.check(self.n_features)?;
        if data.labels.n_items() != n {
            return Err(EndModelError::ShapeMismatch {
                what: "probabilistic label rows (one per training item)",
                expected: n,
                got: data.labels.n_items(),
            });
        }
        if let Some(keep) = data.keep {
            if keep.len() != n {
                return Err(EndModelError::ShapeMismatch {
                    what: "keep mask (one per training item)",
                    expected: n,
                    got: keep.len(),
                });
            }
        }
        let end = data.labels.end_labels();
        if let Some((i, _)) =
            end.outer_iter().enumerate().find(|(_, r)| r.iter().any(|&p| !(p >= 0.0 && p.is_finite())))
        {
            return Err(EndModelError::InvalidLabels { item: i });
        }
        if let Some(dev) = dev {
            check_gold(dev, self.n_features, graph.n_end_labels())?;
        }
        let mut items: Vec<usize> = (0..n).filter(|&i| data.keep.is_none_or(|k| k[i])).collect();
        if items.is_empty() {
            return Err(EndModelError::EmptyTrainingSet);
        }
        crate::device::set_threads(cfg.threads.unwrap_or_else(|| {
            if self.encoder.is_some() {
                crate::device::cores()
            } else {
                1
            }
        }));

        let device = self.vs.device();
        let single = self.config.architecture == Architecture::SingleTask;
        let (targets, weights) = if single {
            (vec![to_tensor(end, device)?], vec![1.0])
        } else {
            let targets = (0..graph.n_tasks())
                .map(|t| to_tensor(data.labels.task_marginals(t).view(), device))
                .collect::<Result<Vec<_>>>()?;
            (targets, cfg.task_weights.clone().unwrap_or_else(|| vec![1.0; graph.n_tasks()]))
        };

        tch::manual_seed(cfg.seed as i64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
        let mut opt = nn::adam(0.9, 0.999, cfg.weight_decay).build(&self.vs, cfg.lr).map_err(torch("building Adam"))?;
        if self.encoder.is_some() {
            // The encoder's weights are in group 1 (tch panics on a group that does not exist).
            opt.set_lr_group(1, cfg.encoder_lr.unwrap_or(cfg.lr));
        }
        let mut lazy = lazy_adam::LazyAdam::new(self.net.sparse_parameters(), cfg.lr, cfg.weight_decay)
            .map_err(torch("building lazy Adam"))?;
        let bar = if cfg.progress { ProgressBar::new(cfg.n_epochs as u64) } else { ProgressBar::hidden() };
        if let Ok(style) = ProgressStyle::with_template("end model {bar:30} epoch {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        let mut log = TrainLog {
            epochs: Vec::new(),
            best_epoch: None,
            best_dev_accuracy: None,
            stopped_early: false,
            n_train_items: items.len(),
            device: format!("{device:?}"),
            seconds: 0.0,
        };
        let mut best: Option<Vec<Tensor>> = None;
        let mut since_best = 0;
        let sparse = self.net.wants_sparse();
        for epoch in 1..=cfg.n_epochs {
            let epoch_start = Instant::now();
            items.shuffle(&mut rng);
            let mut total = 0.0;
            for batch in items.chunks(cfg.batch_size) {
                let x = data.features.batch(batch, sparse, device).map_err(torch("building a batch"))?;
                let idx: Vec<i64> = batch.iter().map(|&i| i as i64).collect();
                let idx = Tensor::from_slice(&idx).f_to_device(device).map_err(torch("building a batch"))?;
                let logits = self.net.forward_t(&x, true).map_err(torch("the forward pass"))?;
                let y = targets
                    .iter()
                    .map(|t| t.f_index_select(0, &idx))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(torch("selecting targets"))?;
                let loss = net::soft_cross_entropy(&logits, &y, &weights).map_err(torch("the loss"))?;
                let value = f64::try_from(&loss).map_err(torch("reading the loss"))?;
                if !value.is_finite() {
                    bar.finish_and_clear();
                    return Err(EndModelError::Diverged { epoch, loss: value });
                }
                total += value * batch.len() as f64;
                opt.zero_grad();
                lazy.zero_grad();
                loss.f_backward().map_err(torch("the backward pass"))?;
                opt.step();
                lazy.step().map_err(torch("the lazy Adam step"))?;
            }
            let loss = total / items.len() as f64;
            let dev_accuracy = match dev {
                Some(dev) => Some(self.accuracy(dev)?),
                None => None,
            };
            let entry = EpochLog { epoch, loss, dev_accuracy, seconds: epoch_start.elapsed().as_secs_f64() };
            on_epoch(&entry);
            if cfg.progress && !std::io::stderr().is_terminal() {
                eprintln!("{}", entry.line(cfg.n_epochs));
            }
            log.epochs.push(entry);
            bar.inc(1);
            bar.set_message(match dev_accuracy {
                Some(a) => format!("loss {loss:.4} dev acc {a:.3}"),
                None => format!("loss {loss:.4}"),
            });
            match dev_accuracy {
                Some(acc) if log.best_dev_accuracy.is_none_or(|b| acc > b) => {
                    log.best_dev_accuracy = Some(acc);
                    log.best_epoch = Some(epoch);
                    best = Some(self.snapshot()?);
                    since_best = 0;
                }
                Some(_) => {
                    since_best += 1;
                    if cfg.patience.is_some_and(|p| since_best >= p) {
                        log.stopped_early = epoch < cfg.n_epochs;
                        break;
                    }
                }
                None => log.best_epoch = Some(epoch),
            }
        }
        bar.finish_and_clear();
        if let Some(best) = best {
            self.restore(&best)?;
        }
        log.seconds = start.elapsed().as_secs_f64();
        Ok(log)
    }

    /// Every variable of the model (trainable or updated by lazy Adam), in name order.
    pub(super) fn variables(&self) -> Vec<Tensor> {
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.into_iter().map(|(_, v)| v).collect()
    }

    pub(super) fn snapshot(&self) -> Result<Vec<Tensor>> {
        tch::no_grad(|| {
            self.variables()
                .iter()
                .map(|v| {
                    let mut copy = v.f_zeros_like()?;
                    copy.f_copy_(v)?;
                    Ok(copy)
                })
                .collect::<Result<Vec<_>, TchError>>()
        })
        .map_err(torch("saving the best weights"))
    }

    pub(super) fn restore(&self, saved: &[Tensor]) -> Result<()> {
        tch::no_grad(|| {
            for (mut v, s) in self.variables().into_iter().zip(saved) {
                v.f_copy_(s)?;
            }
            Ok(())
        })
        .map_err(torch("restoring the best weights"))
    }
}

/// An f64 matrix as an f32 tensor on `device`.
pub(super) fn to_tensor(a: ArrayView2<'_, f64>, device: Device) -> Result<Tensor> {
    let values: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    Tensor::from_slice(&values)
        .f_view([a.nrows() as i64, a.ncols() as i64])
        .and_then(|t| t.f_to_device(device))
        .map_err(torch("copying labels to the device"))
}
