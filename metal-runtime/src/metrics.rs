//! Scoring predicted end labels against gold ones: accuracy, per task and per level of the
//! hierarchy, confusion matrices, precision, recall and F1, mean ± standard deviation over trials,
//! and masks of the items the LFs cover.
//!
//! Every function takes end-label indices (as [`FittedLabelModel::predict`] and the end model's
//! `EndModel::predict` return them) and checks that predictions and gold labels line up.
//!
//! ```
//! use metal_runtime::metrics::{self, ConfusionMatrix};
//! use metal_runtime::prelude::*;
//!
//! # fn main() -> metal_runtime::Result<()> {
//! let graph = TaskGraph::new(vec![
//!     TaskDef::new("Topic", ["corporate", "markets"]),
//!     TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
//! ])?;
//! // End labels (root leaves first): 0 markets, 1 corporate/performance, 2 corporate/funding.
//! let (pred, gold) = ([1, 2, 0, 0], [1, 1, 0, 2]);
//! assert_eq!(metrics::accuracy(&pred, &gold)?, 0.5);
//! // Topic is right on items 0, 1 and 2; Corporate (on items 0, 1 and 3) only on item 0.
//! let tasks = metrics::task_accuracy(&graph, &pred, &gold)?;
//! assert_eq!(tasks, vec![Some(0.75), Some(1.0 / 3.0)]);
//! let cm = ConfusionMatrix::new(&graph, &pred, &gold)?;
//! println!("{cm}");
//! println!("macro F1 {:.3}", cm.scores().macro_avg.f1);
//! # Ok(()) }
//! ```
//!
//! [`FittedLabelModel::predict`]: crate::label_model::FittedLabelModel::predict

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::MetricsError;
use crate::label_matrix::LabelMatrix;
use crate::schema::{TaskGraph, TaskId};

type Result<T> = std::result::Result<T, MetricsError>;

fn check(pred: &[usize], gold: &[usize]) -> Result<()> {
    if pred.len() != gold.len() {
        return Err(MetricsError::LengthMismatch { pred: pred.len(), gold: gold.len() });
    }
    if gold.is_empty() {
        return Err(MetricsError::Empty);
    }
    Ok(())
}

fn check_range(pred: &[usize], gold: &[usize], n_labels: usize) -> Result<()> {
    check(pred, gold)?;
    for (which, labels) in [("predicted", pred), ("gold", gold)] {
        if let Some((item, &label)) = labels.iter().enumerate().find(|(_, &y)| y >= n_labels) {
            return Err(MetricsError::LabelOutOfRange { item, which, label, n_labels });
        }
    }
    Ok(())
}

/// The share of items whose predicted end label is the gold one.
///
/// # Errors
/// [`MetricsError::LengthMismatch`], or [`MetricsError::Empty`] without items.
pub fn accuracy(pred: &[usize], gold: &[usize]) -> Result<f64> {
    check(pred, gold)?;
    Ok(pred.iter().zip(gold).filter(|(p, g)| p == g).count() as f64 / gold.len() as f64)
}

/// Per task, the accuracy of the predicted value of that task on the items the task applies to
/// (those whose gold end label's path goes through it); `None` for a task no item reaches. A
/// prediction on another branch, where the task does not apply, counts as wrong.
///
/// # Errors
/// As [`accuracy`], and [`MetricsError::LabelOutOfRange`] for a label that is not an end label.
pub fn task_accuracy(graph: &TaskGraph, pred: &[usize], gold: &[usize]) -> Result<Vec<Option<f64>>> {
    check_range(pred, gold, graph.n_end_labels())?;
    Ok((0..graph.n_tasks())
        .map(|t| {
            let (mut hits, mut n) = (0usize, 0usize);
            for (&p, &g) in pred.iter().zip(gold) {
                if let Some(want) = graph.feasible(g)[t] {
                    n += 1;
                    hits += usize::from(graph.feasible(p)[t] == Some(want));
                }
            }
            (n > 0).then(|| hits as f64 / n as f64)
        })
        .collect())
}

