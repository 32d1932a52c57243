//! Labeling functions over tables larger than one machine: the jobs of `metal-datafusion`
//! (the vote patterns of a table counted by `GROUP BY`, a fitted model's probabilities joined back
//! to its rows) run on a [Ballista](https://datafusion.apache.org/ballista/) cluster whose
//! scheduler and executors are the user's own binary, so the LFs, plain Rust functions, are there.
//!
//! The executors apply the LFs inside their scans and add up the pattern counts of their
//! partitions; what crosses the network is pattern counts (a few bytes per distinct vote pattern)
//! and, for the probabilities, each row's kept columns and vote pattern. The label model is fit
//! in the process that runs the job, on the counts.
//!
//! A binary that is scheduler, executor and job at once, in about ten lines:
//!
//! ```no_run
//! use std::sync::Arc;
//! use clap::Parser;
//! use metal_ballista::{connect, ClusterCommand};
//! use metal_datafusion::{LfUdf, Table};
//! use metal_runtime::prelude::*;
//! # #[task_schema]
//! # pub mod spam {
//! #     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! #     pub enum Spam { Ham, Spam }
//! # }
//! # #[derive(serde::Deserialize)]
//! # pub struct Comment { pub text: String }
//! # #[labeling_function]
//! # fn lf_check_out(c: &Comment) -> Option<spam::Spam> { c.text.contains("check out").then_some(spam::Spam::Spam) }
//! # fn my_lfs() -> LfSet<spam::Schema, Comment> { lfs![lf_check_out] }
//!
//! #[derive(Parser)]
//! enum Cli {
//!     #[command(flatten)]
//!     Cluster(ClusterCommand),
//!     /// Labels a table on the cluster.
//!     Run { #[arg(long)] cluster: String, table: std::path::PathBuf },
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let lfs = LfUdf::new(Arc::new(my_lfs()))?;
//!     match Cli::parse() {
//!         Cli::Cluster(command) => command.run(&lfs)?, // `my-app scheduler`, `my-app executor --scheduler HOST:PORT`
//!         Cli::Run { cluster, table } => {
//!             let engine = connect(&cluster, &lfs)?;
//!             let table = Table::open(table)?;
//!             let counts = engine.pattern_counts(&table, &["text"])?;
//!             let model = HyperHier::default().fit_counts(&counts.patterns, &counts.counts)?;
//!             engine.write_probs(&table, &["text"], &["id"], &model, "probs.parquet")?;
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! The table's path must name the same file on every executor (a shared file system, or an
//! object store URL registered on every process). Every result of a job is checked against the
//! table's row count, taken by the process that runs the job: when an executor dies mid-job,
//! Ballista runs its tasks again on the others, and a job that still lost rows fails with
//! [`TableError::Incomplete`](metal_datafusion::TableError::Incomplete) instead of returning a
//! smaller answer.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use metal_datafusion::datafusion::execution::session_state::SessionStateBuilder;
use metal_datafusion::datafusion::execution::FunctionRegistry;
use metal_datafusion::datafusion::prelude::{SessionConfig, SessionContext};
use metal_datafusion::{Engine, LfUdf, TableError};

/// What can go wrong starting or reaching a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// An address that is not `HOST:PORT`, or that does not resolve.
    #[error("{address}: not a usable address (expected HOST:PORT): {message}")]
    Address {
        /// The address given.
        address: String,
        /// Why it cannot be used.
        message: String,
    },
    /// The scheduler does not answer.
    #[error("cannot reach the scheduler at {address}: {message} (is `scheduler` running there?)")]
    Unreachable {
        /// The scheduler's address.
        address: String,
        /// The operating system's message.
        message: String,
    },
    /// The scheduler or an executor stopped with an error.
    #[error("{role}: {message}")]
    Serve {
        /// `scheduler` or `executor`.
        role: &'static str,
        /// Ballista's message.
        message: String,
    },
    /// A job failed; see [`TableError`].
    #[error(transparent)]
    Table(#[from] TableError),
}

/// How the scheduler runs (`my-app scheduler --bind 0.0.0.0:50050`).
#[derive(Debug, Clone, clap::Args)]
pub struct SchedulerArgs {
    /// The address to listen on for executors and jobs.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub bind: String,
    /// The host name executors and clients reach the scheduler by (default: the bind host).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Seconds without a heartbeat after which an executor is taken for dead and its tasks are
    /// run on the others.
    #[arg(long, default_value_t = 30)]
    pub executor_timeout: u64,
}

/// The arguments `A` takes from an empty command line: the defaults its `#[arg]`s declare.
fn clap_defaults<A: clap::Args + clap::FromArgMatches>() -> A {
    let command = A::augment_args(clap::Command::new("defaults"));
    A::from_arg_matches(&command.get_matches_from(["defaults"])).expect("every argument has a default")
}

impl Default for SchedulerArgs {
    fn default() -> Self {
        clap_defaults()
    }
}

