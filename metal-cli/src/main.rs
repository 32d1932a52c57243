//! `metal`: label models from the command line, for label matrices exported from Python.
//!
//! ```text
//! metal label-model --problem DIR [--model hyper-hier|hyper|hier|hier-sym|hier-cc|hier-paper|soft-mv|mv|mc|mc-snorkel|triplet] [--seed S] [--threads N] [--out probs.npy]
//! metal generate OUT [--shape flat|tree] [--k K] [--spec SPEC] [--lfs-per-task N[,N...]] [--n-train N] [--n-test N] [--seed S]
//! ```
//!
//! `DIR` is a synthetic problem (`schema.json`, `L_train.npy`, optional `L_test.npy`, `Y_test.npy`)
//! or a WRENCH dataset folder (`source_label.json`, `train.jsonl`, `valid.jsonl`, `test.jsonl`). The
//! chosen model is fit on the training matrix; its probabilistic labels for the training items are
//! written as a float64 `.npy` (n × K), and one JSON line reports the fit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use metal_runtime::error::{GenerateError, IoError, LabelModelError};
use metal_runtime::io::generate::{generate, Balance, GenerateConfig};
use metal_runtime::io::{npy, synthetic::Problem, wrench};
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::{
    ClassBalance, DevLabels, FittedLabelModel, Hierarchical, HyperHier, HyperLabelModel, LabelModel, LfModel,
    MajorityVote, MatrixCompletion, ModelSelection, Triplet,
};
use serde::Serialize;

