//! The multi-task end model (feature `torch`): a network compiled from the task schema (paper §4),
//! trained on probabilistic labels with dev-set model selection.
//!
//! ```no_run
//! use std::sync::Arc;
//! use metal_runtime::end_model::{Architecture, DevSet, EndModel, EndModelConfig, TrainConfig, TrainSet};
//! use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
//! # fn run(graph: Arc<metal_runtime::schema::TaskGraph>, texts: &[String], dev_texts: &[String],
//! #        labels: &metal_runtime::label_model::ProbLabels, dev_gold: &[usize]) -> metal_runtime::Result<()> {
//! let featurizer = Featurizer::fit(texts, &FeaturizerConfig::default())?;
//! let (x, x_dev) = (featurizer.transform(texts), featurizer.transform(dev_texts));
//! let config = EndModelConfig { architecture: Architecture::hier(), ..EndModelConfig::default() };
//! let mut model = EndModel::new(graph, featurizer.n_features(), config)?;
//! let log = model.train(
//!     &TrainSet::new(&x, labels),
//!     Some(&DevSet::new(&x_dev, dev_gold)),
//!     &TrainConfig::default(),
//! )?;
//! println!("best dev accuracy {:?} at epoch {:?}", log.best_dev_accuracy, log.best_epoch);
//! let predicted = model.predict(&x_dev)?; // end-label indices, always feasible
//! model.set_featurizer(featurizer);
//! model.save("model-dir")?;
//! # Ok(()) }
//! ```

mod lazy_adam;
mod net;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, TchError, Tensor};

pub use net::{BagOfWords, HiddenModule, IdentityInput, InputBatch, InputModule, LayerBuilder, MultiTaskNet};

use crate::error::EndModelError;
use crate::featurize::{Featurizer, SparseFeatures};
use crate::label_model::ProbLabels;
use crate::schema::TaskGraph;

type Result<T, E = EndModelError> = std::result::Result<T, E>;

/// Wraps a libtorch error with what was being done.
fn torch(op: &'static str) -> impl FnOnce(TchError) -> EndModelError {
    move |e| EndModelError::Torch { op, message: e.to_string() }
}

/// Which way predictions flow between task heads in [`Architecture::HierMtl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HierDirection {
    /// Each child head's output is an extra input of its parent's head (the paper's HierMTL).
    #[default]
    ChildToParent,
    /// Each parent head's output is an extra input of its children's heads (metal's code).
    ParentToChild,
}

/// How task heads attach to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    /// One head over the K end labels, on the top layer (no multi-task structure).
    SingleTask,
    /// One head per task, all on the top layer.
    FlatMtl,
    /// One head per task, at the layer matching the task's depth (the root on the top layer, a
    /// task of depth d on layer L − d), with predictions passed between parent and child heads.
    HierMtl {
        /// Which way predictions pass.
        direction: HierDirection,
    },
}

impl Architecture {
    /// The paper's HierMTL (child outputs passed up to parents).
    pub fn hier() -> Self {
        Architecture::HierMtl { direction: HierDirection::ChildToParent }
    }
}

/// The input module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputConfig {
    /// Identity over the features (D₀ = V); sparse rows are densified per batch.
    Identity,
    /// A sparse bag-of-words linear layer + ReLU to `dim` outputs ([`BagOfWords`]).
    BagOfWords {
        /// Output width D₀.
        dim: usize,
    },
    /// A pretrained sentence encoder (BERT with mean pooling, e.g. all-MiniLM-L6-v2), fine-tuned
    /// with the network; it reads token ids ([`Features::Tokens`], from [`EndModel::tokenize`]).
    /// `n_features` is the model's vocabulary size. Its weights train at
    /// [`TrainConfig::encoder_lr`].
    Encoder {
        /// The sentence-transformers folder ([`crate::encoder::minilm_dir`] for all-MiniLM-L6-v2).
        dir: PathBuf,
    },
    /// A user module passed to [`EndModel::with_input`] (set by it; not buildable from the config).
    Custom {
        /// The module's output width.
        dim: usize,
    },
}

/// The network's shape. Checked by [`EndModelConfig::check`] before anything is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndModelConfig {
    /// How heads attach.
    pub architecture: Architecture,
    /// The input module.
    pub input: InputConfig,
    /// Widths of the intermediate linear + ReLU layers, bottom to top (paper: 250, 50).
    pub layers: Vec<usize>,
    /// Dropout probability after each intermediate layer (0 = none), in [0, 1).
    pub dropout: f64,
    /// Per task, the 1-based intermediate layer its head reads (overrides the architecture's
    /// placement; multi-task architectures only).
    pub head_layers: Option<Vec<usize>>,
    /// Seed of the weight initialization.
    pub seed: u64,
    /// The intermediate layers are user modules ([`EndModel::with_layers`]; set by it, not
    /// buildable from the config). `layers` still gives their widths.
    #[serde(default)]
    pub custom_layers: bool,
}

