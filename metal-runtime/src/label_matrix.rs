//! The sparse label matrix `L` (n items × m LFs).
//!
//! Stored row-major as compressed sparse rows: for each item, the list of `(lf, label)` votes of
//! the LFs that did not abstain, sorted by LF. Memory is proportional to the number of votes, never
//! to n · m.
//!
//! Labels are 0-based indices into the LF's task (`0..k_t`); abstains are not stored. The dense
//! snorkel convention (-1 = abstain) is used only at the file boundary
//! ([`LabelMatrix::from_dense`], [`LabelMatrix::to_dense`]).

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::LabelMatrixError;
use crate::schema::{Task, TaskGraph, TaskId};

/// Name and task of one LF (one column of the label matrix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LfInfo {
    /// The LF's name.
    pub name: String,
    /// The task the LF votes on.
    pub task: TaskId,
}

/// One LF's output on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vote {
    /// The LF does not label the item.
    Abstain,
    /// The LF votes for this label index of its task.
    Label(u16),
}

impl Vote {
    /// The label, if the LF did not abstain.
    pub fn label(self) -> Option<u16> {
        match self {
            Vote::Abstain => None,
            Vote::Label(l) => Some(l),
        }
    }
}

impl<T: Task> From<Option<T>> for Vote {
    fn from(value: Option<T>) -> Self {
        match value {
            None => Vote::Abstain,
            Some(t) => Vote::Label(t.label_index()),
        }
    }
}

/// The sparse label matrix: per item, the votes of the LFs that did not abstain.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMatrix {
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
    /// Row `i` holds votes `indptr[i]..indptr[i + 1]`.
    indptr: Vec<usize>,
    lf: Vec<u32>,
    label: Vec<u16>,
}

impl LabelMatrix {
    /// An empty matrix (no items) for the given LFs.
    ///
    /// Fails if an LF names a task that is not in `graph`.
    pub fn empty(graph: Arc<TaskGraph>, lfs: Vec<LfInfo>) -> Result<Self, LabelMatrixError> {
        for (j, lf) in lfs.iter().enumerate() {
            if lf.task >= graph.n_tasks() {
                return Err(LabelMatrixError::UnknownTask {
                    lf: j,
                    lf_name: lf.name.clone(),
                    task: lf.task,
                    n_tasks: graph.n_tasks(),
                });
            }
        }
        Ok(LabelMatrix { graph, lfs, indptr: vec![0], lf: Vec::new(), label: Vec::new() })
    }

    /// Appends one item's votes, `(lf, label)` pairs in any order.
    ///
    /// Fails, leaving the matrix unchanged, if an LF index or label is out of range or an LF votes
    /// twice.
    pub fn push_row(&mut self, votes: &[(u32, u16)]) -> Result<(), LabelMatrixError> {
        let item = self.n_items();
        let start = self.lf.len();
        for &(j, label) in votes {
            if let Err(e) = self.check_vote(item, j as usize, i64::from(label)) {
                self.lf.truncate(start);
                self.label.truncate(start);
                return Err(e);
            }
            self.lf.push(j);
            self.label.push(label);
        }
        // Sort the row by LF, then reject duplicates.
        let mut row: Vec<(u32, u16)> =
            self.lf[start..].iter().copied().zip(self.label[start..].iter().copied()).collect();
        row.sort_unstable_by_key(|&(j, _)| j);
        if let Some(w) = row.windows(2).find(|w| w[0].0 == w[1].0) {
            self.lf.truncate(start);
            self.label.truncate(start);
            return Err(LabelMatrixError::DuplicateVote { item, lf: w[0].0 as usize });
        }
        for (k, (j, l)) in row.into_iter().enumerate() {
            self.lf[start + k] = j;
            self.label[start + k] = l;
        }
        self.indptr.push(self.lf.len());
        Ok(())
    }

    fn check_vote(&self, item: usize, j: usize, label: i64) -> Result<(), LabelMatrixError> {
        let info = self.lfs.get(j).ok_or(LabelMatrixError::LfOutOfRange { item, lf: j, n_lfs: self.lfs.len() })?;
        let k = self.graph.cardinality(info.task);
        if label < 0 || label >= k as i64 {
            return Err(LabelMatrixError::LabelOutOfRange {
                item,
                lf: j,
                lf_name: info.name.clone(),
                label,
                task: self.graph.task(info.task).name.clone(),
                cardinality: k,
            });
        }
        Ok(())
    }

    /// Builds a matrix from raw CSR parts (used by the applier, which produces sorted rows).
    pub(crate) fn from_csr_unchecked(
        graph: Arc<TaskGraph>,
        lfs: Vec<LfInfo>,
        indptr: Vec<usize>,
        lf: Vec<u32>,
        label: Vec<u16>,
    ) -> Self {
        debug_assert_eq!(indptr.last().copied(), Some(lf.len()));
        debug_assert_eq!(lf.len(), label.len());
        LabelMatrix { graph, lfs, indptr, lf, label }
    }

