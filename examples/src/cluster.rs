//! The news LFs on a Ballista cluster on this machine (feature `cluster`): a seeded table of
//! news-like rows, the cluster's scheduler and executors started as child processes of a binary
//! that has the same LFs (`scale-demo`), and a job's result compared with the same job in this
//! process. `scale-demo`, its benchmark and the cluster tests use it.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metal_datafusion::datafusion::arrow::array::{Array, Float64Array, UInt64Array};
use metal_datafusion::datafusion::arrow::datatypes::{FieldRef, Schema};
use metal_datafusion::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use metal_datafusion::datafusion::parquet::arrow::ArrowWriter;
use metal_datafusion::datafusion::parquet::file::properties::WriterProperties;
use metal_datafusion::serde_arrow::schema::{SchemaLike, TracingOptions};
use metal_datafusion::{Engine, LfUdf, PatternCounts, Table, TableError};
use metal_runtime::prelude::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::news::regex_lfs::{self, Story};

/// The errors of this module: a message that names the file or process.
pub type ClusterResult<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The columns the LFs read.
pub const COLUMNS: &[&str] = &["title", "text"];
/// The column kept beside the probabilities.
pub const KEY: &str = "id";

/// Which LF set a job runs; every process of a cluster must run the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LfChoice {
    /// The news pipeline's 20 LFs on Topic → Corporate | Markets.
    News,
    /// The fifteen regular-expression LFs of the LF-application benchmark (the ones compared
    /// with snorkel's `PandasLFApplier`).
    Regex15,
}

impl LfChoice {
    /// The name `--lfs` takes.
    pub fn name(self) -> &'static str {
        match self {
            LfChoice::News => "news",
            LfChoice::Regex15 => "regex15",
        }
    }
}

/// The news LFs' preparation step of a table row.
fn prepare_story(s: &Story) -> crate::news::lfs::Prepared {
    crate::news::lfs::prepare_text(&s.title, &s.text)
}

/// The LF function of `choice`, reading the columns [`COLUMNS`] as a [`Story`].
///
/// # Errors
/// What [`LfUdf::prepared`] raises.
pub fn lf_udf(choice: LfChoice) -> Result<LfUdf, TableError> {
    match choice {
        LfChoice::News => LfUdf::prepared(Arc::new(crate::news::lfs::all_lfs()), prepare_story),
        LfChoice::Regex15 => LfUdf::prepared(Arc::new(regex_lfs::all_lfs()), regex_lfs::prepare),
    }
}

/// Labels the rows of `table` in this process's thread pool of `threads` (the label matrix in
/// memory, as `apply_table_prepared` gives it).
///
/// # Errors
/// What `apply_table_prepared` raises.
pub fn apply_rayon(choice: LfChoice, table: &Table, threads: usize) -> Result<LabelMatrix, TableError> {
    let config = ApplyConfig { progress: false, threads: Some(threads), ..ApplyConfig::default() };
    let (matrix, _) = match choice {
        LfChoice::News => {
            metal_datafusion::apply_table_prepared(&crate::news::lfs::all_lfs(), table, prepare_story, &config)?
        }
        LfChoice::Regex15 => {
            metal_datafusion::apply_table_prepared(&regex_lfs::all_lfs(), table, regex_lfs::prepare, &config)?
        }
    };
    Ok(matrix)
}

/// The distinct rows of `matrix` with their counts, in the order [`Engine::pattern_counts`]
/// gives them (by their [`encode_votes`](metal_datafusion::encode_votes) bytes).
pub fn counts_of(matrix: &LabelMatrix) -> PatternCounts {
    let mut seen: std::collections::HashMap<Vec<u8>, (usize, u64)> = std::collections::HashMap::new();
    let mut buf = Vec::new();
    for i in 0..matrix.n_items() {
        let (lfs, labels) = matrix.row_slices(i);
        buf.clear();
        metal_datafusion::encode_votes(lfs, labels, &mut buf);
        seen.entry(buf.clone()).or_insert((i, 0)).1 += 1;
    }
    let mut rows: Vec<(Vec<u8>, (usize, u64))> = seen.into_iter().collect();
    rows.sort_unstable();
    let firsts: Vec<usize> = rows.iter().map(|r| r.1 .0).collect();
    PatternCounts { patterns: matrix.select_items(&firsts), counts: rows.iter().map(|r| r.1 .1).collect() }
}

