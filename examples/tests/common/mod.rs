//! Helpers shared by the data sets' LF tests.

use metal_runtime::prelude::*;

/// Hierarchical majority vote: each vote `(t, v)` counts for every end label whose task-label
/// vector has `v` for task `t`; the end label with most votes wins. `None` when no LF voted or
/// the top score is tied.
pub(crate) fn majority_vote(matrix: &LabelMatrix) -> Vec<Option<usize>> {
    let graph = matrix.graph();
    (0..matrix.n_items())
        .map(|i| {
            let mut scores = vec![0usize; graph.n_end_labels()];
            for (j, v) in matrix.row(i) {
                for (k, score) in scores.iter_mut().enumerate() {
                    if graph.feasible(k)[matrix.lf_task(j)] == Some(v) {
                        *score += 1;
                    }
                }
            }
            let best = *scores.iter().max()?;
            let winners: Vec<usize> = (0..scores.len()).filter(|&k| scores[k] == best).collect();
            (best > 0 && winners.len() == 1).then(|| winners[0])
        })
        .collect()
}
