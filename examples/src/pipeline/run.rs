//! Running the protocol (feature `torch`): label models, end models, trials.

use std::collections::BTreeMap;
use std::time::Instant;

use metal_runtime::analysis::LfSummary;
use metal_runtime::encoder::{EmbeddingCache, EncodeConfig, LongTexts, SentenceEncoder, WordVectors};
use metal_runtime::end_model::{
    select, Architecture, DevSet, EndModel, EndModelConfig, FeatureSet, InputConfig, TrainConfig, TrainSet,
};
use metal_runtime::featurize::Featurizer;
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, LabelModel, MajorityVote, ProbLabels};
use metal_runtime::metrics::{accuracy, task_accuracy};
use metal_runtime::prelude::*;
use metal_runtime::Result;

use super::results::{Cell, CellId, DatasetInfo, LfStat, Machine, Results, Setup, Trial};
use super::{Corpus, InputKind, PipelineConfig};

/// Folds of the cross-validation that picks the dev-labels baseline's epochs.
const CV_FOLDS: usize = 5;

/// A fitted label model with its fit time.
struct Fitted {
    model: Box<dyn FittedLabelModel>,
    seconds: f64,
}

fn timed<M: FittedLabelModel + 'static>(
    fit: impl FnOnce() -> std::result::Result<M, metal_runtime::error::LabelModelError>,
) -> Result<Fitted> {
    let start = Instant::now();
    let model = fit()?;
    Ok(Fitted { model: Box::new(model), seconds: start.elapsed().as_secs_f64() })
}

/// The extended label model with the accuracy prior of `grid` that predicts the dev labels best
/// (ties go to the earlier strength). The time is that of all the fits.
fn select_extended(
    l_train: &LabelMatrix,
    l_dev: &LabelMatrix,
    gold_dev: &[usize],
    grid: &[f64],
    seed: u64,
) -> Result<(Fitted, f64)> {
    let start = Instant::now();
    let mut best: Option<(f64, f64, Box<dyn FittedLabelModel>)> = None;
    for &prior in grid {
        let model = Hierarchical { accuracy_prior: prior, progress: false, ..Hierarchical::default() }.fit(l_train)?;
        let acc = accuracy(&model.predict(l_dev, seed)?, gold_dev)?;
        if best.as_ref().is_none_or(|(b, _, _)| acc > *b) {
            best = Some((acc, prior, Box::new(model)));
        }
    }
    let (_, prior, model) = best.ok_or_else(|| metal_runtime::error::IoError::Malformed {
        path: "accuracy_prior_grid".into(),
        line: None,
        message: "the accuracy-prior grid is empty".into(),
    })?;
    Ok((Fitted { model, seconds: start.elapsed().as_secs_f64() }, prior))
}

/// The end model's features of the three splits, and how they were made.
struct Features {
    train: FeatureSet,
    dev: FeatureSet,
    test: FeatureSet,
    what: String,
    /// For the word-vector inputs: the vectors, and the featurizer's vocabulary (one word per
    /// feature) to pick their rows.
    word_vectors: Option<(WordVectors, Vec<String>)>,
}

/// all-MiniLM-L6-v2 for the frozen inputs, reading long texts as `config.windows` says; says on
/// standard error (with `config.progress`) how many texts are longer than its 256 tokens.
fn frozen_encoder(corpus: &Corpus, config: &PipelineConfig) -> Result<SentenceEncoder> {
    let mode = if config.windows { LongTexts::Windows } else { LongTexts::Truncate };
    let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?.with_long_texts(mode);
    if config.progress {
        let all = [&corpus.texts_train, &corpus.texts_dev, &corpus.texts_test];
        let (mut long, mut n) = (0, 0);
        for texts in all {
            long += encoder.count_long(texts)?;
            n += texts.len();
        }
        if long > 0 {
            let how = if config.windows {
                "read whole, in windows".to_owned()
            } else {
                format!("the encoder reads their first {} (--windows reads them whole)", encoder.max_len())
            };
            eprintln!("{}: {long} of {n} texts are longer than {} tokens; {how}", corpus.name, encoder.max_len());
        }
    }
    Ok(encoder)
}

