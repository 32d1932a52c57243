//! The building blocks of the multi-task network: input modules, the intermediate stack and the
//! task heads, wired from the task graph.

use rand::Rng;
use tch::{nn, Kind, TchError, Tensor};

use super::{Architecture, EndModelConfig, HierDirection, InputConfig};
use crate::schema::TaskGraph;

/// A mini-batch of inputs on the model's device.
#[derive(Debug)]
#[non_exhaustive]
pub enum InputBatch {
    /// b × D dense rows (f32).
    Dense(Tensor),
    /// b sparse rows in the layout of [`Tensor::embedding_bag`]: the feature indices of all rows
    /// (i64), the offset of each row's first entry (i64, one per row) and one weight per index (f32).
    Sparse {
        /// Feature indices, all rows concatenated.
        indices: Tensor,
        /// Start of each row in `indices`.
        offsets: Tensor,
        /// The value of each entry.
        weights: Tensor,
    },
    /// b texts as token ids, padded to the longest: ids and mask are b × L (i64; mask 1 on tokens).
    Tokens {
        /// Token ids (0 on padding).
        ids: Tensor,
        /// 1 on tokens, 0 on padding.
        mask: Tensor,
    },
    /// b items as per-token vectors, packed without padding: the T tokens of all items, item
    /// after item, as a T × D f32 matrix, and the batch row (item) of each (T i64).
    States {
        /// Token vectors, all items' concatenated.
        states: Tensor,
        /// The batch row of each token, in 0..`rows`.
        row: Tensor,
        /// The number of items b.
        rows: i64,
    },
}

/// Maps a batch of raw inputs to a b × D₀ representation (paper §4, "input module").
///
/// Implement it with any tch module to plug a custom input into
/// [`EndModel::with_input`](super::EndModel::with_input); its parameters must live under the
/// [`nn::Path`] it is built with, so that they are trained and saved with the rest.
pub trait InputModule: Send {
    /// The output width D₀.
    fn out_dim(&self) -> usize;
    /// Whether the module reads sparse batches ([`InputBatch::Sparse`]); dense batches otherwise.
    fn wants_sparse(&self) -> bool {
        false
    }
    /// The b × D₀ output; `train` is true during training (for dropout and similar).
    fn forward_t(&self, x: &InputBatch, train: bool) -> Result<Tensor, TchError>;
    /// Parameters whose gradients are sparse (from [`Tensor::embedding_bag`] or
    /// [`Tensor::embedding`] with `sparse = true`), which training updates with lazy Adam (only
    /// the rows a batch touches) instead of Adam. They must require gradients and must not be
    /// among the var store's trainable variables (create them with
    /// [`nn::Path::zeros_no_train`], then [`Tensor::set_requires_grad`]), so that they are saved
    /// and loaded with the rest but left out of the dense optimizer. None by default.
    fn sparse_parameters(&self) -> Vec<Tensor> {
        Vec::new()
    }
}

/// One layer of the intermediate stack (paper §4, "intermediate modules"): b × d_in → b × d_out.
///
/// The built-in layer is linear + ReLU (+ dropout). Implement this trait with any tch module to
/// replace it: [`EndModel::with_layers`](super::EndModel::with_layers) builds layer `i` from its
/// input and output widths, and the module's parameters must live under the [`nn::Path`] it is
/// built with, so that they are trained and saved with the rest.
pub trait HiddenModule: Send {
    /// The output width (must be the configured width of the layer).
    fn out_dim(&self) -> usize;
    /// The b × d_out output; `train` is true during training (for dropout and similar).
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError>;
}

