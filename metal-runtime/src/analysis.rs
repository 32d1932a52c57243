//! LF analysis: how often each LF votes, how it agrees with the others, and how accurate it is
//! against gold labels where some are known.
//!
//! The statistics follow snorkel's `LFAnalysis`, generalized to a task hierarchy:
//! - **polarity**: the labels the LF emitted;
//! - **coverage**: fraction of items the LF labels;
//! - **overlaps**: fraction of items the LF labels that at least one other LF also labels;
//! - **conflicts**: fraction of items the LF labels on which another LF's vote is *inconsistent*
//!   with it, i.e. no end label agrees with both votes (a different label of the same task, a
//!   parent value that deactivates the LF's task, or a vote on a sibling task);
//! - **correct / incorrect / empirical accuracy** against gold end labels: a vote is correct when
//!   the gold end label's task-label vector has that label for the LF's task; a vote on a task that
//!   is ∅ for the gold end label is incorrect;
//! - **on-task accuracy**: the same among the gold items where the LF's task applies, which is
//!   what a label model's learned accuracy `P(vote = y_t | vote, y_t ≠ ∅)` estimates (an LF of a
//!   child task votes on items of other branches too, and those votes only count in the first);
//! - **wrong votes**: the gold items each LF gets wrong, with their ids when given.
//!
//! Coverage, overlaps and conflicts are fractions of *all* items of the matrix they were computed
//! on; the gold-label columns can come from a different (small, labeled) matrix with the same LFs,
//! as in [`LfSummary::with_gold`].

use std::fmt;

use serde::Serialize;

use crate::error::LabelMatrixError;
use crate::label_matrix::LabelMatrix;
use crate::report::{fmt_frac, Align, Table};
use crate::schema::TaskGraph;

/// Statistics of one LF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LfStats {
    /// The LF's name.
    pub name: String,
    /// The LF's task.
    pub task: String,
    /// The labels it emitted, in label order.
    pub polarity: Vec<String>,
    /// Number of items it labeled.
    pub n_votes: usize,
    /// Fraction of items it labeled.
    pub coverage: f64,
    /// Fraction of items it labeled that another LF also labeled.
    pub overlaps: f64,
    /// Fraction of items it labeled with a vote inconsistent with another LF's vote.
    pub conflicts: f64,
    /// Votes that agree with the gold end label (when gold labels were given).
    pub correct: Option<usize>,
    /// Votes that disagree with the gold end label (when gold labels were given).
    pub incorrect: Option<usize>,
    /// `correct / (correct + incorrect)`; `None` without gold labels or votes on gold items.
    pub empirical_accuracy: Option<f64>,
    /// Accuracy among the gold items where the LF's task applies (comparable to a learned
    /// accuracy); `None` without gold labels or such votes.
    pub on_task_accuracy: Option<f64>,
    /// The gold items the LF votes wrong on, in item order (empty without gold labels).
    pub wrong: Vec<WrongVote>,
    /// The accuracy a label model learned for this LF, if one was joined in.
    pub learned_accuracy: Option<f64>,
}

/// A vote that disagrees with an item's gold end label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrongVote {
    /// The item's index in the gold-labeled matrix.
    pub item: usize,
    /// The item's id, when ids were given ([`LfSummary::with_gold_ids`]).
    pub id: Option<String>,
    /// The label the LF voted.
    pub vote: String,
    /// The item's gold end label.
    pub gold: String,
    /// Whether the LF's task applies under the gold label (if not, the vote is on another
    /// branch of the hierarchy).
    pub on_task: bool,
}

/// Statistics of one task: how much of the data its LFs cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStats {
    /// The task's name.
    pub name: String,
    /// Number of LFs on the task.
    pub n_lfs: usize,
    /// Fraction of items with at least one vote on the task.
    pub coverage: f64,
    /// Fraction of items with at least two votes on the task.
    pub overlaps: f64,
    /// Fraction of items with two different labels voted for the task.
    pub conflicts: f64,
}

/// The LF summary table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LfSummary {
    /// Items the coverage statistics were computed on.
    pub n_items: usize,
    /// Fraction of items with at least one vote.
    pub coverage: f64,
    /// Mean number of votes per item.
    pub mean_votes: f64,
    /// Items with gold labels the accuracy columns were computed on (0 when none).
    pub n_gold: usize,
    /// One entry per task, in task order.
    pub tasks: Vec<TaskStats>,
    /// One entry per LF, in the matrix's column order.
    pub lfs: Vec<LfStats>,
}