impl Default for EndModelConfig {
    fn default() -> Self {
        EndModelConfig {
            architecture: Architecture::hier(),
            input: InputConfig::Identity,
            layers: vec![250, 50],
            dropout: 0.0,
            head_layers: None,
            seed: 0,
            custom_layers: false,
        }
    }
}

impl EndModelConfig {
    /// Checks the settings against `graph` and the number of features.
    ///
    /// # Errors
    /// [`EndModelError::InvalidConfig`] for a zero-width layer or input, no features or a dropout
    /// outside [0, 1); [`EndModelError::StackTooShallow`] when HierMTL has fewer layers than the
    /// tree has levels; [`EndModelError::HeadLayerOutOfRange`] for a head placed outside the stack;
    /// [`EndModelError::ShapeMismatch`] for `head_layers` not of one entry per task.
    pub fn check(&self, graph: &TaskGraph, n_features: usize) -> Result<()> {
        let invalid = |name, value: String, expected| Err(EndModelError::InvalidConfig { name, value, expected });
        if n_features == 0 {
            return invalid("n_features", "0".into(), "at least one feature");
        }
        if let Some(i) = self.layers.iter().position(|&w| w == 0) {
            return invalid(
                "layers",
                format!("{:?}", self.layers),
                if i == 0 { "layer 1 has width 0" } else { "a layer has width 0" },
            );
        }
        if let InputConfig::BagOfWords { dim: 0 } | InputConfig::Custom { dim: 0 } = self.input {
            return invalid("input.dim", "0".into(), "at least 1");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return invalid("dropout", self.dropout.to_string(), "in [0, 1)");
        }
        let n_layers = self.layers.len();
        // Heads may read the input module's output (layer 0) when it is a learned layer.
        let first_layer = usize::from(self.input == InputConfig::Identity);
        if let Some(at) = &self.head_layers {
            if at.len() != graph.n_tasks() {
                return Err(EndModelError::ShapeMismatch {
                    what: "head_layers (one per task)",
                    expected: graph.n_tasks(),
                    got: at.len(),
                });
            }
            if let Some(t) = at.iter().position(|&l| l < first_layer || l > n_layers) {
                return Err(EndModelError::HeadLayerOutOfRange {
                    task: graph.task(t).name.clone(),
                    layer: at[t],
                    first_layer,
                    n_layers,
                });
            }
        } else if matches!(self.architecture, Architecture::HierMtl { .. })
            && n_layers + 1 - first_layer < graph.max_depth() + 1
        {
            return Err(EndModelError::StackTooShallow {
                max_depth: graph.max_depth(),
                n_layers: n_layers + 1 - first_layer,
            });
        }
        Ok(())
    }
}

/// Training settings. Checked by [`TrainConfig::check`] before training starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Adam learning rate, > 0.
    pub lr: f64,
    /// Adam weight decay (L2), ≥ 0.
    pub weight_decay: f64,
    /// Items per mini-batch, ≥ 1.
    pub batch_size: usize,
    /// Passes over the training set, ≥ 1.
    pub n_epochs: usize,
    /// Stop after this many epochs without a better dev accuracy (`None`: run all epochs).
    pub patience: Option<usize>,
    /// Per-task loss weights (one per task; `None`: all 1). Ignored by SingleTask.
    pub task_weights: Option<Vec<f64>>,
    /// Seed of the shuffling (and of libtorch's generator, used by dropout).
    pub seed: u64,
    /// Show a progress bar over epochs (on standard error, when it is a terminal).
    pub progress: bool,
    /// libtorch's intra-op CPU threads for training and the predictions after it (process-wide).
    /// `None` (the default) chooses: 1 for networks without a pretrained encoder, one per core
    /// with one. Measured on the 2-core development machine while another job kept both cores
    /// busy: HierMTL on the bag of words of 6,722 Reuters articles took 2.1–2.3 s per epoch with
    /// 1 thread and 4.2–4.6 s with 2, with the same test accuracy; libtorch's own default (one
    /// thread per core) oversubscribes a busy machine, and small layers gain nothing from more
    /// threads. A pretrained encoder's large matrix products do.
    #[serde(default)]
    pub threads: Option<usize>,
    /// Adam learning rate of a pretrained encoder's weights ([`InputConfig::Encoder`]; `None`:
    /// `lr`). Fine-tuning wants a smaller rate than the layers above it, e.g. 1e-4.
    #[serde(default)]
    pub encoder_lr: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            lr: 1e-3,
            weight_decay: 0.0,
            batch_size: 32,
            n_epochs: 20,
            patience: None,
            task_weights: None,
            seed: 0,
            progress: true,
            threads: None,
            encoder_lr: None,
        }
    }
}

