//! The synthetic-problem folder format of the benchmark generator `gen_synthetic.py`.
//!
//! A problem folder holds:
//!
//! | file | contents |
//! |---|---|
//! | `schema.json` | `tasks` (each with `name`, `cardinality`, `parent`, `parent_value`), `lf_task` (the task of each LF), `end_labels`, and optionally the true parameters `lf_accuracy`, `lf_propensity`, `class_balance` |
//! | `L_train.npy`, `L_test.npy` | label matrices, n × M, `-1` = abstain, otherwise a label `0..k_t` of LF `j`'s task |
//! | `Y_train.npy`, `Y_test.npy` | gold end labels `0..K` |
//! | `Ytask_train.npy`, `Ytask_test.npy` | gold task labels, n × T, `-1` where a task is off the gold path |
//!
//! Tasks are numbered breadth-first with the root first. `end_labels` may list the end labels in
//! any order: each entry is matched to the task graph's end label by its `path`, and its `index`
//! is the number the gold-label files use ([`Problem::end_label_order`] keeps the mapping when it
//! differs from the graph's feasible-set order, leaf-task-major in task order, which
//! [`Problem::save`] writes). Only `schema.json` and `L_train.npy` are required.
//!
//! Label names default to `"0"`, …, `"k-1"` and LF names to `lf0`, …, `lf{M-1}`; a task's optional
//! `labels` list and the optional top-level `lf_names` list override them (and
//! [`Problem::save`] writes them when they differ from the defaults).

use std::fs;
use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{IoError, SchemaError};
use crate::io::{malformed, npy, numbered_lfs, os_error, read_json, write_atomic};
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::{TaskDef, TaskGraph};

/// File name of the schema in a problem folder.
pub const SCHEMA_FILE: &str = "schema.json";

/// Keys of `schema.json` that [`Problem`] interprets; all others are kept in
/// [`Problem::metadata`].
const KNOWN_KEYS: &[&str] = &[
    "tasks",
    "end_labels",
    "lf_task",
    "lf_names",
    "lfs_per_task",
    "lf_accuracy",
    "lf_propensity",
    "class_balance",
    "T",
    "K",
    "M",
    "n_train",
    "n_test",
];

/// A synthetic weak-supervision problem: a task graph, LFs, label matrices and (optionally) the
/// gold labels and true parameters it was generated from.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The task hierarchy.
    pub graph: Arc<TaskGraph>,
    /// The LFs (columns of the label matrices).
    pub lfs: Vec<LfInfo>,
    /// Training label matrix \(L\), n_train × M.
    pub train: LabelMatrix,
    /// Test label matrix, n_test × M.
    pub test: Option<LabelMatrix>,
    /// Gold end label of each training item, `0..K`.
    pub y_train: Option<Vec<usize>>,
    /// Gold end label of each test item, `0..K`.
    pub y_test: Option<Vec<usize>>,
    /// Gold task-label vector of each test item (∅ = `None` for tasks off the gold path).
    pub ytask_test: Option<Vec<Vec<Option<u16>>>>,
    /// True accuracy of each LF (probability of the correct label when it fires on its task).
    pub lf_accuracy: Option<Vec<f64>>,
    /// True propensity of each LF (probability of firing when its task is on the gold path).
    pub lf_propensity: Option<Vec<f64>>,
    /// True prior over the end labels, length K.
    pub class_balance: Option<Vec<f64>>,
    /// The other keys of `schema.json` (generator, seed, statistics, …), written back by
    /// [`Problem::save`].
    pub metadata: Map<String, Value>,
    /// When `schema.json` lists its end labels in another order than the task graph's: the
    /// graph's end label of each of the file's indices. The gold labels and the class balance
    /// above are already in the graph's numbering; map probabilities back with it to write them in
    /// the file's order. [`Problem::save`] writes the graph's order.
    pub end_label_order: Option<Vec<usize>>,
}

/// One entry of `schema.json`'s `tasks`.
#[derive(Debug, Serialize, Deserialize)]
struct TaskEntry {
    name: String,
    cardinality: usize,
    #[serde(default)]
    parent: Option<usize>,
    #[serde(default)]
    parent_value: Option<usize>,
    /// Child task of each value, or `None` for a leaf task; written for other readers, not read.
    #[serde(default, skip_deserializing)]
    children: Option<Vec<Option<usize>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
}

