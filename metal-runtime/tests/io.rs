//! File formats: `.npy` label matrices, synthetic problems, WRENCH JSON lines.
//!
//! The fixtures under `tests/data/` are described in `tests/data/README.md`. Values compared
//! against below were printed with numpy 2.4 from the same files:
//!
//! ```python
//! import numpy as np, json
//! for d in ["synthetic/flat", "synthetic/tree"]:
//!     L = np.load(d + "/L_train.npy"); Y = np.load(d + "/Y_train.npy")
//!     Yt = np.load(d + "/Y_test.npy"); Yk = np.load(d + "/Ytask_test.npy")
//!     print(L.shape, (L >= 0).sum(), (np.load(d + "/L_test.npy") >= 0).sum())
//!     print(L[:3].tolist(), Y[:10].tolist(), Yt[:5].tolist(), Yk[:3].tolist(), np.bincount(Y).tolist())
//! # flat: (200, 5) 178 88
//! #   [[-1, -1, 2, -1, -1], [0, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]
//! #   [1, 0, 0, 0, 0, 0, 0, 2, 0, 0] [1, 1, 0, 1, 1] [[1], [1], [0]] [93, 61, 46]
//! # tree: (200, 10) 309 129
//! #   [[1, -1, 1, -1, -1, -1, -1, -1, -1, -1], [0, -1, -1, -1, -1, -1, -1, -1, -1, -1],
//! #    [0, 0, -1, -1, -1, -1, 0, -1, -1, -1]]
//! #   [0, 4, 3, 7, 5, 3, 0, 1, 3, 0] [0, 0, 7, 6, 3]
//! #   [[1, -1, 0, -1, -1], [1, -1, 0, -1, -1], [0, 1, -1, -1, 2]] [25, 27, 23, 35, 23, 26, 19, 22]
//! ```

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use metal_runtime::error::IoError;
use metal_runtime::io::synthetic::Problem;
use metal_runtime::io::{npy, wrench};
use metal_runtime::label_matrix::{LabelMatrix, LfInfo};
use metal_runtime::lf::Vote;
use metal_runtime::schema::{TaskDef, TaskGraph};
use ndarray::{array, Array2};
use serde_json::Value;

type TestResult = Result<(), Box<dyn Error>>;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// The 4 × 3 matrix stored in `tests/data/npy/L_*.npy`.
fn small_dense() -> Array2<i16> {
    array![[-1, 0, 1], [2, -1, -1], [-1, -1, -1], [1, 1, 0]]
}

fn flat(k: usize) -> Arc<TaskGraph> {
    Arc::new(TaskGraph::flat("class", (0..k).map(|v| format!("c{v}"))).unwrap())
}

fn lfs(m: usize) -> Vec<LfInfo> {
    (0..m).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect()
}

fn news() -> Arc<TaskGraph> {
    Arc::new(
        TaskGraph::new(vec![
            TaskDef::new("Topic", ["corporate", "markets"]),
            TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
            TaskDef::new("Markets", ["money", "commodity", "other"]).with_parent(0, 1),
        ])
        .unwrap(),
    )
}

/// Asserts that the error's message starts with the file's path and contains `what`.
fn assert_names(err: &IoError, path: &Path, what: &str) {
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "message does not start with the path {path:?}: {msg}");
    assert!(msg.contains(what), "message does not contain {what:?}: {msg}");
}

/// Writes a version 1.0 `.npy` file with the given header fields and raw data bytes.
fn write_raw_npy(path: &Path, descr: &str, shape: &str, data: &[u8]) {
    write_raw_npy_order(path, descr, false, shape, data)
}

/// Like [`write_raw_npy`], with the given `fortran_order`.
fn write_raw_npy_order(path: &Path, descr: &str, fortran: bool, shape: &str, data: &[u8]) {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    fs::write(path, bytes).unwrap();
}

// ---------------------------------------------------------------- npy

#[test]
fn numpy_files_of_every_integer_dtype_and_order_read_the_same() -> TestResult {
    for name in ["L_int8", "L_int16", "L_int32", "L_int64", "L_int32_fortran"] {
        let m = npy::read_label_matrix(data(&format!("npy/{name}.npy")), flat(3), lfs(3))?;
        assert_eq!(m.to_dense(), small_dense(), "{name}");
        assert_eq!(m.n_votes(), 6, "{name}");
        assert_eq!(m.get(1, 0), Vote::Label(2), "{name}");
        assert_eq!(m.row(3).collect::<Vec<_>>(), vec![(0, 1), (1, 1), (2, 0)], "{name}");
    }
    assert_eq!(npy::read_int_2d(data("npy/L_int32_fortran.npy"))?, small_dense().mapv(i64::from));
    assert_eq!(npy::read_labels_1d(data("npy/L_1d.npy"))?, vec![-1, 2, -1, 1]);
    assert_eq!(npy::read_probs(data("npy/probs.npy"))?, array![[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]]);
    Ok(())
}

