//! A BERT encoder (the architecture of all-MiniLM-L6-v2) on tch, with mean pooling.
//!
//! Parameter names follow the checkpoints that `transformers` writes (`embeddings.…`,
//! `encoder.layer.{i}.…`), so that a `model.safetensors` file loads by name.

use serde::Deserialize;
use tch::{nn, Kind, TchError, Tensor};

/// The fields of a BERT `config.json` the encoder reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct BertConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub(crate) type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub(crate) layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub(crate) hidden_act: String,
    #[serde(default = "default_dropout")]
    pub(crate) hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub(crate) attention_probs_dropout_prob: f64,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_dropout() -> f64 {
    0.1
}

impl BertConfig {
    /// What is wrong with the configuration, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.hidden_size == 0
            || self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Some(format!(
                "hidden_size {} is not a positive multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.vocab_size == 0 || self.max_position_embeddings == 0 || self.intermediate_size == 0 {
            return Some("vocab_size, max_position_embeddings and intermediate_size must be positive".into());
        }
        if !matches!(self.hidden_act.as_str(), "gelu" | "gelu_new" | "relu") {
            return Some(format!("hidden_act `{}` is not supported (gelu, gelu_new, relu)", self.hidden_act));
        }
        None
    }
}

/// Creates the encoder's variables under a root path and lists them by their name relative to it
/// (the name in a `model.safetensors` file).
struct Params<'a, 'p> {
    root: &'a nn::Path<'p>,
    list: Vec<(String, Tensor)>,
}

impl Params<'_, '_> {
    /// The variable `name` (dot-separated, relative to the root) of shape `dims`, zeros or ones.
    fn var(&mut self, name: &str, dims: &[usize], ones: bool) -> Result<Tensor, TchError> {
        let parts: Vec<&str> = name.split('.').collect();
        let (last, dirs) = parts.split_last().ok_or_else(|| TchError::Kind("empty parameter name".into()))?;
        let mut p = self.root.clone();
        for d in dirs {
            p = p.sub(*d);
        }
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let t = if ones { p.f_ones(last, &dims)? } else { p.f_zeros(last, &dims)? };
        self.list.push((name.to_owned(), t.shallow_clone()));
        Ok(t)
    }
}

