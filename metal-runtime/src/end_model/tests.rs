//! End-model tests on a generated, learnable problem over the news-like 3-task schema.

use rand::Rng;

use ndarray::Array2;

use super::persist::{CONFIG_FILE, WEIGHTS_FILE};
use super::*;
use crate::featurize::{FeaturizerConfig, SparseFeatures};
use crate::label_model::ProbLabels;
use crate::schema::TaskDef;
use crate::Error;

fn news_graph() -> Arc<TaskGraph> {
    Arc::new(
        TaskGraph::new(vec![
            TaskDef::new("Topic", ["corporate", "markets"]),
            TaskDef::new("Corporate", ["performance", "funding"]).with_parent(0, 0),
            TaskDef::new("Markets", ["money", "commodity"]).with_parent(0, 1),
        ])
        .unwrap(),
    )
}

/// Documents whose words depend on the end label: 4 words from the label's own 10, 3 from its
/// topic's 10, 13 from 140 shared noise words.
fn documents(n: usize, rng: &mut impl Rng) -> (Vec<String>, Vec<usize>) {
    let mut texts = Vec::with_capacity(n);
    let mut gold = Vec::with_capacity(n);
    for _ in 0..n {
        let y = rng.gen_range(0..4);
        let topic = y / 2;
        let mut words = Vec::new();
        words.extend((0..4).map(|_| format!("w{}", y * 10 + rng.gen_range(0..10))));
        words.extend((0..3).map(|_| format!("w{}", 40 + topic * 10 + rng.gen_range(0..10))));
        words.extend((0..13).map(|_| format!("w{}", 60 + rng.gen_range(0..140))));
        texts.push(words.join(" "));
        gold.push(y);
    }
    (texts, gold)
}

/// Soft labels that put 0.6 on the true end label for 75% of the items, and on another label for
/// the rest (accuracy of their argmax: about 75%). Trained long enough, a network memorizes the
/// wrong ones; dev-set model selection picks the epoch before it does.
fn soft_labels(graph: &Arc<TaskGraph>, gold: &[usize], rng: &mut impl Rng) -> ProbLabels {
    let mut end = Array2::from_elem((gold.len(), 4), 0.4 / 3.0);
    for (i, &y) in gold.iter().enumerate() {
        let peak = if rng.gen_bool(0.75) { y } else { (y + rng.gen_range(1..4)) % 4 };
        end[[i, peak]] = 0.6;
    }
    ProbLabels::new(Arc::clone(graph), end)
}

struct Problem {
    graph: Arc<TaskGraph>,
    featurizer: Featurizer,
    x: SparseFeatures,
    labels: ProbLabels,
    gold_train: Vec<usize>,
    x_dev: SparseFeatures,
    gold_dev: Vec<usize>,
    x_test: SparseFeatures,
    gold_test: Vec<usize>,
}

fn problem() -> Problem {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let graph = news_graph();
    let (train, gold) = documents(400, &mut rng);
    let (dev, gold_dev) = documents(50, &mut rng);
    let (test, gold_test) = documents(300, &mut rng);
    let featurizer = Featurizer::fit(&train, &FeaturizerConfig::default()).unwrap();
    let labels = soft_labels(&graph, &gold, &mut rng);
    Problem {
        x: featurizer.transform(&train),
        x_dev: featurizer.transform(&dev),
        x_test: featurizer.transform(&test),
        featurizer,
        graph,
        labels,
        gold_train: gold,
        gold_dev,
        gold_test,
    }
}

fn tiny(architecture: Architecture) -> EndModelConfig {
    EndModelConfig {
        architecture,
        input: InputConfig::BagOfWords { dim: 32 },
        layers: vec![32, 16],
        seed: 3,
        ..EndModelConfig::default()
    }
}

fn train_config() -> TrainConfig {
    TrainConfig { lr: 0.02, n_epochs: 10, batch_size: 32, progress: false, seed: 5, ..TrainConfig::default() }
}

fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    crate::metrics::accuracy(pred, gold).unwrap()
}

fn trained(p: &Problem, config: EndModelConfig) -> (EndModel, TrainLog) {
    let mut model = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), config, Device::Cpu).unwrap();
    let log = model
        .train(&TrainSet::new(&p.x, &p.labels), Some(&DevSet::new(&p.x_dev, &p.gold_dev)), &train_config())
        .unwrap();
    (model, log)
}

fn end_model_error(e: Error) -> EndModelError {
    match e {
        Error::EndModel(e) => *e,
        other => panic!("expected an end model error, got {other}"),
    }
}

