//! Writes the label matrices of the three pipelines (news, radiology, TREC) as problem folders
//! that `metal label-model --problem DIR` reads, so that any label model can be scored on them
//! from the command line and by `make bench`:
//! `schema.json`, `L_train.npy` (the unlabeled training items), `L_test.npy` and `Y_test.npy`
//! (test split with gold end labels) and `L_dev.npy`/`Y_dev.npy` (the 50 dev labels the pipeline
//! draws).
//!
//! ```text
//! cargo run --release -p metal-examples --bin export-problems -- OUT_DIR
//! ```

use std::path::Path;
use std::process::ExitCode;

use metal_examples::pipeline::{label_corpora, Corpus};
use metal_runtime::io::npy;
use metal_runtime::io::synthetic::Problem;
use metal_runtime::Result;

fn save(corpus: &Corpus, out: &Path) -> Result<()> {
    let dir = out.join(&corpus.name);
    let mut problem = Problem::new(corpus.l_train.clone());
    problem.test = Some(corpus.l_test.clone());
    problem.y_test = Some(corpus.gold_test.clone());
    problem.save(&dir)?;
    npy::write_label_matrix(dir.join("L_dev.npy"), &corpus.l_dev)?;
    npy::write_labels_1d(dir.join("Y_dev.npy"), &corpus.gold_dev)?;
    println!(
        "{}: {} train, {} dev, {} test items -> {}",
        corpus.name,
        corpus.l_train.n_items(),
        corpus.l_dev.n_items(),
        corpus.l_test.n_items(),
        dir.display()
    );
    Ok(())
}

fn run(out: &Path) -> Result<()> {
    for corpus in label_corpora()? {
        save(&corpus, out)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: export-problems OUT_DIR");
        return ExitCode::FAILURE;
    };
    match run(Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
