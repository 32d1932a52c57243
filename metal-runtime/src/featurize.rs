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
    /// Longest word n-gram counted: 1 counts words, 2 also counts each pair of adjacent words
    /// (`"no acute"`, `"how many"`), and so on; ≥ 1. An n-gram is its words joined by one space.
    /// `min_count` and `max_size` apply to all n-grams together.
    #[serde(default = "one")]
    pub ngrams: usize,
    /// Mark the words in the scope of a negation: after a negation cue (`no`, `not`, `never`,
    /// `none`, `nothing`, `nobody`, `nowhere`, `neither`, `nor`, `without`, `cannot`, or a word
    /// ending in `n't`), every word up to the end of the clause (`.`, `:`, `;`, `!`, `?` or a line
    /// break) is counted as `NOT_word`, a term of its own, so that "no effusion" and "effusion"
    /// differ (the negation marking of sentiment analysis, after Das & Chen 2001 and Pang et al.
    /// 2002). The cue words are English; commas do not end the scope ("no consolidation,
    /// effusion or pneumothorax" negates all three).
    #[serde(default)]
    pub negation: bool,
}

/// Negation cues of [`FeaturizerConfig::negation`] (besides words ending in `n't`).
const NEGATION_CUES: &[&str] =
    &["no", "not", "never", "none", "nothing", "nobody", "nowhere", "neither", "nor", "without", "cannot"];

/// Characters that end a negation's scope.
fn ends_clause(c: char) -> bool {
    matches!(c, '.' | ':' | ';' | '!' | '?' | '\n' | '\r')
}

fn one() -> usize {
    1
}

