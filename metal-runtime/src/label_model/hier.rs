//! The hierarchical generative label model (paper §3).
//!
//! For LF `j` on task `t` with `k_t` labels, the paper's model is an exponential family over
//! `(λ, y)`, `y` ranging over the feasible set, with statistics
//! `h_lab = 1{y_t ≠ ∅}·1{λ_j ≠ abstain}` and `h_acc = h_lab·(1{λ_j = y_t} − 1{λ_j ≠ y_t})` and
//! parameters `θ_lab`, `θ_acc`. LFs are conditionally independent given `y`, so the normalizer of
//! each LF's factor is closed-form: `1 + e^{θl+θa} + (k_t−1)·e^{θl−θa}` when `y_t ≠ ∅` and
//! `k_t + 1` (the LF is unmodelled) when `y_t = ∅`.
//!
//! [`ModelForm::Paper`] is exactly that model, fit by gradient descent (Adam) on the negative log
//! marginal likelihood, whose gradient `E_model[h] − E_posterior[h]` is computed exactly by
//! enumerating the K feasible vectors. Its implied class prior is `p(y) ∝ ∏_j Z_j(y)`, and it
//! makes an LF fire on items where its task is ∅ with probability `k_t/(k_t+1)`.
//!
//! [`ModelForm::Extended`] (the default) keeps the same per-LF on-task distribution (abstain,
//! correct, each wrong label) and adds what the paper's form lacks: a class prior `π_y` over end
//! labels and a per-LF off-task firing propensity `β_j` (uniform label when it fires). It is fit by
//! EM, whose M-step is closed-form.
//!
//! Both fits run over the distinct vote patterns with their counts.

use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::core::{log_sum_exp, Adam, Layout, NULL};
use super::{
    check_compatible, ClassBalance, FitReport, FittedLabelModel, IndependenceTest, LabelModel, Patterns, ProbLabels,
};
use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

/// Which form of the generative model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ModelForm {
    /// The paper's exponential family, exactly (no class prior; off-task LFs unmodelled).
    Paper,
    /// The paper's per-LF accuracy and propensity, plus a class prior and per-LF off-task firing
    /// propensities.
    #[default]
    Extended,
}

/// How the extended form models an LF's votes on items where its task is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LfModel {
    /// The paper's parameterization: one propensity and one accuracy per LF, the same whatever
    /// the true label (wrong votes uniform over the other labels).
    Symmetric,
    /// A firing propensity per true label and one accuracy per LF: an LF may fire more often on
    /// some labels than on others, as one-sided LFs ("votes Funding or abstains") do.
    #[default]
    ClassPropensity,
    /// A full class-conditional table `P(vote | y_t)` per LF (Dawid–Skene).
    ClassConditional,
}

/// Configuration of the hierarchical generative label model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hierarchical {
    /// The model's form.
    pub form: ModelForm,
    /// Class prior of the extended form (ignored by the paper's form).
    pub class_balance: ClassBalance,
    /// How the extended form models each LF's on-task votes (ignored by the paper's form).
    pub lf_model: LfModel,
    /// Most epochs (EM iterations or gradient steps).
    pub n_epochs: usize,
    /// Stop when the loss improves by less than this between epochs.
    pub tol: f64,
    /// Adam learning rate (paper form).
    pub lr: f64,
    /// L2 penalty on the distance of the parameters from their initial values (paper form).
    pub l2: f64,
    /// Pseudo-count added to each outcome in the M-step (extended form).
    pub smoothing: f64,
    /// Initial accuracy `P(vote = y_t | vote, y_t ≠ ∅)` of every LF, and the center of the
    /// accuracy prior.
    pub init_accuracy: f64,
    /// Strength, in pseudo-votes, of the prior pulling each LF's accuracy toward `init_accuracy`
    /// (extended form, class-propensity LFs): negligible for LFs with thousands of votes, it keeps
    /// weakly identified LFs (few overlaps) from drifting.
    pub accuracy_prior: f64,
    /// Per-LF centers of the accuracy prior, which are also the LFs' initial accuracies (for
    /// example from dev labels, [`DevLabels::lf_accuracy_means`](super::DevLabels::lf_accuracy_means));
    /// `None`: `init_accuracy` for every LF. Used by the extended form with class-propensity LFs.
    #[serde(default)]
    pub accuracy_prior_means: Option<Vec<f64>>,
    /// Show a progress bar on standard error (when it is a terminal).
    pub progress: bool,
}

impl Default for Hierarchical {
    fn default() -> Self {
        Hierarchical {
            form: ModelForm::Extended,
            class_balance: ClassBalance::Learned,
            lf_model: LfModel::ClassPropensity,
            n_epochs: 500,
            tol: 1e-8,
            lr: 0.05,
            l2: 0.0,
            smoothing: 0.5,
            init_accuracy: 0.7,
            accuracy_prior: 30.0,
            accuracy_prior_means: None,
            progress: true,
        }
    }
}

impl Hierarchical {
    /// The center of LF `j`'s accuracy prior, also its initial accuracy.
    fn prior_accuracy(&self, j: usize) -> f64 {
        self.accuracy_prior_means.as_ref().map_or(self.init_accuracy, |means| means[j])
    }

    /// The paper's exact form with its defaults.
    pub fn paper() -> Self {
        Hierarchical { form: ModelForm::Paper, n_epochs: 300, tol: 1e-9, ..Hierarchical::default() }
    }

    /// "Soft MV": the paper's model with every LF at the same fixed accuracy weight
    /// (`init_accuracy`) and zero propensity weight, not trained.
    pub fn soft_mv(&self, matrix: &LabelMatrix) -> Result<FittedHierarchical, LabelModelError> {
        self.check(matrix)?;
        let tables = Tables::new(matrix.graph(), matrix.lfs());
        let theta_acc = vec![acc_to_theta(self.init_accuracy, 2); matrix.n_lfs()];
        let params = Params::Paper { theta_lab: vec![0.0; matrix.n_lfs()], theta_acc };
        // Equal weights across LFs regardless of their task's cardinality.
        Ok(FittedHierarchical {
            graph: matrix.graph_arc().clone(),
            lfs: matrix.lfs().to_vec(),
            tables,
            params,
            report: FitReport {
                model: "soft_mv".into(),
                n_items: matrix.n_items(),
                converged: true,
                ..FitReport::default()
            },
        })
    }

