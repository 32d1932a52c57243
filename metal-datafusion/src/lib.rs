//! Labeling functions over tables: the rows of Parquet, CSV or JSON-lines files, read batch by
//! batch by [DataFusion](https://datafusion.apache.org), turned into the user's own item type
//! with `serde_arrow` (columns by field name, extra columns ignored), and labeled by an
//! [`LfSet`] as they stream. Memory is the label matrix plus a few record batches, whatever the
//! table's size. The label matrix's rows are a file's rows in file order; a folder's files come
//! in the order DataFusion lists them.
//!
//! ```no_run
//! use metal_datafusion::{apply_table, Table};
//! use metal_runtime::prelude::*;
//!
//! #[task_schema]
//! pub mod spam {
//!     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//!     pub enum Spam { Ham, Spam }
//! }
//!
//! /// The columns the LFs read; the table may have more.
//! #[derive(serde::Deserialize)]
//! pub struct Comment { pub text: String }
//!
//! #[labeling_function]
//! fn lf_check_out(c: &Comment) -> Option<spam::Spam> {
//!     c.text.contains("check out").then_some(spam::Spam::Spam)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lfs: LfSet<spam::Schema, Comment> = lfs![lf_check_out];
//! let table = Table::open("comments.parquet")?; // or .csv, .jsonl
//! let (matrix, report) = apply_table(&lfs, &table, &ApplyConfig::default())?;
//! # Ok(()) }
//! ```
//!
//! [`pattern_counts`] computes the distinct vote patterns with their counts instead of the
//! matrix: the LF set runs as a DataFusion scalar function ([`votes_udf`]) inside the scan's
//! parallel partitions and `GROUP BY` counts the patterns.
//!
//! Both jobs are methods of an [`Engine`]: DataFusion in this process ([`Engine::local`], what
//! [`pattern_counts`] and [`write_table_probs`] use), or a cluster ([`Engine::remote`]; the crate
//! `metal-ballista` connects to a Ballista cluster whose processes have the same [`LfUdf`]).
//!
//! [`write_table_probs`] joins a fitted model's probabilities back to the table's rows;
//! [`write_label_matrix`] and [`write_probs`] write the label matrix and a label model's
//! probabilities as Parquet, one row per item in the same order.
//!
//! The reading is blocking (DataFusion runs on a runtime of this call's own): from async code,
//! call it inside `tokio::task::spawn_blocking`.

mod votes;
mod write;

use std::path::{Path, PathBuf};

/// The DataFusion the tables are read with, for queries of one's own.
pub use datafusion;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use metal_runtime::error::ApplyError;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::lf::{ApplyConfig, ApplyReport, LfSet};
use metal_runtime::schema::TaskSchema;
use serde::de::DeserializeOwned;
/// The Arrow–serde conversion rows go through.
pub use serde_arrow;
pub use votes::{
    decode_votes, encode_votes, pattern_counts, pattern_counts_prepared, votes_udf, votes_udf_prepared,
    write_table_probs, Engine, LfUdf, PatternCounts, VotesUdf,
};
pub use write::{prob_fields, write_label_matrix, write_probs};

/// What can go wrong reading a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The file's extension names no format this crate reads.
    #[error("{path}: unknown table format (expected a .parquet, .csv, .jsonl or .json file, or a folder of them with Table::with_format)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file does not exist or cannot be read.
    #[error("{path}: {message}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's or DataFusion's message.
        message: String,
    },
    /// DataFusion could not read the table.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// DataFusion's message.
        message: String,
    },
    /// A Parquet file could not be written.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A row does not deserialize into the item type (a missing column, a column of another
    /// type, a null where a value is required).
    #[error("{path}, row {row}: {message}")]
    Row {
        /// The file.
        path: PathBuf,
        /// The 0-based row of the first record batch that failed (its first row).
        row: usize,
        /// `serde_arrow`'s message.
        message: String,
    },
    /// A job on a cluster returned another number of rows than the table has (an executor's
    /// part was lost): its result is not used.
    #[error(
        "{path}: the cluster {what} {got} rows, the table has {expected}; the result is incomplete and was not used"
    )]
    Incomplete {
        /// The table.
        path: PathBuf,
        /// What the job did with the rows ("counted", "returned").
        what: &'static str,
        /// The rows the job saw.
        got: u64,
        /// The table's rows.
        expected: u64,
    },
    /// Applying the LFs failed; see [`ApplyError`].
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// A table's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file's extension names: `.parquet`, `.csv`, `.jsonl`/`.ndjson`/`.json`.
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// A table to read: one file, or a folder of files of one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    path: PathBuf,
    format: Format,
}

