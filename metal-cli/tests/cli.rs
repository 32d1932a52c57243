//! `metal label-model` end to end on the real LF sets under `metal-runtime/tests/data`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../metal-runtime/tests/data").join(name)
}

fn metal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metal")).args(args).output().expect("the metal binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

#[test]
fn the_default_model_is_hyper_hier() {
    let dir = data("wrench-suite/youtube");
    let v = json(&metal(&["label-model", "--problem", dir.to_str().unwrap()]));
    assert_eq!(v["model"], "hyper-hier");
    assert!(v["train_accuracy"].as_f64().unwrap() > 0.852, "{v}");
}

#[test]
fn dev_labels_choose_a_model() {
    let dir = data("wrench-splits/youtube");
    let v = json(&metal(&["label-model", "--problem", dir.to_str().unwrap(), "--dev"]));
    assert_eq!(v["model"], "dev-selection");
    let accs = v["dev_accuracies"].as_array().unwrap();
    assert_eq!(accs.len(), 5);
    let best = accs.iter().map(|a| a[1].as_f64().unwrap()).fold(0.0, f64::max);
    let chosen = accs.iter().find(|a| a[0] == v["selected"]).unwrap();
    assert_eq!(chosen[1].as_f64().unwrap(), best);
}

#[test]
fn dev_options_need_dev_labels() {
    let dir = data("wrench-suite/youtube");
    for args in [vec!["--dev"], vec!["--class-balance", "valid"]] {
        let mut all = vec!["label-model", "--problem", dir.to_str().unwrap()];
        all.extend(args);
        let out = metal(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("dev labels (L_dev.npy and Y_dev.npy"), "{err}");
    }
}

