//! Python bindings of the label models: the native core (`metal_rs._core`) of the `metal_rs`
//! package, whose Python layer (`python/metal_rs/__init__.py`) gives it snorkel's API.
//!
//! The core takes label matrices as NumPy arrays (dense, `-1` = abstain) or as the three arrays
//! of a compressed sparse row matrix, fits any label model of the crate by name with the GIL
//! released, and returns probabilities as NumPy arrays. Every error is a Python `ValueError` (or
//! `TypeError`) carrying the crate's message; nothing here panics on user input.

use std::sync::Arc;

use metal_runtime::analysis::LfSummary;
use metal_runtime::label_matrix::{LabelMatrix, LfInfo};
use metal_runtime::label_model::{
    expand_counts, ClassBalance, FitReport, FittedHierarchical, FittedHyperHier, FittedHyperLabelModel,
    FittedLabelModel, FittedMajorityVote, FittedMatrixCompletion, FittedTriplet, Hierarchical, HyperHier,
    HyperLabelModel, LabelModel, LfModel, MajorityVote, MatrixCompletion, Patterns, PrecInit, Triplet,
};
use metal_runtime::schema::TaskGraph;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Serialize};

/// The `ValueError` of a crate error (its message, as the crate words it).
fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The names [`fit`] accepts, with what each is (the `metal label-model --model` names).
const MODELS: &[(&str, &str)] = &[
    ("default", "the crate's default: hyper-hier"),
    ("hyper-hier", "the hierarchical generative model estimated from the Hyper Label Model's probabilities"),
    ("mc", "matrix completion (snorkel's LabelModel), learned class balance, centered penalty"),
    ("mc-snorkel", "matrix completion with snorkel's settings (uniform class balance, no penalty, 100 steps)"),
    ("mv", "majority vote (hierarchical on a task graph)"),
    ("soft-mv", "the generative model at equal LF weights, untrained"),
    ("hier", "the hierarchical generative model, extended form, by EM"),
    ("hier-sym", "hier with symmetric per-LF parameters"),
    ("hier-cc", "hier with a class-conditional table per LF"),
    ("hier-paper", "the generative model in the paper's exact form"),
    ("hyper", "the Hyper Label Model (a pretrained network, no fitting)"),
    ("triplet", "FlyingSquid's triplet method"),
];

/// A task hierarchy (or one flat task), validated by the crate.
#[pyclass(module = "metal_rs._core", frozen)]
struct Graph(Arc<TaskGraph>);

#[pymethods]
impl Graph {
    /// One task with `cardinality` classes named "0", "1", ...
    #[staticmethod]
    fn flat(cardinality: usize) -> PyResult<Self> {
        if cardinality < 2 {
            return Err(PyValueError::new_err(format!("cardinality must be at least 2, got {cardinality}")));
        }
        if cardinality > metal_runtime::schema::MAX_TOTAL_LABELS {
            return Err(PyValueError::new_err(format!(
                "cardinality {cardinality} is more than the {} labels a task graph can have",
                metal_runtime::schema::MAX_TOTAL_LABELS
            )));
        }
        let graph = TaskGraph::flat("task", (0..cardinality).map(|k| k.to_string())).map_err(value_error)?;
        Ok(Graph(Arc::new(graph)))
    }

    /// A graph from the crate's JSON form: `{"tasks": [...]}`, each task `{"name", "labels", "parent":
    /// {"task": index, "label": index}}`, the root first.
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        let graph: TaskGraph = serde_json::from_str(json).map_err(|e| value_error(format!("task graph: {e}")))?;
        Ok(Graph(Arc::new(graph)))
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.0).map_err(value_error)
    }

    /// Task names, in index order.
    #[getter]
    fn tasks(&self) -> Vec<String> {
        self.0.tasks().iter().map(|t| t.name.clone()).collect()
    }

    /// Each task's label names.
    #[getter]
    fn labels(&self) -> Vec<Vec<String>> {
        self.0.tasks().iter().map(|t| t.labels.clone()).collect()
    }

    /// End-label names (the columns of `predict_proba`).
    #[getter]
    fn end_labels(&self) -> Vec<String> {
        self.0.end_label_names().to_vec()
    }

    /// For each end label, each task's label on its path (`None` where the task is inactive).
    #[getter]
    fn end_label_paths(&self) -> Vec<Vec<Option<u16>>> {
        self.0.feasible_set().to_vec()
    }
}