/// Builds intermediate layer `i` under `path`, from `d_in` to `d_out` features:
/// `(path, i, d_in, d_out)`.
pub type LayerBuilder<'a> =
    dyn FnMut(&nn::Path<'_>, usize, usize, usize) -> Result<Box<dyn HiddenModule>, TchError> + 'a;

/// The built-in intermediate layer: linear, ReLU, then dropout with probability `dropout` in
/// training.
#[derive(Debug)]
struct ReluLayer {
    linear: Linear,
    dropout: f64,
}

impl HiddenModule for ReluLayer {
    fn out_dim(&self) -> usize {
        self.linear.bias.size()[0] as usize
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let h = self.linear.forward(x)?.f_relu()?;
        if self.dropout > 0.0 {
            h.f_dropout(self.dropout, train)
        } else {
            Ok(h)
        }
    }
}

/// The identity over dense features: D₀ = V. Sparse features are densified one batch at a time.
#[derive(Debug)]
pub struct IdentityInput {
    dim: usize,
}

impl IdentityInput {
    /// The identity over `dim` features.
    pub fn new(dim: usize) -> Self {
        IdentityInput { dim }
    }
}

impl InputModule for IdentityInput {
    fn out_dim(&self) -> usize {
        self.dim
    }
    fn forward_t(&self, x: &InputBatch, _train: bool) -> Result<Tensor, TchError> {
        match x {
            InputBatch::Dense(t) => Ok(t.shallow_clone()),
            _ => Err(TchError::Kind("the identity input reads dense batches".into())),
        }
    }
}

/// A linear layer over sparse bag-of-words rows: `x W + b` computed as the weighted sum of the rows
/// of `W` (V × D) named by the row's feature indices ([`Tensor::embedding_bag`] in sum mode), so that
/// no n × V matrix is ever formed. Followed by a ReLU.
///
/// `W`'s gradient is sparse (the rows of the batch's words only), and training updates `W` with
/// lazy Adam ([`InputModule::sparse_parameters`]), so a step costs in proportion to the words of
/// the batch, not to the vocabulary.
#[derive(Debug)]
pub struct BagOfWords {
    weight: Tensor,
    bias: Tensor,
}

impl BagOfWords {
    /// A V × `dim` layer under `path`, initialized uniformly in ±1/√V from `rng`.
    pub fn new(path: &nn::Path<'_>, n_features: usize, dim: usize, rng: &mut impl Rng) -> Result<Self, TchError> {
        let bound = 1.0 / (n_features as f64).sqrt();
        let dims = [n_features as i64, dim as i64];
        let mut weight = path.f_zeros_no_train("weight", &dims)?;
        let init = uniform(&dims, bound, rng)?.f_to_device(path.device())?;
        tch::no_grad(|| weight.f_copy_(&init))?;
        let weight = weight.set_requires_grad(true);
        Ok(BagOfWords { weight, bias: uniform_var(path, "bias", &[dim as i64], bound, rng)? })
    }
}

impl InputModule for BagOfWords {
    fn out_dim(&self) -> usize {
        self.bias.size()[0] as usize
    }
    fn wants_sparse(&self) -> bool {
        true
    }
    fn forward_t(&self, x: &InputBatch, _train: bool) -> Result<Tensor, TchError> {
        counts_times(&self.weight, x, true, "bag-of-words")?.f_add(&self.bias)?.f_relu()
    }
    fn sparse_parameters(&self) -> Vec<Tensor> {
        vec![self.weight.shallow_clone()]
    }
}

/// The batch's word counts (n × V, sparse or dense) times `table` (V × D): the sum of the table's
/// rows weighted by the counts, with a sparse gradient for `table` when `sparse_grad`. `input`
/// names the module in the error for a batch of token ids.
fn counts_times(table: &Tensor, x: &InputBatch, sparse_grad: bool, input: &str) -> Result<Tensor, TchError> {
    match x {
        InputBatch::Sparse { indices, offsets, weights } => {
            Ok(Tensor::f_embedding_bag(table, indices, offsets, false, 0, sparse_grad, Some(weights), false)?.0)
        }
        InputBatch::Dense(t) => t.f_matmul(table),
        InputBatch::Tokens { .. } | InputBatch::States { .. } => {
            Err(TchError::Kind(format!("the {input} input reads word counts, not tokens")))
        }
    }
}

/// The count-weighted mean of word vectors ([`InputConfig::WordVectors`]): for a row with counts
/// `c_j` of words `j`, `Σ c_j e_j / Σ c_j` over the rows `e_j` of the V × D table (zero for an
/// empty row), computed with [`Tensor::embedding_bag`] so that no n × V matrix is formed. The
/// table starts at zero ([`EndModel::set_word_vectors`](super::EndModel::set_word_vectors) fills
/// it); when trainable, its gradient is sparse and lazy Adam updates it.
#[derive(Debug)]
pub struct WordVectorBag {
    weight: Tensor,
    /// V × 1 ones: the same bag over them gives each row's count total.
    ones: Tensor,
    trainable: bool,
}

impl WordVectorBag {
    /// A V × `dim` table of zeros under `path`.
    pub fn new(path: &nn::Path<'_>, n_features: usize, dim: usize, trainable: bool) -> Result<Self, TchError> {
        let weight = path.f_zeros_no_train("weight", &[n_features as i64, dim as i64])?;
        let weight = if trainable { weight.set_requires_grad(true) } else { weight };
        let ones = Tensor::f_ones([n_features as i64, 1], (Kind::Float, path.device()))?;
        Ok(WordVectorBag { weight, ones, trainable })
    }
}

impl InputModule for WordVectorBag {
    fn out_dim(&self) -> usize {
        self.weight.size()[1] as usize
    }
    fn wants_sparse(&self) -> bool {
        true
    }
    fn forward_t(&self, x: &InputBatch, _train: bool) -> Result<Tensor, TchError> {
        let sum = counts_times(&self.weight, x, self.trainable, "word-vector")?;
        let total = counts_times(&self.ones, x, false, "word-vector")?;
        // An empty row has sum 0 and total 0: dividing by the clamped total keeps it 0.
        sum.f_div(&total.f_clamp_min(1e-12)?)
    }
    fn sparse_parameters(&self) -> Vec<Tensor> {
        if self.trainable {
            vec![self.weight.shallow_clone()]
        } else {
            Vec::new()
        }
    }
}

/// A dense layer `x W + b`, W stored in × out.
#[derive(Debug)]
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(path: &nn::Path<'_>, d_in: usize, d_out: usize, rng: &mut impl Rng) -> Result<Self, TchError> {
        let bound = 1.0 / (d_in.max(1) as f64).sqrt();
        Ok(Linear {
            weight: uniform_var(path, "weight", &[d_in as i64, d_out as i64], bound, rng)?,
            bias: uniform_var(path, "bias", &[d_out as i64], bound, rng)?,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_matmul(&self.weight)?.f_add(&self.bias)
    }
}

/// A trainable variable drawn uniformly in ±`bound` from `rng` (not from libtorch's global
/// generator, so that models built in parallel stay reproducible).
fn uniform_var(
    path: &nn::Path<'_>,
    name: &str,
    dims: &[i64],
    bound: f64,
    rng: &mut impl Rng,
) -> Result<Tensor, TchError> {
    path.f_var_copy(name, &uniform(dims, bound, rng)?)
}

/// A CPU tensor of shape `dims` drawn uniformly in ±`bound` from `rng`.
fn uniform(dims: &[i64], bound: f64, rng: &mut impl Rng) -> Result<Tensor, TchError> {
    let n: i64 = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.gen_range(-bound..=bound) as f32).collect();
    Tensor::from_slice(&values).f_view(dims)
}

/// One task head: where it reads from and what it adds to its input.
#[derive(Debug)]
struct Head {
    /// Output slot (the task; 0 for SingleTask's single head).
    slot: usize,
    /// 0: the input module's output; i ≥ 1: the output of intermediate layer i.
    layer: usize,
    /// Slots whose outputs are appended to the head's input.
    extra: Vec<usize>,
    linear: Linear,
}

/// The multi-task network compiled from a task graph (paper §4): an input module, a stack of
/// linear + ReLU layers, and one linear head per task.
///
/// [`forward_t`](Self::forward_t) returns one logit tensor per output slot: per task (k_t
/// columns for the root, k_t + 1 with ∅ last for other tasks), or a single b × K tensor for
/// [`Architecture::SingleTask`].
pub struct MultiTaskNet {
    input: Box<dyn InputModule>,
    layers: Vec<Box<dyn HiddenModule>>,
    /// In evaluation order.
    heads: Vec<Head>,
    n_slots: usize,
}

impl std::fmt::Debug for MultiTaskNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiTaskNet")
            .field("input_dim", &self.input.out_dim())
            .field("layers", &self.layers.len())
            .field("heads", &self.heads)
            .finish()
    }
}