/// A digest of pattern counts: equal digests in one build are equal counts (to compare the
/// benchmark's engines line by line).
pub fn counts_digest(counts: &PatternCounts) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for p in 0..counts.patterns.n_items() {
        counts.patterns.row_slices(p).hash(&mut h);
        counts.counts[p].hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// The votes the counted rows cast.
pub fn n_votes(counts: &PatternCounts) -> u64 {
    (0..counts.patterns.n_items()).map(|p| counts.patterns.row_slices(p).0.len() as u64 * counts.counts[p]).sum()
}

/// One row of the generated table.
#[derive(Serialize, Deserialize)]
struct Row<'a> {
    id: u64,
    title: &'a str,
    text: &'a str,
}

/// Writes `rows` news-like rows to the Parquet file `out`: row `i` is `id = i` and the title and
/// text of an article of `articles` (a JSON-lines file of [`Story`]s) drawn with `seed`, in row
/// groups of `row_group_rows`. Written through a temporary file renamed into place.
///
/// # Errors
/// A message naming the file when `articles` cannot be read or has no article, or `out` cannot
/// be written.
pub fn generate_table(articles: &Path, out: &Path, rows: u64, seed: u64, row_group_rows: usize) -> ClusterResult<()> {
    let stories: Vec<Story> = BufReader::new(File::open(articles).map_err(|e| format!("{}: {e}", articles.display()))?)
        .lines()
        .enumerate()
        .map(|(i, l)| -> ClusterResult<Story> {
            let l = l.map_err(|e| format!("{}: {e}", articles.display()))?;
            Ok(serde_json::from_str(&l).map_err(|e| format!("{}, line {}: {e}", articles.display(), i + 1))?)
        })
        .collect::<ClusterResult<_>>()?;
    if stories.is_empty() {
        return Err(format!("{}: no article", articles.display()).into());
    }
    let fields = Vec::<FieldRef>::from_type::<Row<'_>>(TracingOptions::default())?;
    let schema = Arc::new(Schema::new(fields.clone()));
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(row_group_rows.max(1))).build();
    let tmp = out.with_extension("parquet.tmp");
    let written = (|| -> ClusterResult<()> {
        let mut writer = ArrowWriter::try_new(File::create(&tmp)?, schema, Some(props))?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut id = 0u64;
        while id < rows {
            let n = (rows - id).min(row_group_rows.max(1) as u64);
            let batch: Vec<Row<'_>> = (id..id + n)
                .map(|i| {
                    let s = &stories[rng.gen_range(0..stories.len())];
                    Row { id: i, title: &s.title, text: &s.text }
                })
                .collect();
            writer.write(&metal_datafusion::serde_arrow::to_record_batch(&fields, &batch)?)?;
            id += n;
        }
        writer.close()?;
        std::fs::rename(&tmp, out)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", out.display()).into());
    }
    Ok(())
}

/// What a job gives: the pattern counts and each row's probabilities, by id.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// The vote patterns with their counts.
    pub counts: PatternCounts,
    /// `(id, probabilities)` of every row, in id order.
    pub probs: Vec<(u64, Vec<f64>)>,
    /// Seconds of the pattern counts, of the fit, and of the probabilities (written and read
    /// back).
    pub seconds: [f64; 3],
}

impl JobResult {
    /// True if both results are the same bit for bit: the same patterns with the same counts,
    /// and the same probabilities for every id.
    pub fn identical(&self, other: &JobResult) -> bool {
        let bits = |p: &[(u64, Vec<f64>)]| -> Vec<(u64, Vec<u64>)> {
            p.iter().map(|(id, v)| (*id, v.iter().map(|x| x.to_bits()).collect())).collect()
        };
        self.counts == other.counts && bits(&self.probs) == bits(&other.probs)
    }
}

/// Runs the job on `engine`: counts the vote patterns of `table`, fits the default label model
/// on the counts, writes every row's id and probabilities to `out`, and reads them back in id
/// order.
///
/// # Errors
/// What the engine or the fit raises; a message naming `out` when it cannot be read back.
pub fn run_job(engine: &Engine, table: &Table, out: &Path) -> ClusterResult<JobResult> {
    let start = Instant::now();
    let counts = engine.pattern_counts(table, COLUMNS)?;
    let counted = start.elapsed().as_secs_f64();
    let model = HyperHier::default().fit_counts(&counts.patterns, &counts.counts)?;
    let fitted = start.elapsed().as_secs_f64();
    engine.write_probs(table, COLUMNS, &[KEY], &model, out)?;
    let probs = read_probs(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let seconds = [counted, fitted - counted, start.elapsed().as_secs_f64() - fitted];
    Ok(JobResult { counts, probs, seconds })
}

/// The `(id, probabilities)` rows of a file written by [`Engine::write_probs`] with the key
/// [`KEY`], in id order.
fn read_probs(path: &Path) -> ClusterResult<Vec<(u64, Vec<f64>)>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?.build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let ids = batch.column(0).as_any().downcast_ref::<UInt64Array>().ok_or("the id column is not u64")?;
        let columns: Vec<&Float64Array> = batch.columns()[1..]
            .iter()
            .map(|c| c.as_any().downcast_ref::<Float64Array>().ok_or("a probability column is not f64"))
            .collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            rows.push((ids.value(i), columns.iter().map(|c| c.value(i)).collect()));
        }
    }
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows)
}