impl TrainConfig {
    /// Checks the settings for a graph of `n_tasks` tasks.
    ///
    /// # Errors
    /// [`EndModelError::InvalidConfig`] for lr ≤ 0 (or not finite), a negative weight decay,
    /// a zero batch size or epoch count, or a negative task weight;
    /// [`EndModelError::ShapeMismatch`] for task weights not of one entry per task.
    pub fn check(&self, n_tasks: usize) -> Result<()> {
        let invalid = |name, value: String, expected| Err(EndModelError::InvalidConfig { name, value, expected });
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return invalid("lr", self.lr.to_string(), "a finite number > 0");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return invalid("weight_decay", self.weight_decay.to_string(), "a finite number ≥ 0");
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "0".into(), "at least 1");
        }
        if self.n_epochs == 0 {
            return invalid("n_epochs", "0".into(), "at least 1");
        }
        if let Some(lr) = self.encoder_lr.filter(|lr| !(*lr > 0.0 && lr.is_finite())) {
            return invalid("encoder_lr", lr.to_string(), "a finite number > 0");
        }
        if self.threads == Some(0) {
            return invalid("threads", "0".into(), "at least 1 (or None for libtorch's setting)");
        }
        if let Some(w) = &self.task_weights {
            if w.len() != n_tasks {
                return Err(EndModelError::ShapeMismatch {
                    what: "task_weights (one per task)",
                    expected: n_tasks,
                    got: w.len(),
                });
            }
            if w.iter().any(|&x| !(x >= 0.0 && x.is_finite())) {
                return invalid("task_weights", format!("{w:?}"), "finite numbers ≥ 0");
            }
        }
        Ok(())
    }
}

/// Builds a user input module under the given path (see [`EndModel::with_input`]).
type InputBuilder<'a> = dyn FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError> + 'a;

/// User modules that replace built-in parts of the network ([`EndModel::with_modules`]).
#[derive(Default)]
pub struct Modules<'a> {
    input: Option<Box<InputBuilder<'a>>>,
    layers: Option<Box<LayerBuilder<'a>>>,
}

impl std::fmt::Debug for Modules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Modules").field("input", &self.input.is_some()).field("layers", &self.layers.is_some()).finish()
    }
}

impl<'a> Modules<'a> {
    /// No replacement: the built-in modules of the config.
    pub fn new() -> Self {
        Modules::default()
    }

    /// Replaces the input module with the one `build` makes under the given path.
    pub fn input(mut self, build: impl FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError> + 'a) -> Self {
        self.input = Some(Box::new(build));
        self
    }

    /// Replaces the intermediate layers: `build(path, i, d_in, d_out)` makes layer `i`.
    pub fn layers(
        mut self,
        build: impl FnMut(&nn::Path<'_>, usize, usize, usize) -> Result<Box<dyn HiddenModule>, TchError> + 'a,
    ) -> Self {
        self.layers = Some(Box::new(build));
        self
    }
}

/// Features of a set of items: sparse rows (from a [`Featurizer`]) or a dense n × D matrix.
#[derive(Debug, Clone, Copy)]
pub enum Features<'a> {
    /// Sparse CSR rows.
    Sparse(&'a SparseFeatures),
    /// Dense rows.
    Dense(ArrayView2<'a, f32>),
    /// Token ids per item, for an [`InputConfig::Encoder`] input ([`EndModel::tokenize`]).
    Tokens {
        /// Token ids of each item.
        ids: &'a [Vec<u32>],
        /// The vocabulary size (ids must be below it).
        vocab: usize,
    },
}

impl<'a> From<&'a SparseFeatures> for Features<'a> {
    fn from(x: &'a SparseFeatures) -> Self {
        Features::Sparse(x)
    }
}

impl<'a> From<ArrayView2<'a, f32>> for Features<'a> {
    fn from(x: ArrayView2<'a, f32>) -> Self {
        Features::Dense(x)
    }
}

impl<'a> From<&'a Array2<f32>> for Features<'a> {
    fn from(x: &'a Array2<f32>) -> Self {
        Features::Dense(x.view())
    }
}

