//! The matrix-completion label model (Ratner et al., AAAI 2019): the model of snorkel-metal's
//! `LabelModel` and snorkel's `LabelModel`, extended to a task hierarchy over its feasible set.
//!
//! **Statistic.** Each LF `j` of task `t` with `k_t` labels owns `k_t` one-hot indicator columns
//! (vote = `v`); abstains set none. `O = (1/n)·L_indᵀ·L_ind` (d × d, `d = Σ_j k_t(j)`) is computed
//! in one parallel pass over the sparse votes ([`McStats`]), without a dense n × d matrix. It is
//! a sum over items, so statistics of shards add up ([`McStats::merge`]).
//!
//! **Parameters.** `μ` (d × K) over the K end labels: `μ[(j,v), y] = P(λ_j = v | Y = y)`. Every
//! entry is a parameter, including those of end labels on which LF `j`'s task is ∅ (an LF may fire
//! off its task).
//!
//! **Objective.** With `P = diag(p)` the class balance,
//! `‖(O − μPμᵀ)_Ω‖²_F + ‖rowsum(μP) − diag(O)‖² + l2²·‖μ − μ₀‖²_F`, where Ω leaves out each LF's
//! own `k_t × k_t` block, the middle term pins the vote marginals, and the last pulls `μ` towards
//! its initial value `μ₀` (snorkel's `‖D(μ − μ₀)‖²` with `D = l2·I`). It is minimized by Adam with
//! the analytic gradient; `μ` is clamped into `[ε, 1 − ε]` after each step. A learned class balance
//! is a parameter of the same objective (`p = softmax(θ)`), fit jointly.
//!
//! **Symmetry.** The objective does not change when the columns of `μ` are permuted among end
//! labels of equal prior (or, with a learned class balance, when `μ`'s columns and `p` are permuted
//! together). After the fit, the columns are permuted (Hungarian algorithm) to maximize the total
//! of the *consistent* entries `μ[(j,v), y]` with `y_t(j) = v`: the labelling in which LFs vote
//! for, rather than against, the labels they name.
//!
//! **Prediction.** Naive Bayes: `p(y | λ_i) ∝ p_y · Π_{j voted v} μ[(j,v), y]`, abstains ignored,
//! with each row of `μ` floored at a fraction of its largest entry.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::core::{softmax, Adam, Layout, NULL};
use super::{check_compatible, ClassBalance, FitReport, FittedLabelModel, LabelModel, ProbLabels};
use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

/// Initial precision `P(vote = y_t | vote, y_t ≠ ∅)` of the LFs, from which `μ₀` is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PrecInit {
    /// The same precision for every LF.
    Same(f64),
    /// One precision per LF.
    PerLf(Vec<f64>),
}

impl Default for PrecInit {
    fn default() -> Self {
        PrecInit::Same(0.7)
    }
}

impl From<f64> for PrecInit {
    fn from(p: f64) -> Self {
        PrecInit::Same(p)
    }
}

/// Configuration of the matrix-completion label model.
///
/// `μ₀` is the conditional distribution of an LF that fires with one on-task propensity `c_j`
/// whatever the label, and is right with probability `prec_init` when it fires on its task:
/// `μ₀[(j,v), y]` is `c_j·prec` if `y_t = v`, `c_j·(1 − prec)/(k_t − 1)` if `y_t ∉ {v, ∅}`, and
/// `0.1·c_j/k_t` if `y_t = ∅` (off-task firing at a tenth of the on-task rate). `c_j` is set so
/// that the LF's firing rate under `μ₀` and the initial class balance equals its observed
/// coverage. With `prec_init > 1/k_t`, consistent entries start above inconsistent ones. The fit
/// starts at `μ₀` and has no randomness.
///
/// Differences from snorkel's defaults, measured on generated problems (see the tests): the class
/// balance is learned rather than uniform, the centered penalty is on (`l2` = 0.03 from 10,000
/// items up, stronger below) rather than off, and Adam runs 300 steps rather than SGD 100.
/// [`MatrixCompletion::snorkel`] gives snorkel's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixCompletion {
    /// Class balance `p` (the diagonal of `P`): `Learned` makes `p = softmax(θ)` a parameter of
    /// the objective, fit jointly with `μ` (θ stepped at 10 × `lr`); `Uniform` or `Given` fix it.
    pub class_balance: ClassBalance,
    /// Initial LF precision, scalar or per LF, strictly between 0 and 1 (builds `μ₀`).
    pub prec_init: PrecInit,
    /// Adam learning rate.
    pub lr: f64,
    /// Number of Adam steps.
    pub n_epochs: usize,
    /// Weight of the centered penalty `l2²·‖μ − μ₀‖²_F` (snorkel's `l2`); `None`:
    /// `max(0.03, 3/√n)`, stronger on few items, where `O` is noisy.
    pub l2: Option<f64>,
    /// `μ` is clamped into `[mu_eps, 1 − mu_eps]` after each step; `None`: snorkel's
    /// `min(0.01, 10^−⌈log10 n⌉)`.
    pub mu_eps: Option<f64>,
    /// Stop early when the loss changes by less than `tol` (relative) over 10 epochs; 0 runs all
    /// `n_epochs`.
    pub tol: f64,
}

impl Default for MatrixCompletion {
    fn default() -> Self {
        MatrixCompletion {
            class_balance: ClassBalance::Learned,
            prec_init: PrecInit::default(),
            lr: 0.01,
            n_epochs: 300,
            l2: None,
            mu_eps: None,
            tol: 0.0,
        }
    }
}

impl MatrixCompletion {
    /// snorkel's defaults: uniform class balance, no penalty, 100 steps (of Adam here).
    pub fn snorkel() -> Self {
        MatrixCompletion {
            class_balance: ClassBalance::Uniform,
            n_epochs: 100,
            l2: Some(0.0),
            ..MatrixCompletion::default()
        }
    }
}

/// Learning rate of the class-balance logits θ, relative to `lr`: they are K numbers that the
/// objective determines only weakly, so at `lr` they need thousands of steps.
const CLASS_BALANCE_LR: f64 = 10.0;

/// Off-task firing rate of `μ₀`, relative to the on-task rate.
const OFF_TASK_INIT: f64 = 0.1;

