//! The sentence encoder against sentence-transformers, and its embedding cache.
//!
//! Needs all-MiniLM-L6-v2 installed by `scripts/setup-models.sh` (`make test` runs it). The
//! reference embeddings in `tests/data/minilm/reference.json` were computed by
//! `scripts/minilm-reference.py` (sentence-transformers 6.2.0, torch 2.13.0, on the CPU) from the
//! same model folder and the texts of `texts.json`: a question, radiology findings with negations,
//! a news text longer than the 256-token limit, accents, CJK and an emoji, the empty string and
//! whitespace only.
#![cfg(feature = "torch")]

use metal_runtime::encoder::{EmbeddingCache, EncodeConfig, LongTexts, SentenceEncoder};
use metal_runtime::error::{EncoderError, Error};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    tokens: Vec<usize>,
    embeddings: Vec<Vec<f32>>,
}

fn fixtures() -> (Vec<String>, Reference) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/minilm");
    let texts = serde_json::from_str(&std::fs::read_to_string(dir.join("texts.json")).unwrap()).unwrap();
    let reference = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    (texts, reference)
}

fn encoder() -> SentenceEncoder {
    SentenceEncoder::minilm(tch::Device::Cpu).expect("all-MiniLM-L6-v2 is installed (scripts/setup-models.sh)")
}

fn quiet(batch_size: usize) -> EncodeConfig {
    EncodeConfig { batch_size, progress: false, threads: None }
}

fn max_diff(a: ndarray::ArrayView1<'_, f32>, b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn minilm_matches_sentence_transformers() {
    let (texts, reference) = fixtures();
    let enc = encoder();
    assert_eq!((enc.dim(), enc.max_len(), enc.normalizes()), (384, 256, true));
    let lengths: Vec<usize> = enc.tokenize(&texts).unwrap().iter().map(Vec::len).collect();
    assert_eq!(lengths, reference.tokens, "token counts (with [CLS] and [SEP], truncated at 256)");
    let mut worst = 0f32;
    for batch_size in [1, 4, 64] {
        let x = enc.encode(&texts, &quiet(batch_size)).unwrap();
        assert_eq!(x.dim(), (texts.len(), 384));
        for (i, want) in reference.embeddings.iter().enumerate() {
            let d = max_diff(x.row(i), want);
            assert!(d < 1e-4, "text {i} (batch size {batch_size}): max difference {d} to sentence-transformers");
            worst = worst.max(d);
        }
    }
    eprintln!("largest difference to sentence-transformers: {worst:e}");
}

#[test]
fn token_states_are_what_the_embedding_averages() {
    // Mean of each text's token states, L2-normalized, is sentence-transformers' embedding; the
    // states do not depend on what else is in the batch.
    let (texts, reference) = fixtures();
    let enc = encoder();
    let one = enc.encode_tokens(&texts, &quiet(1)).unwrap();
    let many = enc.encode_tokens(&texts, &quiet(64)).unwrap();
    assert_eq!((one.n_items(), one.dim()), (texts.len(), 384));
    for (i, want) in reference.embeddings.iter().enumerate() {
        assert_eq!(one.len_of(i), reference.tokens[i], "text {i}: one state per token");
        let (n, states) = (one.len_of(i), one.item(i));
        let mut mean: Vec<f32> =
            (0..384).map(|c| (0..n).map(|r| states[r * 384 + c]).sum::<f32>() / n as f32).collect();
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        mean.iter_mut().for_each(|v| *v /= norm);
        let d = max_diff(ndarray::ArrayView1::from(&mean), want);
        assert!(d < 1e-4, "text {i}: mean of the token states differs by {d} from sentence-transformers");
        let batched = many.item(i).iter().zip(states).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(batched < 1e-4, "text {i}: batch of 64 against batch of 1 differs by {batched}");
    }
}

