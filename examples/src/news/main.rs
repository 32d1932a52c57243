//! The news pipeline on Reuters-21578 (the paper's Example 3.1).
//!
//! Applies the LFs of [`lfs`] to the 1,000 unlabeled training articles and the 50 dev articles,
//! prints the LF summary (coverage on train, accuracy against the dev labels), then fits the label
//! models on the training votes and reports their end-label accuracy on dev and test.
//!
//! ```text
//! cargo run --release -p metal-examples --bin news [-- --data DIR]
//! ```

pub mod data;
pub mod lfs;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use metal_runtime::analysis::LfSummary;
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, LabelModel, LfModel, MajorityVote};
use metal_runtime::prelude::*;
use metal_runtime::report::{Align, Table};

/// Seed of the tie-breaking in predictions.
const SEED: u64 = 20180601;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => dir = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!(
                    "usage: news [--data DIR]   (DIR holds train.jsonl, dev.jsonl, test.jsonl, train_1000_ids.txt)"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument `{other}` (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    match run(dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    pred.iter().zip(gold).filter(|(p, g)| p == g).count() as f64 / gold.len().max(1) as f64
}

fn run(dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.as_deref();
    let start = Instant::now();
    let train = data::load_train_subset(dir)?;
    let dev = data::load_dev(dir)?;
    let test = data::load_test(dir)?;
    let gold_dev: Vec<usize> = dev.iter().map(|a| a.label).collect();
    let gold_test: Vec<usize> = test.iter().map(|a| a.label).collect();

    println!("Snorkel MeTaL news pipeline: Reuters-21578, schema Topic → Corporate | Markets");
    #[cfg(feature = "torch")]
    println!("device: {}", metal_runtime::device::DeviceInfo::query());
    println!(
        "data: {} unlabeled training articles, {} dev (labeled), {} test; loaded in {:.2}s",
        train.len(),
        dev.len(),
        test.len(),
        start.elapsed().as_secs_f64()
    );

    let set = lfs::all_lfs();
    let (l_train, report) = set.apply_with(&train, &ApplyConfig::default())?;
    let l_dev = set.apply(&dev)?;
    let l_test = set.apply(&test)?;
    println!(
        "applied {} LFs to {} articles in {:.3}s ({} votes)",
        report.n_lfs, report.n_items, report.seconds, report.n_votes
    );

    let hier = Hierarchical::default().fit(&l_train)?;
    let summary = LfSummary::new(&l_train)
        .with_gold(&l_dev, &gold_dev)?
        .with_learned_accuracies(&hier.lf_accuracies().unwrap_or_default())?;
    println!();
    println!("{summary}");

    let mut table = Table::new([
        ("label model", Align::Left),
        ("fit (s)", Align::Right),
        ("dev acc", Align::Right),
        ("test acc", Align::Right),
    ]);
    let mut row = |name: &str, model: &dyn FittedLabelModel| -> Result<()> {
        let dev_acc = accuracy(&model.predict(&l_dev, SEED)?, &gold_dev);
        let test_acc = accuracy(&model.predict(&l_test, SEED)?, &gold_test);
        table.row([
            name.to_owned(),
            format!("{:.3}", model.fit_report().seconds),
            format!("{:.3}", dev_acc),
            format!("{:.3}", test_acc),
        ]);
        Ok(())
    };
    row("Hard MV (hierarchical majority vote)", &MajorityVote.fit(&l_train)?)?;
    row("Soft MV (paper model, fixed weights)", &Hierarchical::default().soft_mv(&l_train)?)?;
    row("Hierarchical, paper form", &Hierarchical::paper().fit(&l_train)?)?;
    let symmetric = Hierarchical { lf_model: LfModel::Symmetric, ..Hierarchical::default() }.fit(&l_train)?;
    row("Hierarchical, extended form, symmetric LFs", &symmetric)?;
    let cc = Hierarchical { lf_model: LfModel::ClassConditional, ..Hierarchical::default() }.fit(&l_train)?;
    row("Hierarchical, extended form, class-conditional", &cc)?;
    row("Hierarchical, extended form (default)", &hier)?;
    println!("Label models fit on the {} unlabeled training articles (end-label accuracy):", l_train.n_items());
    println!();
    print!("{table}");
    println!();
    println!("total {:.2}s", start.elapsed().as_secs_f64());
    Ok(())
}
