//! Loading the Reuters-21578 news task from `examples/data/reuters21578/`.
//!
//! Each split is a JSON-lines file, one [`Article`] per line. The default folder is resolved from
//! this crate's manifest directory at compile time; every loader also takes an explicit folder.
//!
//! The gold end label [`Article::label`] indexes [`END_LABELS`], which is the end-label order of
//! the news schema: Corporate/Performance, Corporate/Funding, Markets/Money, Markets/Commodity.
#![allow(clippy::result_large_err, reason = "loaders return the crate-wide `metal_runtime::Error`")]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use metal_runtime::error::IoError;
use metal_runtime::Result;
use serde::Deserialize;

use crate::jsonl::{self, malformed, read_lines, Record};

/// Names of the gold end labels as the data files spell them (`label_name`), indexed by
/// [`Article::label`]. The order is the news schema's end-label order.
pub const END_LABELS: [&str; 4] = ["corporate/performance", "corporate/funding", "markets/money", "markets/commodity"];

/// Number of articles in the unlabeled training subset listed in `train_1000_ids.txt`.
pub const TRAIN_SUBSET_SIZE: usize = 1000;

/// One news article with its gold annotations.
///
/// Labeling functions may read [`title`](Self::title), [`dateline`](Self::dateline) and
/// [`text`](Self::text) (and the helpers built on them) only; `topics`, `single_topic` and
/// `label` are gold annotations, for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Article {
    /// Unique id, `reuters21578-<NEWID>`.
    pub id: String,
    /// The Reuters NEWID.
    pub newid: u32,
    /// Headline; may be empty.
    pub title: String,
    /// Place and date line, such as `"NEW YORK, March 5 -"`; may be empty.
    #[serde(default)]
    pub dateline: String,
    /// Headline, a blank line, then the body (the headline alone for brief items).
    pub text: String,
    /// Reuters TOPICS codes (gold).
    #[serde(default)]
    pub topics: Vec<String>,
    /// True if the article has exactly one Reuters topic (gold).
    #[serde(default)]
    pub single_topic: bool,
    /// Gold end label, `0..4`, indexing [`END_LABELS`].
    pub label: usize,
    /// Gold end label name, one of [`END_LABELS`].
    pub label_name: String,
}

impl Article {
    /// The headline: the title, or the first non-blank line of the text when the title is empty.
    pub fn headline(&self) -> &str {
        headline(&self.title, &self.text)
    }

    /// The text without the leading title and the blank line after it (empty for brief items).
    pub fn body(&self) -> &str {
        body(&self.title, &self.text)
    }
}

/// [`Article::headline`] of an article's title and text.
pub fn headline<'a>(title: &'a str, text: &'a str) -> &'a str {
    if !title.trim().is_empty() {
        return title;
    }
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// [`Article::body`] of an article's title and text.
pub fn body<'a>(title: &str, text: &'a str) -> &'a str {
    text.strip_prefix(title).unwrap_or(text).trim_start_matches('\n')
}

pub use crate::jsonl::Split;

/// The repository's data folder, `examples/data/reuters21578`.
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("reuters21578")
}

/// `dir`, or the repository's data folder when `None`.
fn resolve(dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(default_data_dir, Path::to_path_buf)
}

impl Record for Article {
    const WHAT: &'static str = "article";
    fn id(&self) -> &str {
        &self.id
    }
    fn check(&mut self) -> std::result::Result<(), String> {
        let Some(&name) = END_LABELS.get(self.label) else {
            return Err(format!("label {} is out of range 0..{}", self.label, END_LABELS.len()));
        };
        if self.label_name != name {
            return Err(format!("label {} is `{name}`, but label_name is `{}`", self.label, self.label_name));
        }
        Ok(())
    }
}

/// Reads a JSON-lines file of articles. Blank lines are skipped.
///
/// Fails, naming the file and the 1-based line, on a line that is not an article, a label
/// outside `0..4`, a `label_name` that does not match the label, or a repeated id.
pub fn load_jsonl(path: &Path) -> Result<Vec<Article>> {
    jsonl::read(path)
}

/// Loads one split from `dir` (the repository's data folder when `None`).
pub fn load_split(split: Split, dir: Option<&Path>) -> Result<Vec<Article>> {
    load_jsonl(&resolve(dir).join(split.file_name()))
}

/// Reads a file of article ids, one per line (blank lines skipped), in file order.
pub fn load_ids(path: &Path) -> Result<Vec<String>> {
    Ok(read_ids(path)?.into_iter().map(|(_, id)| id).collect())
}