/// The 1-based layer each task's head reads from, per the architecture (validated config).
pub(super) fn head_layers(graph: &TaskGraph, config: &EndModelConfig) -> Vec<usize> {
    let n_layers = config.layers.len();
    if let Some(layers) = &config.head_layers {
        return layers.clone();
    }
    (0..graph.n_tasks())
        .map(|t| match config.architecture {
            Architecture::HierMtl { .. } => n_layers - graph.depth(t),
            _ => n_layers,
        })
        .collect()
}

impl MultiTaskNet {
    /// The input module.
    pub fn input_module(&self) -> &dyn InputModule {
        self.input.as_ref()
    }

    /// Builds the network under `path` for `graph`, reading the input through `input`, with the
    /// built-in intermediate layers or those of `custom_layers`. `config` must have passed
    /// [`EndModelConfig::check`].
    pub fn build(
        path: &nn::Path<'_>,
        graph: &TaskGraph,
        config: &EndModelConfig,
        input: Box<dyn InputModule>,
        mut custom_layers: Option<&mut LayerBuilder<'_>>,
        rng: &mut impl Rng,
    ) -> Result<Self, TchError> {
        let mut widths = vec![input.out_dim()];
        widths.extend(config.layers.iter().copied());
        let mut layers: Vec<Box<dyn HiddenModule>> = Vec::with_capacity(config.layers.len());
        for i in 0..config.layers.len() {
            let layer_path = path / "layers" / i;
            let layer = match custom_layers.as_deref_mut() {
                Some(build) => build(&layer_path, i, widths[i], widths[i + 1])?,
                None => Box::new(ReluLayer {
                    linear: Linear::new(&layer_path, widths[i], widths[i + 1], rng)?,
                    dropout: config.dropout,
                }),
            };
            if layer.out_dim() != widths[i + 1] {
                return Err(TchError::Kind(format!(
                    "intermediate layer {} has {} outputs, the config says {}",
                    i + 1,
                    layer.out_dim(),
                    widths[i + 1]
                )));
            }
            layers.push(layer);
        }
        let root = graph.root();
        let n_out = |t: usize| graph.cardinality(t) + usize::from(t != root);
        let mut heads = Vec::new();
        let n_slots = match config.architecture {
            Architecture::SingleTask => {
                let top = config.layers.len();
                let linear = Linear::new(&(path / "heads" / 0), widths[top], graph.n_end_labels(), rng)?;
                heads.push(Head { slot: 0, layer: top, extra: Vec::new(), linear });
                1
            }
            Architecture::FlatMtl | Architecture::HierMtl { .. } => {
                let at = head_layers(graph, config);
                let mut order: Vec<usize> = (0..graph.n_tasks()).collect();
                let extra_of = |t: usize| -> Vec<usize> {
                    match config.architecture {
                        Architecture::HierMtl { direction: HierDirection::ChildToParent } => {
                            graph.children(t).collect()
                        }
                        Architecture::HierMtl { direction: HierDirection::ParentToChild } => {
                            graph.task(t).parent.map(|p| p.task).into_iter().collect()
                        }
                        _ => Vec::new(),
                    }
                };
                match config.architecture {
                    Architecture::HierMtl { direction: HierDirection::ChildToParent } => {
                        order.sort_by_key(|&t| std::cmp::Reverse(graph.depth(t)))
                    }
                    _ => order.sort_by_key(|&t| graph.depth(t)),
                }
                for t in order {
                    let extra = extra_of(t);
                    let d_in = widths[at[t]] + extra.iter().map(|&e| n_out(e)).sum::<usize>();
                    let linear = Linear::new(&(path / "heads" / t), d_in, n_out(t), rng)?;
                    heads.push(Head { slot: t, layer: at[t], extra, linear });
                }
                graph.n_tasks()
            }
        };
        Ok(MultiTaskNet { input, layers, heads, n_slots })
    }