impl Features<'_> {
    /// Number of items.
    pub fn n_items(&self) -> usize {
        match self {
            Features::Sparse(x) => x.n_items(),
            Features::Dense(x) => x.nrows(),
            Features::Tokens { ids, .. } => ids.len(),
        }
    }

    /// Number of features per item.
    pub fn n_features(&self) -> usize {
        match self {
            Features::Sparse(x) => x.n_features(),
            Features::Dense(x) => x.ncols(),
            Features::Tokens { vocab, .. } => *vocab,
        }
    }

    fn check(&self, n_features: usize) -> Result<()> {
        if self.n_features() != n_features {
            return Err(EndModelError::ShapeMismatch {
                what: "features per item (the model's input width)",
                expected: n_features,
                got: self.n_features(),
            });
        }
        if let Features::Dense(x) = self {
            if let Some((i, _)) = x.outer_iter().enumerate().find(|(_, r)| r.iter().any(|v| !v.is_finite())) {
                return Err(EndModelError::NonFiniteFeature { item: i });
            }
        }
        if let Features::Tokens { ids, vocab } = self {
            if let Some((i, id)) =
                ids.iter().enumerate().find_map(|(i, t)| t.iter().find(|&&id| id as usize >= *vocab).map(|&id| (i, id)))
            {
                return Err(EndModelError::InvalidConfig {
                    name: "token id",
                    value: format!("{id} (item {i})"),
                    expected: "below the encoder's vocabulary size",
                });
            }
        }
        Ok(())
    }

    /// The rows `items` as a batch on `device`.
    fn batch(&self, items: &[usize], sparse: bool, device: Device) -> Result<InputBatch, TchError> {
        let v = self.n_features();
        if let Features::Tokens { ids, .. } = self {
            let rows: Vec<&[u32]> = items.iter().map(|&i| ids[i].as_slice()).collect();
            let (ids, mask) = crate::encoder::pad_batch(&rows, device)?;
            return Ok(InputBatch::Tokens { ids, mask });
        }
        if sparse {
            let (mut indices, mut offsets, mut weights) = (Vec::new(), Vec::with_capacity(items.len()), Vec::new());
            for &i in items {
                offsets.push(indices.len() as i64);
                match self {
                    Features::Sparse(x) => {
                        let (idx, val) = x.row(i);
                        indices.extend(idx.iter().map(|&j| i64::from(j)));
                        weights.extend_from_slice(val);
                    }
                    Features::Dense(x) => {
                        for (j, &value) in x.row(i).iter().enumerate().filter(|(_, v)| **v != 0.0) {
                            indices.push(j as i64);
                            weights.push(value);
                        }
                    }
                    Features::Tokens { .. } => {}
                }
            }
            Ok(InputBatch::Sparse {
                indices: Tensor::from_slice(&indices).f_to_device(device)?,
                offsets: Tensor::from_slice(&offsets).f_to_device(device)?,
                weights: Tensor::from_slice(&weights).f_to_device(device)?,
            })
        } else {
            let mut dense = vec![0f32; items.len() * v];
            for (r, &i) in items.iter().enumerate() {
                let out = &mut dense[r * v..(r + 1) * v];
                match self {
                    Features::Sparse(x) => {
                        let (idx, val) = x.row(i);
                        for (&j, &value) in idx.iter().zip(val) {
                            out[j as usize] += value;
                        }
                    }
                    Features::Dense(x) => out.iter_mut().zip(x.row(i)).for_each(|(o, &value)| *o = value),
                    Features::Tokens { .. } => {}
                }
            }
            Ok(InputBatch::Dense(
                Tensor::from_slice(&dense).f_view([items.len() as i64, v as i64])?.f_to_device(device)?,
            ))
        }
    }
}

/// Training items and their probabilistic labels.
#[derive(Debug, Clone, Copy)]
pub struct TrainSet<'a> {
    /// Features, one row per item.
    pub features: Features<'a>,
    /// Probabilistic labels of the same items (hard labels: [`ProbLabels::one_hot`]).
    pub labels: &'a ProbLabels,
    /// Items to train on (`None`: all), e.g. to drop the items every LF abstained on.
    pub keep: Option<&'a [bool]>,
}

impl<'a> TrainSet<'a> {
    /// All items of `features` with `labels`.
    pub fn new(features: impl Into<Features<'a>>, labels: &'a ProbLabels) -> Self {
        TrainSet { features: features.into(), labels, keep: None }
    }

    /// Trains only on the items where `keep` is true.
    pub fn keep(mut self, keep: &'a [bool]) -> Self {
        self.keep = Some(keep);
        self
    }
}

/// Labeled items for model selection.
#[derive(Debug, Clone, Copy)]
pub struct DevSet<'a> {
    /// Features, one row per item.
    pub features: Features<'a>,
    /// Gold end-label index of each item.
    pub gold: &'a [usize],
}

impl<'a> DevSet<'a> {
    /// Items with their gold end labels.
    pub fn new(features: impl Into<Features<'a>>, gold: &'a [usize]) -> Self {
        DevSet { features: features.into(), gold }
    }
}

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

/// What a saved model's JSON file holds.
#[derive(Serialize, Deserialize)]
struct SavedModel {
    format: String,
    version: u32,
    config: EndModelConfig,
    graph: TaskGraph,
    n_features: usize,
    featurizer: Option<Featurizer>,
}

const FORMAT: &str = "metal-end-model";
const CONFIG_FILE: &str = "model.json";
const WEIGHTS_FILE: &str = "weights.safetensors";

/// A multi-task network compiled from a task graph, with its parameters.
pub struct EndModel {
    vs: nn::VarStore,
    net: MultiTaskNet,
    graph: Arc<TaskGraph>,
    config: EndModelConfig,
    n_features: usize,
    featurizer: Option<Featurizer>,
    /// C × K: 1 where a task column is on an end label's path.
    paths: Tensor,
    /// The pretrained encoder's files (tokenizer) when the input is [`InputConfig::Encoder`].
    encoder: Option<crate::encoder::ModelFiles>,
}