#[test]
fn fortran_order_matches_c_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    // A 50 × 7 matrix with labels 0..3 and about half abstains, from a fixed linear congruence.
    let (n, m) = (50, 7);
    let mut state = 12345u32;
    let dense = Array2::from_shape_fn((n, m), |_| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let r = (state >> 16) % 8;
        if r < 4 {
            -1i64
        } else {
            i64::from(r - 4)
        }
    });
    let c_path = dir.path().join("c.npy");
    npy::write_int_2d(&c_path, dense.view())?;
    let f_path = dir.path().join("f.npy");
    let column_major: Vec<u8> = dense.t().iter().flat_map(|&v| v.to_le_bytes()).collect();
    write_raw_npy_order(&f_path, "<i8", true, &format!("({n}, {m})"), &column_major);
    let from_c = npy::read_label_matrix(&c_path, flat(4), lfs(m))?;
    let from_f = npy::read_label_matrix(&f_path, flat(4), lfs(m))?;
    assert_eq!(from_c.to_dense().mapv(i64::from), dense);
    assert_eq!(from_f, from_c);
    assert_eq!(npy::read_int_2d(&f_path)?, dense);
    Ok(())
}

#[test]
fn label_matrix_write_read_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let dense = array![[-1i16, 1, 2], [0, -1, -1], [-1, -1, -1], [1, 0, 0], [1, -1, 1]];
    let lfs = vec![
        LfInfo { name: "topic".into(), task: 0 },
        LfInfo { name: "corp".into(), task: 1 },
        LfInfo { name: "markets".into(), task: 2 },
    ];
    let m = LabelMatrix::from_dense(news(), lfs.clone(), dense.view())?;
    let path = dir.path().join("L.npy");
    npy::write_label_matrix(&path, &m)?;
    assert_eq!(npy::read_label_matrix(&path, news(), lfs.clone())?, m);
    // The written file is a plain int16 array: it reads back densely too.
    assert_eq!(npy::read_int_2d(&path)?, dense.mapv(i64::from));

    // An empty matrix (no items) survives as well.
    let empty = LabelMatrix::empty(news(), lfs.clone())?;
    npy::write_label_matrix(&path, &empty)?;
    assert_eq!(npy::read_label_matrix(&path, news(), lfs)?, empty);
    Ok(())
}

#[test]
fn labels_beyond_int16_are_written_as_int32() -> TestResult {
    let dir = tempfile::tempdir()?;
    let graph = flat(40_000);
    let mut m = LabelMatrix::empty(graph.clone(), lfs(2))?;
    m.push_row(&[(0, 39_999), (1, 5)])?;
    m.push_row(&[(1, 32_768)])?;
    let path = dir.path().join("wide.npy");
    npy::write_label_matrix(&path, &m)?;
    let header = fs::read(&path)?;
    assert!(String::from_utf8_lossy(&header[..64]).contains("'<i4'"));
    assert_eq!(npy::read_label_matrix(&path, graph, lfs(2))?, m);
    Ok(())
}

#[test]
fn vectors_and_probabilities_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("y.npy");
    for labels in [vec![0usize, 3, 2, 7], vec![1, 70_000], vec![]] {
        npy::write_labels_1d(&path, &labels)?;
        let back: Vec<usize> = npy::read_labels_1d(&path)?.into_iter().map(|v| v as usize).collect();
        assert_eq!(back, labels);
    }
    for array in [array![[-1i64, 2], [0, 5]], array![[-1i64, 100_000], [0, -7]]] {
        npy::write_int_2d(&path, array.view())?;
        assert_eq!(npy::read_int_2d(&path)?, array);
    }
    let probs = array![[0.1, 0.9], [1.0 / 3.0, 2.0 / 3.0], [0.0, 1.0]];
    let probs_path = dir.path().join("probs.npy");
    npy::write_probs(&probs_path, probs.view())?;
    assert_eq!(npy::read_probs(&probs_path)?, probs);
    // Transposed (non-standard layout) views are written in logical order.
    npy::write_probs(&probs_path, probs.t())?;
    assert_eq!(npy::read_probs(&probs_path)?, probs.t().to_owned());
    Ok(())
}

#[test]
fn not_an_npy_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("L.npy");
    fs::write(&path, "L,0,1\n-1,0,1\n").unwrap();
    let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
    assert_names(&err, &path, "not an .npy file");
    fs::write(&path, "").unwrap();
    assert_names(&npy::read_labels_1d(&path).unwrap_err(), &path, "not an .npy file");
}

#[test]
fn truncated_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("L.npy");
    let bytes = fs::read(data("npy/L_int16.npy")).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
    assert!(matches!(err, IoError::Truncated { expected: 24, found: 19, .. }), "{err:?}");
    assert_names(&err, &path, "truncated file: the header announces 24 bytes of data, but only 19 follow it");
    // Cut inside the header.
    fs::write(&path, &bytes[..40]).unwrap();
    let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
    assert_names(&err, &path, "truncated file: it ends inside the .npy header");
    // Extra bytes after the data are an error too.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0, 0]);
    fs::write(&path, &longer).unwrap();
    let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
    assert_names(&err, &path, "2 bytes follow the array data");
}