    fn check(&self, matrix: &LabelMatrix) -> Result<(), LabelModelError> {
        let bad = |name, value: f64, expected| {
            Err(LabelModelError::InvalidConfig { name, value: value.to_string(), expected })
        };
        if !(self.init_accuracy > 0.0 && self.init_accuracy < 1.0) {
            return bad("init_accuracy", self.init_accuracy, "strictly between 0 and 1");
        }
        if self.form == ModelForm::Paper && !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr, "positive and finite");
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return bad("l2", self.l2, "non-negative and finite");
        }
        if !(self.accuracy_prior >= 0.0 && self.accuracy_prior.is_finite()) {
            return bad("accuracy_prior", self.accuracy_prior, "non-negative and finite");
        }
        if !(self.smoothing >= 0.0 && self.smoothing.is_finite()) {
            return bad("smoothing", self.smoothing, "non-negative and finite");
        }
        if let Some(means) = &self.accuracy_prior_means {
            if means.len() != matrix.n_lfs() || means.iter().any(|&a| !(a > 0.0 && a < 1.0)) {
                return Err(LabelModelError::InvalidConfig {
                    name: "accuracy_prior_means",
                    value: format!("{} values for {} LFs", means.len(), matrix.n_lfs()),
                    expected: "one accuracy strictly between 0 and 1 per LF",
                });
            }
        }
        if self.tol.is_nan() || self.tol < 0.0 {
            return bad("tol", self.tol, "non-negative");
        }
        if let ClassBalance::Given(p) = &self.class_balance {
            let k = matrix.graph().n_end_labels();
            let sum: f64 = p.iter().sum();
            if p.len() != k || p.iter().any(|&x| x.is_nan() || x <= 0.0) || (sum - 1.0).abs() > 1e-6 {
                return Err(LabelModelError::ClassBalance { expected: k, got: p.clone() });
            }
        }
        if matrix.n_items() == 0 {
            return Err(LabelModelError::Empty);
        }
        Ok(())
    }
}

/// `θ_acc` giving accuracy `acc` on a task with `k` labels (at `θ_lab` = 0).
fn acc_to_theta(acc: f64, k: usize) -> f64 {
    0.5 * (acc * (k as f64 - 1.0) / (1.0 - acc)).ln()
}

/// Static lookup tables of a schema and LF set: the shared [`Layout`] and this model's own.
#[derive(Debug, Clone)]
struct Tables {
    lay: Layout,
    /// Offset of LF j's k_t × k_t block in per-LF (true label, vote) tables.
    lf_offset: Vec<usize>,
    /// K × T: index of `y_t` (k_t for ∅) in a per-task scratch array, offset included.
    score_index: Vec<usize>,
    /// Offsets of each task's block in a per-task scratch array of size Σ (k_t + 1).
    task_offset: Vec<usize>,
    task_card: Vec<usize>,
}

/// Floor of every probability the EM M-step estimates, so that logs stay finite.
const MIN_PROB: f64 = 1e-12;

impl Tables {
    fn new(graph: &TaskGraph, lfs: &[LfInfo]) -> Self {
        let lay = Layout::new(graph, lfs);
        let task_card: Vec<usize> = (0..lay.n_tasks).map(|t| graph.cardinality(t)).collect();
        let mut task_offset = Vec::with_capacity(lay.n_tasks + 1);
        let mut off = 0;
        for &c in &task_card {
            task_offset.push(off);
            off += c + 1;
        }
        task_offset.push(off);
        let mut lf_offset = Vec::with_capacity(lfs.len() + 1);
        let mut off = 0;
        for &c in &lay.lf_card {
            lf_offset.push(off);
            off += c * c;
        }
        lf_offset.push(off);
        let score_index = (0..lay.k * lay.n_tasks)
            .map(|i| {
                let (y, t) = (i / lay.n_tasks, i % lay.n_tasks);
                let v = lay.y_t(y, t);
                task_offset[t] + if v == NULL { task_card[t] } else { usize::from(v) }
            })
            .collect();
        Tables { lay, lf_offset, score_index, task_offset, task_card }
    }

    fn y_t(&self, y: usize, t: usize) -> u16 {
        self.lay.y_t(y, t)
    }

    fn on(&self, y: usize, j: usize) -> bool {
        self.lay.on(y, j)
    }
}

/// Model parameters.
#[derive(Debug, Clone, PartialEq)]
enum Params {
    Paper {
        theta_lab: Vec<f64>,
        theta_acc: Vec<f64>,
    },
    Extended {
        /// log π_y.
        log_prior: Vec<f64>,
        /// Per LF, a k_t × k_t block (at `lf_offset[j]`): `P(vote = v | y_t = u)` at `u * k_t + v`.
        vote: Vec<f64>,
        /// Per LF and true label u (at [`Tables::abstain_index`]):
        /// `P(abstain | y_t = u) = 1 − Σ_v P(vote = v | y_t = u)`.
        abstain: Vec<f64>,
        /// P(fire | off-task), uniform over the task's labels when it fires.
        off: Vec<f64>,
    },
}

impl Tables {
    /// Index of `(j, u)` in per-LF, per-true-label arrays (Σ_j k_t entries).
    fn abstain_index(&self, j: usize, u: usize) -> usize {
        self.lay.offset[j] + u
    }

    fn n_abstain(&self) -> usize {
        self.lay.d()
    }
}

/// Per-epoch score tables: `score(y) = base[y] + Σ_votes delta(j, vote, y)`, with
/// `delta = d_vote[j][y_t][vote]` when the LF's task is active under y and `d_off[j]` otherwise.
struct Scores {
    base: Vec<f64>,
    /// Same layout as [`Params::Extended::vote`].
    d_vote: Vec<f64>,
    d_off: Vec<f64>,
    /// Subtracted from the log-sum-exp to get log p(λ) (paper form: log Z).
    log_norm: f64,
}

