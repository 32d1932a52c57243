//! The Hyper Label Model (Wu et al., *Learning Hyper Label Model for Programmatic Weak
//! Supervision*, ICLR 2023): a small graph network, trained once on generated label matrices,
//! that reads a label matrix and outputs each item's label distribution in one forward pass, with
//! no fitting.
//!
//! The network sees the matrix as its non-abstain entries, each with a value of +1 or −1. Each of
//! its four layers maps an entry's embedding `h` to
//! `LeakyReLU(W·[A h, B mean_row(h), C mean_col(h), D mean_all(h)])`: the means over the entry's
//! row (item), column (LF) and the whole matrix. An item's embedding is the mean of its entries'
//! last-layer embeddings, and a three-layer MLP with a sigmoid turns it into the probability that
//! the item is positive. A class `c` of a multi-class task is scored on the one-vs-rest matrix
//! (+1 where an LF votes `c`, −1 where it votes another class) and the scores are normalized; two
//! classes take one run on the ±1 matrix.
//!
//! **Hierarchies.** An LF's vote on task `t` is evidence for every end label whose path takes that
//! value of `t` and against every other end label, including those under which `t` does not
//! apply. End label `c` is scored on the matrix with +1 where the vote is consistent with `c` and
//! −1 elsewhere; on a flat schema this is exactly the one-vs-rest scheme above.
//!
//! **Speed.** Items with identical votes have identical embeddings at every layer, so the network
//! runs on the distinct vote patterns weighted by their counts: the column and global means are
//! count-weighted sums. The cost is O(votes in distinct patterns) per class, independent of how
//! often each pattern occurs.
//!
//! **Transductive.** The output for an item depends on the whole matrix (through the column and
//! global means). [`FittedHyperLabelModel::predict_proba`] therefore runs the network on the rows
//! it was fit on together with the rows asked for; on the fit matrix itself this is the same as
//! running it on that matrix alone, since duplicating every row leaves every mean unchanged.
//!
//! The weights are the `hyperlm` 0.0.5 package's checkpoint (MIT, `LICENSE-hyperlm`), converted
//! once into plain JSON by `scripts/convert-hyperlm.py` (the checkpoint itself is a pickle, which
//! is never loaded) and embedded in the library at compile time. The probabilities equal the
//! package's `HyperLabelModel().infer(L, return_probs=True)` within 1e-4 (`tests/hyperlm.rs`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

mod fixed;

use super::{check_compatible, FitReport, FittedLabelModel, LabelModel, Patterns, ProbLabels};
use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

/// The converted checkpoint (see `scripts/convert-hyperlm.py`).
const WEIGHTS_JSON: &str = include_str!("weights.json");

/// Negative slope of the network's LeakyReLU (PyTorch's default).
pub(super) const LEAKY_SLOPE: f64 = 0.01;

/// Configuration of the Hyper Label Model. There is nothing to learn: fitting records the
/// training matrix's vote patterns.
///
/// ```
/// use std::sync::Arc;
/// use metal_runtime::label_model::{FittedLabelModel, HyperLabelModel, LabelModel};
/// use metal_runtime::prelude::*;
///
/// # fn main() -> metal_runtime::Result<()> {
/// let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
/// let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
/// let dense = ndarray::array![[1i16, 1, -1], [0, 0, 1], [1, -1, 1], [0, 0, 0]];
/// let matrix = LabelMatrix::from_dense(graph, lfs, dense.view())?;
/// let model = HyperLabelModel::default().fit(&matrix)?;
/// let probs = model.predict_proba(&matrix)?;
/// assert!(probs.end_labels()[[0, 1]] > 0.5);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HyperLabelModel {
    /// Rescale the probabilities as the reference package does when it returns probabilities:
    /// over the whole matrix, values above `1/K` are stretched so that the largest becomes 1 and
    /// values below so that the smallest becomes 0, then each row is renormalized. The most
    /// probable label of each item is unchanged; without it the probabilities are the network's
    /// raw normalized scores, which are less extreme.
    pub calibrate: bool,
}

