//! The Hyper Label Model against the Python package it ports (`hyperlm` 0.0.5): probabilities
//! of `HyperLabelModel().infer(L, return_probs=True)`, written by `scripts/hyperlm-reference.py`
//! (see `tests/data/hyperlm/README.md`), on real LF votes (WRENCH youtube, binary; the first 1,500
//! rows of WRENCH trec, 6 classes) and on a generated 3-class problem.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use metal_runtime::io::npy;
use metal_runtime::label_matrix::{LabelMatrix, LfInfo};
use metal_runtime::label_model::{FittedLabelModel, HyperLabelModel, LabelModel, MajorityVote};
use metal_runtime::schema::TaskGraph;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn flat_matrix(path: &Path, k: usize, m: usize) -> LabelMatrix {
    let graph = Arc::new(TaskGraph::flat("task", (0..k).map(|c| format!("c{c}"))).unwrap());
    let lfs = (0..m).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
    npy::read_label_matrix(path, graph, lfs).unwrap()
}

/// Largest difference from the reference on the rows with at least one vote (the package gives
/// rows without votes a constant score; this library gives them the uniform distribution).
fn max_diff(matrix: &LabelMatrix, reference: &Path) -> f64 {
    let expected = npy::read_probs(reference).unwrap();
    let got = HyperLabelModel::default().fit(matrix).unwrap().predict_proba(matrix).unwrap();
    assert_eq!(got.end_labels().dim(), expected.dim());
    let d = (0..matrix.n_items())
        .filter(|&i| matrix.row(i).len() > 0)
        .flat_map(|i| {
            let (a, b) = (got.end_labels().row(i).to_owned(), expected.row(i).to_owned());
            a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).collect::<Vec<_>>()
        })
        .fold(0.0, f64::max);
    println!("{}: max abs difference {d:.2e}", reference.display());
    d
}

#[test]
fn youtube_probabilities_equal_the_package() {
    let m = flat_matrix(&data("hyperlm/youtube_L.npy"), 2, 10);
    let d = max_diff(&m, &data("hyperlm/youtube_probs.npy"));
    assert!(d < 1e-4, "max abs difference {d}");
}

#[test]
fn trec_probabilities_equal_the_package() {
    let m = flat_matrix(&data("hyperlm/trec1500_L.npy"), 6, 68);
    let d = max_diff(&m, &data("hyperlm/trec1500_probs.npy"));
    assert!(d < 1e-4, "max abs difference {d}");
}

#[test]
fn generated_three_class_probabilities_equal_the_package() {
    let m = flat_matrix(&data("synthetic/flat/L_train.npy"), 3, 5);
    let d = max_diff(&m, &data("hyperlm/flat_probs.npy"));
    assert!(d < 1e-4, "max abs difference {d}");
}

/// On the hierarchical generated problems, the feasible-set extension beats majority vote on the
/// test split (measured: 0.557 vs 0.416 on `2:2,2`, see the test's output for the current values).
#[test]
fn hierarchies_beat_majority_vote() {
    use metal_runtime::io::synthetic::Problem;
    for name in ["tree_2-22_l3_n10000", "tree_4-3333_l5_n10000"] {
        let p = Problem::load(data("synthetic").join(name)).unwrap();
        let (test, gold) = (p.test.as_ref().unwrap(), p.y_test.as_ref().unwrap());
        let acc = |model: &dyn FittedLabelModel| {
            let pred = model.predict(test, 0).unwrap();
            metal_runtime::metrics::accuracy(&pred, gold).unwrap()
        };
        let mv = acc(&MajorityVote.fit(&p.train).unwrap());
        let hyper = acc(&HyperLabelModel::default().fit(&p.train).unwrap());
        println!("{name}: hyper {hyper:.4}, majority vote {mv:.4}");
        assert!(hyper > mv, "{name}: hyper {hyper} vs majority vote {mv}");
    }
}
