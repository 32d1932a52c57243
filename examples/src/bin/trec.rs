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
//! cargo run --release -p metal-examples --features torch --bin trec -- [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--dev-size 50|500] [--out DIR] [--data DIR]
//! ```

use std::process::ExitCode;

use metal_examples::pipeline::{self, Args, Corpus};
use metal_examples::trec::{data, lfs};
use metal_runtime::Result;

const USAGE: &str =
    "usage: trec [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--dev-size N] [--out DIR] [--data DIR]
  --quick       3 trials instead of 20; output in target/pipeline/trec-dev<N>-quick
  --trials N    number of seeded trials
  --input KIND  the end model's input: bow (word counts, default) or minilm (all-MiniLM-L6-v2
                embeddings, cached on disk) or minilm-tuned (fine-tuned; slow on a CPU);
                install the model once with `make models`
  --threads N   libtorch CPU threads (default: 1 for the small networks, one per core to fine-tune)
  --dev-size N  dev labels drawn from the 500-question dev split (default 50; 500 = all)
  --out DIR     output folder (default: results/trec-dev<N>, or target/pipeline/trec-dev<N>-quick)
  --data DIR    folder with train.jsonl, dev.jsonl, test.jsonl";

fn main() -> ExitCode {
    pipeline::main_with(USAGE, &["--dev-size"], |args| {
        let dev_size = args.number("--dev-size", 50, 10)?;
        run(args, dev_size).map_err(|e| e.to_string())
    })
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
        &set,
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