/// Which end labels agree with a vote `(t, v)`, as a bitset over end labels.
struct Consistency {
    words: usize,
    /// Per task, per label: the bitset.
    sets: Vec<Vec<Vec<u64>>>,
}

impl Consistency {
    fn new(graph: &TaskGraph) -> Self {
        let k = graph.n_end_labels();
        let words = k.div_ceil(64);
        let mut sets: Vec<Vec<Vec<u64>>> =
            (0..graph.n_tasks()).map(|t| vec![vec![0u64; words]; graph.cardinality(t)]).collect();
        for e in 0..k {
            for (t, v) in graph.feasible(e).iter().enumerate() {
                if let Some(v) = v {
                    sets[t][usize::from(*v)][e / 64] |= 1 << (e % 64);
                }
            }
        }
        Consistency { words, sets }
    }

    fn consistent(&self, a: (usize, u16), b: (usize, u16)) -> bool {
        let (x, y) = (&self.sets[a.0][usize::from(a.1)], &self.sets[b.0][usize::from(b.1)]);
        (0..self.words).any(|w| x[w] & y[w] != 0)
    }
}

fn frac(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl LfSummary {
    /// Coverage, overlaps and conflicts of every LF on `matrix`.
    pub fn new(matrix: &LabelMatrix) -> Self {
        let graph = matrix.graph();
        let m = matrix.n_lfs();
        let n = matrix.n_items();
        let cons = Consistency::new(graph);
        let mut n_votes = vec![0usize; m];
        let mut overlaps = vec![0usize; m];
        let mut conflicts = vec![0usize; m];
        let mut emitted: Vec<Vec<bool>> = matrix.lfs().iter().map(|l| vec![false; graph.cardinality(l.task)]).collect();
        let t_count = graph.n_tasks();
        let (mut task_cov, mut task_ovl, mut task_conf) =
            (vec![0usize; t_count], vec![0usize; t_count], vec![0usize; t_count]);
        let mut covered = 0;
        let mut per_task: Vec<Vec<u16>> = vec![Vec::new(); t_count];
        for i in 0..n {
            let row: Vec<(usize, u16)> = matrix.row(i).collect();
            if !row.is_empty() {
                covered += 1;
            }
            for labels in per_task.iter_mut() {
                labels.clear();
            }
            for (a, &(j, v)) in row.iter().enumerate() {
                let t = matrix.lf_task(j);
                n_votes[j] += 1;
                emitted[j][usize::from(v)] = true;
                per_task[t].push(v);
                if row.len() > 1 {
                    overlaps[j] += 1;
                }
                let conflict = row
                    .iter()
                    .enumerate()
                    .any(|(b, &(jb, vb))| b != a && !cons.consistent((t, v), (matrix.lf_task(jb), vb)));
                if conflict {
                    conflicts[j] += 1;
                }
            }
            for (t, labels) in per_task.iter().enumerate() {
                if !labels.is_empty() {
                    task_cov[t] += 1;
                }
                if labels.len() > 1 {
                    task_ovl[t] += 1;
                    if labels.iter().any(|&l| l != labels[0]) {
                        task_conf[t] += 1;
                    }
                }
            }
        }
        let lfs = matrix
            .lfs()
            .iter()
            .enumerate()
            .map(|(j, info)| {
                let task = graph.task(info.task);
                LfStats {
                    name: info.name.clone(),
                    task: task.name.clone(),
                    polarity: task.labels.iter().zip(&emitted[j]).filter(|(_, &e)| e).map(|(l, _)| l.clone()).collect(),
                    n_votes: n_votes[j],
                    coverage: frac(n_votes[j], n),
                    overlaps: frac(overlaps[j], n),
                    conflicts: frac(conflicts[j], n),
                    correct: None,
                    incorrect: None,
                    empirical_accuracy: None,
                    on_task_accuracy: None,
                    wrong: Vec::new(),
                    learned_accuracy: None,
                }
            })
            .collect();
        let tasks = graph
            .tasks()
            .iter()
            .enumerate()
            .map(|(t, task)| TaskStats {
                name: task.name.clone(),
                n_lfs: matrix.lfs().iter().filter(|l| l.task == t).count(),
                coverage: frac(task_cov[t], n),
                overlaps: frac(task_ovl[t], n),
                conflicts: frac(task_conf[t], n),
            })
            .collect();
        LfSummary {
            n_items: n,
            coverage: frac(covered, n),
            mean_votes: frac(matrix.n_votes(), n),
            n_gold: 0,
            tasks,
            lfs,
        }
    }

    /// Adds correct / incorrect / empirical and on-task accuracy and the wrong votes, computed on
    /// `labeled`, a matrix of the same LFs on items whose gold end labels are `gold` (one per
    /// item).
    pub fn with_gold(self, labeled: &LabelMatrix, gold: &[usize]) -> Result<Self, LabelMatrixError> {
        self.with_gold_ids(labeled, gold, None)
    }

    /// [`with_gold`](Self::with_gold), naming each wrong vote's item by its id in `ids` (one per
    /// item of `labeled`).
    pub fn with_gold_ids(
        mut self,
        labeled: &LabelMatrix,
        gold: &[usize],
        ids: Option<&[String]>,
    ) -> Result<Self, LabelMatrixError> {
        if let Some(ids) = ids {
            if ids.len() != labeled.n_items() {
                return Err(LabelMatrixError::LengthMismatch {
                    what: "item ids vs. items of the labeled matrix",
                    expected: labeled.n_items(),
                    got: ids.len(),
                });
            }
        }
        if labeled.n_lfs() != self.lfs.len() {
            return Err(LabelMatrixError::LengthMismatch {
                what: "LFs of the gold-labeled matrix vs. the summary",
                expected: self.lfs.len(),
                got: labeled.n_lfs(),
            });
        }
        if gold.len() != labeled.n_items() {
            return Err(LabelMatrixError::LengthMismatch {
                what: "gold labels vs. items of the labeled matrix",
                expected: labeled.n_items(),
                got: gold.len(),
            });
        }
        let graph = labeled.graph();
        let k = graph.n_end_labels();
        let mut correct = vec![0usize; self.lfs.len()];
        let mut incorrect = vec![0usize; self.lfs.len()];
        let mut on_task = vec![(0usize, 0usize); self.lfs.len()];
        let mut wrong: Vec<Vec<WrongVote>> = vec![Vec::new(); self.lfs.len()];
        for (i, &y) in gold.iter().enumerate() {
            if y >= k {
                return Err(LabelMatrixError::LabelOutOfRange {
                    item: i,
                    lf: 0,
                    lf_name: "gold".to_owned(),
                    label: y as i64,
                    task: "end labels".to_owned(),
                    cardinality: k,
                });
            }
            let truth = graph.feasible(y);
            for (j, v) in labeled.row(i) {
                let t = labeled.lf_task(j);
                let applies = truth[t].is_some();
                if applies {
                    on_task[j].1 += 1;
                }
                if truth[t] == Some(v) {
                    correct[j] += 1;
                    on_task[j].0 += 1;
                } else {
                    incorrect[j] += 1;
                    wrong[j].push(WrongVote {
                        item: i,
                        id: ids.map(|ids| ids[i].clone()),
                        vote: graph.task(t).labels[usize::from(v)].clone(),
                        gold: graph.end_label_name(y).to_owned(),
                        on_task: applies,
                    });
                }
            }
        }
        for (j, (s, wrong)) in self.lfs.iter_mut().zip(wrong).enumerate() {
            s.correct = Some(correct[j]);
            s.incorrect = Some(incorrect[j]);
            let total = correct[j] + incorrect[j];
            s.empirical_accuracy = (total > 0).then(|| frac(correct[j], total));
            let (hits, n) = on_task[j];
            s.on_task_accuracy = (n > 0).then(|| frac(hits, n));
            s.wrong = wrong;
        }
        self.n_gold = gold.len();
        Ok(self)
    }

    /// Joins in per-LF accuracies learned by a label model (one per LF, in column order).
    pub fn with_learned_accuracies(mut self, accuracies: &[f64]) -> Result<Self, LabelMatrixError> {
        if accuracies.len() != self.lfs.len() {
            return Err(LabelMatrixError::LengthMismatch {
                what: "learned accuracies vs. LFs",
                expected: self.lfs.len(),
                got: accuracies.len(),
            });
        }
        for (s, &a) in self.lfs.iter_mut().zip(accuracies) {
            s.learned_accuracy = Some(a);
        }
        Ok(self)
    }

    /// The per-LF table.
    pub fn lf_table(&self) -> Table {
        let gold = self.n_gold > 0;
        let learned = self.lfs.iter().any(|s| s.learned_accuracy.is_some());
        let mut cols = vec![
            ("lf", Align::Left),
            ("task", Align::Left),
            ("polarity", Align::Left),
            ("coverage", Align::Right),
            ("overlaps", Align::Right),
            ("conflicts", Align::Right),
        ];
        if gold {
            cols.extend([
                ("correct", Align::Right),
                ("incorrect", Align::Right),
                ("emp. acc", Align::Right),
                ("on-task acc", Align::Right),
            ]);
        }
        if learned {
            cols.push(("learned acc", Align::Right));
        }
        let mut table = Table::new(cols);
        for s in &self.lfs {
            let mut row = vec![
                s.name.clone(),
                s.task.clone(),
                s.polarity.join(","),
                format!("{:.3}", s.coverage),
                format!("{:.3}", s.overlaps),
                format!("{:.3}", s.conflicts),
            ];
            if gold {
                row.push(s.correct.map_or_else(String::new, |c| c.to_string()));
                row.push(s.incorrect.map_or_else(String::new, |c| c.to_string()));
                row.push(fmt_frac(s.empirical_accuracy));
                row.push(fmt_frac(s.on_task_accuracy));
            }
            if learned {
                row.push(fmt_frac(s.learned_accuracy));
            }
            table.row(row);
        }
        table
    }

    /// The wrong votes, up to `max_per_lf` per LF: one line per vote, `lf: item (id) voted
    /// label, gold end label`, marking votes on another branch of the hierarchy. Empty without
    /// gold labels.
    pub fn wrong_votes_text(&self, max_per_lf: usize) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for s in self.lfs.iter().filter(|s| !s.wrong.is_empty()) {
            let _ = writeln!(out, "{} ({} wrong):", s.name, s.wrong.len());
            for w in s.wrong.iter().take(max_per_lf) {
                let id = w.id.as_ref().map(|id| format!(" ({id})")).unwrap_or_default();
                let branch = if w.on_task { "" } else { ", another branch" };
                let _ = writeln!(out, "  item {}{id}: voted {}, gold {}{branch}", w.item, w.vote, w.gold);
            }
            if s.wrong.len() > max_per_lf {
                let _ = writeln!(out, "  … {} more", s.wrong.len() - max_per_lf);
            }
        }
        out
    }

    /// The per-task table.
    pub fn task_table(&self) -> Table {
        let mut table = Table::new([
            ("task", Align::Left),
            ("lfs", Align::Right),
            ("coverage", Align::Right),
            ("overlaps", Align::Right),
            ("conflicts", Align::Right),
        ]);
        for t in &self.tasks {
            table.row([
                t.name.clone(),
                t.n_lfs.to_string(),
                format!("{:.3}", t.coverage),
                format!("{:.3}", t.overlaps),
                format!("{:.3}", t.conflicts),
            ]);
        }
        table
    }
}