#[test]
fn long_texts_are_read_whole_in_windows() {
    let (texts, reference) = fixtures();
    let (cut, whole) = (encoder(), encoder().with_long_texts(LongTexts::Windows));
    assert_eq!((cut.long_texts(), whole.long_texts()), (LongTexts::Truncate, LongTexts::Windows));
    // The news text (item 3) is the one longer than 256 tokens.
    assert_eq!((cut.count_long(&texts).unwrap(), whole.count_long(&texts).unwrap()), (1, 1));
    let root = tempfile::tempdir().unwrap();
    assert_ne!(cut.key(), whole.key());
    assert_ne!(EmbeddingCache::open(root.path(), &cut).dir(), EmbeddingCache::open(root.path(), &whole).dir());

    let (a, b) = (cut.encode_tokens(&texts, &quiet(4)).unwrap(), whole.encode_tokens(&texts, &quiet(4)).unwrap());
    let diff = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    for i in (0..texts.len()).filter(|&i| i != 3) {
        assert_eq!(b.len_of(i), a.len_of(i), "text {i} fits: one window");
        assert!(diff(a.item(i), b.item(i)) < 1e-4, "text {i}: a text that fits is read as when truncating");
    }
    // The first window is the truncated text; the next ones follow it, each with [CLS] and [SEP].
    let n = b.len_of(3);
    assert!(n > 256 + 2, "the long text read whole: {n} states");
    assert!(diff(&b.item(3)[..256 * 384], a.item(3)) < 1e-4, "the first window is the truncated text");
    let mut tokenizer = tokenizers::Tokenizer::from_file(whole.dir().join("tokenizer.json")).unwrap();
    tokenizer.with_truncation(None).unwrap();
    let content = tokenizer.encode(texts[3].as_str(), false).unwrap().get_ids().len();
    assert_eq!(n, content + 2 * content.div_ceil(254), "{content} tokens in windows of 254 and two special tokens");

    // The embedding is the mean of all the states, normalized; the texts that fit are unchanged.
    let x = whole.encode(&texts, &quiet(64)).unwrap();
    for (i, want) in reference.embeddings.iter().enumerate().filter(|&(i, _)| i != 3) {
        assert!(max_diff(x.row(i), want) < 1e-4, "text {i}");
    }
    let states = b.item(3);
    let mut mean: Vec<f32> = (0..384).map(|c| (0..n).map(|r| states[r * 384 + c]).sum::<f32>() / n as f32).collect();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    mean.iter_mut().for_each(|v| *v /= norm);
    assert!(max_diff(x.row(3), &mean) < 1e-4, "the long text's embedding is the mean of all its states");
    assert!(max_diff(x.row(3), &reference.embeddings[3]) > 1e-3, "and not the truncated text's");
    // Through the cache, the same values.
    let cache = EmbeddingCache::open(root.path(), &whole);
    assert_eq!(cache.encode_tokens(&whole, &texts, &quiet(4)).unwrap().item(3), b.item(3));
}