#[test]
fn every_architecture_learns_from_soft_labels() {
    let p = problem();
    let label_acc = accuracy(&p.labels.argmax(0), &p.gold_train);
    assert!(label_acc < 0.8, "the soft labels are noisy ({label_acc:.3})");
    let mut results = Vec::new();
    for architecture in [
        Architecture::SingleTask,
        Architecture::FlatMtl,
        Architecture::hier(),
        Architecture::HierMtl { direction: HierDirection::ParentToChild },
    ] {
        let (model, log) = trained(&p, tiny(architecture));
        let acc = accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test);
        eprintln!("{architecture:?}: test accuracy {acc:.3}, best dev {:?}", log.best_dev_accuracy);
        results.push((architecture, acc, log));
    }
    for (architecture, acc, log) in results {
        // Measured (CPU): SingleTask 0.923, FlatMTL 0.860, HierMTL 0.877, HierMTL parent → child 0.960;
        // over model seeds 0–7, every architecture stayed at or above 0.807. The labels' argmax is
        // right for about 75% of the training items.
        assert!(acc >= 0.8, "{architecture:?}: test accuracy {acc:.3}");
        assert_eq!(log.epochs.len(), 10);
        assert!(log.epochs[9].loss < log.epochs[0].loss);
        assert!(log.best_dev_accuracy.unwrap() >= 0.8);
    }
}

#[test]
fn hier_end_labels_are_the_normalized_path_products() {
    let p = problem();
    let (model, _) = trained(&p, tiny(Architecture::hier()));
    let pred = model.predict_distributions(&p.x_test).unwrap();
    let end = pred.end.end_labels();
    let (topic, corp, mkt) = (&pred.tasks[0], &pred.tasks[1], &pred.tasks[2]);
    assert_eq!((topic.ncols(), corp.ncols(), mkt.ncols()), (2, 3, 3));
    for i in 0..end.nrows() {
        let products = [
            topic[[i, 0]] * corp[[i, 0]],
            topic[[i, 0]] * corp[[i, 1]],
            topic[[i, 1]] * mkt[[i, 0]],
            topic[[i, 1]] * mkt[[i, 1]],
        ];
        let z: f64 = products.iter().sum();
        for k in 0..4 {
            assert!((end[[i, k]] - products[k] / z).abs() < 1e-5, "item {i}, end label {k}");
        }
    }
    let labels = model.predict(&p.x_test, 0).unwrap();
    assert!(labels.iter().all(|&k| k < 4 && p.graph.feasible(k)[0].is_some()));
}

#[test]
fn the_same_seed_gives_identical_predictions() {
    let p = problem();
    let a = trained(&p, tiny(Architecture::hier())).0.predict_proba(&p.x_test).unwrap();
    let b = trained(&p, tiny(Architecture::hier())).0.predict_proba(&p.x_test).unwrap();
    assert_eq!(a, b);
    let c = trained(&p, EndModelConfig { seed: 4, ..tiny(Architecture::hier()) }).0.predict_proba(&p.x_test).unwrap();
    assert_ne!(a, c);
}

#[test]
fn identity_input_on_dense_and_sparse_features_agree() {
    let p = problem();
    let config = EndModelConfig { input: InputConfig::Identity, ..tiny(Architecture::FlatMtl) };
    let (model, _) = trained(&p, config.clone());
    let dense = p.x.to_dense();
    let mut dense_model = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), config, Device::Cpu).unwrap();
    dense_model
        .train(&TrainSet::new(&dense, &p.labels), Some(&DevSet::new(&p.x_dev, &p.gold_dev)), &train_config())
        .unwrap();
    let a = model.predict_proba(&p.x_test).unwrap();
    let b = dense_model.predict_proba(&p.x_test.to_dense()).unwrap();
    let diff = (a.end_labels().to_owned() - b.end_labels()).mapv(f64::abs).fold(0.0, |m: f64, &d| m.max(d));
    assert!(diff < 1e-4, "max difference {diff}");
}

#[test]
fn hard_labels_train_through_the_same_path() {
    let p = problem();
    let labels = ProbLabels::one_hot(Arc::clone(&p.graph), &p.gold_dev).unwrap();
    let mut model =
        EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::hier()), Device::Cpu).unwrap();
    let cfg = TrainConfig { n_epochs: 30, batch_size: 8, ..train_config() };
    let log = model.train(&TrainSet::new(&p.x_dev, &labels), None, &cfg).unwrap();
    assert_eq!(log.best_epoch, Some(30));
    let acc = accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test);
    eprintln!("trained on 50 hard labels: test accuracy {acc:.3}");
    assert!(acc >= 0.6, "test accuracy {acc:.3}");
    assert!(matches!(
        ProbLabels::one_hot(Arc::clone(&p.graph), &[4]),
        Err(EndModelError::GoldLabelOutOfRange { item: 0, label: 4, n_labels: 4 })
    ));
}

#[test]
fn the_paper_preset_is_the_bag_of_words_250_50_network() {
    let config = EndModelConfig::paper(Architecture::FlatMtl);
    assert_eq!((config.input, config.layers), (InputConfig::BagOfWords { dim: 250 }, vec![50]));
    let p = problem();
    let model = EndModel::new_on(
        Arc::clone(&p.graph),
        p.x.n_features(),
        EndModelConfig::paper(Architecture::hier()),
        Device::Cpu,
    );
    assert!(model.is_ok(), "{model:?}");
}