impl fmt::Display for LfSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LF summary: {} LFs on {} items; coverage {:.3}, {:.2} votes per item",
            self.lfs.len(),
            self.n_items,
            self.coverage,
            self.mean_votes
        )?;
        if self.n_gold > 0 {
            write!(f, "; accuracy on {} gold-labeled items", self.n_gold)?;
        }
        writeln!(f)?;
        writeln!(f)?;
        write!(f, "{}", self.lf_table())?;
        writeln!(f)?;
        write!(f, "{}", self.task_table())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ndarray::array;

    use super::*;
    use crate::label_matrix::LfInfo;
    use crate::schema::TaskDef;

    /// Topic {corporate, markets} → Corporate {performance, funding}, Markets {money, commodity}.
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
            LfInfo { name: "topic_a".into(), task: 0 },
            LfInfo { name: "corp_b".into(), task: 1 },
            LfInfo { name: "mkt_c".into(), task: 2 },
        ];
        // 5 items × 3 LFs, hand-checked below.
        let dense = array![
            [0i16, 0, -1], // corporate + performance: consistent overlap
            [1, 1, -1],    // markets vs a Corporate vote: conflict
            [-1, -1, 1],   // commodity alone
            [0, -1, 0],    // corporate vs a Markets vote: conflict
            [-1, -1, -1],  // nothing
        ];
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }

    #[test]
    fn hand_computed_statistics() {
        let s = LfSummary::new(&matrix());
        assert_eq!(s.n_items, 5);
        assert!((s.coverage - 0.8).abs() < 1e-12);
        let a = &s.lfs[0];
        assert_eq!(a.polarity, ["corporate", "markets"]);
        assert_eq!(a.n_votes, 3);
        assert!((a.coverage - 0.6).abs() < 1e-12);
        assert!((a.overlaps - 0.6).abs() < 1e-12);
        assert!((a.conflicts - 0.4).abs() < 1e-12);
        let c = &s.lfs[2];
        assert!((c.coverage - 0.4).abs() < 1e-12);
        assert!((c.overlaps - 0.2).abs() < 1e-12);
        assert!((c.conflicts - 0.2).abs() < 1e-12);
        // Topic task: items 0, 1, 3 have one vote each: no within-task overlap.
        assert_eq!(s.tasks[0].overlaps, 0.0);
    }

    #[test]
    fn gold_accuracy_counts_off_task_votes_as_incorrect() {
        let m = matrix();
        // Gold end labels: corporate/performance, markets/commodity, markets/commodity,
        // corporate/funding, markets/money.
        let s = LfSummary::new(&m).with_gold(&m, &[0, 3, 3, 1, 2]).unwrap();
        let a = &s.lfs[0];
        assert_eq!((a.correct, a.incorrect), (Some(3), Some(0)));
        let b = &s.lfs[1]; // performance on item 0 (correct), funding on item 1 (task is ∅: incorrect)
        assert_eq!((b.correct, b.incorrect), (Some(1), Some(1)));
        assert_eq!(b.empirical_accuracy, Some(0.5));
        let c = &s.lfs[2]; // commodity on item 2 (correct), money on item 3 (∅: incorrect)
        assert_eq!((c.correct, c.incorrect), (Some(1), Some(1)));
        assert!(LfSummary::new(&m).with_gold(&m, &[0, 1]).is_err());
        assert!(LfSummary::new(&m).with_gold(&m, &[0, 1, 2, 3, 4]).is_err());
    }

    /// On-task accuracy leaves out the votes on items of other branches; the wrong votes name
    /// the items (and their ids) and say which are on another branch.
    #[test]
    fn on_task_accuracy_and_wrong_votes() {
        let m = matrix();
        let ids: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let s = LfSummary::new(&m).with_gold_ids(&m, &[0, 3, 3, 1, 2], Some(&ids)).unwrap();
        // corp_b: performance on item 0 (right), funding on item 1 (markets: another branch).
        let b = &s.lfs[1];
        assert_eq!((b.empirical_accuracy, b.on_task_accuracy), (Some(0.5), Some(1.0)));
        let w = &b.wrong[0];
        assert_eq!((w.item, w.id.as_deref(), w.vote.as_str(), w.on_task), (1, Some("b"), "funding", false));
        assert_eq!(w.gold, "markets/commodity");
        assert!(s.lfs[0].wrong.is_empty());
        let text = s.wrong_votes_text(5);
        assert!(
            text.contains("corp_b (1 wrong):\n  item 1 (b): voted funding, gold markets/commodity, another branch"),
            "{text}"
        );
        assert!(LfSummary::new(&m).with_gold_ids(&m, &[0, 3, 3, 1, 2], Some(&ids[..2])).is_err());
    }

    #[test]
    fn summary_table() {
        let m = matrix();
        let s = LfSummary::new(&m).with_gold(&m, &[0, 3, 3, 1, 2]).unwrap();
        insta::assert_snapshot!(s.to_string());
    }

    #[test]
    fn summary_struct() {
        let m = matrix();
        let s = LfSummary::new(&m).with_gold(&m, &[0, 3, 3, 1, 2]).unwrap();
        insta::assert_yaml_snapshot!(s, {
            ".lfs[].coverage" => insta::rounded_redaction(4),
            ".lfs[].overlaps" => insta::rounded_redaction(4),
            ".lfs[].conflicts" => insta::rounded_redaction(4),
        });
    }
}