/// One entry of `schema.json`'s `end_labels`.
#[derive(Debug, Serialize, Deserialize)]
struct EndLabelEntry {
    index: usize,
    task: usize,
    value: usize,
    /// `(task, value)` from the root to the leaf.
    path: Vec<(usize, usize)>,
    #[serde(default)]
    name: String,
}

/// Removes `key` from `map` and deserializes it; `None` when absent or `null`.
fn take<T: DeserializeOwned>(map: &mut Map<String, Value>, key: &str, path: &Path) -> Result<Option<T>, IoError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| malformed(path, format!("key `{key}`: {}", super::json_message(&e)))),
    }
}

/// Like [`take`], for a key that must be present.
fn require<T: DeserializeOwned>(map: &mut Map<String, Value>, key: &str, path: &Path) -> Result<T, IoError> {
    take(map, key, path)?.ok_or_else(|| malformed(path, format!("missing key `{key}`")))
}

fn count_mismatch(path: &Path, what: impl Into<String>, expected: usize, found: usize) -> IoError {
    IoError::CountMismatch { path: path.to_path_buf(), line: None, what: what.into(), expected, found }
}

fn schema_mismatch(path: &Path, what: String) -> IoError {
    IoError::Schema { path: path.to_path_buf(), source: SchemaError::Mismatch { what } }
}

/// The parts of `schema.json` that [`Problem`] interprets.
struct SchemaParts {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    lf_accuracy: Option<Vec<f64>>,
    lf_propensity: Option<Vec<f64>>,
    class_balance: Option<Vec<f64>>,
    n_train: Option<usize>,
    n_test: Option<usize>,
    metadata: Map<String, Value>,
    /// The graph's end label of each of the file's end-label indices, when they differ.
    end_label_order: Option<Vec<usize>>,
}

