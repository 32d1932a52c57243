//! Bag-of-words features: a vocabulary built on training texts, and sparse word-count (or TF-IDF)
//! rows in CSR layout.
//!
//! ```
//! use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
//!
//! let train = ["Wheat exports rise", "wheat prices fall", "profit rises"];
//! let featurizer = Featurizer::fit(&train, &FeaturizerConfig { min_count: 1, ..Default::default() })?;
//! assert_eq!(featurizer.vocabulary()[0], "wheat"); // the most frequent word first
//! let x = featurizer.transform(&["wheat, WHEAT and corn"]);
//! assert_eq!(x.row(0), (&[0u32][..], &[2.0f32][..])); // unknown words are dropped
//! # Ok::<(), metal_runtime::Error>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::EndModelError;

/// How a word's count in a document becomes a feature value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Weighting {
    /// The number of times the word occurs in the document.
    #[default]
    Counts,
    /// Count × smoothed inverse document frequency, `ln((1 + n) / (1 + df)) + 1`, with `n` and the
    /// document frequencies `df` taken from the training texts.
    TfIdf,
}

/// Settings of a [`Featurizer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturizerConfig {
    /// Lowercase texts before counting.
    pub lowercase: bool,
    /// Fewest occurrences (over all training texts) for a word to enter the vocabulary.
    pub min_count: usize,
    /// Most words kept (the most frequent ones; ties by word order).
    pub max_size: usize,
    /// Shortest token kept, in characters.
    pub min_token_len: usize,
    /// Feature values.
    pub weighting: Weighting,
}

impl Default for FeaturizerConfig {
    fn default() -> Self {
        FeaturizerConfig {
            lowercase: true,
            min_count: 2,
            max_size: 20_000,
            min_token_len: 1,
            weighting: Weighting::Counts,
        }
    }
}

/// A vocabulary fit on training texts; turns texts into [`SparseFeatures`].
///
/// Serializable (the words, the settings and the document frequencies), so that it is saved with
/// the end model that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FeaturizerRepr", into = "FeaturizerRepr")]
pub struct Featurizer {
    config: FeaturizerConfig,
    words: Vec<String>,
    /// Per word, the IDF weight (all 1 for [`Weighting::Counts`]).
    idf: Vec<f32>,
    index: HashMap<String, u32>,
}

#[derive(Serialize, Deserialize)]
struct FeaturizerRepr {
    config: FeaturizerConfig,
    words: Vec<String>,
    idf: Vec<f32>,
}

impl TryFrom<FeaturizerRepr> for Featurizer {
    type Error = EndModelError;
    fn try_from(r: FeaturizerRepr) -> Result<Self, EndModelError> {
        if r.idf.len() != r.words.len() {
            return Err(EndModelError::ShapeMismatch {
                what: "featurizer IDF weights (one per word)",
                expected: r.words.len(),
                got: r.idf.len(),
            });
        }
        Featurizer::from_parts(r.config, r.words, r.idf)
    }
}

impl From<Featurizer> for FeaturizerRepr {
    fn from(f: Featurizer) -> Self {
        FeaturizerRepr { config: f.config, words: f.words, idf: f.idf }
    }
}

impl Featurizer {
    /// Builds the vocabulary on `texts`.
    ///
    /// # Errors
    /// [`EndModelError::InvalidConfig`] when `max_size` is 0, and [`EndModelError::EmptyVocabulary`]
    /// when no word reaches `min_count`.
    pub fn fit<S: AsRef<str>>(texts: &[S], config: &FeaturizerConfig) -> Result<Self, EndModelError> {
        if config.max_size == 0 {
            return Err(EndModelError::InvalidConfig {
                name: "max_size",
                value: "0".into(),
                expected: "at least 1 word",
            });
        }
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for text in texts {
            let mut seen: HashMap<&str, ()> = HashMap::new();
            let text = normalize(text.as_ref(), config.lowercase);
            for token in tokens(&text, config.min_token_len) {
                let entry = counts.entry(token.to_owned()).or_default();
                entry.0 += 1;
                if seen.insert(token, ()).is_none() {
                    entry.1 += 1;
                }
            }
        }
        let mut kept: Vec<(String, (usize, usize))> =
            counts.into_iter().filter(|(_, (c, _))| *c >= config.min_count.max(1)).collect();
        kept.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        kept.truncate(config.max_size);
        if kept.is_empty() {
            return Err(EndModelError::EmptyVocabulary { n_texts: texts.len(), min_count: config.min_count });
        }
        let n = texts.len() as f64;
        let idf = kept
            .iter()
            .map(|(_, (_, df))| match config.weighting {
                Weighting::Counts => 1.0,
                Weighting::TfIdf => (((1.0 + n) / (1.0 + *df as f64)).ln() + 1.0) as f32,
            })
            .collect();
        let words = kept.into_iter().map(|(w, _)| w).collect();
        Featurizer::from_parts(config.clone(), words, idf)
    }

