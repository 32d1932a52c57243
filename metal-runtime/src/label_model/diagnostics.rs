//! Warnings about a fitted label model that has likely gone wrong, judged against majority vote
//! on the same matrix (no gold labels needed).

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{FittedLabelModel, LabelModel, MajorityVote};
use crate::error::LabelModelError;
use crate::label_matrix::LabelMatrix;

/// A class whose share under the model is below this fraction of its majority-vote share is
/// reported as collapsed.
const COLLAPSE_RATIO: f64 = 0.2;

/// Classes with a smaller majority-vote share than this are too rare to judge.
const MIN_SHARE: f64 = 0.02;

/// Share of the covered items above which one predicted class counts as "everything".
const ONE_CLASS_SHARE: f64 = 0.99;

/// Larger matrices are judged on a uniform sample of this many rows, drawn with [`SAMPLE_SEED`]:
/// the warnings compare class shares, which such a sample estimates within a fraction of a
/// percent, at a fraction of the cost of two predictions over every item.
const MAX_ROWS: usize = 100_000;

/// The seed of that sample (fixed, so that a fit's warnings are reproducible).
const SAMPLE_SEED: u64 = 0x5eed_d1a6;

/// Warnings about `model` on `matrix` (the matrix it was fit on), in plain sentences:
///
/// - a class whose learned class balance, or whose share of the model's probability mass on the
///   items with at least one vote, is below a fifth of the share majority vote gives it (the
///   class has likely been absorbed by another);
/// - one class predicted for 99 % or more of the items with votes while majority vote spreads
///   them over several.
///
/// Matrices of more than 100,000 rows are judged on a seeded uniform sample of 100,000 of them.
/// Majority vote is not the truth, so these are hints to look closer (at the LF summary, or at
/// another model), not errors. Fits of the trained models record them in
/// [`FitReport::warnings`](super::FitReport::warnings); `metal label-model` prints them.
///
/// # Errors
/// If `model` does not fit `matrix` (another schema or other LFs).
pub fn diagnose(matrix: &LabelMatrix, model: &dyn FittedLabelModel) -> Result<Vec<String>, LabelModelError> {
    diagnose_weighted(matrix, None, model)
}