impl std::fmt::Debug for EndModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndModel")
            .field("config", &self.config)
            .field("n_features", &self.n_features)
            .field("device", &self.vs.device())
            .field("net", &self.net)
            .finish()
    }
}

impl EndModel {
    /// Builds the network for `graph` over `n_features` input features on the default device
    /// (CUDA when available, else the CPU).
    ///
    /// # Errors
    /// See [`EndModelConfig::check`].
    pub fn new(graph: Arc<TaskGraph>, n_features: usize, config: EndModelConfig) -> crate::Result<Self> {
        Self::new_on(graph, n_features, config, crate::device::default_device())
    }

    /// [`new`](Self::new) on a given device.
    ///
    /// # Errors
    /// See [`EndModelConfig::check`].
    pub fn new_on(
        graph: Arc<TaskGraph>,
        n_features: usize,
        config: EndModelConfig,
        device: Device,
    ) -> crate::Result<Self> {
        if config.custom_layers {
            return Err(EndModelError::InvalidConfig {
                name: "custom_layers",
                value: "true".into(),
                expected: "built-in layers (user layers are built by `with_layers`)",
            }
            .into());
        }
        let input = config.input.clone();
        Ok(Self::build(graph, n_features, config, device, None, |p, rng| {
            net::builtin_input(p, &input, n_features, rng)
        })?)
    }

    /// Builds the network with a user input module, made by `build` under the given path; the
    /// config's `input` is recorded as [`InputConfig::Custom`]. Shorthand for
    /// [`with_modules`](Self::with_modules) with [`Modules::input`].
    ///
    /// # Errors
    /// See [`EndModelConfig::check`]; [`EndModelError::Torch`] when `build` fails.
    pub fn with_input(
        graph: Arc<TaskGraph>,
        n_features: usize,
        config: EndModelConfig,
        device: Device,
        build: impl FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError>,
    ) -> crate::Result<Self> {
        Self::with_modules(graph, n_features, config, device, Modules::new().input(build))
    }

