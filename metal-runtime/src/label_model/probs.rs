use std::sync::Arc;

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::EndModelError;
use crate::schema::{TaskGraph, TaskId};

/// Probabilistic labels: for each item, a distribution over the end labels, and the per-task
/// marginals derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbLabels {
    graph: Arc<TaskGraph>,
    /// n × K.
    end: Array2<f64>,
}

impl ProbLabels {
    /// Wraps an n × K matrix whose rows are distributions over the end labels of `graph`.
    ///
    /// # Panics
    /// If the number of columns is not the number of end labels (an internal invariant: label
    /// models build these from the graph).
    pub fn new(graph: Arc<TaskGraph>, end: Array2<f64>) -> Self {
        assert_eq!(end.ncols(), graph.n_end_labels(), "one column per end label");
        ProbLabels { graph, end }
    }

    /// One-hot labels from hard end labels (e.g. a hand-labeled dev set), so that training from
    /// gold labels takes the same path as training from probabilistic ones.
    ///
    /// # Errors
    /// [`EndModelError::GoldLabelOutOfRange`] for a label that is not an end label of `graph`.
    pub fn one_hot(graph: Arc<TaskGraph>, labels: &[usize]) -> Result<Self, EndModelError> {
        let k = graph.n_end_labels();
        let mut end = Array2::zeros((labels.len(), k));
        for (i, &y) in labels.iter().enumerate() {
            if y >= k {
                return Err(EndModelError::GoldLabelOutOfRange { item: i, label: y, n_labels: k });
            }
            end[[i, y]] = 1.0;
        }
        Ok(ProbLabels { graph, end })
    }

    /// The task graph.
    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }

    /// The task graph, shared.
    pub fn graph_arc(&self) -> &Arc<TaskGraph> {
        &self.graph
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.end.nrows()
    }

    /// The n × K distribution over end labels.
    pub fn end_labels(&self) -> ArrayView2<'_, f64> {
        self.end.view()
    }

    /// Consumes the labels, returning the n × K matrix.
    pub fn into_end_labels(self) -> Array2<f64> {
        self.end
    }

    /// The marginal distribution of task `t` for every item: n × k_t for the root, and
    /// n × (k_t + 1) for other tasks, whose last column is the mass of ∅ (task not active).
    pub fn task_marginals(&self, t: TaskId) -> Array2<f64> {
        let k = self.graph.cardinality(t);
        let cols = if t == self.graph.root() { k } else { k + 1 };
        let mut out = Array2::zeros((self.n_items(), cols));
        for (e, feasible) in self.graph.feasible_set().iter().enumerate() {
            let col = feasible[t].map_or(k, usize::from);
            let mut dst = out.column_mut(col);
            dst += &self.end.column(e);
        }
        out
    }

    /// The most probable end label of every item; ties broken uniformly at random with `seed`.
    pub fn argmax(&self, seed: u64) -> Vec<usize> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        self.end.axis_iter(Axis(0)).map(|row| argmax_random_ties(row.iter().copied(), &mut rng)).collect()
    }
}

/// Index of the largest value; among values within 1e-12 of it, one chosen uniformly at random.
pub(crate) fn argmax_random_ties(values: impl Iterator<Item = f64> + Clone, rng: &mut impl Rng) -> usize {
    let best = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let n_ties = values.clone().filter(|&v| v >= best - 1e-12).count();
    let pick = if n_ties > 1 { rng.gen_range(0..n_ties) } else { 0 };
    values.enumerate().filter(|&(_, v)| v >= best - 1e-12).nth(pick).map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use crate::schema::TaskDef;

    #[test]
    fn task_marginals_include_null_mass() {
        let graph = Arc::new(
            TaskGraph::new(vec![
                TaskDef::new("Topic", ["corporate", "markets"]),
                TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
                TaskDef::new("Markets", ["money", "commodity"]).with_parent(0, 1),
            ])
            .unwrap(),
        );
        let p = ProbLabels::new(graph, array![[0.1, 0.2, 0.3, 0.4]]);
        let close = |a: Array2<f64>, b: Array2<f64>| (a - b).iter().all(|d| d.abs() < 1e-12);
        assert!(close(p.task_marginals(0), array![[0.3, 0.7]]));
        assert!(close(p.task_marginals(1), array![[0.1, 0.2, 0.7]]));
        assert!(close(p.task_marginals(2), array![[0.3, 0.4, 0.3]]));
    }

    #[test]
    fn ties_are_broken_by_seed() {
        let graph = Arc::new(TaskGraph::flat("t", ["a", "b", "c"]).unwrap());
        let p = ProbLabels::new(graph, Array2::from_elem((200, 3), 1.0 / 3.0));
        let a = p.argmax(7);
        assert_eq!(a, p.argmax(7));
        assert_ne!(a, p.argmax(8));
        assert!((0..3).all(|k| a.contains(&k)));
    }
}