    /// Whether batches must be sparse ([`InputModule::wants_sparse`]).
    pub fn wants_sparse(&self) -> bool {
        self.input.wants_sparse()
    }

    /// The parameters trained with lazy Adam ([`InputModule::sparse_parameters`]).
    pub fn sparse_parameters(&self) -> Vec<Tensor> {
        self.input.sparse_parameters()
    }

    /// The logits of every output slot for a batch.
    pub fn forward_t(&self, x: &InputBatch, train: bool) -> Result<Vec<Tensor>, TchError> {
        let mut hidden = vec![self.input.forward_t(x, train)?];
        for layer in &self.layers {
            let h = layer.forward_t(&hidden[hidden.len() - 1], train)?;
            hidden.push(h);
        }
        let mut outputs: Vec<Option<Tensor>> = (0..self.n_slots).map(|_| None).collect();
        for head in &self.heads {
            let base = &hidden[head.layer];
            let out = if head.extra.is_empty() {
                head.linear.forward(base)?
            } else {
                let mut parts = vec![base.shallow_clone()];
                for &e in &head.extra {
                    let Some(o) = &outputs[e] else {
                        return Err(TchError::Kind("a head's input was not computed before it".into()));
                    };
                    parts.push(o.shallow_clone());
                }
                head.linear.forward(&Tensor::f_cat(&parts, 1)?)?
            };
            outputs[head.slot] = Some(out);
        }
        outputs
            .into_iter()
            .map(|o| o.ok_or_else(|| TchError::Kind("a task has no head".into())))
            .collect::<Result<Vec<_>, _>>()
    }
}