#[test]
fn dropped_items_and_early_stopping() {
    let p = problem();
    let keep: Vec<bool> = (0..p.x.n_items()).map(|i| i % 2 == 0).collect();
    let mut model =
        EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::FlatMtl), Device::Cpu).unwrap();
    let cfg = TrainConfig { n_epochs: 40, patience: Some(2), ..train_config() };
    let mut seen = Vec::new();
    let log = model
        .train_with(&TrainSet::new(&p.x, &p.labels).keep(&keep), Some(&DevSet::new(&p.x_dev, &p.gold_dev)), &cfg, |e| {
            seen.push(e.clone())
        })
        .unwrap();
    // The callback saw every epoch, in order.
    assert_eq!(seen, log.epochs);
    let line = seen[0].line(40);
    assert!(line.starts_with("end model epoch 1/40: loss ") && line.contains(", dev accuracy "), "{line}");
    assert_eq!(log.n_train_items, 200);
    assert!(log.stopped_early && log.epochs.len() < 40);
    let best = log.best_epoch.unwrap();
    assert_eq!(log.epochs.len(), best + 2);
    // The best checkpoint was restored.
    let acc = model.accuracy(&DevSet::new(&p.x_dev, &p.gold_dev)).unwrap();
    assert_eq!(Some(acc), log.best_dev_accuracy);
    let json = serde_json::to_string(&log).unwrap();
    assert!(json.contains("\"dev_accuracy\""));
}

#[test]
fn save_then_load_gives_identical_predictions() {
    let p = problem();
    let (mut model, _) = trained(&p, tiny(Architecture::hier()));
    model.set_featurizer(p.featurizer.clone());
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = EndModel::load_for(dir.path(), &p.graph, Device::Cpu).unwrap();
    assert_eq!(loaded.featurizer(), Some(&p.featurizer));
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.predict_proba(&p.x_test).unwrap(), model.predict_proba(&p.x_test).unwrap());

    // Another schema.
    let other = TaskGraph::flat("t", ["a", "b", "c", "d"]).unwrap();
    let err = end_model_error(EndModel::load_for(dir.path(), &other, Device::Cpu).unwrap_err());
    assert!(matches!(err, EndModelError::SchemaMismatch { .. }), "{err}");

    // Weights of another architecture.
    let wide = EndModel::new_on(
        Arc::clone(&p.graph),
        p.x.n_features(),
        EndModelConfig { layers: vec![32, 8], ..tiny(Architecture::hier()) },
        Device::Cpu,
    )
    .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other_dir = other_dir.path().join("model");
    wide.save(&other_dir).unwrap();
    std::fs::copy(other_dir.join(WEIGHTS_FILE), dir.path().join(WEIGHTS_FILE)).unwrap();
    // The weights of another save are refused by their hash, before anything else is read...
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(err.to_string().contains("different saves"), "{err}");
    // ... and without the hash (a model.json edited by hand), by their shapes.
    let json_path = dir.path().join(CONFIG_FILE);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("weights_sha256").unwrap();
    std::fs::write(&json_path, serde_json::to_string(&json).unwrap()).unwrap();
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(matches!(err, EndModelError::TensorShape { .. }), "{err}");
    let flat =
        EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::SingleTask), Device::Cpu).unwrap();
    flat.save(&other_dir).unwrap();
    std::fs::copy(other_dir.join(WEIGHTS_FILE), dir.path().join(WEIGHTS_FILE)).unwrap();
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(
        matches!(
            err,
            EndModelError::UnexpectedTensor { .. }
                | EndModelError::MissingTensor { .. }
                | EndModelError::TensorShape { .. }
        ),
        "{err}"
    );

    // Corrupt files.
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"not a safetensors file").unwrap();
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(matches!(err, EndModelError::ModelFile { .. }), "{err}");
    std::fs::write(dir.path().join(CONFIG_FILE), b"{\"format\": 1}").unwrap();
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(matches!(err, EndModelError::ModelFile { .. }), "{err}");
    let missing = tempfile::tempdir().unwrap();
    assert!(EndModel::load(missing.path(), Device::Cpu).is_err());
}