#[test]
fn wrong_dtypes_are_errors() {
    for (name, dtype) in [("L_float64", "<f8"), ("L_int16_bigendian", ">i2"), ("L_bool", "|b1")] {
        let path = data(&format!("npy/{name}.npy"));
        let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
        assert!(matches!(&err, IoError::UnsupportedDtype { dtype: d, .. } if d == dtype), "{err:?}");
        assert_names(
            &err,
            &path,
            &format!("unsupported dtype `{dtype}`; expected a little-endian signed integer dtype (int8, int16, int32 or int64)"),
        );
    }
    let path = data("npy/L_int16.npy");
    assert_names(
        &npy::read_probs(&path).unwrap_err(),
        &path,
        "unsupported dtype `<i2`; expected little-endian float64",
    );
}

#[test]
fn wrong_rank_is_an_error() {
    let path = data("npy/L_1d.npy");
    let err = npy::read_label_matrix(&path, flat(3), lfs(3)).unwrap_err();
    assert_names(&err, &path, "expected a 2-D array, found shape [4]");
    let path = data("npy/L_int16.npy");
    assert_names(&npy::read_labels_1d(&path).unwrap_err(), &path, "expected a 1-D array, found shape [4, 3]");
}

#[test]
fn column_count_other_than_lfs_is_an_error() {
    let path = data("npy/L_int16.npy");
    let err = npy::read_label_matrix(&path, flat(3), lfs(4)).unwrap_err();
    assert!(matches!(err, IoError::CountMismatch { expected: 4, found: 3, .. }), "{err:?}");
    assert_names(&err, &path, "columns of the label matrix (one per LF): expected 4, found 3");
}

#[test]
fn label_out_of_range_names_item_lf_label_and_task() {
    let path = data("npy/L_int32.npy");
    let err = npy::read_label_matrix(&path, flat(2), lfs(3)).unwrap_err();
    assert_names(&err, &path, "item 1, LF 0 (`lf0`): label 2 is out of range for task `class`, which has 2 labels");
    // The same in Fortran order, which is read column by column.
    let path = data("npy/L_int32_fortran.npy");
    let err = npy::read_label_matrix(&path, flat(2), lfs(3)).unwrap_err();
    assert_names(&err, &path, "item 1, LF 0 (`lf0`): label 2 is out of range");
}

#[test]
fn values_below_minus_one_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("L.npy");
    let values: [i16; 4] = [-1, 0, 1, -2];
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw_npy(&path, "<i2", "(2, 2)", &bytes);
    let err = npy::read_label_matrix(&path, flat(2), lfs(2)).unwrap_err();
    assert_names(&err, &path, "item 1, LF 1 (`lf1`): value -2 is below -1 (-1 means abstain, labels start at 0)");
}

#[test]
fn lf_on_a_task_outside_the_graph_is_an_error() {
    let path = data("npy/L_int16.npy");
    let mut bad = lfs(3);
    bad[2].task = 4;
    let err = npy::read_label_matrix(&path, flat(3), bad).unwrap_err();
    assert_names(&err, &path, "LF 2 (`lf2`) is on task 4, but the schema has 1 tasks");
}

#[test]
fn header_variants_are_parsed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("L.npy");
    let bytes: Vec<u8> = [-1i8, 1, 0, -1].iter().map(|&v| v as u8).collect();
    // Double quotes, no trailing comma, extra spaces.
    let header = "{\"descr\": \"|i1\" , \"shape\":(2,2),\"fortran_order\":False}";
    let mut file = b"\x93NUMPY\x02\x00".to_vec();
    file.extend_from_slice(&(header.len() as u32).to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&bytes);
    fs::write(&path, file)?;
    let m = npy::read_label_matrix(&path, flat(2), lfs(2))?;
    assert_eq!(m.to_dense(), array![[-1i16, 1], [0, -1]]);

    write_raw_npy(&path, "<i2", "(3 4)", &[]);
    assert_names(&npy::read_label_matrix(&path, flat(2), lfs(2)).unwrap_err(), &path, "invalid .npy header");
    write_raw_npy(&path, "<i2", "(-1, 2)", &[]);
    assert_names(&npy::read_label_matrix(&path, flat(2), lfs(2)).unwrap_err(), &path, "`shape` is not a tuple");
    Ok(())
}

// ---------------------------------------------------------------- synthetic problems