/// A sparse label matrix over a graph's tasks.
#[pyclass(module = "metal_rs._core", frozen)]
struct Matrix(Arc<LabelMatrix>);

/// A dense label matrix of any signed integer type, read without a copy.
#[derive(FromPyObject)]
enum DenseLabels<'py> {
    I8(PyReadonlyArray2<'py, i8>),
    I16(PyReadonlyArray2<'py, i16>),
    I32(PyReadonlyArray2<'py, i32>),
    I64(PyReadonlyArray2<'py, i64>),
}

fn lf_infos(graph: &TaskGraph, lf_tasks: &[usize], lf_names: Vec<String>) -> PyResult<Vec<LfInfo>> {
    if lf_tasks.len() != lf_names.len() {
        return Err(value_error(format!("{} LF tasks for {} LF names", lf_tasks.len(), lf_names.len())));
    }
    lf_tasks
        .iter()
        .zip(lf_names)
        .map(|(&task, name)| {
            if task >= graph.n_tasks() {
                Err(value_error(format!(
                    "LF {name:?}: task {task} is not one of the graph's {} tasks",
                    graph.n_tasks()
                )))
            } else {
                Ok(LfInfo { name, task })
            }
        })
        .collect()
}

/// The label matrix of a dense NumPy array, read in place with the GIL released.
fn read_dense<T: numpy::Element + Copy + Into<i64> + Sync>(
    py: Python<'_>,
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    array: &PyReadonlyArray2<'_, T>,
) -> Result<LabelMatrix, metal_runtime::error::LabelMatrixError> {
    let view = array.as_array();
    py.detach(|| LabelMatrix::from_dense(graph, lfs, view))
}

#[pymethods]
impl Matrix {
    /// From a dense `n × m` integer array (int8, int16, int32 or int64, any strides, read in
    /// place); `-1` is an abstain, other values are labels of the column's task.
    #[staticmethod]
    fn from_dense(
        py: Python<'_>,
        graph: &Graph,
        lf_tasks: Vec<usize>,
        lf_names: Vec<String>,
        dense: DenseLabels<'_>,
    ) -> PyResult<Self> {
        let lfs = lf_infos(&graph.0, &lf_tasks, lf_names)?;
        let graph = graph.0.clone();
        let matrix = match &dense {
            DenseLabels::I8(a) => read_dense(py, graph, lfs, a),
            DenseLabels::I16(a) => read_dense(py, graph, lfs, a),
            DenseLabels::I32(a) => read_dense(py, graph, lfs, a),
            DenseLabels::I64(a) => read_dense(py, graph, lfs, a),
        };
        Ok(Matrix(Arc::new(matrix.map_err(value_error)?)))
    }

    /// From compressed sparse rows: row `i`'s votes are `indices[indptr[i]..indptr[i+1]]` (LF
    /// columns) with labels `labels[...]`.
    #[staticmethod]
    fn from_csr(
        py: Python<'_>,
        graph: &Graph,
        lf_tasks: Vec<usize>,
        lf_names: Vec<String>,
        indptr: PyReadonlyArray1<'_, i64>,
        indices: PyReadonlyArray1<'_, i64>,
        labels: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        let lfs = lf_infos(&graph.0, &lf_tasks, lf_names)?;
        let m = lfs.len();
        let (indptr, indices, labels) = (indptr.as_array(), indices.as_array(), labels.as_array());
        let graph = graph.0.clone();
        let matrix = py.detach(|| -> Result<LabelMatrix, String> {
            if indices.len() != labels.len() {
                return Err(format!("{} column indices for {} labels", indices.len(), labels.len()));
            }
            if indptr.is_empty() || indptr[0] != 0 || indptr[indptr.len() - 1] as usize != indices.len() {
                return Err("indptr must start at 0 and end at the number of stored votes".into());
            }
            let mut matrix = LabelMatrix::empty(graph, lfs).map_err(|e| e.to_string())?;
            let mut row: Vec<(u32, u16)> = Vec::new();
            for i in 0..indptr.len() - 1 {
                let (lo, hi) = (indptr[i], indptr[i + 1]);
                if hi < lo {
                    return Err(format!("indptr decreases at row {i}"));
                }
                row.clear();
                for s in lo as usize..hi as usize {
                    let (j, v) = (indices[s], labels[s]);
                    if j < 0 || j as usize >= m {
                        return Err(format!("row {i}: column {j} is outside the {m} LFs"));
                    }
                    if v < 0 || v > i64::from(u16::MAX) {
                        return Err(format!("row {i}, LF {j}: label {v} is negative or too large"));
                    }
                    row.push((j as u32, v as u16));
                }
                row.sort_unstable_by_key(|&(j, _)| j);
                if let Some(w) = row.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(format!("row {i}: LF {} votes twice", w[0].0));
                }
                matrix.push_row(&row).map_err(|e| format!("row {i}: {e}"))?;
            }
            Ok(matrix)
        });
        Ok(Matrix(Arc::new(matrix.map_err(value_error)?)))
    }

    #[getter]
    fn n_items(&self) -> usize {
        self.0.n_items()
    }

    #[getter]
    fn n_lfs(&self) -> usize {
        self.0.n_lfs()
    }

    /// The dense `n × m` int16 form (`-1` = abstain).
    fn to_dense<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<i16>> {
        self.0.to_dense().into_pyarray(py)
    }
}

/// Settings a fit takes from Python; each applies to the models that have it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// The prior over end labels; `None`: the model's own (learned, or uniform for some).
    #[serde(default)]
    class_balance: Option<Vec<f64>>,
    #[serde(default)]
    n_epochs: Option<usize>,
    #[serde(default)]
    lr: Option<f64>,
    #[serde(default)]
    l2: Option<f64>,
    #[serde(default)]
    prec_init: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mu_eps: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    progress: bool,
}

/// Which options `model` uses.
fn model_options(model: &str) -> &'static [&'static str] {
    match model {
        "mv" => &[],
        "hyper" => &[],
        "soft-mv" => &["class_balance"],
        "triplet" => &["class_balance"],
        "mc" | "mc-snorkel" => &["class_balance", "n_epochs", "lr", "l2", "prec_init", "mu_eps"],
        "hier" | "hier-sym" | "hier-cc" | "hier-paper" => &["class_balance", "n_epochs", "lr", "l2"],
        _ => &["class_balance", "seed"], // hyper-hier
    }
}