/// A save replaces only an empty folder or a previous save, leaves no temporary folder behind,
/// and a load checks each tensor's type and values and the sizes model.json claims before it
/// builds the network.
#[test]
fn saves_are_atomic_and_loads_check_the_weights() {
    let p = problem();
    let (model, _) = trained(&p, tiny(Architecture::hier()));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    model.save(&dir).unwrap();
    model.save(&dir).unwrap(); // over a previous save
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(root.path()), ["model"]);
    assert_eq!(names(&dir), [CONFIG_FILE, WEIGHTS_FILE]);
    // A folder with other files is not replaced.
    let notes = root.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep").unwrap();
    let err = model.save(&notes).unwrap_err().to_string();
    assert!(err.contains("todo.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(notes.join("todo.txt")).unwrap(), "keep");
    assert_eq!(names(root.path()), ["model", "notes"]);

    // Weights rewritten with another dtype, or with a NaN: model.json's hash is dropped, as a
    // hand-made file would lack it, so that the tensors themselves are checked.
    let json_path = dir.join(CONFIG_FILE);
    let edit_json = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        f(&mut json);
        std::fs::write(&json_path, serde_json::to_string(&json).unwrap()).unwrap();
    };
    edit_json(&|j| {
        j.as_object_mut().unwrap().remove("weights_sha256");
    });
    let weights = dir.join(WEIGHTS_FILE);
    let tensors = Tensor::read_safetensors(&weights).unwrap();
    let rewrite = |f: &dyn Fn(usize, &Tensor) -> Tensor| {
        let edited: Vec<(String, Tensor)> =
            tensors.iter().enumerate().map(|(i, (n, t))| (n.clone(), f(i, t))).collect();
        Tensor::write_safetensors(&edited, &weights).unwrap();
    };
    rewrite(&|_, t| t.to_kind(tch::Kind::Double));
    let err = end_model_error(EndModel::load(&dir, Device::Cpu).unwrap_err()).to_string();
    assert!(err.contains("Double values"), "{err}");
    rewrite(&|i, t| if i == 0 { t.full_like(f64::NAN) } else { t.shallow_clone() });
    let err = end_model_error(EndModel::load(&dir, Device::Cpu).unwrap_err()).to_string();
    assert!(err.contains("not finite"), "{err}");
    // A size in model.json far beyond what the weights hold is refused before anything is built.
    edit_json(&|j| j["n_features"] = 1_000_000_000_000u64.into());
    let err = end_model_error(EndModel::load(&dir, Device::Cpu).unwrap_err()).to_string();
    assert!(err.contains("more than weights.safetensors holds"), "{err}");
}

#[test]
fn bad_configs_are_errors_before_training() {
    let p = problem();
    let v = p.x.n_features();
    let build = |config: EndModelConfig| {
        end_model_error(EndModel::new_on(Arc::clone(&p.graph), v, config, Device::Cpu).unwrap_err())
    };
    let err = build(EndModelConfig { layers: vec![16, 0], ..tiny(Architecture::FlatMtl) });
    assert!(matches!(err, EndModelError::InvalidConfig { name: "layers", .. }), "{err}");
    let err = build(EndModelConfig { head_layers: Some(vec![2, 1, 3]), ..tiny(Architecture::hier()) });
    assert!(matches!(err, EndModelError::HeadLayerOutOfRange { layer: 3, n_layers: 2, .. }), "{err}");
    let err = build(EndModelConfig { layers: vec![16], input: InputConfig::Identity, ..tiny(Architecture::hier()) });
    assert!(matches!(err, EndModelError::StackTooShallow { max_depth: 1, n_layers: 1 }), "{err}");
    // A bag-of-words input is a learned layer: with one intermediate layer, HierMTL puts the
    // child heads on the input module's output (the paper's V → 250 → 50 network).
    let one_layer = EndModelConfig { layers: vec![16], ..tiny(Architecture::hier()) };
    let model = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), one_layer, Device::Cpu).unwrap();
    assert_eq!(net::head_layers(&p.graph, model.config()), vec![1, 0, 0]);
    let err = build(EndModelConfig { layers: vec![], ..tiny(Architecture::hier()) });
    assert!(matches!(err, EndModelError::StackTooShallow { max_depth: 1, n_layers: 1 }), "{err}");
    let err = build(EndModelConfig {
        head_layers: Some(vec![1, 0, 1]),
        input: InputConfig::Identity,
        ..tiny(Architecture::hier())
    });
    assert!(matches!(err, EndModelError::HeadLayerOutOfRange { layer: 0, first_layer: 1, .. }), "{err}");
    let err = build(EndModelConfig { input: InputConfig::BagOfWords { dim: 0 }, ..tiny(Architecture::FlatMtl) });
    assert!(matches!(err, EndModelError::InvalidConfig { name: "input.dim", .. }), "{err}");
    let err = build(EndModelConfig { dropout: 1.0, ..tiny(Architecture::FlatMtl) });
    assert!(matches!(err, EndModelError::InvalidConfig { name: "dropout", .. }), "{err}");

    let mut model = EndModel::new_on(Arc::clone(&p.graph), v, tiny(Architecture::hier()), Device::Cpu).unwrap();
    let mut train = |set: TrainSet<'_>, cfg: TrainConfig| end_model_error(model.train(&set, None, &cfg).unwrap_err());
    let err = train(TrainSet::new(&p.x, &p.labels), TrainConfig { lr: 0.0, ..train_config() });
    assert!(matches!(err, EndModelError::InvalidConfig { name: "lr", .. }), "{err}");
    let err = train(TrainSet::new(&p.x, &p.labels), TrainConfig { batch_size: 0, ..train_config() });
    assert!(matches!(err, EndModelError::InvalidConfig { name: "batch_size", .. }), "{err}");
    let err = train(TrainSet::new(&p.x, &p.labels), TrainConfig { task_weights: Some(vec![1.0]), ..train_config() });
    assert!(matches!(err, EndModelError::ShapeMismatch { expected: 3, got: 1, .. }), "{err}");
    let none = vec![false; p.x.n_items()];
    let err = train(TrainSet::new(&p.x, &p.labels).keep(&none), train_config());
    assert_eq!(err, EndModelError::EmptyTrainingSet);
    let empty = p.x.select(&[]);
    let no_labels = ProbLabels::new(Arc::clone(&p.graph), Array2::zeros((0, 4)));
    let err = train(TrainSet::new(&empty, &no_labels), train_config());
    assert_eq!(err, EndModelError::EmptyTrainingSet);
    let err = train(TrainSet::new(&p.x_dev, &p.labels), train_config());
    assert!(matches!(err, EndModelError::ShapeMismatch { expected: 50, got: 400, .. }), "{err}");
    let flat = Arc::new(TaskGraph::flat("t", ["a", "b", "c", "d"]).unwrap());
    let other = ProbLabels::new(flat, p.labels.end_labels().to_owned());
    let err = train(TrainSet::new(&p.x, &other), train_config());
    assert!(matches!(err, EndModelError::SchemaMismatch { .. }), "{err}");
    let mut nan = p.labels.end_labels().to_owned();
    nan[[3, 1]] = f64::NAN;
    let nan = ProbLabels::new(Arc::clone(&p.graph), nan);
    let err = train(TrainSet::new(&p.x, &nan), train_config());
    assert_eq!(err, EndModelError::InvalidLabels { item: 3 });
    let narrow = Array2::<f32>::zeros((400, 3));
    let err = train(TrainSet::new(&narrow, &p.labels), train_config());
    assert!(matches!(err, EndModelError::ShapeMismatch { got: 3, .. }), "{err}");
    let err = end_model_error(model.predict(&narrow, 0).unwrap_err());
    assert!(matches!(err, EndModelError::ShapeMismatch { got: 3, .. }), "{err}");
}