fn featurize(corpus: &Corpus, config: &PipelineConfig) -> Result<Features> {
    let (train, dev, test, what) = match config.input {
        InputKind::Bow | InputKind::Glove | InputKind::GloveTuned => {
            let featurizer = Featurizer::fit(&corpus.texts_train, &config.featurizer)?;
            let words = |t: &[String]| FeatureSet::Sparse(featurizer.transform(t));
            let f = &config.featurizer;
            let what = match (f.ngrams > 1, f.negation) {
                (false, false) => format!("{} word features", featurizer.n_features()),
                (true, false) => format!("{} word and n-gram features (n ≤ {})", featurizer.n_features(), f.ngrams),
                (false, true) => format!("{} word features, negation marked", featurizer.n_features()),
                (true, true) => {
                    format!("{} word and n-gram features (n ≤ {}), negation marked", featurizer.n_features(), f.ngrams)
                }
            };
            if config.input != InputKind::Bow {
                let vectors = WordVectors::glove()?;
                let vocabulary = featurizer.vocabulary().to_vec();
                let (_, found) = vectors.rows_for(&vocabulary);
                let what = format!(
                    "{what} → GloVe 6B {}d mean ({} of the words in GloVe; {})",
                    vectors.dim(),
                    found,
                    if config.input == InputKind::Glove { "frozen" } else { "trained" }
                );
                let x = (words(&corpus.texts_train), words(&corpus.texts_dev), words(&corpus.texts_test));
                return Ok(Features {
                    train: x.0,
                    dev: x.1,
                    test: x.2,
                    what,
                    word_vectors: Some((vectors, vocabulary)),
                });
            }
            (words(&corpus.texts_train), words(&corpus.texts_dev), words(&corpus.texts_test), what)
        }
        InputKind::Minilm => {
            let encoder = frozen_encoder(corpus, config)?;
            let cache = EmbeddingCache::open_default(&encoder)?;
            let cfg = EncodeConfig { progress: config.progress, threads: config.threads, ..EncodeConfig::default() };
            let embed = |t: &[String]| cache.encode(&encoder, t, &cfg).map(FeatureSet::Dense);
            let what =
                format!("all-MiniLM-L6-v2 embeddings ({} wide, cached under {})", encoder.dim(), cache.dir().display());
            (embed(&corpus.texts_train)?, embed(&corpus.texts_dev)?, embed(&corpus.texts_test)?, what)
        }
        InputKind::MinilmTokens => {
            let encoder = frozen_encoder(corpus, config)?;
            let cache = EmbeddingCache::open_default(&encoder)?;
            let cfg = EncodeConfig { progress: config.progress, threads: config.threads, ..EncodeConfig::default() };
            let states = |t: &[String]| cache.encode_tokens(&encoder, t, &cfg).map(FeatureSet::States);
            let what = format!(
                "all-MiniLM-L6-v2 token states ({} wide, {}, cached under {})",
                encoder.dim(),
                match encoder.long_texts() {
                    LongTexts::Windows => format!("every token, in windows of {}", encoder.max_len()),
                    _ => format!("up to {} per text", encoder.max_len()),
                },
                cache.dir().display()
            );
            (states(&corpus.texts_train)?, states(&corpus.texts_dev)?, states(&corpus.texts_test)?, what)
        }
        InputKind::MinilmTuned => {
            let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?;
            let vocab = encoder.vocab_size();
            let tokens = |t: &[String]| encoder.tokenize(t).map(|ids| FeatureSet::Tokens(ids, vocab));
            let what = format!("all-MiniLM-L6-v2 token ids (up to {} per text)", encoder.max_len());
            (tokens(&corpus.texts_train)?, tokens(&corpus.texts_dev)?, tokens(&corpus.texts_test)?, what)
        }
    };
    Ok(Features { train, dev, test, what, word_vectors: None })
}

