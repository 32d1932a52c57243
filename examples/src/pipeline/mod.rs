//! The full MeTaL pipeline of the paper's experiments, shared by the three data sets: LFs at
//! several levels of a task hierarchy → label models → multi-task end models → evaluation, with
//! the paper's baselines (Tables 1–3) and the multi-level ablation, over seeded trials.
//!
//! A data set provides a [`Corpus`]: its label matrices (LFs applied to the unlabeled training
//! items, the dev items and the test items), the texts the end model reads, and the gold end
//! labels of dev and test. [`run`] (feature `torch`) does the rest and returns [`Results`], which
//! [`report::render`] prints in the paper's layout and [`write_outputs`] saves with the JSON file
//! of every per-trial number and two SVG charts.
//!
//! Protocol (per data set):
//! - Label models fit on the training votes: hard majority vote, Soft MV, the paper's form and
//!   the extended form; the extended form's accuracy prior is chosen on the dev labels.
//! - End models (SingleTask, FlatMTL, HierMTL) on word counts with a bag-of-words input layer,
//!   trained on the extended label model's probabilistic labels of the training items with at
//!   least one vote; each takes the learning rate of a small grid with the best dev accuracy
//!   (under the first trial's seed) and keeps the epoch with the best dev accuracy.
//! - "Dev labels": HierMTL trained on the dev labels alone, with the learning rate and number of
//!   epochs chosen by 5-fold cross-validation on the dev labels.
//! - Ablation: the same label model and HierMTL without the root task's LFs.
//! - Every trial repeats the end models (and the label models' tie-breaking) under its own seed.

pub mod plot;
pub mod report;
pub mod results;
#[cfg(feature = "torch")]
mod run;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use metal_runtime::error::{ApplyError, IoError};
use metal_runtime::featurize::FeaturizerConfig;
use metal_runtime::prelude::*;
use metal_runtime::schema::TaskGraph;
use metal_runtime::Result;

pub use results::{CellId, PaperNumbers, Results};
#[cfg(feature = "torch")]
pub use run::run;

/// The inputs of a pipeline run: the LFs' votes on each split, the texts, the gold labels.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Short name (`news`).
    pub name: String,
    /// One-line description.
    pub title: String,
    /// The task graph.
    pub graph: Arc<TaskGraph>,
    /// Votes on the unlabeled training items.
    pub l_train: LabelMatrix,
    /// Votes on the dev items.
    pub l_dev: LabelMatrix,
    /// Votes on the test items.
    pub l_test: LabelMatrix,
    /// The texts the end model reads, per split.
    pub texts_train: Vec<String>,
    /// Dev texts.
    pub texts_dev: Vec<String>,
    /// Test texts.
    pub texts_test: Vec<String>,
    /// Gold end labels of the dev items.
    pub gold_dev: Vec<usize>,
    /// Gold end labels of the test items.
    pub gold_test: Vec<usize>,
    /// Seconds spent applying the LFs to the three splits.
    pub apply_seconds: f64,
    /// The paper's numbers for the corresponding data set, if it reports one.
    pub paper: Option<PaperNumbers>,
}

impl Corpus {
    /// Labels the three splits with `label` (an LF set's `apply_with`, or `apply_prepared` with
    /// its preparation step); `text` gives the text the end model reads and `gold` the gold end
    /// label of an item (never read for the training items).
    ///
    /// # Errors
    /// An LF that panics ([`ApplyError`](metal_runtime::error::ApplyError)), or a split that is
    /// empty.
    #[allow(clippy::too_many_arguments, reason = "three splits and three per-item accessors")]
    pub fn new<T>(
        name: &str,
        title: &str,
        label: impl Fn(&[T], &ApplyConfig) -> std::result::Result<(LabelMatrix, ApplyReport), ApplyError>,
        (train, dev, test): (&[T], &[T], &[T]),
        text: impl Fn(&T) -> String,
        gold: impl Fn(&T) -> usize,
    ) -> Result<Self> {
        for (split, items) in [("train", train), ("dev", dev), ("test", test)] {
            if items.is_empty() {
                return Err(IoError::Malformed {
                    path: PathBuf::from(name),
                    line: None,
                    message: format!("the {split} split is empty"),
                }
                .into());
            }
        }
        let start = Instant::now();
        let quiet = ApplyConfig { progress: false, ..ApplyConfig::default() };
        let (l_train, _) = label(train, &quiet)?;
        let (l_dev, _) = label(dev, &quiet)?;
        let (l_test, _) = label(test, &quiet)?;
        let apply_seconds = start.elapsed().as_secs_f64();
        Ok(Corpus {
            name: name.into(),
            title: title.into(),
            graph: l_train.graph_arc().clone(),
            texts_train: train.iter().map(&text).collect(),
            texts_dev: dev.iter().map(&text).collect(),
            texts_test: test.iter().map(&text).collect(),
            gold_dev: dev.iter().map(&gold).collect(),
            gold_test: test.iter().map(&gold).collect(),
            l_train,
            l_dev,
            l_test,
            apply_seconds,
            paper: None,
        })
    }