#[test]
fn cache_stores_each_text_once_and_returns_the_same_embeddings() {
    let (texts, _) = fixtures();
    let enc = encoder();
    let root = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(root.path(), &enc);
    let shards = || std::fs::read_dir(cache.dir()).map(|d| d.count()).unwrap_or(0);
    // Duplicates are embedded once.
    let mut with_dup = texts[..3].to_vec();
    with_dup.push(texts[0].clone());
    let first = cache.encode(&enc, &with_dup, &quiet(8)).unwrap();
    assert_eq!(first.row(0), first.row(3));
    assert_eq!(shards(), 1);
    let direct = enc.encode(&texts[..3], &quiet(8)).unwrap();
    assert_eq!(first.slice(ndarray::s![..3, ..]), direct);
    // All cached: nothing new is written, the values are bit-identical.
    let again = cache.encode(&enc, &with_dup, &quiet(8)).unwrap();
    assert_eq!(again, first);
    assert_eq!(shards(), 1);
    // Only the new texts make a new shard.
    let all = cache.encode(&enc, &texts, &quiet(8)).unwrap();
    assert_eq!(shards(), 2);
    assert_eq!(all.slice(ndarray::s![..3, ..]), direct);
    // A corrupt shard is named in the error.
    let shard = std::fs::read_dir(cache.dir()).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() - 3]).unwrap();
    let err = cache.encode(&enc, &texts, &quiet(8)).unwrap_err();
    assert!(
        matches!(&err, Error::Encoder(e) if matches!(**e, EncoderError::Cache { ref path, .. } if *path == shard)),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn cache_stores_token_states_once_and_returns_them_unchanged() {
    let (texts, _) = fixtures();
    let enc = encoder();
    let root = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(root.path(), &enc);
    let shards = || {
        let d = std::fs::read_dir(cache.dir()).unwrap();
        d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "tok")).count()
    };
    let mut with_dup = texts[..3].to_vec();
    with_dup.push(texts[0].clone());
    let first = cache.encode_tokens(&enc, &with_dup, &quiet(8)).unwrap();
    assert_eq!((first.n_items(), shards()), (4, 1));
    assert_eq!(first.item(3), first.item(0));
    assert_eq!(first.select(&[0, 1, 2]), enc.encode_tokens(&texts[..3], &quiet(8)).unwrap());
    assert_eq!(cache.encode_tokens(&enc, &with_dup, &quiet(8)).unwrap(), first);
    assert_eq!(shards(), 1);
    // Pooled embeddings of the same texts are a shard kind of their own.
    let pooled = cache.encode(&enc, &texts[..3], &quiet(8)).unwrap();
    assert_eq!((pooled.nrows(), shards()), (3, 1));
    let all = cache.encode_tokens(&enc, &texts, &quiet(8)).unwrap();
    assert_eq!((all.n_items(), shards()), (texts.len(), 2));
    assert_eq!(all.select(&[0, 1, 2]), first.select(&[0, 1, 2]));
    // A truncated shard is named in the error.
    let shard = std::fs::read_dir(cache.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "tok"))
        .unwrap();
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() - 3]).unwrap();
    let err = cache.encode_tokens(&enc, &texts, &quiet(8)).unwrap_err();
    assert!(err.to_string().contains("truncated") && err.to_string().contains(&shard.display().to_string()), "{err}");
}

#[test]
fn a_missing_model_folder_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = SentenceEncoder::load(dir.path(), tch::Device::Cpu).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("scripts/setup-models.sh") && msg.contains(&dir.path().display().to_string()), "{msg}");
    // A folder with weights but a malformed config names the file.
    let enc = encoder();
    std::fs::copy(enc.dir().join("model.safetensors"), dir.path().join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("config.json"), "{\"hidden_size\": 384}").unwrap();
    let msg = SentenceEncoder::load(dir.path(), tch::Device::Cpu).unwrap_err().to_string();
    assert!(msg.contains("config.json") && msg.contains("missing field"), "{msg}");
}

