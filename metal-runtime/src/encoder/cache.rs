//! An on-disk cache of sentence embeddings and token states, keyed by the model and the text.
//!
//! One folder per model ([`SentenceEncoder::key`]) holds shard files, each written once under a
//! temporary name and renamed, so an interrupted run leaves no partial shard. A shard starts with
//! a magic (`METALEMB` for embeddings, `.emb`; `METALTOK` for token states, `.tok`,
//! [`EmbeddingCache::encode_tokens`]), a version (u32), the width (u32) and the record count
//! (u64). Version 2, the one written, follows with a table of the records, per text its key (the
//! first 16 bytes of the SHA-256 of its UTF-8 bytes) and, for token states, its token count
//! (u32); then every record's values (its rows of width × f32), in the table's order. A lookup
//! reads each shard's table and only the shards that hold a text asked for. A version-1 shard
//! (each record's values right after its key and count) is read whole once and replaced by the
//! same records in version 2. All numbers are little-endian.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use sha2::{Digest, Sha256};

use super::{EncodeConfig, SentenceEncoder, TokenStates};
use crate::error::EncoderError;

/// The version written; version 1 is still read.
const VERSION: u32 = 2;
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
    /// (every shard's header and table are read and checked against its size; only the shards
    /// holding a wanted record are read further).
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
            let rewritten = read_shard(&path, fmt, dim, wanted, &mut out).map_err(|m| Self::err(&path, m))?;
            // A version-1 shard is replaced by the same records in version 2, once; where that
            // cannot be written (a read-only cache), the old shard stays and is read as it is.
            if let Some(bytes) = rewritten {
                if self.write_shard(fmt, &bytes).is_ok() {
                    let _ = std::fs::remove_file(&path);
                }
            }
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
        }
        for (_, values) in records {
            values.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        }
        self.write_shard(fmt, &buf)
    }

    /// Writes the shard `bytes` atomically (temporary file, then rename) under a name taken from
    /// their hash.
    fn write_shard(&self, fmt: Format, bytes: &[u8]) -> Result<(), EncoderError> {
        let name: String = Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{name}.{}", fmt.ext));
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
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

/// The bytes of a table entry: the key, and the row count for token states.
fn entry_len(fmt: Format) -> usize {
    if fmt.rows {
        20
    } else {
        16
    }
}

fn u32_at(bytes: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]])
}

/// The record count in a shard's header.
fn count_at(header: &[u8]) -> u64 {
    let mut count = [0u8; 8];
    count.copy_from_slice(&header[16..24]);
    u64::from_le_bytes(count)
}

/// What is wrong with a shard of `size` bytes whose header declares `count` records.
struct Extent {
    size: u64,
    count: u64,
    what: &'static str,
}

impl Extent {
    fn truncated(&self) -> String {
        format!("{} bytes, too short for {} {}s (truncated?)", self.size, self.count, self.what)
    }

