//! What the example data sets share: one JSON-lines file per split, read by a reader that names
//! the file and line of any bad record.

use std::collections::HashSet;
use std::path::Path;

use metal_runtime::error::IoError;
use metal_runtime::io::items;
use metal_runtime::Result;
use serde::de::DeserializeOwned;

/// A split of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train.jsonl`: the training items, used without their labels.
    Train,
    /// `dev.jsonl`: the labeled development items.
    Dev,
    /// `test.jsonl`: the held-out test items.
    Test,
}

impl Split {
    /// The split's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Split::Train => "train.jsonl",
            Split::Dev => "dev.jsonl",
            Split::Test => "test.jsonl",
        }
    }
}

/// One line of a JSON-lines data file.
pub trait Record: DeserializeOwned {
    /// What a record is, for error messages (`"article"`).
    const WHAT: &'static str;
    /// The record's unique id.
    fn id(&self) -> &str;
    /// Checks the gold fields against each other and fills in the derived ones; the error says
    /// what is wrong.
    fn check(&mut self) -> std::result::Result<(), String>;
}

/// An [`IoError::Malformed`] at 1-based `line` of `path`.
pub fn malformed(path: &Path, line: usize, message: impl Into<String>) -> IoError {
    IoError::Malformed { path: path.to_path_buf(), line: Some(line), message: message.into() }
}

pub use metal_runtime::io::items::read_lines;

/// Reads a JSON-lines file of records. Blank lines are skipped.
///
/// Fails, naming the file and the 1-based line, on a line that is not a record
/// ([`items::read_jsonl_numbered`]), a record whose [`Record::check`] fails, or a repeated id.
pub fn read<T: Record>(path: &Path) -> Result<Vec<T>> {
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    for (line, mut record) in items::read_jsonl_numbered::<T>(path)? {
        record.check().map_err(|message| malformed(path, line, message))?;
        if !seen.insert(record.id().to_owned()) {
            return Err(malformed(path, line, format!("duplicate id `{}`", record.id())).into());
        }
        records.push(record);
    }
    Ok(records)
}
