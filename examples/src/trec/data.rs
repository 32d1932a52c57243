//! Loading the TREC question-classification data set from `examples/data/trec/`.
//!
//! Each split is a JSON-lines file, one [`Question`] per line: `train.jsonl` (4,952 questions),
//! `dev.jsonl` (500, drawn from the official training set) and `test.jsonl` (the 500 TREC-10
//! questions). The default folder is resolved from this crate's manifest directory at compile
//! time; every loader also takes an explicit folder.
//!
//! The gold end label [`Question::label`] indexes [`END_LABELS`], which is the end-label order of
//! the TREC schema (`super::lfs::trec`) and the order of `meta.json`'s `fine` list.
#![allow(clippy::result_large_err, reason = "loaders return the crate-wide `metal_runtime::Error`")]

use std::path::{Path, PathBuf};

use metal_runtime::Result;
use serde::Deserialize;

use crate::jsonl::{self, Record};

/// The six coarse classes, in the order of [`Question::coarse_id`].
pub const COARSE_LABELS: [&str; 6] = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"];

/// Names of the gold end labels as the data files spell them (`label_fine`), indexed by
/// [`Question::label`]. The order is the TREC schema's end-label order: the coarse classes in
/// [`COARSE_LABELS`] order, each followed by its fine classes.
pub const END_LABELS: [&str; 50] = [
    "ABBR:abb",
    "ABBR:exp",
    "DESC:def",
    "DESC:desc",
    "DESC:manner",
    "DESC:reason",
    "ENTY:animal",
    "ENTY:body",
    "ENTY:color",
    "ENTY:cremat",
    "ENTY:currency",
    "ENTY:dismed",
    "ENTY:event",
    "ENTY:food",
    "ENTY:instru",
    "ENTY:lang",
    "ENTY:letter",
    "ENTY:other",
    "ENTY:plant",
    "ENTY:product",
    "ENTY:religion",
    "ENTY:sport",
    "ENTY:substance",
    "ENTY:symbol",
    "ENTY:techmeth",
    "ENTY:termeq",
    "ENTY:veh",
    "ENTY:word",
    "HUM:desc",
    "HUM:gr",
    "HUM:ind",
    "HUM:title",
    "LOC:city",
    "LOC:country",
    "LOC:mount",
    "LOC:other",
    "LOC:state",
    "NUM:code",
    "NUM:count",
    "NUM:date",
    "NUM:dist",
    "NUM:money",
    "NUM:ord",
    "NUM:other",
    "NUM:perc",
    "NUM:period",
    "NUM:speed",
    "NUM:temp",
    "NUM:volsize",
    "NUM:weight",
];

/// Number of questions in each split: train, dev, test.
pub const SPLIT_SIZES: [usize; 3] = [4952, 500, 500];

/// One question with its gold annotations.
///
/// Labeling functions may read [`text`](Self::text) only; every other field but `id` is a gold
/// annotation, for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Question {
    /// Unique id, such as `train5500-17`.
    pub id: String,
    /// The question in the original TREC tokenization: tokens separated by spaces, quotes written
    /// `` `` `` and `''`, the possessive `'s` split off (`"Ray Charles 's"`).
    pub text: String,
    /// Gold coarse class, one of [`COARSE_LABELS`].
    pub coarse: String,
    /// Gold fine class within the coarse class, such as `dist`.
    pub fine: String,
    /// Gold fine class with its coarse class, such as `NUM:dist`; one of [`END_LABELS`].
    pub label_fine: String,
    /// Gold coarse class index, `0..6`, indexing [`COARSE_LABELS`].
    pub coarse_id: usize,
    /// Gold fine class index, `0..50`, in `meta.json`'s `fine` order.
    pub fine_id: usize,
    /// Gold end label, `0..50`, indexing [`END_LABELS`] (the schema's end-label order).
    /// Computed from `label_fine` when the file is read.
    #[serde(skip)]
    pub label: usize,
}

pub use crate::jsonl::Split;

/// The repository's data folder, `examples/data/trec`.
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("trec")
}

/// `dir`, or the repository's data folder when `None`.
fn resolve(dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(default_data_dir, Path::to_path_buf)
}