impl Default for HyperLabelModel {
    fn default() -> Self {
        HyperLabelModel { calibrate: true }
    }
}

impl HyperLabelModel {
    /// The probabilities of the items of `matrix`, with the network run on exactly this matrix
    /// (the reference package's `infer`). [`LabelModel::fit`] followed by
    /// [`FittedLabelModel::predict_proba`] on the same matrix gives the same result.
    ///
    /// # Errors
    /// [`LabelModelError::Empty`] for a matrix without items.
    pub fn infer(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        self.infer_counts(matrix, None)
    }

    /// [`infer`](Self::infer) with row `i` of `matrix` standing for `counts[i]` items (`None`:
    /// one each); one row of probabilities per row of `matrix`.
    pub(crate) fn infer_counts(
        &self,
        matrix: &LabelMatrix,
        counts: Option<&[f64]>,
    ) -> Result<ProbLabels, LabelModelError> {
        if matrix.n_items() == 0 {
            return Err(LabelModelError::Empty);
        }
        let net = network()?;
        let pats = match counts {
            Some(c) => Patterns::with_counts(matrix, c.to_vec()),
            None => Patterns::new(matrix),
        };
        let per_pattern = run(net, matrix.graph(), matrix.lfs(), &pats, pats.counts(), self.calibrate);
        let k = matrix.graph().n_end_labels();
        let mut out = Array2::zeros((matrix.n_items(), k));
        for (mut row, &p) in out.outer_iter_mut().zip(pats.row_pattern()) {
            row.assign(&per_pattern.row(p as usize));
        }
        Ok(ProbLabels::new(matrix.graph_arc().clone(), out))
    }
}

/// The Hyper Label Model bound to the vote patterns of the matrix it was fit on.
#[derive(Debug, Clone)]
pub struct FittedHyperLabelModel {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    calibrate: bool,
    /// One row per distinct vote pattern of the fit matrix.
    patterns: LabelMatrix,
    counts: Vec<f64>,
    report: FitReport,
}

impl LabelModel for HyperLabelModel {
    type Fitted = FittedHyperLabelModel;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedHyperLabelModel, LabelModelError> {
        let start = Instant::now();
        if matrix.n_items() == 0 {
            return Err(LabelModelError::Empty);
        }
        network()?;
        let pats = Patterns::new(matrix);
        let (patterns, counts) = distinct_rows(matrix, &pats, |_| 1.0);
        Ok(self.fitted(patterns, counts, start))
    }

    fn fit_counts(&self, patterns: &LabelMatrix, counts: &[u64]) -> Result<FittedHyperLabelModel, LabelModelError> {
        let start = Instant::now();
        super::check_counts(patterns, counts)?;
        network()?;
        let counts = counts.iter().map(|&c| c as f64).collect();
        Ok(self.fitted(patterns.clone(), counts, start))
    }
}

impl HyperLabelModel {
    /// The fitted model of the weighted patterns `patterns`.
    fn fitted(&self, patterns: LabelMatrix, counts: Vec<f64>, start: Instant) -> FittedHyperLabelModel {
        let matrix = &patterns;
        FittedHyperLabelModel {
            graph: matrix.graph_arc().clone(),
            lfs: matrix.lfs().to_vec(),
            calibrate: self.calibrate,
            report: FitReport {
                model: "hyper_label_model".into(),
                n_items: counts.iter().sum::<f64>() as usize,
                n_patterns: counts.len(),
                converged: true,
                seconds: start.elapsed().as_secs_f64(),
                ..FitReport::default()
            },
            patterns,
            counts,
        }
    }
}

/// One row per distinct pattern (in pattern order) and each pattern's summed row weights.
fn distinct_rows(matrix: &LabelMatrix, pats: &Patterns<'_>, weight: impl Fn(usize) -> f64) -> (LabelMatrix, Vec<f64>) {
    let mut first = vec![usize::MAX; pats.len()];
    let mut counts = vec![0.0; pats.len()];
    for (i, &p) in pats.row_pattern().iter().enumerate() {
        let p = p as usize;
        if first[p] == usize::MAX {
            first[p] = i;
        }
        counts[p] += weight(i);
    }
    (matrix.select_items(&first), counts)
}

