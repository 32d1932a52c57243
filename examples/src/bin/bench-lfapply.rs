//! Benchmark: streamed LF application. The fifteen regular-expression LFs of
//! [`metal_examples::news::regex_lfs`] (the Python reference's, same patterns and preparation)
//! applied to `--rows` articles read one JSON line at a time from `--file`, which is read again
//! from its start until that many rows have been read (so that 10^7 rows need no 10 GB file).
//! Each article is parsed on the reading thread and prepared (lowercased) once, inside the
//! parallel chunks, while the next batch is read.
//!
//! Prints one JSON line: rows, threads, seconds, items per second, the process's peak resident
//! set (`VmHWM`), the label matrix's own size and the difference of the two. With `--check L.npy`
//! (a dense int matrix, `-1` = abstain, such as `bench/lfapply_reference.py --matrix-out` writes)
//! it also says whether the first rows of our matrix equal it, and fails when they do not.
//!
//! ```text
//! bench-lfapply --rows N [--threads T] [--file train.jsonl] [--check L.npy]
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use metal_examples::memory::peak_rss_mb;
use metal_examples::news::regex_lfs;
use metal_runtime::io::items::JsonLines;
use metal_runtime::io::npy;
use metal_runtime::prelude::*;

#[derive(Parser)]
#[command(about = "Streamed LF application: 15 regex LFs on Reuters articles read from a JSON-lines file")]
struct Cli {
    /// Number of rows to label (the file is read again from its start as often as needed).
    #[arg(long)]
    rows: usize,
    /// Threads of the LF pool.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The JSON-lines file of articles (`title`, `text`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/reuters21578/train.jsonl"))]
    file: PathBuf,
    /// A reference label matrix (`.npy`, `-1` = abstain) to compare the first rows with.
    #[arg(long)]
    check: Option<PathBuf>,
}

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

/// The first `rows` lines of the file read again and again from its start: a reader that
/// re-opens the file each time it ends.
struct Rows {
    path: PathBuf,
    file: BufReader<File>,
    /// Lines still to give.
    left: usize,
    /// Bytes of the file's buffer given by the last `fill_buf` (up to the last line to give).
    given: usize,
}

impl Rows {
    fn new(path: &Path, rows: usize) -> std::io::Result<Self> {
        Ok(Rows { path: path.to_path_buf(), file: BufReader::new(File::open(path)?), left: rows, given: 0 })
    }
}

impl Read for Rows {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Rows {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.left == 0 {
            return Ok(&[]);
        }
        if self.file.fill_buf()?.is_empty() {
            self.file = BufReader::new(File::open(&self.path)?);
        }
        let buf = self.file.fill_buf()?;
        // Stop after the `left`-th line end in this buffer, if it can have that many.
        self.given = if self.left > buf.len() {
            buf.len()
        } else {
            buf.iter().enumerate().filter(|(_, &b)| b == b'\n').nth(self.left - 1).map_or(buf.len(), |(i, _)| i + 1)
        };
        Ok(&buf[..self.given])
    }

    fn consume(&mut self, n: usize) {
        if let Ok(buf) = self.file.fill_buf() {
            self.left -= buf[..n.min(self.given)].iter().filter(|&&b| b == b'\n').count();
        }
        self.file.consume(n);
    }
}

type BenchResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn run(cli: &Cli) -> BenchResult<()> {
    let set = regex_lfs::all_lfs();
    let config = ApplyConfig { progress: false, threads: Some(cli.threads), ..ApplyConfig::default() };
    let rows = Rows::new(&cli.file, cli.rows).map_err(|e| format!("{}: {e}", cli.file.display()))?;
    let source = JsonLines::from_reader(rows, &cli.file);
    let (matrix, report) = set.apply_jsonl_prepared(source, regex_lfs::prepare, &config)?;
    let peak = peak_rss_mb();
    // What the matrix holds: a row offset per item, and an LF index and a label per vote.
    let matrix_mb = ((matrix.n_items() + 1) * size_of::<usize>()
        + matrix.n_votes() * (size_of::<u32>() + size_of::<u16>())) as f64
        / (1024.0 * 1024.0);
    let matches = match &cli.check {
        None => None,
        Some(path) => {
            let reference = npy::read_int_2d(path)?;
            let rows = reference.nrows().min(matrix.n_items());
            let same = reference.ncols() == matrix.n_lfs()
                && (0..rows).all(|i| {
                    (0..matrix.n_lfs()).all(|j| matrix.get(i, j).label().map_or(-1, i64::from) == reference[[i, j]])
                });
            if !same {
                let path = path.display();
                return Err(format!("the label matrix differs from {path} in its first {rows} rows").into());
            }
            Some(rows)
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "name": "apply_lfs_stream",
            "impl": "metal-rs",
            "rows": matrix.n_items(),
            "threads": cli.threads,
            "n_lfs": matrix.n_lfs(),
            "n_votes": report.n_votes,
            "seconds": (report.seconds * 1e4).round() / 1e4,
            "items_per_second": (matrix.n_items() as f64 / report.seconds).round(),
            "peak_rss_mb": (peak * 10.0).round() / 10.0,
            "matrix_mb": (matrix_mb * 10.0).round() / 10.0,
            "rss_beyond_matrix_mb": ((peak - matrix_mb) * 10.0).round() / 10.0,
            "rows_checked_against_reference": matches,
        })
    );
    Ok(())
}
