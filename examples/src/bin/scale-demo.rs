//! The news LFs over a table on a Ballista cluster whose scheduler and executors are this binary
//! (`make scale-demo`).
//!
//! ```text
//! scale-demo demo [--rows 2000000] [--executors 2]   generate the table, start a local cluster,
//!                                                    run the job there and in this process, and
//!                                                    print one JSON line
//! scale-demo generate --out T.parquet [--rows N]     the seeded table of news-like rows
//! scale-demo scheduler [--bind HOST:PORT]            this binary as the cluster's scheduler
//! scale-demo executor --scheduler HOST:PORT          ... as an executor
//! scale-demo run --cluster HOST:PORT --table T.parquet --out probs.parquet
//! scale-demo bench --engine rayon|local|cluster      LF application throughput (`make bench`)
//! ```
//!
//! Every process must be given the same `--lfs` (default `news`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use metal_ballista::{connect, ClusterCommand};
use metal_datafusion::{Engine, Table};
use metal_examples::cluster::{
    apply_rayon, counts_digest, counts_of, generate_table, lf_udf, n_votes, run_job, ClusterResult, LfChoice,
    LocalCluster, COLUMNS,
};
use metal_examples::memory::{peak_rss_mb, peak_rss_mb_of};

#[derive(Parser)]
#[command(about = "The news LFs over a table on a Ballista cluster of this binary's processes")]
struct Cli {
    /// The LF set (every process of a cluster needs the same).
    #[arg(long, value_enum, default_value = "news", global = true)]
    lfs: LfChoice,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Cluster(ClusterCommand),
    /// Writes the seeded table of news-like rows (id, title, text).
    Generate(Generate),
    /// Runs the job on a running cluster: pattern counts, the default label model fit on them,
    /// each row's probabilities written to `--out`.
    Run {
        /// The scheduler, HOST:PORT.
        #[arg(long)]
        cluster: String,
        /// The Parquet table (the same path on every executor).
        #[arg(long)]
        table: PathBuf,
        /// The Parquet file of ids and probabilities.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generates the table if it is missing, starts a scheduler and `--executors` executors on
    /// 127.0.0.1, runs the job there and in this process, and prints one JSON line.
    Demo {
        #[command(flatten)]
        generate: Generate,
        /// Executors to start.
        #[arg(long, default_value_t = 2)]
        executors: usize,
        /// Where the processes' logs, work folders and the outputs go.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/scale-demo/run"))]
        work: PathBuf,
    },
    /// Measures LF application on the table (generated if missing) and prints one JSON line
    /// with a digest of the pattern counts (equal digests: equal counts):
    /// `rayon` labels the rows in this process's thread pool (the label matrix in memory; its
    /// patterns are counted after the clock stops),
    /// `local` counts the vote patterns with DataFusion in this process, `cluster` on a local
    /// cluster of `--executors` executors of one task each.
    Bench {
        #[command(flatten)]
        generate: Generate,
        /// Where the LFs run.
        #[arg(long, value_enum)]
        engine: BenchEngine,
        /// Threads (`rayon`) or partitions (`local`).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Executors (`cluster`).
        #[arg(long, default_value_t = 2)]
        executors: usize,
        /// Where the cluster's logs and work folders go.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/scale-demo/bench"))]
        work: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchEngine {
    Rayon,
    Local,
    Cluster,
}

#[derive(clap::Args)]
struct Generate {
    /// The table (default: under target/scale-demo/, named by its rows and seed).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Rows.
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// The seed the articles are drawn with.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 65_536)]
    row_group_rows: usize,
    /// The JSON-lines file of articles the rows are drawn from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/reuters21578/train.jsonl"))]
    articles: PathBuf,
}

impl Generate {
    fn path(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/scale-demo"))
                .join(format!("news-{}-seed{}.parquet", self.rows, self.seed))
        })
    }

    /// The table, written first when it is missing.
    fn open_or_write(&self) -> ClusterResult<Table> {
        let path = self.path();
        if !path.exists() {
            eprintln!("scale-demo: writing {} rows to {}", self.rows, path.display());
            self.write()?;
        }
        Ok(Table::open(&path)?)
    }

    fn write(&self) -> ClusterResult<PathBuf> {
        let path = self.path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        generate_table(&self.articles, &path, self.rows, self.seed, self.row_group_rows)?;
        Ok(path)
    }
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

fn run(cli: &Cli) -> ClusterResult<()> {
    let lfs = lf_udf(cli.lfs)?;
    match &cli.command {
        Cmd::Cluster(command) => command.run(&lfs)?,
        Cmd::Generate(generate) => {
            let path = generate.write()?;
            println!("{}", serde_json::json!({ "name": "table_made", "rows": generate.rows, "path": path }));
        }
        Cmd::Run { cluster, table, out } => {
            let engine = connect(cluster, &lfs)?;
            let start = Instant::now();
            let result = run_job(&engine, &Table::open(table)?, out)?;
            let seconds = start.elapsed().as_secs_f64();
            let line = serde_json::json!({
                "items": result.counts.n_items(),
                "patterns": result.counts.patterns.n_items(),
                "seconds": (seconds * 1e3).round() / 1e3,
                "out": out,
            });
            println!("{line}");
        }
        Cmd::Demo { generate, executors, work } => {
            let table = generate.open_or_write()?;
            let cluster = start_cluster(cli.lfs, *executors, work)?;
            let engine = connect(cluster.scheduler(), &lfs)?;
            let start = Instant::now();
            let on_cluster = run_job(&engine, &table, &work.join("probs-cluster.parquet"))?;
            let seconds = start.elapsed().as_secs_f64();
            let executor_mb: Vec<f64> =
                cluster.pids()[1..].iter().map(|&p| (peak_rss_mb_of(p) * 10.0).round() / 10.0).collect();
            let client_mb = (peak_rss_mb() * 10.0).round() / 10.0;
            drop(engine);
            drop(cluster);
            eprintln!("scale-demo: the same job in this process");
            let start = Instant::now();
            let local = run_job(&Engine::local(&lfs, None)?, &table, &work.join("probs-local.parquet"))?;
            let local_seconds = start.elapsed().as_secs_f64();
            let items = on_cluster.counts.n_items();
            let line = serde_json::json!({
                "items": items,
                "executors": executors,
                "seconds": (seconds * 1e3).round() / 1e3,
                "items_per_s": (items as f64 / seconds).round(),
                "identical_to_in_process": on_cluster.identical(&local),
                "patterns": on_cluster.counts.patterns.n_items(),
                "in_process_seconds": (local_seconds * 1e3).round() / 1e3,
                "cluster_seconds_counts_fit_probs": on_cluster.seconds.map(|s| (s * 1e3).round() / 1e3),
                "in_process_seconds_counts_fit_probs": local.seconds.map(|s| (s * 1e3).round() / 1e3),
                "executor_peak_rss_mb": executor_mb,
                "client_peak_rss_mb": client_mb,
            });
            println!("{line}");
        }
        Cmd::Bench { generate, engine, threads, executors, work } => {
            let table = generate.open_or_write()?;
            let mut cluster_mb = None;
            let seconds;
            let start = Instant::now();
            let (counts, name) = match engine {
                BenchEngine::Rayon => {
                    let matrix = apply_rayon(cli.lfs, &table, *threads)?;
                    seconds = start.elapsed().as_secs_f64();
                    (counts_of(&matrix), "rayon")
                }
                BenchEngine::Local => {
                    let counts = Engine::local(&lfs, Some(*threads))?.pattern_counts(&table, COLUMNS)?;
                    seconds = start.elapsed().as_secs_f64();
                    (counts, "datafusion_counts")
                }
                BenchEngine::Cluster => {
                    let cluster = start_cluster(cli.lfs, *executors, work)?;
                    let engine = connect(cluster.scheduler(), &lfs)?;
                    let start = Instant::now();
                    let counts = engine.pattern_counts(&table, COLUMNS)?;
                    // The job's time, without starting the processes.
                    seconds = start.elapsed().as_secs_f64();
                    cluster_mb = Some(
                        cluster.pids()[1..]
                            .iter()
                            .map(|&p| (peak_rss_mb_of(p) * 10.0).round() / 10.0)
                            .collect::<Vec<f64>>(),
                    );
                    (counts, "ballista_counts")
                }
            };
            let rows = counts.n_items();
            let line = serde_json::json!({
                "name": "apply_lfs_table",
                "impl": name,
                "lfs": cli.lfs.name(),
                "rows": rows,
                "threads": if *engine == BenchEngine::Cluster { *executors } else { *threads },
                "n_votes": n_votes(&counts),
                "n_patterns": counts.patterns.n_items(),
                "counts_digest": counts_digest(&counts),
                "seconds": (seconds * 1e3).round() / 1e3,
                "items_per_second": (rows as f64 / seconds).round(),
                "peak_rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
                "executor_peak_rss_mb": cluster_mb,
            });
            println!("{line}");
        }
    }
    Ok(())
}

/// Starts a scheduler and `executors` executors of this binary on 127.0.0.1, with the LFs of
/// `lfs`.
fn start_cluster(lfs: LfChoice, executors: usize, work: &std::path::Path) -> ClusterResult<LocalCluster> {
    let lfs_arg = format!("--lfs={}", lfs.name());
    eprintln!("scale-demo: starting a scheduler and {executors} executors on 127.0.0.1 (logs in {})", work.display());
    LocalCluster::start(&std::env::current_exe()?, &[lfs_arg.as_str()], executors, 30, work)
}