/// A user input module: a dense linear layer built with tch's `nn::linear`.
struct UserInput(nn::Linear, usize);

impl InputModule for UserInput {
    fn out_dim(&self) -> usize {
        self.1
    }
    fn forward_t(&self, x: &InputBatch, _train: bool) -> Result<Tensor, TchError> {
        match x {
            InputBatch::Dense(t) => Ok(nn::Module::forward(&self.0, t).f_tanh()?),
            _ => Err(TchError::Kind("dense only".into())),
        }
    }
}

#[test]
fn a_user_input_module_trains_and_reloads() {
    let p = problem();
    let v = p.x.n_features();
    let make = |path: &nn::Path<'_>| -> Result<Box<dyn InputModule>, TchError> {
        Ok(Box::new(UserInput(nn::linear(path / "lin", v as i64, 12, Default::default()), 12)))
    };
    let mut model =
        EndModel::with_input(Arc::clone(&p.graph), v, tiny(Architecture::FlatMtl), Device::Cpu, make).unwrap();
    assert_eq!(model.config().input, InputConfig::Custom { dim: 12 });
    model.train(&TrainSet::new(&p.x, &p.labels), None, &train_config()).unwrap();
    let acc = accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test);
    assert!(acc >= 0.6, "test accuracy {acc:.3}");
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    assert!(EndModel::load(dir.path(), Device::Cpu).is_err());
    let loaded = EndModel::load_with_input(dir.path(), Device::Cpu, make).unwrap();
    assert_eq!(loaded.predict(&p.x_test, 0).unwrap(), model.predict(&p.x_test, 0).unwrap());
}

/// A user intermediate layer: tanh instead of ReLU, built with tch's `nn::linear`.
struct TanhLayer(nn::Linear, usize);

impl HiddenModule for TanhLayer {
    fn out_dim(&self) -> usize {
        self.1
    }
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor, TchError> {
        nn::Module::forward(&self.0, x).f_tanh()
    }
}

fn tanh_layer(path: &nn::Path<'_>, _i: usize, d_in: usize, d_out: usize) -> Result<Box<dyn HiddenModule>, TchError> {
    Ok(Box::new(TanhLayer(nn::linear(path / "lin", d_in as i64, d_out as i64, Default::default()), d_out)))
}

