//! How far the radiology end model gets with perfect training labels: HierMTL trained on the
//! **gold** labels of the 2,614 training reports, and on the label model's labels, per input (the
//! bag of words, the encoder's token states) and learning rate, with the pipeline's dev selection
//! (the best of up to 30 epochs on the 50 dev labels, patience 5). If the gold-trained model stays
//! below the label model on the test reports, its input and the data size, not the weak labels,
//! keep the end model below the label model. Prints one JSON line per run.
//!
//! ```text
//! cargo run --release -p metal-examples --features torch --bin radiology-ceiling
//! ```

use std::process::ExitCode;

use metal_examples::pipeline;
use metal_examples::radiology::{data, lfs};
use metal_runtime::encoder::{EmbeddingCache, EncodeConfig, SentenceEncoder};
use metal_runtime::end_model::{DevSet, EndModel, EndModelConfig, Features, InputConfig, TrainConfig, TrainSet};
use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, LabelModel, ProbLabels};
use metal_runtime::lf::ApplyConfig;
use metal_runtime::metrics::accuracy;

fn main() -> ExitCode {
    pipeline::exit_code(run())
}

fn run() -> metal_runtime::Result<()> {
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
    let lm_test = accuracy(&label_model.predict(&l_test, 0)?, &gold_test)?;
    println!("{{\"model\":\"label model\",\"test_accuracy\":{lm_test:.4}}}");

    let (t_train, t_dev, t_test) = (texts(&train), texts(&dev), texts(&test));
    let words = Featurizer::fit(&t_train, &FeaturizerConfig::default())?;
    let bow = [words.transform(&t_train), words.transform(&t_dev), words.transform(&t_test)];
    let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?;
    let cache = EmbeddingCache::open_default(&encoder)?;
    let cfg = EncodeConfig { progress: false, ..EncodeConfig::default() };
    let states = [
        cache.encode_tokens(&encoder, &t_train, &cfg)?,
        cache.encode_tokens(&encoder, &t_dev, &cfg)?,
        cache.encode_tokens(&encoder, &t_test, &cfg)?,
    ];
    for lr in [1e-3, 3e-3] {
        for (labels_name, labels) in [("gold", &perfect), ("label model", &weak)] {
            for input in ["bow", "minilm-tokens"] {
                let (config, n_features, x): (EndModelConfig, usize, [Features<'_>; 3]) = if input == "bow" {
                    (
                        EndModelConfig::default(),
                        words.n_features(),
                        [(&bow[0]).into(), (&bow[1]).into(), (&bow[2]).into()],
                    )
                } else {
                    let config =
                        EndModelConfig { input: InputConfig::TokenStates { dim: 250 }, ..EndModelConfig::default() };
                    (config, encoder.dim(), [(&states[0]).into(), (&states[1]).into(), (&states[2]).into()])
                };
                let mut model = EndModel::new(graph.clone(), n_features, config)?;
                let train_cfg =
                    TrainConfig { lr, n_epochs: 30, patience: Some(5), progress: false, ..TrainConfig::default() };
                let log = model.train(&TrainSet::new(x[0], labels), Some(&DevSet::new(x[1], &gold_dev)), &train_cfg)?;
                let test_acc = accuracy(&model.predict(x[2], 0)?, &gold_test)?;
                let train_acc = accuracy(&model.predict(x[0], 0)?, &gold_train)?;
                println!(
                    "{{\"model\":\"HierMTL\",\"labels\":\"{labels_name}\",\"input\":\"{input}\",\"lr\":{lr},\"best_epoch\":{},\"train_accuracy\":{train_acc:.4},\"test_accuracy\":{test_acc:.4}}}",
                    log.best_epoch.unwrap_or(0)
                );
            }
        }
    }
    Ok(())
}