#[test]
fn flat_problem_matches_numpy() -> TestResult {
    let p = Problem::load(data("synthetic/flat"))?;
    assert!(p.graph.is_flat());
    assert_eq!(p.graph.task(0).labels, ["0", "1", "2"]);
    assert_eq!(p.lfs.len(), 5);
    assert_eq!(p.lfs[4], LfInfo { name: "lf4".into(), task: 0 });
    assert_eq!((p.train.n_items(), p.train.n_lfs(), p.train.n_votes()), (200, 5, 178));
    let test = p.test.as_ref().ok_or("no test split")?;
    assert_eq!((test.n_items(), test.n_votes()), (100, 88));
    assert_eq!(
        p.train.to_dense().slice(ndarray::s![..3, ..]),
        array![[-1i16, -1, 2, -1, -1], [0, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]
    );
    let y = p.y_train.as_ref().ok_or("no Y_train")?;
    assert_eq!(y[..10], [1, 0, 0, 0, 0, 0, 0, 2, 0, 0]);
    let mut counts = [0; 3];
    y.iter().for_each(|&k| counts[k] += 1);
    assert_eq!(counts, [93, 61, 46]);
    assert_eq!(p.y_test.as_ref().ok_or("no Y_test")?[..5], [1, 1, 0, 1, 1]);
    assert_eq!(p.ytask_test.as_ref().ok_or("no Ytask_test")?[..3], [vec![Some(1)], vec![Some(1)], vec![Some(0)]]);
    assert_eq!(p.lf_accuracy.as_ref().ok_or("no lf_accuracy")?[0], 0.8292507153951747);
    assert_eq!(p.lf_propensity.as_ref().map(Vec::len), Some(5));
    assert_eq!(p.class_balance.as_ref().ok_or("no class_balance")?[2], 0.2684747639175602);
    assert_eq!(p.metadata["seed"], 7);
    assert_eq!(p.metadata["spec"], "3");
    Ok(())
}

#[test]
fn tree_problem_matches_numpy() -> TestResult {
    let p = Problem::load(data("synthetic/tree"))?;
    let g = &p.graph;
    assert_eq!((g.n_tasks(), g.n_end_labels(), g.max_depth()), (5, 8, 2));
    assert_eq!(g.task(3).parent.map(|r| (r.task, r.label)), Some((1, 0)));
    // End label 0 is t0=1/t2=0 (leaf-task-major, task order), end label 2 is t0=0/t1=0/t3=0.
    assert_eq!(g.feasible(0), [Some(1), None, Some(0), None, None]);
    assert_eq!(g.feasible(2), [Some(0), Some(0), None, Some(0), None]);
    assert_eq!(p.lfs.iter().map(|lf| lf.task).collect::<Vec<_>>(), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    assert_eq!((p.train.n_items(), p.train.n_lfs(), p.train.n_votes()), (200, 10, 309));
    assert_eq!(p.test.as_ref().map(|t| (t.n_items(), t.n_votes())), Some((100, 129)));
    assert_eq!(p.train.row(2).collect::<Vec<_>>(), [(0, 0), (1, 0), (6, 0)]);
    assert_eq!(p.train.get(0, 2), Vote::Label(1));
    // Python's json writes the shortest repr that round-trips; it must parse to the same f64.
    assert_eq!(p.class_balance.as_ref().ok_or("no class_balance")?[5], 0.11359472395254165);
    assert_eq!(p.lf_accuracy.as_ref().ok_or("no lf_accuracy")?[0], 0.739479377242188);
    assert_eq!(p.y_train.as_ref().ok_or("no Y_train")?[..10], [0, 4, 3, 7, 5, 3, 0, 1, 3, 0]);
    assert_eq!(p.y_test.as_ref().ok_or("no Y_test")?[..5], [0, 0, 7, 6, 3]);
    let ytask = p.ytask_test.as_ref().ok_or("no Ytask_test")?;
    assert_eq!(ytask[2], [Some(0), Some(1), None, None, Some(2)]);
    assert_eq!(g.end_label_of(&ytask[2]), Some(7));
    Ok(())
}

#[test]
fn problem_save_load_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    for fixture in ["synthetic/flat", "synthetic/tree"] {
        let p = Problem::load(data(fixture))?;
        let out = dir.path().join(fixture);
        p.save(&out)?;
        let back = Problem::load(&out)?;
        assert_eq!(back, p, "{fixture}");
        // The saved schema keeps what other readers of the format use.
        let schema: Value = serde_json::from_str(&fs::read_to_string(out.join("schema.json"))?)?;
        let original: Value = serde_json::from_str(&fs::read_to_string(data(fixture).join("schema.json"))?)?;
        for key in ["tasks", "end_labels", "lf_task", "lfs_per_task", "T", "K", "M", "n_train", "n_test", "stats"] {
            assert_eq!(schema[key], original[key], "{fixture}: {key}");
        }
        assert!(out.join("Ytask_train.npy").exists());
    }

    // Custom label and LF names, no test split: saving over a folder with a test split removes it.
    let graph = news();
    let lfs = vec![LfInfo { name: "shares".into(), task: 0 }, LfInfo { name: "wheat".into(), task: 2 }];
    let train = LabelMatrix::from_dense(graph.clone(), lfs, array![[0i16, -1], [1, 1], [-1, -1]].view())?;
    let mut p = Problem::new(train);
    p.y_train = Some(vec![0, 3, 2]);
    p.class_balance = Some(vec![0.2; 5]);
    let out = dir.path().join("synthetic/tree");
    p.save(&out)?;
    assert!(!out.join("L_test.npy").exists() && !out.join("Y_test.npy").exists());
    let back = Problem::load(&out)?;
    assert_eq!(back, p);
    assert_eq!(back.graph.end_label_name(3), "markets/commodity");
    Ok(())
}

#[test]
fn inconsistent_problem_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Problem::load(data("synthetic/flat")).unwrap();
    p.y_test = Some(vec![0; 3]);
    let err = p.save(dir.path()).unwrap_err();
    assert_names(
        &err,
        &dir.path().join("Y_test.npy"),
        "gold labels (one per row of the label matrix): expected 100, found 3",
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Copies a fixture problem into a temporary folder, applies `edit` to its `schema.json`, and
/// returns the folder.
fn edited_problem(fixture: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(data(fixture)).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let path = dir.path().join("schema.json");
    let mut schema: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(schema.as_object_mut().unwrap());
    fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    dir
}

fn load_err(dir: &tempfile::TempDir) -> IoError {
    Problem::load(dir.path()).unwrap_err()
}

#[test]
fn schema_missing_keys_are_errors() {
    for key in ["tasks", "lf_task"] {
        let dir = edited_problem("synthetic/tree", |s| {
            s.remove(key);
        });
        assert_names(&load_err(&dir), &dir.path().join("schema.json"), &format!("missing key `{key}`"));
    }
    let dir = edited_problem("synthetic/tree", |s| {
        s["tasks"][1].as_object_mut().unwrap().remove("cardinality");
    });
    assert_names(&load_err(&dir), &dir.path().join("schema.json"), "key `tasks`: unexpected JSON content");
    assert!(load_err(&dir).to_string().contains("missing field `cardinality`"));
}

#[test]
fn schema_invalid_json_names_the_line() {
    let dir = edited_problem("synthetic/flat", |_| {});
    let path = dir.path().join("schema.json");
    fs::write(&path, "{\n \"tasks\": [\n  {\"name\": \"t0\",, }\n ]\n}\n").unwrap();
    assert_names(&load_err(&dir), &path, ", line 3: invalid JSON at column");
}

#[test]
fn schema_not_a_tree_is_a_schema_error() {
    let dir = edited_problem("synthetic/tree", |s| {
        s["tasks"][2]["parent"] = Value::Null;
        s["tasks"][2]["parent_value"] = Value::Null;
    });
    let err = load_err(&dir);
    assert!(matches!(err, IoError::Schema { .. }), "{err:?}");
    assert_names(&err, &dir.path().join("schema.json"), "the schema has two root tasks, `t0` and `t2`");

    let dir = edited_problem("synthetic/tree", |s| s["tasks"][3]["parent"] = 3.into());
    assert_names(&load_err(&dir), &dir.path().join("schema.json"), "task `t3` is on a cycle of parent references");
}

/// `end_labels` may list the end labels in any order and number them its own way: each entry is
/// matched to the graph's end label by its path, and the gold-label files use the entry's index.
#[test]
fn end_labels_in_any_order_and_numbering() {
    let original = Problem::load(data("synthetic/tree")).unwrap();
    assert_eq!(original.end_label_order, None);
    // Listed in another order, same numbering: the same problem.
    let dir = edited_problem("synthetic/tree", |s| s["end_labels"].as_array_mut().unwrap().swap(0, 2));
    let p = Problem::load(dir.path()).unwrap();
    assert_eq!((p.end_label_order, p.y_test), (None, original.y_test.clone()));
    // Renumbered: the file's index 0 is the graph's end label 2 and the other way round; the gold
    // labels written with the file's numbering come back in the graph's.
    let dir = edited_problem("synthetic/tree", |s| {
        let ends = s["end_labels"].as_array_mut().unwrap();
        ends[0]["index"] = 2.into();
        ends[2]["index"] = 0.into();
    });
    let swap = |y: usize| match y {
        0 => 2,
        2 => 0,
        y => y,
    };
    let file_labels: Vec<usize> = original.y_test.as_ref().unwrap().iter().map(|&y| swap(y)).collect();
    npy::write_labels_1d(dir.path().join("Y_test.npy"), &file_labels).unwrap();
    let y_train: Vec<usize> = original.y_train.as_ref().unwrap().iter().map(|&y| swap(y)).collect();
    npy::write_labels_1d(dir.path().join("Y_train.npy"), &y_train).unwrap();
    let p = Problem::load(dir.path()).unwrap();
    let mut order: Vec<usize> = (0..8).collect();
    order.swap(0, 2);
    assert_eq!(p.end_label_order, Some(order));
    assert_eq!(p.y_test, original.y_test);
    assert_eq!(p.y_train, original.y_train);
}

#[test]
fn end_labels_that_are_not_the_graphs_are_errors() {
    let dir = edited_problem("synthetic/tree", |s| s["end_labels"][1]["index"] = 0.into());
    let err = load_err(&dir);
    assert!(matches!(err, IoError::Schema { .. }), "{err:?}");
    assert_names(&err, &dir.path().join("schema.json"), "entry 1 of `end_labels` has index 0: indices must be 0..8");
    let dir = edited_problem("synthetic/tree", |s| {
        let path = s["end_labels"][0]["path"].as_array_mut().unwrap();
        path.pop();
    });
    let err = load_err(&dir);
    assert_names(&err, &dir.path().join("schema.json"), "entry 0 of `end_labels` (index 0, task 2, value 0");
    assert!(err.to_string().contains("is not an end label of the task graph"), "{err}");
    let dir = edited_problem("synthetic/tree", |s| {
        let copy = s["end_labels"][0]["path"].clone();
        s["end_labels"][1]["path"] = copy;
    });
    assert!(load_err(&dir).to_string().contains("entry 1 of `end_labels`"), "{}", load_err(&dir));
}

#[test]
fn lf_task_out_of_range_is_an_error() {
    let dir = edited_problem("synthetic/tree", |s| s["lf_task"][3] = 7.into());
    assert_names(
        &load_err(&dir),
        &dir.path().join("schema.json"),
        "LF 3 (`lf3`) is on task 7, but the schema has 5 tasks",
    );
}

#[test]
fn lf_count_other_than_label_matrix_columns_is_an_error() {
    // `M` disagrees with `lf_task`.
    let dir = edited_problem("synthetic/tree", |s| s["M"] = 12.into());
    assert_names(
        &load_err(&dir),
        &dir.path().join("schema.json"),
        "`M` vs. the length of `lf_task`: expected 10, found 12",
    );
    // `lf_task` (and `M`) disagree with L's columns.
    let dir = edited_problem("synthetic/tree", |s| {
        s["lf_task"].as_array_mut().unwrap().pop();
        s["M"] = 9.into();
        s.remove("lf_accuracy");
        s.remove("lf_propensity");
    });
    assert_names(
        &load_err(&dir),
        &dir.path().join("L_train.npy"),
        "columns of the label matrix (one per LF): expected 9, found 10",
    );
}

#[test]
fn true_parameter_lengths_are_checked() {
    let dir = edited_problem("synthetic/flat", |s| {
        s["class_balance"].as_array_mut().unwrap().pop();
    });
    assert_names(
        &load_err(&dir),
        &dir.path().join("schema.json"),
        "length of `class_balance` (one per end label): expected 3, found 2",
    );
}

#[test]
fn gold_label_out_of_range_is_an_error() {
    let dir = edited_problem("synthetic/tree", |_| {});
    let path = dir.path().join("Y_train.npy");
    let mut y: Vec<usize> = vec![0; 200];
    y[17] = 8;
    npy::write_labels_1d(&path, &y).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, IoError::GoldLabelOutOfRange { item: 17, label: 8, n_labels: 8, .. }), "{err:?}");
    assert_names(&err, &path, "item 17: gold label 8 is out of range; there are 8 labels");

    npy::write_labels_1d(&path, &[0; 199]).unwrap();
    assert_names(&load_err(&dir), &path, "gold labels (one per row of the label matrix): expected 200, found 199");
}

