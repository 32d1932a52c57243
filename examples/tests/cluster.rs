//! The news LFs on a Ballista cluster of separate processes on 127.0.0.1 (the `scale-demo`
//! binary as scheduler and two executors): the pattern counts and every row's probabilities
//! equal the same job in this process, also when an executor is killed in the middle of it.

use std::path::Path;
use std::time::{Duration, Instant};

use metal_datafusion::{Engine, Table};
use metal_examples::cluster::{generate_table, lf_udf, run_job, JobResult, LfChoice, LocalCluster};

const BIN: &str = env!("CARGO_BIN_EXE_scale-demo");

fn articles() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/reuters21578/train.jsonl"))
}

/// The seeded table and the job's result in this process.
fn table_and_local(dir: &Path, rows: u64, row_group_rows: usize) -> (Table, JobResult) {
    let path = dir.join("news.parquet");
    generate_table(articles(), &path, rows, 7, row_group_rows).unwrap();
    let table = Table::open(&path).unwrap();
    let lfs = lf_udf(LfChoice::News).unwrap();
    let local = run_job(&Engine::local(&lfs, Some(2)).unwrap(), &table, &dir.join("local.parquet")).unwrap();
    assert_eq!(local.counts.n_items(), rows);
    assert_eq!(local.probs.len() as u64, rows);
    (table, local)
}

/// Whether a folder holds a file, at any depth.
fn holds_a_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            holds_a_file(&p)
        } else {
            true
        }
    })
}

#[test]
fn a_cluster_of_two_executor_processes_gives_the_in_process_result() {
    let dir = tempfile::tempdir().unwrap();
    let (table, local) = table_and_local(dir.path(), 20_000, 2_000);
    let cluster = LocalCluster::start(Path::new(BIN), &["--lfs=news"], 2, 30, &dir.path().join("cluster")).unwrap();
    let lfs = lf_udf(LfChoice::News).unwrap();
    let engine = metal_ballista::connect(cluster.scheduler(), &lfs).unwrap();
    let remote = run_job(&engine, &table, &dir.path().join("remote.parquet")).unwrap();
    assert_eq!(remote.counts, local.counts);
    assert!(remote.identical(&local), "the probabilities differ from the in-process run");
    // Both executors ran tasks: each wrote intermediate results.
    for e in 0..2 {
        assert!(holds_a_file(&dir.path().join(format!("cluster/executor-{e}"))), "executor {e} ran no task");
    }
}

#[test]
fn an_executor_killed_mid_job_gives_the_same_result_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (table, local) = table_and_local(dir.path(), 60_000, 2_000);
    let mut cluster = LocalCluster::start(Path::new(BIN), &["--lfs=news"], 2, 5, &dir.path().join("cluster")).unwrap();
    let lfs = lf_udf(LfChoice::News).unwrap();
    let engine = metal_ballista::connect(cluster.scheduler(), &lfs).unwrap();
    let out = dir.path().join("remote.parquet");
    let (result, killed_at, ended_at) = std::thread::scope(|s| {
        let start = Instant::now();
        let job = s.spawn(|| {
            let result = run_job(&engine, &table, &out);
            (result, Instant::now())
        });
        // Kill executor 0 once it has finished a task (its output now lives only there).
        let work = dir.path().join("cluster/executor-0");
        while !holds_a_file(&work) && start.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(20));
        }
        cluster.kill_executor(0).unwrap();
        let killed_at = Instant::now();
        let (result, ended_at) = job.join().unwrap();
        eprintln!(
            "executor 0 killed {:.1} s into the job; the job ended after {:.1} s",
            (killed_at - start).as_secs_f64(),
            (ended_at - start).as_secs_f64()
        );
        (result, killed_at, ended_at)
    });
    assert!(ended_at > killed_at, "the job ended before the executor was killed: the test did not test a fault");
    match result {
        Ok(remote) => assert!(remote.identical(&local), "after the fault the result differs from the in-process run"),
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            assert!(!out.exists(), "a failed job left {}", out.display());
            eprintln!("the job failed with: {message}");
        }
    }
}