/// Per level of the hierarchy (the root's level is 0), the share of the items whose gold path
/// reaches that level for which the predicted path agrees with the gold one down to it; the
/// last level is the end-label accuracy of the items whose gold path is that deep.
///
/// # Errors
/// As [`task_accuracy`].
pub fn level_accuracy(graph: &TaskGraph, pred: &[usize], gold: &[usize]) -> Result<Vec<f64>> {
    check_range(pred, gold, graph.n_end_labels())?;
    let levels = graph.max_depth() + 1;
    let mut by_level: Vec<Vec<TaskId>> = vec![Vec::new(); levels];
    for t in 0..graph.n_tasks() {
        by_level[graph.depth(t)].push(t);
    }
    let (mut hits, mut n) = (vec![0usize; levels], vec![0usize; levels]);
    for (&p, &g) in pred.iter().zip(gold) {
        let (fp, fg) = (graph.feasible(p), graph.feasible(g));
        let mut agree = true;
        for (level, tasks) in by_level.iter().enumerate() {
            if !tasks.iter().any(|&t| fg[t].is_some()) {
                break;
            }
            agree &= tasks.iter().all(|&t| fp[t] == fg[t]);
            n[level] += 1;
            hits[level] += usize::from(agree);
        }
    }
    Ok(hits.iter().zip(&n).map(|(&h, &c)| if c > 0 { h as f64 / c as f64 } else { f64::NAN }).collect())
}

/// Counts of (gold, predicted) end-label pairs, with the end labels' names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// The end labels' names (`"Topic/markets"`, ...).
    pub labels: Vec<String>,
    /// `counts[gold][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall and F1 of one class (0 where undefined), and how many gold items it has.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Share of the items predicted as the class that are the class.
    pub precision: f64,
    /// Share of the class's items predicted as the class.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Gold items of the class.
    pub support: u64,
}

/// Per-class scores with their macro (unweighted mean over classes) and micro (over items)
/// averages. With one label per item, micro precision, recall and F1 all equal the accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// One per end label.
    pub per_class: Vec<ClassScores>,
    /// Unweighted means over the classes (support: all items).
    pub macro_avg: ClassScores,
    /// Over all items.
    pub micro_avg: ClassScores,
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

impl ConfusionMatrix {
    /// The confusion matrix of end-label predictions on `graph`'s end labels.
    ///
    /// # Errors
    /// As [`task_accuracy`].
    pub fn new(graph: &TaskGraph, pred: &[usize], gold: &[usize]) -> Result<Self> {
        let names = (0..graph.n_end_labels()).map(|k| graph.end_label_name(k).to_owned()).collect();
        Self::with_labels(names, pred, gold)
    }

    /// The confusion matrix of classes `0..labels.len()` named `labels`.
    ///
    /// # Errors
    /// As [`accuracy`], and [`MetricsError::LabelOutOfRange`] for a class out of range.
    pub fn with_labels(labels: Vec<String>, pred: &[usize], gold: &[usize]) -> Result<Self> {
        let k = labels.len();
        check_range(pred, gold, k)?;
        let mut counts = vec![vec![0u64; k]; k];
        for (&p, &g) in pred.iter().zip(gold) {
            counts[g][p] += 1;
        }
        Ok(ConfusionMatrix { labels, counts })
    }

    /// Precision, recall and F1 per class, macro and micro.
    pub fn scores(&self) -> Scores {
        let k = self.labels.len();
        let total: u64 = self.counts.iter().flatten().sum();
        let correct: u64 = (0..k).map(|c| self.counts[c][c]).sum();
        let per_class: Vec<ClassScores> = (0..k)
            .map(|c| {
                let tp = self.counts[c][c] as f64;
                let predicted: u64 = self.counts.iter().map(|row| row[c]).sum();
                let support: u64 = self.counts[c].iter().sum();
                let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
                let recall = if support > 0 { tp / support as f64 } else { 0.0 };
                ClassScores { precision, recall, f1: f1(precision, recall), support }
            })
            .collect();
        let mean = |f: fn(&ClassScores) -> f64| per_class.iter().map(f).sum::<f64>() / k.max(1) as f64;
        let macro_avg = ClassScores {
            precision: mean(|s| s.precision),
            recall: mean(|s| s.recall),
            f1: mean(|s| s.f1),
            support: total,
        };
        let micro = if total > 0 { correct as f64 / total as f64 } else { 0.0 };
        let micro_avg = ClassScores { precision: micro, recall: micro, f1: micro, support: total };
        Scores { per_class, macro_avg, micro_avg }
    }
}