    /// Sets the paper's numbers shown next to ours.
    pub fn with_paper(mut self, paper: PaperNumbers) -> Self {
        self.paper = Some(paper);
        self
    }
}

/// The settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Quick mode (for the README's main job) or the full protocol.
    pub quick: bool,
    /// Number of trials.
    pub trials: usize,
    /// Seed of the first trial; trial i uses `first_seed + i`.
    pub first_seed: u64,
    /// Word-count features.
    pub featurizer: FeaturizerConfig,
    /// Width of the bag-of-words input layer (the paper's first layer, 250).
    pub bow_dim: usize,
    /// Intermediate layers above it (the paper's second layer, 50).
    pub layers: Vec<usize>,
    /// Adam learning rates tried; each end model takes the one with the best dev accuracy.
    pub lr_grid: Vec<f64>,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Most epochs on the label model's labels.
    pub max_epochs: usize,
    /// Stop after this many epochs without a better dev accuracy.
    pub patience: usize,
    /// Most epochs of the dev-labels baseline (the cross-validation picks one up to this).
    pub dev_labels_max_epochs: usize,
    /// Accuracy-prior strengths tried for the extended label model.
    pub accuracy_prior_grid: Vec<f64>,
    /// Print a line per trial on standard error.
    pub progress: bool,
    /// What the end model reads.
    pub input: InputKind,
    /// libtorch's intra-op CPU threads for the end models and the encoder (`None`: the library's
    /// choice, 1 for the small networks and one per core for the encoder; see
    /// [`TrainConfig::threads`](metal_runtime::end_model::TrainConfig::threads)).
    pub threads: Option<usize>,
    /// Read texts longer than the encoder's 256 tokens whole, in windows
    /// ([`LongTexts::Windows`](metal_runtime::encoder::LongTexts::Windows)), instead of their
    /// first 256 tokens (the frozen encoder inputs, `minilm` and `minilm-tokens`).
    pub windows: bool,
}

/// The end model's input: word counts through a bag-of-words layer or a word-vector mean,
/// sentence embeddings, or the encoder's token states (the default, [`InputKind::MinilmTokens`]:
/// it measured best on all three pipelines; README, "Pretrained text encoders").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
pub enum InputKind {
    /// Word counts → a sparse bag-of-words layer of width `bow_dim` (the paper's network).
    Bow,
    /// Word counts → the count-weighted mean of GloVe 6B 50d word vectors (frozen) → a dense layer
    /// of width `bow_dim` → the layers.
    Glove,
    /// As [`InputKind::Glove`], with the word-vector table trained with the network (initialised
    /// from GloVe; words GloVe lacks start at zero).
    GloveTuned,
    /// all-MiniLM-L6-v2 sentence embeddings (384 wide, frozen, cached on disk) → the layers.
    Minilm,
    /// all-MiniLM-L6-v2's per-token states (frozen) → a linear + ReLU layer of width `bow_dim` on
    /// each token → the maximum over the text's tokens → the layers.
    MinilmTokens,
    /// all-MiniLM-L6-v2 fine-tuned with the network (token ids → encoder → the layers; slow on a
    /// CPU).
    MinilmTuned,
}

impl InputKind {
    /// The `--input` value.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Bow => "bow",
            InputKind::Glove => "glove",
            InputKind::GloveTuned => "glove-tuned",
            InputKind::Minilm => "minilm",
            InputKind::MinilmTokens => "minilm-tokens",
            InputKind::MinilmTuned => "minilm-tuned",
        }
    }
}

