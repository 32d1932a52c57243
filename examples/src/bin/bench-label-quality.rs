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
use metal_runtime::io::{npy, wrench};
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::{
    DevLabels, FittedLabelModel, Hierarchical, HyperHier, HyperLabelModel, LabelModel, LfModel, MajorityVote,
    MatrixCompletion, MaxLikelihood, ModelSelection, Triplet,
};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Seed of the dev-label draws.
const DEV_SEED: u64 = 0;
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
    /// Dev labels: votes and gold labels of labeled items outside the test items.
    dev: Option<(LabelMatrix, Vec<usize>)>,
}

/// Dev labels per set: 50, as in the paper's protocol.
const N_DEV: usize = 50;

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

const MODELS: [&str; 12] = [
    "mv",
    "hyper-hier",
    "hyper-hier-mstep",
    "hyper",
    "hier",
    "hier-sym",
    "hier-cc",
    "hier-paper",
    "soft-mv",
    "mc",
    "mc-snorkel",
    "triplet",
];

fn fit(model: &str, m: &LabelMatrix) -> Result<Box<dyn FittedLabelModel>> {
    let quiet = Hierarchical { progress: false, ..Hierarchical::default() };
    Ok(match model {
        "mv" => Box::new(MajorityVote.fit(m)?),
        "hyper-hier" => Box::new(HyperHier::default().fit(m)?),
        "hyper-hier-mstep" => {
            Box::new(HyperHier { max_likelihood: MaxLikelihood::Never, ..HyperHier::default() }.fit(m)?)
        }
        "hyper" => Box::new(HyperLabelModel::default().fit(m)?),
        "hier" => Box::new(quiet.fit(m)?),
        "hier-sym" => Box::new(Hierarchical { lf_model: LfModel::Symmetric, ..quiet }.fit(m)?),
        "hier-cc" => Box::new(Hierarchical { lf_model: LfModel::ClassConditional, ..quiet }.fit(m)?),
        "hier-paper" => Box::new(Hierarchical { progress: false, ..Hierarchical::paper() }.fit(m)?),
        "soft-mv" => Box::new(quiet.soft_mv(m)?),
        "mc" => Box::new(MatrixCompletion::default().fit(m)?),
        "mc-snorkel" => Box::new(MatrixCompletion::snorkel().fit(m)?),
        "triplet" => Box::new(Triplet::default().fit(m)?),
        _ => unreachable!("the models listed in MODELS"),
    })
}

fn load_sets(data: &Path, pipelines: &Path) -> Result<Vec<Set>> {
    let mut sets = Vec::new();
    for name in ["youtube", "sms", "trec", "imdb", "yelp", "commercial", "tennis"] {
        let p = Problem::load(data.join("wrench-suite").join(name))?;
        let gold = p.y_train.clone().unwrap_or_default();
        sets.push(Set { name: name.into(), source: "wrench-suite", train: p.train, test: None, gold, dev: None });
    }
    for name in ["youtube", "sms", "trec"] {
        let d = wrench::Dataset::load(data.join("wrench-splits").join(name))?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(DEV_SEED);
        let rows = rand::seq::index::sample(&mut rng, d.valid.labels.len(), N_DEV.min(d.valid.labels.len())).into_vec();
        let dev = (d.valid.matrix.select_items(&rows), rows.iter().map(|&i| d.valid.labels[i]).collect());
        sets.push(Set {
            name: name.into(),
            source: "wrench-split",
            train: d.train.matrix,
            test: Some(d.test.matrix),
            gold: d.test.labels,
            dev: Some(dev),
        });
    }
    for name in ["news", "radiology", "trec"] {
        let dir = pipelines.join(name);
        if !dir.join("schema.json").exists() {
            eprintln!("bench-label-quality: no {}; run export-problems to include the pipelines", dir.display());
            continue;
        }
        let p = Problem::load(&dir)?;
        let (test, gold) = (p.test, p.y_test.unwrap_or_default());
        let l_dev = npy::read_label_matrix(dir.join("L_dev.npy"), p.train.graph_arc().clone(), p.train.lfs().to_vec())?;
        let y_dev = npy::read_labels_1d(dir.join("Y_dev.npy"))?.into_iter().map(|y| y as usize).collect();
        sets.push(Set { name: name.into(), source: "pipeline", train: p.train, test, gold, dev: Some((l_dev, y_dev)) });
    }
    for (name, dir) in [
        ("flat k=2", "flat_k2_m10_n10000"),
        ("tree 2:2,2", "tree_2-22_l3_n10000"),
        ("tree 4:3,3,3,3", "tree_4-3333_l5_n10000"),
    ] {
        let p = Problem::load(data.join("synthetic").join(dir))?;
        let (test, gold) = (p.test, p.y_test.unwrap_or_default());
        sets.push(Set { name: name.into(), source: "generated", train: p.train, test, gold, dev: None });
    }
    Ok(sets)
}