/// Before the naive-Bayes posterior, each entry of `μ` is floored at this fraction of the largest
/// entry of its row, so that one vote changes the odds between two labels by at most 1/0.03 ≈ 33×
/// and cannot veto a label. (snorkel clips into `[0.01, 0.99]` instead, which also silences LFs
/// that fire on fewer than about 1% of the items.)
const PREDICT_FLOOR: f64 = 0.03;

/// Upper clip of `μ` before the naive-Bayes posterior (as snorkel).
const PREDICT_CEIL: f64 = 0.99;

/// The mergeable statistic of the matrix-completion model: `Σ_i L_ind[i]ᵀ·L_ind[i]` (exact counts)
/// and the number of items, for one schema and LF set.
///
/// Statistics of shards of the same data (same schema and LFs) add up to the statistic of the
/// whole, so a fit never needs all items in one place:
///
/// ```
/// use std::sync::Arc;
/// use metal_runtime::label_model::{FittedLabelModel, LabelModel, MatrixCompletion, McStats};
/// use metal_runtime::prelude::*;
///
/// # fn main() -> metal_runtime::Result<()> {
/// let graph = Arc::new(TaskGraph::flat("Sentiment", ["negative", "positive"])?);
/// let lfs: Vec<LfInfo> = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
/// let shard = |rows: ndarray::Array2<i16>| LabelMatrix::from_dense(graph.clone(), lfs.clone(), rows.view());
/// let a = shard(ndarray::array![[1, 1, -1], [0, 0, 1], [1, -1, 1]])?;
/// let b = shard(ndarray::array![[0, 0, 0], [1, 1, 1], [-1, 0, 0]])?;
/// let mut stats = McStats::new(&a)?;
/// stats.merge(&McStats::new(&b)?)?;
/// let model = MatrixCompletion::default().fit_stats(&stats)?;
/// let probs = model.predict_proba(&a)?;
/// assert_eq!(probs.n_items(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct McStats {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    /// d × d co-vote counts, symmetric.
    o_sum: Array2<u64>,
    n: u64,
}

impl McStats {
    /// The statistic of `matrix`, in one parallel pass over its votes: an item with `r` votes
    /// adds `r(r+1)/2` counts (the upper triangle).
    ///
    /// # Errors
    /// [`LabelModelError::TooLarge`] when the d × d table (d = the LFs' labels summed) would take
    /// more than [`McStats::MAX_BYTES`].
    pub fn new(matrix: &LabelMatrix) -> Result<Self, LabelModelError> {
        let layout = Layout::new(matrix.graph(), matrix.lfs());
        let d = layout.d();
        let entries = d.checked_mul(d).filter(|&e| e.saturating_mul(8) <= Self::MAX_BYTES);
        let Some(entries) = entries else {
            return Err(LabelModelError::TooLarge {
                what: format!(
                    "the co-vote statistic of {} LFs with {d} labels in all needs {d} × {d} counts ({:.1} GB)",
                    matrix.n_lfs(),
                    (d as f64).powi(2) * 8.0 / 1e9
                ),
                limit: format!("{:.1} GB", Self::MAX_BYTES as f64 / 1e9),
            });
        };
        let n = matrix.n_items();
        let mut upper = vec![0u64; entries];
        // Per-thread counts are u32: one parallel pass covers at most u32::MAX items.
        let max_rows = u32::MAX as usize;
        let mut start = 0;
        while start < n {
            let end = n.min(start.saturating_add(max_rows));
            let counts = count_co_votes(matrix, &layout.offset, start..end);
            upper.iter_mut().zip(&counts).for_each(|(s, &c)| *s += u64::from(c));
            start = end;
        }
        let o_sum = Array2::from_shape_fn((d, d), |(a, b)| upper[a.min(b) * d + a.max(b)]);
        Ok(McStats { graph: matrix.graph_arc().clone(), lfs: matrix.lfs().to_vec(), o_sum, n: n as u64 })
    }

    /// The largest d × d table [`McStats::new`] builds: 4 GB of counts (each pass also holds a
    /// per-thread table of half that size per thread).
    pub const MAX_BYTES: usize = 4_000_000_000;

    /// Adds the statistic of another shard with the same schema and LFs.
    pub fn merge(&mut self, other: &McStats) -> Result<(), LabelModelError> {
        if other.graph != self.graph {
            return Err(LabelModelError::IncompatibleMatrix { what: "the task schemas of the shards differ".into() });
        }
        if other.lfs != self.lfs {
            return Err(LabelModelError::IncompatibleMatrix {
                what: format!("the LFs of the shards differ ({} LFs and {} LFs)", self.lfs.len(), other.lfs.len()),
            });
        }
        self.o_sum += &other.o_sum;
        self.n += other.n;
        Ok(())
    }

    /// Number of items summed.
    pub fn n_items(&self) -> u64 {
        self.n
    }

    /// The co-vote counts `Σ_i L_ind[i]ᵀ·L_ind[i]` (d × d).
    pub fn counts(&self) -> &Array2<u64> {
        &self.o_sum
    }

    /// `O = (1/n)·L_indᵀ·L_ind` (zeros when there is no item).
    pub fn o(&self) -> Array2<f64> {
        let n = self.n.max(1) as f64;
        self.o_sum.mapv(|c| c as f64 / n)
    }

    /// The task graph.
    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }

    /// The LFs.
    pub fn lfs(&self) -> &[LfInfo] {
        &self.lfs
    }
}

/// Upper-triangle co-vote counts (row-major d × d) of the items `rows`, which must number at most
/// `u32::MAX`: rows are split into a few contiguous chunks per thread, each counted into its own
/// accumulator, and the accumulators are summed.
fn count_co_votes(matrix: &LabelMatrix, offset: &[usize], rows: Range<usize>) -> Vec<u32> {
    let d = offset[offset.len() - 1];
    let n_rows = rows.len();
    let n_chunks = (rayon::current_num_threads() * 4).min(n_rows.div_ceil(4096)).max(1);
    let chunk = n_rows.div_ceil(n_chunks);
    (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![0u32; d * d];
            let mut cols: Vec<usize> = Vec::new();
            let lo = rows.start + c * chunk;
            let hi = rows.end.min(lo + chunk);
            for i in lo..hi {
                let (lfs, labels) = matrix.row_slices(i);
                cols.clear();
                cols.extend(lfs.iter().zip(labels).map(|(&j, &v)| offset[j as usize] + usize::from(v)));
                // Votes are sorted by LF, so columns increase along the row: (a, b≥a) is the upper
                // triangle.
                for (a, &ca) in cols.iter().enumerate() {
                    let dst = &mut acc[ca * d..(ca + 1) * d];
                    for &cb in &cols[a..] {
                        dst[cb] += 1;
                    }
                }
            }
            acc
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, &y)| *x += y);
            a
        })
        .unwrap_or_else(|| vec![0; d * d])
}