/// The symmetric model collapses on youtube (every item ham): the fit's warnings reach stderr.
#[test]
fn collapse_warnings_are_printed() {
    let dir = data("wrench-suite/youtube");
    let out = metal(&["label-model", "--problem", dir.to_str().unwrap(), "--model", "hier-sym"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: class `spam`") || err.contains("warning: class `1`"), "{err}");
    assert!(err.contains("warning: predicts"), "{err}");
}

/// A WRENCH folder without `train.jsonl` is fit on `valid.jsonl`.
#[test]
fn wrench_folder_without_train_split_fits_on_valid() {
    let src = data("wrench-splits/youtube");
    let dir = tempfile::tempdir().unwrap();
    for f in ["valid.jsonl", "test.jsonl", "source_label.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let v = json(&metal(&["label-model", "--problem", dir.path().to_str().unwrap()]));
    assert_eq!(v["n_train"], 120);
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.8, "{v}");
}

/// A schema whose end labels are numbered its own way gets its probabilities in that numbering.
#[test]
fn probabilities_follow_the_schemas_end_label_numbering() {
    use metal_runtime::io::npy;
    let src = data("synthetic/tree");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let schema_path = dir.path().join("schema.json");
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    schema["end_labels"][0]["index"] = 2.into();
    schema["end_labels"][2]["index"] = 0.into();
    std::fs::write(&schema_path, schema.to_string()).unwrap();
    // The gold labels in the file's numbering.
    let swap = |y: usize| [2, 1, 0].get(y).copied().unwrap_or(y);
    for name in ["Y_train.npy", "Y_test.npy"] {
        let y: Vec<usize> = npy::read_labels_1d(src.join(name)).unwrap().iter().map(|&y| swap(y as usize)).collect();
        npy::write_labels_1d(dir.path().join(name), &y).unwrap();
    }
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    let original = json(&metal(&["label-model", "--problem", src.to_str().unwrap(), "--out", a.to_str().unwrap()]));
    let renumbered =
        json(&metal(&["label-model", "--problem", dir.path().to_str().unwrap(), "--out", b.to_str().unwrap()]));
    assert_eq!(original["test_accuracy"], renumbered["test_accuracy"]);
    let (pa, pb) = (npy::read_probs(&a).unwrap(), npy::read_probs(&b).unwrap());
    for (c_file, c_graph) in [(0, 2), (1, 1), (2, 0), (5, 5)] {
        assert_eq!(pb.column(c_file), pa.column(c_graph));
    }
}

/// The triplet method from the command line, with FlyingSquid's uniform class balance: on the
/// commercial set it is above majority vote (measured 0.935 against 0.905).
#[test]
fn the_triplet_method_fits_from_the_command_line() {
    let dir = data("wrench-suite/commercial");
    let args = ["label-model", "--problem", dir.to_str().unwrap(), "--model", "triplet", "--class-balance", "uniform"];
    let v = json(&metal(&args));
    assert_eq!(v["model"], "triplet");
    assert!(v["train_accuracy"].as_f64().unwrap() > 0.92, "{v}");
}

/// `metal generate` writes a problem folder that `label-model` reads; the default model is
/// above majority vote on it. A spec that does not parse is an error naming the setting, and
/// nothing is written.
#[test]
fn generated_problems_fit_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("metal-cli-generate-{}", std::process::id()));
    let out = dir.join("tree");
    let args = ["generate", out.to_str().unwrap(), "--shape", "tree", "--spec", "2:2,2", "--lfs-per-task", "4"];
    let line = json(&metal(&[&args[..], &["--n-train", "3000", "--n-test", "1000", "--seed", "1"]].concat()));
    assert_eq!((line["K"].as_u64(), line["M"].as_u64()), (Some(4), Some(12)));
    let fit = |model: &str| json(&metal(&["label-model", "--problem", out.to_str().unwrap(), "--model", model]));
    let (default, mv) = (fit("hyper-hier"), fit("mv"));
    assert!(default["test_accuracy"].as_f64() > mv["test_accuracy"].as_f64(), "{default} vs {mv}");
    let bad = dir.join("bad");
    let err = metal(&["generate", bad.to_str().unwrap(), "--shape", "tree", "--spec", "2:2"]);
    assert!(!err.status.success());
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("`spec` = 2:2") && stderr.contains("1 child tasks"), "{stderr}");
    assert!(!bad.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--out` never replaces an input file of the problem, a symbolic link or a folder, and is
/// written only after every other step succeeded; `--threads 0` and an empty matrix are errors.
#[test]
fn outputs_and_arguments_are_checked() {
    let dir = std::env::temp_dir().join(format!("metal-cli-out-{}", std::process::id()));
    let problem = dir.join("p");
    std::fs::create_dir_all(&problem).unwrap();
    for f in ["schema.json", "L_train.npy", "Y_train.npy"] {
        std::fs::copy(data("synthetic/flat").join(f), problem.join(f)).unwrap();
    }
    let p = problem.to_str().unwrap();
    let before = std::fs::read(problem.join("L_train.npy")).unwrap();
    let onto_input = problem.join("L_train.npy");
    let out = metal(&["label-model", "--problem", p, "--out", onto_input.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("input file"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(problem.join("L_train.npy")).unwrap(), before);
    #[cfg(unix)]
    {
        let link = dir.join("link.npy");
        std::os::unix::fs::symlink(dir.join("elsewhere.npy"), &link).unwrap();
        let out = metal(&["label-model", "--problem", p, "--out", link.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
        assert!(!dir.join("elsewhere.npy").exists());
    }
    let good = dir.join("probs.npy");
    json(&metal(&["label-model", "--problem", p, "--out", good.to_str().unwrap()]));
    assert!(good.exists());
    let out = metal(&["label-model", "--problem", p, "--threads", "0"]);
    assert!(!out.status.success());
    let out = metal(&["label-model", "--problem", p, "--model", "hier", "--epochs", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--epochs"), "{}", String::from_utf8_lossy(&out.stderr));
    json(&metal(&["label-model", "--problem", p, "--model", "hyper-hier", "--epochs", "0"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A folder that is no problem, a path that is no folder and a missing path each get their own
/// message; a named pipe in place of an input file is refused instead of blocking the run.
#[test]
fn problem_folders_are_recognized_or_explained() {
    let dir = std::env::temp_dir().join(format!("metal-cli-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stderr = |args: &[&str]| {
        let out = metal(args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let d = dir.to_str().unwrap();
    let err = stderr(&["label-model", "--problem", d]);
    assert!(err.contains("neither `schema.json`") && err.contains("source_label.json"), "{err}");
    let missing = dir.join("missing");
    assert!(stderr(&["label-model", "--problem", missing.to_str().unwrap()]).contains("no such folder"));
    let file = dir.join("file.txt");
    std::fs::write(&file, "x").unwrap();
    assert!(stderr(&["label-model", "--problem", file.to_str().unwrap()]).contains("not a folder"));
    #[cfg(unix)]
    {
        let problem = dir.join("fifo");
        std::fs::create_dir_all(&problem).unwrap();
        std::fs::copy(data("synthetic/flat/schema.json"), problem.join("schema.json")).unwrap();
        let made = Command::new("mkfifo").arg(problem.join("L_train.npy")).status();
        if made.is_ok_and(|s| s.success()) {
            let err = stderr(&["label-model", "--problem", problem.to_str().unwrap()]);
            assert!(err.contains("L_train.npy") && err.contains("not a regular file"), "{err}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