/// What every end model of a run shares.
struct EndModels<'a> {
    corpus: &'a Corpus,
    config: &'a PipelineConfig,
    device: tch::Device,
    x_train: FeatureSet,
    x_dev: FeatureSet,
    x_test: FeatureSet,
    word_vectors: Option<(WordVectors, Vec<String>)>,
}

impl EndModels<'_> {
    fn network(&self, architecture: Architecture, seed: u64) -> Result<EndModel> {
        let (input, layers) = match self.config.input {
            InputKind::Bow => (InputConfig::BagOfWords { dim: self.config.bow_dim }, self.config.layers.clone()),
            // The mean word vector and the embeddings feed the same stack, with the bag-of-words
            // layer's width as a dense layer.
            InputKind::Glove | InputKind::GloveTuned => {
                let dim = self.word_vectors.as_ref().map_or(0, |(v, _)| v.dim());
                let trainable = self.config.input == InputKind::GloveTuned;
                let layers = std::iter::once(self.config.bow_dim).chain(self.config.layers.clone()).collect();
                (InputConfig::WordVectors { dim, trainable }, layers)
            }
            InputKind::Minilm => (
                InputConfig::Identity,
                std::iter::once(self.config.bow_dim).chain(self.config.layers.clone()).collect(),
            ),
            // The per-token layer is the first layer (as the bag of words is).
            InputKind::MinilmTokens => {
                (InputConfig::TokenStates { dim: self.config.bow_dim }, self.config.layers.clone())
            }
            // The fine-tuned encoder is itself the first layer (as the bag of words is).
            InputKind::MinilmTuned => {
                (InputConfig::Encoder { dir: metal_runtime::encoder::minilm_dir() }, self.config.layers.clone())
            }
        };
        let config = EndModelConfig { architecture, input, layers, seed, ..EndModelConfig::default() };
        let mut model =
            EndModel::new_on(self.corpus.graph.clone(), self.x_train.features().n_features(), config, self.device)?;
        if let Some((vectors, vocabulary)) = &self.word_vectors {
            model.set_word_vectors(vectors, vocabulary)?;
        }
        Ok(model)
    }

    fn train_config(&self, lr: f64, n_epochs: usize, patience: Option<usize>, seed: u64) -> TrainConfig {
        TrainConfig {
            lr,
            batch_size: self.config.batch_size,
            n_epochs,
            patience,
            seed,
            progress: false,
            threads: self.config.threads,
            encoder_lr: Some(1e-4),
            ..TrainConfig::default()
        }
    }

    /// Trains `architecture` on probabilistic labels of the training items kept by `keep`,
    /// keeping the epoch with the best dev accuracy.
    fn on_labels(
        &self,
        architecture: Architecture,
        labels: &ProbLabels,
        keep: &[bool],
        lr: f64,
        seed: u64,
    ) -> Result<Cell> {
        let mut model = self.network(architecture, seed)?;
        let log = model.train(
            &TrainSet::new(self.x_train.features(), labels).keep(keep),
            Some(&DevSet::new(self.x_dev.features(), &self.corpus.gold_dev)),
            &self.train_config(lr, self.config.max_epochs, Some(self.config.patience), seed),
        )?;
        let pred = model.predict(self.x_test.features(), seed)?;
        Ok(Cell {
            test_accuracy: accuracy(&pred, &self.corpus.gold_test)?,
            dev_accuracy: log.best_dev_accuracy,
            task_accuracy: task_accuracy(&self.corpus.graph, &pred, &self.corpus.gold_test)?,
            seconds: log.seconds,
            dev_curve: log.epochs.iter().filter_map(|e| e.dev_accuracy).collect(),
            best_epoch: log.best_epoch,
        })
    }

    /// The learning rate of `config.lr_grid` with which `architecture`, trained on `labels` under
    /// `seed`, reaches the best dev accuracy (ties go to the smaller rate;
    /// [`select::learning_rate`]). A grid of one rate is taken as it is, without training.
    fn select_lr(&self, architecture: Architecture, labels: &ProbLabels, keep: &[bool], seed: u64) -> Result<f64> {
        if let [only] = self.config.lr_grid[..] {
            return Ok(only);
        }
        let chosen = select::learning_rate(
            || self.network(architecture, seed),
            &TrainSet::new(self.x_train.features(), labels).keep(keep),
            &DevSet::new(self.x_dev.features(), &self.corpus.gold_dev),
            &self.train_config(0.0, self.config.max_epochs, Some(self.config.patience), seed),
            &self.config.lr_grid,
        )?;
        Ok(chosen.lr)
    }

    /// The learning rate and number of epochs for HierMTL on the dev labels alone: the best mean
    /// held-out accuracy over a 5-fold split of the dev items (ties go to the smaller rate, then
    /// to fewer epochs).
    fn dev_labels_schedule(&self, seed: u64) -> Result<(f64, usize)> {
        let mut best = (f64::NEG_INFINITY, 0.0, 0);
        for &lr in &self.config.lr_grid {
            let (epochs, acc) = self.dev_labels_cv(lr, seed)?;
            if acc > best.0 {
                best = (acc, lr, epochs);
            }
        }
        Ok((best.1, best.2))
    }

    /// The epoch count with the best mean held-out accuracy at rate `lr`, and that accuracy
    /// ([`select::epochs_by_cross_validation`]).
    fn dev_labels_cv(&self, lr: f64, seed: u64) -> Result<(usize, f64)> {
        let folds = CV_FOLDS.min(self.corpus.gold_dev.len());
        let choice = select::epochs_by_cross_validation(
            || self.network(Architecture::hier(), seed),
            self.x_dev.features(),
            &self.corpus.gold_dev,
            &self.corpus.graph,
            &self.train_config(lr, self.config.dev_labels_max_epochs, None, seed),
            folds,
            seed,
        )?;
        Ok((choice.epochs, choice.accuracy))
    }

    /// HierMTL trained on the one-hot dev labels for `epochs` epochs (no held-out selection).
    fn on_dev_labels(&self, lr: f64, epochs: usize, seed: u64) -> Result<Cell> {
        let labels = ProbLabels::one_hot(self.corpus.graph.clone(), &self.corpus.gold_dev)?;
        let mut model = self.network(Architecture::hier(), seed)?;
        let config = self.train_config(lr, epochs, None, seed);
        let log = model.train(&TrainSet::new(self.x_dev.features(), &labels), None, &config)?;
        let pred = model.predict(self.x_test.features(), seed)?;
        Ok(Cell {
            test_accuracy: accuracy(&pred, &self.corpus.gold_test)?,
            dev_accuracy: None,
            task_accuracy: task_accuracy(&self.corpus.graph, &pred, &self.corpus.gold_test)?,
            seconds: log.seconds,
            dev_curve: Vec::new(),
            best_epoch: log.best_epoch,
        })
    }
}