fn read_schema(path: &Path) -> Result<SchemaParts, IoError> {
    let value: Value = read_json(path)?;
    let Value::Object(mut map) = value else {
        return Err(malformed(path, "expected a JSON object at the top level"));
    };
    let entries: Vec<TaskEntry> = require(&mut map, "tasks", path)?;
    // Checked before any label is made: a task has 2 to 65,535 labels, and all tasks together
    // at most `MAX_TOTAL_LABELS`.
    for (t, entry) in entries.iter().enumerate() {
        if !(2..=usize::from(u16::MAX)).contains(&entry.cardinality) {
            return Err(malformed(
                path,
                format!(
                    "task {t} (`{}`) has cardinality {}; a task has 2 to 65535 labels",
                    entry.name, entry.cardinality
                ),
            ));
        }
    }
    let total = entries.iter().fold(0usize, |sum, e| sum.saturating_add(e.cardinality));
    if total > crate::schema::MAX_TOTAL_LABELS {
        return Err(malformed(
            path,
            format!(
                "the tasks have {total} labels in all; a schema has at most {} (the label models' tables grow \
                 with it)",
                crate::schema::MAX_TOTAL_LABELS
            ),
        ));
    }
    let mut tasks = Vec::with_capacity(entries.len());
    for (t, entry) in entries.into_iter().enumerate() {
        let labels = match entry.labels {
            Some(labels) => {
                if labels.len() != entry.cardinality {
                    return Err(count_mismatch(
                        path,
                        format!("labels of task {t} (`{}`), per its `cardinality`", entry.name),
                        entry.cardinality,
                        labels.len(),
                    ));
                }
                labels
            }
            None => (0..entry.cardinality).map(|v| v.to_string()).collect(),
        };
        let mut def = TaskDef::new(entry.name, labels);
        def.description = entry.description;
        match (entry.parent, entry.parent_value) {
            (None, None) => {}
            (Some(parent), Some(value)) => {
                let value = u16::try_from(value).map_err(|_| {
                    malformed(path, format!("task {t} (`{}`): `parent_value` {value} is out of range", def.name))
                })?;
                def = def.with_parent(parent, value);
            }
            _ => {
                return Err(malformed(
                    path,
                    format!("task {t} (`{}`): `parent` and `parent_value` must both be set or both be null", def.name),
                ))
            }
        }
        tasks.push(def);
    }
    let graph = Arc::new(TaskGraph::new(tasks).map_err(|source| IoError::Schema { path: path.to_path_buf(), source })?);

    if let Some(t) = take::<usize>(&mut map, "T", path)? {
        if t != graph.n_tasks() {
            return Err(count_mismatch(path, "`T` vs. the number of `tasks`", graph.n_tasks(), t));
        }
    }
    if let Some(k) = take::<usize>(&mut map, "K", path)? {
        if k != graph.n_end_labels() {
            return Err(count_mismatch(path, "`K` vs. the number of end labels of `tasks`", graph.n_end_labels(), k));
        }
    }
    let end_label_order = match take::<Vec<EndLabelEntry>>(&mut map, "end_labels", path)? {
        Some(ends) => {
            let order = end_label_order(path, &graph, &ends)?;
            (order.iter().enumerate().any(|(f, &g)| f != g)).then_some(order)
        }
        None => None,
    };

    let lf_task: Vec<usize> = require(&mut map, "lf_task", path)?;
    let m = lf_task.len();
    if let Some(m_key) = take::<usize>(&mut map, "M", path)? {
        if m_key != m {
            return Err(count_mismatch(path, "`M` vs. the length of `lf_task`", m, m_key));
        }
    }
    let mut lfs = numbered_lfs(lf_task);
    if let Some(names) = take::<Vec<String>>(&mut map, "lf_names", path)? {
        if names.len() != m {
            return Err(count_mismatch(path, "length of `lf_names` vs. `lf_task`", m, names.len()));
        }
        for (lf, name) in lfs.iter_mut().zip(names) {
            lf.name = name;
        }
    }
    // Checks every LF's task.
    LabelMatrix::empty(graph.clone(), lfs.clone()).map_err(|source| IoError::LabelMatrix {
        path: path.to_path_buf(),
        line: None,
        source,
    })?;
    // Derived from `lf_task`; recomputed on save.
    take::<Value>(&mut map, "lfs_per_task", path)?;

    let mut vector = |key: &str, expected: usize, per: &str| -> Result<Option<Vec<f64>>, IoError> {
        let v: Option<Vec<f64>> = take(&mut map, key, path)?;
        match v {
            Some(v) if v.len() != expected => {
                Err(count_mismatch(path, format!("length of `{key}` ({per})"), expected, v.len()))
            }
            v => Ok(v),
        }
    };
    let lf_accuracy = vector("lf_accuracy", m, "one per LF")?;
    let lf_propensity = vector("lf_propensity", m, "one per LF")?;
    let mut class_balance = vector("class_balance", graph.n_end_labels(), "one per end label")?;
    if let (Some(cb), Some(order)) = (&mut class_balance, &end_label_order) {
        let mut by_graph = vec![0.0; cb.len()];
        for (f, &g) in order.iter().enumerate() {
            by_graph[g] = cb[f];
        }
        *cb = by_graph;
    }
    let n_train = take(&mut map, "n_train", path)?;
    let n_test = take(&mut map, "n_test", path)?;
    debug_assert!(KNOWN_KEYS.iter().all(|k| !map.contains_key(*k)));
    Ok(SchemaParts {
        graph,
        lfs,
        lf_accuracy,
        lf_propensity,
        class_balance,
        n_train,
        n_test,
        metadata: map,
        end_label_order,
    })
}