/// A free TCP port on 127.0.0.1 (bound, then released: another process could take it first,
/// which the start of a process then reports).
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// A scheduler and executors on 127.0.0.1, each a child process of a binary whose `scheduler`
/// and `executor` subcommands are [`metal_ballista::ClusterCommand`] with the same LFs. Dropping
/// it stops them.
pub struct LocalCluster {
    scheduler: String,
    processes: Vec<Child>,
    /// Where each process writes its log and its executors their intermediate results.
    dir: PathBuf,
}

impl LocalCluster {
    /// Starts `bin <args> scheduler` and `executors` × `bin <args> executor` (one task at a time
    /// each), their logs and work folders under `dir`, and waits until every one listens.
    /// `executor_timeout` is the scheduler's seconds without a heartbeat before an executor is
    /// taken for dead.
    ///
    /// # Errors
    /// A message naming the process when one cannot start, exits, or does not listen within 60 s.
    pub fn start(
        bin: &Path,
        args: &[&str],
        executors: usize,
        executor_timeout: u64,
        dir: &Path,
    ) -> ClusterResult<LocalCluster> {
        std::fs::create_dir_all(dir)?;
        let ports = free_ports(1 + 2 * executors)?;
        let scheduler = format!("127.0.0.1:{}", ports[0]);
        let mut cluster = LocalCluster { scheduler: scheduler.clone(), processes: Vec::new(), dir: dir.to_path_buf() };
        let timeout = executor_timeout.to_string();
        cluster.spawn(bin, args, "scheduler", &["scheduler", "--bind", &scheduler, "--executor-timeout", &timeout])?;
        cluster.wait_listening("scheduler", ports[0])?;
        for e in 0..executors {
            let (port, grpc) = (ports[1 + 2 * e].to_string(), ports[2 + 2 * e].to_string());
            let work = dir.join(format!("executor-{e}"));
            std::fs::create_dir_all(&work)?;
            let work = work.to_string_lossy().into_owned();
            let name = format!("executor-{e}");
            let role = [
                "executor",
                "--scheduler",
                &scheduler,
                "--port",
                &port,
                "--grpc-port",
                &grpc,
                "--concurrent-tasks",
                "1",
                "--work-dir",
                &work,
                "--heartbeat-interval",
                "1",
            ];
            cluster.spawn(bin, args, &name, &role)?;
        }
        for e in 0..executors {
            cluster.wait_listening(&format!("executor-{e}"), ports[1 + 2 * e])?;
            cluster.wait_listening(&format!("executor-{e}"), ports[2 + 2 * e])?;
        }
        // The executors register with the scheduler once they listen; give it a heartbeat.
        std::thread::sleep(Duration::from_secs(2));
        Ok(cluster)
    }

    fn spawn(&mut self, bin: &Path, args: &[&str], name: &str, role: &[&str]) -> ClusterResult<()> {
        let log = File::create(self.dir.join(format!("{name}.log")))?;
        let child = Command::new(bin)
            .args(args)
            .args(role)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: cannot start the {name}: {e}", bin.display()))?;
        self.processes.push(child);
        Ok(())
    }

    /// Waits until 127.0.0.1:`port` accepts connections, checking that the processes still run.
    fn wait_listening(&mut self, name: &str, port: u16) -> ClusterResult<()> {
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            for child in &mut self.processes {
                if let Some(status) = child.try_wait()? {
                    let log = self.dir.join(format!("{name}.log"));
                    return Err(format!("the {name} exited ({status}) before listening; see {}", log.display()).into());
                }
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("the {name} does not listen on port {port} after 60 s").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The scheduler's address, `127.0.0.1:PORT`.
    pub fn scheduler(&self) -> &str {
        &self.scheduler
    }

    /// The process ids: the scheduler's, then the executors'.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(Child::id).collect()
    }

    /// Kills executor `e` (`SIGKILL`: no goodbye to the scheduler).
    ///
    /// # Errors
    /// When there is no such executor or it cannot be killed.
    pub fn kill_executor(&mut self, e: usize) -> ClusterResult<()> {
        let child = self.processes.get_mut(1 + e).ok_or("no such executor")?;
        child.kill()?;
        child.wait()?;
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in self.processes.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
