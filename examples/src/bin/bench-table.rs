//! Benchmark: the fifteen regular-expression LFs of [`metal_examples::news::regex_lfs`] over a
//! Parquet table of Reuters articles, read by DataFusion.
//!
//! - `--mode make` writes the table: `--rows` rows of the training split's JSON-lines file, read
//!   again from its start as often as needed, in row groups of 65,536 rows (uncompressed).
//! - `--mode rayon` labels the table's rows in this process's thread pool as DataFusion reads
//!   them one batch at a time (`apply_table_prepared`): the label matrix in memory.
//! - `--mode counts` runs the LFs inside DataFusion as a scalar function on `--threads`
//!   partitions and counts the vote patterns with `GROUP BY` (`pattern_counts_prepared`): the
//!   statistic the label models fit on, without the matrix.
//!
//! Prints one JSON line: rows, threads, seconds, items per second, votes, the process's peak
//! resident set (`VmHWM`).
//!
//! ```text
//! bench-table --mode make|rayon|counts --table PATH [--rows N] [--threads T] [--file train.jsonl]
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use metal_datafusion::datafusion::parquet::arrow::ArrowWriter;
use metal_datafusion::datafusion::parquet::file::properties::WriterProperties;
use metal_datafusion::serde_arrow::schema::{SchemaLike, TracingOptions};
use metal_datafusion::{apply_table_prepared, pattern_counts_prepared, Table};
use metal_examples::memory::peak_rss_mb;
use metal_examples::news::regex_lfs::{self, Story};
use metal_runtime::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Make,
    Rayon,
    Counts,
}

#[derive(Parser)]
#[command(about = "15 regex LFs over a Parquet table of Reuters articles, read by DataFusion")]
struct Cli {
    #[arg(long, value_enum)]
    mode: Mode,
    /// The Parquet table.
    #[arg(long)]
    table: PathBuf,
    /// Rows to write (`make`).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Threads of the LF pool (`rayon`) or DataFusion partitions (`counts`).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The JSON-lines file of articles the table is made from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/reuters21578/train.jsonl"))]
    file: PathBuf,
}

type BenchResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `cli.rows` articles, the JSON-lines file read again from its start as needed.
fn make(cli: &Cli) -> BenchResult<()> {
    let stories: Vec<Story> = BufReader::new(File::open(&cli.file)?)
        .lines()
        .map(|l| Ok(serde_json::from_str(&l?)?))
        .collect::<BenchResult<_>>()?;
    if stories.is_empty() {
        return Err(format!("{}: no article", cli.file.display()).into());
    }
    let fields =
        Vec::<metal_datafusion::datafusion::arrow::datatypes::FieldRef>::from_type::<Story>(TracingOptions::default())?;
    let schema = Arc::new(metal_datafusion::datafusion::arrow::datatypes::Schema::new(fields.clone()));
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(65_536)).build();
    let tmp = cli.table.with_extension("parquet.tmp");
    let mut writer = ArrowWriter::try_new(File::create(&tmp)?, schema, Some(props))?;
    let mut written = 0;
    while written < cli.rows {
        let n = (cli.rows - written).min(65_536);
        let batch: Vec<&Story> = (written..written + n).map(|i| &stories[i % stories.len()]).collect();
        writer.write(&metal_datafusion::serde_arrow::to_record_batch(&fields, &batch)?)?;
        written += n;
    }
    writer.close()?;
    std::fs::rename(&tmp, &cli.table)?;
    println!("{}", serde_json::json!({ "name": "table_made", "rows": written, "path": cli.table }));
    Ok(())
}

fn run(cli: &Cli) -> BenchResult<()> {
    if cli.mode == Mode::Make {
        return make(cli);
    }
    let table = Table::open(&cli.table)?;
    let lfs = regex_lfs::all_lfs();
    let start = Instant::now();
    let (rows, votes, patterns, mode) = match cli.mode {
        Mode::Rayon => {
            let config = ApplyConfig { progress: false, threads: Some(cli.threads), ..ApplyConfig::default() };
            let (matrix, report) = apply_table_prepared(&lfs, &table, regex_lfs::prepare, &config)?;
            (matrix.n_items() as u64, report.n_votes as u64, None, "rayon")
        }
        Mode::Counts => {
            let counts = pattern_counts_prepared(
                Arc::new(lfs),
                &table,
                &["title", "text"],
                regex_lfs::prepare,
                Some(cli.threads),
            )?;
            let votes = (0..counts.patterns.n_items())
                .map(|p| counts.patterns.row_slices(p).0.len() as u64 * counts.counts[p])
                .sum();
            (counts.n_items(), votes, Some(counts.patterns.n_items()), "datafusion_counts")
        }
        Mode::Make => unreachable!("handled above"),
    };
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "name": "apply_lfs_table",
            "impl": mode,
            "rows": rows,
            "threads": cli.threads,
            "n_votes": votes,
            "n_patterns": patterns,
            "seconds": (seconds * 1e3).round() / 1e3,
            "items_per_second": (rows as f64 / seconds).round(),
            "peak_rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
