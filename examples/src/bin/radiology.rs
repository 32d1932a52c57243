//! The radiology triage pipeline on IU X-ray reports (the paper's OpenI experiment).
//!
//! Applies the LFs of [`lfs`](metal_examples::radiology::lfs) to the 2,614 unlabeled training
//! reports, to 50 dev reports drawn from the dev split with a fixed seed (the paper's protocol),
//! and to the test split, then runs the protocol of [`pipeline`](metal_examples::pipeline) and
//! prints the report (Tables 1–3).
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin radiology -- --help
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use metal_examples::pipeline::{self, Args, CellId, Corpus, PaperNumbers};
use metal_examples::radiology::{data, lfs};
use metal_runtime::lf::ApplyConfig;
use metal_runtime::Result;

#[derive(Parser)]
#[command(
    name = "radiology",
    about = "The radiology triage pipeline on IU X-ray reports: Triage → Acute | NonAcute (the paper's Tables 1–3)"
)]
struct Cli {
    #[command(flatten)]
    common: Args,
    /// Dev labels drawn from the dev split (the paper's protocol: 50)
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u16).range(10..))]
    dev_size: u16,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    pipeline::exit_code(run(&cli.common, cli.dev_size.into()))
}

/// The paper's OpenI numbers (Tables 1–3), end-label accuracy in %.
fn paper() -> PaperNumbers {
    PaperNumbers {
        dataset: "OpenI".into(),
        cells: BTreeMap::from([
            (CellId::DevLabels, 54.6),
            (CellId::LmExtended, 72.9),
            (CellId::HierMtl, 74.0),
            (CellId::HardMv, 70.8),
            (CellId::SoftMv, 72.3),
            (CellId::SingleTask, 72.6),
            (CellId::FlatMtl, 73.1),
        ]),
    }
}

fn run(args: &Args, dev_size: usize) -> Result<()> {
    let dir = args.data.as_deref();
    let train = data::load_train(dir)?;
    let dev = pipeline::draw(&data::load_dev(dir)?, dev_size, pipeline::DEV_SEED);
    let test = data::load_test(dir)?;
    let set = lfs::all_lfs();
    let corpus = Corpus::new(
        "radiology",
        "IU X-ray reports, Triage → Acute (Urgent | Emergent) | NonAcute (Normal | NonUrgent)",
        |items: &[data::Report], config: &ApplyConfig| set.apply_prepared(items, lfs::parse, config),
        (&train, &dev, &test),
        |r: &data::Report| r.text.clone(),
        |r: &data::Report| r.label,
    )?
    .with_paper(paper());
    let results = pipeline::run(&corpus, &args.config())?;
    print!("{}", pipeline::report::render(&results));
    let out = args.out_dir("radiology");
    pipeline::write_outputs(&results, &out)?;
    println!();
    println!("wrote report.txt, trials.json, dev-curves.svg, lfs.svg to {}", out.display());
    Ok(())
}