    fn trailing(&self, extra: u64) -> String {
        format!("{extra} bytes after the {} {}s (not one shard?)", self.count, self.what)
    }
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Adds the records of the shard at `path` whose keys are in `wanted` to `out`; the message says
/// what is wrong. A version-2 shard is read no further than its table when it holds no wanted
/// record. A version-1 shard is read whole, and its records come back laid out in version 2.
fn read_shard(
    path: &Path,
    fmt: Format,
    dim: usize,
    wanted: &HashSet<Key>,
    out: &mut Records,
) -> Result<Option<Vec<u8>>, String> {
    let not_a_shard =
        || format!("not {} shard (delete it to rebuild)", if fmt.rows { "a token-state" } else { "an embedding" });
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut header = [0u8; HEADER];
    if size < HEADER as u64 {
        return Err(not_a_shard());
    }
    file.read_exact(&mut header).map_err(|e| e.to_string())?;
    if &header[..8] != fmt.magic {
        return Err(not_a_shard());
    }
    let (version, width) = (u32_at(&header, 8), u32_at(&header, 12) as usize);
    if version == 1 && width == dim {
        let mut bytes = header.to_vec();
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        return parse_shard_v1(&bytes, fmt, dim, wanted, out).map(Some);
    }
    if version != VERSION || width != dim {
        return Err(format!("shard version {version} width {width}; expected version {VERSION} width {dim}"));
    }
    let extent = Extent { size, count: count_at(&header), what: fmt.what };
    let head = entry_len(fmt);
    let table_len = extent
        .count
        .checked_mul(head as u64)
        .filter(|&n| n <= size - HEADER as u64)
        .ok_or_else(|| extent.truncated())?;
    let mut table = vec![0u8; table_len as usize];
    file.read_exact(&mut table).map_err(|e| e.to_string())?;
    let rows: Vec<u64> =
        table.chunks_exact(head).map(|e| if fmt.rows { u64::from(u32_at(e, 16)) } else { 1 }).collect();
    // Row counts are the file's word: a sum past the file's size is refused, never wrapped.
    let values_len = rows
        .iter()
        .try_fold(0u64, |sum, &n| sum.checked_add(n.checked_mul(4 * width as u64)?))
        .filter(|&n| n <= size - HEADER as u64 - table_len)
        .ok_or_else(|| extent.truncated())?;
    let expected = HEADER as u64 + table_len + values_len;
    if size > expected {
        return Err(extent.trailing(size - expected));
    }
    if !table.chunks_exact(head).any(|e| wanted.contains(&e[..16])) {
        return Ok(None);
    }
    let mut values = vec![0u8; values_len as usize];
    file.read_exact(&mut values).map_err(|e| e.to_string())?;
    let mut at = 0;
    for (entry, &n) in table.chunks_exact(head).zip(&rows) {
        let len = n as usize * 4 * width;
        let mut key = [0u8; 16];
        key.copy_from_slice(&entry[..16]);
        if wanted.contains(&key) {
            out.insert(key, floats(&values[at..at + len]));
        }
        at += len;
    }
    Ok(None)
}

/// Adds the records of a version-1 shard's `bytes` (each record's values right after its key)
/// whose keys are in `wanted` to `out`, and returns the same shard in version 2; the message says
/// what is wrong.
fn parse_shard_v1(
    bytes: &[u8],
    fmt: Format,
    dim: usize,
    wanted: &HashSet<Key>,
    out: &mut Records,
) -> Result<Vec<u8>, String> {
    let width = dim;
    let extent = Extent { size: bytes.len() as u64, count: count_at(bytes), what: fmt.what };
    let head = entry_len(fmt);
    let mut at = HEADER;
    let (mut table, mut values) = (Vec::new(), Vec::new());
    for _ in 0..extent.count {
        if bytes.len() - at < head {
            return Err(extent.truncated());
        }
        let rows = if fmt.rows { u32_at(bytes, at + 16) as usize } else { 1 };
        let len = rows.checked_mul(4 * width).ok_or_else(|| extent.truncated())?;
        if bytes.len() - at - head < len {
            return Err(extent.truncated());
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&bytes[at..at + 16]);
        let record = &bytes[at + head..at + head + len];
        if wanted.contains(&key) {
            out.insert(key, floats(record));
        }
        table.extend_from_slice(&bytes[at..at + head]);
        values.push(record);
        at += head + len;
    }
    if at != bytes.len() {
        return Err(extent.trailing((bytes.len() - at) as u64));
    }
    let mut v2 = Vec::with_capacity(bytes.len());
    v2.extend_from_slice(&bytes[..8]);
    v2.extend_from_slice(&VERSION.to_le_bytes());
    v2.extend_from_slice(&bytes[12..HEADER]);
    v2.extend_from_slice(&table);
    values.iter().for_each(|v| v2.extend_from_slice(v));
    Ok(v2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, EmbeddingCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache { dir: dir.path().join("model") };
        (dir, cache)
    }

    fn shards(cache: &EmbeddingCache) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        paths
    }

    #[test]
    fn stored_records_come_back_and_only_the_wanted_ones() {
        let (_tmp, cache) = cache();
        let (a, b, c) = (text_key("a"), text_key("b"), text_key("c"));
        // Token states of width 2: "a" has two tokens, "b" none, "c" one.
        let (va, vb, vc) = ([1f32, 2.0, 3.0, 4.0], [], [5f32, -6.0]);
        cache.store(TOKEN_STATES, 2, &[(a, &va), (b, &vb)]).unwrap();
        cache.store(TOKEN_STATES, 2, &[(c, &vc)]).unwrap();
        let got = cache.load(TOKEN_STATES, 2, &[a, b, c].into_iter().collect()).unwrap();
        assert_eq!((got[&a].as_slice(), got[&b].as_slice(), got[&c].as_slice()), (&va[..], &vb[..], &vc[..]));
        let only_c = cache.load(TOKEN_STATES, 2, &[c].into_iter().collect()).unwrap();
        assert_eq!(only_c.keys().collect::<Vec<_>>(), [&c]);
        // Embeddings are another kind: none stored yet.
        assert!(cache.load(EMBEDDINGS, 2, &[a].into_iter().collect()).unwrap().is_empty());
        // The layout: header, then the table (key + rows), then the values in the table's order.
        let first = shards(&cache).into_iter().find(|p| std::fs::metadata(p).unwrap().len() > 70).unwrap();
        let bytes = std::fs::read(first).unwrap();
        assert_eq!((&bytes[..8], u32_at(&bytes, 8), u32_at(&bytes, 12)), (&b"METALTOK"[..], 2, 2));
        assert_eq!(bytes.len(), HEADER + 2 * 20 + 4 * 4);
        assert_eq!(&bytes[HEADER..HEADER + 16], &a[..]);
        assert_eq!((u32_at(&bytes, HEADER + 16), u32_at(&bytes, HEADER + 36)), (2, 0));
        assert_eq!(floats(&bytes[HEADER + 40..]), va);
    }