/// A linear layer `x Wᵀ + b` with `W` stored out × in, as `transformers` stores it.
#[derive(Debug)]
struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn new(p: &mut Params<'_, '_>, name: &str, d_in: usize, d_out: usize) -> Result<Self, TchError> {
        Ok(Dense {
            weight: p.var(&format!("{name}.weight"), &[d_out, d_in], false)?,
            bias: p.var(&format!("{name}.bias"), &[d_out], false)?,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_linear(&self.weight, Some(&self.bias))
    }
}

#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn new(p: &mut Params<'_, '_>, name: &str, dim: usize, eps: f64) -> Result<Self, TchError> {
        Ok(LayerNorm {
            weight: p.var(&format!("{name}.weight"), &[dim], true)?,
            bias: p.var(&format!("{name}.bias"), &[dim], false)?,
            eps,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let dim = self.weight.size()[0];
        x.f_layer_norm([dim], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

#[derive(Debug)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    out: Dense,
    out_norm: LayerNorm,
}

/// The BERT encoder: embeddings, `num_hidden_layers` transformer layers, mean pooling.
#[derive(Debug)]
pub(crate) struct Bert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    config: BertConfig,
    /// Every parameter with its checkpoint name.
    params: Vec<(String, Tensor)>,
}

impl Bert {
    /// The parameters under `root`, zeros (layer-norm scales ones); weights are loaded afterwards.
    pub(crate) fn new(root: &nn::Path<'_>, c: &BertConfig) -> Result<Self, TchError> {
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let mut p = Params { root, list: Vec::new() };
        let word = p.var("embeddings.word_embeddings.weight", &[c.vocab_size, h], false)?;
        let position = p.var("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h], false)?;
        let token_type = p.var("embeddings.token_type_embeddings.weight", &[c.type_vocab_size.max(1), h], false)?;
        let embedding_norm = LayerNorm::new(&mut p, "embeddings.LayerNorm", h, eps)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: Dense::new(&mut p, &format!("{l}.attention.self.query"), h, h)?,
                key: Dense::new(&mut p, &format!("{l}.attention.self.key"), h, h)?,
                value: Dense::new(&mut p, &format!("{l}.attention.self.value"), h, h)?,
                attention_out: Dense::new(&mut p, &format!("{l}.attention.output.dense"), h, h)?,
                attention_norm: LayerNorm::new(&mut p, &format!("{l}.attention.output.LayerNorm"), h, eps)?,
                intermediate: Dense::new(&mut p, &format!("{l}.intermediate.dense"), h, c.intermediate_size)?,
                out: Dense::new(&mut p, &format!("{l}.output.dense"), c.intermediate_size, h)?,
                out_norm: LayerNorm::new(&mut p, &format!("{l}.output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Bert { word, position, token_type, embedding_norm, layers, config: c.clone(), params: p.list })
    }

    /// Every parameter with its checkpoint name (e.g. `encoder.layer.0.output.dense.weight`).
    pub(crate) fn named_parameters(&self) -> &[(String, Tensor)] {
        &self.params
    }

    fn activation(&self, x: &Tensor) -> Result<Tensor, TchError> {
        match self.config.hidden_act.as_str() {
            "gelu_new" => x.f_gelu("tanh"),
            "relu" => x.f_relu(),
            _ => x.f_gelu("none"),
        }
    }

    fn dropout(x: Tensor, p: f64, train: bool) -> Result<Tensor, TchError> {
        if train && p > 0.0 {
            x.f_dropout(p, true)
        } else {
            Ok(x)
        }
    }

    /// Mean-pooled token states of a padded batch: `ids` and `mask` are b × L (i64; mask 1 on
    /// tokens, 0 on padding). Returns b × hidden_size.
    pub(crate) fn forward_t(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let x = self.token_states(ids, mask, train)?;
        let m = mask.f_to_kind(x.kind())?.f_unsqueeze(-1)?;
        let sum = x.f_mul(&m)?.f_sum_dim_intlist([1i64].as_slice(), false, x.kind())?;
        let count = m.f_sum_dim_intlist([1i64].as_slice(), false, x.kind())?.f_clamp_min(1e-9)?;
        sum.f_div(&count)
    }

    /// The last layer's token states of a padded batch (b × L × hidden_size; rows on padding are
    /// not meaningful).
    pub(crate) fn token_states(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let c = &self.config;
        let (b, len) = ids.size2()?;
        let positions = Tensor::f_arange(len, (Kind::Int64, ids.device()))?;
        let x = Tensor::f_embedding(&self.word, ids, -1, false, false)?
            .f_add(&Tensor::f_embedding(&self.position, &positions, -1, false, false)?.f_unsqueeze(0)?)?
            .f_add(&self.token_type.f_get(0)?.f_view([1, 1, -1])?)?;
        let mut x = Self::dropout(self.embedding_norm.forward(&x)?, c.hidden_dropout_prob, train)?;
        let heads = c.num_attention_heads as i64;
        let head_dim = (c.hidden_size / c.num_attention_heads) as i64;
        // Additive mask: 0 on tokens, the most negative float on padding (b × 1 × 1 × L).
        let bias = mask
            .f_to_kind(x.kind())?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(f64::from(f32::MIN))?
            .f_view([b, 1, 1, len])?;
        let split = |t: Tensor| t.f_view([b, len, heads, head_dim])?.f_transpose(1, 2);
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let p = if train { c.attention_probs_dropout_prob } else { 0.0 };
            let a = Tensor::f_scaled_dot_product_attention(&q, &k, &v, Some(&bias), p, false, None::<f64>, false)?
                .f_transpose(1, 2)?
                .f_contiguous()?
                .f_view([b, len, c.hidden_size as i64])?;
            let a = Self::dropout(layer.attention_out.forward(&a)?, c.hidden_dropout_prob, train)?;
            x = layer.attention_norm.forward(&a.f_add(&x)?)?;
            let h = self.activation(&layer.intermediate.forward(&x)?)?;
            let h = Self::dropout(layer.out.forward(&h)?, c.hidden_dropout_prob, train)?;
            x = layer.out_norm.forward(&h.f_add(&x)?)?;
        }
        Ok(x)
    }
}