impl PipelineConfig {
    /// The full protocol: 20 trials.
    pub fn full() -> Self {
        PipelineConfig {
            quick: false,
            trials: 20,
            first_seed: 0,
            featurizer: FeaturizerConfig::default(),
            bow_dim: 250,
            layers: vec![50],
            lr_grid: vec![1e-3, 3e-3, 1e-2],
            batch_size: 32,
            max_epochs: 30,
            patience: 5,
            dev_labels_max_epochs: 60,
            accuracy_prior_grid: vec![1.0, 3.0, 10.0, 30.0, 100.0],
            progress: true,
            input: InputKind::MinilmTokens,
            threads: None,
            windows: false,
        }
    }

    /// Quick mode: 3 trials.
    pub fn quick() -> Self {
        PipelineConfig { quick: true, trials: 3, ..PipelineConfig::full() }
    }

    /// The settings with the end model reading `input`. Fine-tuning the encoder
    /// ([`InputKind::MinilmTuned`]) costs about 300 times a bag-of-words epoch on the CPU, so it
    /// trains with fixed rates instead of a grid (1e-3 for the layers, 1e-4 for the encoder, the
    /// usual rates for fine-tuning a small BERT), for at most 3 epochs with patience 1, and the
    /// dev-labels baseline for at most 10.
    pub fn with_input(mut self, input: InputKind) -> Self {
        self.input = input;
        if input == InputKind::MinilmTuned {
            self.lr_grid = vec![1e-3];
            self.max_epochs = 3;
            self.patience = 1;
            self.dev_labels_max_epochs = 10;
        }
        self
    }
}

/// Seed and size of the radiology and TREC pipelines' draw of dev labels.
pub const DEV_SEED: u64 = 20180601;
/// Dev labels per pipeline (the paper's protocol).
pub const DEV_SIZE: usize = 50;

/// The three pipelines' label matrices (news, radiology, TREC) with gold dev and test labels and
/// no texts, from the data under `examples/data`: what label models need, without the end model.
///
/// # Errors
/// A data file that cannot be read, or an LF that panics.
pub fn label_corpora() -> Result<Vec<Corpus>> {
    use crate::{news, radiology, trec};
    fn no_text<T>(_: &T) -> String {
        String::new()
    }
    let news = {
        use news::data;
        let (train, dev, test) = (data::load_train_subset(None)?, data::load_dev(None)?, data::load_test(None)?);
        let set = news::lfs::all_lfs();
        let label =
            |items: &[data::Article], config: &ApplyConfig| set.apply_prepared(items, news::lfs::prepare, config);
        Corpus::new("news", "", label, (&train, &dev, &test), no_text, |a: &data::Article| a.label)?
    };
    let radiology = {
        use radiology::data;
        let train = data::load_train(None)?;
        let dev = draw(&data::load_dev(None)?, DEV_SIZE, DEV_SEED);
        let test = data::load_test(None)?;
        let set = radiology::lfs::all_lfs();
        let label =
            |items: &[data::Report], config: &ApplyConfig| set.apply_prepared(items, radiology::lfs::parse, config);
        Corpus::new("radiology", "", label, (&train, &dev, &test), no_text, |r: &data::Report| r.label)?
    };
    let trec = {
        use trec::data;
        let train = data::load_train(None)?;
        let dev = draw(&data::load_dev(None)?, DEV_SIZE, DEV_SEED);
        let test = data::load_test(None)?;
        let set = trec::lfs::all_lfs();
        let label = |items: &[data::Question], config: &ApplyConfig| set.apply_with(items, config);
        Corpus::new("trec", "", label, (&train, &dev, &test), no_text, |q: &data::Question| q.label)?
    };
    Ok(vec![news, radiology, trec])
}

/// `n` items drawn without replacement from `items` with `seed`, in their original order (all
/// of them when `n` ≥ the number of items). Used for the paper's protocol of 50 dev labels.
pub fn draw<T: Clone>(items: &[T], n: usize, seed: u64) -> Vec<T> {
    use rand::seq::index::sample;
    use rand::SeedableRng;
    if n >= items.len() {
        return items.to_vec();
    }
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut picked = sample(&mut rng, items.len(), n).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| items[i].clone()).collect()
}

