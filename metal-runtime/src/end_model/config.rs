//! The network's and the training's settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Result;
use crate::error::EndModelError;
use crate::schema::TaskGraph;

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
    /// The mean of word vectors over each item's word counts (a bag of embeddings, `dim` wide, no
    /// bias or activation), read from sparse features such as the bag of words. The vectors start
    /// at zero; [`EndModel::set_word_vectors`] copies pretrained ones (GloVe,
    /// [`crate::encoder::WordVectors`]) into the rows of the words it knows. `trainable`: whether
    /// training updates them (lazy Adam, as the bag of words) or leaves them as they are.
    WordVectors {
        /// Output width D₀ (the vectors' width, 50 for GloVe 6B 50d).
        dim: usize,
        /// Whether training updates the vectors.
        trainable: bool,
    },
    /// A pretrained sentence encoder (BERT with mean pooling, e.g. all-MiniLM-L6-v2), fine-tuned
    /// with the network; it reads token ids ([`Features::Tokens`], from [`EndModel::tokenize`]).
    /// `n_features` is the model's vocabulary size. Its weights train at
    /// [`TrainConfig::encoder_lr`].
    Encoder {
        /// The sentence-transformers folder ([`crate::encoder::minilm_dir`] for all-MiniLM-L6-v2).
        dir: PathBuf,
    },
    /// Per-token vectors (the frozen token states of a pretrained encoder,
    /// [`crate::encoder::SentenceEncoder::encode_tokens`], read as [`Features::States`](super::Features::States))
    /// → a linear layer shared by all tokens + ReLU → the maximum over each item's tokens, `dim`
    /// wide. Each output is a learned detector of what a token says in its context (a finding
    /// stated or denied, a question word's role), which an average over the text blurs.
    /// `n_features` is the vectors' width.
    TokenStates {
        /// Output width D₀.
        dim: usize,
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

/// The paper's network as HierMTL ([`EndModelConfig::paper`]): a sparse bag-of-words layer of 250
/// over word counts, a ReLU layer of 50, no dropout, seed 0. Over dense features it reads each
/// row's nonzero entries the same way.
impl Default for EndModelConfig {
    fn default() -> Self {
        EndModelConfig {
            architecture: Architecture::hier(),
            input: InputConfig::BagOfWords { dim: 250 },
            layers: vec![50],
            dropout: 0.0,
            head_layers: None,
            seed: 0,
            custom_layers: false,
        }
    }
}

impl EndModelConfig {
    /// The paper's network (§4): word counts → a sparse bag-of-words layer of 250 → a ReLU layer
    /// of 50 → the task heads, wired as `architecture`. Its input is sparse word counts
    /// ([`Featurizer`](crate::featurize::Featurizer)).
    pub fn paper(architecture: Architecture) -> Self {
        EndModelConfig { architecture, ..EndModelConfig::default() }
    }

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
        if let InputConfig::BagOfWords { dim: 0 }
        | InputConfig::Custom { dim: 0 }
        | InputConfig::WordVectors { dim: 0, .. }
        | InputConfig::TokenStates { dim: 0 } = self.input
        {
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