/// The objective `‖(O − μPμᵀ)_Ω‖² + ‖rowsum(μP) − diag(O)‖² + l2²·‖μ − μ₀‖²` and its gradient.
struct Objective<'a> {
    layout: &'a Layout,
    o: Array2<f64>,
    mu0: Array2<f64>,
    l2: f64,
}

/// Where [`Objective::eval`] writes the gradient: with respect to `μ`, and to the class balance
/// `p` when it is learned.
struct Grad<'g> {
    mu: &'g mut Array2<f64>,
    p: Option<&'g mut [f64]>,
}

impl Objective<'_> {
    /// The loss at `(μ, p)` and, when `grad` is given, its gradient written there.
    fn eval(&self, mu: &Array2<f64>, p: &[f64], grad: Option<Grad<'_>>) -> f64 {
        // W = μP, so μPμᵀ = Wμᵀ; R = Wμᵀ − O with each LF's own block zeroed (Ω).
        let mut w = mu.clone();
        for (mut col, &py) in w.axis_iter_mut(Axis(1)).zip(p) {
            col *= py;
        }
        let mut r = w.dot(&mu.t());
        r -= &self.o;
        for j in 0..self.layout.m() {
            let c = self.layout.cols(j);
            r.slice_mut(ndarray::s![c.clone(), c]).fill(0.0);
        }
        let loss_o: f64 = r.iter().map(|x| x * x).sum();
        // e = rowsum(μP) − diag(O).
        let e: Vec<f64> = w.sum_axis(Axis(1)).iter().zip(self.o.diag()).map(|(s, o)| s - o).collect();
        let loss_marg: f64 = e.iter().map(|x| x * x).sum();
        let l2sq = self.l2 * self.l2;
        let diff = mu - &self.mu0;
        let loss_l2 = l2sq * diff.iter().map(|x| x * x).sum::<f64>();
        if let Some(Grad { mu: g, p: gp }) = grad {
            // ∂‖R‖²/∂μ = 2(R + Rᵀ)μP = 4(Rμ)P (R is symmetric); ∂‖R‖²/∂p_y = 2(μᵀRμ)_yy.
            let rmu = r.dot(mu);
            for ((a, y), gv) in g.indexed_iter_mut() {
                *gv = 4.0 * rmu[[a, y]] * p[y] + 2.0 * e[a] * p[y] + 2.0 * l2sq * diff[[a, y]];
            }
            if let Some(gp) = gp {
                for (y, gv) in gp.iter_mut().enumerate() {
                    *gv = 2.0 * mu.column(y).iter().zip(rmu.column(y)).map(|(m, q)| m * q).sum::<f64>()
                        + 2.0 * mu.column(y).iter().zip(&e).map(|(m, q)| m * q).sum::<f64>();
                }
            }
        }
        loss_o + loss_marg + loss_l2
    }
}

/// Assignment `σ` (row `i` to column `σ[i]`) maximizing `Σ_i score[i][σ[i]]`: the Hungarian
/// algorithm with potentials, O(k³). Non-finite scores count as 0.
fn max_assignment(score: &[Vec<f64>]) -> Vec<usize> {
    let n = score.len();
    let cost = |i: usize, j: usize| {
        let s = score[i][j];
        if s.is_finite() {
            -s
        } else {
            0.0
        }
    };
    // 1-based rows and columns; index 0 is the virtual start. `p[j]`: row matched to column j.
    let (mut u, mut v) = (vec![0.0f64; n + 1], vec![0.0f64; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Unreachable with finite costs; keeps the loop finite regardless.
                break;
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        }
    }
    // Row p[j] goes to column j; a valid permutation, or the identity if anything went wrong.
    let mut assign = vec![usize::MAX; n];
    for (j, &row) in p.iter().enumerate().skip(1) {
        if let Some(a) = row.checked_sub(1).and_then(|i| assign.get_mut(i)) {
            *a = j - 1;
        }
    }
    if assign.iter().all(|&j| j < n) {
        assign
    } else {
        (0..n).collect()
    }
}

/// Permutes the columns of `mu` to maximize the total of the consistent entries `μ[(j,v), y]`,
/// `y_t(j) = v`, among the permutations that leave the objective unchanged: any permutation of the
/// columns together with the class balance when it was learned (`permute_p`), otherwise
/// permutations among end labels of equal prior. Returns the permuted `(μ, p)`.
fn break_symmetry(layout: &Layout, p: &[f64], mu: &Array2<f64>, permute_p: bool) -> (Array2<f64>, Vec<f64>) {
    let k = layout.k;
    // consistency[c][y]: total of μ's column c over the rows consistent with end label y.
    let mut consistency = vec![vec![0.0; k]; k];
    for j in 0..layout.m() {
        for y in 0..k {
            let yt = layout.y_lf(y, j);
            if yt == NULL {
                continue;
            }
            let r = layout.offset[j] + usize::from(yt);
            for (c, row) in consistency.iter_mut().enumerate() {
                row[y] += mu[[r, c]];
            }
        }
    }
    // Groups of end labels with equal prior.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    if permute_p {
        groups.push((0..k).collect());
    }
    for y in (0..k).filter(|_| !permute_p) {
        let tol = 1e-12 * p[y].abs().max(1.0);
        match groups.iter_mut().find(|g| (p[g[0]] - p[y]).abs() <= tol) {
            Some(g) => g.push(y),
            None => groups.push(vec![y]),
        }
    }
    // `source[y]`: the fitted column that becomes end label y.
    let mut source: Vec<usize> = (0..k).collect();
    for g in &groups {
        if g.len() < 2 {
            continue;
        }
        let score: Vec<Vec<f64>> = g.iter().map(|&c| g.iter().map(|&y| consistency[c][y]).collect()).collect();
        for (ci, yi) in max_assignment(&score).into_iter().enumerate() {
            source[g[yi]] = g[ci];
        }
    }
    (Array2::from_shape_fn(mu.dim(), |(r, y)| mu[[r, source[y]]]), source.iter().map(|&c| p[c]).collect())
}

