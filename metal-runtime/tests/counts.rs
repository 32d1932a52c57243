//! Fitting on vote patterns with counts (`LabelModel::fit_counts`) is fitting on the matrix with
//! each pattern repeated: the same probabilities, bit for bit, with and without sampling.

use std::collections::BTreeMap;
use std::path::Path;

use metal_runtime::error::LabelModelError;
use metal_runtime::io::synthetic::Problem;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::{
    FittedLabelModel, Hierarchical, HyperHier, HyperLabelModel, LabelModel, MajorityVote, MaxLikelihood, Triplet,
};

fn load(path: &str) -> LabelMatrix {
    Problem::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)).unwrap().train
}

/// The distinct rows of `matrix` (in the order of their votes) with their counts, and the
/// matrix with each repeated as often, in that order.
fn patterns(matrix: &LabelMatrix) -> (LabelMatrix, Vec<u64>, LabelMatrix) {
    let mut rows: BTreeMap<Vec<(u32, u16)>, (usize, u64)> = BTreeMap::new();
    for i in 0..matrix.n_items() {
        let (lfs, labels) = matrix.row_slices(i);
        let e = rows.entry(lfs.iter().copied().zip(labels.iter().copied()).collect()).or_insert((i, 0));
        e.1 += 1;
    }
    let first: Vec<usize> = rows.values().map(|v| v.0).collect();
    let counts: Vec<u64> = rows.values().map(|v| v.1).collect();
    let expanded: Vec<usize> =
        first.iter().zip(&counts).flat_map(|(&i, &c)| std::iter::repeat_n(i, c as usize)).collect();
    (matrix.select_items(&first), counts, matrix.select_items(&expanded))
}

fn same<M: LabelModel>(model: &M, matrix: &LabelMatrix, what: &str) {
    let (pats, counts, expanded) = patterns(matrix);
    let a = model.fit_counts(&pats, &counts).unwrap();
    let b = model.fit(&expanded).unwrap();
    assert_eq!(a.predict_proba(matrix).unwrap(), b.predict_proba(matrix).unwrap(), "{what}");
    assert_eq!(a.fit_report().n_items, b.fit_report().n_items, "{what}");
    assert_eq!(a.fit_report().n_epochs, b.fit_report().n_epochs, "{what}");
    assert_eq!(a.fit_report().warnings, b.fit_report().warnings, "{what}");
    assert_eq!(a.fit_report().notes, b.fit_report().notes, "{what}");
}

#[test]
fn fitting_on_counts_is_fitting_on_the_repeated_patterns() {
    for set in ["synthetic/tree_2-22_l3_n10000", "wrench-suite/youtube", "wrench-suite/trec"] {
        let m = load(set);
        // The default: maximum likelihood on the generated problem, the M-step on the real sets.
        same(&HyperHier::default(), &m, set);
        // Both samples drawn: at most 3,000 items, tested on 1,000.
        let small = HyperHier {
            max_items: Some(3_000),
            max_likelihood: MaxLikelihood::WhenIndependent { n_epochs: 500, level: 0.01, test_items: 1_000 },
            ..HyperHier::default()
        };
        same(&small, &m, &format!("{set}, sampled"));
        same(&HyperHier { max_likelihood: MaxLikelihood::Never, ..HyperHier::default() }, &m, set);
        same(&Hierarchical { progress: false, ..Hierarchical::default() }, &m, set);
        same(&HyperLabelModel::default(), &m, set);
        // Models without a patterns path build the repeated matrix.
        same(&MajorityVote, &m, set);
        same(&Triplet::default(), &m, set);
    }
}

#[test]
fn counts_that_do_not_fit_are_errors() {
    let m = load("wrench-suite/youtube");
    let (pats, counts, _) = patterns(&m);
    let err = HyperHier::default().fit_counts(&pats, &counts[1..]).unwrap_err();
    assert!(matches!(err, LabelModelError::IncompatibleMatrix { .. }), "{err}");
    assert!(err.to_string().contains("counts"), "{err}");
    let zeros = vec![0; counts.len()];
    assert!(matches!(HyperHier::default().fit_counts(&pats, &zeros), Err(LabelModelError::Empty)));
    assert!(matches!(MajorityVote.fit_counts(&pats, &zeros), Err(LabelModelError::Empty)));
}