impl Params {
    fn scores(&self, tab: &Tables) -> Scores {
        let m = tab.lay.lf_card.len();
        match self {
            Params::Paper { theta_lab, theta_acc } => {
                let log_norm = paper_log_prior(tab, theta_lab, theta_acc).1;
                let mut d_vote = vec![0.0; tab.lf_offset[m]];
                for j in 0..m {
                    let k = tab.lay.lf_card[j];
                    for u in 0..k {
                        for v in 0..k {
                            let sign = if u == v { 1.0 } else { -1.0 };
                            d_vote[tab.lf_offset[j] + u * k + v] = theta_lab[j] + sign * theta_acc[j];
                        }
                    }
                }
                Scores { base: vec![0.0; tab.lay.k], d_vote, d_off: vec![0.0; m], log_norm }
            }
            Params::Extended { log_prior, vote, abstain, off } => {
                let mut base = log_prior.clone();
                for (y, b) in base.iter_mut().enumerate() {
                    for j in 0..m {
                        let yt = tab.y_t(y, tab.lay.lf_task[j]);
                        *b += if yt == NULL {
                            (1.0 - off[j]).ln()
                        } else {
                            abstain[tab.abstain_index(j, usize::from(yt))].ln()
                        };
                    }
                }
                let mut d_vote = vec![0.0; tab.lf_offset[m]];
                for j in 0..m {
                    let k = tab.lay.lf_card[j];
                    for u in 0..k {
                        let a = abstain[tab.abstain_index(j, u)].ln();
                        for v in 0..k {
                            let idx = tab.lf_offset[j] + u * k + v;
                            d_vote[idx] = vote[idx].ln() - a;
                        }
                    }
                }
                Scores {
                    base,
                    d_vote,
                    d_off: (0..m).map(|j| (off[j] / tab.lay.lf_card[j] as f64).ln() - (1.0 - off[j]).ln()).collect(),
                    log_norm: 0.0,
                }
            }
        }
    }

    /// Per LF: `P(vote = y_t | vote, y_t ≠ ∅)`, averaged over the true labels with the model's
    /// class prior.
    fn accuracies(&self, tab: &Tables) -> Vec<f64> {
        match self {
            Params::Paper { theta_lab, theta_acc } => (0..theta_lab.len())
                .map(|j| {
                    let k = tab.lay.lf_card[j] as f64;
                    let c = (theta_lab[j] + theta_acc[j]).exp();
                    let w = (theta_lab[j] - theta_acc[j]).exp();
                    c / (c + (k - 1.0) * w)
                })
                .collect(),
            Params::Extended { log_prior, vote, .. } => (0..tab.lay.lf_card.len())
                .map(|j| {
                    let k = tab.lay.lf_card[j];
                    let t = tab.lay.lf_task[j];
                    let (mut correct, mut fired) = (0.0, 0.0);
                    for (y, lp) in log_prior.iter().enumerate() {
                        let yt = tab.y_t(y, t);
                        if yt == NULL {
                            continue;
                        }
                        let u = usize::from(yt);
                        let row = &vote[tab.lf_offset[j] + u * k..tab.lf_offset[j] + (u + 1) * k];
                        correct += lp.exp() * row[u];
                        fired += lp.exp() * row.iter().sum::<f64>();
                    }
                    if fired > 0.0 {
                        correct / fired
                    } else {
                        0.0
                    }
                })
                .collect(),
        }
    }

    fn is_finite(&self) -> bool {
        let all = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match self {
            Params::Paper { theta_lab, theta_acc } => all(theta_lab) && all(theta_acc),
            Params::Extended { log_prior, vote, abstain, off } => {
                all(log_prior) && all(vote) && all(abstain) && all(off)
            }
        }
    }
}

/// The paper form's implied log prior `log p(y) = Σ_j log Z_j(y) − log Z`, and `log Z`.
fn paper_log_prior(tab: &Tables, theta_lab: &[f64], theta_acc: &[f64]) -> (Vec<f64>, f64) {
    let m = theta_lab.len();
    let log_z_on: Vec<f64> = (0..m)
        .map(|j| {
            let k = tab.lay.lf_card[j] as f64;
            (1.0 + (theta_lab[j] + theta_acc[j]).exp() + (k - 1.0) * (theta_lab[j] - theta_acc[j]).exp()).ln()
        })
        .collect();
    let w: Vec<f64> = (0..tab.lay.k)
        .map(|y| (0..m).map(|j| if tab.on(y, j) { log_z_on[j] } else { (tab.lay.lf_card[j] as f64 + 1.0).ln() }).sum())
        .collect();
    let lse = log_sum_exp(&w);
    (w.iter().map(|x| x - lse).collect(), lse)
}

/// Sufficient statistics of one E-step, summed over items (mergeable across shards).
#[derive(Debug, Clone)]
struct Stats {
    log_lik: f64,
    /// Σ_i q_i(y).
    mass: Vec<f64>,
    /// Per LF, k_t × k_t (layout of [`Params::Extended::vote`]): Σ over its votes v of q(y_t = u).
    vote: Vec<f64>,
    /// Per LF: Σ over its votes of q(y_t = ∅).
    off: Vec<f64>,
}

impl Stats {
    fn zeros(tab: &Tables) -> Self {
        let m = tab.lay.lf_card.len();
        Stats { log_lik: 0.0, mass: vec![0.0; tab.lay.k], vote: vec![0.0; tab.lf_offset[m]], off: vec![0.0; m] }
    }

    fn merge(mut self, other: Stats) -> Stats {
        self.log_lik += other.log_lik;
        for (a, b) in [(&mut self.mass, &other.mass), (&mut self.vote, &other.vote), (&mut self.off, &other.off)] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }

    /// Per LF: Σ over its votes of q(y_t = vote) and of q(y_t ∉ {vote, ∅}).
    fn correct_wrong(&self, tab: &Tables, j: usize) -> (f64, f64) {
        let k = tab.lay.lf_card[j];
        let block = &self.vote[tab.lf_offset[j]..tab.lf_offset[j] + k * k];
        let correct: f64 = (0..k).map(|u| block[u * k + u]).sum();
        (correct, block.iter().sum::<f64>() - correct)
    }
}

/// Scratch space for one row's posterior.
struct Row {
    /// Per task block: summed deltas for y_t = 0..k_t and (last) y_t = ∅.
    task_score: Vec<f64>,
    touched: Vec<bool>,
    /// The tasks with at least one vote on the row.
    touched_list: Vec<usize>,
    score: Vec<f64>,
    /// Per task block: posterior marginal of y_t = 0..k_t and ∅.
    marg: Vec<f64>,
}

impl Row {
    fn new(tab: &Tables) -> Self {
        let size = tab.task_offset[tab.lay.n_tasks];
        Row {
            task_score: vec![0.0; size],
            touched: vec![false; tab.lay.n_tasks],
            touched_list: Vec::with_capacity(tab.lay.n_tasks),
            score: vec![0.0; tab.lay.k],
            marg: vec![0.0; size],
        }
    }

