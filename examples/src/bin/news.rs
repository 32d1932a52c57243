//! The news pipeline on Reuters-21578 (the paper's Example 3.1).
//!
//! Applies the LFs of [`lfs`] to the 1,000 unlabeled training articles and the 50 dev articles,
//! prints the LF summary (coverage on train, accuracy against the dev labels), then fits the label
//! models on the training votes and reports their end-label accuracy on dev and test. With the
//! `torch` feature, it then trains the HierMTL end model on word counts of the training articles
//! with the default label model's probabilistic labels (the dev articles select the epoch) and
//! compares its test accuracy with the label model's.
//!
//! ```text
//! cargo run --release -p metal-examples --bin news [-- --data DIR]
//! ```

use metal_examples::news::{data, lfs};

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
    #[cfg(feature = "torch")]
    end_model(&train, &dev, &test, &l_train, &hier, (&l_test, &gold_test))?;
    println!();
    println!("total {:.2}s", start.elapsed().as_secs_f64());
    Ok(())
}

/// Trains HierMTL on the default label model's probabilistic labels over word counts of the
/// training articles, selects the epoch on the dev articles, and compares test accuracy with the
/// label model's.
#[cfg(feature = "torch")]
fn end_model(
    train: &[data::Article],
    dev: &[data::Article],
    test: &[data::Article],
    l_train: &LabelMatrix,
    label_model: &dyn FittedLabelModel,
    (l_test, gold_test): (&LabelMatrix, &[usize]),
) -> Result<()> {
    use metal_runtime::end_model::{
        Architecture, DevSet, EndModel, EndModelConfig, InputConfig, TrainConfig, TrainSet,
    };
    use metal_runtime::featurize::{Featurizer, FeaturizerConfig};

    let text = |articles: &[data::Article]| -> Vec<String> {
        articles.iter().map(|a| format!("{}\n{}", a.title, a.text)).collect()
    };
    let featurizer = Featurizer::fit(&text(train), &FeaturizerConfig::default())?;
    let (x_train, x_dev, x_test) =
        (featurizer.transform(&text(train)), featurizer.transform(&text(dev)), featurizer.transform(&text(test)));
    let labels = label_model.predict_proba(l_train)?;
    // Items on which every LF abstained carry only the prior: leave them out.
    let keep: Vec<bool> = (0..l_train.n_items()).map(|i| l_train.row(i).len() > 0).collect();
    let gold_dev: Vec<usize> = dev.iter().map(|a| a.label).collect();
    let config = EndModelConfig {
        architecture: Architecture::hier(),
        input: InputConfig::BagOfWords { dim: 250 },
        layers: vec![250, 50],
        seed: SEED,
        ..EndModelConfig::default()
    };
    let mut model = EndModel::new(l_train.graph_arc().clone(), featurizer.n_features(), config)?;
    let train_config = TrainConfig { n_epochs: 12, patience: Some(3), seed: SEED, ..TrainConfig::default() };
    let log = model.train(
        &TrainSet::new(&x_train, &labels).keep(&keep),
        Some(&DevSet::new(&x_dev, &gold_dev)),
        &train_config,
    )?;
    let end_acc = accuracy(&model.predict(&x_test)?, gold_test);
    let lm_acc = accuracy(&label_model.predict(l_test, SEED)?, gold_test);
    println!();
    println!(
        "End model: HierMTL over {} word-count features (bag of words 250 → 250 → 50), trained on {} of {} \
         articles (LF coverage), {} epochs in {:.1}s on {}, best dev accuracy {:.3} at epoch {}",
        featurizer.n_features(),
        log.n_train_items,
        l_train.n_items(),
        log.epochs.len(),
        log.seconds,
        log.device,
        log.best_dev_accuracy.unwrap_or(f64::NAN),
        log.best_epoch.unwrap_or(0),
    );
    println!();
    let mut table = Table::new([("model", Align::Left), ("test acc", Align::Right)]);
    table.row(["Label model (hierarchical, extended form)".to_owned(), format!("{lm_acc:.3}")]);
    table.row(["End model (HierMTL on its probabilistic labels)".to_owned(), format!("{end_acc:.3}")]);
    print!("{table}");
    Ok(())
}
