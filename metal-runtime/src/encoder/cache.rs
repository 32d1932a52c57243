//! An on-disk cache of sentence embeddings, keyed by the model and the text.
//!
//! One folder per model ([`SentenceEncoder::key`]) holds shard files, each written once under a
//! temporary name and renamed, so an interrupted run leaves no partial shard. A shard is
//! `METALEMB` + version (u32) + width (u32) + count (u64), then per text its key (the first 16
//! bytes of the SHA-256 of its UTF-8 bytes) and its embedding (width × f32), all little-endian.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use sha2::{Digest, Sha256};

use super::{EncodeConfig, SentenceEncoder};
use crate::error::EncoderError;

const MAGIC: &[u8; 8] = b"METALEMB";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8;

type Key = [u8; 16];

fn text_key(text: &str) -> Key {
    let digest = Sha256::digest(text.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

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

    /// Every stored embedding of width `dim`, by text key.
    fn load(&self, dim: usize) -> Result<HashMap<Key, Vec<f32>>, EncoderError> {
        let mut out = HashMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Self::err(&self.dir, e.to_string())),
        };
        let mut shards: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "emb"))
            .collect();
        shards.sort();
        for path in shards {
            let bytes = std::fs::read(&path).map_err(|e| Self::err(&path, e.to_string()))?;
            if bytes.len() < HEADER || &bytes[..8] != MAGIC {
                return Err(Self::err(&path, "not an embedding shard (delete it to rebuild)"));
            }
            let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
            let (version, width) = (u32_at(8), u32_at(12) as usize);
            let mut count = [0u8; 8];
            count.copy_from_slice(&bytes[16..24]);
            let count = u64::from_le_bytes(count);
            if version != VERSION || width != dim {
                return Err(Self::err(
                    &path,
                    format!("shard version {version} width {width}; expected version {VERSION} width {dim}"),
                ));
            }
            let record = 16 + 4 * width;
            let expected = (count as u128) * record as u128 + HEADER as u128;
            if bytes.len() as u128 != expected {
                return Err(Self::err(
                    &path,
                    format!("{} bytes, expected {expected} for {count} embeddings (truncated?)", bytes.len()),
                ));
            }
            for rec in bytes[HEADER..].chunks_exact(record) {
                let mut key = [0u8; 16];
                key.copy_from_slice(&rec[..16]);
                let values = rec[16..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                out.insert(key, values);
            }
        }
        Ok(out)
    }

    /// Writes one shard atomically (temporary file, then rename).
    fn store(&self, dim: usize, records: &[(Key, &[f32])]) -> Result<(), EncoderError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Self::err(&self.dir, e.to_string()))?;
        let mut buf = Vec::with_capacity(HEADER + records.len() * (16 + 4 * dim));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(dim as u32).to_le_bytes());
        buf.extend_from_slice(&(records.len() as u64).to_le_bytes());
        for (key, values) in records {
            buf.extend_from_slice(key);
            values.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        }
        let name: String = Sha256::digest(&buf).iter().take(8).map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{name}.emb"));
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
        if !self.dir.ends_with(encoder.key()) {
            return Err(EncoderError::InvalidConfig {
                name: "encoder",
                value: encoder.key().to_owned(),
                expected: "the model the cache was opened for",
            }
            .into());
        }
        let dim = encoder.dim();
        let mut stored = self.load(dim)?;
        let keys: Vec<Key> = texts.iter().map(|t| text_key(t)).collect();
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !stored.contains_key(k) && seen.insert(*k) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let new_texts: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
            let x = encoder.encode_inner(&new_texts, config)?;
            let records: Vec<(Key, &[f32])> =
                missing.iter().zip(x.outer_iter()).map(|(&i, row)| (keys[i], row.to_slice().unwrap_or(&[]))).collect();
            self.store(dim, &records)?;
            for (&i, row) in missing.iter().zip(x.outer_iter()) {
                stored.insert(keys[i], row.to_vec());
            }
        }
        let mut out = Array2::<f32>::zeros((texts.len(), dim));
        for (mut row, key) in out.outer_iter_mut().zip(&keys) {
            let values = &stored[key];
            row.iter_mut().zip(values).for_each(|(o, &v)| *o = v);
        }
        Ok(out)
    }
}