/// The graph's end label of each of the file's end-label indices. `end_labels` may list the end
/// labels in any order: each entry is matched to the graph's by its path, and its `index` is the
/// number the gold-label files use for it.
fn end_label_order(path: &Path, graph: &TaskGraph, ends: &[EndLabelEntry]) -> Result<Vec<usize>, IoError> {
    let k_all = graph.n_end_labels();
    if ends.len() != k_all {
        return Err(count_mismatch(path, "entries of `end_labels` vs. end labels of `tasks`", k_all, ends.len()));
    }
    let mut order = vec![usize::MAX; k_all];
    let mut seen = vec![false; k_all];
    for (e, end) in ends.iter().enumerate() {
        let mut vector = vec![None; graph.n_tasks()];
        let mut path_ok = true;
        for &(t, v) in &end.path {
            match (vector.get_mut(t), u16::try_from(v)) {
                (Some(slot), Ok(v)) if slot.is_none() => *slot = Some(v),
                _ => path_ok = false,
            }
        }
        let k = if path_ok { graph.end_label_of(&vector) } else { None };
        let leaf_ok = k.is_some_and(|k| u16::try_from(end.value).is_ok_and(|v| graph.leaf(k) == (end.task, v)));
        let Some(k) = k.filter(|_| leaf_ok) else {
            return Err(schema_mismatch(
                path,
                format!(
                    "entry {e} of `end_labels` (index {}, task {}, value {}, path {:?}) is not an end label of the task \
                     graph: its path must go from the root task to a leaf, ending at its task and value",
                    end.index, end.task, end.value, end.path
                ),
            ));
        };
        if end.index >= k_all || order[end.index] != usize::MAX {
            return Err(schema_mismatch(
                path,
                format!(
                    "entry {e} of `end_labels` has index {}: indices must be 0..{k_all}, each used once",
                    end.index
                ),
            ));
        }
        if std::mem::replace(&mut seen[k], true) {
            return Err(schema_mismatch(
                path,
                format!("entry {e} of `end_labels` (path {:?}) repeats an end label listed before", end.path),
            ));
        }
        order[end.index] = k;
    }
    Ok(order)
}

/// The `(task, value)` pairs from the root to end label `k`.
fn path_of(graph: &TaskGraph, k: usize) -> Vec<(usize, usize)> {
    let mut path = Vec::new();
    let mut t = graph.root();
    while let Some(v) = graph.feasible(k)[t] {
        path.push((t, usize::from(v)));
        match graph.child(t, v) {
            Some(c) => t = c,
            None => break,
        }
    }
    path
}

/// Converts a gold end-label vector, checking its length and range, into the graph's numbering
/// (`order`: the graph's end label of each file index, when they differ).
fn end_labels_from(
    path: &Path,
    raw: Vec<i64>,
    n_items: usize,
    n_labels: usize,
    order: Option<&[usize]>,
) -> Result<Vec<usize>, IoError> {
    if raw.len() != n_items {
        return Err(count_mismatch(path, "gold labels (one per row of the label matrix)", n_items, raw.len()));
    }
    raw.into_iter()
        .enumerate()
        .map(|(item, label)| match usize::try_from(label) {
            Ok(l) if l < n_labels => Ok(order.map_or(l, |o| o[l])),
            _ => Err(IoError::GoldLabelOutOfRange { path: path.to_path_buf(), line: None, item, label, n_labels }),
        })
        .collect()
}

impl Problem {
    /// A problem with only a training matrix; the graph and LFs are the matrix's.
    pub fn new(train: LabelMatrix) -> Self {
        Problem {
            graph: train.graph_arc().clone(),
            lfs: train.lfs().to_vec(),
            train,
            test: None,
            y_train: None,
            y_test: None,
            ytask_test: None,
            lf_accuracy: None,
            lf_propensity: None,
            class_balance: None,
            metadata: Map::new(),
            end_label_order: None,
        }
    }

