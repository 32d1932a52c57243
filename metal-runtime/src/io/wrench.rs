//! WRENCH datasets as JSON lines.
//!
//! A dataset folder holds `train.jsonl`, `valid.jsonl` and `test.jsonl`, one JSON object per
//! line:
//!
//! ```json
//! {"id": "0", "label": 1, "weak_labels": [-1, 1, -1], "text": "check out my channel"}
//! ```
//!
//! `weak_labels` has one entry per LF, `-1` = abstain and otherwise a class index; `label` is the
//! gold class index. `source_label.json` maps class indices to names (`{"0": "HAM", "1":
//! "SPAM"}`). WRENCH tasks are flat: one task whose labels are the classes, every LF voting on it.
//! LFs are named `lf0`, `lf1`, … in column order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{IoError, LabelMatrixError, SchemaError};
use crate::io::{check_dense_vote, json_message, malformed, numbered_lfs, read_json, Lines};
use crate::label_matrix::LabelMatrix;
use crate::schema::TaskGraph;

/// File name of the class names in a dataset folder.
pub const CLASSES_FILE: &str = "source_label.json";

/// Name of the single task of a WRENCH dataset's graph.
pub const TASK_NAME: &str = "class";

/// One split (train, valid or test) of a WRENCH dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct WrenchSplit {
    /// The label matrix, one column per entry of `weak_labels`.
    pub matrix: LabelMatrix,
    /// Gold class of each item.
    pub labels: Vec<usize>,
    /// Text of each item (`text`, or `data.text`; empty when the line has neither).
    pub texts: Vec<String>,
    /// WRENCH id of each item (`id`; the item's index when the line has none).
    pub ids: Vec<String>,
}

impl WrenchSplit {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split has no item.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A WRENCH dataset: its classes and its three splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The flat task graph: one task, [`TASK_NAME`], whose labels are the classes.
    pub graph: Arc<TaskGraph>,
    /// The training split (`train.jsonl`).
    pub train: WrenchSplit,
    /// The validation split (`valid.jsonl`).
    pub valid: WrenchSplit,
    /// The test split (`test.jsonl`).
    pub test: WrenchSplit,
}

impl Dataset {
    /// Loads a dataset folder: the classes from `source_label.json` and the three splits. A
    /// folder without `train.jsonl` (some WRENCH distributions ship only `valid.jsonl` and
    /// `test.jsonl` for a set) uses `valid.jsonl` as its training split too.
    ///
    /// # Errors
    /// An [`IoError`] naming the file (and line): see [`load_split`]; also class indices in
    /// `source_label.json` that are not `0..k`, fewer than two classes, and splits whose numbers
    /// of LFs differ.
    pub fn load(dir: impl AsRef<Path>) -> Result<Dataset, IoError> {
        let dir = dir.as_ref();
        let graph = Arc::new(read_classes(&dir.join(CLASSES_FILE))?);
        let train_path = dir.join("train.jsonl");
        let valid_path = dir.join("valid.jsonl");
        let train = if !train_path.exists() && valid_path.exists() {
            load_split(&valid_path, graph.clone())?
        } else {
            load_split(&train_path, graph.clone())?
        };
        let load_like_train = |name: &str| {
            let path = dir.join(name);
            let split = load_split(&path, graph.clone())?;
            if !split.is_empty() && !train.is_empty() && split.matrix.n_lfs() != train.matrix.n_lfs() {
                return Err(IoError::CountMismatch {
                    path,
                    line: Some(1),
                    what: "weak labels per line, as in train.jsonl".into(),
                    expected: train.matrix.n_lfs(),
                    found: split.matrix.n_lfs(),
                });
            }
            Ok(split)
        };
        let valid = load_like_train("valid.jsonl")?;
        let test = load_like_train("test.jsonl")?;
        Ok(Dataset { graph, train, valid, test })
    }

    /// Number of LFs (columns of the label matrices).
    pub fn n_lfs(&self) -> usize {
        self.train.matrix.n_lfs()
    }

    /// The class names.
    pub fn class_names(&self) -> &[String] {
        &self.graph.task(0).labels
    }
}

/// Reads `source_label.json` into a flat graph.
fn read_classes(path: &Path) -> Result<TaskGraph, IoError> {
    let map: BTreeMap<String, String> = read_json(path)?;
    let n = map.len();
    let mut classes: Vec<Option<String>> = vec![None; n];
    for (key, name) in map {
        let slot = key
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| classes.get_mut(i))
            .ok_or_else(|| malformed(path, format!("class key `{key}` is not an index in 0..{n}")))?;
        // Keys are unique in a map; "1" and "01" would collide here.
        if slot.replace(name).is_some() {
            return Err(malformed(path, format!("class key `{key}` repeats an index")));
        }
    }
    let names: Vec<String> = classes.into_iter().flatten().collect();
    TaskGraph::flat(TASK_NAME, names).map_err(|source| IoError::Schema { path: path.to_path_buf(), source })
}