/// [`diagnose`] with each row of `matrix` standing for `weights[i]` items (the vote patterns of
/// [`LabelModel::fit_counts`]); `None`: one item each.
pub(crate) fn diagnose_weighted(
    matrix: &LabelMatrix,
    weights: Option<&[f64]>,
    model: &dyn FittedLabelModel,
) -> Result<Vec<String>, LabelModelError> {
    let n = matrix.n_items();
    if n > MAX_ROWS {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SAMPLE_SEED);
        let mut rows = rand::seq::index::sample(&mut rng, n, MAX_ROWS).into_vec();
        rows.sort_unstable();
        let sample = matrix.select_items(&rows);
        let sample_weights = weights.map(|w| rows.iter().map(|&i| w[i]).collect::<Vec<f64>>());
        return diagnose_weighted(&sample, sample_weights.as_deref(), model);
    }
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let covered: Vec<usize> = (0..matrix.n_items()).filter(|&i| matrix.row(i).len() > 0 && weight(i) > 0.0).collect();
    let n_covered: f64 = covered.iter().map(|&i| weight(i)).sum();
    if covered.is_empty() {
        return Ok(vec!["no item has a vote: every prediction is the class balance alone".into()]);
    }
    let graph = matrix.graph();
    let k = graph.n_end_labels();
    let share = |p: &super::ProbLabels| -> Vec<f64> {
        let end = p.end_labels();
        let mut sum = vec![0.0; k];
        for &i in &covered {
            sum.iter_mut().zip(end.row(i)).for_each(|(s, q)| *s += weight(i) * q);
        }
        sum.into_iter().map(|s| s / n_covered).collect()
    };
    let mv = MajorityVote.fit(matrix)?.predict_proba(matrix)?;
    let mv_share = share(&mv);
    drop(mv);
    let probs = model.predict_proba(matrix)?;
    let model_share = share(&probs);
    let prior = model.class_prior();
    let mut warnings = Vec::new();
    for c in 0..k {
        if mv_share[c] < MIN_SHARE {
            continue;
        }
        let name = graph.end_label_name(c);
        if let Some(p) = &prior {
            if p[c] < COLLAPSE_RATIO * mv_share[c] {
                warnings.push(format!(
                    "class `{name}`: learned balance {:.3}, far below the {:.3} that majority vote gives it; \
                     the model may have merged it into another class (try a given or uniform class balance, \
                     or the default model)",
                    p[c], mv_share[c]
                ));
                continue;
            }
        }
        if model_share[c] < COLLAPSE_RATIO * mv_share[c] {
            warnings.push(format!(
                "class `{name}`: {:.1} % of the probability mass on the items with votes, far below the \
                 {:.1} % that majority vote gives it; the model may have merged it into another class",
                100.0 * model_share[c],
                100.0 * mv_share[c]
            ));
        }
    }
    let pred = probs.argmax(0);
    let mut counts = vec![0.0; k];
    covered.iter().for_each(|&i| counts[pred[i]] += weight(i));
    let (top, &n_top) = counts.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
    let top_share = n_top / n_covered;
    let mv_top = mv_share.iter().copied().fold(0.0, f64::max);
    if k > 1 && top_share >= ONE_CLASS_SHARE && mv_top < 0.9 {
        warnings.push(format!(
            "predicts `{}` for {:.1} % of the items with votes, where majority vote gives no class more than {:.1} %",
            graph.end_label_name(top),
            100.0 * top_share,
            100.0 * mv_top
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ndarray::Array2;

    use super::*;
    use crate::label_matrix::LfInfo;
    use crate::label_model::{ClassBalance, FitReport, Hierarchical, ProbLabels};
    use crate::schema::TaskGraph;

    /// A model that puts all mass on class 0.
    struct Always0(FitReport, Arc<TaskGraph>);

    impl FittedLabelModel for Always0 {
        fn predict_proba(&self, matrix: &LabelMatrix) -> Result<ProbLabels, LabelModelError> {
            let mut end = Array2::zeros((matrix.n_items(), 3));
            end.column_mut(0).fill(1.0);
            Ok(ProbLabels::new(self.1.clone(), end))
        }
        fn fit_report(&self) -> &FitReport {
            &self.0
        }
    }

    fn matrix() -> LabelMatrix {
        let graph = Arc::new(TaskGraph::flat("t", ["a", "b", "c"]).unwrap());
        let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        let dense = ndarray::array![[0i16, 0, -1], [1, 1, -1], [2, -1, 2], [1, 1, 1], [0, -1, 0], [2, 2, 2]];
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }

    #[test]
    fn a_collapsed_model_is_reported() {
        let m = matrix();
        let w = diagnose(&m, &Always0(FitReport::default(), m.graph_arc().clone())).unwrap();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("class `b`") && w[1].contains("class `c`"), "{w:?}");
        assert!(w[2].contains("predicts `a` for 100.0 %"), "{w:?}");
    }

    #[test]
    fn a_large_matrix_is_judged_on_a_sample_with_the_same_warnings() {
        let small = matrix();
        // 150,000 rows: the small matrix's six rows over and over.
        let rows: Vec<usize> = (0..150_000).map(|i| i % small.n_items()).collect();
        let large = small.select_items(&rows);
        let model = Always0(FitReport::default(), small.graph_arc().clone());
        // The same warnings, with shares estimated on the sample (33.3 % each in the matrix).
        let w = diagnose(&large, &model).unwrap();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("class `b`") && w[1].contains("class `c`"), "{w:?}");
        assert!(w[2].contains("predicts `a` for 100.0 %"), "{w:?}");
        let share = |text: &str| -> f64 {
            let tail = &text[text.find("far below the ").unwrap() + 14..];
            tail[..tail.find(' ').unwrap()].parse().unwrap()
        };
        assert!((share(&w[0]) - 33.3).abs() < 0.6 && (share(&w[1]) - 33.3).abs() < 0.6, "{w:?}");
    }

    #[test]
    fn a_sound_model_gets_no_warning() {
        let m = matrix();
        let fit = Hierarchical { class_balance: ClassBalance::Uniform, ..Hierarchical::default() }.fit(&m).unwrap();
        assert!(diagnose(&m, &fit).unwrap().is_empty());
        assert!(fit.fit_report().warnings.is_empty());
    }
}