/// A label model's cell in one trial (predictions tie-broken with `seed`).
fn label_model_cell(
    fitted: &Fitted,
    l_dev: &LabelMatrix,
    l_test: &LabelMatrix,
    corpus: &Corpus,
    seed: u64,
) -> Result<Cell> {
    let pred = fitted.model.predict(l_test, seed)?;
    Ok(Cell {
        test_accuracy: accuracy(&pred, &corpus.gold_test)?,
        dev_accuracy: Some(accuracy(&fitted.model.predict(l_dev, seed)?, &corpus.gold_dev)?),
        task_accuracy: task_accuracy(&corpus.graph, &pred, &corpus.gold_test)?,
        seconds: fitted.seconds,
        dev_curve: Vec::new(),
        best_epoch: None,
    })
}

/// Runs the protocol on `corpus` (see the [module docs](super)).
///
/// # Errors
/// A label model or end model error (bad configuration, diverged training), or an empty
/// accuracy-prior grid.
pub fn run(corpus: &Corpus, config: &PipelineConfig) -> Result<Results> {
    let mut stages = BTreeMap::new();
    stages.insert("apply LFs (train, dev, test)".to_owned(), corpus.apply_seconds);
    let say = |msg: String| {
        if config.progress {
            eprintln!("{msg}");
        }
    };

    let start = Instant::now();
    let Features { train: x_train, dev: x_dev, test: x_test, what: features, word_vectors } =
        featurize(corpus, config)?;
    let device = metal_runtime::device::default_device();
    let models = EndModels { corpus, config, device, x_train, x_dev, x_test, word_vectors };
    let stage = match config.input {
        InputKind::Bow => "featurize (word counts)",
        InputKind::Glove | InputKind::GloveTuned => "featurize (word counts; GloVe read)",
        InputKind::Minilm => "featurize (MiniLM embeddings; cached after the first run)",
        InputKind::MinilmTokens => "featurize (MiniLM token states; cached after the first run)",
        InputKind::MinilmTuned => "featurize (MiniLM token ids)",
    };
    stages.insert(stage.to_owned(), start.elapsed().as_secs_f64());

    let (l_train, l_dev, l_test) = (&corpus.l_train, &corpus.l_dev, &corpus.l_test);
    let seed0 = config.first_seed;
    let hard = timed(|| MajorityVote.fit(l_train))?;
    let soft = timed(|| Hierarchical { progress: false, ..Hierarchical::default() }.soft_mv(l_train))?;
    let paper = timed(|| Hierarchical { progress: false, ..Hierarchical::paper() }.fit(l_train))?;
    let (extended, prior) = select_extended(l_train, l_dev, &corpus.gold_dev, &config.accuracy_prior_grid, seed0)?;
    let root = corpus.graph.root();
    let without_root = |m: &LabelMatrix| m.select_lfs(|_, lf| lf.task != root);
    let (a_train, a_dev, a_test) = (without_root(l_train), without_root(l_dev), without_root(l_test));
    let (ablation, ablation_prior) =
        select_extended(&a_train, &a_dev, &corpus.gold_dev, &config.accuracy_prior_grid, seed0)?;
    for (name, fitted) in [
        ("fit Hard MV", &hard),
        ("fit Soft MV", &soft),
        ("fit label model, paper form", &paper),
        ("fit label model, extended form (accuracy-prior grid)", &extended),
        ("fit label model without root LFs (grid)", &ablation),
    ] {
        stages.insert(name.to_owned(), fitted.seconds);
    }
    let labels = extended.model.predict_proba(l_train)?;
    let ablation_labels = ablation.model.predict_proba(&a_train)?;
    let covered = |m: &LabelMatrix| -> Vec<bool> { (0..m.n_items()).map(|i| m.row(i).len() > 0).collect() };
    let (keep, ablation_keep) = (covered(l_train), covered(&a_train));

    let start = Instant::now();
    let (dev_lr, dev_epochs) = models.dev_labels_schedule(seed0)?;
    stages.insert("choose dev-labels lr and epochs (5-fold CV)".to_owned(), start.elapsed().as_secs_f64());
    let start = Instant::now();
    let mut lrs = BTreeMap::new();
    lrs.insert(CellId::DevLabels, dev_lr);
    for (id, architecture) in [
        (CellId::SingleTask, Architecture::SingleTask),
        (CellId::FlatMtl, Architecture::FlatMtl),
        (CellId::HierMtl, Architecture::hier()),
    ] {
        lrs.insert(id, models.select_lr(architecture, &labels, &keep, seed0)?);
    }
    lrs.insert(CellId::AblationEnd, models.select_lr(Architecture::hier(), &ablation_labels, &ablation_keep, seed0)?);
    stages.insert("choose end-model learning rates (dev labels)".to_owned(), start.elapsed().as_secs_f64());
    say(format!(
        "{}: label model accuracy prior {prior} ({ablation_prior} without root LFs); learning rates {}; \
         dev-labels baseline {dev_epochs} epochs",
        corpus.name,
        lrs.iter().map(|(c, lr)| format!("{c:?} {lr}")).collect::<Vec<_>>().join(", ")
    ));

    let mut trials = Vec::with_capacity(config.trials);
    for i in 0..config.trials {
        let start = Instant::now();
        let seed = config.first_seed + i as u64;
        let mut cells = BTreeMap::new();
        for (id, fitted, dev, test) in [
            (CellId::HardMv, &hard, l_dev, l_test),
            (CellId::SoftMv, &soft, l_dev, l_test),
            (CellId::LmPaper, &paper, l_dev, l_test),
            (CellId::LmExtended, &extended, l_dev, l_test),
            (CellId::AblationLm, &ablation, &a_dev, &a_test),
        ] {
            cells.insert(id, label_model_cell(fitted, dev, test, corpus, seed)?);
        }
        for (id, architecture) in [
            (CellId::SingleTask, Architecture::SingleTask),
            (CellId::FlatMtl, Architecture::FlatMtl),
            (CellId::HierMtl, Architecture::hier()),
        ] {
            cells.insert(id, models.on_labels(architecture, &labels, &keep, lrs[&id], seed)?);
        }
        let ablation_lr = lrs[&CellId::AblationEnd];
        let ablation_end =
            models.on_labels(Architecture::hier(), &ablation_labels, &ablation_keep, ablation_lr, seed)?;
        cells.insert(CellId::AblationEnd, ablation_end);
        cells.insert(CellId::DevLabels, models.on_dev_labels(dev_lr, dev_epochs, seed)?);
        let acc = |c: CellId| 100.0 * cells[&c].test_accuracy;
        say(format!(
            "{} trial {}/{} (seed {seed}): dev labels {:.1}, label model {:.1}, SingleTask {:.1}, FlatMTL {:.1}, \
             HierMTL {:.1}, no root LFs {:.1}/{:.1} [{:.1}s]",
            corpus.name,
            i + 1,
            config.trials,
            acc(CellId::DevLabels),
            acc(CellId::LmExtended),
            acc(CellId::SingleTask),
            acc(CellId::FlatMtl),
            acc(CellId::HierMtl),
            acc(CellId::AblationLm),
            acc(CellId::AblationEnd),
            start.elapsed().as_secs_f64()
        ));
        trials.push(Trial { seed, cells });
    }

    let summary = LfSummary::new(l_train).with_gold(l_dev, &corpus.gold_dev)?;
    let lfs = summary
        .lfs
        .iter()
        .map(|lf| LfStat {
            name: lf.name.clone(),
            task: lf.task.clone(),
            coverage: lf.coverage,
            dev_accuracy: lf.empirical_accuracy,
        })
        .collect();
    let mut network = match config.input {
        InputKind::MinilmTuned => Vec::new(),
        InputKind::Bow | InputKind::Glove | InputKind::GloveTuned | InputKind::Minilm | InputKind::MinilmTokens => {
            vec![config.bow_dim]
        }
    };
    network.extend(&config.layers);
    Ok(Results {
        dataset: DatasetInfo {
            name: corpus.name.clone(),
            title: corpus.title.clone(),
            tasks: corpus.graph.tasks().iter().map(|t| t.name.clone()).collect(),
            n_train: l_train.n_items(),
            n_dev: l_dev.n_items(),
            n_test: l_test.n_items(),
            n_covered: keep.iter().filter(|&&k| k).count(),
            lfs,
            n_features: models.x_train.features().n_features(),
            features: Some(features),
        },
        setup: Setup {
            quick: config.quick,
            seeds: trials.iter().map(|t| t.seed).collect(),
            network,
            lr_grid: config.lr_grid.clone(),
            lrs,
            batch_size: config.batch_size,
            max_epochs: config.max_epochs,
            patience: config.patience,
            accuracy_prior_grid: config.accuracy_prior_grid.clone(),
            accuracy_prior: prior,
            ablation_accuracy_prior: ablation_prior,
            dev_labels_epochs: dev_epochs,
            device: format!("{:?}", models.device),
            input: config.input.name().to_owned(),
            threads: config.threads,
        },
        machine: Machine::current(),
        paper: corpus.paper.clone(),
        stage_seconds: stages,
        trials,
    })
}