    /// Computes the posterior over end labels into `self.score`; returns the log-sum-exp.
    fn posterior(&mut self, tab: &Tables, sc: &Scores, lfs: &[u32], labels: &[u16]) -> f64 {
        for &t in &self.touched_list {
            self.touched[t] = false;
        }
        self.touched_list.clear();
        for (&j, &v) in lfs.iter().zip(labels) {
            let j = j as usize;
            let t = tab.lay.lf_task[j];
            let off = tab.task_offset[t];
            let kt = tab.task_card[t];
            let block = &mut self.task_score[off..=off + kt];
            if !self.touched[t] {
                block.iter_mut().for_each(|x| *x = 0.0);
                self.touched[t] = true;
                self.touched_list.push(t);
            }
            let d = &sc.d_vote[tab.lf_offset[j]..tab.lf_offset[j] + kt * kt];
            let v = usize::from(v);
            for (u, x) in block[..kt].iter_mut().enumerate() {
                *x += d[u * kt + v];
            }
            block[kt] += sc.d_off[j];
        }
        let mut max = f64::NEG_INFINITY;
        for (y, out) in self.score.iter_mut().enumerate() {
            let idx = &tab.score_index[y * tab.lay.n_tasks..(y + 1) * tab.lay.n_tasks];
            let mut s = sc.base[y];
            for &t in &self.touched_list {
                s += self.task_score[idx[t]];
            }
            *out = s;
            max = max.max(s);
        }
        if !max.is_finite() {
            return max;
        }
        let mut sum = 0.0;
        for s in self.score.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        self.score.iter_mut().for_each(|s| *s /= sum);
        max + sum.ln()
    }

    /// Posterior marginals of the touched tasks, from `self.score`.
    fn marginals(&mut self, tab: &Tables) {
        for &t in &self.touched_list {
            let off = tab.task_offset[t];
            self.marg[off..=off + tab.task_card[t]].iter_mut().for_each(|x| *x = 0.0);
        }
        for (y, &q) in self.score.iter().enumerate() {
            let idx = &tab.score_index[y * tab.lay.n_tasks..(y + 1) * tab.lay.n_tasks];
            for &t in &self.touched_list {
                self.marg[idx[t]] += q;
            }
        }
    }
}

fn e_step(tab: &Tables, sc: &Scores, pats: &Patterns<'_>) -> Stats {
    // Fixed chunks of patterns summed in chunk order, so that the sums (and the fit) are the same
    // on any number of threads.
    let n_chunks = pats.len().div_ceil(E_CHUNK);
    let mut total = Stats::zeros(tab);
    for batch in (0..n_chunks).collect::<Vec<_>>().chunks(E_CHUNKS_PER_BATCH) {
        let parts: Vec<Stats> = batch
            .par_iter()
            .map(|&ch| {
                let (mut st, mut row) = (Stats::zeros(tab), Row::new(tab));
                for p in ch * E_CHUNK..((ch + 1) * E_CHUNK).min(pats.len()) {
                    let (lfs, labels) = pats.pattern(p);
                    let c = pats.counts()[p];
                    let lse = row.posterior(tab, sc, lfs, labels);
                    st.log_lik += c * (lse - sc.log_norm);
                    accumulate(&mut st, &mut row, tab, lfs, labels, c);
                }
                st
            })
            .collect();
        for part in parts {
            total = total.merge(part);
        }
    }
    total
}

/// Patterns per work unit of the E-step (fixed, so that the summation order is).
const E_CHUNK: usize = 1024;

/// E-step work units whose statistics are held at once.
const E_CHUNKS_PER_BATCH: usize = 64;

/// Adds one pattern's expected statistics under the posterior in `row.score`, `c` times.
fn accumulate(st: &mut Stats, row: &mut Row, tab: &Tables, lfs: &[u32], labels: &[u16], c: f64) {
    for (y, q) in row.score.iter().enumerate() {
        st.mass[y] += c * q;
    }
    if !lfs.is_empty() {
        row.marginals(tab);
        for (&j, &v) in lfs.iter().zip(labels) {
            let j = j as usize;
            let t = tab.lay.lf_task[j];
            let off = tab.task_offset[t];
            let kt = tab.task_card[t];
            let block = tab.lf_offset[j];
            for u in 0..kt {
                st.vote[block + u * kt + usize::from(v)] += c * row.marg[off + u];
            }
            st.off[j] += c * row.marg[off + kt];
        }
    }
}

/// The expected statistics under given per-pattern posteriors (`k` per pattern), to start EM
/// from another model's labels.
fn stats_from_posteriors(tab: &Tables, pats: &Patterns<'_>, q: &[f64]) -> Stats {
    let mut st = Stats::zeros(tab);
    let mut row = Row::new(tab);
    for p in 0..pats.len() {
        let (lfs, labels) = pats.pattern(p);
        row.score.copy_from_slice(&q[p * tab.lay.k..(p + 1) * tab.lay.k]);
        row.touched_list.clear();
        row.touched.iter_mut().for_each(|t| *t = false);
        for &j in lfs {
            let t = tab.lay.lf_task[j as usize];
            if !row.touched[t] {
                row.touched[t] = true;
                row.touched_list.push(t);
            }
        }
        accumulate(&mut st, &mut row, tab, lfs, labels, pats.counts()[p]);
    }
    st
}

/// A fitted hierarchical generative label model.
#[derive(Debug, Clone)]
pub struct FittedHierarchical {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    tables: Tables,
    params: Params,
    report: FitReport,
}

impl FittedHierarchical {
    /// Learned per-LF propensity `P(vote | y_t ≠ ∅)`.
    pub fn lf_propensities(&self) -> Vec<f64> {
        match &self.params {
            Params::Paper { theta_lab, theta_acc } => (0..theta_lab.len())
                .map(|j| {
                    let k = self.tables.lay.lf_card[j] as f64;
                    let fire = (theta_lab[j] + theta_acc[j]).exp() + (k - 1.0) * (theta_lab[j] - theta_acc[j]).exp();
                    fire / (1.0 + fire)
                })
                .collect(),
            Params::Extended { log_prior, abstain, .. } => (0..self.tables.lay.lf_card.len())
                .map(|j| {
                    let t = self.tables.lay.lf_task[j];
                    let (mut fire, mut on) = (0.0, 0.0);
                    for (y, lp) in log_prior.iter().enumerate() {
                        let yt = self.tables.y_t(y, t);
                        if yt != NULL {
                            fire += lp.exp() * (1.0 - abstain[self.tables.abstain_index(j, usize::from(yt))]);
                            on += lp.exp();
                        }
                    }
                    if on > 0.0 {
                        fire / on
                    } else {
                        0.0
                    }
                })
                .collect(),
        }
    }