impl FittedLabelModel for FittedHyperLabelModel {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let net = network()?;
        // The fit rows (as weighted patterns) followed by the rows asked for.
        let mut union = self.patterns.clone();
        union.append(matrix).map_err(|e| LabelModelError::IncompatibleMatrix { what: e.to_string() })?;
        let n_fit = self.patterns.n_items();
        let pats = Patterns::new(&union);
        let (_, counts) = distinct_rows(&union, &pats, |i| if i < n_fit { self.counts[i] } else { 1.0 });
        let per_pattern = run(net, &self.graph, &self.lfs, &pats, &counts, self.calibrate);
        let k = self.graph.n_end_labels();
        let mut out = Array2::zeros((matrix.n_items(), k));
        for (i, mut row) in out.outer_iter_mut().enumerate() {
            let p = pats.row_pattern()[n_fit + i] as usize;
            row.assign(&per_pattern.row(p));
        }
        Ok(ProbLabels::new(self.graph.clone(), out))
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

/// One GNN layer with its linear maps folded: the output of entry `e` in row `p` and column `j`
/// is `LeakyReLU(a_self·h_e + a_row·mean_row(p) + a_col·mean_col(j) + a_all·mean_all + bias)`.
#[derive(Debug, Clone)]
struct Layer {
    d_in: usize,
    d_out: usize,
    /// Each `d_out × d_in`, row-major.
    /// `a_self` and `a_row` transposed (`d_in × d_out`), for column-wise updates.
    a_self_t: Vec<f64>,
    a_row_t: Vec<f64>,
    a_col: Vec<f64>,
    a_all: Vec<f64>,
    bias: Vec<f64>,
}

/// A dense layer `y = W x + b` (`W` is `d_out × d_in`, row-major).
#[derive(Debug, Clone)]
struct Dense {
    d_in: usize,
    d_out: usize,
    w: Vec<f64>,
    b: Vec<f64>,
}

/// The network: four GNN layers and the three-layer classifier, with their widths fixed at
/// compile time.
#[derive(Debug, Clone)]
struct Network {
    fixed: fixed::FixedNetwork,
}

#[derive(Deserialize)]
struct WeightsFile {
    tensors: HashMap<String, TensorJson>,
}

#[derive(Deserialize)]
struct TensorJson {
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// `a · b` for row-major `a` (`r × s`) and `b` (`s × c`).
fn matmul(a: &[f64], b: &[f64], r: usize, s: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for k in 0..s {
            let x = a[i * s + k];
            for j in 0..c {
                out[i * c + j] += x * b[k * c + j];
            }
        }
    }
    out
}

fn parse_network(json: &str) -> Result<Network, String> {
    let file: WeightsFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let dense = |name: &str| -> Result<Dense, String> {
        let w = file.tensors.get(&format!("{name}.weight")).ok_or(format!("no tensor {name}.weight"))?;
        let b = file.tensors.get(&format!("{name}.bias")).ok_or(format!("no tensor {name}.bias"))?;
        let [d_out, d_in] = w.shape[..] else { return Err(format!("{name}.weight is not a matrix")) };
        if w.data.len() != d_out * d_in || b.shape != [d_out] || b.data.len() != d_out {
            return Err(format!("{name}: weight {:?} and bias {:?} do not fit", w.shape, b.shape));
        }
        Ok(Dense { d_in, d_out, w: w.data.clone(), b: b.data.clone() })
    };
    let mut layers = Vec::new();
    for l in 0..4 {
        let p = format!("matrix_net.{l}");
        let mix = dense(&format!("{p}.linear"))?;
        let parts = ["linear_self", "linear_row", "linear_col", "linear_global"]
            .map(|n| dense(&format!("{p}.{n}")))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let d = parts[0].d_in;
        if mix.d_in != 4 * d || parts.iter().any(|q| q.d_in != d || q.d_out != d) {
            return Err(format!("{p}: layer shapes do not fit"));
        }
        // mix · [S h + b_s; R r + b_r; C c + b_c; G g + b_g] + b, block by block.
        let block = |i: usize| -> Vec<f64> {
            (0..mix.d_out).flat_map(|o| mix.w[o * 4 * d + i * d..o * 4 * d + (i + 1) * d].to_vec()).collect()
        };
        let mut folded = Vec::new();
        let mut bias = mix.b.clone();
        for (i, part) in parts.iter().enumerate() {
            let bl = block(i);
            folded.push(matmul(&bl, &part.w, mix.d_out, d, d));
            for (o, b) in bias.iter_mut().enumerate() {
                *b += bl[o * d..(o + 1) * d].iter().zip(&part.b).map(|(w, x)| w * x).sum::<f64>();
            }
        }
        let [a_self, a_row, a_col, a_all]: [Vec<f64>; 4] = folded.try_into().map_err(|_| "four blocks".to_string())?;
        let d_out = mix.d_out;
        let transpose = |a: &[f64]| -> Vec<f64> { (0..d * d_out).map(|i| a[(i % d_out) * d + i / d_out]).collect() };
        let (a_self_t, a_row_t) = (transpose(&a_self), transpose(&a_row));
        layers.push(Layer { d_in: d, d_out, a_self_t, a_row_t, a_col, a_all, bias });
    }
    let classify = [dense("classify.0")?, dense("classify.2")?, dense("classify.4")?];
    if layers[0].d_in != 1
        || layers.windows(2).any(|w| w[0].d_out != w[1].d_in)
        || classify[0].d_in != layers[3].d_out
        || classify[0].d_out != classify[1].d_in
        || classify[1].d_out != classify[2].d_in
        || classify[2].d_out != 1
    {
        return Err("the layers do not chain".into());
    }
    let fixed = fixed::FixedNetwork::new(&layers, &classify)?;
    Ok(Network { fixed })
}

/// The embedded network, parsed once.
fn network() -> Result<&'static Network, LabelModelError> {
    static NET: OnceLock<Result<Network, String>> = OnceLock::new();
    NET.get_or_init(|| parse_network(WEIGHTS_JSON))
        .as_ref()
        .map_err(|e| LabelModelError::Weights { what: format!("the embedded Hyper Label Model weights: {e}") })
}

