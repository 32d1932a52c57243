//! Benchmark: applying the news LFs to Reuters-21578 articles (with their preparation step), in
//! parallel and sequentially.
//! Prints one JSON line per measurement.

use metal_examples::news::{data, lfs};

use std::process::ExitCode;

use metal_runtime::prelude::*;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let train = data::load_train(None)?;
    // 10× the training split, to get a measurable run.
    let items: Vec<data::Article> = (0..10).flat_map(|_| train.iter().cloned()).collect();
    let set = lfs::all_lfs();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (mode, sequential) in [("parallel", false), ("sequential", true)] {
        let config = ApplyConfig { sequential, progress: false, ..ApplyConfig::default() };
        let mut best = f64::INFINITY;
        let mut votes = 0;
        for _ in 0..3 {
            let (m, report) = set.apply_prepared(&items, lfs::prepare, &config)?;
            best = best.min(report.seconds);
            votes = m.n_votes();
        }
        println!(
            "{{\"name\":\"apply_lfs\",\"mode\":\"{mode}\",\"threads\":{},\"n_items\":{},\"n_lfs\":{},\"n_votes\":{votes},\"seconds\":{best:.4},\"items_per_second\":{:.0}}}",
            if sequential { 1 } else { threads },
            items.len(),
            set.len(),
            items.len() as f64 / best
        );
    }
    Ok(())
}