/// `μ₀` (see [`MatrixCompletion`]), clamped into `[eps, 1 − eps]`.
fn init_mu(layout: &Layout, o: &Array2<f64>, p: &[f64], prec: &[f64], eps: f64) -> Array2<f64> {
    let mut mu0 = Array2::zeros((layout.d(), layout.k));
    for (j, &prec) in prec.iter().enumerate() {
        let kt = layout.lf_card[j] as f64;
        let coverage: f64 = layout.cols(j).map(|c| o[[c, c]]).sum();
        let p_on: f64 = (0..layout.k).filter(|&y| layout.y_lf(y, j) != NULL).map(|y| p[y]).sum();
        let rate = coverage / (p_on + OFF_TASK_INIT * (1.0 - p_on)).max(1e-12);
        for (v, r) in layout.cols(j).enumerate() {
            for y in 0..layout.k {
                let yt = layout.y_lf(y, j);
                let value = if yt == NULL {
                    OFF_TASK_INIT * rate / kt
                } else if usize::from(yt) == v {
                    rate * prec
                } else {
                    rate * (1.0 - prec) / (kt - 1.0)
                };
                mu0[[r, y]] = value.clamp(eps, 1.0 - eps);
            }
        }
    }
    mu0
}

impl MatrixCompletion {
    fn bad(name: &'static str, value: impl ToString, expected: &'static str) -> LabelModelError {
        LabelModelError::InvalidConfig { name, value: value.to_string(), expected }
    }

    /// Checks the settings against the LFs and returns the per-LF precisions and class balance.
    fn check(&self, graph: &TaskGraph, m: usize, n: u64) -> Result<(Vec<f64>, Vec<f64>), LabelModelError> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Self::bad("lr", self.lr, "positive and finite"));
        }
        if let Some(l2) = self.l2 {
            if !(l2 >= 0.0 && l2.is_finite()) {
                return Err(Self::bad("l2", l2, "non-negative and finite"));
            }
        }
        if self.tol.is_nan() || self.tol < 0.0 {
            return Err(Self::bad("tol", self.tol, "non-negative"));
        }
        if let Some(eps) = self.mu_eps {
            if !(eps > 0.0 && eps < 0.5) {
                return Err(Self::bad("mu_eps", eps, "strictly between 0 and 0.5"));
            }
        }
        let prec = match &self.prec_init {
            PrecInit::Same(x) => vec![*x; m],
            PrecInit::PerLf(v) if v.len() == m => v.clone(),
            PrecInit::PerLf(v) => {
                return Err(Self::bad("prec_init", format!("{} values for {m} LFs", v.len()), "one value per LF"))
            }
        };
        if let Some(x) = prec.iter().find(|&&x| !(x > 0.0 && x < 1.0)) {
            return Err(Self::bad("prec_init", x, "strictly between 0 and 1"));
        }
        let k = graph.n_end_labels();
        let p = match &self.class_balance {
            ClassBalance::Learned | ClassBalance::Uniform => vec![1.0 / k as f64; k],
            ClassBalance::Given(p) => {
                let sum: f64 = p.iter().sum();
                let is_distribution = p.iter().all(|&x| x > 0.0) && (sum - 1.0).abs() <= 1e-6;
                if p.len() != k || !is_distribution {
                    return Err(LabelModelError::ClassBalance { expected: k, got: p.clone() });
                }
                p.clone()
            }
        };
        if n == 0 {
            return Err(LabelModelError::Empty);
        }
        Ok((prec, p))
    }

    /// Fits the model to a statistic (of one matrix, or merged from shards).
    pub fn fit_stats(&self, stats: &McStats) -> Result<FittedMatrixCompletion, LabelModelError> {
        let (prec, mut p) = self.check(&stats.graph, stats.lfs.len(), stats.n)?;
        let learn_p = self.class_balance == ClassBalance::Learned;
        let start = Instant::now();
        let layout = Layout::new(&stats.graph, &stats.lfs);
        let eps = self.mu_eps.unwrap_or_else(|| 0.01f64.min(10f64.powf(-(stats.n as f64).log10().ceil())));
        let o = stats.o();
        let mu0 = init_mu(&layout, &o, &p, &prec, eps);
        let l2 = self.l2.unwrap_or_else(|| 0.03f64.max(3.0 / (stats.n as f64).sqrt()));
        let obj = Objective { layout: &layout, o, mu0, l2 };

        let k = layout.k;
        let mut mu = obj.mu0.clone();
        let mut grad = Array2::zeros(mu.dim());
        // p = softmax(θ) when learned.
        let mut theta = vec![0.0; k];
        let mut grad_p = vec![0.0; k];
        let mut adam_mu = Adam::new(self.lr, mu.len());
        let mut adam_theta = Adam::new(self.lr * CLASS_BALANCE_LR, k);
        let mut loss = Vec::with_capacity(self.n_epochs);
        let mut converged = false;
        for epoch in 0..self.n_epochs {
            let g = Grad { mu: &mut grad, p: learn_p.then_some(&mut grad_p[..]) };
            let l = obj.eval(&mu, &p, Some(g));
            if !l.is_finite() || grad.iter().chain(&grad_p).any(|g| !g.is_finite()) {
                return Err(LabelModelError::Diverged { epoch, loss: l, hint: "lower `lr`" });
            }
            loss.push(l);
            if self.tol > 0.0 && epoch >= 10 {
                let before = loss[epoch - 10];
                if (before - l).abs() <= self.tol * before.abs().max(f64::MIN_POSITIVE) {
                    converged = true;
                    break;
                }
            }
            adam_mu.tick();
            for (i, (x, &g)) in mu.iter_mut().zip(&grad).enumerate() {
                *x = adam_mu.step(i, *x, g).clamp(eps, 1.0 - eps);
            }
            if learn_p {
                let g_theta = theta_grad(&p, &grad_p);
                adam_theta.tick();
                for (z, th) in theta.iter_mut().enumerate() {
                    *th = adam_theta.step(z, *th, g_theta[z]);
                }
                p = softmax(&theta);
            }
        }
        let final_loss = obj.eval(&mu, &p, None);
        if !final_loss.is_finite() {
            return Err(LabelModelError::Diverged { epoch: loss.len(), loss: final_loss, hint: "lower `lr`" });
        }
        let (mu, p) = break_symmetry(&layout, &p, &mu, learn_p);
        let report = FitReport {
            model: "matrix_completion".into(),
            n_items: stats.n as usize,
            n_patterns: 0,
            n_epochs: loss.len(),
            converged,
            loss,
            seconds: start.elapsed().as_secs_f64(),
            warnings: Vec::new(),
            notes: Vec::new(),
        };
        Ok(FittedMatrixCompletion { graph: stats.graph.clone(), lfs: stats.lfs.clone(), layout, mu, p, report })
    }
}

