//! The radiology triage pipeline on IU X-ray reports (the paper's OpenI experiment).
//!
//! Applies the LFs of [`lfs`](metal_examples::radiology::lfs) to the 2,614 unlabeled training
//! reports, to 50 dev reports drawn from the dev split with a fixed seed (the paper's protocol),
//! and to the test split, then runs the protocol of [`pipeline`](metal_examples::pipeline) and
//! prints the report (Tables 1–3).
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin radiology -- [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--dev-size N] [--out DIR] [--data DIR]
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use metal_examples::pipeline::{self, Args, CellId, Corpus, PaperNumbers};
use metal_examples::radiology::{data, lfs};
use metal_runtime::Result;

const USAGE: &str =
    "usage: radiology [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--dev-size N] [--out DIR] [--data DIR]
  --quick       3 trials instead of 20; output in target/pipeline/radiology-quick
  --trials N    number of seeded trials
  --input KIND  the end model's input: bow (word counts, default) or minilm (all-MiniLM-L6-v2
                embeddings, cached on disk) or minilm-tuned (fine-tuned; slow on a CPU);
                install the model once with `make models`
  --threads N   libtorch CPU threads (default: 1 for the small networks, one per core to fine-tune)
  --dev-size N  dev labels drawn from the dev split (default 50, the paper's protocol)
  --out DIR     output folder (default: results/radiology, or target/pipeline/radiology-quick)
  --data DIR    folder with train.jsonl, dev.jsonl, test.jsonl";

fn main() -> ExitCode {
    pipeline::main_with(USAGE, &["--dev-size"], |args| {
        let dev_size = args.number("--dev-size", 50, 10)?;
        run(args, dev_size).map_err(|e| e.to_string())
    })
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
        &set,
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
