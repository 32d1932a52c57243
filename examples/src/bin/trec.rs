//! The question-classification pipeline on TREC: 6 coarse classes → 50 fine classes, a wide
//! two-level hierarchy.
//!
//! Applies the LFs of [`lfs`](metal_examples::trec::lfs) to the 4,952 unlabeled training
//! questions, to the dev labels (50 drawn from the 500-question dev split with a fixed seed, or
//! all 500 with `--dev-size 500`) and to the test split, then runs the protocol of
//! [`pipeline`](metal_examples::pipeline) and prints the report (Tables 1–3). The paper has no
//! TREC experiment, so the report has no paper column.
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin trec -- --help
//! ```

use std::process::ExitCode;

use clap::Parser;
use metal_examples::pipeline::{self, Args, Corpus};
use metal_examples::trec::{data, lfs};
use metal_runtime::lf::ApplyConfig;
use metal_runtime::Result;

#[derive(Parser)]
#[command(name = "trec", about = "The TREC question-classification pipeline: 6 coarse classes → 50 fine classes")]
struct Cli {
    #[command(flatten)]
    common: Args,
    /// Dev labels drawn from the 500-question dev split (500 = all); output folder trec-dev<N>
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u16).range(10..))]
    dev_size: u16,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    pipeline::exit_code(run(&cli.common, cli.dev_size.into()))
}

fn run(args: &Args, dev_size: usize) -> Result<()> {
    let dir = args.data.as_deref();
    let train = data::load_train(dir)?;
    let dev = pipeline::draw(&data::load_dev(dir)?, dev_size, pipeline::DEV_SEED);
    let test = data::load_test(dir)?;
    let set = lfs::all_lfs();
    let name = format!("trec-dev{}", dev.len());
    let corpus = Corpus::new(
        &name,
        "TREC questions, 6 coarse classes → 50 fine classes",
        |items: &[data::Question], config: &ApplyConfig| set.apply_with(items, config),
        (&train, &dev, &test),
        |q: &data::Question| q.text.clone(),
        |q: &data::Question| q.label,
    )?;
    let results = pipeline::run(&corpus, &args.config())?;
    print!("{}", pipeline::report::render(&results));
    let out = args.out_dir(&name);
    pipeline::write_outputs(&results, &out)?;
    println!();
    println!("wrote report.txt, trials.json, dev-curves.svg, lfs.svg to {}", out.display());
    Ok(())
}