/// How an executor runs (`my-app executor --scheduler HOST:PORT --port 50051`).
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler's address.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// The host to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// The host name the scheduler and the other executors reach this one by (default: the
    /// bind host).
    #[arg(long)]
    pub external_host: Option<String>,
    /// The port other executors and clients fetch this executor's results from.
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// The port the scheduler sends tasks to.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks run at once (0: the number of cores).
    #[arg(long, default_value_t = 0)]
    pub concurrent_tasks: usize,
    /// The folder for this executor's intermediate results (default: a temporary folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 5)]
    pub heartbeat_interval: u64,
}

impl Default for ExecutorArgs {
    fn default() -> Self {
        clap_defaults()
    }
}

/// The cluster roles of a user's binary, as subcommands to flatten into its own command line
/// (`#[command(flatten)]`): `scheduler` and `executor`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ClusterCommand {
    /// Runs this binary as the cluster's scheduler, until it is stopped.
    Scheduler(SchedulerArgs),
    /// Runs this binary as one of the cluster's executors, until it is stopped.
    Executor(ExecutorArgs),
}

impl ClusterCommand {
    /// Runs the role with the LFs of `lfs` (the ones every process of the cluster and the
    /// jobs use); blocks until the process is stopped.
    ///
    /// # Errors
    /// What [`run_scheduler`] or [`run_executor`] raises.
    pub fn run(&self, lfs: &LfUdf) -> Result<(), ClusterError> {
        match self {
            ClusterCommand::Scheduler(args) => run_scheduler(args, lfs),
            ClusterCommand::Executor(args) => run_executor(args, lfs),
        }
    }
}

/// `HOST:PORT` as a socket address.
fn socket_addr(address: &str) -> Result<SocketAddr, ClusterError> {
    let bad = |message: String| ClusterError::Address { address: address.to_owned(), message };
    address.to_socket_addrs().map_err(|e| bad(e.to_string()))?.next().ok_or_else(|| bad("no address".into()))
}

/// The host and port of `HOST:PORT`.
fn host_port(address: &str) -> Result<(String, u16), ClusterError> {
    let bad = |message: &str| ClusterError::Address { address: address.to_owned(), message: message.to_owned() };
    let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port = port.parse::<u16>().map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
}

/// The runtime the roles and the jobs run on: Ballista's plans recurse deeply, so its threads
/// get large stacks, as Ballista's own binaries give them.
fn runtime(role: &'static str) -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .map_err(|e| ClusterError::Serve { role, message: format!("cannot start the async runtime: {e}") })
}

/// Runs the scheduler: it takes jobs from clients ([`connect`]), cuts their plans into stages
/// and hands the tasks to the executors. The scheduler plans the jobs' queries, so it registers
/// the LF function of `lfs`. Prints the address it listens on to stderr, then blocks.
///
/// # Errors
/// [`ClusterError::Address`] for a bad `bind`; [`ClusterError::Serve`] when the scheduler cannot
/// listen there or stops with an error.
pub fn run_scheduler(args: &SchedulerArgs, lfs: &LfUdf) -> Result<(), ClusterError> {
    let addr = socket_addr(&args.bind)?;
    let serve = |e: &dyn std::fmt::Display| ClusterError::Serve { role: "scheduler", message: e.to_string() };
    let (bind_host, _) = host_port(&args.bind)?;
    let udf = Arc::new(lfs.udf().clone());
    let session_builder = Arc::new(move |config: SessionConfig| {
        let mut state = default_session_builder(config)?;
        state.register_udf(udf.clone())?;
        Ok(state)
    });
    let timeout = args.executor_timeout.max(1);
    let config = SchedulerConfig {
        external_host: args.external_host.clone().unwrap_or_else(|| bind_host.clone()),
        bind_host,
        bind_port: addr.port(),
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 3).clamp(1, 15),
        no_executors_grace_period_seconds: timeout,
        ..SchedulerConfig::default()
    }
    .with_override_session_builder(session_builder);
    let runtime = runtime("scheduler")?;
    runtime.block_on(async {
        let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| serve(&e))?;
        eprintln!("scheduler: listening on {addr}");
        start_server(cluster, addr, Arc::new(config)).await.map_err(|e| serve(&e))
    })
}

