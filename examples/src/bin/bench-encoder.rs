//! Benchmark: the sentence encoder (all-MiniLM-L6-v2) and the end model's input modules on the
//! TREC questions and the IU X-ray reports. Prints one JSON line per measurement.
//!
//! ```text
//! bench-encoder [--threads N] [--texts-out DIR]
//! ```
//!
//! - `encoder_throughput`: texts per second of [`SentenceEncoder::encode`] (batch 64, sorted by
//!   length) on the training texts of each corpus, after one warm-up batch, at `--threads`
//!   libtorch threads (default 1). With `--texts-out DIR` the texts are also written to
//!   `DIR/<corpus>.json`, for `bench/encoder_reference.py` to encode the same texts with
//!   sentence-transformers.
//! - `end_model_epoch`: seconds per epoch of HierMTL (batch 32) on the first 1,000 TREC training
//!   questions with one-hot gold labels, per input module: `bow` (word counts → bag of words 250 →
//!   50), `minilm` (frozen embeddings, computed beforehand → 250 → 50), `minilm-tokens` (frozen
//!   token states, computed beforehand → per-token layer of 250, max over tokens → 50) and
//!   `minilm-tuned` (the encoder fine-tuned with the network → 250 → 50), 1 epoch each (2 for the
//!   first three).
//! - `cache_lookup`: seconds to read the token states of the TREC training questions back from an
//!   [`EmbeddingCache`] that holds only them, and from one that also holds the token states of
//!   1,000 radiology reports (written once into the workspace's `target/bench-cache/`, then reused). A lookup
//!   reads only the shards that hold its texts, so the two should take about the same time.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use metal_examples::{radiology, trec};
use metal_runtime::encoder::{minilm_dir, EmbeddingCache, EncodeConfig, SentenceEncoder};
use metal_runtime::end_model::{Architecture, EndModel, EndModelConfig, Features, InputConfig, TrainConfig, TrainSet};
use metal_runtime::featurize::{Featurizer, FeaturizerConfig};
use metal_runtime::label_model::ProbLabels;
use metal_runtime::prelude::*;
use metal_runtime::schema::TaskGraph;

type BenchResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1usize;
    let mut texts_out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--threads", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => threads = n,
                _ => return fail(format!("`--threads {v}`: expected a number ≥ 1")),
            },
            ("--texts-out", Some(v)) => texts_out = Some(std::path::PathBuf::from(v)),
            _ => return fail("usage: bench-encoder [--threads N] [--texts-out DIR]".into()),
        }
    }
    match run(threads, texts_out.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e.to_string()),
    }
}