/// `∂/∂θ` of a function of `p = softmax(θ)`, from its gradient in `p`:
/// `p_z (g_z − Σ_y p_y g_y)`.
fn theta_grad(p: &[f64], grad_p: &[f64]) -> Vec<f64> {
    let mean: f64 = p.iter().zip(grad_p).map(|(a, b)| a * b).sum();
    p.iter().zip(grad_p).map(|(pz, gz)| pz * (gz - mean)).collect()
}

impl LabelModel for MatrixCompletion {
    type Fitted = FittedMatrixCompletion;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedMatrixCompletion, LabelModelError> {
        let start = Instant::now();
        // Validate before the pass over the votes.
        self.check(matrix.graph(), matrix.n_lfs(), matrix.n_items() as u64)?;
        let stats = McStats::new(matrix)?;
        let mut fitted = self.fit_stats(&stats)?;
        fitted.report.warnings = super::diagnose(matrix, &fitted)?;
        fitted.report.seconds = start.elapsed().as_secs_f64();
        Ok(fitted)
    }
}

/// A fitted matrix-completion label model.
#[derive(Debug, Clone)]
pub struct FittedMatrixCompletion {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    layout: Layout,
    /// d × K, `μ[(j,v), y] = P(λ_j = v | Y = y)`.
    mu: Array2<f64>,
    p: Vec<f64>,
    report: FitReport,
}

impl FittedMatrixCompletion {
    /// The learned conditional probabilities `μ` (d × K): row `offset_j + v` is
    /// `P(λ_j = v | Y = y)` over end labels `y`, LFs' rows in LF order.
    pub fn mu(&self) -> &Array2<f64> {
        &self.mu
    }

    /// The class balance the model uses.
    pub fn class_balance(&self) -> &[f64] {
        &self.p
    }

    /// Learned per-LF propensity `P(vote | y_t ≠ ∅)`.
    pub fn lf_propensities(&self) -> Vec<f64> {
        let lay = &self.layout;
        (0..lay.m())
            .map(|j| {
                let (mut fire, mut on) = (0.0, 0.0);
                for y in (0..lay.k).filter(|&y| lay.y_lf(y, j) != NULL) {
                    on += self.p[y];
                    fire += self.p[y] * lay.cols(j).map(|r| self.mu[[r, y]]).sum::<f64>();
                }
                fire / on.max(f64::MIN_POSITIVE)
            })
            .collect()
    }
}

impl FittedLabelModel for FittedMatrixCompletion {
    fn class_prior(&self) -> Option<Vec<f64>> {
        Some(self.p.clone())
    }