/// One line of a split file. Fields are optional here so that missing ones get a clear error.
#[derive(Deserialize)]
struct Line {
    id: Option<Value>,
    label: Option<i64>,
    weak_labels: Option<Vec<i64>>,
    text: Option<String>,
    data: Option<Value>,
}

/// Loads one split file (`train.jsonl`, …) for a flat `graph` whose labels are the classes.
///
/// The number of LFs is the length of the first line's `weak_labels`; blank lines are skipped.
///
/// # Errors
/// An [`IoError`] naming the file and the 1-based line: invalid JSON, a line without
/// `weak_labels` or `label`, a `weak_labels` of another length than the first line's, a weak
/// label below `-1` or not a class, or a gold `label` that is not a class. Also an error if
/// `graph` has more than one task.
pub fn load_split(path: impl AsRef<Path>, graph: Arc<TaskGraph>) -> Result<WrenchSplit, IoError> {
    let path = path.as_ref();
    if !graph.is_flat() {
        return Err(IoError::Schema {
            path: path.to_path_buf(),
            source: SchemaError::Mismatch {
                what: format!("WRENCH files hold one flat task, but the graph has {} tasks", graph.n_tasks()),
            },
        });
    }
    let n_classes = graph.cardinality(0);
    let lines = Lines::open(path)?;
    let mut matrix: Option<LabelMatrix> = None;
    let (mut labels, mut texts, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    let mut votes = Vec::new();
    for line in lines {
        let (line_no, line) = line?;
        let at = |message: String| IoError::Malformed { path: path.to_path_buf(), line: Some(line_no), message };
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| at(json_message(&e)))?;
        let weak = parsed.weak_labels.ok_or_else(|| at("missing `weak_labels`".into()))?;
        let label = parsed.label.ok_or_else(|| at("missing `label`".into()))?;
        let matrix = match &mut matrix {
            Some(m) => m,
            None => matrix
                .insert(LabelMatrix::empty(graph.clone(), numbered_lfs(std::iter::repeat_n(0, weak.len()))).map_err(
                    |source| IoError::LabelMatrix { path: path.to_path_buf(), line: Some(line_no), source },
                )?),
        };
        let item = matrix.n_items();
        let lm_error =
            |source: LabelMatrixError| IoError::LabelMatrix { path: path.to_path_buf(), line: Some(line_no), source };
        if weak.len() != matrix.n_lfs() {
            return Err(IoError::CountMismatch {
                path: path.to_path_buf(),
                line: Some(line_no),
                what: "number of `weak_labels`, as on the first line".into(),
                expected: matrix.n_lfs(),
                found: weak.len(),
            });
        }
        votes.clear();
        for (j, &value) in weak.iter().enumerate() {
            if let Some(l) = check_dense_vote(&graph, matrix.lfs(), item, j, value).map_err(lm_error)? {
                votes.push((j as u32, l));
            }
        }
        matrix.push_row(&votes).map_err(lm_error)?;
        let gold = usize::try_from(label).ok().filter(|&l| l < n_classes).ok_or(IoError::GoldLabelOutOfRange {
            path: path.to_path_buf(),
            line: Some(line_no),
            item,
            label,
            n_labels: n_classes,
        })?;
        labels.push(gold);
        let text = parsed
            .text
            .or_else(|| parsed.data.as_ref().and_then(|d| d.get("text")).and_then(Value::as_str).map(str::to_owned));
        texts.push(text.unwrap_or_default());
        ids.push(match parsed.id {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => item.to_string(),
            Some(other) => other.to_string(),
        });
    }
    let matrix = match matrix {
        Some(m) => m,
        None => LabelMatrix::empty(graph, Vec::new()).map_err(|source| IoError::LabelMatrix {
            path: path.to_path_buf(),
            line: None,
            source,
        })?,
    };
    Ok(WrenchSplit { matrix, labels, texts, ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_flat_graph_is_rejected() {
        let graph = Arc::new(
            TaskGraph::new(vec![
                crate::schema::TaskDef::new("a", ["x", "y"]),
                crate::schema::TaskDef::new("b", ["x", "y"]).with_parent(0, 0),
            ])
            .unwrap(),
        );
        let err = load_split("nowhere.jsonl", graph).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nowhere.jsonl: schema mismatch: WRENCH files hold one flat task, but the graph has 2 tasks"
        );
    }

    #[test]
    fn missing_file_names_it() {
        let graph = Arc::new(TaskGraph::flat("class", ["a", "b"]).unwrap());
        let err = load_split("/nonexistent/dir/train.jsonl", graph).unwrap_err();
        assert!(matches!(err, IoError::Os { .. }));
        assert!(err.to_string().starts_with("/nonexistent/dir/train.jsonl: "), "{err}");
    }
}
