//! An on-disk cache of sentence embeddings and token states, keyed by the model and the text.
//!
//! One folder per model ([`SentenceEncoder::key`]) holds shard files, each written once under a
//! temporary name and renamed, so an interrupted run leaves no partial shard. An embedding shard
//! (`.emb`) is `METALEMB` + version (u32) + width (u32) + count (u64), then per text its key (the
//! first 16 bytes of the SHA-256 of its UTF-8 bytes) and its embedding (width × f32). A
//! token-state shard (`.tok`, [`EmbeddingCache::encode_tokens`]) is `METALTOK` + the same header,
//! then per text its key, its token count (u32) and that many rows of width × f32. All numbers
//! are little-endian.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use sha2::{Digest, Sha256};

use super::{EncodeConfig, SentenceEncoder, TokenStates};
use crate::error::EncoderError;

const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8;

type Key = [u8; 16];

/// Stored values by text key.
type Records = HashMap<Key, Vec<f32>>;

fn text_key(text: &str) -> Key {
    let digest = Sha256::digest(text.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// One of the two shard kinds.
#[derive(Debug, Clone, Copy)]
struct Format {
    magic: &'static [u8; 8],
    ext: &'static str,
    /// Whether each record holds a row count (token states) or exactly one row (embeddings).
    rows: bool,
    what: &'static str,
}

const EMBEDDINGS: Format = Format { magic: b"METALEMB", ext: "emb", rows: false, what: "embedding" };
const TOKEN_STATES: Format = Format { magic: b"METALTOK", ext: "tok", rows: true, what: "token-state" };

/// Embeddings of one model, stored under a folder (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

impl EmbeddingCache {
    /// The cache of `encoder`'s embeddings under `root` (its folder: `root/<model key>`).
    pub fn open(root: impl AsRef<Path>, encoder: &SentenceEncoder) -> Self {
        EmbeddingCache { dir: root.as_ref().join(encoder.key()) }
    }

    /// The cache under `embeddings/` of the user cache ([`cache_root`](super::cache_root)).
    ///
    /// # Errors
    /// None today; kept fallible for caches that must be created.
    pub fn open_default(encoder: &SentenceEncoder) -> crate::Result<Self> {
        Ok(Self::open(super::cache_root().join("embeddings"), encoder))
    }

    /// The folder of this model's shards.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(path: &Path, message: impl Into<String>) -> EncoderError {
        EncoderError::Cache { path: path.to_owned(), message: message.into() }
    }

    /// The stored records of kind `fmt` and width `dim` whose keys are in `wanted`, by text key
    /// (every shard is read and checked; only the wanted records are kept).
    fn load(&self, fmt: Format, dim: usize, wanted: &HashSet<Key>) -> Result<Records, EncoderError> {
        let mut out = HashMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Self::err(&self.dir, e.to_string())),
        };
        let mut shards: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == fmt.ext))
            .collect();
        shards.sort();
        for path in shards {
            let bytes = std::fs::read(&path).map_err(|e| Self::err(&path, e.to_string()))?;
            parse_shard(&bytes, fmt, dim, wanted, &mut out).map_err(|m| Self::err(&path, m))?;
        }
        Ok(out)
    }

    /// Writes one shard of kind `fmt` atomically (temporary file, then rename).
    fn store(&self, fmt: Format, dim: usize, records: &[(Key, &[f32])]) -> Result<(), EncoderError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Self::err(&self.dir, e.to_string()))?;
        let values: usize = records.iter().map(|(_, v)| v.len()).sum();
        let mut buf = Vec::with_capacity(HEADER + records.len() * 20 + values * 4);
        buf.extend_from_slice(fmt.magic);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(dim as u32).to_le_bytes());
        buf.extend_from_slice(&(records.len() as u64).to_le_bytes());
        for (key, values) in records {
            buf.extend_from_slice(key);
            if fmt.rows {
                buf.extend_from_slice(&((values.len() / dim) as u32).to_le_bytes());
            }
            values.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        }
        let name: String = Sha256::digest(&buf).iter().take(8).map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{name}.{}", fmt.ext));
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Self::err(&path, e.to_string())
        })
    }

    /// The stored records of `texts` (one per text, in order), computing the missing ones (each
    /// distinct text once) with `compute` and storing them in a new shard.
    fn lookup(
        &self,
        encoder: &SentenceEncoder,
        fmt: Format,
        texts: &[String],
        compute: impl FnOnce(&[String]) -> Result<Vec<Vec<f32>>, EncoderError>,
    ) -> Result<(Vec<Key>, Records), EncoderError> {
        if !self.dir.ends_with(encoder.key()) {
            return Err(EncoderError::InvalidConfig {
                name: "encoder",
                value: encoder.key().to_owned(),
                expected: "the model the cache was opened for",
            });
        }
        let dim = encoder.dim();
        let keys: Vec<Key> = texts.iter().map(|t| text_key(t)).collect();
        let mut stored = self.load(fmt, dim, &keys.iter().copied().collect())?;
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !stored.contains_key(k) && seen.insert(*k) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let new_texts: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
            let values = compute(&new_texts)?;
            let records: Vec<(Key, &[f32])> =
                missing.iter().zip(&values).map(|(&i, v)| (keys[i], v.as_slice())).collect();
            self.store(fmt, dim, &records)?;
            for (&i, v) in missing.iter().zip(values) {
                stored.insert(keys[i], v);
            }
        }
        Ok((keys, stored))
    }

    /// The embeddings of `texts` (row i for text i), computing with `encoder` only the texts this
    /// cache does not hold and storing them in a new shard.
    ///
    /// # Errors
    /// [`EncoderError::Cache`] for an unreadable or corrupt shard (named) or a folder that cannot
    /// be written; the errors of [`SentenceEncoder::encode`]; [`EncoderError::InvalidConfig`]
    /// when `encoder` is not the cache's model.
    pub fn encode(
        &self,
        encoder: &SentenceEncoder,
        texts: &[String],
        config: &EncodeConfig,
    ) -> crate::Result<Array2<f32>> {
        let (keys, stored) = self.lookup(encoder, EMBEDDINGS, texts, |new| {
            Ok(encoder.encode_inner(new, config)?.outer_iter().map(|row| row.to_vec()).collect())
        })?;
        let mut out = Array2::<f32>::zeros((texts.len(), encoder.dim()));
        for (mut row, key) in out.outer_iter_mut().zip(&keys) {
            row.iter_mut().zip(&stored[key]).for_each(|(o, &v)| *o = v);
        }
        Ok(out)
    }

    /// The token states of `texts` ([`SentenceEncoder::encode_tokens`]), computing only the texts
    /// this cache does not hold and storing them in a new shard. They take 1.5 KB per token for
    /// all-MiniLM-L6-v2 (384 × f32).
    ///
    /// # Errors
    /// As for [`encode`](Self::encode).
    pub fn encode_tokens(
        &self,
        encoder: &SentenceEncoder,
        texts: &[String],
        config: &EncodeConfig,
    ) -> crate::Result<TokenStates> {
        let (keys, mut stored) = self.lookup(encoder, TOKEN_STATES, texts, |new| {
            let x = encoder.encode_tokens_inner(new, config)?;
            Ok((0..x.n_items()).map(|i| x.item(i).to_vec()).collect())
        })?;
        // A text that appears once is moved out; a repeated one is copied.
        let mut uses: HashMap<Key, usize> = HashMap::new();
        keys.iter().for_each(|k| *uses.entry(*k).or_default() += 1);
        let blocks = keys
            .iter()
            .map(|k| {
                let n = uses.get_mut(k).map(|n| {
                    *n -= 1;
                    *n
                });
                if n == Some(0) {
                    stored.remove(k).unwrap_or_default()
                } else {
                    stored[k].clone()
                }
            })
            .collect();
        TokenStates::from_blocks(encoder.dim(), blocks)
    }
}

