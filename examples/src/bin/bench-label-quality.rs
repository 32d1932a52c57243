//! Label quality on real LF votes: every label model of the library and majority vote on the
//! WRENCH label-model suite (fit and scored on the same items), the WRENCH train/test splits, the
//! three pipelines' label matrices (when exported, see `export-problems`) and the generated
//! problems of the tests. Prints one JSON line per (set, model) on standard output and a table
//! (accuracy in %) on standard error.
//!
//! ```text
//! bench-label-quality [--data DIR] [--pipelines DIR] [--threads N]
//! ```
//! `--data` defaults to `metal-runtime/tests/data`; `--pipelines` to
//! `target/bench-problems/pipelines` (skipped when absent).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use metal_runtime::io::synthetic::Problem;
use metal_runtime::io::wrench;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::{
    FittedLabelModel, Hierarchical, HyperHier, HyperLabelModel, LabelModel, LfModel, MajorityVote, MatrixCompletion,
};
use metal_runtime::Result;
use serde::Serialize;

/// A label matrix to fit on, and items with gold labels to score on.
struct Set {
    name: String,
    source: &'static str,
    train: LabelMatrix,
    /// `None`: score on the training items.
    test: Option<LabelMatrix>,
    gold: Vec<usize>,
}

#[derive(Serialize)]
struct Line<'a> {
    name: &'static str,
    set: &'a str,
    source: &'a str,
    model: &'a str,
    n_train: usize,
    m: usize,
    k: usize,
    accuracy: f64,
    fit_seconds: f64,
}

const MODELS: [&str; 10] =
    ["mv", "hyper-hier", "hyper", "hier", "hier-sym", "hier-cc", "hier-paper", "soft-mv", "mc", "mc-snorkel"];

fn fit(model: &str, m: &LabelMatrix) -> Result<Box<dyn FittedLabelModel>> {
    let quiet = Hierarchical { progress: false, ..Hierarchical::default() };
    Ok(match model {
        "mv" => Box::new(MajorityVote.fit(m)?),
        "hyper-hier" => Box::new(HyperHier::default().fit(m)?),
        "hyper" => Box::new(HyperLabelModel::default().fit(m)?),
        "hier" => Box::new(quiet.fit(m)?),
        "hier-sym" => Box::new(Hierarchical { lf_model: LfModel::Symmetric, ..quiet }.fit(m)?),
        "hier-cc" => Box::new(Hierarchical { lf_model: LfModel::ClassConditional, ..quiet }.fit(m)?),
        "hier-paper" => Box::new(Hierarchical { progress: false, ..Hierarchical::paper() }.fit(m)?),
        "soft-mv" => Box::new(quiet.soft_mv(m)?),
        "mc" => Box::new(MatrixCompletion::default().fit(m)?),
        "mc-snorkel" => Box::new(MatrixCompletion::snorkel().fit(m)?),
        _ => unreachable!("the models listed in MODELS"),
    })
}

fn load_sets(data: &Path, pipelines: &Path) -> Result<Vec<Set>> {
    let mut sets = Vec::new();
    for name in ["youtube", "sms", "trec", "imdb", "yelp", "commercial", "tennis"] {
        let p = Problem::load(data.join("wrench-suite").join(name))?;
        let gold = p.y_train.clone().unwrap_or_default();
        sets.push(Set { name: name.into(), source: "wrench-suite", train: p.train, test: None, gold });
    }
    for name in ["youtube", "sms", "trec"] {
        let d = wrench::Dataset::load(data.join("wrench-splits").join(name))?;
        sets.push(Set {
            name: name.into(),
            source: "wrench-split",
            train: d.train.matrix,
            test: Some(d.test.matrix),
            gold: d.test.labels,
        });
    }
    for name in ["news", "radiology", "trec"] {
        let dir = pipelines.join(name);
        if !dir.join("schema.json").exists() {
            eprintln!("bench-label-quality: no {}; run export-problems to include the pipelines", dir.display());
            continue;
        }
        let p = Problem::load(dir)?;
        let (test, gold) = (p.test, p.y_test.unwrap_or_default());
        sets.push(Set { name: name.into(), source: "pipeline", train: p.train, test, gold });
    }
    for (name, dir) in [
        ("flat k=2", "flat_k2_m10_n10000"),
        ("tree 2:2,2", "tree_2-22_l3_n10000"),
        ("tree 4:3,3,3,3", "tree_4-3333_l5_n10000"),
    ] {
        let p = Problem::load(data.join("synthetic").join(dir))?;
        let (test, gold) = (p.test, p.y_test.unwrap_or_default());
        sets.push(Set { name: name.into(), source: "generated", train: p.train, test, gold });
    }
    Ok(sets)
}

fn run(data: &Path, pipelines: &Path) -> Result<()> {
    let sets = load_sets(data, pipelines)?;
    let mut table = vec![vec![f64::NAN; MODELS.len()]; sets.len()];
    for (s, set) in sets.iter().enumerate() {
        let on = set.test.as_ref().unwrap_or(&set.train);
        for (c, model) in MODELS.iter().enumerate() {
            let start = Instant::now();
            let fitted = fit(model, &set.train)?;
            let fit_seconds = start.elapsed().as_secs_f64();
            let pred = fitted.predict(on, 0)?;
            let accuracy = metal_examples::pipeline::accuracy(&pred, &set.gold);
            table[s][c] = accuracy;
            let line = Line {
                name: "label_quality",
                set: &set.name,
                source: set.source,
                model,
                n_train: set.train.n_items(),
                m: set.train.n_lfs(),
                k: set.train.graph().n_end_labels(),
                accuracy,
                fit_seconds,
            };
            println!("{}", serde_json::to_string(&line).unwrap_or_default());
        }
    }
    eprint!("{:<28}", "set");
    for m in MODELS {
        eprint!(" {m:>10}");
    }
    eprintln!();
    for (set, row) in sets.iter().zip(&table) {
        eprint!("{:<28}", format!("{} ({})", set.name, set.source));
        for a in row {
            eprint!(" {:>10.1}", 100.0 * a);
        }
        eprintln!();
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut data = PathBuf::from("metal-runtime/tests/data");
    let mut pipelines = PathBuf::from("target/bench-problems/pipelines");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next();
        match (a.as_str(), value) {
            ("--data", Some(v)) => data = v.into(),
            ("--pipelines", Some(v)) => pipelines = v.into(),
            ("--threads", Some(v)) => {
                let n = v.parse().unwrap_or(0);
                if n == 0 || rayon::ThreadPoolBuilder::new().num_threads(n).build_global().is_err() {
                    eprintln!("error: --threads takes a positive number, got {v}");
                    return ExitCode::FAILURE;
                }
            }
            _ => {
                eprintln!("usage: bench-label-quality [--data DIR] [--pipelines DIR] [--threads N]");
                return ExitCode::FAILURE;
            }
        }
    }
    match run(&data, &pipelines) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