/// Writes `report.txt`, `trials.json`, `dev-curves.svg` and `lfs.svg` into `dir` (created if
/// missing). Each file is written under a temporary name and renamed, so an interrupted run
/// leaves no partial file.
///
/// # Errors
/// [`IoError`] naming the file that could not be written.
pub fn write_outputs(results: &Results, dir: &Path) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| IoError::Os { path: path.to_owned(), source: e };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let json = serde_json::to_string_pretty(results).map_err(|e| IoError::Malformed {
        path: dir.join("trials.json"),
        line: None,
        message: e.to_string(),
    })?;
    let files = [
        ("report.txt", report::render(results)),
        ("trials.json", json + "\n"),
        ("dev-curves.svg", plot::dev_curves_svg(results)),
        ("lfs.svg", plot::lfs_svg(results)),
    ];
    for (name, content) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, content).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// The command line shared by the pipeline binaries (each flattens it into its own `clap`
/// parser, beside its own options).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct Args {
    /// 3 trials instead of 20; output in target/pipeline/<name>-quick (the README's main job)
    #[arg(long)]
    pub quick: bool,
    /// Number of seeded trials (default: 20, or 3 with --quick)
    #[arg(long, value_name = "N")]
    pub trials: Option<NonZeroUsize>,
    /// The end model's input (default: minilm-tokens; bow with --ngrams or --negation); the
    /// encoder and GloVe inputs need `make models` once
    #[arg(long, value_enum, value_name = "KIND")]
    pub input: Option<InputKind>,
    /// libtorch CPU threads (default: 1 for the small networks, one per core to fine-tune)
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Longest word n-gram of the bag of words (default: 1, words only); implies --input bow
    /// unless a word-count input is given; output folder <name>-bow-ngrams<N>
    #[arg(long, value_name = "N")]
    pub ngrams: Option<NonZeroUsize>,
    /// Count the words after a negation cue, to the end of the clause, as terms of their own
    /// (NOT_word) in the bag of words; implies --input bow unless a word-count input is given;
    /// output folder <name>-bow-negation
    #[arg(long)]
    pub negation: bool,
    /// Read texts longer than the encoder's 256 tokens whole, in windows of 256 (minilm and
    /// minilm-tokens); output folder <name>-windows
    #[arg(long)]
    pub windows: bool,
    /// Output folder (default: results/<name>, or target/pipeline/<name>-quick with --quick)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder with the data set's files (default: the copy under examples/data/)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl Args {
    /// The pipeline settings: quick or full, with `--trials` applied.
    pub fn config(&self) -> PipelineConfig {
        let mut config = if self.quick { PipelineConfig::quick() } else { PipelineConfig::full() };
        if let Some(n) = self.trials {
            config.trials = n.get();
        }
        if let Some(input) = self.input() {
            config = config.with_input(input);
        }
        if let Some(n) = self.threads {
            config.threads = Some(n.get());
        }
        if let Some(n) = self.ngrams {
            config.featurizer.ngrams = n.get();
        }
        config.featurizer.negation |= self.negation;
        config.windows = self.windows;
        config
    }

    /// The input asked for: `--input`, else the bag of words when a bag-of-words setting is
    /// given, else none (the default).
    fn input(&self) -> Option<InputKind> {
        let word_settings = self.negation || self.ngrams.is_some_and(|n| n.get() > 1);
        self.input.or(word_settings.then_some(InputKind::Bow))
    }

    /// The output folder: `--out`, else `results/<name>` for full runs and
    /// `target/pipeline/<name>-quick` in quick mode (both under the workspace root), with
    /// `-<input>` after the name for an input other than the default, and `-ngrams<N>` and
    /// `-negation` for those featurizer settings.
    pub fn out_dir(&self, name: &str) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        let mut name = match self.input() {
            Some(input) if input != PipelineConfig::full().input => format!("{name}-{}", input.name()),
            _ => name.to_owned(),
        };
        if let Some(n) = self.ngrams.filter(|n| n.get() > 1) {
            name.push_str(&format!("-ngrams{n}"));
        }
        if self.negation {
            name.push_str("-negation");
        }
        if self.windows {
            name.push_str("-windows");
        }
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.parent().unwrap_or(manifest);
        if self.quick {
            root.join("target").join("pipeline").join(format!("{name}-quick"))
        } else {
            root.join("results").join(name)
        }
    }
}