#[test]
fn task_labels_off_the_gold_path_are_an_error() {
    let dir = edited_problem("synthetic/tree", |_| {});
    let path = dir.path().join("Ytask_test.npy");
    let mut ytask = npy::read_int_2d(&path).unwrap();
    // Item 0 is end label 0 (t0=1/t2=0); claim t2=1 instead, the path of end label 1.
    ytask[[0, 2]] = 1;
    npy::write_int_2d(&path, ytask.view()).unwrap();
    assert_names(
        &load_err(&dir),
        &path,
        "item 0: task labels [1, -1, 1, -1, -1] are the path of end label 1, but Y_test.npy says 0",
    );
    ytask[[0, 3]] = 0;
    npy::write_int_2d(&path, ytask.view()).unwrap();
    assert_names(&load_err(&dir), &path, "item 0: task labels [1, -1, 1, 0, -1] are not the path of any end label");
}

#[test]
fn label_out_of_range_in_a_problem_names_the_matrix_file() {
    let dir = edited_problem("synthetic/flat", |s| {
        // Two labels instead of three: the fixture's label 2 no longer fits.
        s["tasks"][0]["cardinality"] = 2.into();
        s.remove("end_labels");
        s.remove("K");
        s.remove("class_balance");
    });
    assert_names(
        &load_err(&dir),
        &dir.path().join("L_train.npy"),
        "item 0, LF 2 (`lf2`): label 2 is out of range for task `t0`, which has 2 labels",
    );
}