    #[test]
    fn version_1_shards_are_still_read() {
        let (_tmp, cache) = cache();
        std::fs::create_dir_all(cache.dir()).unwrap();
        let (a, b) = (text_key("a"), text_key("b"));
        let mut v1 = b"METALEMB".to_vec();
        v1.extend(1u32.to_le_bytes());
        v1.extend(2u32.to_le_bytes());
        v1.extend(2u64.to_le_bytes());
        for (key, values) in [(a, [0.5f32, 1.5]), (b, [2.5, 3.5])] {
            v1.extend(key);
            values.iter().for_each(|v| v1.extend(v.to_le_bytes()));
        }
        // A damaged one is named.
        std::fs::write(cache.dir().join("old.emb"), &v1[..v1.len() - 1]).unwrap();
        let err = cache.load(EMBEDDINGS, 2, &[b].into_iter().collect()).unwrap_err().to_string();
        assert!(err.contains("old.emb") && err.contains("truncated"), "{err}");
        std::fs::write(cache.dir().join("old.emb"), &v1).unwrap();
        let got = cache.load(EMBEDDINGS, 2, &[b].into_iter().collect()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[&b], [2.5, 3.5]);
        // Reading it replaced it by the same records in version 2.
        let now = shards(&cache);
        assert_eq!(now.len(), 1);
        assert_ne!(now[0].file_name().unwrap(), "old.emb");
        let bytes = std::fs::read(&now[0]).unwrap();
        assert_eq!((u32_at(&bytes, 8), bytes.len()), (2, v1.len()));
        assert_eq!((&bytes[HEADER..HEADER + 16], &bytes[HEADER + 16..HEADER + 32]), (&a[..], &b[..]));
        assert_eq!(floats(&bytes[HEADER + 32..]), [0.5, 1.5, 2.5, 3.5]);
        let all = cache.load(EMBEDDINGS, 2, &[a, b].into_iter().collect()).unwrap();
        assert_eq!((all[&a].as_slice(), all[&b].as_slice()), (&[0.5f32, 1.5][..], &[2.5f32, 3.5][..]));
    }

    #[test]
    fn a_damaged_shard_is_named_even_when_no_wanted_text_is_in_it() {
        let (_tmp, cache) = cache();
        let a = text_key("a");
        cache.store(TOKEN_STATES, 2, &[(a, &[1f32, 2.0][..])]).unwrap();
        let path = shards(&cache).remove(0);
        let bytes = std::fs::read(&path).unwrap();
        let nobody = HashSet::new();
        let load = || cache.load(TOKEN_STATES, 2, &nobody).unwrap_err().to_string();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(load().contains("truncated") && load().contains(&path.display().to_string()), "{}", load());
        std::fs::write(&path, [&bytes[..], &[0u8; 4]].concat()).unwrap();
        assert!(load().contains("4 bytes after"), "{}", load());
        // A count that does not fit in the file is caught before anything is allocated for it.
        let mut huge = bytes.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &huge).unwrap();
        assert!(load().contains("truncated"), "{}", load());
        // So is a row count in the table that the file cannot hold.
        let mut rows = bytes.clone();
        rows[HEADER + 16..HEADER + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &rows).unwrap();
        assert!(load().contains("truncated"), "{}", load());
        std::fs::write(&path, [&bytes[..12], &3u32.to_le_bytes(), &bytes[16..]].concat()).unwrap();
        assert!(load().contains("width 3"), "{}", load());
        std::fs::write(&path, b"METALEMB").unwrap();
        assert!(load().contains("not a token-state shard"), "{}", load());
    }
}