    fn from_parts(config: FeaturizerConfig, words: Vec<String>, idf: Vec<f32>) -> Result<Self, EndModelError> {
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if index.insert(w.clone(), i as u32).is_some() {
                return Err(EndModelError::DuplicateWord { word: w.clone() });
            }
        }
        Ok(Featurizer { config, words, idf, index })
    }

    /// The settings it was fit with.
    pub fn config(&self) -> &FeaturizerConfig {
        &self.config
    }

    /// The words, in feature order (most frequent first).
    pub fn vocabulary(&self) -> &[String] {
        &self.words
    }

    /// Number of features `V` (the vocabulary size).
    pub fn n_features(&self) -> usize {
        self.words.len()
    }

    /// The feature index of `word` (already normalized), if it is in the vocabulary.
    pub fn word_index(&self, word: &str) -> Option<usize> {
        self.index.get(word).map(|&i| i as usize)
    }

    /// One sparse row per text; words outside the vocabulary are dropped.
    pub fn transform<S: AsRef<str>>(&self, texts: &[S]) -> SparseFeatures {
        let mut offsets = Vec::with_capacity(texts.len() + 1);
        offsets.push(0);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        let mut row: HashMap<u32, f32> = HashMap::new();
        for text in texts {
            row.clear();
            let text = normalize(text.as_ref(), self.config.lowercase);
            for token in tokens(&text, self.config.min_token_len) {
                if let Some(&j) = self.index.get(token) {
                    *row.entry(j).or_default() += 1.0;
                }
            }
            let mut entries: Vec<(u32, f32)> = row.iter().map(|(&j, &c)| (j, c * self.idf[j as usize])).collect();
            entries.sort_unstable_by_key(|e| e.0);
            for (j, v) in entries {
                indices.push(j);
                values.push(v);
            }
            offsets.push(indices.len());
        }
        SparseFeatures { n_features: self.words.len(), offsets, indices, values }
    }
}

fn normalize(text: &str, lowercase: bool) -> std::borrow::Cow<'_, str> {
    if lowercase {
        text.to_lowercase().into()
    } else {
        text.into()
    }
}

/// Maximal runs of alphanumeric characters, at least `min_len` characters long.
fn tokens(text: &str, min_len: usize) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(move |t| !t.is_empty() && t.chars().count() >= min_len)
}