// ---------------------------------------------------------------- WRENCH

#[test]
fn youtube_counts_match_its_stats() -> TestResult {
    let dir = data("wrench/youtube");
    let ds = wrench::Dataset::load(&dir)?;
    let stats: Value = serde_json::from_str(&fs::read_to_string(dir.join("stats.json"))?)?;
    assert_eq!(ds.class_names(), ["HAM", "SPAM"]);
    for (name, split) in [("train", &ds.train), ("valid", &ds.valid), ("test", &ds.test)] {
        assert_eq!(split.len() as u64, stats[name]["n"].as_u64().ok_or("n")?, "{name}");
        assert_eq!(split.matrix.n_lfs() as u64, stats[name]["n_lf"].as_u64().ok_or("n_lf")?, "{name}");
        assert_eq!((split.texts.len(), split.ids.len()), (split.len(), split.len()));
        let spam = split.labels.iter().filter(|&&l| l == 1).count() as u64;
        assert_eq!(spam, stats[name]["per_class"]["SPAM"].as_u64().ok_or("SPAM")?, "{name}");
        let covered = (0..split.len()).filter(|&i| split.matrix.row(i).len() > 0).count() as f64;
        let coverage = stats[name]["coverage"].as_f64().ok_or("coverage")?;
        assert!((covered / split.len() as f64 - coverage).abs() < 5e-4, "{name}");
    }
    assert_eq!(ds.n_lfs(), 10);
    assert_eq!(ds.train.matrix.lfs()[9].name, "lf9");
    Ok(())
}