    /// Builds the network with user intermediate layers: `build(path, i, d_in, d_out)` makes layer
    /// `i` (0-based) under `path`, from `d_in` to `d_out = config.layers[i]` features. Heads attach
    /// to the layers as for the built-in stack. Shorthand for [`with_modules`](Self::with_modules)
    /// with [`Modules::layers`].
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// use metal_runtime::end_model::{EndModel, EndModelConfig, HiddenModule};
    /// use tch::{nn, nn::Module, Device, TchError, Tensor};
    ///
    /// /// A residual-free tanh layer instead of the built-in ReLU one.
    /// struct Tanh(nn::Linear, usize);
    /// impl HiddenModule for Tanh {
    ///     fn out_dim(&self) -> usize { self.1 }
    ///     fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor, TchError> {
    ///         self.0.forward(x).f_tanh()
    ///     }
    /// }
    /// # fn run(graph: Arc<metal_runtime::schema::TaskGraph>, n_features: usize) -> metal_runtime::Result<()> {
    /// let model = EndModel::with_layers(graph, n_features, EndModelConfig::default(), Device::Cpu,
    ///     |path, _i, d_in, d_out| {
    ///         let linear = nn::linear(path / "linear", d_in as i64, d_out as i64, Default::default());
    ///         Ok(Box::new(Tanh(linear, d_out)) as Box<dyn HiddenModule>)
    ///     })?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`EndModelConfig::check`]; [`EndModelError::Torch`] when `build` fails or makes a
    /// layer whose width is not the configured one.
    pub fn with_layers(
        graph: Arc<TaskGraph>,
        n_features: usize,
        config: EndModelConfig,
        device: Device,
        build: impl FnMut(&nn::Path<'_>, usize, usize, usize) -> Result<Box<dyn HiddenModule>, TchError>,
    ) -> crate::Result<Self> {
        Self::with_modules(graph, n_features, config, device, Modules::new().layers(build))
    }

    /// Builds the network with the user modules of `modules` in place of the built-in ones.
    /// `config.input` becomes [`InputConfig::Custom`] when the input is replaced, and
    /// `config.custom_layers` is set when the layers are.
    ///
    /// # Errors
    /// See [`with_input`](Self::with_input) and [`with_layers`](Self::with_layers).
    pub fn with_modules(
        graph: Arc<TaskGraph>,
        n_features: usize,
        mut config: EndModelConfig,
        device: Device,
        modules: Modules<'_>,
    ) -> crate::Result<Self> {
        let Modules { input, mut layers } = modules;
        config.custom_layers = layers.is_some();
        let Some(input) = input else {
            let builtin = config.input.clone();
            return Ok(Self::build(graph, n_features, config, device, layers.as_deref_mut(), |p, rng| {
                net::builtin_input(p, &builtin, n_features, rng)
            })?);
        };
        // The width is known only once the module exists; check the rest first.
        config.input = InputConfig::Custom { dim: 1 };
        config.check(&graph, n_features)?;
        let mut dim = 0;
        let mut model = Self::build(graph, n_features, config, device, layers.as_deref_mut(), |p, _| {
            let m = input(&(p / "input"))?;
            dim = m.out_dim();
            Ok(m)
        })?;
        model.config.input = InputConfig::Custom { dim };
        Ok(model)
    }

    fn build(
        graph: Arc<TaskGraph>,
        n_features: usize,
        config: EndModelConfig,
        device: Device,
        layers: Option<&mut LayerBuilder<'_>>,
        input: impl FnOnce(&nn::Path<'_>, &mut Xoshiro256PlusPlus) -> Result<Box<dyn InputModule>, TchError>,
    ) -> Result<Self> {
        config.check(&graph, n_features)?;
        let encoder = match &config.input {
            InputConfig::Encoder { dir } => {
                let files = crate::encoder::ModelFiles::read(dir).map_err(|e| EndModelError::InvalidConfig {
                    name: "input",
                    value: e.to_string(),
                    expected: "a readable encoder folder",
                })?;
                if files.vocab_size() != n_features {
                    return Err(EndModelError::ShapeMismatch {
                        what: "n_features of an encoder input (its vocabulary size)",
                        expected: files.vocab_size(),
                        got: n_features,
                    });
                }
                Some(files)
            }
            _ => None,
        };
        tch::manual_seed(config.seed as i64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let input = input(&root, &mut rng).map_err(torch("building the input module"))?;
        if input.out_dim() == 0 {
            return Err(EndModelError::InvalidConfig {
                name: "input.dim",
                value: "0".into(),
                expected: "an input module with at least 1 output",
            });
        }
        let net = MultiTaskNet::build(&root, &graph, &config, input, layers, &mut rng)
            .map_err(torch("building the network"))?;
        let paths = path_matrix(&graph, device).map_err(torch("building the path matrix"))?;
        Ok(EndModel { vs, net, graph, config, n_features, featurizer: None, paths, encoder })
    }

    /// Token ids of `texts` for a model whose input is a pretrained encoder
    /// ([`InputConfig::Encoder`]); pass them as [`tokens`](Self::tokens).
    ///
    /// # Errors
    /// [`EndModelError::InvalidConfig`] when the input is not an encoder; the tokenizer's error
    /// naming the text it failed on.
    pub fn tokenize(&self, texts: &[String]) -> crate::Result<Vec<Vec<u32>>> {
        let Some(files) = &self.encoder else {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: format!("{:?}", self.config.input),
                expected: "a pretrained encoder input to tokenize for",
            }
            .into());
        };
        Ok(files.tokenize(texts)?)
    }

    /// Token ids (from [`tokenize`](Self::tokenize)) as features of this model.
    pub fn tokens<'a>(&self, ids: &'a [Vec<u32>]) -> Features<'a> {
        Features::Tokens { ids, vocab: self.n_features }
    }

    /// The task graph.
    pub fn graph(&self) -> &Arc<TaskGraph> {
        &self.graph
    }

    /// The network's configuration.
    pub fn config(&self) -> &EndModelConfig {
        &self.config
    }

    /// The number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The parameters.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The network.
    pub fn net(&self) -> &MultiTaskNet {
        &self.net
    }

    /// Attaches the featurizer that makes this model's inputs, so that it is saved with it.
    pub fn set_featurizer(&mut self, featurizer: Featurizer) {
        self.featurizer = Some(featurizer);
    }

    /// The attached featurizer.
    pub fn featurizer(&self) -> Option<&Featurizer> {
        self.featurizer.as_ref()
    }

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
    pub fn train(
        &mut self,
        data: &TrainSet<'_>,
        dev: Option<&DevSet<'_>>,
        cfg: &TrainConfig,
    ) -> crate::Result<TrainLog> {
        Ok(self.train_inner(data, dev, cfg)?)
    }

    fn train_inner(&mut self, data: &TrainSet<'_>, dev: Option<&DevSet<'_>>, cfg: &TrainConfig) -> Result<TrainLog> {
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
            log.epochs.push(EpochLog { epoch, loss, dev_accuracy, seconds: epoch_start.elapsed().as_secs_f64() });
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
    fn variables(&self) -> Vec<Tensor> {
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.into_iter().map(|(_, v)| v).collect()
    }

    fn snapshot(&self) -> Result<Vec<Tensor>> {
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

    fn restore(&self, saved: &[Tensor]) -> Result<()> {
        tch::no_grad(|| {
            for (mut v, s) in self.variables().into_iter().zip(saved) {
                v.f_copy_(s)?;
            }
            Ok(())
        })
        .map_err(torch("restoring the best weights"))
    }

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

    /// The most probable end label of each item (always a feasible one).
    ///
    /// # Errors
    /// Features of another width ([`EndModelError::ShapeMismatch`]) or with non-finite values.
    pub fn predict<'a>(&self, features: impl Into<Features<'a>>) -> crate::Result<Vec<usize>> {
        Ok(self.predict_inner(features.into())?)
    }

    fn predict_inner(&self, features: Features<'_>) -> Result<Vec<usize>> {
        let (_, end) = self.forward_all(features)?;
        Ok(end
            .outer_iter()
            .map(|row| {
                row.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (k, &p)| if p > b.1 { (k, p) } else { b }).0
            })
            .collect())
    }

    /// Per-task and end-label distributions of each item.
    ///
    /// # Errors
    /// Features of another width ([`EndModelError::ShapeMismatch`]) or with non-finite values.
    pub fn predict_proba<'a>(&self, features: impl Into<Features<'a>>) -> crate::Result<Predictions> {
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
    fn forward_all(&self, features: Features<'_>) -> Result<Distributions> {
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

    /// Saves the model into directory `dir` (created if missing): `model.json` (config, task
    /// graph, featurizer) and `weights.safetensors`.
    ///
    /// # Errors
    /// [`EndModelError::ModelFile`] when a file cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> crate::Result<()> {
        let dir = dir.as_ref();
        let file_err = |path: PathBuf, message: String| EndModelError::ModelFile { path, message };
        std::fs::create_dir_all(dir).map_err(|e| file_err(dir.to_owned(), e.to_string()))?;
        let saved = SavedModel {
            format: FORMAT.into(),
            version: 1,
            config: self.config.clone(),
            graph: (*self.graph).clone(),
            n_features: self.n_features,
            featurizer: self.featurizer.clone(),
        };
        let json_path = dir.join(CONFIG_FILE);
        let json = serde_json::to_string_pretty(&saved).map_err(|e| file_err(json_path.clone(), e.to_string()))?;
        std::fs::write(&json_path, json).map_err(|e| file_err(json_path, e.to_string()))?;
        let weights = dir.join(WEIGHTS_FILE);
        self.vs.save(&weights).map_err(|e| file_err(weights, e.to_string()))?;
        Ok(())
    }

    /// Loads a model saved by [`save`](Self::save) onto `device`. Reads data only (JSON and
    /// safetensors); no code is executed.
    ///
    /// # Errors
    /// [`EndModelError::ModelFile`] for a missing, unreadable or corrupt file; the config errors
    /// of [`EndModelConfig::check`]; [`EndModelError::MissingTensor`],
    /// [`EndModelError::UnexpectedTensor`] and [`EndModelError::TensorShape`] for weights that do
    /// not fit the saved architecture. Models with a custom input module load with
    /// [`load_with_input`](Self::load_with_input).
    pub fn load(dir: impl AsRef<Path>, device: Device) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let saved = read_saved(dir)?;
        if let InputConfig::Custom { .. } = saved.config.input {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: "Custom".into(),
                expected: "a built-in input module (load custom ones with `load_with_modules`)",
            }
            .into());
        }
        if saved.config.custom_layers {
            return Err(EndModelError::InvalidConfig {
                name: "custom_layers",
                value: "true".into(),
                expected: "built-in layers (load user layers with `load_with_modules`)",
            }
            .into());
        }
        let mut model = Self::new_on(Arc::new(saved.graph), saved.n_features, saved.config, device)?;
        model.featurizer = saved.featurizer;
        model.load_weights(&dir.join(WEIGHTS_FILE))?;
        Ok(model)
    }

    /// Loads a model with a custom input module, rebuilt by `build` (as for
    /// [`with_input`](Self::with_input)).
    ///
    /// # Errors
    /// As for [`load_with_modules`](Self::load_with_modules).
    pub fn load_with_input(
        dir: impl AsRef<Path>,
        device: Device,
        build: impl FnOnce(&nn::Path<'_>) -> Result<Box<dyn InputModule>, TchError>,
    ) -> crate::Result<Self> {
        Self::load_with_modules(dir, device, Modules::new().input(build))
    }

    /// Loads a model built with user modules, rebuilt by `modules` (as for
    /// [`with_modules`](Self::with_modules)): the modules replaced must be the ones the saved
    /// model replaced.
    ///
    /// # Errors
    /// As for [`load`](Self::load), and [`EndModelError::InvalidConfig`] when the saved model's
    /// custom input or layers do not match those of `modules`.
    pub fn load_with_modules(dir: impl AsRef<Path>, device: Device, modules: Modules<'_>) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let saved = read_saved(dir)?;
        let custom_input = matches!(saved.config.input, InputConfig::Custom { .. });
        if custom_input != modules.input.is_some() {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: format!("{:?}", saved.config.input),
                expected: if custom_input {
                    "a user input module to rebuild the saved one (`Modules::input`)"
                } else {
                    "no user input module: the saved model uses a built-in one"
                },
            }
            .into());
        }
        if saved.config.custom_layers != modules.layers.is_some() {
            return Err(EndModelError::InvalidConfig {
                name: "custom_layers",
                value: saved.config.custom_layers.to_string(),
                expected: if saved.config.custom_layers {
                    "user layers to rebuild the saved ones (`Modules::layers`)"
                } else {
                    "no user layers: the saved model uses the built-in ones"
                },
            }
            .into());
        }
        let mut model = Self::with_modules(Arc::new(saved.graph), saved.n_features, saved.config, device, modules)?;
        model.featurizer = saved.featurizer;
        model.load_weights(&dir.join(WEIGHTS_FILE))?;
        Ok(model)
    }

    /// [`load`](Self::load), checking that the model was trained for `graph`.
    ///
    /// # Errors
    /// As for [`load`](Self::load), and [`EndModelError::SchemaMismatch`] for another graph.
    pub fn load_for(dir: impl AsRef<Path>, graph: &TaskGraph, device: Device) -> crate::Result<Self> {
        let model = Self::load(dir, device)?;
        if &*model.graph != graph {
            let names = |g: &TaskGraph| g.tasks().iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
            return Err(EndModelError::SchemaMismatch {
                what: format!("the saved model has tasks [{}], expected [{}]", names(&model.graph), names(graph)),
            }
            .into());
        }
        Ok(model)
    }

    fn load_weights(&mut self, path: &Path) -> Result<()> {
        let file_err = |message: String| EndModelError::ModelFile { path: path.to_owned(), message };
        let tensors: HashMap<String, Tensor> =
            Tensor::read_safetensors(path).map_err(|e| file_err(e.to_string()))?.into_iter().collect();
        let vars = self.vs.variables();
        if let Some(name) = tensors.keys().filter(|k| !vars.contains_key(*k)).min() {
            return Err(EndModelError::UnexpectedTensor { path: path.to_owned(), name: name.clone() });
        }
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        for name in names {
            let var = &vars[name];
            let Some(src) = tensors.get(name) else {
                return Err(EndModelError::MissingTensor { path: path.to_owned(), name: name.clone() });
            };
            if src.size() != var.size() {
                return Err(EndModelError::TensorShape {
                    path: path.to_owned(),
                    name: name.clone(),
                    expected: var.size(),
                    got: src.size(),
                });
            }
        }
        tch::no_grad(|| -> Result<(), TchError> {
            for (name, var) in &vars {
                let src = tensors[name].f_to_kind(var.kind())?.f_to_device(var.device())?;
                var.shallow_clone().f_copy_(&src)?;
            }
            Ok(())
        })
        .map_err(|e| file_err(e.to_string()))
    }
}