fn canonical(model: &str) -> PyResult<&'static str> {
    let name = if model == "default" { "hyper-hier" } else { model };
    MODELS.iter().map(|(n, _)| *n).find(|&n| n == name).ok_or_else(|| {
        let names: Vec<&str> = MODELS.iter().map(|(n, _)| *n).collect();
        value_error(format!("unknown model '{model}'; the models are: {}", names.join(", ")))
    })
}

/// A fitted model of any kind (each is `Send`, so it can be fit with the GIL released).
#[derive(Debug, Clone)]
enum AnyFitted {
    Mv(FittedMajorityVote),
    Hier(FittedHierarchical),
    HyperHier(FittedHyperHier),
    Mc(FittedMatrixCompletion),
    Hyper(FittedHyperLabelModel),
    Triplet(FittedTriplet),
}

impl AnyFitted {
    fn get(&self) -> &dyn FittedLabelModel {
        match self {
            AnyFitted::Mv(m) => m,
            AnyFitted::Hier(m) => m,
            AnyFitted::HyperHier(m) => m,
            AnyFitted::Mc(m) => m,
            AnyFitted::Hyper(m) => m,
            AnyFitted::Triplet(m) => m,
        }
    }
}

/// What a model is fit on: the items of a label matrix, or (a loaded model) distinct vote
/// patterns with their counts.
#[derive(Clone, Copy)]
enum Input<'a> {
    Items(&'a LabelMatrix),
    Patterns(&'a LabelMatrix, &'a [u64]),
}