/// The built-in input module for `config`.
pub(super) fn builtin_input(
    path: &nn::Path<'_>,
    input: &InputConfig,
    n_features: usize,
    rng: &mut impl Rng,
) -> Result<Box<dyn InputModule>, TchError> {
    Ok(match *input {
        InputConfig::Identity => Box::new(IdentityInput::new(n_features)),
        InputConfig::BagOfWords { dim } => Box::new(BagOfWords::new(&(path / "input"), n_features, dim, rng)?),
        InputConfig::WordVectors { dim, trainable } => {
            Box::new(WordVectorBag::new(&(path / "input"), n_features, dim, trainable)?)
        }
        InputConfig::Encoder { ref dir } => {
            // Group 1: the optimizer gives the pretrained weights their own learning rate.
            let files = crate::encoder::ModelFiles::read(dir).map_err(|e| TchError::Kind(e.to_string()))?;
            let bert = files.build(&(path / "input").set_group(1)).map_err(|e| TchError::Kind(e.to_string()))?;
            Box::new(EncoderInput { bert, dim: files.dim() })
        }
        InputConfig::TokenStates { dim } => {
            Box::new(TokenMaxPool { linear: Linear::new(&(path / "input"), n_features, dim, rng)? })
        }
        InputConfig::Custom { .. } => {
            return Err(TchError::Kind("a custom input module must be passed to `with_input`".into()))
        }
    })
}

/// Per-token vectors → linear + ReLU on each token → the maximum over the item's tokens
/// ([`InputConfig::TokenStates`]). The tokens come packed, so the work is proportional to the
/// batch's tokens, not to its longest item times its size; an item without tokens gives zeros
/// (the maximum starts at zero, which no ReLU output is below).
#[derive(Debug)]
pub(super) struct TokenMaxPool {
    linear: Linear,
}

impl InputModule for TokenMaxPool {
    fn out_dim(&self) -> usize {
        self.linear.bias.size()[0] as usize
    }
    fn forward_t(&self, x: &InputBatch, _train: bool) -> Result<Tensor, TchError> {
        let InputBatch::States { states, row, rows } = x else {
            return Err(TchError::Kind("the token-states input reads per-token vectors (`Features::States`)".into()));
        };
        let h = self.linear.forward(states)?.f_relu()?;
        let (tokens, dim) = h.size2()?;
        let index = row.f_unsqueeze(1)?.f_expand([tokens, dim], false)?;
        // libtorch's scatter_reduce (with include_self), which tch names `internal_scatter_reduce`.
        Tensor::f_zeros([*rows, dim], (h.kind(), h.device()))?.f_internal_scatter_reduce(0, &index, &h, "amax", true)
    }
}

/// A pretrained sentence encoder as the input module, fine-tuned with the rest of the network:
/// token ids → mean-pooled token states. Unlike [`SentenceEncoder`](crate::encoder::SentenceEncoder)
/// embeddings they are not L2-normalized, whatever the model folder says: unit-length rows
/// (entries near 1/√384 for all-MiniLM-L6-v2) leave the freshly initialized layers above them
/// at a scale that a few epochs of fine-tuning do not escape.
#[derive(Debug)]
pub(super) struct EncoderInput {
    bert: crate::encoder::Bert,
    dim: usize,
}

impl InputModule for EncoderInput {
    fn out_dim(&self) -> usize {
        self.dim
    }
    fn forward_t(&self, x: &InputBatch, train: bool) -> Result<Tensor, TchError> {
        let InputBatch::Tokens { ids, mask } = x else {
            return Err(TchError::Kind("the encoder input reads token ids (`Features::Tokens`)".into()));
        };
        self.bert.forward_t(ids, mask, train)
    }
}

/// Sum over tasks of the soft cross-entropy of `logits` against `targets` (both b × c per slot),
/// weighted per slot.
pub(super) fn soft_cross_entropy(logits: &[Tensor], targets: &[Tensor], weights: &[f64]) -> Result<Tensor, TchError> {
    let mut total: Option<Tensor> = None;
    for ((z, y), &w) in logits.iter().zip(targets).zip(weights) {
        let logp = z.f_log_softmax(1, Kind::Float)?;
        let per_item = y.f_mul(&logp)?.f_sum_dim_intlist(1, false, Kind::Float)?;
        let loss = per_item.f_mean(Kind::Float)?.f_mul_scalar(-w)?;
        total = Some(match total {
            None => loss,
            Some(t) => t.f_add(&loss)?,
        });
    }
    total.ok_or_else(|| TchError::Kind("no task to train".into()))
}
