//! The label matrix and probabilistic labels written as Parquet read back to the same values,
//! and bad targets give errors that name the file and leave nothing behind.

use std::fs::File;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Float64Array, Int16Array, Int32Array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use metal_datafusion::{write_label_matrix, write_probs, TableError};
use metal_runtime::label_matrix::{LabelMatrix, LfInfo, Vote};
use metal_runtime::label_model::{FittedLabelModel, HyperHier, LabelModel};
use metal_runtime::schema::TaskGraph;

fn read(path: &std::path::Path) -> Vec<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap().build().unwrap();
    reader.map(Result::unwrap).collect()
}

/// 70,000 items (two record batches) of a three-class task with four LFs.
fn matrix(names: [&str; 4], k: usize) -> LabelMatrix {
    let labels: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
    let graph = Arc::new(TaskGraph::flat("task", labels).unwrap());
    let lfs = names.iter().map(|n| LfInfo { name: (*n).into(), task: 0 }).collect();
    let dense = ndarray::Array2::from_shape_fn((70_000, 4), |(i, j)| {
        let v = (i * 7 + j * 13) % (k + 2);
        if v >= k {
            -1
        } else {
            v as i32
        }
    });
    LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
}

#[test]
fn label_matrix_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for k in [3usize, 40_000] {
        let mat = matrix(["lf_a", "lf_b", "lf_c", "lf_d"], k);
        let path = dir.path().join(format!("votes_{k}.parquet"));
        write_label_matrix(&path, &mat).unwrap();
        let groups =
            ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap().metadata().num_row_groups();
        assert_eq!(groups, 2, "one row group per 65,536 rows");
        let batches = read(&path);
        let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["lf_a", "lf_b", "lf_c", "lf_d"]);
        let mut row = 0;
        for batch in &batches {
            for j in 0..4 {
                let col = batch.column(j);
                let values: Vec<i64> = if k < 30_000 {
                    let a = col.as_any().downcast_ref::<Int16Array>().expect("16-bit labels");
                    a.values().iter().map(|&v| i64::from(v)).collect()
                } else {
                    let a = col.as_any().downcast_ref::<Int32Array>().expect("32-bit labels above i16");
                    a.values().iter().map(|&v| i64::from(v)).collect()
                };
                for (r, v) in values.iter().enumerate() {
                    let want = match mat.get(row + r, j) {
                        Vote::Label(l) => i64::from(l),
                        Vote::Abstain => -1,
                    };
                    assert_eq!(*v, want, "item {}, LF {j}", row + r);
                }
            }
            row += batch.num_rows();
        }
        assert_eq!(row, 70_000);
    }
}

#[test]
fn probabilities_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mat = matrix(["lf_a", "lf_b", "lf_c", "lf_d"], 3);
    let probs = HyperHier::default().fit(&mat).unwrap().predict_proba(&mat).unwrap();
    let path = dir.path().join("probs.parquet");
    write_probs(&path, &probs).unwrap();
    let batches = read(&path);
    let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, mat.graph().end_label_names(), "one task: the end labels only");
    let end = probs.end_labels();
    let mut row = 0;
    for batch in &batches {
        for c in 0..3 {
            let a = batch.column(c).as_any().downcast_ref::<Float64Array>().unwrap();
            assert_eq!(a.null_count(), 0);
            for (r, v) in a.values().iter().enumerate() {
                assert_eq!(*v, end[[row + r, c]]);
            }
        }
        row += batch.num_rows();
    }
    assert_eq!(row, 70_000);
}

#[test]
fn bad_targets_are_errors_that_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mat = matrix(["lf_a", "lf_b", "lf_a", "lf_d"], 3);
    let path = dir.path().join("votes.parquet");
    let err = write_label_matrix(&path, &mat).unwrap_err();
    assert!(matches!(err, TableError::Write { .. }), "{err:?}");
    assert!(err.to_string().contains("votes.parquet") && err.to_string().contains("`lf_a`"), "{err}");

    let mat = matrix(["lf_a", "lf_b", "lf_c", "lf_d"], 3);
    let missing = dir.path().join("no_such_folder").join("votes.parquet");
    let err = write_label_matrix(&missing, &mat).unwrap_err();
    assert!(err.to_string().starts_with(&missing.display().to_string()), "{err}");

    let folder = dir.path().join("a_folder");
    std::fs::create_dir(&folder).unwrap();
    let err = write_label_matrix(&folder, &mat).unwrap_err();
    assert!(err.to_string().contains("folder"), "{err}");

    // Nothing but the folder is left behind: no partial or temporary file.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["a_folder"]);
}

/// On a hierarchy, each task's marginal distribution follows the end labels.
#[test]
fn hierarchies_add_the_task_marginals() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../metal-runtime/tests/data/synthetic/tree_2-22_l3_n10000");
    let p = metal_runtime::io::synthetic::Problem::load(dir).unwrap();
    let probs = HyperHier::default().fit(&p.train).unwrap().predict_proba(&p.train).unwrap();
    let graph = p.train.graph();
    let names: Vec<String> = metal_datafusion::prob_fields(graph).iter().map(|f| f.name().clone()).collect();
    let n_marginals: usize = (0..graph.n_tasks()).map(|t| graph.cardinality(t) + usize::from(t != graph.root())).sum();
    assert_eq!(names.len(), graph.n_end_labels() + n_marginals);
    let root = &graph.task(graph.root());
    assert_eq!(names[graph.n_end_labels()], format!("{}={}", root.name, root.labels[0]));
    assert!(names.iter().any(|n| n.ends_with("=(inactive)")));

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("probs.parquet");
    write_probs(&path, &probs).unwrap();
    let batches = read(&path);
    let mut want: Vec<Vec<f64>> = probs.end_labels().columns().into_iter().map(|c| c.to_vec()).collect();
    for t in 0..graph.n_tasks() {
        want.extend(probs.task_marginals(t).columns().into_iter().map(|c| c.to_vec()));
    }
    let mut row = 0;
    for batch in &batches {
        for (c, col) in want.iter().enumerate() {
            let a = batch.column(c).as_any().downcast_ref::<Float64Array>().unwrap();
            assert_eq!(a.values(), &col[row..row + batch.num_rows()], "column {}", names[c]);
        }
        row += batch.num_rows();
    }
    assert_eq!(row, p.train.n_items());
}