fn fit_on<M: LabelModel>(model: &M, input: Input<'_>) -> Result<M::Fitted, metal_runtime::error::LabelModelError> {
    match input {
        Input::Items(matrix) => model.fit(matrix),
        Input::Patterns(patterns, counts) => model.fit_counts(patterns, counts),
    }
}

fn fit_model(model: &str, options: &Options, input: Input<'_>) -> metal_runtime::Result<AnyFitted> {
    let balance = options.class_balance.as_ref().map(|p| ClassBalance::Given(p.clone()));
    let hier = |base: Hierarchical| {
        let mut h = Hierarchical { progress: options.progress, ..base };
        if let Some(b) = &balance {
            h.class_balance = b.clone();
        }
        if let Some(n) = options.n_epochs {
            h.n_epochs = n;
        }
        if let Some(lr) = options.lr {
            h.lr = lr;
        }
        if let Some(l2) = options.l2 {
            h.l2 = l2;
        }
        h
    };
    Ok(match model {
        "mv" => AnyFitted::Mv(fit_on(&MajorityVote, input)?),
        "hyper" => AnyFitted::Hyper(fit_on(&HyperLabelModel::default(), input)?),
        "soft-mv" => {
            let h =
                Hierarchical { class_balance: balance.unwrap_or_default(), progress: false, ..Hierarchical::default() };
            match input {
                Input::Items(matrix) => AnyFitted::Hier(h.soft_mv(matrix)?),
                Input::Patterns(patterns, counts) => AnyFitted::Hier(h.soft_mv(&expand_counts(patterns, counts))?),
            }
        }
        "triplet" => {
            let mut t = Triplet::default();
            if let Some(b) = balance {
                t.class_balance = b;
            }
            AnyFitted::Triplet(fit_on(&t, input)?)
        }
        "mc" | "mc-snorkel" => {
            let mut mc = if model == "mc" { MatrixCompletion::default() } else { MatrixCompletion::snorkel() };
            if let Some(b) = balance {
                mc.class_balance = b;
            }
            if let Some(n) = options.n_epochs {
                mc.n_epochs = n;
            }
            if let Some(lr) = options.lr {
                mc.lr = lr;
            }
            if let Some(l2) = options.l2 {
                mc.l2 = Some(l2);
            }
            if let Some(p) = options.prec_init {
                mc.prec_init = PrecInit::Same(p);
            }
            if let Some(eps) = options.mu_eps {
                mc.mu_eps = Some(eps);
            }
            AnyFitted::Mc(fit_on(&mc, input)?)
        }
        "hier" => AnyFitted::Hier(fit_on(&hier(Hierarchical::default()), input)?),
        "hier-sym" => AnyFitted::Hier(fit_on(
            &hier(Hierarchical { lf_model: LfModel::Symmetric, ..Hierarchical::default() }),
            input,
        )?),
        "hier-cc" => AnyFitted::Hier(fit_on(
            &hier(Hierarchical { lf_model: LfModel::ClassConditional, ..Hierarchical::default() }),
            input,
        )?),
        "hier-paper" => AnyFitted::Hier(fit_on(&hier(Hierarchical::paper()), input)?),
        _ => {
            let mut h = HyperHier::default();
            if let Some(b) = balance {
                h.generative.class_balance = b;
            }
            if let Some(seed) = options.seed {
                h.seed = seed;
            }
            AnyFitted::HyperHier(fit_on(&h, input)?)
        }
    })
}

/// The distinct vote patterns of `matrix`, as a matrix with one row per pattern, and their
/// counts.
fn distinct_patterns(matrix: &LabelMatrix) -> (LabelMatrix, Vec<u64>) {
    let pats = Patterns::new(matrix);
    // Each pattern's first item, in pattern order.
    let mut first = vec![usize::MAX; pats.len()];
    for (i, &p) in pats.row_pattern().iter().enumerate() {
        let slot = &mut first[p as usize];
        if *slot == usize::MAX {
            *slot = i;
        }
    }
    (matrix.select_items(&first), pats.counts().iter().map(|&c| c as u64).collect())
}