#[test]
fn youtube_row_matches_the_file() -> TestResult {
    let dir = data("wrench/youtube");
    let graph = Arc::new(TaskGraph::flat("class", ["HAM", "SPAM"])?);
    let split = wrench::load_split(dir.join("train.jsonl"), graph)?;
    let text = fs::read_to_string(dir.join("train.jsonl"))?;
    let line: Value = serde_json::from_str(text.lines().nth(1).ok_or("no line 2")?)?;
    let weak: Vec<i16> =
        line["weak_labels"].as_array().ok_or("weak_labels")?.iter().map(|v| v.as_i64().unwrap() as i16).collect();
    assert_eq!(weak, [-1, 1, -1, 1, -1, -1, -1, -1, -1, 0]);
    assert_eq!(split.matrix.to_dense().row(1).to_vec(), weak);
    assert_eq!(split.labels[1] as i64, line["label"].as_i64().ok_or("label")?);
    assert_eq!(split.texts[1], line["text"].as_str().ok_or("text")?);
    assert_eq!(split.ids[1], "1");
    Ok(())
}

/// Writes a split file into a temporary folder and loads it with two classes.
fn load_lines(lines: &str) -> (tempfile::TempDir, PathBuf, Result<wrench::WrenchSplit, IoError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    fs::write(&path, lines).unwrap();
    let result = wrench::load_split(&path, flat(2));
    (dir, path, result)
}

const GOOD: &str = r#"{"id": "a", "label": 0, "weak_labels": [-1, 0, 1], "text": "x"}"#;

#[test]
fn wrench_lines_parse_with_blank_lines_and_numeric_ids() -> TestResult {
    let (_dir, _, split) = load_lines(&format!(
        "{GOOD}\n\n{}\n",
        r#"{"id": 7, "label": 1, "weak_labels": [1, -1, -1], "data": {"text": "y"}}"#
    ));
    let split = split?;
    assert_eq!(split.ids, ["a", "7"]);
    assert_eq!(split.texts, ["x", "y"]);
    assert_eq!(split.labels, [0, 1]);
    assert_eq!(split.matrix.to_dense(), array![[-1i16, 0, 1], [1, -1, -1]]);
    Ok(())
}

#[test]
fn wrench_invalid_json_names_file_and_line() {
    let (_dir, path, result) = load_lines(&format!("{GOOD}\n\n{{\"label\": 0, \"weak_labels\": [-1, 0, 1\n"));
    assert_names(&result.unwrap_err(), &path, ", line 3: invalid JSON at column");
}