    /// Loads a problem folder written by `gen_synthetic.py` or [`Problem::save`].
    ///
    /// `schema.json` and `L_train.npy` are required; `L_test.npy`, `Y_train.npy`, `Y_test.npy`
    /// and `Ytask_test.npy` are read when present (`Y_test.npy` and `Ytask_test.npy` only with
    /// `L_test.npy`).
    ///
    /// # Errors
    /// An [`IoError`] naming the offending file: a missing or malformed key of `schema.json`, tasks
    /// that do not form one tree, an `end_labels` entry that is not an end label of the graph or
    /// repeats an index or an end label, an LF on a task that does not exist, counts (`T`, `K`, `M`, `n_train`, `n_test`, true-parameter
    /// lengths) that disagree, a label matrix with another number of columns than LFs or a label
    /// out of range, gold labels of the wrong length or out of range, or task labels that are not
    /// the gold end label's path.
    pub fn load(dir: impl AsRef<Path>) -> Result<Problem, IoError> {
        let dir = dir.as_ref();
        let schema_path = dir.join(SCHEMA_FILE);
        let parts = read_schema(&schema_path)?;
        let graph = parts.graph;
        let k = graph.n_end_labels();
        let order = parts.end_label_order.as_deref();

        let train_path = dir.join("L_train.npy");
        let train = npy::read_label_matrix(&train_path, graph.clone(), parts.lfs.clone())?;
        if let Some(n) = parts.n_train {
            if n != train.n_items() {
                return Err(count_mismatch(&train_path, "rows vs. `n_train` in schema.json", n, train.n_items()));
            }
        }
        let y_train_path = dir.join("Y_train.npy");
        let y_train = match exists(&y_train_path)? {
            true => {
                Some(end_labels_from(&y_train_path, npy::read_labels_1d(&y_train_path)?, train.n_items(), k, order)?)
            }
            false => None,
        };

        let test_path = dir.join("L_test.npy");
        let (mut test, mut y_test, mut ytask_test) = (None, None, None);
        if exists(&test_path)? {
            let matrix = npy::read_label_matrix(&test_path, graph.clone(), parts.lfs.clone())?;
            if let Some(n) = parts.n_test {
                if n != matrix.n_items() {
                    return Err(count_mismatch(&test_path, "rows vs. `n_test` in schema.json", n, matrix.n_items()));
                }
            }
            let y_path = dir.join("Y_test.npy");
            if exists(&y_path)? {
                y_test = Some(end_labels_from(&y_path, npy::read_labels_1d(&y_path)?, matrix.n_items(), k, order)?);
            }
            let ytask_path = dir.join("Ytask_test.npy");
            if exists(&ytask_path)? {
                ytask_test = Some(read_task_labels(&ytask_path, &graph, matrix.n_items(), y_test.as_deref())?);
            }
            test = Some(matrix);
        } else {
            for name in ["Y_test.npy", "Ytask_test.npy"] {
                let path = dir.join(name);
                if exists(&path)? {
                    return Err(malformed(&path, "the problem has gold test labels but no `L_test.npy`"));
                }
            }
        }

        Ok(Problem {
            graph,
            lfs: parts.lfs,
            train,
            test,
            y_train,
            y_test,
            ytask_test,
            lf_accuracy: parts.lf_accuracy,
            lf_propensity: parts.lf_propensity,
            class_balance: parts.class_balance,
            metadata: parts.metadata,
            end_label_order: parts.end_label_order,
        })
    }

    /// Writes the problem into `dir` (created if needed) in the format [`Problem::load`] reads.
    ///
    /// Writes `schema.json` (with `tasks` including `children`, `end_labels`, `lf_task`, `T`, `K`,
    /// `M`, `n_train`, `n_test`, `lfs_per_task`, the true parameters that are set, and
    /// [`metadata`](Problem::metadata)), the label matrices as int16, the gold labels, and
    /// `Ytask_train.npy`/`Ytask_test.npy` derived from the gold end labels (or from
    /// [`ytask_test`](Problem::ytask_test) when set). Files of the format for parts the problem
    /// does not have are removed, so the folder loads back as this problem. Each file is written
    /// atomically; `schema.json` is written last.
    ///
    /// # Errors
    /// If a label matrix has another graph or other LFs than the problem, a gold vector has the
    /// wrong length, or a file cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), IoError> {
        let dir = dir.as_ref();
        self.check_consistent(dir)?;
        fs::create_dir_all(dir).map_err(os_error(dir))?;
        let graph = &*self.graph;

        npy::write_label_matrix(dir.join("L_train.npy"), &self.train)?;
        let mut stale: Vec<&str> = Vec::new();
        match &self.y_train {
            Some(y) => {
                npy::write_labels_1d(dir.join("Y_train.npy"), y)?;
                write_task_labels(&dir.join("Ytask_train.npy"), graph, y.iter().map(|&k| graph.feasible(k)))?;
            }
            None => stale.extend(["Y_train.npy", "Ytask_train.npy"]),
        }
        match &self.test {
            Some(test) => {
                npy::write_label_matrix(dir.join("L_test.npy"), test)?;
                if let Some(y) = &self.y_test {
                    npy::write_labels_1d(dir.join("Y_test.npy"), y)?;
                } else {
                    stale.push("Y_test.npy");
                }
                let ytask_path = dir.join("Ytask_test.npy");
                match (&self.ytask_test, &self.y_test) {
                    (Some(rows), _) => write_task_labels(&ytask_path, graph, rows.iter().map(Vec::as_slice))?,
                    (None, Some(y)) => write_task_labels(&ytask_path, graph, y.iter().map(|&k| graph.feasible(k)))?,
                    (None, None) => stale.push("Ytask_test.npy"),
                }
            }
            None => stale.extend(["L_test.npy", "Y_test.npy", "Ytask_test.npy"]),
        }
        for name in stale {
            let path = dir.join(name);
            if exists(&path)? {
                fs::remove_file(&path).map_err(os_error(&path))?;
            }
        }