/// A sparse n × V feature matrix in CSR layout: row `i` holds the pairs
/// `(indices[k], values[k])` for `k` in `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparseFeatures {
    n_features: usize,
    offsets: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseFeatures {
    /// Checks and wraps CSR arrays.
    ///
    /// # Errors
    /// [`EndModelError::ShapeMismatch`] when the arrays do not form a CSR matrix (offsets not
    /// starting at 0, decreasing or not ending at the number of entries; indices and values of
    /// different lengths), [`EndModelError::FeatureOutOfRange`] when an index is not below
    /// `n_features`, and [`EndModelError::NonFiniteFeature`] for a NaN or infinite value.
    pub fn new(
        n_features: usize,
        offsets: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self, EndModelError> {
        if indices.len() != values.len() {
            return Err(EndModelError::ShapeMismatch {
                what: "sparse values (one per index)",
                expected: indices.len(),
                got: values.len(),
            });
        }
        let ok = offsets.first() == Some(&0)
            && offsets.last() == Some(&indices.len())
            && offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ok {
            return Err(EndModelError::ShapeMismatch {
                what: "sparse offsets: last offset (non-decreasing from 0)",
                expected: indices.len(),
                got: offsets.last().copied().unwrap_or(0),
            });
        }
        for i in 0..offsets.len() - 1 {
            for k in offsets[i]..offsets[i + 1] {
                if indices[k] as usize >= n_features {
                    return Err(EndModelError::FeatureOutOfRange { item: i, index: indices[k] as usize, n_features });
                }
                if !values[k].is_finite() {
                    return Err(EndModelError::NonFiniteFeature { item: i });
                }
            }
        }
        Ok(SparseFeatures { n_features, offsets, indices, values })
    }

    /// Number of rows (items).
    pub fn n_items(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of columns `V`.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The feature indices and values of row `i`.
    ///
    /// # Panics
    /// If `i` is not below [`n_items`](Self::n_items).
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The rows `items`, in that order.
    ///
    /// # Panics
    /// If an item is not below [`n_items`](Self::n_items).
    pub fn select(&self, items: &[usize]) -> SparseFeatures {
        let mut offsets = Vec::with_capacity(items.len() + 1);
        offsets.push(0);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        for &i in items {
            let (idx, val) = self.row(i);
            indices.extend_from_slice(idx);
            values.extend_from_slice(val);
            offsets.push(indices.len());
        }
        SparseFeatures { n_features: self.n_features, offsets, indices, values }
    }

    /// The matrix as a dense n × V array (for small matrices and tests).
    pub fn to_dense(&self) -> ndarray::Array2<f32> {
        let mut out = ndarray::Array2::zeros((self.n_items(), self.n_features));
        for i in 0..self.n_items() {
            let (idx, val) = self.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                out[[i, j as usize]] += v;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_respects_min_count_and_max_size() {
        let texts = ["a b b c-c", "B c d", "e"];
        let f = Featurizer::fit(&texts, &FeaturizerConfig { min_count: 2, ..Default::default() }).unwrap();
        assert_eq!(f.vocabulary(), ["b", "c"]);
        let f = Featurizer::fit(&texts, &FeaturizerConfig { min_count: 1, max_size: 2, ..Default::default() }).unwrap();
        assert_eq!(f.vocabulary(), ["b", "c"]);
        let x = f.transform(&["c b c x"]);
        assert_eq!(x.row(0), (&[0u32, 1][..], &[1.0f32, 2.0][..]));
        let err = Featurizer::fit(&texts, &FeaturizerConfig { min_count: 9, ..Default::default() }).unwrap_err();
        assert!(matches!(err, EndModelError::EmptyVocabulary { .. }));
    }

    #[test]
    fn tfidf_downweights_common_words() {
        let texts = ["a b", "a c", "a d"];
        let config = FeaturizerConfig { min_count: 1, weighting: Weighting::TfIdf, ..Default::default() };
        let f = Featurizer::fit(&texts, &config).unwrap();
        let x = f.transform(&["a b"]);
        let (_, v) = x.row(0);
        assert!((v[0] - 1.0).abs() < 1e-6, "a occurs everywhere: idf 1");
        assert!(v[1] > 1.5);
    }

    #[test]
    fn featurizer_round_trips_through_json() {
        let f = Featurizer::fit(&["x y y", "y z"], &FeaturizerConfig { min_count: 1, ..Default::default() }).unwrap();
        let json = serde_json::to_string(&f).unwrap();
        let back: Featurizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.transform(&["z y"]), f.transform(&["z y"]));
        let bad = json.replace("\"idf\":[1.0,1.0,1.0]", "\"idf\":[1.0]");
        assert!(serde_json::from_str::<Featurizer>(&bad).is_err());
    }

    #[test]
    fn sparse_features_are_checked() {
        assert!(SparseFeatures::new(3, vec![0, 1, 2], vec![0, 2], vec![1.0, 1.0]).is_ok());
        assert!(matches!(
            SparseFeatures::new(2, vec![0, 1, 2], vec![0, 2], vec![1.0, 1.0]),
            Err(EndModelError::FeatureOutOfRange { item: 1, index: 2, n_features: 2 })
        ));
        assert!(SparseFeatures::new(3, vec![0, 2, 1], vec![0, 2], vec![1.0, 1.0]).is_err());
        let x = SparseFeatures::new(3, vec![0, 1, 2], vec![0, 2], vec![1.0, 5.0]).unwrap();
        assert_eq!(x.select(&[1]).to_dense(), ndarray::array![[0.0, 0.0, 5.0]]);
    }
}
