//! The news pipeline on Reuters-21578 (the paper's Example 3.1 and its RCV1 experiment).
//!
//! Applies the LFs of [`lfs`](metal_examples::news::lfs) to the 1,000 unlabeled training
//! articles, the 50 dev articles and the test split, prints the LF summary, then runs the
//! protocol of [`pipeline`](metal_examples::pipeline): label models, end models, the paper's
//! baselines and the multi-level ablation over seeded trials. Prints the report (Tables 1–3) and
//! writes it with the per-trial JSON and two SVG charts.
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin news -- --help
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use metal_examples::news::{data, lfs};
use metal_examples::pipeline::{self, Args, CellId, Corpus, PaperNumbers};
use metal_runtime::analysis::LfSummary;
use metal_runtime::lf::ApplyConfig;
use metal_runtime::Result;

#[derive(Parser)]
#[command(
    name = "news",
    about = "The news pipeline on Reuters-21578: Topic → Corporate | Markets (the paper's Tables 1–3)"
)]
struct Cli {
    #[command(flatten)]
    common: Args,
}

fn main() -> ExitCode {
    pipeline::exit_code(run(&Cli::parse().common))
}

/// The paper's RCV1 numbers (Tables 1–3), end-label accuracy in %.
fn paper() -> PaperNumbers {
    PaperNumbers {
        dataset: "RCV1".into(),
        cells: BTreeMap::from([
            (CellId::DevLabels, 75.4),
            (CellId::LmExtended, 60.5),
            (CellId::HierMtl, 78.4),
            (CellId::HardMv, 56.4),
            (CellId::SoftMv, 59.7),
            (CellId::SingleTask, 76.3),
            (CellId::FlatMtl, 76.1),
        ]),
    }
}

fn run(args: &Args) -> Result<()> {
    let dir = args.data.as_deref();
    let (train, dev, test) = (data::load_train_subset(dir)?, data::load_dev(dir)?, data::load_test(dir)?);
    let set = lfs::all_lfs();
    let corpus = Corpus::new(
        "news",
        "Reuters-21578, Topic → Corporate | Markets",
        |items: &[data::Article], config: &ApplyConfig| set.apply_prepared(items, lfs::prepare, config),
        (&train, &dev, &test),
        |a: &data::Article| format!("{}\n{}", a.title, a.text),
        |a: &data::Article| a.label,
    )?
    .with_paper(paper());
    println!("{}", LfSummary::new(&corpus.l_train).with_gold(&corpus.l_dev, &corpus.gold_dev)?);
    let results = pipeline::run(&corpus, &args.config())?;
    print!("{}", pipeline::report::render(&results));
    let out = args.out_dir("news");
    pipeline::write_outputs(&results, &out)?;
    println!();
    println!("wrote report.txt, trials.json, dev-curves.svg, lfs.svg to {}", out.display());
    Ok(())
}