fn fail(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

fn run(threads: usize, texts_out: Option<&std::path::Path>) -> BenchResult<()> {
    let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?;
    let questions = trec::data::load_train(None)?;
    let reports = radiology::data::load_train(None)?;
    let corpora: [(&str, Vec<String>); 2] = [
        ("trec", questions.iter().map(|q| q.text.clone()).collect()),
        ("radiology", reports.iter().map(|r| r.text.clone()).collect()),
    ];
    let cfg = EncodeConfig { batch_size: 64, progress: false, threads: Some(threads) };
    for (name, texts) in &corpora {
        if let Some(dir) = texts_out {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("{name}.json")), serde_json::to_string(texts)?)?;
        }
        encoder.encode(&texts[..64.min(texts.len())], &cfg)?; // warm-up
        let start = Instant::now();
        encoder.encode(texts, &cfg)?;
        let secs = start.elapsed().as_secs_f64();
        let tokens: usize = encoder.tokenize(texts)?.iter().map(Vec::len).sum();
        println!(
            "{{\"name\":\"encoder_throughput\",\"impl\":\"metal-rs\",\"model\":\"all-MiniLM-L6-v2\",\"corpus\":\"{name}\",\"n_texts\":{},\"mean_tokens\":{:.1},\"threads\":{threads},\"batch_size\":64,\"seconds\":{secs:.3},\"texts_per_second\":{:.1}}}",
            texts.len(),
            tokens as f64 / texts.len() as f64,
            texts.len() as f64 / secs
        );
    }

    // Seconds per epoch of each input module, HierMTL on 1,000 TREC questions.
    let n = 1000.min(questions.len());
    let texts: Vec<String> = questions[..n].iter().map(|q| q.text.clone()).collect();
    let quiet = ApplyConfig { progress: false, ..ApplyConfig::default() };
    let graph: Arc<TaskGraph> = trec::lfs::all_lfs().apply_with(&questions[..n], &quiet)?.0.graph_arc().clone();
    let gold: Vec<usize> = questions[..n].iter().map(|q| q.label).collect();
    let labels = ProbLabels::one_hot(graph.clone(), &gold)?;
    let train = |epochs| TrainConfig {
        n_epochs: epochs,
        batch_size: 32,
        progress: false,
        threads: Some(threads),
        encoder_lr: Some(1e-4),
        ..TrainConfig::default()
    };
    let report = |input: &str, epochs: usize, secs: f64| {
        println!(
            "{{\"name\":\"end_model_epoch\",\"impl\":\"metal-rs\",\"corpus\":\"trec\",\"arch\":\"hier\",\"input\":\"{input}\",\"n_train\":{n},\"epochs\":{epochs},\"threads\":{threads},\"batch_size\":32,\"seconds_per_epoch\":{:.3}}}",
            secs / epochs as f64
        )
    };
    let featurizer = Featurizer::fit(&texts, &FeaturizerConfig::default())?;
    let words = featurizer.transform(&texts);
    let config = |input, layers| EndModelConfig {
        architecture: Architecture::hier(),
        input,
        layers,
        ..EndModelConfig::default()
    };
    let mut bow = EndModel::new_on(
        graph.clone(),
        words.n_features(),
        config(InputConfig::BagOfWords { dim: 250 }, vec![50]),
        tch::Device::Cpu,
    )?;
    let log = bow.train(&TrainSet::new(&words, &labels), None, &train(2))?;
    report("bow", 2, log.seconds);
    let embeddings = encoder.encode(&texts, &cfg)?;
    let mut frozen =
        EndModel::new_on(graph.clone(), encoder.dim(), config(InputConfig::Identity, vec![250, 50]), tch::Device::Cpu)?;
    let log = frozen.train(&TrainSet::new(&embeddings, &labels), None, &train(2))?;
    report("minilm", 2, log.seconds);
    let states = encoder.encode_tokens(&texts, &cfg)?;
    let mut pooled = EndModel::new_on(
        graph.clone(),
        encoder.dim(),
        config(InputConfig::TokenStates { dim: 250 }, vec![50]),
        tch::Device::Cpu,
    )?;
    let log = pooled.train(&TrainSet::new(&states, &labels), None, &train(2))?;
    report("minilm-tokens", 2, log.seconds);
    let mut tuned = EndModel::new_on(
        graph,
        30522,
        config(InputConfig::Encoder { dir: minilm_dir() }, vec![250, 50]),
        tch::Device::Cpu,
    )?;
    let ids = tuned.tokenize(&texts)?;
    let log = tuned.train(&TrainSet::new(Features::Tokens { ids: &ids, vocab: 30522 }, &labels), None, &train(1))?;
    report("minilm-tuned", 1, log.seconds);

    // Cached token states, read back with and without another data set's shard beside them.
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-cache"));
    let (alone, shared) =
        (EmbeddingCache::open(root.join("alone"), &encoder), EmbeddingCache::open(root.join("shared"), &encoder));
    let questions = &corpora[0].1;
    alone.encode_tokens(&encoder, questions, &cfg)?;
    shared.encode_tokens(&encoder, questions, &cfg)?;
    shared.encode_tokens(&encoder, &corpora[1].1[..1000.min(corpora[1].1.len())], &cfg)?;
    for (name, cache) in [("trec only", &alone), ("trec + 1000 radiology reports", &shared)] {
        let size: u64 = std::fs::read_dir(cache.dir())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let start = Instant::now();
            let x = cache.encode_tokens(&encoder, questions, &cfg)?;
            best = best.min(start.elapsed().as_secs_f64());
            if x.n_items() != questions.len() {
                return Err(format!("the cache gave {} items for {} texts", x.n_items(), questions.len()).into());
            }
        }
        println!(
            "{{\"name\":\"cache_lookup\",\"impl\":\"metal-rs\",\"kind\":\"token states\",\"cache\":\"{name}\",\"cache_bytes\":{size},\"n_texts\":{},\"seconds_best_of_3\":{best:.3}}}",
            questions.len()
        );
    }
    Ok(())
}
