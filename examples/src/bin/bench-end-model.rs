//! Benchmark: training the end model on word counts of Reuters-21578 articles, per architecture
//! and input module. Prints one JSON line per measurement.
//!
//! ```text
//! bench-end-model [--epochs E]      # every configuration, each in its own process
//! bench-end-model --n 1000|6722 --arch single|flat|hier --input bag_of_words|identity [--epochs E]
//! ```
//!
//! Every configuration: the three architectures over the bag-of-words input, and HierMTL over the
//! identity (dense) input, for each training-set size.
//!
//! The features are word counts ([`FeaturizerConfig::default`]) of each article's title and text,
//! fit on the training articles (the 1,000-article subset or the whole 6,722-article split). The
//! labels are one-hot gold labels (training time does not depend on them). The network is
//! V → 250 → 50 (ReLU): with the bag-of-words input, its sparse layer is the 250-wide one and one
//! intermediate layer of 50 follows; with the identity input, two intermediate layers (250, 50)
//! follow. Trained with batch size 32 for 5 epochs (`--epochs`), without a dev set.
//! `seconds_per_epoch` is the total training time over the number of epochs; `test_accuracy` the
//! end-label accuracy on the test split afterwards; `peak_rss_mb` is the process's peak resident
//! set (`VmHWM`), so each configuration runs in a fresh process.

use metal_examples::memory::peak_rss_mb;
use metal_examples::news::{data, lfs};

use std::process::{Command, ExitCode};
use std::sync::Arc;

use metal_runtime::end_model::{Architecture, EndModel, EndModelConfig, InputConfig, TrainConfig, TrainSet};
use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
use metal_runtime::label_model::ProbLabels;
use metal_runtime::prelude::*;

/// Any error, boxed.
type BenchResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Training-set sizes: the 1,000-article subset and the whole training split.
const SIZES: [usize; 2] = [1000, 6722];
/// Architectures, by their names on the command line and in the output.
const ARCHS: [&str; 3] = ["single", "flat", "hier"];
/// Input modules, by their names on the command line and in the output.
const INPUTS: [&str; 2] = ["bag_of_words", "identity"];
/// Default number of epochs.
const EPOCHS: usize = 5;
const BATCH_SIZE: usize = 32;
const SEED: u64 = 0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|opts| match opts {
        Opts { epochs, one: None } => run_all(epochs),
        Opts { epochs, one: Some((n, arch, input, threads)) } => run(n, &arch, &input, epochs, threads),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    format!(
        "usage: bench-end-model [--n {SIZES:?} --arch {} --input {} --threads T] [--epochs E]",
        ARCHS.join("|"),
        INPUTS.join("|")
    )
}

/// The command line: one configuration, or every one when none is named.
struct Opts {
    epochs: usize,
    one: Option<(usize, String, String, usize)>,
}

fn parse(args: &[String]) -> BenchResult<Opts> {
    let (mut n, mut arch, mut input, mut epochs, mut threads) = (None, None, None, Some(EPOCHS), None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().cloned();
        match arg.as_str() {
            "--n" => n = value.and_then(|v| v.parse::<usize>().ok()).filter(|n| SIZES.contains(n)),
            "--arch" => arch = value.filter(|a| ARCHS.contains(&a.as_str())),
            "--input" => input = value.filter(|i| INPUTS.contains(&i.as_str())),
            "--epochs" => epochs = value.and_then(|v| v.parse::<usize>().ok()).filter(|&e| e > 0),
            "--threads" => threads = value.and_then(|v| v.parse::<usize>().ok()).filter(|&t| t > 0),
            _ => return Err(usage().into()),
        }
    }
    match (epochs, n, arch, input) {
        (Some(epochs), None, None, None) if threads.is_none() => Ok(Opts { epochs, one: None }),
        (Some(epochs), Some(n), Some(arch), Some(input)) => {
            Ok(Opts { epochs, one: Some((n, arch, input, threads.unwrap_or(1))) })
        }
        _ => Err(usage().into()),
    }
}

/// Runs every configuration in a child process of its own, so that each peak is its own, at one
/// libtorch thread and at one per core.
fn run_all(epochs: usize) -> BenchResult<()> {
    let exe = std::env::current_exe()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    for n in SIZES {
        for input in INPUTS {
            for arch in ARCHS {
                if input == "identity" && arch != "hier" {
                    continue;
                }
                for threads in &thread_counts {
                    let status = Command::new(&exe)
                        .args(["--n", &n.to_string(), "--arch", arch, "--input", input])
                        .args(["--epochs", &epochs.to_string(), "--threads", &threads.to_string()])
                        .status()?;
                    if !status.success() {
                        return Err(format!("bench-end-model --n {n} --arch {arch} --input {input}: {status}").into());
                    }
                }
            }
        }
    }
    Ok(())
}

fn run(n: usize, arch: &str, input: &str, epochs: usize, threads: usize) -> BenchResult<()> {
    let articles = if n == 1000 { data::load_train_subset(None)? } else { data::load_train(None)? };
    let texts: Vec<String> = articles.iter().map(|a| format!("{}\n{}", a.title, a.text)).collect();
    let featurizer = Featurizer::fit(&texts, &FeaturizerConfig::default())?;
    let x = featurizer.transform(&texts);
    let graph = Arc::new(<lfs::news::Schema as TaskSchema>::graph().clone());
    let gold: Vec<usize> = articles.iter().map(|a| a.label).collect();
    let labels = ProbLabels::one_hot(graph.clone(), &gold)?;
    let config = EndModelConfig {
        architecture: match arch {
            "single" => Architecture::SingleTask,
            "flat" => Architecture::FlatMtl,
            _ => Architecture::hier(),
        },
        // Both networks are V → 250 → 50: the bag-of-words input is the 250-wide layer itself.
        input: if input == "identity" { InputConfig::Identity } else { InputConfig::BagOfWords { dim: 250 } },
        layers: if input == "identity" { vec![250, 50] } else { vec![50] },
        seed: SEED,
        ..EndModelConfig::default()
    };
    let mut model = EndModel::new(graph, featurizer.n_features(), config)?;
    let train_config = TrainConfig {
        n_epochs: epochs,
        batch_size: BATCH_SIZE,
        patience: None,
        seed: SEED,
        progress: false,
        threads: Some(threads),
        ..TrainConfig::default()
    };
    let log = model.train(&TrainSet::new(&x, &labels), None, &train_config)?;
    let test = data::load_test(None)?;
    let test_texts: Vec<String> = test.iter().map(|a| format!("{}\n{}", a.title, a.text)).collect();
    let predicted = model.predict(&featurizer.transform(&test_texts), 0)?;
    let hits = predicted.iter().zip(&test).filter(|(p, a)| **p == a.label).count();
    println!(
        "{{\"name\":\"end_model_epoch\",\"impl\":\"metal-rs\",\"arch\":\"{arch}\",\"n_train\":{},\"n_features\":{},\"input\":\"{input}\",\"threads\":{threads},\"epochs\":{},\"batch_size\":{BATCH_SIZE},\"device\":\"{}\",\"seconds_per_epoch\":{:.4},\"peak_rss_mb\":{:.1},\"test_accuracy\":{:.4}}}",
        articles.len(),
        featurizer.n_features(),
        log.epochs.len(),
        log.device,
        log.seconds / log.epochs.len().max(1) as f64,
        peak_rss_mb(),
        hits as f64 / test.len().max(1) as f64
    );
    Ok(())
}