impl Table {
    /// The file at `path`, in the format its extension names.
    ///
    /// # Errors
    /// [`TableError::Open`] when the file does not exist, [`TableError::UnknownFormat`] for
    /// another extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Table, TableError> {
        let path = path.as_ref();
        let format = Format::of_path(path).ok_or_else(|| TableError::UnknownFormat { path: path.to_path_buf() })?;
        Table::with_format(path, format)
    }

    /// The file or folder at `path`, in `format` (a folder's files must have the format's usual
    /// extension).
    ///
    /// # Errors
    /// [`TableError::Open`] when the path does not exist or is not valid UTF-8.
    pub fn with_format(path: impl AsRef<Path>, format: Format) -> Result<Table, TableError> {
        let path = path.as_ref();
        let open = |message: String| TableError::Open { path: path.to_path_buf(), message };
        let path = std::fs::canonicalize(path).map_err(|e| open(e.to_string()))?;
        if path.to_str().is_none() {
            return Err(open("the path is not valid UTF-8".into()));
        }
        Ok(Table { path, format })
    }

    /// The table's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The table's rows as `X`s, read one record batch at a time.
    ///
    /// # Errors
    /// [`TableError::Read`] when DataFusion cannot open or plan the scan (a malformed file, no
    /// file of the format in a folder).
    pub fn rows<X: DeserializeOwned>(&self) -> Result<Rows<X>, TableError> {
        let read = |e: &dyn std::fmt::Display| TableError::Read { path: self.path.clone(), message: e.to_string() };
        let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| read(&e))?;
        // One partition, no repartitioned scans: batches come in file order.
        let config = SessionConfig::new().with_target_partitions(1).with_repartition_file_scans(false);
        let ctx = SessionContext::new_with_config(config);
        let path = self.path.to_str().unwrap_or_default().to_owned();
        let stream = runtime
            .block_on(async {
                let frame = match self.format {
                    Format::Parquet => ctx.read_parquet(path, ParquetReadOptions::default()).await?,
                    Format::Csv => ctx.read_csv(path, CsvReadOptions::new()).await?,
                    Format::JsonLines => {
                        let extension = self.path.extension().and_then(|e| e.to_str()).unwrap_or("jsonl");
                        let extension = format!(".{extension}");
                        ctx.read_json(path, JsonReadOptions::default().file_extension(&extension)).await?
                    }
                };
                frame.execute_stream().await
            })
            .map_err(|e| read(&e))?;
        Ok(Rows { runtime, stream, batch: Vec::new().into_iter(), path: self.path.clone(), row: 0, failed: false })
    }
}

/// The rows of a [`Table`] as `X`s: an iterator that reads a record batch when it needs one.
/// After an error it ends.
pub struct Rows<X> {
    runtime: tokio::runtime::Runtime,
    stream: SendableRecordBatchStream,
    batch: std::vec::IntoIter<X>,
    path: PathBuf,
    /// Rows read so far, including the current batch.
    row: usize,
    failed: bool,
}

impl<X: DeserializeOwned> Iterator for Rows<X> {
    type Item = Result<X, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.batch.next() {
                return Some(Ok(x));
            }
            if self.failed {
                return None;
            }
            let batch = match self.runtime.block_on(self.stream.next())? {
                Ok(batch) => batch,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(TableError::Read { path: self.path.clone(), message: e.to_string() }));
                }
            };
            match serde_arrow::from_record_batch::<Vec<X>>(&batch) {
                Ok(items) => {
                    self.row += items.len();
                    self.batch = items.into_iter();
                }
                Err(e) => {
                    self.failed = true;
                    let (path, row) = (self.path.clone(), self.row);
                    return Some(Err(TableError::Row { path, row, message: e.to_string() }));
                }
            }
        }
    }
}

/// Applies every LF of `lfs` to the rows of `table`, streamed: DataFusion reads record batches,
/// each becomes `X`s, and the applier labels them in parallel as
/// [`LfSet::try_apply_iter`] does. The matrix is that of [`LfSet::apply_with`] on the same
/// items in the same order.
///
/// # Errors
/// What [`Table::rows`] raises; a row that is not an `X` or a read failure mid-table as
/// [`ApplyError::Read`] (inside [`TableError::Apply`]) with the file and row; what the LFs
/// raise.
pub fn apply_table<S: TaskSchema, X>(
    lfs: &LfSet<S, X>,
    table: &Table,
    config: &ApplyConfig,
) -> Result<(LabelMatrix, ApplyReport), TableError>
where
    X: DeserializeOwned + Send + Sync + 'static,
{
    Ok(lfs.try_apply_iter(table.rows::<X>()?, config)?)
}

/// [`apply_table`] with a preparation step, as in [`LfSet::apply_prepared`]: each row is read
/// as an `I`, then prepared once into the `X` the LFs read, inside the parallel chunks.
///
/// # Errors
/// As [`apply_table`].
pub fn apply_table_prepared<S: TaskSchema, I, X>(
    lfs: &LfSet<S, X>,
    table: &Table,
    prepare: impl Fn(&I) -> X + Sync,
    config: &ApplyConfig,
) -> Result<(LabelMatrix, ApplyReport), TableError>
where
    I: DeserializeOwned + Send + Sync,
    X: 'static,
{
    Ok(lfs.try_apply_iter_prepared(table.rows::<I>()?, prepare, config)?)
}
