//! How far the radiology end model gets with perfect training labels: HierMTL trained on the
//! **gold** labels of the 2,614 training reports, and on the label model's labels, per input and
//! learning rate, with the pipeline's dev selection (the best epoch on the 50 dev labels, with
//! patience). If the gold-trained model stays below the label model on the test reports, its input
//! and the data size, not the weak labels, keep the end model below the label model. Prints one
//! JSON line per run (with how often the end model and the label model disagree on the test
//! reports, and which of them is right when they do), and on standard error a line per epoch and
//! each run's confusion matrix.
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin radiology-ceiling
//! target/release/radiology-ceiling --inputs minilm-tuned --labels lm --lrs 1e-3 --epochs 3
//! target/release/radiology-ceiling --inputs bow-bigrams --labels lm --seeds 0,1,2 --augment 0,40000
//! ```
//!
//! The defaults (inputs `bow,minilm-tokens`, labels `gold,lm`, rates `1e-3,3e-3`, 30 epochs,
//! patience 5, seed 0) are the runs of `bench/results/end-model-token-states-2026-12-07.md`. With
//! `minilm-tuned` the encoder is fine-tuned with the network at `--encoder-lr` (the pipelines'
//! 1e-4), as in `--input minilm-tuned` of the pipelines. `--augment N` gives the end model more
//! training reports than the data set has: `N` training reports recombined sentence by sentence,
//! which the LFs and the label model label like any other report (the label model is still fit
//! on the 2,614 real ones).

use std::process::ExitCode;

use clap::Parser;
use metal_examples::pipeline;
use metal_examples::radiology::{data, lfs};
use metal_runtime::encoder::{minilm_dir, EmbeddingCache, EncodeConfig, SentenceEncoder};
use metal_runtime::end_model::{DevSet, EndModel, EndModelConfig, FeatureSet, InputConfig, TrainConfig, TrainSet};
use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, LabelModel, ProbLabels};
use metal_runtime::lf::ApplyConfig;
use metal_runtime::metrics::{accuracy, ConfusionMatrix};
use ndarray::Axis;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Debug, Parser)]
#[command(about = "The radiology end model on gold labels against the label model's labels")]
struct Args {
    /// Inputs to try: bow, bow-negation (words after a negation cue as NOT_word), bow-bigrams
    /// (that and adjacent word pairs), minilm-tokens, minilm-tuned.
    #[arg(long, value_delimiter = ',', default_value = "bow,minilm-tokens")]
    inputs: Vec<String>,
    /// Training labels to try: gold (the training reports' own labels), lm (the label model's).
    #[arg(long, value_delimiter = ',', default_value = "gold,lm")]
    labels: Vec<String>,
    /// Adam learning rates of the layers above the input.
    #[arg(long, value_delimiter = ',', default_value = "1e-3,3e-3")]
    lrs: Vec<f64>,
    /// At most this many epochs.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Stop after this many epochs without a better dev accuracy.
    #[arg(long, default_value_t = 5)]
    patience: usize,
    /// Learning rate of the fine-tuned encoder's own weights (minilm-tuned).
    #[arg(long, default_value_t = 1e-4)]
    encoder_lr: f64,
    /// Training seeds (one run per seed).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    seeds: Vec<u64>,
    /// Recombined reports to add to the training reports for `--labels lm`, each labeled by the
    /// LFs and the label model: a training report with every sentence kept with probability 0.7,
    /// and with probability 0.5 one sentence of another report's findings inserted (seeded by the
    /// run's seed). Several counts give several runs; 0 adds none.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    augment: Vec<usize>,
    /// libtorch threads (default: the library's choice per input).
    #[arg(long)]
    threads: Option<usize>,
}

const INPUTS: [&str; 5] = ["bow", "bow-negation", "bow-bigrams", "minilm-tokens", "minilm-tuned"];

fn main() -> ExitCode {
    pipeline::exit_code(run(Args::parse()))
}

fn bad(name: &'static str, value: &str, expected: &'static str) -> metal_runtime::Error {
    metal_runtime::error::EndModelError::InvalidConfig { name, value: value.into(), expected }.into()
}