#[test]
fn user_layers_train_and_reload() {
    let p = problem();
    let v = p.x.n_features();
    let mut model =
        EndModel::with_layers(Arc::clone(&p.graph), v, tiny(Architecture::hier()), Device::Cpu, tanh_layer).unwrap();
    assert!(model.config().custom_layers);
    let names: Vec<String> = model.var_store().variables().into_keys().filter(|k| k.starts_with("layers")).collect();
    assert!(names.iter().any(|n| n.ends_with("lin.weight")), "{names:?}");
    let log = model
        .train(&TrainSet::new(&p.x, &p.labels), Some(&DevSet::new(&p.x_dev, &p.gold_dev)), &train_config())
        .unwrap();
    assert!(log.epochs[9].loss < log.epochs[0].loss);
    let acc = accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test);
    assert!(acc >= 0.7, "test accuracy {acc:.3}");

    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let err = end_model_error(EndModel::load(dir.path(), Device::Cpu).unwrap_err());
    assert!(matches!(err, EndModelError::InvalidConfig { name: "custom_layers", .. }), "{err}");
    let err = end_model_error(
        EndModel::load_with_modules(dir.path(), Device::Cpu, Modules::new().input(|_| unreachable!())).unwrap_err(),
    );
    assert!(matches!(err, EndModelError::InvalidConfig { name: "input", .. }), "{err}");
    let loaded = EndModel::load_with_modules(dir.path(), Device::Cpu, Modules::new().layers(tanh_layer)).unwrap();
    assert_eq!(loaded.predict(&p.x_test, 0).unwrap(), model.predict(&p.x_test, 0).unwrap());

    // A layer whose width is not the configured one is an error, not a shape panic later.
    let wrong = |path: &nn::Path<'_>, i: usize, d_in: usize, d_out: usize| tanh_layer(path, i, d_in, d_out + 1);
    let err = end_model_error(
        EndModel::with_layers(Arc::clone(&p.graph), v, tiny(Architecture::hier()), Device::Cpu, wrong).unwrap_err(),
    );
    assert!(err.to_string().contains("intermediate layer 1 has 33 outputs"), "{err}");
    // A config that says "custom layers" cannot be built without them.
    let err = end_model_error(
        EndModel::new_on(
            Arc::clone(&p.graph),
            v,
            EndModelConfig { custom_layers: true, ..tiny(Architecture::hier()) },
            Device::Cpu,
        )
        .unwrap_err(),
    );
    assert!(matches!(err, EndModelError::InvalidConfig { name: "custom_layers", .. }), "{err}");
}

#[test]
fn end_models_can_move_between_threads() {
    fn is_send<T: Send>() {}
    is_send::<EndModel>();
    is_send::<TrainLog>();
    is_send::<Predictions>();
}

#[test]
fn learning_rate_selection_keeps_the_best_dev_accuracy() {
    let p = problem();
    let build = || EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::FlatMtl), Device::Cpu);
    let (train, dev) = (TrainSet::new(&p.x, &p.labels), DevSet::new(&p.x_dev, &p.gold_dev));
    let cfg = TrainConfig { n_epochs: 5, ..train_config() };
    let chosen = select::learning_rate(build, &train, &dev, &cfg, &[1e-6, 0.02]).unwrap();
    assert_eq!(chosen.tried.iter().map(|t| t.0).collect::<Vec<_>>(), [1e-6, 0.02]);
    let best = chosen.tried.iter().fold(f64::NEG_INFINITY, |m, t| m.max(t.1));
    assert_eq!(chosen.log.best_dev_accuracy, Some(best));
    assert_eq!(chosen.lr, 0.02, "a rate of 1e-6 barely moves the weights: {:?}", chosen.tried);
    assert_eq!(chosen.model.accuracy(&dev).unwrap(), best);
    let err = select::learning_rate(build, &train, &dev, &cfg, &[]).unwrap_err();
    assert!(err.to_string().contains("at least one learning rate"), "{err}");
}

/// Runs on CUDA where libtorch sees a GPU; elsewhere there is nothing to check and it says so.
#[test]
fn training_on_cuda_matches_the_cpu_when_a_gpu_is_there() {
    if !tch::Cuda::is_available() {
        eprintln!("no CUDA device: the CUDA check did not run");
        return;
    }
    let p = problem();
    let run = |device: Device| {
        let mut model =
            EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::hier()), device).unwrap();
        let log = model.train(&TrainSet::new(&p.x, &p.labels), None, &train_config()).unwrap();
        assert_eq!(log.device, format!("{device:?}"));
        model.predict_proba(&p.x_test).unwrap()
    };
    let (cpu, cuda) = (run(Device::Cpu), run(Device::Cuda(0)));
    let diff = (cpu.end_labels().to_owned() - cuda.end_labels()).mapv(f64::abs).fold(0.0, |m: f64, &d| m.max(d));
    assert!(diff < 1e-3, "CPU and CUDA probabilities differ by {diff}");
}

/// The label models' contract: a configuration's `fit(train, dev)` gives a trained model whose
/// `predict_proba` is `ProbLabels` and whose `predict` breaks ties with a seed.
#[test]
fn fit_follows_the_label_model_contract() {
    let p = problem();
    let train = TrainSet::new(&p.x, &p.labels);
    let dev = DevSet::new(&p.x_dev, &p.gold_dev);
    let model = tiny(Architecture::hier()).fit(&train, Some(&dev), &train_config()).unwrap();
    let log = model.train_log().unwrap();
    assert_eq!(log.best_dev_accuracy, Some(model.accuracy(&dev).unwrap()));
    let probs = model.predict_proba(&p.x_test).unwrap();
    assert_eq!(probs.graph(), &*p.graph);
    assert_eq!(model.predict(&p.x_test, 0).unwrap(), probs.argmax(0));
    assert!(accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test) > 0.8);
    // The same as building and training by hand.
    let (by_hand, _) = trained(&p, tiny(Architecture::hier()));
    assert_eq!(by_hand.predict_proba(&p.x_test).unwrap(), probs);
    // A model built and not trained has no log.
    let fresh = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::hier()), Device::Cpu);
    assert!(fresh.unwrap().train_log().is_none());
}