fn read_saved(dir: &Path) -> Result<SavedModel> {
    let path = dir.join(CONFIG_FILE);
    let file_err = |message: String| EndModelError::ModelFile { path: path.clone(), message };
    let text = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
    let saved: SavedModel = serde_json::from_str(&text).map_err(|e| file_err(e.to_string()))?;
    if saved.format != FORMAT || saved.version != 1 {
        return Err(file_err(format!(
            "not a saved end model (format `{}` version {}; expected `{FORMAT}` version 1)",
            saved.format, saved.version
        )));
    }
    if let Some(f) = &saved.featurizer {
        if f.n_features() != saved.n_features {
            return Err(file_err(format!(
                "the featurizer has {} words but the model reads {} features",
                f.n_features(),
                saved.n_features
            )));
        }
    }
    Ok(saved)
}

fn check_gold(dev: &DevSet<'_>, n_features: usize, n_labels: usize) -> Result<()> {
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

/// An f64 matrix as an f32 tensor on `device`.
fn to_tensor(a: ArrayView2<'_, f64>, device: Device) -> Result<Tensor> {
    let values: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    Tensor::from_slice(&values)
        .f_view([a.nrows() as i64, a.ncols() as i64])
        .and_then(|t| t.f_to_device(device))
        .map_err(torch("copying labels to the device"))
}

/// A tensor's values in row-major order, as f64, on the CPU.
fn to_vec(t: &Tensor) -> Result<Vec<f64>, TchError> {
    Vec::<f64>::try_from(&t.f_to_kind(Kind::Double)?.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?)
}

/// The C × K matrix with a 1 at (column of task t's label y_t, end label k) for every task on end
/// label k's path; C counts the task columns in order (with ∅ columns, which no path uses).
fn path_matrix(graph: &TaskGraph, device: Device) -> Result<Tensor, TchError> {
    let root = graph.root();
    let mut offsets = Vec::with_capacity(graph.n_tasks());
    let mut c = 0;
    for t in 0..graph.n_tasks() {
        offsets.push(c);
        c += graph.cardinality(t) + usize::from(t != root);
    }
    let k = graph.n_end_labels();
    let mut m = vec![0f32; c * k];
    for (e, feasible) in graph.feasible_set().iter().enumerate() {
        for (t, y) in feasible.iter().enumerate() {
            if let Some(y) = y {
                m[(offsets[t] + usize::from(*y)) * k + e] = 1.0;
            }
        }
    }
    Tensor::from_slice(&m).f_view([c as i64, k as i64])?.f_to_device(device)
}

#[cfg(test)]
mod tests;
