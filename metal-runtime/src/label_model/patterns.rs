use rayon::prelude::*;

use crate::label_matrix::LabelMatrix;

/// The distinct vote patterns of a label matrix, with how often each occurs.
///
/// Items with identical votes have identical posteriors, so a label model's epoch costs
/// O(distinct patterns), not O(n). Patterns are ordered by first occurrence.
///
/// Patterns borrow the matrix: each is represented by its first row, so grouping copies no votes.
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns<'a> {
    matrix: &'a LabelMatrix,
    /// The first row of each pattern.
    first_row: Vec<u32>,
    counts: Vec<f64>,
    row_pattern: Vec<u32>,
}

fn row_hash(lfs: &[u32], labels: &[u16]) -> u64 {
    // FNV-1a over (lf, label) pairs, then a final avalanche (splitmix64).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (&j, &l) in lfs.iter().zip(labels) {
        h ^= (u64::from(j) << 16) | u64::from(l);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= lfs.len() as u64;
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl<'a> Patterns<'a> {
    /// Groups the rows of `matrix` by their votes.
    pub fn new(matrix: &'a LabelMatrix) -> Self {
        let n = matrix.n_items();
        let mut keyed: Vec<(u64, u32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let (l, v) = matrix.row_slices(i);
                (row_hash(l, v), i as u32)
            })
            .collect();
        keyed.par_sort_unstable();

        // Group equal rows: rows with equal hashes are compared, so a collision cannot merge them.
        // `group_first[g]` is the first item of group g; `item_group[i]` the group of item i.
        let mut group_first: Vec<u32> = Vec::new();
        let mut item_group = vec![0u32; n];
        let mut start = 0;
        while start < keyed.len() {
            let mut end = start + 1;
            while end < keyed.len() && keyed[end].0 == keyed[start].0 {
                end += 1;
            }
            // Within one hash bucket (almost always a single distinct row).
            let bucket_groups = group_first.len();
            for &(_, i) in &keyed[start..end] {
                let row = matrix.row_slices(i as usize);
                let found = (bucket_groups..group_first.len())
                    .find(|&g| matrix.row_slices(group_first[g] as usize) == row)
                    .map(|g| g as u32);
                let g = found.unwrap_or_else(|| {
                    group_first.push(i);
                    (group_first.len() - 1) as u32
                });
                item_group[i as usize] = g;
            }
            start = end;
        }

        // Renumber groups by first occurrence (items within a bucket are sorted, so
        // `group_first` holds each group's smallest item).
        let mut order: Vec<u32> = (0..group_first.len() as u32).collect();
        order.sort_unstable_by_key(|&g| group_first[g as usize]);
        let mut rank = vec![0u32; order.len()];
        for (r, &g) in order.iter().enumerate() {
            rank[g as usize] = r as u32;
        }
        let row_pattern: Vec<u32> = item_group.iter().map(|&g| rank[g as usize]).collect();
        let mut counts = vec![0.0; order.len()];
        for &p in &row_pattern {
            counts[p as usize] += 1.0;
        }
        let first_row = order.iter().map(|&g| group_first[g as usize]).collect();
        Patterns { matrix, first_row, counts, row_pattern }
    }

    /// The rows of `matrix` as patterns weighted by `counts` (one per row, at least one row):
    /// the vote patterns of a larger matrix counted elsewhere (a `GROUP BY`, merged shards). The
    /// rows need not be distinct; equal rows are separate patterns whose counts add up in every
    /// sum.
    pub(crate) fn with_counts(matrix: &'a LabelMatrix, counts: Vec<f64>) -> Self {
        debug_assert_eq!(counts.len(), matrix.n_items());
        let rows: Vec<u32> = (0..matrix.n_items() as u32).collect();
        Patterns { matrix, first_row: rows.clone(), counts, row_pattern: rows }
    }

    /// Number of distinct patterns.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True if there is no pattern (no items).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Number of items each pattern stands for.
    pub fn counts(&self) -> &[f64] {
        &self.counts
    }

    /// The votes of pattern `p`: `(lfs, labels)`, sorted by LF.
    pub fn pattern(&self, p: usize) -> (&'a [u32], &'a [u16]) {
        self.matrix.row_slices(self.first_row[p] as usize)
    }

    /// The pattern of each item.
    pub fn row_pattern(&self) -> &[u32] {
        &self.row_pattern
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ndarray::array;

    use super::*;
    use crate::label_matrix::LfInfo;
    use crate::schema::TaskGraph;

    #[test]
    fn groups_identical_rows_in_first_occurrence_order() {
        let graph = Arc::new(TaskGraph::flat("t", ["a", "b"]).unwrap());
        let lfs = (0..3).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        let dense = array![[1i16, -1, 0], [-1, -1, -1], [1, -1, 0], [0, 0, 0], [-1, -1, -1], [1, -1, 0]];
        let m = LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap();
        let p = Patterns::new(&m);
        assert_eq!(p.len(), 3);
        assert_eq!(p.counts(), &[3.0, 2.0, 1.0]);
        assert_eq!(p.row_pattern(), &[0, 1, 0, 2, 1, 0]);
        assert_eq!(p.pattern(0), (&[0u32, 2][..], &[1u16, 0][..]));
        assert_eq!(p.pattern(1), (&[][..], &[][..]));
    }
}