    /// Builds a matrix from a dense n × m array in the snorkel convention: `-1` = abstain,
    /// otherwise a label `0..k_t` of LF `j`'s task.
    pub fn from_dense<T>(
        graph: Arc<TaskGraph>,
        lfs: Vec<LfInfo>,
        dense: ArrayView2<'_, T>,
    ) -> Result<Self, LabelMatrixError>
    where
        T: Copy + Into<i64>,
    {
        if dense.ncols() != lfs.len() {
            return Err(LabelMatrixError::LengthMismatch {
                what: "columns of the dense label matrix vs. LFs",
                expected: lfs.len(),
                got: dense.ncols(),
            });
        }
        let mut m = LabelMatrix::empty(graph, lfs)?;
        // One pass: the columns come in order, so each row is sorted and has no duplicate; a
        // value outside its column's labels is reported with the full check.
        let cardinality: Vec<i64> = m.lfs.iter().map(|lf| m.graph.cardinality(lf.task) as i64).collect();
        m.indptr.reserve(dense.nrows());
        // Each row's votes are gathered without a branch on abstains (which a label matrix has
        // in no predictable order), then checked and appended.
        let (mut lf_row, mut label_row) = (vec![0u32; cardinality.len()], vec![0i64; cardinality.len()]);
        for (i, r) in dense.outer_iter().enumerate() {
            let mut n = 0;
            for (j, &v) in r.iter().enumerate() {
                let v: i64 = v.into();
                lf_row[n] = j as u32;
                label_row[n] = v;
                n += usize::from(v != -1);
            }
            for (&j, &v) in lf_row[..n].iter().zip(&label_row[..n]) {
                if !(0..cardinality[j as usize]).contains(&v) {
                    m.check_vote(i, j as usize, v)?;
                }
            }
            m.lf.extend_from_slice(&lf_row[..n]);
            m.label.extend(label_row[..n].iter().map(|&v| v as u16));
            m.indptr.push(m.lf.len());
        }
        Ok(m)
    }

    /// The dense n × m matrix in the snorkel convention (`-1` = abstain).
    pub fn to_dense(&self) -> Array2<i16> {
        let mut dense = Array2::from_elem((self.n_items(), self.n_lfs()), -1i16);
        for (i, mut r) in dense.outer_iter_mut().enumerate() {
            for (j, label) in self.row(i) {
                r[j] = label as i16;
            }
        }
        dense
    }