/// Cross-validated epochs on gold labels alone: one mean held-out accuracy per epoch, the best
/// of them chosen, the same for the same seed; bad fold counts and lengths are errors.
#[test]
fn epochs_are_chosen_by_cross_validation() {
    let p = problem();
    let build = || EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::hier()), Device::Cpu);
    let cfg = TrainConfig { n_epochs: 6, ..train_config() };
    let run = |seed| select::epochs_by_cross_validation(build, (&p.x_dev).into(), &p.gold_dev, &p.graph, &cfg, 5, seed);
    let choice = run(1).unwrap();
    assert_eq!(choice.curve.len(), 6);
    assert_eq!(choice.accuracy, choice.curve[choice.epochs - 1]);
    assert!(choice.curve.iter().all(|&a| a <= choice.accuracy));
    assert!(choice.accuracy > 0.5, "{choice:?}");
    assert_eq!(run(1).unwrap(), choice);
    let x = (&p.x_dev).into();
    let err = select::epochs_by_cross_validation(build, x, &p.gold_dev, &p.graph, &cfg, 1, 0).unwrap_err();
    assert!(err.to_string().contains("folds"), "{err}");
    let err = select::epochs_by_cross_validation(build, x, &p.gold_dev[1..], &p.graph, &cfg, 5, 0).unwrap_err();
    assert!(err.to_string().contains("gold labels"), "{err}");
}

#[test]
fn word_vector_input_averages_its_rows_and_learns() {
    let p = problem();
    let words = p.featurizer.vocabulary();
    // Vectors that spell out each word's end label (w0–w39 name one of 4 labels); others absent.
    let dir = tempfile::tempdir().unwrap();
    let known: Vec<&String> = words.iter().filter(|w| w[1..].parse::<usize>().unwrap() < 40).collect();
    let mut vectors = Array2::<f32>::zeros((known.len(), 4));
    for (i, w) in known.iter().enumerate() {
        vectors[[i, w[1..].parse::<usize>().unwrap() / 10]] = 1.0;
    }
    let vocab: String = known.iter().map(|w| format!("{w}\n")).collect();
    std::fs::write(dir.path().join("vocab.txt"), vocab).unwrap();
    crate::io::npy::write_f32_2d(dir.path().join("vectors.npy"), vectors.view()).unwrap();
    let glove = crate::encoder::WordVectors::load(dir.path()).unwrap();

    let config = |trainable| EndModelConfig {
        input: InputConfig::WordVectors { dim: 4, trainable },
        ..tiny(Architecture::hier())
    };
    let build = |trainable| {
        let mut m = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), config(trainable), Device::Cpu).unwrap();
        assert_eq!(m.set_word_vectors(&glove, words).unwrap(), known.len());
        m
    };
    // The input is the count-weighted mean of the rows.
    let model = build(false);
    let one = p.featurizer.transform(&["w3 w3 w12 zzz"]);
    let batch = Features::from(&one).batch(&[0], true, Device::Cpu).unwrap();
    let out = model.net.input_module().forward_t(&batch, false).unwrap();
    assert_eq!(Vec::<f32>::try_from(out.view([-1])).unwrap(), [2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0]);

    for trainable in [false, true] {
        let mut model = build(trainable);
        let before = model.var_store().variables()["input.weight"].copy();
        model
            .train(&TrainSet::new(&p.x, &p.labels), Some(&DevSet::new(&p.x_dev, &p.gold_dev)), &train_config())
            .unwrap();
        let after = &model.var_store().variables()["input.weight"];
        let moved = f64::try_from((after - &before).abs().sum(tch::Kind::Float)).unwrap();
        assert_eq!(moved > 0.0, trainable, "trainable {trainable}: the table moved by {moved}");
        let acc = accuracy(&model.predict(&p.x_test, 0).unwrap(), &p.gold_test);
        assert!(acc > 0.8, "trainable {trainable}: test accuracy {acc:.3}");
        // A save keeps the table: the reload predicts the same without the vectors.
        let saved = tempfile::tempdir().unwrap();
        model.save(saved.path().join("m")).unwrap();
        let back = EndModel::load(saved.path().join("m"), Device::Cpu).unwrap();
        assert_eq!(back.predict(&p.x_test, 0).unwrap(), model.predict(&p.x_test, 0).unwrap());
    }
    // Wrong uses are errors.
    let mut bow =
        EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), tiny(Architecture::hier()), Device::Cpu).unwrap();
    assert!(matches!(
        end_model_error(bow.set_word_vectors(&glove, words).unwrap_err()),
        EndModelError::InvalidConfig { .. }
    ));
    let mut model = build(true);
    let err = end_model_error(model.set_word_vectors(&glove, &words[1..]).unwrap_err());
    assert!(matches!(err, EndModelError::ShapeMismatch { .. }), "{err}");
    let wide =
        EndModelConfig { input: InputConfig::WordVectors { dim: 5, trainable: true }, ..tiny(Architecture::hier()) };
    let mut model = EndModel::new_on(Arc::clone(&p.graph), p.x.n_features(), wide, Device::Cpu).unwrap();
    assert!(matches!(
        end_model_error(model.set_word_vectors(&glove, words).unwrap_err()),
        EndModelError::ShapeMismatch { .. }
    ));
}