/// Prints one measurement as a JSON line.
fn print_line(name: &'static str, set: &Set, model: &str, accuracy: f64, fit_seconds: f64) {
    let line = Line {
        name,
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
            let accuracy = metal_runtime::metrics::accuracy(&pred, &set.gold)?;
            table[s][c] = accuracy;
            print_line("label_quality", set, model, accuracy, fit_seconds);
        }
    }
    dev_labels(&sets)?;
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

/// With 50 dev labels: the default model without them, with their class balance, and the model
/// [`ModelSelection::defaults`] chooses with them. Suite sets draw the 50 labeled items from the
/// matrix and are scored on the other items; the others use their own dev items.
fn dev_labels(sets: &[Set]) -> Result<()> {
    eprintln!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>10}  chosen",
        "with 50 dev labels", "no dev", "dev bal.", "dev acc.", "hier acc.", "selected"
    );
    for set in sets.iter().filter(|s| s.source != "generated") {
        let (dev_m, dev_y, on, gold) = match (&set.dev, &set.test) {
            (Some((m, y)), Some(test)) => (m.clone(), y.clone(), test.clone(), set.gold.clone()),
            _ => {
                let n = set.train.n_items();
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(DEV_SEED);
                let mut dev_rows = rand::seq::index::sample(&mut rng, n, N_DEV).into_vec();
                dev_rows.sort_unstable();
                let mut is_dev = vec![false; n];
                dev_rows.iter().for_each(|&i| is_dev[i] = true);
                let rest: Vec<usize> = (0..n).filter(|&i| !is_dev[i]).collect();
                (
                    set.train.select_items(&dev_rows),
                    dev_rows.iter().map(|&i| set.gold[i]).collect(),
                    set.train.select_items(&rest),
                    rest.iter().map(|&i| set.gold[i]).collect(),
                )
            }
        };
        let dev = DevLabels::new(&dev_m, &dev_y)?;
        let score = |m: &dyn FittedLabelModel| -> Result<f64> {
            Ok(metal_runtime::metrics::accuracy(&m.predict(&on, 0)?, &gold)?)
        };
        let mut with_balance = HyperHier::default();
        with_balance.generative.class_balance = dev.class_balance();
        let means = dev.lf_accuracy_means(Hierarchical::default().init_accuracy);
        let mut with_accuracies = HyperHier::default();
        with_accuracies.generative.accuracy_prior_means = Some(means.clone());
        let hier_accuracies =
            Hierarchical { accuracy_prior_means: Some(means), progress: false, ..Hierarchical::default() };
        let start = Instant::now();
        let selected = ModelSelection::defaults(&dev).fit(&set.train, &dev)?;
        let select_seconds = start.elapsed().as_secs_f64();
        let row = [
            ("hyper-hier", score(&HyperHier::default().fit(&set.train)?)?, 0.0),
            ("hyper-hier, dev class balance", score(&with_balance.fit(&set.train)?)?, 0.0),
            ("hyper-hier, dev LF accuracy prior", score(&with_accuracies.fit(&set.train)?)?, 0.0),
            ("hier, dev LF accuracy prior", score(&hier_accuracies.fit(&set.train)?)?, 0.0),
            ("selected on dev labels", score(&selected)?, select_seconds),
        ];
        for (model, accuracy, fit_seconds) in row {
            print_line("label_quality_dev50", set, model, accuracy, fit_seconds);
        }
        eprintln!(
            "{:<28} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}  {}",
            format!("{} ({})", set.name, set.source),
            100.0 * row[0].1,
            100.0 * row[1].1,
            100.0 * row[2].1,
            100.0 * row[3].1,
            100.0 * row[4].1,
            selected.name()
        );
    }
    eprintln!();
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