/// Adds the records of one shard's `bytes` whose keys are in `wanted` to `out`; the message says
/// what is wrong.
fn parse_shard(bytes: &[u8], fmt: Format, dim: usize, wanted: &HashSet<Key>, out: &mut Records) -> Result<(), String> {
    if bytes.len() < HEADER || &bytes[..8] != fmt.magic {
        return Err(format!(
            "not {} shard (delete it to rebuild)",
            if fmt.rows { "a token-state" } else { "an embedding" }
        ));
    }
    let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let (version, width) = (u32_at(8), u32_at(12) as usize);
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[16..24]);
    let count = u64::from_le_bytes(count);
    if version != VERSION || width != dim {
        return Err(format!("shard version {version} width {width}; expected version {VERSION} width {dim}"));
    }
    let truncated = || format!("{} bytes, too short for {count} {}s (truncated?)", bytes.len(), fmt.what);
    let mut at = HEADER;
    for _ in 0..count {
        let head = if fmt.rows { 20 } else { 16 };
        if bytes.len() - at < head {
            return Err(truncated());
        }
        let rows = if fmt.rows { u32_at(at + 16) as usize } else { 1 };
        let len = rows.checked_mul(4 * width).ok_or_else(truncated)?;
        if bytes.len() - at - head < len {
            return Err(truncated());
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&bytes[at..at + 16]);
        if wanted.contains(&key) {
            let values = bytes[at + head..at + head + len]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            out.insert(key, values);
        }
        at += head + len;
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the {count} {}s (not one shard?)", bytes.len() - at, fmt.what));
    }
    Ok(())
}