/// Checks the gold fields of `q` against each other and sets [`Question::label`].
fn check_labels(q: &mut Question) -> std::result::Result<(), String> {
    let label = END_LABELS
        .iter()
        .position(|&name| name == q.label_fine)
        .ok_or_else(|| format!("unknown class `{}`", q.label_fine))?;
    let expected = format!("{}:{}", q.coarse, q.fine);
    if q.label_fine != expected {
        return Err(format!("label_fine is `{}`, but coarse and fine give `{expected}`", q.label_fine));
    }
    if COARSE_LABELS.get(q.coarse_id) != Some(&q.coarse.as_str()) {
        return Err(format!("coarse_id {} does not name coarse class `{}`", q.coarse_id, q.coarse));
    }
    if q.fine_id != label {
        return Err(format!("fine_id {} does not name class `{}` (index {label})", q.fine_id, q.label_fine));
    }
    q.label = label;
    Ok(())
}

impl Record for Question {
    const WHAT: &'static str = "question";
    fn id(&self) -> &str {
        &self.id
    }
    fn check(&mut self) -> std::result::Result<(), String> {
        check_labels(self)
    }
}

/// Reads a JSON-lines file of questions. Blank lines are skipped.
///
/// Fails, naming the file and the 1-based line, on a line that is not a question, an unknown
/// class, gold fields that disagree with each other (`coarse`, `fine`, `label_fine`, `coarse_id`,
/// `fine_id`), or a repeated id.
pub fn load_jsonl(path: &Path) -> Result<Vec<Question>> {
    jsonl::read(path)
}

/// Loads one split from `dir` (the repository's data folder when `None`).
pub fn load_split(split: Split, dir: Option<&Path>) -> Result<Vec<Question>> {
    load_jsonl(&resolve(dir).join(split.file_name()))
}

/// The training split (`train.jsonl`, 4,952 questions).
pub fn load_train(dir: Option<&Path>) -> Result<Vec<Question>> {
    load_split(Split::Train, dir)
}

/// The development split (`dev.jsonl`, 500 questions).
pub fn load_dev(dir: Option<&Path>) -> Result<Vec<Question>> {
    load_split(Split::Dev, dir)
}

/// The test split (`test.jsonl`, the 500 TREC-10 questions).
pub fn load_test(dir: Option<&Path>) -> Result<Vec<Question>> {
    load_split(Split::Test, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("metal-trec-data-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const GOOD: &str = r#"{"id": "a", "text": "How far is it from Denver to Aspen ?", "coarse": "NUM", "fine": "dist", "label_fine": "NUM:dist", "coarse_id": 5, "fine_id": 40}"#;

    #[test]
    fn label_is_the_end_label_index() {
        let dir = temp_dir("label");
        let path = dir.join("dev.jsonl");
        std::fs::write(&path, format!("{GOOD}\n\n")).unwrap();
        let questions = load_dev(Some(&dir)).unwrap();
        assert_eq!(questions.len(), 1);
        assert_eq!(questions[0].label, 40);
        assert_eq!(END_LABELS[questions[0].label], "NUM:dist");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_line_is_reported_with_file_and_line() {
        let dir = temp_dir("malformed");
        let path = dir.join("dev.jsonl");
        std::fs::write(&path, format!("{GOOD}\n\n{{not json\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("dev.jsonl, line 3"), "{err}");

        let unknown = GOOD.replace("NUM:dist", "NUM:height");
        std::fs::write(&path, format!("{unknown}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("unknown class `NUM:height`"), "{err}");

        let wrong_fine_id = GOOD.replace(r#""fine_id": 40"#, r#""fine_id": 41"#);
        std::fs::write(&path, format!("{GOOD}\n{wrong_fine_id}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("fine_id 41"), "{err}");

        let wrong_coarse = GOOD.replace(r#""coarse": "NUM""#, r#""coarse": "LOC""#);
        std::fs::write(&path, format!("{wrong_coarse}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("LOC:dist"), "{err}");

        std::fs::write(&path, format!("{GOOD}\n{GOOD}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("duplicate id"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_file() {
        let dir = temp_dir("missing");
        let err = load_test(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("test.jsonl"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn repository_splits_load() {
        let splits = [load_train(None).unwrap(), load_dev(None).unwrap(), load_test(None).unwrap()];
        for (questions, size) in splits.iter().zip(SPLIT_SIZES) {
            assert_eq!(questions.len(), size);
        }
        let [train, dev, _] = &splits;
        // Gold coarse counts of train and dev, as the data's README lists them.
        for (questions, expected) in [(train, [79, 1057, 1128, 1103, 765, 820]), (dev, [7, 105, 122, 120, 70, 76])] {
            let mut counts = [0usize; 6];
            for q in questions {
                counts[q.coarse_id] += 1;
            }
            assert_eq!(counts, expected);
        }
        let train_ids: HashSet<&str> = train.iter().map(|q| q.id.as_str()).collect();
        assert!(dev.iter().all(|q| !train_ids.contains(q.id.as_str())));
    }
}