/// Runs an executor: it registers with the scheduler at `args.scheduler`, runs the tasks it is
/// given (the LFs inside its scans, partial pattern counts) and serves their results to the
/// other executors and the client. The LF function of `lfs` is added to the functions its tasks
/// can call. Prints where it listens to stderr, then blocks.
///
/// # Errors
/// [`ClusterError::Address`] for a bad scheduler address; [`ClusterError::Serve`] when the
/// executor cannot start or stops with an error.
pub fn run_executor(args: &ExecutorArgs, lfs: &LfUdf) -> Result<(), ClusterError> {
    let (scheduler_host, scheduler_port) = host_port(&args.scheduler)?;
    let serve = |e: &dyn std::fmt::Display| ClusterError::Serve { role: "executor", message: e.to_string() };
    let mut functions = BallistaFunctionRegistry::default();
    functions.scalar_functions.insert(LfUdf::NAME.to_owned(), Arc::new(lfs.udf().clone()));
    let config = ExecutorProcessConfig {
        bind_host: args.bind_host.clone(),
        external_host: Some(args.external_host.clone().unwrap_or_else(|| args.bind_host.clone())),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host,
        scheduler_port,
        vcores: args.concurrent_tasks,
        work_dir: args.work_dir.as_ref().map(|p| p.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: args.heartbeat_interval.max(1),
        override_function_registry: Some(Arc::new(functions)),
        ..ExecutorProcessConfig::default()
    };
    let runtime = runtime("executor")?;
    eprintln!(
        "executor: listening on {}:{} (results) and :{} (tasks), scheduler {}",
        args.bind_host, args.port, args.grpc_port, args.scheduler
    );
    runtime.block_on(start_executor_process(Arc::new(config))).map_err(|e| serve(&e))
}

/// An [`Engine`] whose jobs run on the cluster whose scheduler is at `scheduler` (`HOST:PORT`),
/// with the LFs of `lfs` (the scheduler and the executors must have been started with the same
/// ones). Checks that the scheduler answers; every job's result is checked against the table's
/// row count (see [`Engine::remote`]).
///
/// # Errors
/// [`ClusterError::Address`] for a bad address, [`ClusterError::Unreachable`] when nothing
/// listens there.
pub fn connect(scheduler: &str, lfs: &LfUdf) -> Result<Engine, ClusterError> {
    connect_with_partitions(scheduler, lfs, DEFAULT_PARTITIONS)
}

/// The partitions a table's scan is cut into on a cluster by [`connect`]: the tasks of the
/// stage that applies the LFs.
pub const DEFAULT_PARTITIONS: usize = 16;

/// [`connect`], with the table scans cut into `partitions` parts (tasks): at least the cluster's
/// task slots (executors × `--concurrent-tasks`), so that every slot has work.
///
/// # Errors
/// As [`connect`].
pub fn connect_with_partitions(scheduler: &str, lfs: &LfUdf, partitions: usize) -> Result<Engine, ClusterError> {
    let addr = socket_addr(scheduler)?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| ClusterError::Unreachable { address: scheduler.to_owned(), message: e.to_string() })?;
    let runtime = runtime("client")?;
    let config = SessionConfig::new_with_ballista().with_target_partitions(partitions.max(1));
    let state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    let url = format!("df://{scheduler}");
    let ctx = runtime
        .block_on(SessionContext::remote_with_state(&url, state))
        .map_err(|e| ClusterError::Unreachable { address: scheduler.to_owned(), message: e.to_string() })?;
    Ok(Engine::remote(runtime, ctx, lfs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_command_line_defaults() {
        let s = SchedulerArgs::default();
        assert_eq!((s.bind.as_str(), s.external_host, s.executor_timeout), ("127.0.0.1:50050", None, 30));
        let e = ExecutorArgs::default();
        assert_eq!(
            (e.scheduler.as_str(), e.port, e.grpc_port, e.heartbeat_interval),
            ("127.0.0.1:50050", 50051, 50052, 5)
        );
    }

    #[test]
    fn addresses_are_host_and_port() {
        assert_eq!(host_port("127.0.0.1:50050").unwrap(), ("127.0.0.1".to_owned(), 50050));
        assert_eq!(host_port("[::1]:7").unwrap(), ("::1".to_owned(), 7));
        for bad in ["localhost", ":50050", "host:port", "host:70000"] {
            let err = host_port(bad).unwrap_err();
            assert!(matches!(err, ClusterError::Address { .. }), "{bad}: {err}");
            assert!(err.to_string().starts_with(bad), "{err}");
        }
    }

    #[test]
    fn a_scheduler_that_is_not_there_is_named() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let lfs = test_udf();
        let err = connect(&format!("127.0.0.1:{port}"), &lfs).unwrap_err();
        assert!(matches!(err, ClusterError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(matches!(connect("nowhere", &lfs).unwrap_err(), ClusterError::Address { .. }));
    }

    // A user's schema and LFs, public as they would be in the user's crate.
    #[allow(unreachable_pub)]
    mod spam {
        use metal_runtime::prelude::*;

        #[task_schema]
        pub mod schema {
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum Spam {
                Ham,
                Spam,
            }
        }

        #[derive(serde::Deserialize)]
        pub struct Comment {
            pub text: String,
        }

        #[labeling_function]
        fn lf_check_out(c: &Comment) -> Option<schema::Spam> {
            c.text.contains("check out").then_some(schema::Spam::Spam)
        }

        pub fn lfs() -> LfSet<schema::Schema, Comment> {
            lfs![lf_check_out]
        }
    }

    fn test_udf() -> LfUdf {
        LfUdf::new(Arc::new(spam::lfs())).unwrap()
    }
}