impl Default for FeaturizerConfig {
    fn default() -> Self {
        FeaturizerConfig {
            lowercase: true,
            min_count: 2,
            max_size: 20_000,
            min_token_len: 1,
            weighting: Weighting::Counts,
            ngrams: 1,
            negation: false,
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
        if r.config.ngrams == 0 {
            return Err(EndModelError::InvalidConfig { name: "ngrams", value: "0".into(), expected: "at least 1" });
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
        if config.ngrams == 0 {
            return Err(EndModelError::InvalidConfig {
                name: "ngrams",
                value: "0".into(),
                expected: "at least 1 (1: words only)",
            });
        }
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for text in texts {
            seen.clear();
            let text = normalize(text.as_ref(), config.lowercase);
            for_each_term(&text, config, |term| {
                let entry = counts.entry(term.to_owned()).or_default();
                entry.0 += 1;
                if !seen.contains(term) {
                    seen.insert(term.to_owned());
                    entry.1 += 1;
                }
            });
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
            for_each_term(&text, &self.config, |term| {
                if let Some(&j) = self.index.get(term) {
                    *row.entry(j).or_default() += 1.0;
                }
            });
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

/// The tokens of `text` (as [`tokens`]) with those in a negation's scope written `NOT_word`
/// ([`FeaturizerConfig::negation`]).
fn negation_marked(text: &str, min_len: usize) -> Vec<std::borrow::Cow<'_, str>> {
    let mut out = Vec::new();
    let mut negated = false;
    let mut start = None;
    // One step past the end closes the last token.
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if c.is_alphanumeric() && i < text.len() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            let token = &text[s..i];
            // `don't` is cut into `don` and `t`: the `t` after `n'` is the cue.
            let before = &text[..s];
            let apostrophe = before.strip_suffix('\'').or_else(|| before.strip_suffix('\u{2019}'));
            let contraction = token.eq_ignore_ascii_case("t") && apostrophe.is_some_and(|b| b.ends_with(['n', 'N']));
            let cue = contraction || NEGATION_CUES.iter().any(|c| c.eq_ignore_ascii_case(token));
            if token.chars().count() >= min_len {
                out.push(if negated && !cue { format!("NOT_{token}").into() } else { token.into() });
            }
            negated |= cue;
        }
        if ends_clause(c) {
            negated = false;
        }
    }
    out
}

/// Calls `f` on every term of `text` (already normalized): its tokens, then, when
/// `config.ngrams` > 1, each run of 2 to `ngrams` adjacent tokens joined by a space.
fn for_each_term(text: &str, config: &FeaturizerConfig, mut f: impl FnMut(&str)) {
    if config.ngrams <= 1 && !config.negation {
        tokens(text, config.min_token_len).for_each(f);
        return;
    }
    let words: Vec<std::borrow::Cow<'_, str>> = if config.negation {
        negation_marked(text, config.min_token_len)
    } else {
        tokens(text, config.min_token_len).map(Into::into).collect()
    };
    words.iter().for_each(|w| f(w));
    let mut gram = String::new();
    for n in 2..=config.ngrams.min(words.len()) {
        for window in words.windows(n) {
            gram.clear();
            for (k, w) in window.iter().enumerate() {
                if k > 0 {
                    gram.push(' ');
                }
                gram.push_str(w);
            }
            f(&gram);
        }
    }
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
    fn ngrams_count_adjacent_words() {
        let texts = ["No acute disease.", "no acute, no disease", "acute disease"];
        let config = FeaturizerConfig { min_count: 1, ngrams: 2, ..Default::default() };
        let f = Featurizer::fit(&texts, &config).unwrap();
        assert!(f.word_index("no acute").is_some());
        assert!(f.word_index("acute disease").is_some());
        assert!(f.word_index("disease no").is_none(), "never adjacent");
        let x = f.transform(&["no acute disease no acute"]);
        let no_acute = f.word_index("no acute").unwrap() as u32;
        let (idx, val) = x.row(0);
        assert_eq!(val[idx.iter().position(|&j| j == no_acute).unwrap()], 2.0);
        // Words only: the same vocabulary as before n-grams existed.
        let words = Featurizer::fit(&texts, &FeaturizerConfig { min_count: 1, ..Default::default() }).unwrap();
        assert!(words.vocabulary().iter().all(|w| !w.contains(' ')));
        assert_eq!(words.n_features(), 3);
        // Trigrams include the bigrams.
        let tri = Featurizer::fit(&texts, &FeaturizerConfig { ngrams: 3, ..config.clone() }).unwrap();
        assert!(tri.word_index("no acute disease").is_some() && tri.word_index("no acute").is_some());
        let err = Featurizer::fit(&texts, &FeaturizerConfig { ngrams: 0, ..config }).unwrap_err();
        assert!(matches!(err, EndModelError::InvalidConfig { name: "ngrams", .. }));
        // A featurizer saved before the setting existed reads as words only.
        let json = serde_json::to_string(&words).unwrap().replace(",\"ngrams\":1", "");
        assert!(!json.contains("ngrams"));
        assert_eq!(serde_json::from_str::<Featurizer>(&json).unwrap(), words);
    }

    #[test]
    fn negation_marks_the_rest_of_the_clause() {
        let marked = |t: &str| negation_marked(t, 1).into_iter().map(|w| w.into_owned()).collect::<Vec<_>>();
        assert_eq!(
            marked("no focal consolidation, effusion or pneumothorax. small effusion"),
            ["no", "NOT_focal", "NOT_consolidation", "NOT_effusion", "NOT_or", "NOT_pneumothorax", "small", "effusion"]
        );
        assert_eq!(marked("it isn't here; there"), ["it", "isn", "t", "NOT_here", "there"]);
        assert_eq!(marked("don\u{2019}t go\nstay"), ["don", "t", "NOT_go", "stay"]);
        assert_eq!(marked("nothing"), ["nothing"]);
        assert_eq!(marked("knot tied"), ["knot", "tied"], "a cue is a whole word");
        let config = FeaturizerConfig { min_count: 1, negation: true, ..Default::default() };
        let f = Featurizer::fit(&["No effusion.", "Effusion"], &config).unwrap();
        assert!(f.word_index("NOT_effusion").is_some() && f.word_index("effusion").is_some());
        let bigrams = Featurizer::fit(&["No effusion."], &FeaturizerConfig { ngrams: 2, ..config }).unwrap();
        assert!(bigrams.word_index("no NOT_effusion").is_some());
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
