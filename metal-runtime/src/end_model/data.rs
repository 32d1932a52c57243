//! Training and dev items: features (sparse, dense or token ids) and labels, and their batches.

use ndarray::{Array2, ArrayView2};
use tch::{Device, TchError, Tensor};

use super::{InputBatch, Result};
use crate::encoder::TokenStates;
use crate::error::EndModelError;
use crate::featurize::SparseFeatures;
use crate::label_model::ProbLabels;

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
    /// One vector per token of each item, for an [`InputConfig::TokenStates`] input
    /// ([`SentenceEncoder::encode_tokens`](crate::encoder::SentenceEncoder::encode_tokens)).
    States(&'a TokenStates),
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

/// Features of a set of items that own their data (e.g. a subset of another set's items, from
/// [`Features::select`]); [`features`](Self::features) borrows them as [`Features`].
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureSet {
    /// Sparse CSR rows.
    Sparse(SparseFeatures),
    /// Dense rows.
    Dense(Array2<f32>),
    /// Token ids per item and the vocabulary size.
    Tokens(Vec<Vec<u32>>, usize),
    /// One vector per token of each item.
    States(TokenStates),
}

impl FeatureSet {
    /// The features, borrowed.
    pub fn features(&self) -> Features<'_> {
        match self {
            FeatureSet::Sparse(x) => Features::Sparse(x),
            FeatureSet::Dense(x) => Features::Dense(x.view()),
            FeatureSet::Tokens(ids, vocab) => Features::Tokens { ids, vocab: *vocab },
            FeatureSet::States(x) => Features::States(x),
        }
    }
}

impl From<SparseFeatures> for FeatureSet {
    fn from(x: SparseFeatures) -> Self {
        FeatureSet::Sparse(x)
    }
}

impl<'a> From<&'a TokenStates> for Features<'a> {
    fn from(x: &'a TokenStates) -> Self {
        Features::States(x)
    }
}

impl From<TokenStates> for FeatureSet {
    fn from(x: TokenStates) -> Self {
        FeatureSet::States(x)
    }
}

impl From<Array2<f32>> for FeatureSet {
    fn from(x: Array2<f32>) -> Self {
        FeatureSet::Dense(x)
    }
}

impl Features<'_> {
    /// The rows `items` (in that order), owned.
    ///
    /// # Panics
    /// If an item is out of range.
    pub fn select(&self, items: &[usize]) -> FeatureSet {
        match self {
            Features::Sparse(x) => FeatureSet::Sparse(x.select(items)),
            Features::Dense(x) => FeatureSet::Dense(x.select(ndarray::Axis(0), items)),
            Features::Tokens { ids, vocab } => {
                FeatureSet::Tokens(items.iter().map(|&i| ids[i].clone()).collect(), *vocab)
            }
            Features::States(x) => FeatureSet::States(x.select(items)),
        }
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        match self {
            Features::Sparse(x) => x.n_items(),
            Features::Dense(x) => x.nrows(),
            Features::Tokens { ids, .. } => ids.len(),
            Features::States(x) => x.n_items(),
        }
    }

    /// Number of features per item.
    pub fn n_features(&self) -> usize {
        match self {
            Features::Sparse(x) => x.n_features(),
            Features::Dense(x) => x.ncols(),
            Features::Tokens { vocab, .. } => *vocab,
            Features::States(x) => x.dim(),
        }
    }

    pub(super) fn check(&self, n_features: usize) -> Result<()> {
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
    pub(super) fn batch(&self, items: &[usize], sparse: bool, device: Device) -> Result<InputBatch, TchError> {
        let v = self.n_features();
        if let Features::Tokens { ids, .. } = self {
            let rows: Vec<&[u32]> = items.iter().map(|&i| ids[i].as_slice()).collect();
            let (ids, mask) = crate::encoder::pad_batch(&rows, device)?;
            return Ok(InputBatch::Tokens { ids, mask });
        }
        if let Features::States(x) = self {
            return states_batch(x, items, device);
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
                    Features::Tokens { .. } | Features::States(_) => {}
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
                    Features::Tokens { .. } | Features::States(_) => {}
                }
            }
            Ok(InputBatch::Dense(
                Tensor::from_slice(&dense).f_view([items.len() as i64, v as i64])?.f_to_device(device)?,
            ))
        }
    }
}

/// The token states of `items`, packed: a T × D batch of all their tokens, item after item, and
/// the batch row of each token.
fn states_batch(x: &TokenStates, items: &[usize], device: Device) -> Result<InputBatch, TchError> {
    let d = x.dim();
    let tokens: usize = items.iter().map(|&i| x.len_of(i)).sum();
    let mut states = Vec::with_capacity(tokens * d);
    let mut row = Vec::with_capacity(tokens);
    for (r, &i) in items.iter().enumerate() {
        states.extend_from_slice(x.item(i));
        row.extend(std::iter::repeat_n(r as i64, x.len_of(i)));
    }
    Ok(InputBatch::States {
        states: Tensor::from_slice(&states).f_view([tokens as i64, d as i64])?.f_to_device(device)?,
        row: Tensor::from_slice(&row).f_to_device(device)?,
        rows: items.len() as i64,
    })
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
