//! Pieces every label model shares: the feasible-set layout of a schema and LF set, Adam,
//! softmax and log-sum-exp.

use std::ops::Range;

use crate::label_matrix::LfInfo;
use crate::schema::TaskGraph;

/// Marker of ∅ (task not active) in [`Layout::feasible`].
pub(crate) const NULL: u16 = u16::MAX;

/// Where each end label sits on each task, and where each LF's labels sit in arrays with one
/// entry per (LF, label of its task): the tables the trained models index by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Number of end labels K.
    pub(crate) k: usize,
    pub(crate) n_tasks: usize,
    /// K × T feasible table, [`NULL`] for ∅.
    pub(crate) feasible: Vec<u16>,
    /// Task and cardinality of each LF.
    pub(crate) lf_task: Vec<usize>,
    pub(crate) lf_card: Vec<usize>,
    /// First entry of each LF in per-(LF, label) arrays, and their length last (m + 1 values).
    pub(crate) offset: Vec<usize>,
}

impl Layout {
    pub(crate) fn new(graph: &TaskGraph, lfs: &[LfInfo]) -> Self {
        let mut feasible = Vec::with_capacity(graph.n_end_labels() * graph.n_tasks());
        for f in graph.feasible_set() {
            feasible.extend(f.iter().map(|v| v.unwrap_or(NULL)));
        }
        let lf_card: Vec<usize> = lfs.iter().map(|l| graph.cardinality(l.task)).collect();
        let mut offset = Vec::with_capacity(lfs.len() + 1);
        offset.push(0);
        for &c in &lf_card {
            offset.push(offset[offset.len() - 1] + c);
        }
        Layout {
            k: graph.n_end_labels(),
            n_tasks: graph.n_tasks(),
            feasible,
            lf_task: lfs.iter().map(|l| l.task).collect(),
            lf_card,
            offset,
        }
    }

    /// Length of per-(LF, label) arrays: Σ_j k_t.
    pub(crate) fn d(&self) -> usize {
        self.offset[self.offset.len() - 1]
    }

    /// Number of LFs.
    pub(crate) fn m(&self) -> usize {
        self.lf_task.len()
    }

    /// The label of end label `y` on task `t` ([`NULL`] for ∅).
    pub(crate) fn y_t(&self, y: usize, t: usize) -> u16 {
        self.feasible[y * self.n_tasks + t]
    }

    /// The label of end label `y` on the task of LF `j` ([`NULL`] for ∅).
    pub(crate) fn y_lf(&self, y: usize, j: usize) -> u16 {
        self.y_t(y, self.lf_task[j])
    }

    /// Whether LF `j`'s task applies under end label `y`.
    pub(crate) fn on(&self, y: usize, j: usize) -> bool {
        self.y_lf(y, j) != NULL
    }

    /// LF `j`'s entries in per-(LF, label) arrays.
    pub(crate) fn cols(&self, j: usize) -> Range<usize> {
        self.offset[j]..self.offset[j + 1]
    }
}

/// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over a flat parameter vector.
pub(crate) struct Adam {
    lr: f64,
    t: i32,
    m1: Vec<f64>,
    m2: Vec<f64>,
}

impl Adam {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;

    /// Adam with learning rate `lr` over `n` parameters.
    pub(crate) fn new(lr: f64, n: usize) -> Self {
        Adam { lr, t: 0, m1: vec![0.0; n], m2: vec![0.0; n] }
    }

    /// Starts a step.
    pub(crate) fn tick(&mut self) {
        self.t += 1;
    }

    /// The new value of parameter `i` at `x` with gradient `g`.
    pub(crate) fn step(&mut self, i: usize, x: f64, g: f64) -> f64 {
        self.m1[i] = Self::B1 * self.m1[i] + (1.0 - Self::B1) * g;
        self.m2[i] = Self::B2 * self.m2[i] + (1.0 - Self::B2) * g * g;
        let mh = self.m1[i] / (1.0 - Self::B1.powi(self.t));
        let vh = self.m2[i] / (1.0 - Self::B2.powi(self.t));
        x - self.lr * mh / (vh.sqrt() + 1e-8)
    }
}

/// `exp(x) / Σ exp(x)`, computed from the maximum.
pub(crate) fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - max).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}

/// `log Σ exp(x)`, computed from the maximum; `-∞` (or the non-finite maximum) when it is not
/// finite.
pub(crate) fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TaskDef;

    #[test]
    fn layout_of_a_tree() {
        // Root {a, b}; a has a child task {x, y, z}: end labels (a, x), (a, y), (a, z), b.
        let graph = TaskGraph::new(vec![
            TaskDef::new("root", ["a", "b"]),
            TaskDef::new("child", ["x", "y", "z"]).with_parent(0, 0),
        ])
        .unwrap();
        let lfs = vec![LfInfo { name: "r".into(), task: 0 }, LfInfo { name: "c".into(), task: 1 }];
        let lay = Layout::new(&graph, &lfs);
        assert_eq!((lay.k, lay.n_tasks, lay.m(), lay.d()), (4, 2, 2, 5));
        assert_eq!(lay.cols(1), 2..5);
        let b = (0..lay.k).find(|&y| lay.y_t(y, 0) == 1).unwrap();
        assert!(!lay.on(b, 1) && lay.on(b, 0));
        assert_eq!((0..lay.k).filter(|&y| lay.on(y, 1)).count(), 3);
    }

    #[test]
    fn softmax_and_log_sum_exp_agree() {
        let x = [1.0, -2.0, 1000.0];
        let p = softmax(&x);
        let lse = log_sum_exp(&x);
        for (pi, xi) in p.iter().zip(x) {
            assert!((pi - (xi - lse).exp()).abs() < 1e-12);
        }
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }

    #[test]
    fn adam_first_step_moves_by_the_learning_rate() {
        let mut adam = Adam::new(0.1, 1);
        adam.tick();
        assert!((adam.step(0, 1.0, 5.0) - 0.9).abs() < 1e-6);
    }
}
