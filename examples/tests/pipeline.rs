//! The news pipeline end to end, small: one trial, few epochs, one learning rate, on the paper's
//! bag of words. Asserts the shape of the paper's result on the held-out test split, and that the
//! outputs are written and read back.
#![cfg(feature = "torch")]

use metal_examples::news::{data, lfs};
use metal_examples::pipeline::{self, CellId, Corpus, InputKind, PipelineConfig, Results};
use metal_runtime::lf::ApplyConfig;

fn small_run() -> Results {
    let (train, dev, test) =
        (data::load_train_subset(None).unwrap(), data::load_dev(None).unwrap(), data::load_test(None).unwrap());
    let corpus = Corpus::new(
        "news",
        "Reuters-21578",
        |items: &[data::Article], config: &ApplyConfig| lfs::all_lfs().apply_prepared(items, lfs::prepare, config),
        (&train, &dev, &test),
        |a: &data::Article| format!("{}\n{}", a.title, a.text),
        |a: &data::Article| a.label,
    )
    .unwrap();
    let config = PipelineConfig {
        trials: 1,
        first_seed: 3,
        max_epochs: 6,
        patience: 3,
        lr_grid: vec![3e-3],
        dev_labels_max_epochs: 12,
        accuracy_prior_grid: vec![1.0, 30.0],
        progress: false,
        // The protocol on the paper's bag of words (the default input's encoder costs minutes).
        input: InputKind::Bow,
        ..PipelineConfig::quick()
    };
    pipeline::run(&corpus, &config).unwrap()
}

#[test]
fn news_pipeline_reproduces_the_shape_of_the_papers_result() {
    let results = small_run();
    let acc = |c: CellId| results.trials[0].cells[&c].test_accuracy;
    for c in CellId::ALL {
        eprintln!("{:<45} {:.3}", c.label(), acc(c));
    }
    assert_eq!(results.trials.len(), 1);
    assert_eq!(results.trials[0].seed, 3);
    assert!(CellId::ALL.iter().all(|c| results.trials[0].cells.contains_key(c)));
    // Measured (seed 3): Hard MV 0.834, label model 0.913, HierMTL 0.936, dev labels 0.838.
    // Weak supervision beats majority vote, and the end model beats it on held-out articles.
    assert!(acc(CellId::LmExtended) > acc(CellId::HardMv) + 0.04);
    assert!(acc(CellId::HierMtl) > acc(CellId::HardMv) + 0.04);
    // 1,000 weakly labeled articles beat the 50 hand labels alone.
    assert!(acc(CellId::HierMtl) > acc(CellId::DevLabels) + 0.03);
    assert!(acc(CellId::HierMtl) > 0.88 && acc(CellId::SingleTask) > 0.85 && acc(CellId::FlatMtl) > 0.85);
    let hier = &results.trials[0].cells[&CellId::HierMtl];
    assert!(!hier.dev_curve.is_empty() && hier.dev_curve.len() <= 6);
    assert_eq!(hier.task_accuracy.len(), 3);
    assert!(hier.task_accuracy.iter().all(|a| a.is_some_and(|a| a > 0.8)));
    assert_eq!(results.dataset.lfs.len(), 20);
    assert_eq!(results.dataset.n_dev, 50);

    let dir = tempfile::tempdir().unwrap();
    pipeline::write_outputs(&results, dir.path()).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["dev-curves.svg", "lfs.svg", "report.txt", "trials.json"]);
    let back: Results =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("trials.json")).unwrap()).unwrap();
    assert_eq!(back, results);
    let report = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    for heading in ["Table 1.", "Table 2.", "Table 3.", "Multi-level ablation", "Per-task test accuracy"] {
        assert!(report.contains(heading), "{heading} missing from\n{report}");
    }
}

/// The TREC pipeline, small (one trial, one learning rate, at most 10 epochs), on the default
/// input: the encoder's frozen token states. There the end model generalizes beyond its label
/// model, which the bag of words does not (README, "Pretrained text encoders"). Needs
/// all-MiniLM-L6-v2 (`make test` installs it).
#[test]
fn trec_end_model_on_token_states_beats_its_label_model() {
    use metal_examples::trec::{data, lfs};
    let train = data::load_train(None).unwrap();
    let dev = pipeline::draw(&data::load_dev(None).unwrap(), pipeline::DEV_SIZE, pipeline::DEV_SEED);
    let test = data::load_test(None).unwrap();
    let set = lfs::all_lfs();
    let corpus = Corpus::new(
        "trec-dev50",
        "TREC questions",
        |items: &[data::Question], config: &ApplyConfig| set.apply_with(items, config),
        (&train, &dev, &test),
        |q: &data::Question| q.text.clone(),
        |q: &data::Question| q.label,
    )
    .unwrap();
    let config = PipelineConfig {
        trials: 1,
        max_epochs: 10,
        patience: 3,
        lr_grid: vec![3e-3],
        dev_labels_max_epochs: 12,
        accuracy_prior_grid: vec![1.0],
        progress: false,
        ..PipelineConfig::quick()
    };
    assert_eq!(config.input, InputKind::MinilmTokens, "the default input");
    let results = pipeline::run(&corpus, &config).unwrap();
    let acc = |c: CellId| results.trials[0].cells[&c].test_accuracy;
    for c in [CellId::LmExtended, CellId::SingleTask, CellId::FlatMtl, CellId::HierMtl] {
        eprintln!("{:<45} {:.3}", c.label(), acc(c));
    }
    // Measured: label model 0.782, SingleTask 0.824, FlatMTL 0.838, HierMTL 0.816 (the bag of
    // words: about 0.73).
    assert!(
        acc(CellId::HierMtl) > acc(CellId::LmExtended) + 0.01,
        "HierMTL {} vs label model {}",
        acc(CellId::HierMtl),
        acc(CellId::LmExtended)
    );
}