        let schema_path = dir.join(SCHEMA_FILE);
        let json = serde_json::to_string_pretty(&Value::Object(self.schema_json()))
            .map_err(|e| malformed(&schema_path, format!("cannot serialize: {e}")))?;
        write_atomic(&schema_path, |w| {
            use std::io::Write;
            w.write_all(json.as_bytes())?;
            w.write_all(b"\n")
        })
    }

    /// Checks the invariants [`Problem::save`] relies on; errors name the file they concern.
    fn check_consistent(&self, dir: &Path) -> Result<(), IoError> {
        let matrices = [("L_train.npy", Some(&self.train)), ("L_test.npy", self.test.as_ref())];
        for (name, matrix) in matrices {
            let Some(matrix) = matrix else { continue };
            if matrix.graph() != &*self.graph || matrix.lfs() != self.lfs.as_slice() {
                return Err(schema_mismatch(
                    &dir.join(name),
                    "the label matrix has another task graph or other LFs than the problem".into(),
                ));
            }
        }
        let k = self.graph.n_end_labels();
        let n_test = self.test.as_ref().map_or(0, LabelMatrix::n_items);
        let vectors = [
            ("Y_train.npy", self.y_train.as_deref(), self.train.n_items()),
            ("Y_test.npy", self.y_test.as_deref(), n_test),
        ];
        for (name, y, n) in vectors {
            let Some(y) = y else { continue };
            let path = dir.join(name);
            if y.len() != n {
                return Err(count_mismatch(&path, "gold labels (one per row of the label matrix)", n, y.len()));
            }
            if let Some((item, &label)) = y.iter().enumerate().find(|(_, &l)| l >= k) {
                return Err(IoError::GoldLabelOutOfRange { path, line: None, item, label: label as i64, n_labels: k });
            }
        }
        if let Some(rows) = &self.ytask_test {
            let path = dir.join("Ytask_test.npy");
            if rows.len() != n_test {
                return Err(count_mismatch(&path, "task-label rows (one per test item)", n_test, rows.len()));
            }
            if let Some(item) = rows.iter().position(|r| self.graph.end_label_of(r).is_none()) {
                return Err(malformed(&path, format!("item {item}: the task labels are not a feasible vector")));
            }
        }
        let m = self.lfs.len();
        let params = [
            ("lf_accuracy", self.lf_accuracy.as_ref(), m),
            ("lf_propensity", self.lf_propensity.as_ref(), m),
            ("class_balance", self.class_balance.as_ref(), k),
        ];
        for (key, v, n) in params {
            if let Some(v) = v.filter(|v| v.len() != n) {
                return Err(count_mismatch(&dir.join(SCHEMA_FILE), format!("length of `{key}`"), n, v.len()));
            }
        }
        Ok(())
    }

    /// The contents of `schema.json`.
    fn schema_json(&self) -> Map<String, Value> {
        let graph = &*self.graph;
        let mut map = self.metadata.clone();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_owned(), value);
        };
        let tasks: Vec<TaskEntry> = graph
            .tasks()
            .iter()
            .enumerate()
            .map(|(t, def)| {
                let default_labels = def.labels.iter().enumerate().all(|(v, l)| *l == v.to_string());
                let children: Vec<Option<usize>> = (0..def.cardinality()).map(|v| graph.child(t, v as u16)).collect();
                TaskEntry {
                    name: def.name.clone(),
                    cardinality: def.cardinality(),
                    parent: def.parent.map(|p| p.task),
                    parent_value: def.parent.map(|p| usize::from(p.label)),
                    children: children.iter().any(Option::is_some).then_some(children),
                    labels: (!default_labels).then(|| def.labels.clone()),
                    description: def.description.clone(),
                }
            })
            .collect();
        let ends: Vec<EndLabelEntry> = (0..graph.n_end_labels())
            .map(|k| {
                let (task, value) = graph.leaf(k);
                let path = path_of(graph, k);
                let name =
                    path.iter().map(|&(t, v)| format!("{}={v}", graph.task(t).name)).collect::<Vec<_>>().join("/");
                EndLabelEntry { index: k, task, value: usize::from(value), path, name }
            })
            .collect();
        let lf_task: Vec<usize> = self.lfs.iter().map(|lf| lf.task).collect();
        let mut lfs_per_task = vec![0usize; graph.n_tasks()];
        for &t in &lf_task {
            lfs_per_task[t] += 1;
        }
        put("tasks", serde_json::to_value(tasks).unwrap_or_default());
        put("end_labels", serde_json::to_value(ends).unwrap_or_default());
        put("lf_task", lf_task.into());
        if self.lfs.iter().enumerate().any(|(j, lf)| lf.name != format!("lf{j}")) {
            put("lf_names", self.lfs.iter().map(|lf| Value::from(lf.name.clone())).collect());
        }
        put("lfs_per_task", lfs_per_task.into());
        put("T", graph.n_tasks().into());
        put("K", graph.n_end_labels().into());
        put("M", self.lfs.len().into());
        put("n_train", self.train.n_items().into());
        if let Some(test) = &self.test {
            put("n_test", test.n_items().into());
        }
        for (key, v) in [
            ("lf_accuracy", &self.lf_accuracy),
            ("lf_propensity", &self.lf_propensity),
            ("class_balance", &self.class_balance),
        ] {
            if let Some(v) = v {
                put(key, v.clone().into());
            }
        }
        map
    }
}