/// Each text as one vector per word: word `wN` is a fixed random 64-wide vector drawn from seed N.
fn word_states(texts: &[String]) -> crate::encoder::TokenStates {
    let vector = |word: &str| -> Vec<f32> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(word[1..].parse().unwrap());
        (0..64).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    };
    let blocks = texts.iter().map(|t| t.split(' ').flat_map(vector).collect()).collect();
    crate::encoder::TokenStates::from_blocks(64, blocks).unwrap()
}

#[test]
fn token_state_input_takes_the_max_over_tokens_and_learns() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let graph = news_graph();
    let (train, gold) = documents(400, &mut rng);
    let (dev, gold_dev) = documents(50, &mut rng);
    let (test, gold_test) = documents(300, &mut rng);
    let labels = ProbLabels::one_hot(Arc::clone(&graph), &gold).unwrap();
    let (x, x_dev, x_test) = (word_states(&train), word_states(&dev), word_states(&test));
    let config = EndModelConfig { input: InputConfig::TokenStates { dim: 32 }, ..tiny(Architecture::hier()) };
    let mut model = EndModel::new_on(Arc::clone(&graph), 64, config, Device::Cpu).unwrap();

    // The input is max over tokens of relu(x W + b), whatever else is in the batch (up to the
    // rounding of a matrix product of another shape).
    let short = word_states(&["w3 w12".to_owned(), "w5 w6 w7 w8 w9".to_owned()]);
    let alone = Features::from(&short).batch(&[0], false, Device::Cpu).unwrap();
    let padded = Features::from(&short).batch(&[1, 0], false, Device::Cpu).unwrap();
    let input = model.net.input_module();
    let out_alone = input.forward_t(&alone, false).unwrap();
    let out_padded = input.forward_t(&padded, false).unwrap().get(1);
    let diff = f64::try_from((&out_padded - out_alone.view([-1])).abs().max()).unwrap();
    assert!(diff < 1e-6, "padding changed the output by {diff}");
    let vars = model.var_store().variables();
    let tokens = Tensor::from_slice(short.item(0)).view([2, 64]);
    let by_hand = tokens.matmul(&vars["input.weight"]).g_add(&vars["input.bias"]).relu().amax([0i64].as_slice(), false);
    let diff = f64::try_from((by_hand - out_alone.view([-1])).abs().max()).unwrap();
    assert!(diff < 1e-6, "max over tokens differs by {diff}");
    // An item without tokens gives zeros, and leaves its neighbour's row alone.
    let with_empty = crate::encoder::TokenStates::from_blocks(64, vec![vec![], short.item(0).to_vec()]).unwrap();
    let out = input.forward_t(&Features::from(&with_empty).batch(&[0, 1], false, Device::Cpu).unwrap(), false).unwrap();
    assert_eq!(out.size(), [2, 32]);
    assert_eq!(f64::try_from(out.get(0).abs().max()).unwrap(), 0.0);
    let diff = f64::try_from((out.get(1) - out_alone.view([-1])).abs().max()).unwrap();
    assert!(diff < 1e-6, "the empty item changed its neighbour by {diff}");

    model.train(&TrainSet::new(&x, &labels), Some(&DevSet::new(&x_dev, &gold_dev)), &train_config()).unwrap();
    let pred = model.predict(&x_test, 0).unwrap();
    let acc = accuracy(&pred, &gold_test);
    // Measured (CPU): 0.997.
    assert!(acc > 0.8, "test accuracy {acc:.3}");
    let saved = tempfile::tempdir().unwrap();
    model.save(saved.path().join("m")).unwrap();
    let back = EndModel::load(saved.path().join("m"), Device::Cpu).unwrap();
    assert_eq!(back.predict_proba(&x_test).unwrap(), model.predict_proba(&x_test).unwrap());

    // Features of another kind, or of another width, are errors.
    let featurizer = Featurizer::fit(&train, &FeaturizerConfig::default()).unwrap();
    let words = featurizer.transform(&test);
    assert!(model.predict(&words, 0).is_err());
    let narrow = crate::encoder::TokenStates::from_blocks(8, vec![vec![0.0; 16]]).unwrap();
    let err = end_model_error(model.predict(&narrow, 0).unwrap_err());
    assert!(matches!(err, EndModelError::ShapeMismatch { .. }), "{err}");
}