/// A table: gold labels down, predictions across, then each class's precision, recall, F1 and
/// support, and the macro and micro averages.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.labels.len();
        let names: Vec<String> = self.labels.iter().enumerate().map(|(c, l)| format!("#{c} {l}")).collect();
        let name_w = names.iter().map(|l| l.chars().count()).max().unwrap_or(0).max("gold \\ predicted".len());
        let cell_w =
            self.counts.iter().flatten().map(|c| c.to_string().len()).max().unwrap_or(1).max(k.to_string().len() + 1);
        write!(f, "{:<name_w$}", "gold \\ predicted")?;
        for c in 0..k {
            write!(f, " {:>cell_w$}", format!("#{c}"))?;
        }
        writeln!(f, " {:>9} {:>9} {:>9} {:>8}", "precision", "recall", "f1", "support")?;
        let scores = self.scores();
        for (c, (row, s)) in self.counts.iter().zip(&scores.per_class).enumerate() {
            write!(f, "{:<name_w$}", names[c])?;
            for v in row {
                write!(f, " {v:>cell_w$}")?;
            }
            writeln!(f, " {:>9.3} {:>9.3} {:>9.3} {:>8}", s.precision, s.recall, s.f1, s.support)?;
        }
        for (name, s) in [("macro avg", scores.macro_avg), ("micro avg", scores.micro_avg)] {
            write!(f, "{name:<name_w$}")?;
            for _ in 0..k {
                write!(f, " {:>cell_w$}", "")?;
            }
            writeln!(f, " {:>9.3} {:>9.3} {:>9.3} {:>8}", s.precision, s.recall, s.f1, s.support)?;
        }
        Ok(())
    }
}

/// Mean and sample standard deviation of a set of values (over seeded trials, say).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// The mean (NaN without values).
    pub mean: f64,
    /// The sample standard deviation (n − 1 in the denominator; 0 for one value, NaN for none).
    pub std: f64,
    /// How many values.
    pub n: usize,
}

impl MeanStd {
    /// The mean and standard deviation of `values`.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return MeanStd { mean: f64::NAN, std: f64::NAN, n };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std =
            if n < 2 { 0.0 } else { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() };
        MeanStd { mean, std, n }
    }
}

/// `0.912 ± 0.004` (the precision, if given, applies to both).
impl fmt::Display for MeanStd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = f.precision().unwrap_or(3);
        write!(f, "{:.p$} ± {:.p$}", self.mean, self.std)
    }
}

/// Per item, whether at least one LF voted on it.
pub fn covered(matrix: &LabelMatrix) -> Vec<bool> {
    (0..matrix.n_items()).map(|i| matrix.row(i).len() > 0).collect()
}