/// What a saved model holds: the model's name and settings, the task graph and LFs, and the
/// training votes' distinct patterns with their counts. Loading fits the model again on them;
/// every fit is deterministic, so the loaded model is the saved one. JSON only: loading runs no
/// code.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    format: String,
    version: u32,
    model: String,
    options: Options,
    graph: TaskGraph,
    lfs: Vec<LfInfo>,
    /// One list of `[lf, label]` pairs per pattern.
    patterns: Vec<Vec<(u32, u16)>>,
    counts: Vec<u64>,
}

const FORMAT: &str = "metal-rs label model";

/// A fitted label model.
#[pyclass(module = "metal_rs._core", frozen)]
struct Fitted {
    model: &'static str,
    options: Options,
    training: Training,
    fitted: AnyFitted,
}

impl Fitted {
    /// The task graph of the training matrix.
    fn training_graph(&self) -> &TaskGraph {
        match &self.training {
            Training::Items(matrix) => matrix.graph(),
            Training::Patterns(patterns, _) => patterns.graph(),
        }
    }
}

/// What a model was fit on, kept for saving it.
enum Training {
    /// The training matrix (shared with the Python object it came from); its distinct patterns
    /// are counted when the model is saved.
    Items(Arc<LabelMatrix>),
    /// The patterns and counts of a loaded model.
    Patterns(LabelMatrix, Vec<u64>),
}

#[pymethods]
impl Fitted {
    /// The model's name.
    #[getter]
    fn model(&self) -> &'static str {
        self.model
    }

    /// The distribution over end labels of each item of `matrix` (`n × K`).
    fn predict_proba<'py>(&self, py: Python<'py>, matrix: &Matrix) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let probs = py.detach(|| self.fitted.get().predict_proba(&matrix.0)).map_err(value_error)?;
        Ok(probs.into_end_labels().into_pyarray(py))
    }

    /// Per task, the distribution over its labels (`n × k_t`; rows where the task is inactive
    /// are zero).
    fn task_marginals<'py>(&self, py: Python<'py>, matrix: &Matrix) -> PyResult<Bound<'py, PyDict>> {
        let probs = py.detach(|| self.fitted.get().predict_proba(&matrix.0)).map_err(value_error)?;
        let out = PyDict::new(py);
        for (t, task) in probs.graph().tasks().iter().enumerate() {
            out.set_item(&task.name, probs.task_marginals(t).into_pyarray(py))?;
        }
        Ok(out)
    }

    /// Learned per-LF accuracies, when the model has them.
    fn lf_accuracies<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.fitted.get().lf_accuracies().map(|a| a.into_pyarray(py))
    }

    /// snorkel's conditional probability table of a flat matrix-completion model: `m × (k+1) × k`,
    /// entry `[j, v + 1, y] = P(LF j votes v | Y = y)` and `[j, 0, y]` its abstain probability;
    /// `None` for other models and for hierarchies.
    fn conditional_probs<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray3<f64>>> {
        let AnyFitted::Mc(mc) = &self.fitted else { return None };
        let graph = self.training_graph();
        if graph.n_tasks() != 1 {
            return None;
        }
        let (k, mu) = (graph.n_end_labels(), mc.mu());
        let m = mu.nrows() / k;
        let table = ndarray::Array3::from_shape_fn((m, k + 1, k), |(j, v, y)| {
            if v == 0 {
                1.0 - (0..k).map(|u| mu[[j * k + u, y]]).sum::<f64>()
            } else {
                mu[[j * k + v - 1, y]]
            }
        });
        Some(table.into_pyarray(py))
    }

    /// The prior over end labels the model uses, when it has one.
    fn class_prior<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.fitted.get().class_prior().map(|a| a.into_pyarray(py))
    }

    /// What the fit did, as JSON.
    fn fit_report(&self) -> PyResult<String> {
        let report: &FitReport = self.fitted.get().fit_report();
        serde_json::to_string(report).map_err(value_error)
    }

    /// The saved form (JSON).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let counted;
        let (patterns, counts) = match &self.training {
            Training::Items(matrix) => {
                counted = py.detach(|| distinct_patterns(matrix));
                (&counted.0, &counted.1)
            }
            Training::Patterns(patterns, counts) => (patterns, counts),
        };
        let rows = (0..patterns.n_items()).map(|p| patterns.row(p).map(|(j, v)| (j as u32, v)).collect());
        let saved = Saved {
            format: FORMAT.into(),
            version: 1,
            model: self.model.into(),
            options: self.options.clone(),
            graph: patterns.graph().clone(),
            lfs: patterns.lfs().to_vec(),
            patterns: rows.collect(),
            counts: counts.clone(),
        };
        serde_json::to_string(&saved).map_err(value_error)
    }

    /// A model from its saved form, fit again on the saved patterns (the same model).
    #[staticmethod]
    fn from_json(py: Python<'_>, json: &str) -> PyResult<Self> {
        let saved: Saved =
            serde_json::from_str(json).map_err(|e| value_error(format!("not a saved label model: {e}")))?;
        if saved.format != FORMAT || saved.version != 1 {
            return Err(value_error(format!(
                "not a saved label model of this version: format {:?}, version {} (expected {FORMAT:?}, 1)",
                saved.format, saved.version
            )));
        }
        let model = canonical(&saved.model)?;
        if saved.counts.len() != saved.patterns.len() {
            return Err(value_error(format!("{} counts for {} patterns", saved.counts.len(), saved.patterns.len())));
        }
        let graph = Arc::new(saved.graph);
        let mut patterns = LabelMatrix::empty(graph, saved.lfs).map_err(value_error)?;
        for (p, row) in saved.patterns.iter().enumerate() {
            patterns.push_row(row).map_err(|e| value_error(format!("pattern {p}: {e}")))?;
        }
        let (options, counts) = (saved.options, saved.counts);
        let fitted =
            py.detach(|| fit_model(model, &options, Input::Patterns(&patterns, &counts))).map_err(value_error)?;
        Ok(Fitted { model, options, training: Training::Patterns(patterns, counts), fitted })
    }
}

