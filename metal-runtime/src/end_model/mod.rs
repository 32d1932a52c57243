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
//! let predicted = model.predict(&x_dev, 0)?; // end-label indices, always feasible; ties by seed 0
//! model.set_featurizer(featurizer);
//! model.save("model-dir")?;
//! # Ok(()) }
//! ```

mod config;
mod data;
mod lazy_adam;
mod modules;
mod net;
mod persist;
mod predict;
pub mod select;
mod train;

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tch::{nn, Device, TchError, Tensor};

pub use net::{
    BagOfWords, HiddenModule, IdentityInput, InputBatch, InputModule, LayerBuilder, MultiTaskNet, WordVectorBag,
};

use crate::error::EndModelError;
use crate::featurize::Featurizer;
use crate::schema::TaskGraph;

type Result<T, E = EndModelError> = std::result::Result<T, E>;

/// Wraps a libtorch error with what was being done.
fn torch(op: &'static str) -> impl FnOnce(TchError) -> EndModelError {
    move |e| EndModelError::Torch { op, message: e.to_string() }
}

pub use config::{Architecture, EndModelConfig, HierDirection, InputConfig, TrainConfig};
pub use data::{DevSet, FeatureSet, Features, TrainSet};
pub use modules::Modules;
pub use predict::Predictions;
pub use train::{EpochLog, TrainLog};

impl EndModelConfig {
    /// Builds the network for the schema of `train`'s labels over its features' width (on the
    /// default device) and trains it with `cfg`, choosing the epoch on `dev` when given: the end
    /// model's counterpart of [`LabelModel::fit`](crate::label_model::LabelModel::fit). The
    /// training log is [`EndModel::train_log`].
    ///
    /// ```no_run
    /// use metal_runtime::end_model::{Architecture, DevSet, EndModelConfig, TrainConfig, TrainSet};
    /// # fn run(x: &metal_runtime::featurize::SparseFeatures, x_dev: &metal_runtime::featurize::SparseFeatures,
    /// #        labels: &metal_runtime::label_model::ProbLabels, gold: &[usize]) -> metal_runtime::Result<()> {
    /// let model = EndModelConfig::paper(Architecture::hier()).fit(
    ///     &TrainSet::new(x, labels),
    ///     Some(&DevSet::new(x_dev, gold)),
    ///     &TrainConfig::default(),
    /// )?;
    /// let probs = model.predict_proba(x_dev)?; // ProbLabels, like a label model's
    /// let labels = model.predict(x_dev, 0)?; // ties broken with seed 0
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Those of [`EndModel::new`] and [`EndModel::train`].
    pub fn fit(&self, train: &TrainSet<'_>, dev: Option<&DevSet<'_>>, cfg: &TrainConfig) -> crate::Result<EndModel> {
        let mut model = EndModel::new(train.labels.graph_arc().clone(), train.features.n_features(), self.clone())?;
        model.train(train, dev, cfg)?;
        Ok(model)
    }
}

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
    /// The log of the last training run in this process.
    log: Option<TrainLog>,
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
        Ok(EndModel { vs, net, graph, config, n_features, featurizer: None, paths, encoder, log: None })
    }

    /// The log of the last [`train`](Self::train) of this model in this process (`None` for a
    /// model built or loaded and not trained since).
    pub fn train_log(&self) -> Option<&TrainLog> {
        self.log.as_ref()
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

    /// Copies pretrained word vectors into a [`InputConfig::WordVectors`] input: row j of its
    /// table becomes the vector of `vocabulary[j]` (the featurizer's words, in feature order), or
    /// zeros for a word `vectors` lacks. Returns how many words were found. Call it after
    /// building the model and before training; a saved model keeps its (trained) table, so a
    /// load needs no vectors.
    ///
    /// ```no_run
    /// use metal_runtime::encoder::WordVectors;
    /// use metal_runtime::end_model::{EndModel, EndModelConfig, InputConfig};
    /// use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
    /// # fn run(graph: std::sync::Arc<metal_runtime::schema::TaskGraph>, texts: &[String]) -> metal_runtime::Result<()> {
    /// let words = Featurizer::fit(texts, &FeaturizerConfig::default())?;
    /// let glove = WordVectors::glove()?; // vocab.txt + vectors.npy under the model cache
    /// let input = InputConfig::WordVectors { dim: glove.dim(), trainable: true };
    /// let config = EndModelConfig { input, layers: vec![250, 50], ..EndModelConfig::default() };
    /// let mut model = EndModel::new(graph, words.n_features(), config)?;
    /// let found = model.set_word_vectors(&glove, words.vocabulary())?;
    /// println!("{found} of {} words have a GloVe vector", words.n_features());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`EndModelError::InvalidConfig`] when the input is not word vectors;
    /// [`EndModelError::ShapeMismatch`] when `vocabulary` is not one word per feature or the
    /// vectors' width is not the input's.
    pub fn set_word_vectors(
        &mut self,
        vectors: &crate::encoder::WordVectors,
        vocabulary: &[String],
    ) -> crate::Result<usize> {
        let InputConfig::WordVectors { dim, .. } = self.config.input else {
            return Err(EndModelError::InvalidConfig {
                name: "input",
                value: format!("{:?}", self.config.input),
                expected: "a word-vector input (InputConfig::WordVectors) to fill",
            }
            .into());
        };
        if vocabulary.len() != self.n_features {
            let what = "vocabulary (one word per feature)";
            return Err(EndModelError::ShapeMismatch { what, expected: self.n_features, got: vocabulary.len() }.into());
        }
        if vectors.dim() != dim {
            let what = "word-vector width (the input's dim)";
            return Err(EndModelError::ShapeMismatch { what, expected: dim, got: vectors.dim() }.into());
        }
        let (rows, found) = vectors.rows_for(vocabulary);
        let values = rows.as_slice().ok_or(EndModelError::ShapeMismatch {
            what: "word-vector rows (contiguous)",
            expected: 0,
            got: 1,
        })?;
        let init = Tensor::from_slice(values)
            .f_view([self.n_features as i64, dim as i64])
            .map_err(torch("shaping the word vectors"))?;
        let mut weight = self.vs.variables().remove("input.weight").ok_or(EndModelError::Torch {
            op: "finding the word-vector table",
            message: "no variable `input.weight`".into(),
        })?;
        tch::no_grad(|| weight.f_copy_(&init)).map_err(torch("copying the word vectors"))?;
        Ok(found)
    }

    /// Attaches the featurizer that makes this model's inputs, so that it is saved with it.
    pub fn set_featurizer(&mut self, featurizer: Featurizer) {
        self.featurizer = Some(featurizer);
    }

    /// The attached featurizer.
    pub fn featurizer(&self) -> Option<&Featurizer> {
        self.featurizer.as_ref()
    }
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