#[test]
fn wrench_missing_fields_are_errors() {
    let (_dir, path, result) = load_lines(&format!("{GOOD}\n{}\n", r#"{"label": 0, "text": "no votes"}"#));
    assert_names(&result.unwrap_err(), &path, ", line 2: missing `weak_labels`");
    let (_dir, path, result) = load_lines(&format!("{}\n", r#"{"weak_labels": [-1, 0, 1]}"#));
    assert_names(&result.unwrap_err(), &path, ", line 1: missing `label`");
}

#[test]
fn wrench_weak_label_count_must_match_the_first_line() {
    let (_dir, path, result) = load_lines(&format!("{GOOD}\n{GOOD}\n{}\n", r#"{"label": 0, "weak_labels": [-1, 0]}"#));
    let err = result.unwrap_err();
    assert!(matches!(err, IoError::CountMismatch { line: Some(3), expected: 3, found: 2, .. }), "{err:?}");
    assert_names(&err, &path, ", line 3: number of `weak_labels`, as on the first line: expected 3, found 2");
}

#[test]
fn wrench_labels_out_of_range_are_errors() {
    let (_dir, path, result) = load_lines(&format!("{GOOD}\n{}\n", r#"{"label": 0, "weak_labels": [-1, 0, 2]}"#));
    assert_names(
        &result.unwrap_err(),
        &path,
        ", line 2: item 1, LF 2 (`lf2`): label 2 is out of range for task `class`, which has 2 labels",
    );
    let (_dir, path, result) = load_lines(&format!("{}\n", r#"{"label": 0, "weak_labels": [-3, 0, 1]}"#));
    assert_names(&result.unwrap_err(), &path, ", line 1: item 0, LF 0 (`lf0`): value -3 is below -1");
    let (_dir, path, result) = load_lines(&format!("{GOOD}\n{}\n", r#"{"label": 2, "weak_labels": [-1, 0, 1]}"#));
    let err = result.unwrap_err();
    assert!(matches!(err, IoError::GoldLabelOutOfRange { line: Some(2), item: 1, label: 2, .. }), "{err:?}");
    assert_names(&err, &path, ", line 2: item 1: gold label 2 is out of range; there are 2 labels");
}

#[test]
fn wrench_class_file_must_index_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source_label.json");
    fs::write(&path, r#"{"0": "HAM", "2": "SPAM"}"#).unwrap();
    assert_names(&wrench::Dataset::load(dir.path()).unwrap_err(), &path, "class key `2` is not an index in 0..2");
    fs::write(&path, r#"{"0": "HAM"}"#).unwrap();
    assert_names(&wrench::Dataset::load(dir.path()).unwrap_err(), &path, "task `class` has 1 label(s)");
}

#[test]
fn wrench_splits_must_agree_on_the_lf_count() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("source_label.json"), r#"{"0": "HAM", "1": "SPAM"}"#).unwrap();
    fs::write(dir.path().join("train.jsonl"), format!("{GOOD}\n")).unwrap();
    fs::write(dir.path().join("valid.jsonl"), format!("{GOOD}\n")).unwrap();
    fs::write(dir.path().join("test.jsonl"), "{\"label\": 1, \"weak_labels\": [1]}\n").unwrap();
    let err = wrench::Dataset::load(dir.path()).unwrap_err();
    assert_names(
        &err,
        &dir.path().join("test.jsonl"),
        ", line 1: weak labels per line, as in train.jsonl: expected 3, found 1",
    );
}

/// Inputs whose size fields alone would decide huge allocations are refused first: a label
/// matrix of shape (n, 0), whose file holds no data to bound n, and a task whose cardinality
/// would make a trillion label names.
#[test]
fn size_fields_do_not_decide_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("L_train.npy");
    write_raw_npy(&path, "<i2", "(18446744073709551615, 0)", &[]);
    let err = npy::read_label_matrix(&path, flat(2), vec![]).unwrap_err();
    assert_names(&err, &path, "shape (18446744073709551615, 0): no LF");
    let dir = edited_problem("synthetic/tree", |s| {
        s["tasks"][1]["cardinality"] = 1_000_000_000_000u64.into();
    });
    assert_names(
        &load_err(&dir),
        &dir.path().join("schema.json"),
        "cardinality 1000000000000; a task has 2 to 65535 labels",
    );
    // Each task's cardinality is allowed, but all together they are too many: refused before a
    // label is made.
    let dir = edited_problem("synthetic/tree", |s| {
        let task = s["tasks"][1].clone();
        let tasks = s["tasks"].as_array_mut().unwrap();
        tasks[1]["cardinality"] = 65_535.into();
        for i in 0..20 {
            let mut t = task.clone();
            t["name"] = format!("extra{i}").into();
            t["cardinality"] = 65_535.into();
            tasks.push(t);
        }
    });
    assert_names(&load_err(&dir), &dir.path().join("schema.json"), "labels in all; a schema has at most 1048576");
}

/// A schema whose feasible table (end labels × tasks) would be huge is refused before the table
/// is built, with the counts in the message.
#[test]
fn oversized_schemas_are_refused() {
    use metal_runtime::schema::{TaskDef, TaskGraph};
    let root = TaskDef::new("Root", (0..65_535).map(|v| format!("r{v}")));
    let mut tasks = vec![root];
    for c in 0..256u16 {
        tasks.push(TaskDef::new(format!("Child{c}"), ["a", "b"]).with_parent(0, c));
    }
    let err = TaskGraph::new(tasks).unwrap_err().to_string();
    assert!(err.contains("257 tasks") && err.contains("65791 end labels"), "{err}");
}