/// Fits `model` on `matrix` with `options` (JSON of [`Options`]), with the GIL released.
#[pyfunction]
fn fit(py: Python<'_>, model: &str, options: &str, matrix: &Matrix) -> PyResult<Fitted> {
    let model = canonical(model)?;
    let options: Options = serde_json::from_str(options).map_err(|e| value_error(format!("fit options: {e}")))?;
    let fitted = py.detach(|| fit_model(model, &options, Input::Items(&matrix.0))).map_err(value_error)?;
    Ok(Fitted { model, options, training: Training::Items(matrix.0.clone()), fitted })
}

/// The models by name, with a line on each.
#[pyfunction]
fn models() -> Vec<(&'static str, &'static str)> {
    MODELS.to_vec()
}

/// The options each model uses.
#[pyfunction]
fn options_of(model: &str) -> PyResult<Vec<&'static str>> {
    Ok(model_options(canonical(model)?).to_vec())
}

/// Coverage, overlaps, conflicts (and, with `gold`, correct and incorrect votes and empirical
/// accuracy) of each LF, as the crate's `LfSummary` in JSON.
#[pyfunction]
#[pyo3(signature = (matrix, gold=None))]
fn lf_summary(py: Python<'_>, matrix: &Matrix, gold: Option<Vec<i64>>) -> PyResult<String> {
    let summary = py
        .detach(|| -> Result<LfSummary, String> {
            let summary = LfSummary::new(&matrix.0);
            match gold {
                None => Ok(summary),
                Some(gold) => {
                    let k = matrix.0.graph().n_end_labels();
                    let gold: Vec<usize> = gold
                        .iter()
                        .enumerate()
                        .map(|(i, &y)| {
                            usize::try_from(y)
                                .ok()
                                .filter(|&y| y < k)
                                .ok_or_else(|| format!("Y[{i}] = {y} is not an end label (0..{k})"))
                        })
                        .collect::<Result<_, _>>()?;
                    summary.with_gold(&matrix.0, &gold).map_err(|e| e.to_string())
                }
            }
        })
        .map_err(value_error)?;
    serde_json::to_string(&summary).map_err(value_error)
}

/// The native core of `metal_rs`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Graph>()?;
    m.add_class::<Matrix>()?;
    m.add_class::<Fitted>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(options_of, m)?)?;
    m.add_function(wrap_pyfunction!(lf_summary, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