fn leaky(x: f64) -> f64 {
    if x >= 0.0 {
        x
    } else {
        LEAKY_SLOPE * x
    }
}

/// Per pattern, the distribution over end labels (uniform for patterns with no vote).
fn run(
    net: &Network,
    graph: &TaskGraph,
    lfs: &[LfInfo],
    pats: &Patterns<'_>,
    counts: &[f64],
    calibrate: bool,
) -> Array2<f64> {
    let k = graph.n_end_labels();
    let n_pat = pats.len();
    let m = lfs.len();
    // Entry offsets of each pattern.
    let mut offsets = Vec::with_capacity(n_pat + 1);
    offsets.push(0usize);
    for p in 0..n_pat {
        offsets.push(offsets[p] + pats.pattern(p).0.len());
    }
    // How many rows each LF votes on, and how many votes there are, weighted by counts.
    let mut col_count = vec![0.0; m];
    let mut n_votes = 0.0;
    for (p, &c) in counts.iter().enumerate() {
        let (js, _) = pats.pattern(p);
        for &j in js {
            col_count[j as usize] += c;
        }
        n_votes += c * js.len() as f64;
    }
    let binary = graph.is_flat() && k == 2;
    let runs: Vec<usize> = if binary { vec![1] } else { (0..k).collect() };
    let feasible = graph.feasible_set();
    let mut scores = Array2::zeros((n_pat, runs.len()));
    for (r, &c) in runs.iter().enumerate() {
        // An LF's vote is +1 where it is the value of its task on end label c's path.
        let positive: Vec<Option<u16>> = lfs.iter().map(|lf| feasible[c][lf.task]).collect();
        let s = fixed::forward(net, pats, counts, &col_count, n_votes, &positive);
        scores.column_mut(r).assign(&ndarray::Array1::from(s));
    }
    let mut out = Array2::zeros((n_pat, k));
    for p in 0..n_pat {
        let mut row = out.row_mut(p);
        if offsets[p + 1] == offsets[p] {
            row.fill(1.0 / k as f64);
        } else if binary {
            row[0] = 1.0 - scores[[p, 0]];
            row[1] = scores[[p, 0]];
        } else {
            let sum: f64 = scores.row(p).sum();
            if sum > 0.0 {
                row.assign(&(&scores.row(p) / sum));
            } else {
                row.fill(1.0 / k as f64);
            }
        }
    }
    if calibrate {
        calibrate_probs(&mut out, |p| offsets[p + 1] > offsets[p]);
    }
    out
}