/// The exit code of a pipeline binary: 1 with the error on standard error when `result` is an
/// error, 0 otherwise (clap exits with 2 itself when the command line does not parse).
pub fn exit_code(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_ordered_subsets() {
        let items: Vec<usize> = (0..100).collect();
        let a = draw(&items, 10, 7);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, draw(&items, 10, 7));
        assert_ne!(a, draw(&items, 10, 8));
        assert_eq!(draw(&items, 500, 7), items);
    }

    #[test]
    fn arguments() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            common: Args,
            #[arg(long, default_value_t = 50)]
            dev_size: usize,
        }
        let parse = |v: &[&str]| Cli::try_parse_from(std::iter::once("pipeline").chain(v.iter().copied()));
        let a = parse(&["--quick", "--trials", "2", "--dev-size", "500"]).unwrap();
        assert!(a.common.quick);
        assert_eq!((a.common.config().trials, a.dev_size), (2, 500));
        let a = a.common;
        assert!(a.out_dir("news").ends_with("target/pipeline/news-quick"));
        assert!(parse(&[]).unwrap().common.out_dir("news").ends_with("results/news"));
        assert_eq!(parse(&[]).unwrap().common.config(), PipelineConfig::full());
        let m = parse(&["--quick", "--input", "minilm", "--threads", "2"]).unwrap().common;
        assert_eq!((m.config().input, m.config().threads), (InputKind::Minilm, Some(2)));
        assert!(m.out_dir("trec").ends_with("target/pipeline/trec-minilm-quick"));
        assert_eq!((a.config().input, a.config().threads), (InputKind::MinilmTokens, None));
        let d = parse(&["--input", "minilm-tokens"]).unwrap().common;
        assert!(d.out_dir("news").ends_with("results/news"), "the default input names no folder");
        let b = parse(&["--input", "bow"]).unwrap().common;
        assert_eq!(b.config().input, InputKind::Bow);
        assert!(b.out_dir("news").ends_with("results/news-bow"));
        let w = parse(&["--quick", "--ngrams", "2", "--negation"]).unwrap().common;
        assert_eq!((w.config().featurizer.ngrams, w.config().featurizer.negation), (2, true));
        assert_eq!(w.config().input, InputKind::Bow, "bag-of-words settings imply the bag of words");
        assert!(w.out_dir("radiology").ends_with("target/pipeline/radiology-bow-ngrams2-negation-quick"));
        let wg = parse(&["--negation", "--input", "glove"]).unwrap().common;
        assert_eq!(wg.config().input, InputKind::Glove);
        assert!(!a.config().featurizer.negation && a.config().featurizer.ngrams == 1);
        let g = parse(&["--quick", "--input", "glove-tuned"]).unwrap().common;
        assert_eq!((g.config().input, g.config().lr_grid), (InputKind::GloveTuned, PipelineConfig::full().lr_grid));
        assert!(g.out_dir("news").ends_with("target/pipeline/news-glove-tuned-quick"));
        let l = parse(&["--quick", "--windows"]).unwrap().common;
        assert!(l.config().windows && !a.config().windows);
        assert!(l.out_dir("news").ends_with("target/pipeline/news-windows-quick"));
        let t = parse(&["--input", "minilm-tuned"]).unwrap().common.config();
        assert_eq!((t.input, t.lr_grid.clone(), t.max_epochs), (InputKind::MinilmTuned, vec![1e-3], 3));
        // Errors name the argument and what it accepts.
        for (bad, says) in [
            (&["--trials", "0"][..], "--trials <N>"),
            (&["--threads", "0"], "--threads <N>"),
            (&["--ngrams", "0"], "--ngrams <N>"),
            (&["--out"], "--out <DIR>"),
            (&["--bogus"], "--bogus"),
            (
                &["--input", "word2vec"],
                "[possible values: bow, glove, glove-tuned, minilm, minilm-tokens, minilm-tuned]",
            ),
        ] {
            let err = parse(bad).err().unwrap().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