    /// The task graph.
    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }

    /// The shared task graph.
    pub fn graph_arc(&self) -> &Arc<TaskGraph> {
        &self.graph
    }

    /// The LFs (columns).
    pub fn lfs(&self) -> &[LfInfo] {
        &self.lfs
    }

    /// Number of items `n`.
    pub fn n_items(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of LFs `m`.
    pub fn n_lfs(&self) -> usize {
        self.lfs.len()
    }

    /// Number of (non-abstain) votes stored.
    pub fn n_votes(&self) -> usize {
        self.lf.len()
    }

    /// The task of LF `j`.
    pub fn lf_task(&self, j: usize) -> TaskId {
        self.lfs[j].task
    }

    /// The votes on item `i`, as `(lf, label)` pairs sorted by LF.
    ///
    /// # Panics
    /// If `i >= n_items()`.
    pub fn row(&self, i: usize) -> impl ExactSizeIterator<Item = (usize, u16)> + '_ {
        let range = self.indptr[i]..self.indptr[i + 1];
        self.lf[range.clone()].iter().map(|&j| j as usize).zip(self.label[range].iter().copied())
    }

    /// The raw row slices `(lfs, labels)` of item `i`.
    pub fn row_slices(&self, i: usize) -> (&[u32], &[u16]) {
        let range = self.indptr[i]..self.indptr[i + 1];
        (&self.lf[range.clone()], &self.label[range])
    }

    /// LF `j`'s vote on item `i`.
    pub fn get(&self, i: usize, j: usize) -> Vote {
        let (lfs, labels) = self.row_slices(i);
        match lfs.binary_search(&(j as u32)) {
            Ok(pos) => Vote::Label(labels[pos]),
            Err(_) => Vote::Abstain,
        }
    }

    /// The CSR row pointer (length n + 1).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Appends the rows of `other`, which must have the same graph and LFs (a shard of the same
    /// data).
    pub fn append(&mut self, other: &LabelMatrix) -> Result<(), LabelMatrixError> {
        if other.lfs != self.lfs || other.graph != self.graph {
            return Err(LabelMatrixError::LengthMismatch {
                what: "appended matrix must have the same schema and LFs; LFs",
                expected: self.lfs.len(),
                got: other.lfs.len(),
            });
        }
        let offset = self.lf.len();
        self.lf.extend_from_slice(&other.lf);
        self.label.extend_from_slice(&other.label);
        self.indptr.extend(other.indptr[1..].iter().map(|p| p + offset));
        Ok(())
    }

    /// A new matrix with only the LFs for which `keep(j, info)` is true (columns renumbered).
    pub fn select_lfs(&self, mut keep: impl FnMut(usize, &LfInfo) -> bool) -> LabelMatrix {
        let mut map = vec![None; self.lfs.len()];
        let mut lfs = Vec::new();
        for (j, info) in self.lfs.iter().enumerate() {
            if keep(j, info) {
                map[j] = Some(lfs.len() as u32);
                lfs.push(info.clone());
            }
        }
        let mut indptr = Vec::with_capacity(self.indptr.len());
        indptr.push(0);
        let (mut lf, mut label) = (Vec::new(), Vec::new());
        for i in 0..self.n_items() {
            for (j, l) in self.row(i) {
                if let Some(new) = map[j] {
                    lf.push(new);
                    label.push(l);
                }
            }
            indptr.push(lf.len());
        }
        LabelMatrix { graph: self.graph.clone(), lfs, indptr, lf, label }
    }

    /// A new matrix with the given rows, in the given order.
    pub fn select_items(&self, items: &[usize]) -> LabelMatrix {
        let mut indptr = Vec::with_capacity(items.len() + 1);
        indptr.push(0);
        let (mut lf, mut label) = (Vec::new(), Vec::new());
        for &i in items {
            let (l, v) = self.row_slices(i);
            lf.extend_from_slice(l);
            label.extend_from_slice(v);
            indptr.push(lf.len());
        }
        LabelMatrix { graph: self.graph.clone(), lfs: self.lfs.clone(), indptr, lf, label }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TaskDef;
    use ndarray::array;

    fn graph() -> Arc<TaskGraph> {
        Arc::new(
            TaskGraph::new(vec![
                TaskDef::new("Topic", ["corporate", "markets"]),
                TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
                TaskDef::new("Markets", ["money", "commodity", "other"]).with_parent(0, 1),
            ])
            .unwrap(),
        )
    }

    fn lfs() -> Vec<LfInfo> {
        vec![
            LfInfo { name: "a".into(), task: 0 },
            LfInfo { name: "b".into(), task: 1 },
            LfInfo { name: "c".into(), task: 2 },
        ]
    }

    #[test]
    fn dense_round_trip() {
        let dense = array![[-1i16, 1, 2], [0, -1, -1], [-1, -1, -1], [1, 0, 0]];
        let m = LabelMatrix::from_dense(graph(), lfs(), dense.view()).unwrap();
        assert_eq!(m.n_items(), 4);
        assert_eq!(m.n_votes(), 6);
        assert_eq!(m.get(0, 2), Vote::Label(2));
        assert_eq!(m.get(2, 0), Vote::Abstain);
        assert_eq!(m.to_dense(), dense);
    }

    #[test]
    fn out_of_range_label_names_item_and_lf() {
        let dense = array![[-1i16, 2, 2]];
        let err = LabelMatrix::from_dense(graph(), lfs(), dense.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "item 0, LF 1 (`b`): label 2 is out of range for task `Corporate`, which has 2 labels"
        );
    }

    #[test]
    fn push_row_sorts_and_rejects_duplicates() {
        let mut m = LabelMatrix::empty(graph(), lfs()).unwrap();
        m.push_row(&[(2, 1), (0, 1)]).unwrap();
        assert_eq!(m.row(0).collect::<Vec<_>>(), vec![(0, 1), (2, 1)]);
        assert!(matches!(m.push_row(&[(1, 0), (1, 1)]), Err(LabelMatrixError::DuplicateVote { item: 1, lf: 1 })));
        assert_eq!(m.n_items(), 1);
        assert_eq!(m.n_votes(), 2);
    }

    #[test]
    fn select_and_append() {
        let dense = array![[0i16, 1, -1], [1, -1, 2]];
        let m = LabelMatrix::from_dense(graph(), lfs(), dense.view()).unwrap();
        let sub = m.select_lfs(|_, info| info.task != 1);
        assert_eq!(sub.n_lfs(), 2);
        assert_eq!(sub.to_dense(), array![[0i16, -1], [1, 2]]);
        let mut twice = m.select_items(&[1]);
        twice.append(&m).unwrap();
        assert_eq!(twice.to_dense(), array![[1i16, -1, 2], [0, 1, -1], [1, -1, 2]]);
    }
}
