//! The news pipeline on Reuters-21578 (the paper's Example 3.1 and its RCV1 experiment).
//!
//! Applies the LFs of [`lfs`](metal_examples::news::lfs) to the 1,000 unlabeled training
//! articles, the 50 dev articles and the test split, prints the LF summary, then runs the
//! protocol of [`pipeline`](metal_examples::pipeline): label models, end models, the paper's
//! baselines and the multi-level ablation over seeded trials. Prints the report (Tables 1–3) and
//! writes it with the per-trial JSON and two SVG charts.
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin news -- [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--out DIR] [--data DIR]
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use metal_examples::news::{data, lfs};
use metal_examples::pipeline::{self, Args, CellId, Corpus, PaperNumbers};
use metal_runtime::analysis::LfSummary;
use metal_runtime::Result;

const USAGE: &str =
    "usage: news [--quick] [--trials N] [--input bow|minilm|minilm-tuned] [--threads N] [--out DIR] [--data DIR]
  --quick      3 trials (the README's main job) instead of 20; output in target/pipeline/news-quick
  --trials N   number of seeded trials
  --input KIND  the end model's input: bow (word counts, default) or minilm (all-MiniLM-L6-v2
                embeddings, cached on disk) or minilm-tuned (fine-tuned; slow on a CPU);
                install the model once with `make models`
  --threads N   libtorch CPU threads (default: 1 for the small networks, one per core to fine-tune)
  --out DIR    output folder (default: results/news, or target/pipeline/news-quick with --quick)
  --data DIR   folder with train.jsonl, dev.jsonl, test.jsonl, train_1000_ids.txt";

fn main() -> ExitCode {
    pipeline::main_with(USAGE, &[], |args| run(args).map_err(|e| e.to_string()))
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
        &set,
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