fn run(args: Args) -> metal_runtime::Result<()> {
    for input in &args.inputs {
        if !INPUTS.contains(&input.as_str()) {
            return Err(bad("--inputs", input, "bow, bow-negation, bow-bigrams, minilm-tokens or minilm-tuned"));
        }
    }
    for labels in &args.labels {
        if !["gold", "lm"].contains(&labels.as_str()) {
            return Err(bad("--labels", labels, "gold or lm"));
        }
    }
    let train = data::load_train(None)?;
    let dev = pipeline::draw(&data::load_dev(None)?, pipeline::DEV_SIZE, pipeline::DEV_SEED);
    let test = data::load_test(None)?;
    let set = lfs::all_lfs();
    let quiet = ApplyConfig { progress: false, ..ApplyConfig::default() };
    let (l_train, _) = set.apply_prepared(&train, lfs::parse, &quiet)?;
    let (l_test, _) = set.apply_prepared(&test, lfs::parse, &quiet)?;
    let graph = l_train.graph_arc().clone();
    // The pipeline's label model (the accuracy prior it selects here is 1).
    let label_model = Hierarchical { accuracy_prior: 1.0, progress: false, ..Hierarchical::default() }.fit(&l_train)?;
    let weak = label_model.predict_proba(&l_train)?;
    let texts = |r: &[data::Report]| r.iter().map(|r| r.text.clone()).collect::<Vec<_>>();
    let gold = |r: &[data::Report]| r.iter().map(|r| r.label).collect::<Vec<_>>();
    let (gold_train, gold_dev, gold_test) = (gold(&train), gold(&dev), gold(&test));
    let perfect = ProbLabels::one_hot(graph.clone(), &gold_train)?;
    let lm_pred = label_model.predict(&l_test, 0)?;
    let lm_test = accuracy(&lm_pred, &gold_test)?;
    println!("{{\"model\":\"label model\",\"test_accuracy\":{lm_test:.4}}}");
    eprintln!("label model, test:\n{}", ConfusionMatrix::new(&graph, &lm_pred, &gold_test)?);

    let t = [texts(&train), texts(&dev), texts(&test)];
    let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?;
    for &seed in &args.seeds {
        for &n_extra in &args.augment {
            // The recombined reports and the label model's labels of them.
            let extra = recombined(&train, n_extra, seed);
            let mut t = t.clone();
            t[0].extend(texts(&extra));
            let weak = if extra.is_empty() {
                weak.clone()
            } else {
                let (l_extra, _) = set.apply_prepared(&extra, lfs::parse, &quiet)?;
                let p_extra = label_model.predict_proba(&l_extra)?;
                let mut end = weak.end_labels().to_owned();
                end.append(Axis(0), p_extra.end_labels())
                    .map_err(|e| bad("--augment", &e.to_string(), "stackable labels"))?;
                ProbLabels::new(graph.clone(), end)
            };
            for input in &args.inputs {
                // Each input's features of the three splits are built once, for every rate and label set.
                let (config, x) = features(input, &t, &encoder, args.threads)?;
                let x = x.each_ref().map(FeatureSet::features);
                for lr in &args.lrs {
                    for labels_name in &args.labels {
                        if labels_name == "gold" && n_extra > 0 {
                            continue; // the recombined reports have no gold labels
                        }
                        let labels = if labels_name == "gold" { &perfect } else { &weak };
                        let mut model = EndModel::new(graph.clone(), x[0].n_features(), config.clone())?;
                        let train_cfg = TrainConfig {
                            lr: *lr,
                            n_epochs: args.epochs,
                            patience: Some(args.patience),
                            threads: args.threads,
                            encoder_lr: Some(args.encoder_lr),
                            progress: false,
                            seed,
                            ..TrainConfig::default()
                        };
                        let dev_set = DevSet::new(x[1], &gold_dev);
                        let log = model.train_with(&TrainSet::new(x[0], labels), Some(&dev_set), &train_cfg, |e| {
                            eprintln!("{input} {labels_name} lr {lr} seed {seed} +{n_extra}: {}", e.line(args.epochs));
                        })?;
                        let pred = model.predict(x[2], 0)?;
                        let test_acc = accuracy(&pred, &gold_test)?;
                        let train_acc = accuracy(&model.predict(x[0], 0)?[..gold_train.len()], &gold_train)?;
                        eprintln!(
                            "{input}, {labels_name} labels, lr {lr}, seed {seed}, +{n_extra}, test:\n{}",
                            ConfusionMatrix::new(&graph, &pred, &gold_test)?
                        );
                        let (differ, end_right, lm_right) = disagreements(&pred, &lm_pred, &gold_test);
                        let labels_out = if labels_name == "gold" { "gold" } else { "label model" };
                        println!(
                            "{{\"model\":\"HierMTL\",\"labels\":\"{labels_out}\",\"input\":\"{input}\",\"lr\":{lr},\"seed\":{seed},\"recombined\":{n_extra},\"best_epoch\":{},\"train_accuracy\":{train_acc:.4},\"test_accuracy\":{test_acc:.4},\"differ_from_lm\":{differ},\"end_right\":{end_right},\"lm_right\":{lm_right},\"seconds\":{:.1}}}",
                            log.best_epoch.unwrap_or(0),
                            log.seconds
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// The network and the features of the training, dev and test texts for one `--inputs` name.
fn features(
    input: &str,
    t: &[Vec<String>; 3],
    encoder: &SentenceEncoder,
    threads: Option<usize>,
) -> metal_runtime::Result<(EndModelConfig, [FeatureSet; 3])> {
    let bow = |words: FeaturizerConfig| -> metal_runtime::Result<(EndModelConfig, [FeatureSet; 3])> {
        let words = Featurizer::fit(&t[0], &words)?;
        Ok((EndModelConfig::default(), t.each_ref().map(|t| FeatureSet::Sparse(words.transform(t)))))
    };
    let three =
        |x: Vec<FeatureSet>| -> [FeatureSet; 3] { x.try_into().unwrap_or_else(|_| unreachable!("three splits")) };
    match input {
        "bow" => bow(FeaturizerConfig::default()),
        "bow-negation" => bow(FeaturizerConfig { negation: true, ..FeaturizerConfig::default() }),
        "bow-bigrams" => bow(FeaturizerConfig { ngrams: 2, negation: true, ..FeaturizerConfig::default() }),
        "minilm-tokens" => {
            let cache = EmbeddingCache::open_default(encoder)?;
            let cfg = EncodeConfig { progress: false, threads, ..EncodeConfig::default() };
            let mut x = Vec::new();
            for t in t {
                x.push(FeatureSet::States(cache.encode_tokens(encoder, t, &cfg)?));
            }
            let input = InputConfig::TokenStates { dim: 250 };
            Ok((EndModelConfig { input, ..EndModelConfig::default() }, three(x)))
        }
        _ => {
            let vocab = encoder.vocab_size();
            let mut x = Vec::new();
            for t in t {
                x.push(FeatureSet::Tokens(encoder.tokenize(t)?, vocab));
            }
            // The encoder is the first layer, as in the pipelines.
            let input = InputConfig::Encoder { dir: minilm_dir() };
            Ok((EndModelConfig { input, layers: vec![50], ..EndModelConfig::default() }, three(x)))
        }
    }
}

/// Where the end model's predictions and the label model's differ: how many items, on how many
/// of them the end model is right, and on how many the label model is.
fn disagreements(end: &[usize], lm: &[usize], gold: &[usize]) -> (usize, usize, usize) {
    let differ = end.iter().zip(lm).zip(gold).filter(|((p, q), _)| p != q);
    differ.fold((0, 0, 0), |(n, e, l), ((p, q), g)| (n + 1, e + usize::from(p == g), l + usize::from(q == g)))
}

/// A section's sentences, each with its full stop.
fn sentences(s: &str) -> Vec<&str> {
    s.split_inclusive(". ").map(str::trim).filter(|x| !x.is_empty()).collect()
}

/// `n` recombined training reports (see `--augment`), seeded.
fn recombined(train: &[data::Report], n: usize, seed: u64) -> Vec<data::Report> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let a = &train[rng.gen_range(0..train.len())];
            let donor = sentences(&train[rng.gen_range(0..train.len())].findings);
            let mut findings: Vec<&str> = sentences(&a.findings).into_iter().filter(|_| rng.gen_bool(0.7)).collect();
            let impression: Vec<&str> = sentences(&a.impression).into_iter().filter(|_| rng.gen_bool(0.7)).collect();
            if !donor.is_empty() && rng.gen_bool(0.5) {
                let at = rng.gen_range(0..=findings.len());
                findings.insert(at, donor[rng.gen_range(0..donor.len())]);
            }
            let mut r = a.clone();
            r.findings = findings.join(" ");
            r.impression = impression.join(" ");
            let sections = [("FINDINGS", &r.findings), ("IMPRESSION", &r.impression)];
            r.text = sections
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(name, s)| format!("{name}: {s}"))
                .collect::<Vec<_>>()
                .join("\n");
            r
        })
        .collect()
}