    /// Learned per-LF off-task firing propensity `P(vote | y_t = ∅)` (extended form; the paper's
    /// form fixes it at `k_t/(k_t+1)`).
    pub fn lf_off_task_propensities(&self) -> Vec<f64> {
        match &self.params {
            Params::Paper { .. } => self.tables.lay.lf_card.iter().map(|&k| k as f64 / (k as f64 + 1.0)).collect(),
            Params::Extended { off, .. } => off.clone(),
        }
    }

    /// The prior over end labels the model uses.
    pub fn class_prior(&self) -> Vec<f64> {
        match &self.params {
            Params::Paper { theta_lab, theta_acc } => {
                paper_log_prior(&self.tables, theta_lab, theta_acc).0.iter().map(|x| x.exp()).collect()
            }
            Params::Extended { log_prior, .. } => log_prior.iter().map(|x| x.exp()).collect(),
        }
    }

    /// Tests the model's assumption that the LFs vote independently given the true label, on
    /// `matrix` (normally the matrix it was fit on): see [`IndependenceTest`]. `None` for the
    /// paper's form, whose votes are not independent given the label alone.
    ///
    /// # Errors
    /// If `matrix` has another schema or other LFs than the model.
    pub fn independence_test(&self, matrix: &LabelMatrix) -> Result<Option<IndependenceTest>, LabelModelError> {
        self.independence_test_counts(matrix, None)
    }

    /// [`independence_test`](Self::independence_test) on the rows of `matrix` standing for
    /// `counts[i]` items each (`None`: one each).
    pub(crate) fn independence_test_counts(
        &self,
        matrix: &LabelMatrix,
        counts: Option<&[f64]>,
    ) -> Result<Option<IndependenceTest>, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let Params::Extended { log_prior, vote, abstain: _, off } = &self.params else {
            return Ok(None);
        };
        let tab = &self.tables;
        let k = tab.lay.k;
        let tables: Vec<Vec<f64>> = (0..tab.lay.m())
            .map(|j| {
                let kt = tab.lay.lf_card[j];
                let mut out = vec![0.0; k * kt];
                for y in 0..k {
                    let yt = tab.y_t(y, tab.lay.lf_task[j]);
                    for v in 0..kt {
                        out[y * kt + v] = if yt == NULL {
                            off[j] / kt as f64
                        } else {
                            vote[tab.lf_offset[j] + usize::from(yt) * kt + v]
                        };
                    }
                }
                out
            })
            .collect();
        let prior: Vec<f64> = log_prior.iter().map(|x| x.exp()).collect();
        let pats = match counts {
            Some(c) => Patterns::with_counts(matrix, c.to_vec()),
            None => Patterns::new(matrix),
        };
        let n = pats.counts().iter().sum();
        Ok(Some(super::independence::test(&tab.lay, &prior, &tables, &pats, n)))
    }

    /// Mean log marginal likelihood of the votes of `matrix` under the model.
    pub fn mean_log_likelihood(&self, matrix: &LabelMatrix) -> Result<f64, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let pats = Patterns::new(matrix);
        let st = e_step(&self.tables, &self.params.scores(&self.tables), &pats);
        Ok(st.log_lik / matrix.n_items() as f64)
    }
}