/// The ids of an ids file with their 1-based line numbers; fails on a repeated id.
fn read_ids(path: &Path) -> Result<Vec<(usize, String)>> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for (line, content) in read_lines(path)? {
        let id = content.trim().to_owned();
        if !seen.insert(id.clone()) {
            return Err(malformed(path, line, format!("duplicate id `{id}`")).into());
        }
        ids.push((line, id));
    }
    Ok(ids)
}

/// The 1,000 unlabeled training articles: `train.jsonl` filtered by `train_1000_ids.txt`, in the
/// order of the ids file.
///
/// Fails if an id is not in `train.jsonl` or the ids file does not list 1,000 ids.
pub fn load_train_subset(dir: Option<&Path>) -> Result<Vec<Article>> {
    let dir = resolve(dir);
    let ids_path = dir.join("train_1000_ids.txt");
    let ids = read_ids(&ids_path)?;
    if ids.len() != TRAIN_SUBSET_SIZE {
        let message = format!("expected {TRAIN_SUBSET_SIZE} ids, found {}", ids.len());
        return Err(IoError::Malformed { path: ids_path, line: None, message }.into());
    }
    let mut train: HashMap<String, Article> =
        load_split(Split::Train, Some(&dir))?.into_iter().map(|a| (a.id.clone(), a)).collect();
    ids.into_iter()
        .map(|(line, id)| {
            let article = train.remove(&id);
            article.ok_or_else(|| malformed(&ids_path, line, format!("id `{id}` is not in train.jsonl")).into())
        })
        .collect()
}

/// The whole training split (`train.jsonl`, 6,722 articles).
pub fn load_train(dir: Option<&Path>) -> Result<Vec<Article>> {
    load_split(Split::Train, dir)
}

/// The 50 hand-labeled development articles (`dev.jsonl`).
pub fn load_dev(dir: Option<&Path>) -> Result<Vec<Article>> {
    load_split(Split::Dev, dir)
}

/// The test split (`test.jsonl`).
pub fn load_test(dir: Option<&Path>) -> Result<Vec<Article>> {
    load_split(Split::Test, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(title: &str, text: &str) -> Article {
        Article {
            id: "x".into(),
            newid: 1,
            title: title.into(),
            dateline: String::new(),
            text: text.into(),
            topics: vec![],
            single_topic: true,
            label: 0,
            label_name: END_LABELS[0].into(),
        }
    }

    #[test]
    fn headline_and_body() {
        let a = article("ACME <ACM> 4TH QTR NET", "ACME <ACM> 4TH QTR NET\n\n    Shr 10 cts vs 9 cts");
        assert_eq!(a.headline(), "ACME <ACM> 4TH QTR NET");
        assert_eq!(a.body(), "    Shr 10 cts vs 9 cts");
        let brief = article("U.K. MONEY MARKET GIVEN HELP", "U.K. MONEY MARKET GIVEN HELP");
        assert_eq!(brief.body(), "");
        let untitled = article("", "\n\nFEDERAL RESERVE WEEKLY REPORT\n  rest");
        assert_eq!(untitled.headline(), "FEDERAL RESERVE WEEKLY REPORT");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("metal-news-data-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn malformed_line_is_reported_with_file_and_line() {
        let dir = temp_dir("malformed");
        let path = dir.join("dev.jsonl");
        let good = r#"{"id":"a","newid":1,"title":"T","dateline":"","text":"T","topics":["earn"],"single_topic":true,"label":0,"label_name":"corporate/performance"}"#;
        std::fs::write(&path, format!("{good}\n\n{{not json\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("dev.jsonl, line 3"), "{err}");

        let wrong_name = good.replace(r#""label":0"#, r#""label":2"#);
        std::fs::write(&path, format!("{wrong_name}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("markets/money"), "{err}");

        let out_of_range = good.replace(r#""label":0"#, r#""label":4"#);
        std::fs::write(&path, format!("{out_of_range}\n")).unwrap();
        let err = load_dev(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
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
        let dev = load_dev(None).unwrap();
        assert_eq!(dev.len(), 50);
        let subset = load_train_subset(None).unwrap();
        assert_eq!(subset.len(), TRAIN_SUBSET_SIZE);
        assert_eq!(subset[0].id, "reuters21578-18");
        let mut counts = [0usize; 4];
        for a in &subset {
            counts[a.label] += 1;
        }
        assert_eq!(counts, [415, 232, 121, 232]);
        assert!(subset.iter().all(|a| !dev.iter().any(|d| d.id == a.id)));
    }
}