    /// The naive-Bayes posterior `p(y | λ_i) ∝ p_y · Π_{j voted v} μ[(j,v), y]`, each row of `μ`
    /// floored at 3% of its largest entry and capped at 0.99; computed per item in parallel, in
    /// O(votes · K).
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let k = self.layout.k;
        let offset = &self.layout.offset;
        let log_mu: Vec<f64> = self
            .mu
            .outer_iter()
            .flat_map(|row| {
                let floor = PREDICT_FLOOR * row.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
                row.iter().map(|&x| x.clamp(floor, PREDICT_CEIL).ln()).collect::<Vec<_>>()
            })
            .collect();
        let log_p: Vec<f64> = self.p.iter().map(|x| x.ln()).collect();
        let n = matrix.n_items();
        let mut out = vec![0.0; n * k];
        const BLOCK: usize = 1024;
        out.par_chunks_mut(BLOCK * k.max(1)).enumerate().for_each(|(b, block)| {
            for (r, dst) in block.chunks_mut(k.max(1)).enumerate() {
                let (lfs, labels) = matrix.row_slices(b * BLOCK + r);
                dst.copy_from_slice(&log_p);
                for (&j, &v) in lfs.iter().zip(labels) {
                    let row = (offset[j as usize] + usize::from(v)) * k;
                    dst.iter_mut().zip(&log_mu[row..row + k]).for_each(|(s, l)| *s += l);
                }
                let max = dst.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut z = 0.0;
                for s in dst.iter_mut() {
                    *s = (*s - max).exp();
                    z += *s;
                }
                dst.iter_mut().for_each(|s| *s /= z);
            }
        });
        let end = Array2::from_shape_fn((n, k), |(i, y)| out[i * k + y]);
        Ok(ProbLabels::new(self.graph.clone(), end))
    }

    /// `P(vote = y_t | vote, y_t ≠ ∅) =
    /// Σ_y p_y Σ_v 1{y_t = v} μ[(j,v), y] / Σ_y p_y 1{y_t ≠ ∅} Σ_v μ[(j,v), y]`.
    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        let lay = &self.layout;
        Some(
            (0..lay.m())
                .map(|j| {
                    let (mut correct, mut fire) = (0.0, 0.0);
                    for y in 0..lay.k {
                        let yt = lay.y_lf(y, j);
                        if yt == NULL {
                            continue;
                        }
                        let r = lay.offset[j] + usize::from(yt);
                        correct += self.p[y] * self.mu[[r, y]];
                        fire += self.p[y] * lay.cols(j).map(|r| self.mu[[r, y]]).sum::<f64>();
                    }
                    correct / fire.max(f64::MIN_POSITIVE)
                })
                .collect(),
        )
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ndarray::array;

    use super::*;
    use crate::io::synthetic::Problem;
    use crate::label_model::MajorityVote;

    fn flat_lfs(graph: TaskGraph, m: usize) -> (Arc<TaskGraph>, Vec<LfInfo>) {
        (Arc::new(graph), (0..m).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect())
    }

    /// 3 LFs × 5 items on a binary task.
    fn tiny() -> LabelMatrix {
        let (graph, lfs) = flat_lfs(TaskGraph::flat("t", ["a", "b"]).unwrap(), 3);
        let dense = array![[0i16, 0, -1], [1, 1, 1], [0, -1, 0], [-1, 1, 0], [1, -1, -1]];
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }

    /// Topic {corporate, markets} → Corporate {performance, funding}, Markets {money, commodity,
    /// other}: K = 5 end labels, LFs of cardinality 2, 2, 2, 3 (d = 9).
    use super::super::tests::tree_matrix;

    fn fixture(name: &str) -> Problem {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/synthetic").join(name);
        Problem::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    }

    fn test_accuracy(p: &Problem, model: &dyn FittedLabelModel) -> f64 {
        let (l, y) = (p.test.as_ref().unwrap(), p.y_test.as_ref().unwrap());
        let pred = model.predict(l, 0).unwrap();
        crate::metrics::accuracy(&pred, y).unwrap()
    }

    fn accuracy_mae(p: &Problem, model: &dyn FittedLabelModel) -> f64 {
        let learned = model.lf_accuracies().unwrap();
        let truth = p.lf_accuracy.as_ref().unwrap();
        learned.iter().zip(truth).map(|(a, b)| (a - b).abs()).sum::<f64>() / truth.len() as f64
    }

    /// Co-vote counts of the tiny matrix, column `2j + v`: item 0 votes columns {0, 2}, item 1
    /// {1, 3, 5}, item 2 {0, 4}, item 3 {3, 4}, item 4 {1}.
    #[test]
    fn co_vote_counts_by_hand() {
        let stats = McStats::new(&tiny()).unwrap();
        let expected = array![
            [2u64, 0, 1, 0, 1, 0],
            [0, 2, 0, 1, 0, 1],
            [1, 0, 1, 0, 0, 0],
            [0, 1, 0, 2, 1, 1],
            [1, 0, 0, 1, 2, 0],
            [0, 1, 0, 1, 0, 1],
        ];
        assert_eq!(stats.counts(), &expected);
        assert_eq!(stats.n_items(), 5);
        assert!((stats.o()[[3, 4]] - 0.2).abs() < 1e-15);
    }

    /// The loss of the tiny matrix at a given `μ`, by hand and with numpy:
    ///
    /// ```python
    /// import numpy as np
    /// L = np.array([[0,0,-1],[1,1,1],[0,-1,0],[-1,1,0],[1,-1,-1]]); n, m, k = 5, 3, 2
    /// Lind = np.zeros((n, m*k))
    /// for i in range(n):
    ///     for j in range(m):
    ///         if L[i,j] >= 0: Lind[i, j*k + L[i,j]] = 1
    /// O = Lind.T @ Lind / n
    /// mu = np.array([[.6,.1],[.1,.5],[.3,.2],[.2,.4],[.5,.3],[.1,.2]])
    /// mu0 = np.array([[.5,.2],[.2,.5],[.4,.1],[.1,.4],[.4,.2],[.2,.3]])
    /// p = np.array([.4,.6]); P = np.diag(p); l2 = 0.5
    /// mask = np.ones((m*k, m*k))
    /// for j in range(m): mask[j*k:(j+1)*k, j*k:(j+1)*k] = 0
    /// l1 = np.sum(((O - mu @ P @ mu.T) * mask)**2)          # 0.207472
    /// l2t = np.sum(((mu @ P).sum(1) - np.diag(O))**2)      # 0.0236
    /// l3 = np.sum((l2*(mu - mu0))**2)                       # 0.025
    /// ```
    ///
    /// By hand, the marginal term: diag(O) = (.4, .4, .2, .4, .4, .2), rowsum(μP) = (.30, .34, .24,
    /// .32, .38, .16), squared differences .01 + .0036 + .0016 + .0064 + .0004 + .0016 = .0236; the
    /// penalty: every entry of μ − μ₀ is ±.1 except two zeros, so .25 · 10 · .01 = .025.
    #[test]
    fn loss_by_hand() {
        let stats = McStats::new(&tiny()).unwrap();
        let layout = Layout::new(&stats.graph, &stats.lfs);
        let mu = array![[0.6, 0.1], [0.1, 0.5], [0.3, 0.2], [0.2, 0.4], [0.5, 0.3], [0.1, 0.2]];
        let mu0 = array![[0.5, 0.2], [0.2, 0.5], [0.4, 0.1], [0.1, 0.4], [0.4, 0.2], [0.2, 0.3]];
        let p = [0.4, 0.6];
        let at = |l2: f64, mu0: &Array2<f64>| {
            Objective { layout: &layout, o: stats.o(), mu0: mu0.clone(), l2 }.eval(&mu, &p, None)
        };
        approx::assert_abs_diff_eq!(at(0.0, &mu), 0.207472 + 0.0236, epsilon = 1e-12);
        approx::assert_abs_diff_eq!(at(0.5, &mu0), 0.207472 + 0.0236 + 0.025, epsilon = 1e-12);
    }

    /// The analytic gradient in `μ` and in `p` (and through the softmax, in θ) matches central
    /// finite differences, on a hierarchy (LF blocks of sizes 2 and 3, off-task entries).
    #[test]
    fn gradient_matches_finite_differences() {
        let stats = McStats::new(&tree_matrix()).unwrap();
        let layout = Layout::new(&stats.graph, &stats.lfs);
        let (d, k) = (layout.d(), layout.k);
        let mu = Array2::from_shape_fn((d, k), |(r, y)| 0.05 + 0.9 * (((r * 7 + y * 3) % 11) as f64 / 11.0));
        let mu0 = Array2::from_shape_fn((d, k), |(r, y)| 0.1 + 0.05 * ((r + 2 * y) % 5) as f64);
        let theta = vec![0.3, -0.2, 0.1, 0.5, -0.4];
        let obj = Objective { layout: &layout, o: stats.o(), mu0, l2: 0.7 };
        let mut g_mu = Array2::zeros((d, k));
        let mut g_p = vec![0.0; k];
        let p = softmax(&theta);
        obj.eval(&mu, &p, Some(Grad { mu: &mut g_mu, p: Some(&mut g_p) }));
        let h = 1e-6;
        for r in 0..d {
            for y in 0..k {
                let (mut up, mut down) = (mu.clone(), mu.clone());
                up[[r, y]] += h;
                down[[r, y]] -= h;
                let fd = (obj.eval(&up, &p, None) - obj.eval(&down, &p, None)) / (2.0 * h);
                approx::assert_abs_diff_eq!(fd, g_mu[[r, y]], epsilon = 1e-8);
            }
        }
        for y in 0..k {
            let (mut up, mut down) = (p.clone(), p.clone());
            up[y] += h;
            down[y] -= h;
            let fd = (obj.eval(&mu, &up, None) - obj.eval(&mu, &down, None)) / (2.0 * h);
            approx::assert_abs_diff_eq!(fd, g_p[y], epsilon = 1e-8);
        }
        let g_theta = theta_grad(&p, &g_p);
        for z in 0..k {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[z] += h;
            down[z] -= h;
            let fd = (obj.eval(&mu, &softmax(&up), None) - obj.eval(&mu, &softmax(&down), None)) / (2.0 * h);
            approx::assert_abs_diff_eq!(fd, g_theta[z], epsilon = 1e-8);
        }
    }

    #[test]
    fn hungarian_matches_brute_force() {
        fn permutations(n: usize) -> Vec<Vec<usize>> {
            if n == 0 {
                return vec![vec![]];
            }
            let mut out = Vec::new();
            for p in permutations(n - 1) {
                for i in 0..n {
                    let mut q = p.clone();
                    q.insert(i, n - 1);
                    out.push(q);
                }
            }
            out
        }
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % 1000) as f64 / 100.0 - 3.0
        };
        for n in 0..=6 {
            for _ in 0..20 {
                let score: Vec<Vec<f64>> = (0..n).map(|_| (0..n).map(|_| next()).collect()).collect();
                let total = |s: &[usize]| s.iter().enumerate().map(|(i, &j)| score[i][j]).sum::<f64>();
                let best = permutations(n).iter().map(|s| total(s)).fold(f64::NEG_INFINITY, f64::max);
                let got = max_assignment(&score);
                let mut sorted = got.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>());
                approx::assert_abs_diff_eq!(total(&got), if n == 0 { 0.0 } else { best }, epsilon = 1e-9);
            }
        }
    }

    /// A μ whose consistent entries dominate, with its columns permuted, is permuted back; the
    /// permutation respects the class balance.
    #[test]
    fn symmetry_breaking_undoes_a_column_permutation() {
        let (graph, lfs) = flat_lfs(TaskGraph::flat("t", ["a", "b", "c"]).unwrap(), 3);
        let layout = Layout::new(&graph, &lfs);
        let mu = Array2::from_shape_fn((9, 3), |(r, y)| if r % 3 == y { 0.5 + 0.01 * r as f64 } else { 0.1 });
        let perm = [2usize, 0, 1];
        let shuffled = Array2::from_shape_fn((9, 3), |(r, y)| mu[[r, perm[y]]]);
        let (back, p) = break_symmetry(&layout, &[1.0 / 3.0; 3], &shuffled, false);
        assert_eq!(back, mu);
        assert_eq!(p, vec![1.0 / 3.0; 3]);
        // A learned class balance moves with the columns.
        let p_shuffled = [0.2, 0.5, 0.3];
        let (back, p) = break_symmetry(&layout, &p_shuffled, &shuffled, true);
        assert_eq!(back, mu);
        assert_eq!(p, vec![0.5, 0.3, 0.2]);
        // A fixed, unequal class balance allows only swaps within equal priors: here of b and c.
        let swapped = Array2::from_shape_fn((9, 3), |(r, y)| mu[[r, [1, 0, 2][y]]]);
        let (back, _) = break_symmetry(&layout, &[0.5, 0.25, 0.25], &swapped, false);
        assert_eq!(back, swapped);
        let swapped = Array2::from_shape_fn((9, 3), |(r, y)| mu[[r, [0, 2, 1][y]]]);
        let (back, _) = break_symmetry(&layout, &[0.5, 0.25, 0.25], &swapped, false);
        assert_eq!(back, mu);
    }

    /// On a hierarchy, consistency follows the feasible set: LF `m` (Markets) voting `other` is
    /// consistent with end label `markets/other` only.
    #[test]
    fn symmetry_breaking_on_a_hierarchy() {
        let mat = tree_matrix();
        let layout = Layout::new(mat.graph(), mat.lfs());
        let (d, k) = (layout.d(), layout.k);
        let mut mu = Array2::from_elem((d, k), 0.05);
        for j in 0..layout.m() {
            for y in 0..k {
                let yt = layout.y_lf(y, j);
                if yt != NULL {
                    mu[[layout.offset[j] + usize::from(yt), y]] = 0.6;
                }
            }
        }
        let perm = [3usize, 4, 0, 2, 1];
        let shuffled = Array2::from_shape_fn((d, k), |(r, y)| mu[[r, perm[y]]]);
        assert_eq!(break_symmetry(&layout, &[0.2; 5], &shuffled, false).0, mu);
    }

    /// A d × d table that cannot fit is an error naming its size, not a panic or an abort
    /// (40 LFs of a 65,535-label task: d = 2.6 million).
    #[test]
    fn oversized_statistics_are_errors() {
        let graph = Arc::new(TaskGraph::flat("t", (0..65_535).map(|v| v.to_string())).unwrap());
        let lfs: Vec<LfInfo> = (0..40).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        let mut matrix = LabelMatrix::empty(graph, lfs).unwrap();
        matrix.push_row(&[(0, 1), (1, 2)]).unwrap();
        let err = McStats::new(&matrix).unwrap_err().to_string();
        assert!(err.contains("2621400 × 2621400") && err.contains("limit"), "{err}");
        let err = MatrixCompletion::default().fit(&matrix).unwrap_err().to_string();
        assert!(err.contains("co-vote statistic"), "{err}");
    }

    #[test]
    fn shards_merge_to_the_whole() {
        let p = fixture("tree");
        let whole = McStats::new(&p.train).unwrap();
        let n = p.train.n_items();
        let mut merged = McStats::new(&p.train.select_items(&(0..n / 3).collect::<Vec<_>>())).unwrap();
        merged.merge(&McStats::new(&p.train.select_items(&(n / 3..n).collect::<Vec<_>>())).unwrap()).unwrap();
        assert_eq!(merged, whole);
        let cfg = MatrixCompletion::default();
        assert_eq!(cfg.fit_stats(&merged).unwrap().mu(), cfg.fit(&p.train).unwrap().mu());
        let other = McStats::new(&tiny()).unwrap();
        assert!(matches!(merged.merge(&other), Err(LabelModelError::IncompatibleMatrix { .. })));
    }

    /// The 200-item fixtures (100 test items): tiny and noisy, so the bounds are loose. Measured:
    /// flat (K = 3, 5 LFs) accuracy 0.63 against majority vote 0.63, mean absolute error of the
    /// learned LF accuracies 0.120; tree (K = 8, 10 LFs) 0.28 against 0.17.
    #[test]
    fn small_fixtures() {
        let p = fixture("flat");
        let mc = MatrixCompletion::default().fit(&p.train).unwrap();
        let mv = MajorityVote.fit(&p.train).unwrap();
        let (acc, acc_mv) = (test_accuracy(&p, &mc), test_accuracy(&p, &mv));
        assert!(acc >= acc_mv - 0.03, "{acc} vs majority vote {acc_mv}");
        let mae = accuracy_mae(&p, &mc);
        assert!(mae <= 0.15, "LF accuracy error {mae}");

        let p = fixture("tree");
        let mc = MatrixCompletion::default().fit(&p.train).unwrap();
        let mv = MajorityVote.fit(&p.train).unwrap();
        let (acc, acc_mv) = (test_accuracy(&p, &mc), test_accuracy(&p, &mv));
        assert!(acc >= acc_mv - 0.03, "{acc} vs majority vote {acc_mv}");
    }

    /// The generated n = 10,000 problems (10,000 test items) against the Python references:
    /// snorkel LabelModel 0.814 and snorkel-metal LabelModel 0.815 on flat K = 2, M = 10;
    /// snorkel-metal MTLabelModel 0.551 on tree `2:2,2` and 0.582 on `4:3,3,3,3`. Measured: 0.8247
    /// (LF accuracy error 0.0127), 0.5578, 0.6134; with snorkel's settings 0.8076, 0.5534, 0.6062.
    #[test]
    fn reference_problems() {
        let p = fixture("flat_k2_m10_n10000");
        let mc = MatrixCompletion::default().fit(&p.train).unwrap();
        let acc = test_accuracy(&p, &mc);
        assert!(acc >= 0.815, "{acc}");
        let mae = accuracy_mae(&p, &mc);
        assert!(mae <= 0.02, "LF accuracy error {mae}");
        let snorkel = MatrixCompletion::snorkel().fit(&p.train).unwrap();
        assert!(test_accuracy(&p, &snorkel) >= 0.80);

        let p = fixture("tree_2-22_l3_n10000");
        let acc = test_accuracy(&p, &MatrixCompletion::default().fit(&p.train).unwrap());
        assert!(acc >= 0.551, "{acc}");
        let p = fixture("tree_4-3333_l5_n10000");
        let acc = test_accuracy(&p, &MatrixCompletion::default().fit(&p.train).unwrap());
        assert!(acc >= 0.6, "{acc}");
    }

    #[test]
    fn predictions_are_distributions_and_check_the_matrix() {
        let mat = tree_matrix();
        let fit = MatrixCompletion::default().fit(&mat).unwrap();
        let probs = fit.predict_proba(&mat).unwrap();
        for row in probs.end_labels().outer_iter() {
            approx::assert_abs_diff_eq!(row.sum(), 1.0, epsilon = 1e-12);
        }
        approx::assert_abs_diff_eq!(fit.class_balance().iter().sum::<f64>(), 1.0, epsilon = 1e-12);
        assert_eq!(fit.fit_report().n_epochs, 300);
        assert_eq!(fit.fit_report().loss.len(), 300);
        let err = fit.predict_proba(&tiny()).unwrap_err();
        assert!(matches!(err, LabelModelError::IncompatibleMatrix { .. }));
        // An item with no vote gets the class balance.
        let (graph, lfs) = (mat.graph_arc().clone(), mat.lfs().to_vec());
        let empty = LabelMatrix::from_dense(graph, lfs, array![[-1i16, -1, -1, -1]].view()).unwrap();
        let row = fit.predict_proba(&empty).unwrap().into_end_labels();
        for (a, b) in row.iter().zip(fit.class_balance()) {
            approx::assert_abs_diff_eq!(a, b, epsilon = 1e-12);
        }
    }

    #[test]
    fn tolerance_stops_early() {
        let p = fixture("flat");
        let fit = MatrixCompletion { n_epochs: 5000, tol: 1e-6, ..MatrixCompletion::default() }.fit(&p.train).unwrap();
        assert!(fit.fit_report().converged);
        assert!(fit.fit_report().n_epochs < 5000);
    }

    #[test]
    fn bad_settings_are_errors() {
        let mat = tiny();
        let fit = |cfg: MatrixCompletion| cfg.fit(&mat).unwrap_err();
        let name = |e: LabelModelError| match e {
            LabelModelError::InvalidConfig { name, .. } => name,
            other => panic!("{other}"),
        };
        assert_eq!(name(fit(MatrixCompletion { lr: 0.0, ..MatrixCompletion::default() })), "lr");
        assert_eq!(name(fit(MatrixCompletion { lr: f64::NAN, ..MatrixCompletion::default() })), "lr");
        assert_eq!(name(fit(MatrixCompletion { l2: Some(-1.0), ..MatrixCompletion::default() })), "l2");
        assert_eq!(name(fit(MatrixCompletion { prec_init: 1.0.into(), ..MatrixCompletion::default() })), "prec_init");
        let per_lf = PrecInit::PerLf(vec![0.7, 0.8]);
        assert_eq!(name(fit(MatrixCompletion { prec_init: per_lf, ..MatrixCompletion::default() })), "prec_init");
        assert_eq!(name(fit(MatrixCompletion { mu_eps: Some(0.5), ..MatrixCompletion::default() })), "mu_eps");
        let err =
            fit(MatrixCompletion { class_balance: ClassBalance::Given(vec![1.0]), ..MatrixCompletion::default() });
        assert!(matches!(err, LabelModelError::ClassBalance { expected: 2, .. }));
        let empty = LabelMatrix::empty(mat.graph_arc().clone(), mat.lfs().to_vec()).unwrap();
        assert!(matches!(MatrixCompletion::default().fit(&empty), Err(LabelModelError::Empty)));
        // Per-LF precisions of the right length are accepted.
        let per_lf = PrecInit::PerLf(vec![0.7, 0.8, 0.6]);
        assert!(MatrixCompletion { prec_init: per_lf, ..MatrixCompletion::default() }.fit(&mat).is_ok());
    }

    /// A step so large that the class-balance logits overflow is reported, naming `lr`.
    #[test]
    fn divergence_is_an_error() {
        let err = MatrixCompletion { lr: f64::MAX, ..MatrixCompletion::default() }.fit(&tiny()).unwrap_err();
        assert!(matches!(err, LabelModelError::Diverged { .. }), "{err}");
        assert!(err.to_string().contains("`lr`"), "{err}");
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<MatrixCompletion>();
        check::<FittedMatrixCompletion>();
        check::<McStats>();
    }
}
