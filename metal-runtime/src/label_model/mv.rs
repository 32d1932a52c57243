use std::sync::Arc;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{check_compatible, FitReport, FittedLabelModel, LabelModel, ProbLabels};
use crate::error::LabelModelError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::{TaskGraph, TaskId};

/// Hierarchical majority vote (the paper's "Hard MV"); on a single-task schema, plain majority
/// vote.
///
/// Starting at the root task: the label with the most votes among the LFs of that task wins; then
/// the same is done in the child task the winner activates, down to an end label. Ties (including
/// a task no LF voted on) are broken at random by [`FittedLabelModel::predict`] with its seed;
/// [`FittedLabelModel::predict_proba`] splits the mass evenly among tied labels instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MajorityVote;

/// A majority vote bound to the schema and LFs of a label matrix.
#[derive(Debug, Clone)]
pub struct FittedMajorityVote {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    report: FitReport,
}

impl LabelModel for MajorityVote {
    type Fitted = FittedMajorityVote;

    fn fit(&self, matrix: &LabelMatrix) -> Result<FittedMajorityVote, LabelModelError> {
        Ok(FittedMajorityVote {
            graph: matrix.graph_arc().clone(),
            lfs: matrix.lfs().to_vec(),
            report: FitReport {
                model: "majority_vote".into(),
                n_items: matrix.n_items(),
                converged: true,
                ..FitReport::default()
            },
        })
    }
}

impl FittedMajorityVote {
    /// Vote counts per label of task `t` on one item.
    fn counts(&self, matrix: &LabelMatrix, i: usize, t: TaskId, counts: &mut Vec<u32>) {
        counts.clear();
        counts.resize(self.graph.cardinality(t), 0);
        for (j, v) in matrix.row(i) {
            if self.lfs[j].task == t {
                counts[usize::from(v)] += 1;
            }
        }
    }
}

impl FittedLabelModel for FittedMajorityVote {
    fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let g = &self.graph;
        let mut out = Array2::zeros((matrix.n_items(), g.n_end_labels()));
        let mut counts = Vec::new();
        let mut stack: Vec<(TaskId, f64)> = Vec::new();
        for (i, mut row) in out.outer_iter_mut().enumerate() {
            stack.push((g.root(), 1.0));
            while let Some((t, mass)) = stack.pop() {
                self.counts(matrix, i, t, &mut counts);
                let best = counts.iter().copied().max().unwrap_or(0);
                let n_best = counts.iter().filter(|&&c| c == best).count() as f64;
                for (v, &c) in counts.iter().enumerate() {
                    if c != best {
                        continue;
                    }
                    let share = mass / n_best;
                    match g.child(t, v as u16) {
                        Some(child) => stack.push((child, share)),
                        None => {
                            let e = g.end_label_of_leaf(t, v as u16).unwrap_or_default();
                            row[e] += share;
                        }
                    }
                }
            }
        }
        Ok(ProbLabels::new(self.graph.clone(), out))
    }

    /// Descends from the root, breaking each tie uniformly at random (one seeded stream, items in
    /// order).
    fn predict(&self, matrix: &LabelMatrix, seed: u64) -> Result<Vec<usize>, LabelModelError> {
        check_compatible(&self.graph, &self.lfs, matrix)?;
        let g = &self.graph;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut counts = Vec::new();
        let mut out = Vec::with_capacity(matrix.n_items());
        for i in 0..matrix.n_items() {
            let mut t = g.root();
            let end = loop {
                self.counts(matrix, i, t, &mut counts);
                let best = counts.iter().copied().max().unwrap_or(0);
                let n_best = counts.iter().filter(|&&c| c == best).count();
                let pick = if n_best > 1 { rng.gen_range(0..n_best) } else { 0 };
                let v = counts.iter().enumerate().filter(|&(_, &c)| c == best).nth(pick).map_or(0, |(v, _)| v) as u16;
                match g.child(t, v) {
                    Some(child) => t = child,
                    None => break g.end_label_of_leaf(t, v).unwrap_or_default(),
                }
            };
            out.push(end);
        }
        Ok(out)
    }

    fn fit_report(&self) -> &FitReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use crate::schema::TaskDef;

    fn matrix() -> LabelMatrix {
        let graph = Arc::new(
            TaskGraph::new(vec![
                TaskDef::new("Topic", ["corporate", "markets"]),
                TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
                TaskDef::new("Markets", ["money", "commodity"]).with_parent(0, 1),
            ])
            .unwrap(),
        );
        let lfs = vec![
            LfInfo { name: "t1".into(), task: 0 },
            LfInfo { name: "t2".into(), task: 0 },
            LfInfo { name: "c".into(), task: 1 },
            LfInfo { name: "m".into(), task: 2 },
        ];
        let dense = array![
            [0i16, 0, 1, 0], // corporate (2 votes) → funding; the Markets vote is ignored
            [1, -1, 0, -1],  // markets → no Markets vote: money/commodity tie
            [0, 1, -1, -1],  // root tie, no child votes: all four tie
            [-1, -1, -1, 1], // nothing at the root: tie; under markets, commodity wins
        ];
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }

    #[test]
    fn hierarchical_majority_vote_by_hand() {
        let m = matrix();
        let p = MajorityVote.fit(&m).unwrap().predict_proba(&m).unwrap();
        let expected =
            array![[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.0, 0.5],];
        assert!((p.into_end_labels() - expected).iter().all(|d| d.abs() < 1e-12));
    }

    #[test]
    fn predict_descends_with_seeded_ties() {
        let m = matrix();
        let mv = MajorityVote.fit(&m).unwrap();
        let a = mv.predict(&m, 1).unwrap();
        assert_eq!(a[0], 1);
        assert!(a[1] == 2 || a[1] == 3);
        assert_eq!(a, mv.predict(&m, 1).unwrap());
        // Over many seeds, item 3 (root tie, then commodity wins) lands on 0, 1 or 3, never 2.
        let seen: Vec<usize> = (0..64).map(|s| mv.predict(&m, s).unwrap()[3]).collect();
        assert!(!seen.contains(&2));
        assert!(seen.contains(&3) && (seen.contains(&0) || seen.contains(&1)));
    }
}