/// The reference package's rescaling of returned probabilities (see
/// [`HyperLabelModel::calibrate`]), over the rows for which `include(row)` is true.
fn calibrate_probs(probs: &mut Array2<f64>, include: impl Fn(usize) -> bool) {
    let k = probs.ncols();
    let tie = 1.0 / k as f64;
    let rows: Vec<usize> = (0..probs.nrows()).filter(|&p| include(p)).collect();
    let (mut hi, mut lo) = (f64::NEG_INFINITY, f64::INFINITY);
    for &p in &rows {
        for &v in probs.row(p) {
            if v > tie {
                hi = hi.max(v);
            }
            if v < tie {
                lo = lo.min(v);
            }
        }
    }
    for &p in &rows {
        let mut row = probs.row_mut(p);
        for v in row.iter_mut() {
            if *v > tie && hi > tie {
                *v = (*v - tie) * tie / (hi - tie) + tie;
            } else if *v < tie && lo < tie {
                *v = (*v - tie) * tie / (tie - lo) + tie;
            }
            *v = v.clamp(0.0, 1.0);
        }
        let sum = row.sum();
        if sum > 0.0 {
            row.mapv_inplace(|v| v / sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    #[test]
    fn embedded_weights_parse_and_chain() {
        let net = network().unwrap();
        assert_eq!(net.fixed.l3.width(), (8, 32));
    }

    #[test]
    fn bad_weights_are_errors() {
        assert!(parse_network("{}").is_err());
        assert!(parse_network(r#"{"tensors": {}}"#).unwrap_err().contains("matrix_net.0.linear.weight"));
    }

    /// Duplicating every row leaves every mean unchanged, so predicting on the fit matrix equals
    /// running the network on it alone; and the result does not depend on the thread count.
    #[test]
    fn prediction_is_transductive_and_thread_independent() {
        let mat = tree_matrix();
        let fit = HyperLabelModel::default().fit(&mat).unwrap();
        let p = fit.predict_proba(&mat).unwrap();
        assert_eq!(p, HyperLabelModel::default().infer(&mat).unwrap());
        let pats = Patterns::new(&mat);
        let (_, counts) = distinct_rows(&mat, &pats, |_| 1.0);
        let alone = run(network().unwrap(), mat.graph(), mat.lfs(), &pats, &counts, true);
        for (i, row) in p.end_labels().outer_iter().enumerate() {
            let q = alone.row(pats.row_pattern()[i] as usize);
            assert!(row.iter().zip(q).all(|(a, b)| (a - b).abs() < 1e-12), "{row} vs {q}");
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let q = one.install(|| fit.predict_proba(&mat).unwrap());
        assert_eq!(p, q);
    }

    #[test]
    fn rows_without_votes_are_uniform() {
        let graph = Arc::new(TaskGraph::flat("t", ["a", "b", "c"]).unwrap());
        let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        let dense = ndarray::array![[0i16, 0, -1], [-1, -1, -1], [2, 2, 1], [1, -1, 1]];
        let mat = LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap();
        let p = HyperLabelModel::default().fit(&mat).unwrap().predict_proba(&mat).unwrap();
        assert!(p.end_labels().row(1).iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-12));
        assert_eq!(p.argmax(0), vec![0, p.argmax(0)[1], 2, 1]);
    }
}