#[derive(Parser)]
#[command(name = "metal", version, about = "Weak supervision label models (Snorkel MeTaL in Rust)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a label model on a problem's training label matrix.
    LabelModel(LabelModelArgs),
    /// Write a synthetic problem folder (the format `label-model --problem` reads).
    Generate(GenerateArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shape {
    Flat,
    Tree,
}

/// `metal generate`: the settings of `gen_synthetic.py`, with its defaults.
#[derive(clap::Args)]
struct GenerateArgs {
    /// The problem folder to write (created if missing).
    out: PathBuf,
    /// One task (`--k`) or a hierarchy (`--spec`).
    #[arg(long, value_enum, default_value = "flat")]
    shape: Shape,
    /// Number of classes of a flat problem.
    #[arg(long, default_value_t = 2)]
    k: usize,
    /// The hierarchy of a tree problem: `2:2,2` (a root of 2 labels, each with a child task of 2),
    /// `4:3,3,3,3`, `2:(2:3,3),2` (three levels).
    #[arg(long, default_value = "2:2,2")]
    spec: String,
    /// LFs per task: one count, or one per task in breadth-first order (comma-separated).
    #[arg(long, default_value = "10", value_delimiter = ',')]
    lfs_per_task: Vec<usize>,
    /// Training items.
    #[arg(long, default_value_t = 10_000)]
    n_train: usize,
    /// Test items.
    #[arg(long, default_value_t = 10_000)]
    n_test: usize,
    /// Seed of everything drawn.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Prior over the end labels: `mild` (geometric, max/min 1.5), `uniform`, `ratio:R`, or one
    /// weight per end label (comma-separated).
    #[arg(long, default_value = "mild")]
    class_balance: String,
    /// Range of the LFs' accuracies, `lo,hi`.
    #[arg(long, default_value = "0.55,0.9")]
    acc_range: String,
    /// Range of the LFs' propensities, `lo,hi`.
    #[arg(long, default_value = "0.05,0.5")]
    prop_range: String,
    /// Firing-probability factor where an LF's task does not apply.
    #[arg(long, default_value_t = 0.1)]
    offtopic: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum ModelKind {
    /// Hierarchical majority vote (flat majority vote on one task).
    Mv,
    /// The hierarchical generative model, extended form (class prior, off-task propensities).
    Hier,
    /// The extended hierarchical model with the paper's symmetric per-LF parameters.
    HierSym,
    /// The extended hierarchical model with a full class-conditional table per LF.
    HierCc,
    /// The hierarchical generative model in the paper's exact form.
    HierPaper,
    /// The paper's model at fixed weights, untrained.
    SoftMv,
    /// The matrix-completion model (snorkel / snorkel-metal `LabelModel`), learned class balance.
    Mc,
    /// The matrix-completion model with snorkel's settings (uniform class balance, no penalty).
    McSnorkel,
    /// The Hyper Label Model: a pretrained graph network, no fitting (Wu et al., ICLR 2023).
    Hyper,
    /// FlyingSquid's triplet method: LF accuracies in closed form from pairwise agreements.
    Triplet,
    /// The default: the hierarchical generative model with its parameters estimated from the
    /// Hyper Label Model's probabilities (one M-step).
    HyperHier,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BalanceArg {
    Learned,
    Uniform,
    Valid,
}

#[derive(clap::Args)]
struct LabelModelArgs {
    /// Problem folder: synthetic (schema.json + L_train.npy) or WRENCH (train.jsonl ...).
    #[arg(long)]
    problem: PathBuf,
    /// Which label model to fit.
    #[arg(long, value_enum, default_value = "hyper-hier")]
    model: ModelKind,
    /// Seed for tie-breaking in predictions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<std::num::NonZeroUsize>,
    /// Where to write the training items' probabilistic labels (float64 .npy, n × K).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Class balance of the trained models: learned from the data, uniform, or estimated from the
    /// dev labels (`L_dev.npy`/`Y_dev.npy`, or a WRENCH folder's validation split).
    #[arg(long, value_enum, default_value = "learned")]
    class_balance: BalanceArg,
    /// Most epochs of the trained models (at least 1); for hyper-hier, the EM iterations after
    /// its M-step (default 0).
    #[arg(long)]
    epochs: Option<usize>,
    /// Use the problem's dev labels (`L_dev.npy` and `Y_dev.npy`, or a WRENCH folder's
    /// validation split): fit the default candidates and keep the one most accurate on them
    /// (`--model` is then ignored).
    #[arg(long)]
    dev: bool,
}

/// The JSON line printed after a fit.
#[derive(Serialize)]
struct Summary {
    name: &'static str,
    /// The `--model` name, or `dev-selection` with `--dev`.
    model: String,
    problem: String,
    n_train: usize,
    m: usize,
    k: usize,
    n_patterns: usize,
    epochs: usize,
    fit_seconds: f64,
    peak_rss_mb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_accuracy: Option<f64>,
    /// With `--dev`: the model kept, and each candidate's accuracy on the dev labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dev_accuracies: Option<Vec<(String, f64)>>,
    /// Accuracy on the training items, when their gold labels are known (`Y_train.npy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lf_accuracy_mae: Option<f64>,
}

/// Peak resident memory of this process, in MiB (Linux `VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Loaded {
    train: LabelMatrix,
    /// `schema.json`'s end-label numbering, when it is not the graph's.
    end_label_order: Option<Vec<usize>>,
    y_train: Option<Vec<usize>>,
    /// Dev items' votes and gold end labels.
    dev: Option<(LabelMatrix, Vec<usize>)>,
    test: Option<(LabelMatrix, Vec<usize>)>,
    true_accuracy: Option<Vec<f64>>,
}

fn load(dir: &Path) -> metal_runtime::Result<Loaded> {
    if dir.join("schema.json").exists() {
        let p = Problem::load(dir)?;
        let test = match (p.test, p.y_test) {
            (Some(l), Some(y)) => Some((l, y)),
            _ => None,
        };
        let (l_dev, y_dev) = (dir.join("L_dev.npy"), dir.join("Y_dev.npy"));
        let dev = match (l_dev.exists(), y_dev.exists()) {
            (true, true) => {
                let m = npy::read_label_matrix(&l_dev, p.train.graph_arc().clone(), p.train.lfs().to_vec())?;
                let k = p.train.graph().n_end_labels();
                let mut labels = Vec::with_capacity(m.n_items());
                for (item, y) in npy::read_labels_1d(&y_dev)?.into_iter().enumerate() {
                    match usize::try_from(y) {
                        Ok(y) if y < k => labels.push(y),
                        _ => {
                            return Err(IoError::GoldLabelOutOfRange {
                                path: y_dev,
                                line: None,
                                item,
                                label: y,
                                n_labels: k,
                            }
                            .into())
                        }
                    }
                }
                if labels.len() != m.n_items() {
                    return Err(IoError::CountMismatch {
                        path: y_dev,
                        line: None,
                        what: "gold labels (one per row of L_dev.npy)".into(),
                        expected: m.n_items(),
                        found: labels.len(),
                    }
                    .into());
                }
                Some((m, labels))
            }
            (false, false) => None,
            _ => {
                let path = if l_dev.exists() { y_dev } else { l_dev };
                return Err(IoError::Malformed {
                    path,
                    line: None,
                    message: "dev labels need both `L_dev.npy` and `Y_dev.npy`; this one is missing".into(),
                }
                .into());
            }
        };
        Ok(Loaded {
            train: p.train,
            end_label_order: p.end_label_order,
            y_train: p.y_train,
            dev,
            test,
            true_accuracy: p.lf_accuracy,
        })
    } else if dir.join("source_label.json").exists() {
        let d = wrench::Dataset::load(dir)?;
        Ok(Loaded {
            y_train: Some(d.train.labels),
            end_label_order: None,
            train: d.train.matrix,
            dev: (!d.valid.is_empty()).then_some((d.valid.matrix, d.valid.labels)),
            test: Some((d.test.matrix, d.test.labels)),
            true_accuracy: None,
        })
    } else {
        let message = if dir.is_dir() {
            "not a problem folder: it has neither `schema.json` (a synthetic problem, with `L_train.npy`) nor \
             `source_label.json` (a WRENCH dataset, with `train.jsonl`, `valid.jsonl`, `test.jsonl`)"
        } else if dir.exists() {
            "not a folder; `--problem` takes a problem folder"
        } else {
            "no such folder"
        };
        Err(IoError::Malformed { path: dir.to_path_buf(), line: None, message: message.into() }.into())
    }
}

/// Files of a problem folder that `--out` must not replace.
const INPUT_FILES: &[&str] = &[
    "schema.json",
    "L_train.npy",
    "L_test.npy",
    "L_dev.npy",
    "Y_train.npy",
    "Y_test.npy",
    "Y_dev.npy",
    "Ytask_train.npy",
    "Ytask_test.npy",
    "source_label.json",
    "train.jsonl",
    "valid.jsonl",
    "test.jsonl",
];

/// An error when `out` is one of the problem folder's input files.
fn check_out(out: &Path, problem: &Path) -> metal_runtime::Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (Ok(out_dir), Ok(problem)) = (dir.canonicalize(), problem.canonicalize()) else {
        return Ok(());
    };
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if out_dir == problem && INPUT_FILES.contains(&name) {
        return Err(IoError::Malformed {
            path: out.to_path_buf(),
            line: None,
            message: "refusing to write the probabilities over an input file of the problem; choose another --out"
                .into(),
        }
        .into());
    }
    Ok(())
}

fn label_model(args: &LabelModelArgs) -> metal_runtime::Result<Summary> {
    if let Some(out) = &args.out {
        check_out(out, &args.problem)?;
    }
    let data = load(&args.problem)?;
    let train = &data.train;
    let empty = |what: &str| IoError::Malformed {
        path: args.problem.clone(),
        line: None,
        message: format!("the training label matrix has no {what}; there is nothing to fit"),
    };
    if train.n_items() == 0 {
        return Err(empty("item").into());
    }
    if train.n_lfs() == 0 {
        return Err(empty("LF").into());
    }
    let mut m = Models {
        hier: Hierarchical::default(),
        paper: Hierarchical::paper(),
        mc: MatrixCompletion::default(),
        mc_snorkel: MatrixCompletion::snorkel(),
        hyper_hier: HyperHier::default(),
        triplet: Triplet::default(),
    };
    let trained = matches!(
        args.model,
        ModelKind::Hier
            | ModelKind::HierSym
            | ModelKind::HierCc
            | ModelKind::HierPaper
            | ModelKind::Mc
            | ModelKind::McSnorkel
    );
    if args.epochs == Some(0) && trained && !args.dev {
        return Err(LabelModelError::InvalidConfig {
            name: "--epochs",
            value: "0".into(),
            expected: "at least 1 for a trained model (0 leaves it at its starting point); only hyper-hier takes 0, \
                       its default: no EM iteration after its M-step",
        }
        .into());
    }
    if let Some(e) = args.epochs {
        m.hyper_hier.generative.n_epochs = e;
        m.hier.n_epochs = e;
        m.paper.n_epochs = e;
        m.mc.n_epochs = e;
        m.mc_snorkel.n_epochs = e;
    }
    let balance = match args.class_balance {
        BalanceArg::Learned => ClassBalance::Learned,
        BalanceArg::Uniform => ClassBalance::Uniform,
        BalanceArg::Valid => match &data.dev {
            Some((_, y)) => ClassBalance::from_labels(y, train.graph().n_end_labels()),
            None => return Err(no_dev("class_balance", "valid")),
        },
    };
    m.hier.class_balance = balance.clone();
    m.hyper_hier.generative.class_balance = balance.clone();
    m.paper.class_balance = balance.clone();
    m.triplet.class_balance = balance.clone();
    m.mc.class_balance = balance;
    let start = Instant::now();
    let mut selection = None;
    let model: Box<dyn FittedLabelModel> = match (args.dev, args.model) {
        (true, _) => {
            let Some((l_dev, y_dev)) = &data.dev else { return Err(no_dev("dev", "true")) };
            let dev = DevLabels::new(l_dev, y_dev)?;
            let selected = ModelSelection::defaults(&dev).fit(train, &dev)?;
            selection = Some((selected.name().to_owned(), selected.dev_accuracies().to_vec()));
            Box::new(selected)
        }
        (false, kind) => m.fit(kind, train)?,
    };
    let fit_seconds = start.elapsed().as_secs_f64();
    for w in &model.fit_report().warnings {
        eprintln!("warning: {w}");
    }
    for n in &model.fit_report().notes {
        eprintln!("note: {n}");
    }
    let test_accuracy = match &data.test {
        Some((l, y)) if !y.is_empty() => {
            let pred = model.predict(l, args.seed)?;
            Some(metal_runtime::metrics::accuracy(&pred, y)?)
        }
        _ => None,
    };
    let train_accuracy = match &data.y_train {
        Some(y) if !y.is_empty() => {
            let pred = model.predict(train, args.seed)?;
            Some(metal_runtime::metrics::accuracy(&pred, y)?)
        }
        _ => None,
    };
    let lf_accuracy_mae = match (model.lf_accuracies(), &data.true_accuracy) {
        (Some(learned), Some(truth)) if learned.len() == truth.len() && !truth.is_empty() => {
            Some(learned.iter().zip(truth).map(|(a, b)| (a - b).abs()).sum::<f64>() / truth.len() as f64)
        }
        _ => None,
    };
    // Written last, once every step that can fail has run.
    if let Some(out) = &args.out {
        let probs = model.predict_proba(train)?;
        let mut end = probs.into_end_labels();
        if let Some(order) = &data.end_label_order {
            // Columns in schema.json's numbering.
            end = end.select(ndarray::Axis(1), order);
        }
        npy::write_probs(out, end.view())?;
    }
    let report = model.fit_report();
    Ok(Summary {
        name: "label_model",
        model: if args.dev {
            "dev-selection".to_owned()
        } else {
            args.model.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
        },
        problem: args.problem.display().to_string(),
        n_train: train.n_items(),
        m: train.n_lfs(),
        k: train.graph().n_end_labels(),
        n_patterns: report.n_patterns,
        epochs: report.n_epochs,
        fit_seconds,
        peak_rss_mb: peak_rss_mb(),
        test_accuracy,
        selected: selection.as_ref().map(|(name, _)| name.clone()),
        dev_accuracies: selection.map(|(_, acc)| acc),
        train_accuracy,
        lf_accuracy_mae,
    })
}

/// The configurations of the models the command line can fit.
struct Models {
    hier: Hierarchical,
    paper: Hierarchical,
    mc: MatrixCompletion,
    mc_snorkel: MatrixCompletion,
    hyper_hier: HyperHier,
    triplet: Triplet,
}

impl Models {
    /// Fits one model of the command line.
    fn fit(&self, kind: ModelKind, train: &LabelMatrix) -> metal_runtime::Result<Box<dyn FittedLabelModel>> {
        let hier = &self.hier;
        Ok(match kind {
            ModelKind::Mv => Box::new(MajorityVote.fit(train)?),
            ModelKind::Hier => Box::new(hier.fit(train)?),
            ModelKind::HierSym => Box::new(Hierarchical { lf_model: LfModel::Symmetric, ..hier.clone() }.fit(train)?),
            ModelKind::HierCc => {
                Box::new(Hierarchical { lf_model: LfModel::ClassConditional, ..hier.clone() }.fit(train)?)
            }
            ModelKind::HierPaper => Box::new(self.paper.fit(train)?),
            ModelKind::SoftMv => Box::new(hier.soft_mv(train)?),
            ModelKind::Mc => Box::new(self.mc.fit(train)?),
            ModelKind::McSnorkel => Box::new(self.mc_snorkel.fit(train)?),
            ModelKind::Hyper => Box::new(HyperLabelModel::default().fit(train)?),
            ModelKind::HyperHier => Box::new(self.hyper_hier.fit(train)?),
            ModelKind::Triplet => Box::new(self.triplet.fit(train)?),
        })
    }
}

/// The error for a dev-label option on a folder without dev labels.
fn no_dev(name: &'static str, value: &str) -> metal_runtime::Error {
    LabelModelError::InvalidConfig {
        name,
        value: value.into(),
        expected: "a problem folder with dev labels (L_dev.npy and Y_dev.npy, or a WRENCH valid.jsonl)",
    }
    .into()
}

/// Parses `lo,hi`.
fn range(name: &'static str, value: &str) -> Result<(f64, f64), GenerateError> {
    let bad = || GenerateError { name, value: value.to_owned(), expected: "two numbers `lo,hi`".into() };
    let (lo, hi) = value.split_once(',').ok_or_else(bad)?;
    Ok((lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?))
}

fn generate_problem(args: &GenerateArgs) -> metal_runtime::Result<serde_json::Value> {
    let class_balance =
        match args.class_balance.as_str() {
            "mild" => Balance::Mild,
            "uniform" => Balance::Uniform,
            other => match other.strip_prefix("ratio:") {
                Some(r) => Balance::Ratio(r.parse().map_err(|_| GenerateError {
                    name: "class_balance",
                    value: other.to_owned(),
                    expected: "`ratio:R` with a number R".into(),
                })?),
                None => Balance::Given(other.split(',').map(|w| w.trim().parse()).collect::<Result<_, _>>().map_err(
                    |_| GenerateError {
                        name: "class_balance",
                        value: other.to_owned(),
                        expected: "`mild`, `uniform`, `ratio:R` or comma-separated weights".into(),
                    },
                )?),
            },
        };
    let config = GenerateConfig {
        spec: match args.shape {
            Shape::Flat => args.k.to_string(),
            Shape::Tree => args.spec.clone(),
        },
        lfs_per_task: args.lfs_per_task.clone(),
        n_train: args.n_train,
        n_test: args.n_test,
        seed: args.seed,
        class_balance,
        accuracy_range: range("acc_range", &args.acc_range)?,
        propensity_range: range("prop_range", &args.prop_range)?,
        offtopic: args.offtopic,
    };
    let problem = generate(&config)?;
    problem.save(&args.out)?;
    Ok(serde_json::json!({
        "out": args.out,
        "T": problem.graph.n_tasks(),
        "K": problem.graph.n_end_labels(),
        "M": problem.lfs.len(),
        "n_train": args.n_train,
        "n_test": args.n_test,
        "coverage_train": metal_runtime::metrics::covered(&problem.train).iter().filter(|&&c| c).count() as f64
            / problem.train.n_items().max(1) as f64,
    }))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(args) => match generate_problem(&args) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::LabelModel(args) => {
            if let Some(n) = args.threads {
                if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.get()).build_global() {
                    eprintln!("error: cannot set up {n} threads: {e}");
                    return ExitCode::FAILURE;
                }
            }
            match label_model(&args) {
                Ok(summary) => {
                    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