#[test]
fn the_encoder_fine_tunes_as_the_end_models_input_and_round_trips() {
    use std::sync::Arc;

    use metal_runtime::encoder::minilm_dir;
    use metal_runtime::end_model::{
        Architecture, DevSet, EndModel, EndModelConfig, InputConfig, TrainConfig, TrainSet,
    };
    use metal_runtime::label_model::ProbLabels;
    use metal_runtime::schema::{TaskDef, TaskGraph};

    let graph = Arc::new(TaskGraph::new(vec![TaskDef::new("Finding", ["normal", "abnormal"])]).unwrap());
    let texts: Vec<String> = [
        "The lungs are clear.",
        "No acute cardiopulmonary abnormality.",
        "Normal chest radiograph.",
        "Heart size is normal and the lungs are clear.",
        "No pneumothorax or pleural effusion.",
        "Unremarkable study.",
        "Large right pleural effusion.",
        "Left lower lobe consolidation concerning for pneumonia.",
        "There is a moderate pneumothorax on the right.",
        "Cardiomegaly with pulmonary edema.",
        "Displaced rib fracture.",
        "Mass in the right upper lobe.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let gold: Vec<usize> = (0..12).map(|i| usize::from(i >= 6)).collect();
    let labels = ProbLabels::one_hot(graph.clone(), &gold).unwrap();
    let config = EndModelConfig {
        architecture: Architecture::FlatMtl,
        input: InputConfig::Encoder { dir: minilm_dir() },
        layers: vec![16],
        seed: 3,
        ..EndModelConfig::default()
    };
    let mut model = EndModel::new_on(graph.clone(), 30522, config, tch::Device::Cpu).unwrap();
    let ids = model.tokenize(&texts).unwrap();
    let before: Vec<f64> = model.predict_proba(model.tokens(&ids)).unwrap().end_labels().iter().copied().collect();
    let train = TrainConfig {
        lr: 3e-3,
        encoder_lr: Some(1e-4),
        n_epochs: 4,
        batch_size: 4,
        progress: false,
        threads: Some(1),
        ..TrainConfig::default()
    };
    let log = model.train(&TrainSet::new(model.tokens(&ids), &labels), None, &train).unwrap();
    assert!(log.epochs.last().unwrap().loss < log.epochs[0].loss, "{:?}", log.epochs);
    assert_eq!(model.accuracy(&DevSet::new(model.tokens(&ids), &gold)).unwrap(), 1.0);
    // The pretrained weights moved (at their own rate).
    let encoder_weight =
        |m: &EndModel| m.var_store().variables()["input.encoder.layer.0.attention.self.query.weight"].copy();
    let trained = encoder_weight(&model);
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = EndModel::load(dir.path(), tch::Device::Cpu).unwrap();
    assert!(encoder_weight(&loaded).equal(&trained));
    let fresh = EndModel::new_on(graph, 30522, model.config().clone(), tch::Device::Cpu).unwrap();
    assert!(!encoder_weight(&fresh).equal(&trained), "fine-tuning changed the encoder");
    let after = model.predict_proba(model.tokens(&ids)).unwrap();
    assert_eq!(loaded.predict_proba(loaded.tokens(&ids)).unwrap(), after);
    assert_ne!(after.end_labels().iter().copied().collect::<Vec<_>>(), before);
    // Word counts are not token ids.
    let err = model.tokenize(&texts[..1]).map(|_| ()).and_then(|_| {
        EndModel::new_on(model.graph().clone(), 100, model.config().clone(), tch::Device::Cpu).map(|_| ())
    });
    assert!(err.unwrap_err().to_string().contains("vocabulary size"));
}

#[test]
fn glove_as_installed_reads_in_row_order() {
    // GloVe 6B 50d as `scripts/setup-models.sh` writes it: the package's Fortran-order table and
    // its word index. The first vector's values are those of glove.6B.50d.txt's first line.
    let glove = metal_runtime::encoder::WordVectors::glove().expect("GloVe is installed (scripts/setup-models.sh)");
    assert_eq!((glove.len(), glove.dim()), (400_000, 50));
    let the = glove.get("the").expect("`the` is in GloVe");
    assert!((the[0] - 0.418).abs() < 1e-6 && (the[1] - 0.24968).abs() < 1e-6, "{:?}", &the[..2]);
    assert!(glove.get("radiology").is_some() && glove.get("NOT_effusion").is_none());
    let (rows, found) = glove.rows_for(&["the".to_owned(), "zzzqqq-not-a-word".to_owned()]);
    assert_eq!(found, 1);
    assert_eq!(rows.row(0).to_vec(), the.to_vec());
    assert!(rows.row(1).iter().all(|&v| v == 0.0));
}