impl FittedLabelModel for FittedHierarchical {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let pats = Patterns::new(matrix);
        let sc = self.params.scores(&self.tables);
        let tab = &self.tables;
        let k = tab.lay.k;
        let mut per_pattern = vec![0.0; pats.len() * k];
        per_pattern.par_chunks_mut(512 * k).enumerate().for_each(|(c, block)| {
            let mut row = Row::new(tab);
            for (r, out) in block.chunks_mut(k).enumerate() {
                let (lfs, labels) = pats.pattern(c * 512 + r);
                row.posterior(tab, &sc, lfs, labels);
                out.copy_from_slice(&row.score);
            }
        });
        let mut end = Array2::<f64>::zeros((matrix.n_items(), tab.lay.k));
        for (mut out, &p) in end.outer_iter_mut().zip(pats.row_pattern()) {
            let p = p as usize;
            out.iter_mut().zip(&per_pattern[p * k..(p + 1) * k]).for_each(|(o, q)| *o = *q);
        }
        Ok(ProbLabels::new(self.graph.clone(), end))
    }

    fn lf_accuracies(&self) -> Option<Vec<f64>> {
        Some(self.params.accuracies(&self.tables))
    }

    fn class_prior(&self) -> Option<Vec<f64>> {
        Some(FittedHierarchical::class_prior(self))
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

impl LabelModel for Hierarchical {
    type Fitted = FittedHierarchical;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedHierarchical, LabelModelError> {
        self.fit_inner(matrix, None, None, true)
    }

    fn fit_counts(&self, patterns: &LabelMatrix, counts: &[u64]) -> Result<FittedHierarchical, LabelModelError> {
        super::check_counts(patterns, counts)?;
        let counts: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        self.fit_inner(patterns, Some(&counts), None, true)
    }
}

impl Hierarchical {
    /// Fits the extended form by EM starting from the labels `init` (for example another label
    /// model's `predict_proba` on the same matrix) instead of from `init_accuracy`: the first
    /// M-step estimates the LF tables and the class prior from them.
    ///
    /// # Errors
    /// As [`LabelModel::fit`], and [`LabelModelError::IncompatibleMatrix`] if `init` has another
    /// number of items or end labels than `matrix`.
    pub fn fit_from(&self, matrix: &LabelMatrix, init: &ProbLabels) -> Result<FittedHierarchical, LabelModelError> {
        self.check_init(matrix, init)?;
        self.fit_inner(matrix, None, Some(init), true)
    }

    fn check_init(&self, matrix: &LabelMatrix, init: &ProbLabels) -> Result<(), LabelModelError> {
        if self.form == ModelForm::Paper {
            return Err(LabelModelError::InvalidConfig {
                name: "form",
                value: "Paper".into(),
                expected: "the extended form (the paper's form is fit by gradient descent, not from labels)",
            });
        }
        if init.n_items() != matrix.n_items() || init.graph() != matrix.graph() {
            return Err(LabelModelError::IncompatibleMatrix {
                what: format!("{} initial labels for {} items, or another schema", init.n_items(), matrix.n_items()),
            });
        }
        Ok(())
    }

    /// [`fit`](LabelModel::fit) without [`diagnose`](super::diagnose).
    pub(crate) fn fit_undiagnosed(
        &self,
        matrix: &LabelMatrix,
        counts: Option<&[f64]>,
    ) -> Result<FittedHierarchical, LabelModelError> {
        self.fit_inner(matrix, counts, None, false)
    }

    /// [`fit_from`](Self::fit_from) without [`diagnose`](super::diagnose) (for a caller that
    /// diagnoses the fit it keeps).
    pub(crate) fn fit_from_undiagnosed(
        &self,
        matrix: &LabelMatrix,
        counts: Option<&[f64]>,
        init: &ProbLabels,
    ) -> Result<FittedHierarchical, LabelModelError> {
        self.check_init(matrix, init)?;
        self.fit_inner(matrix, counts, Some(init), false)
    }

    /// Fits on `matrix`, or, with `counts`, on its rows as patterns standing for `counts[i]`
    /// items each.
    fn fit_inner(
        &self,
        matrix: &LabelMatrix,
        counts: Option<&[f64]>,
        init: Option<&ProbLabels>,
        diagnose: bool,
    ) -> Result<FittedHierarchical, LabelModelError> {
        self.check(matrix)?;
        let start = Instant::now();
        let tab = Tables::new(matrix.graph(), matrix.lfs());
        let pats = match counts {
            Some(c) => Patterns::with_counts(matrix, c.to_vec()),
            None => Patterns::new(matrix),
        };
        // The initial labels per pattern (those of its first row).
        let init = init.map(|labels| {
            let k = tab.lay.k;
            let mut q = vec![0.0; pats.len() * k];
            let mut seen = vec![false; pats.len()];
            for (i, &p) in pats.row_pattern().iter().enumerate() {
                let p = p as usize;
                if !seen[p] {
                    seen[p] = true;
                    q[p * k..(p + 1) * k].iter_mut().zip(labels.end_labels().row(i)).for_each(|(a, b)| *a = *b);
                }
            }
            q
        });
        let n: f64 = pats.counts().iter().sum();
        let m = matrix.n_lfs();
        let mut rate = vec![0.0; m];
        for (p, &c) in pats.counts().iter().enumerate() {
            for &j in pats.pattern(p).0 {
                rate[j as usize] += c / n;
            }
        }
        let bar = if self.progress && n >= 100_000.0 {
            let bar = ProgressBar::new(self.n_epochs as u64);
            bar.set_style(
                ProgressStyle::with_template("fitting label model {bar:40} epoch {pos}/{len} loss {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let (params, loss, converged) = match self.form {
            ModelForm::Extended => self.fit_em(&tab, &pats, &rate, n, &bar, init.as_deref())?,
            ModelForm::Paper => self.fit_paper(&tab, &pats, &rate, n, &bar)?,
        };
        bar.finish_and_clear();
        let report = FitReport {
            model: match self.form {
                ModelForm::Extended => "hierarchical".into(),
                ModelForm::Paper => "hierarchical_paper".into(),
            },
            n_items: n as usize,
            n_patterns: pats.len(),
            n_epochs: loss.len(),
            converged,
            loss,
            seconds: start.elapsed().as_secs_f64(),
            warnings: Vec::new(),
            notes: Vec::new(),
        };
        let mut fitted = FittedHierarchical {
            graph: matrix.graph_arc().clone(),
            lfs: matrix.lfs().to_vec(),
            tables: tab,
            params,
            report,
        };
        if diagnose {
            fitted.report.warnings = super::diagnostics::diagnose_weighted(matrix, counts, &fitted)?;
        }
        fitted.report.seconds = start.elapsed().as_secs_f64();
        Ok(fitted)
    }
}

type FitOut = (Params, Vec<f64>, bool);

impl Hierarchical {
    fn fit_em(
        &self,
        tab: &Tables,
        pats: &Patterns<'_>,
        rate: &[f64],
        n: f64,
        bar: &ProgressBar,
        init: Option<&[f64]>,
    ) -> Result<FitOut, LabelModelError> {
        let m = rate.len();
        // P(task of j active) under a uniform prior, to turn vote rates into on-task propensities.
        let p_on: Vec<f64> =
            (0..m).map(|j| (0..tab.lay.k).filter(|&y| tab.on(y, j)).count() as f64 / tab.lay.k as f64).collect();
        let fixed_prior = match &self.class_balance {
            ClassBalance::Learned => None,
            ClassBalance::Uniform => Some(vec![-(tab.lay.k as f64).ln(); tab.lay.k]),
            ClassBalance::Given(p) => Some(p.iter().map(|x| x.ln()).collect()),
        };
        // Start from the symmetric model at each LF's prior accuracy.
        let mut vote = vec![0.0; tab.lf_offset[m]];
        let mut abstain = vec![0.0; tab.n_abstain()];
        for j in 0..m {
            let fire = (rate[j] / p_on[j].max(1e-12)).clamp(0.01, 0.95);
            let k = tab.lay.lf_card[j];
            let acc = self.prior_accuracy(j);
            for u in 0..k {
                abstain[tab.abstain_index(j, u)] = 1.0 - fire;
                for v in 0..k {
                    vote[tab.lf_offset[j] + u * k + v] =
                        if u == v { fire * acc } else { fire * (1.0 - acc) / (k as f64 - 1.0) };
                }
            }
        }
        let off = rate.iter().map(|r| (0.1 * r).clamp(1e-4, 0.5)).collect();
        let log_prior = fixed_prior.clone().unwrap_or_else(|| vec![-(tab.lay.k as f64).ln(); tab.lay.k]);
        let mut params = Params::Extended { log_prior, vote, abstain, off };
        if let Some(q) = init {
            // One M-step from the given posteriors.
            self.m_step_all(tab, &stats_from_posteriors(tab, pats, q), n, &mut params, fixed_prior.is_none());
        }
        let mut loss = Vec::new();
        let mut converged = false;
        for epoch in 0..self.n_epochs {
            let st = e_step(tab, &params.scores(tab), pats);
            let l = -st.log_lik / n;
            if !l.is_finite() {
                return Err(LabelModelError::Diverged { epoch, loss: l, hint: "raise `smoothing`" });
            }
            bar.set_position(epoch as u64 + 1);
            bar.set_message(format!("{l:.6}"));
            let done = loss.last().is_some_and(|&prev: &f64| prev - l < self.tol);
            loss.push(l);
            self.m_step_all(tab, &st, n, &mut params, fixed_prior.is_none());
            if !params.is_finite() {
                return Err(LabelModelError::Diverged { epoch, loss: l, hint: "raise `smoothing`" });
            }
            if done {
                converged = true;
                break;
            }
        }
        Ok((params, loss, converged))
    }

    /// The M-step of every parameter: the per-LF tables and, when `learn_prior`, the class prior.
    fn m_step_all(&self, tab: &Tables, st: &Stats, n: f64, params: &mut Params, learn_prior: bool) {
        let Params::Extended { log_prior, vote, abstain, off } = params else {
            unreachable!("EM runs on the extended form")
        };
        self.m_step(tab, st, n, vote, abstain, off);
        if learn_prior {
            let s = self.smoothing;
            let total = n + tab.lay.k as f64 * s;
            for (lp, mass) in log_prior.iter_mut().zip(&st.mass) {
                *lp = ((mass + s) / total).max(MIN_PROB).ln();
            }
        }
    }

    /// The closed-form M-step of the per-LF tables. Pseudo-counts: `smoothing` on abstain, on
    /// the correct label and (split evenly) on the wrong labels of each true label.
    fn m_step(&self, tab: &Tables, st: &Stats, n: f64, vote: &mut [f64], abstain: &mut [f64], off: &mut [f64]) {
        let s = self.smoothing;
        for j in 0..tab.lay.lf_card.len() {
            let k = tab.lay.lf_card[j];
            let t = tab.lay.lf_task[j];
            // Posterior mass of each true label of the LF's task.
            let mut n_on = vec![0.0; k];
            for (y, mass) in st.mass.iter().enumerate() {
                let yt = tab.y_t(y, t);
                if yt != NULL {
                    n_on[usize::from(yt)] += mass;
                }
            }
            let total_on: f64 = n_on.iter().sum();
            let n_off = (n - total_on).max(0.0);
            off[j] = ((st.off[j] + s) / (n_off + 2.0 * s).max(MIN_PROB)).clamp(1e-9, 1.0 - 1e-9);
            let block = tab.lf_offset[j];
            let wrong_prior = s / (k as f64 - 1.0);
            match self.lf_model {
                LfModel::ClassConditional => {
                    for u in 0..k {
                        let counts = &st.vote[block + u * k..block + (u + 1) * k];
                        let fired: f64 = counts.iter().sum();
                        let total = (n_on[u] + 3.0 * s).max(MIN_PROB);
                        abstain[tab.abstain_index(j, u)] = (((n_on[u] - fired).max(0.0) + s) / total).max(MIN_PROB);
                        for v in 0..k {
                            let prior = if u == v { s } else { wrong_prior };
                            vote[block + u * k + v] = ((counts[v] + prior) / total).max(MIN_PROB);
                        }
                    }
                }
                LfModel::ClassPropensity => {
                    let (correct, wrong) = st.correct_wrong(tab, j);
                    let sa = self.accuracy_prior;
                    let acc = ((correct + sa * self.prior_accuracy(j)) / (correct + wrong + sa).max(MIN_PROB))
                        .clamp(MIN_PROB, 1.0);
                    for u in 0..k {
                        let fired: f64 = st.vote[block + u * k..block + (u + 1) * k].iter().sum();
                        let fire = ((fired + s) / (n_on[u] + 2.0 * s).max(MIN_PROB)).clamp(MIN_PROB, 1.0 - MIN_PROB);
                        abstain[tab.abstain_index(j, u)] = 1.0 - fire;
                        for v in 0..k {
                            let p = if u == v { acc } else { (1.0 - acc) / (k as f64 - 1.0) };
                            vote[block + u * k + v] = (fire * p).max(MIN_PROB);
                        }
                    }
                }
                LfModel::Symmetric => {
                    let (correct, wrong) = st.correct_wrong(tab, j);
                    let total = (total_on + 3.0 * s).max(MIN_PROB);
                    let a = (((total_on - correct - wrong).max(0.0) + s) / total).max(MIN_PROB);
                    let c = ((correct + s) / total).max(MIN_PROB);
                    let w = ((wrong + s) / total / (k as f64 - 1.0)).max(MIN_PROB);
                    for u in 0..k {
                        abstain[tab.abstain_index(j, u)] = a;
                        for v in 0..k {
                            vote[block + u * k + v] = if u == v { c } else { w };
                        }
                    }
                }
            }
        }
    }

    fn fit_paper(
        &self,
        tab: &Tables,
        pats: &Patterns<'_>,
        rate: &[f64],
        n: f64,
        bar: &ProgressBar,
    ) -> Result<FitOut, LabelModelError> {
        let m = rate.len();
        let theta_acc0: Vec<f64> = (0..m).map(|j| acc_to_theta(self.init_accuracy, tab.lay.lf_card[j])).collect();
        let theta_lab0: Vec<f64> = (0..m)
            .map(|j| {
                let p = rate[j].clamp(0.01, 0.95);
                let k = tab.lay.lf_card[j] as f64;
                let s = theta_acc0[j].exp() + (k - 1.0) * (-theta_acc0[j]).exp();
                (p / ((1.0 - p) * s)).ln()
            })
            .collect();
        let mut x: Vec<f64> = theta_lab0.iter().chain(&theta_acc0).copied().collect();
        let x0 = x.clone();
        let mut adam = Adam::new(self.lr, 2 * m);
        let mut loss = Vec::new();
        let mut converged = false;
        for epoch in 0..self.n_epochs {
            let params = Params::Paper { theta_lab: x[..m].to_vec(), theta_acc: x[m..].to_vec() };
            let (l, grad) = paper_loss_grad(tab, pats, &params, n, self.l2, &x0);
            if !l.is_finite() || grad.iter().any(|g| !g.is_finite()) {
                return Err(LabelModelError::Diverged { epoch, loss: l, hint: "lower `lr` or raise `l2`" });
            }
            bar.set_position(epoch as u64 + 1);
            bar.set_message(format!("{l:.6}"));
            let done = loss.last().is_some_and(|&prev: &f64| (prev - l).abs() < self.tol);
            loss.push(l);
            if done {
                converged = true;
                break;
            }
            adam.tick();
            for (i, (xi, gi)) in x.iter_mut().zip(&grad).enumerate() {
                *xi = adam.step(i, *xi, *gi);
            }
        }
        Ok((Params::Paper { theta_lab: x[..m].to_vec(), theta_acc: x[m..].to_vec() }, loss, converged))
    }
}

/// Loss (mean negative log marginal likelihood + `l2/2 ‖x − x0‖²`) of the paper form, and its
/// gradient with respect to `(θ_lab, θ_acc)`: `E_model[h] − E_posterior[h]` (per item) plus the
/// penalty's.
fn paper_loss_grad(tab: &Tables, pats: &Patterns<'_>, params: &Params, n: f64, l2: f64, x0: &[f64]) -> (f64, Vec<f64>) {
    let Params::Paper { theta_lab, theta_acc } = params else { unreachable!("paper form parameters") };
    let m = theta_lab.len();
    let st = e_step(tab, &params.scores(tab), pats);
    let (log_prior, _) = paper_log_prior(tab, theta_lab, theta_acc);
    let mut grad = vec![0.0; 2 * m];
    let mut penalty = 0.0;
    for j in 0..m {
        let k = tab.lay.lf_card[j] as f64;
        let c = (theta_lab[j] + theta_acc[j]).exp();
        let w = (k - 1.0) * (theta_lab[j] - theta_acc[j]).exp();
        let z = 1.0 + c + w;
        let p_on: f64 = (0..tab.lay.k).filter(|&y| tab.on(y, j)).map(|y| log_prior[y].exp()).sum();
        let model_lab = p_on * (c + w) / z;
        let model_acc = p_on * (c - w) / z;
        let (correct, wrong) = st.correct_wrong(tab, j);
        let post_lab = (correct + wrong) / n;
        let post_acc = (correct - wrong) / n;
        let x = [theta_lab[j], theta_acc[j]];
        let (dl, da) = (x[0] - x0[j], x[1] - x0[m + j]);
        penalty += 0.5 * l2 * (dl * dl + da * da);
        grad[j] = model_lab - post_lab + l2 * dl;
        grad[m + j] = model_acc - post_acc + l2 * da;
    }
    (-st.log_lik / n + penalty, grad)
}

#[cfg(test)]
mod tests {

    use super::*;

    use super::super::tests::tree_matrix;

    /// The paper-form gradient matches central finite differences of the loss.
    #[test]
    fn paper_gradient_matches_finite_differences() {
        let mat = tree_matrix();
        let tab = Tables::new(mat.graph(), mat.lfs());
        let pats = Patterns::new(&mat);
        let n = mat.n_items() as f64;
        let x: Vec<f64> = vec![0.3, -0.2, 0.1, 0.5, 0.8, 0.4, 1.1, -0.3];
        let x0 = vec![0.1; 8];
        let at = |x: &[f64]| {
            let p = Params::Paper { theta_lab: x[..4].to_vec(), theta_acc: x[4..].to_vec() };
            paper_loss_grad(&tab, &pats, &p, n, 0.3, &x0)
        };
        let (_, grad) = at(&x);
        for i in 0..8 {
            let h = 1e-6;
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (at(&xp).0 - at(&xm).0) / (2.0 * h);
            assert!((fd - grad[i]).abs() < 1e-6, "coordinate {i}: finite difference {fd}, gradient {}", grad[i]);
        }
    }

    /// The paper-form likelihood by brute force: p(λ) = Σ_y exp(θᵀh(λ, y)) / Σ_{y, λ'} exp(θᵀh(λ', y)).
    #[test]
    fn paper_likelihood_matches_brute_force_enumeration() {
        let mat = tree_matrix();
        let tab = Tables::new(mat.graph(), mat.lfs());
        let theta_lab = vec![0.3, -0.2, 0.1, 0.5];
        let theta_acc = vec![0.8, 0.4, 1.1, -0.3];
        let card = [2usize, 2, 2, 3];
        let g = mat.graph();
        let score = |lam: &[i64], y: usize| -> f64 {
            (0..4)
                .map(|j| {
                    let yt = g.feasible(y)[mat.lf_task(j)];
                    match (yt, lam[j]) {
                        (Some(v), l) if l >= 0 => {
                            theta_lab[j] + if l == i64::from(v) { theta_acc[j] } else { -theta_acc[j] }
                        }
                        _ => 0.0,
                    }
                })
                .sum()
        };
        // Partition function by enumerating every λ' and y.
        let mut z = 0.0;
        let mut lam = vec![-1i64; 4];
        loop {
            z += (0..g.n_end_labels()).map(|y| score(&lam, y).exp()).sum::<f64>();
            let mut j = 0;
            while j < 4 {
                lam[j] += 1;
                if lam[j] < card[j] as i64 {
                    break;
                }
                lam[j] = -1;
                j += 1;
            }
            if j == 4 {
                break;
            }
        }
        let dense = mat.to_dense();
        let brute: f64 = dense
            .outer_iter()
            .map(|row| {
                let lam: Vec<i64> = row.iter().map(|&v| i64::from(v)).collect();
                ((0..g.n_end_labels()).map(|y| score(&lam, y).exp()).sum::<f64>() / z).ln()
            })
            .sum::<f64>()
            / 5.0;
        let params = Params::Paper { theta_lab, theta_acc };
        let st = e_step(&tab, &params.scores(&tab), &Patterns::new(&mat));
        assert!((st.log_lik / 5.0 - brute).abs() < 1e-10, "{} vs {brute}", st.log_lik / 5.0);
    }

    #[test]
    fn em_never_decreases_the_likelihood() {
        let mat = tree_matrix();
        let fit = Hierarchical { n_epochs: 50, tol: 0.0, smoothing: 0.0, ..Hierarchical::default() }.fit(&mat).unwrap();
        let loss = &fit.fit_report().loss;
        assert!(loss.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{loss:?}");
    }

    #[test]
    fn soft_mv_is_a_weighted_vote() {
        let mat = tree_matrix();
        let p = Hierarchical::default().soft_mv(&mat).unwrap().predict_proba(&mat).unwrap();
        let topic = p.task_marginals(0);
        assert!(topic[[0, 0]] > 0.75); // two corporate votes and a consistent child vote
        assert!(topic[[1, 1]] > 0.75);
        for row in p.end_labels().outer_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_settings_are_errors() {
        let mat = tree_matrix();
        let err = Hierarchical { init_accuracy: 1.0, ..Hierarchical::default() }.fit(&mat).unwrap_err();
        assert!(err.to_string().contains("init_accuracy"), "{err}");
        let err = Hierarchical { class_balance: ClassBalance::Given(vec![0.5, 0.5]), ..Hierarchical::default() }
            .fit(&mat)
            .unwrap_err();
        assert!(matches!(err, LabelModelError::ClassBalance { expected: 5, .. }));
    }
}