/// Per item, whether at least one LF of task `task` voted on it.
pub fn task_covered(matrix: &LabelMatrix, task: TaskId) -> Vec<bool> {
    let lfs = matrix.lfs();
    (0..matrix.n_items()).map(|i| matrix.row(i).any(|(j, _)| lfs[j].task == task)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TaskDef;

    fn news() -> TaskGraph {
        TaskGraph::new(vec![
            TaskDef::new("Topic", ["corporate", "markets"]),
            TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
            TaskDef::new("Markets", ["money", "commodity"]).with_parent(0, 1),
        ])
        .unwrap()
    }

    #[test]
    fn accuracies_per_task_and_level() {
        let graph = news();
        // End labels: 0 corporate/performance, 1 corporate/funding, 2 markets/money, 3 markets/commodity.
        let gold = [0, 1, 2, 3];
        let pred = [0, 0, 3, 1];
        assert_eq!(accuracy(&pred, &gold).unwrap(), 0.25);
        let tasks = task_accuracy(&graph, &pred, &gold).unwrap();
        assert_eq!(tasks[0], Some(0.75)); // topic right on items 0, 1, 2
        assert_eq!(tasks[1], Some(0.5)); // corporate: item 0 right, item 1 wrong
        assert_eq!(tasks[2], Some(0.0)); // markets: item 2 wrong value, item 3 on the other branch
        assert_eq!(level_accuracy(&graph, &pred, &gold).unwrap(), vec![0.75, 0.25]);
        let err = accuracy(&pred, &gold[..3]).unwrap_err();
        assert_eq!(err.to_string(), "4 predictions for 3 gold labels");
        assert_eq!(accuracy(&[], &[]).unwrap_err(), MetricsError::Empty);
        let err = task_accuracy(&graph, &[0, 9], &[0, 1]).unwrap_err();
        assert_eq!(err.to_string(), "item 1: predicted label 9 is out of range; there are 4 labels");
    }

    #[test]
    fn levels_count_only_items_whose_path_is_that_deep() {
        // Root {a, b}; only a has a child: end labels 0 b (root leaves come first), 1 a/x, 2 a/y.
        let graph =
            TaskGraph::new(vec![TaskDef::new("root", ["a", "b"]), TaskDef::new("child", ["x", "y"]).with_parent(0, 0)])
                .unwrap();
        assert_eq!(graph.end_label_name(0), "b");
        let levels = level_accuracy(&graph, &[0, 2, 1], &[0, 1, 0]).unwrap();
        // Level 0: items 0 (right), 1 (right: a), 2 (wrong). Level 1: item 1 only (wrong).
        assert_eq!(levels, vec![2.0 / 3.0, 0.0]);
    }

    #[test]
    fn confusion_matrix_scores_and_text() {
        let graph = news();
        let cm = ConfusionMatrix::new(&graph, &[0, 0, 3, 1, 0], &[0, 1, 2, 3, 0]).unwrap();
        assert_eq!(cm.counts[0], vec![2, 0, 0, 0]);
        assert_eq!(cm.counts[1], vec![1, 0, 0, 0]);
        let s = cm.scores();
        assert!((s.per_class[0].precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.per_class[0].recall, 1.0);
        assert!((s.per_class[0].f1 - 0.8).abs() < 1e-12);
        assert_eq!(s.per_class[2].support, 1);
        assert_eq!(s.micro_avg.f1, 0.4);
        assert!((s.macro_avg.f1 - 0.2).abs() < 1e-12);
        let text = cm.to_string();
        assert!(text.lines().nth(1).unwrap().starts_with("#0 "), "{text}");
        assert!(text.contains("macro avg") && text.contains("precision"), "{text}");
        // Every line is as wide as the header, whatever the length of the label names: the
        // columns line up (the longest name here, `#3 markets/commodity`, is wider than the header's
        // first cell).
        let widths: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{text}");
        let json = serde_json::to_string(&cm).unwrap();
        assert_eq!(serde_json::from_str::<ConfusionMatrix>(&json).unwrap(), cm);
    }

    #[test]
    fn mean_and_standard_deviation() {
        let m = MeanStd::of(&[0.5, 0.7, 0.9]);
        assert!((m.mean - 0.7).abs() < 1e-12 && (m.std - 0.2).abs() < 1e-12);
        assert_eq!(format!("{m:.2}"), "0.70 ± 0.20");
        assert_eq!(MeanStd::of(&[0.3]), MeanStd { mean: 0.3, std: 0.0, n: 1 });
        assert!(MeanStd::of(&[]).mean.is_nan());
    }

    #[test]
    fn coverage_masks() {
        let mat = crate::label_model::tests::tree_matrix();
        // Items (-1 = abstain): [0,0,1,-1], [1,-1,-1,2], [0,1,0,0], [-1,-1,-1,1], [1,1,-1,-1].
        assert_eq!(covered(&mat), vec![true; 5]);
        assert_eq!(task_covered(&mat, 1), vec![true, false, true, false, false]);
        assert_eq!(task_covered(&mat, 2), vec![false, true, true, true, false]);
    }
}