/// Whether `path` exists (an error only if that cannot be determined).
fn exists(path: &Path) -> Result<bool, IoError> {
    path.try_exists().map_err(os_error(path))
}

/// Reads n × T gold task labels (`-1` = ∅) and checks each row is a feasible vector, and the
/// gold end label's vector when `y` is given.
fn read_task_labels(
    path: &Path,
    graph: &TaskGraph,
    n_items: usize,
    y: Option<&[usize]>,
) -> Result<Vec<Vec<Option<u16>>>, IoError> {
    let array = npy::read_int_2d(path)?;
    if array.nrows() != n_items {
        return Err(count_mismatch(path, "rows (one per test item)", n_items, array.nrows()));
    }
    if array.ncols() != graph.n_tasks() {
        return Err(count_mismatch(path, "columns (one per task)", graph.n_tasks(), array.ncols()));
    }
    let mut rows = Vec::with_capacity(n_items);
    for (item, row) in array.outer_iter().enumerate() {
        let labels: Option<Vec<Option<u16>>> = row
            .iter()
            .map(|&v| match v {
                -1 => Some(None),
                v => u16::try_from(v).ok().map(Some),
            })
            .collect();
        let end = labels.as_deref().and_then(|l| graph.end_label_of(l));
        let Some(end) = end else {
            return Err(malformed(
                path,
                format!(
                    "item {item}: task labels {row} are not the path of any end label (-1 marks a task off the path)"
                ),
            ));
        };
        if let Some(&gold) = y.and_then(|y| y.get(item)) {
            if gold != end {
                return Err(malformed(
                    path,
                    format!(
                        "item {item}: task labels {row} are the path of end label {end}, but Y_test.npy says {gold}"
                    ),
                ));
            }
        }
        rows.extend(labels);
    }
    Ok(rows)
}

/// Writes n × T task labels as int16 (`-1` = ∅).
fn write_task_labels<'a>(
    path: &Path,
    graph: &TaskGraph,
    rows: impl ExactSizeIterator<Item = &'a [Option<u16>]>,
) -> Result<(), IoError> {
    let n = rows.len();
    let mut array = Array2::from_elem((n, graph.n_tasks()), -1i64);
    for (mut out, row) in array.outer_iter_mut().zip(rows) {
        for (o, v) in out.iter_mut().zip(row) {
            *o = v.map_or(-1, i64::from);
        }
    }
    npy::write_int_2d(path, array.view())
}
