//! The LF set as a DataFusion scalar function that returns each row's vote pattern; the pattern
//! counts of a table by `GROUP BY` (the statistic the label models fit on, computed where the
//! data is); and a fitted model's probabilities joined back to the table's rows.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryArray, BinaryBuilder, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ident, lit, SessionConfig, SessionContext};
use futures::StreamExt;
use metal_runtime::error::ApplyError;
use metal_runtime::io::write_atomic;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::FittedLabelModel;
use metal_runtime::lf::{ApplyConfig, LfSet};
use metal_runtime::schema::TaskSchema;
use serde::de::DeserializeOwned;

use crate::{Format, Table, TableError};

/// Labels a batch of items: the LF set, with or without a preparation step.
type Labeler<I> = Arc<dyn Fn(&[I]) -> Result<LabelMatrix, ApplyError> + Send + Sync>;

/// An [`LfSet`] as a DataFusion scalar function (build it with [`votes_udf`] or
/// [`votes_udf_prepared`]).
///
/// `name(col_a, col_b, …)` takes the columns the item type `I` reads, by name (the argument
/// columns become the fields `I` deserializes from, as in [`Table::rows`]), applies every LF to
/// each row and returns the row's vote pattern as bytes ([`encode_votes`]): rows with the same
/// votes have the same bytes, so `GROUP BY` counts the patterns.
pub struct VotesUdf<I> {
    name: String,
    label: Labeler<I>,
    signature: Signature,
}

impl<I> fmt::Debug for VotesUdf<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VotesUdf").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<I> PartialEq for VotesUdf<I> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.label, &other.label)
    }
}

impl<I> Eq for VotesUdf<I> {}

impl<I> Hash for VotesUdf<I> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        Arc::as_ptr(&self.label).cast::<()>().hash(state);
    }
}

/// DataFusion runs partitions in parallel; each call labels its batch on one thread.
fn batch_config() -> ApplyConfig {
    ApplyConfig { sequential: true, progress: false, ..ApplyConfig::default() }
}

/// The scalar function `name(columns…)` that applies `lfs` to each row and returns its vote
/// pattern (see [`VotesUdf`]); register it with `SessionContext::register_udf`.
pub fn votes_udf<S, X>(name: &str, lfs: Arc<LfSet<S, X>>) -> ScalarUDF
where
    S: TaskSchema + 'static,
    X: DeserializeOwned + Send + Sync + 'static,
{
    let label: Labeler<X> = Arc::new(move |items: &[X]| Ok(lfs.apply_with(items, &batch_config())?.0));
    udf(name, label)
}

/// [`votes_udf`] with a preparation step: each row is read as an `I` and prepared once into
/// the `X` the LFs read, as in [`LfSet::apply_prepared`].
pub fn votes_udf_prepared<S, I, X>(
    name: &str,
    lfs: Arc<LfSet<S, X>>,
    prepare: impl Fn(&I) -> X + Send + Sync + 'static,
) -> ScalarUDF
where
    S: TaskSchema + 'static,
    I: DeserializeOwned + Send + Sync + 'static,
    X: 'static,
{
    let label: Labeler<I> = Arc::new(move |items: &[I]| Ok(lfs.apply_prepared(items, &prepare, &batch_config())?.0));
    udf(name, label)
}

fn udf<I: DeserializeOwned + Send + Sync + 'static>(name: &str, label: Labeler<I>) -> ScalarUDF {
    ScalarUDF::from(VotesUdf {
        name: name.to_owned(),
        label,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

impl<I> ScalarUDFImpl for VotesUdf<I>
where
    I: DeserializeOwned + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let arrays = args.args.iter().map(|a| a.to_array(n)).collect::<DfResult<Vec<ArrayRef>>>()?;
        let fields: Vec<Field> =
            args.arg_fields.iter().map(|f| Field::new(f.name(), f.data_type().clone(), f.is_nullable())).collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        let items: Vec<I> = serde_arrow::from_record_batch(&batch)
            .map_err(|e| DataFusionError::Execution(format!("{}: a row is not an item: {e}", self.name)))?;
        let matrix = (self.label)(&items).map_err(|e| DataFusionError::Execution(format!("{}: {e}", self.name)))?;
        let mut out = BinaryBuilder::with_capacity(n, matrix.n_votes() * 3);
        let mut buf = Vec::new();
        for i in 0..matrix.n_items() {
            let (lfs, labels) = matrix.row_slices(i);
            buf.clear();
            encode_votes(lfs, labels, &mut buf);
            out.append_value(&buf);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Appends the vote pattern `(lfs[i], labels[i])` (LFs in increasing order, as a
/// [`LabelMatrix`] row) to `out`: each vote as the LF's index and then its label, both as
/// LEB128 varints (one byte below 128, two below 16,384). No vote is the empty string.
pub fn encode_votes(lfs: &[u32], labels: &[u16], out: &mut Vec<u8>) {
    for (&j, &l) in lfs.iter().zip(labels) {
        varint(u64::from(j), out);
        varint(u64::from(l), out);
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes a vote pattern written by [`encode_votes`] into `(lf, label)` pairs; `None` if the
/// bytes are not one (a cut varint, a value out of range).
pub fn decode_votes(mut bytes: &[u8]) -> Option<Vec<(u32, u16)>> {
    let mut votes = Vec::new();
    while !bytes.is_empty() {
        let j = varint_at(&mut bytes)?;
        let l = varint_at(&mut bytes)?;
        votes.push((u32::try_from(j).ok()?, u16::try_from(l).ok()?));
    }
    Some(votes)
}

/// Reads one LEB128 varint from the front of `bytes`; `None` if it is cut or over 64 bits.
fn varint_at(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The distinct vote patterns of a table with how many rows have each: the statistic the label
/// models fit on, computed by DataFusion. Fit any label model on it with
/// `model.fit_counts(&counts.patterns, &counts.counts)` (the default and the generative models
/// work on the patterns directly, in memory proportional to them).
#[derive(Debug, Clone, PartialEq)]
pub struct PatternCounts {
    /// One row per distinct pattern, in the byte order of their encodings (so the same table
    /// gives the same matrix however it was partitioned).
    pub patterns: LabelMatrix,
    /// The number of rows with each pattern.
    pub counts: Vec<u64>,
}

impl PatternCounts {
    /// The number of rows counted.
    pub fn n_items(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The label matrix with each pattern repeated as often as it was counted, in pattern order:
    /// the rows of the table's label matrix, reordered (its size is that of the table's label
    /// matrix; `LabelModel::fit_counts` fits without it).
    pub fn expand(&self) -> LabelMatrix {
        let mut rows = Vec::new();
        for (p, &c) in self.counts.iter().enumerate() {
            rows.extend(std::iter::repeat_n(p, c as usize));
        }
        self.patterns.select_items(&rows)
    }
}

/// An LF set as the scalar function a job runs ([`votes_udf`] under the name [`LfUdf::NAME`]),
/// with the LFs' names and task graph. Every process of a cluster registers the same one: the
/// function travels in query plans by its name.
#[derive(Debug, Clone)]
pub struct LfUdf {
    udf: ScalarUDF,
    empty: LabelMatrix,
}

impl LfUdf {
    /// The name the function is registered and called under.
    pub const NAME: &'static str = "metal_votes";

    /// The LF set `lfs` on items of type `X`, read from the table's columns.
    ///
    /// # Errors
    /// What applying the LFs to no item raises (an LF set whose LFs do not fit its schema).
    pub fn new<S, X>(lfs: Arc<LfSet<S, X>>) -> Result<LfUdf, TableError>
    where
        S: TaskSchema + 'static,
        X: DeserializeOwned + Send + Sync + 'static,
    {
        let empty = lfs.apply(&[])?;
        Ok(LfUdf { udf: votes_udf(Self::NAME, lfs), empty })
    }

    /// [`LfUdf::new`] with a preparation step, as [`votes_udf_prepared`]: each row is read as an
    /// `I` and prepared once into the `X` the LFs read.
    ///
    /// # Errors
    /// As [`LfUdf::new`].
    pub fn prepared<S, I, X>(
        lfs: Arc<LfSet<S, X>>,
        prepare: impl Fn(&I) -> X + Send + Sync + 'static,
    ) -> Result<LfUdf, TableError>
    where
        S: TaskSchema + 'static,
        I: DeserializeOwned + Send + Sync + 'static,
        X: 'static,
    {
        let empty = lfs.apply_prepared(&[], &prepare, &batch_config())?.0;
        Ok(LfUdf { udf: votes_udf_prepared(Self::NAME, lfs, prepare), empty })
    }

    /// The scalar function, to register in a `SessionContext` or a cluster's function registry.
    pub fn udf(&self) -> &ScalarUDF {
        &self.udf
    }

    /// A label matrix of no item over these LFs: their names and task graph.
    pub fn empty_matrix(&self) -> &LabelMatrix {
        &self.empty
    }
}

/// Where a job's LFs run over a table: DataFusion's partitions in this process
/// ([`Engine::local`]), or a cluster's executors (a `SessionContext` that sends its plans to a
/// cluster, given to [`Engine::remote`]; `metal_ballista::connect` builds one). The calls block,
/// on a runtime of the engine's own.
pub struct Engine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    lfs: LfUdf,
    /// Whether results are checked against a count of the table's rows made in this process.
    remote: bool,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine").field("lfs", &self.lfs).field("remote", &self.remote).finish_non_exhaustive()
    }
}

fn runtime_error(e: std::io::Error) -> TableError {
    TableError::Read { path: "(runtime)".into(), message: format!("cannot start the async runtime: {e}") }
}

impl Engine {
    /// DataFusion in this process, on `partitions` parallel partitions (`None`: its default, the
    /// number of cores). On one partition the scans are not split, so rows come in file order.
    ///
    /// # Errors
    /// [`TableError::Read`] when the async runtime cannot start.
    pub fn local(lfs: &LfUdf, partitions: Option<usize>) -> Result<Engine, TableError> {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(runtime_error)?;
        let mut config = SessionConfig::new();
        if let Some(p) = partitions {
            config = config.with_target_partitions(p.max(1)).with_repartition_file_scans(p > 1);
        }
        let ctx = SessionContext::new_with_config(config);
        ctx.register_udf(lfs.udf.clone());
        Ok(Engine { runtime, ctx, lfs: lfs.clone(), remote: false })
    }

    /// The queries of `ctx`, run on `runtime` (the one `ctx` was built on): a context whose plans
    /// run elsewhere. The function of `lfs` is registered in `ctx`; the processes that run the
    /// plans must have it too. Every result is checked against the table's row count, taken in
    /// this process (from the Parquet footers; a CSV or JSON-lines file is scanned without the
    /// LFs): a cluster that lost rows gives an error, never a smaller answer.
    pub fn remote(runtime: tokio::runtime::Runtime, ctx: SessionContext, lfs: &LfUdf) -> Engine {
        ctx.register_udf(lfs.udf.clone());
        Engine { runtime, ctx, lfs: lfs.clone(), remote: true }
    }

    /// The DataFusion context the queries run in, for queries of one's own (on
    /// [`Engine::runtime`]).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The runtime the engine's queries run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// Counts the vote patterns of `table`: `SELECT metal_votes(columns) AS pattern, COUNT(*)
    /// FROM table GROUP BY pattern`, the LFs applied inside the scan's partitions. `columns` are
    /// the columns the item type reads. Memory is the distinct patterns, whatever the table's
    /// size, and the result is the same on any number of partitions or executors.
    ///
    /// # Errors
    /// [`TableError::Read`] when the table cannot be read, a column is missing, a row is not an
    /// item or an LF fails (the message says which); [`TableError::Incomplete`] when a remote
    /// engine counted another number of rows than the table has.
    pub fn pattern_counts(&self, table: &Table, columns: &[&str]) -> Result<PatternCounts, TableError> {
        let read = |e: &dyn fmt::Display| TableError::Read { path: table.path().to_path_buf(), message: e.to_string() };
        let pattern = self.lfs.udf.call(columns.iter().map(|c| ident(*c)).collect()).alias("pattern");
        let name = self.table_name();
        let batches = self
            .runtime
            .block_on(async {
                table.register(&self.ctx, &name).await?;
                let frame = self.ctx.table(name.as_str()).await?;
                let result = frame.aggregate(vec![pattern], vec![count(lit(1)).alias("n")])?.collect().await;
                self.ctx.deregister_table(name.as_str())?;
                result
            })
            .map_err(|e| read(&e))?;
        let mut rows: Vec<(Vec<u8>, u64)> = Vec::new();
        for batch in &batches {
            let patterns = batch.column(0).as_any().downcast_ref::<BinaryArray>();
            let counts = batch.column(1).as_any().downcast_ref::<Int64Array>();
            let (Some(patterns), Some(counts)) = (patterns, counts) else {
                return Err(read(&"the pattern query returned unexpected column types"));
            };
            for i in 0..batch.num_rows() {
                rows.push((patterns.value(i).to_vec(), u64::try_from(counts.value(i)).unwrap_or(0)));
            }
        }
        rows.sort_unstable();
        let mut matrix = self.lfs.empty.clone();
        let mut counts = Vec::with_capacity(rows.len());
        for (bytes, n) in rows {
            let votes = decode_votes(&bytes).ok_or_else(|| read(&"a vote pattern does not decode"))?;
            matrix.push_row(&votes).map_err(|e| read(&e))?;
            counts.push(n);
        }
        let counts = PatternCounts { patterns: matrix, counts };
        self.check_rows(table, counts.n_items(), "counted")?;
        Ok(counts)
    }

    /// A name for the table no other call of this engine uses at the same time.
    fn table_name(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        format!("metal_items_{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// On a remote engine, checks that `got` rows are the table's rows.
    fn check_rows(&self, table: &Table, got: u64, what: &'static str) -> Result<(), TableError> {
        if !self.remote {
            return Ok(());
        }
        let expected = table.count_rows()?;
        if got != expected {
            return Err(TableError::Incomplete { path: table.path().to_path_buf(), what, got, expected });
        }
        Ok(())
    }

    /// Reads `table` again and writes each row's columns `keep` (an id, say) and the
    /// probabilities `model` gives its votes to the Parquet file `out`: the predictions joined
    /// back to the rows. The LFs run as in [`Engine::pattern_counts`] (`columns` are the columns
    /// the item type reads); the probability columns are those of
    /// [`prob_fields`](crate::prob_fields). On a local engine of one partition the rows come in
    /// file order; otherwise in the order the partitions deliver them, so keep a key column.
    /// Memory is one record batch; the file is written through a temporary file renamed into
    /// place when complete. Returns the number of rows written.
    ///
    /// # Errors
    /// [`TableError::Read`] when the table cannot be read, a column is missing or a row is not
    /// an item; [`TableError::Write`] when a kept column has the name of a probability column, or
    /// the file cannot be written; the model's error (inside [`TableError::Read`]) when it was
    /// fit on other LFs; [`TableError::Incomplete`] when a remote engine returned another number
    /// of rows than the table has (nothing is left at `out`).
    pub fn write_probs(
        &self,
        table: &Table,
        columns: &[&str],
        keep: &[&str],
        model: &dyn FittedLabelModel,
        out: impl AsRef<Path>,
    ) -> Result<u64, TableError> {
        let out = out.as_ref();
        let read = |e: &dyn fmt::Display| TableError::Read { path: table.path().to_path_buf(), message: e.to_string() };
        let empty = &self.lfs.empty;
        let prob_fields = crate::prob_fields(empty.graph());
        let mut names: Vec<&str> = keep.to_vec();
        names.extend(prob_fields.iter().map(|f| f.name().as_str()));
        crate::write::unique(out, &names, "output columns")?;

        let mut select: Vec<_> = keep.iter().map(|c| ident(*c)).collect();
        select.push(self.lfs.udf.call(columns.iter().map(|c| ident(*c)).collect()).alias("__metal_votes"));
        let name = self.table_name();
        let (mut stream, schema) = self
            .runtime
            .block_on(async {
                table.register(&self.ctx, &name).await?;
                let frame = self.ctx.table(name.as_str()).await?.select(select)?;
                // The kept columns as the table has them, then the probabilities.
                let mut fields: Vec<Field> =
                    frame.schema().fields()[..keep.len()].iter().map(|f| f.as_ref().clone()).collect();
                fields.extend(prob_fields.iter().cloned());
                let stream = frame.execute_stream().await;
                self.ctx.deregister_table(name.as_str())?;
                Ok::<_, DataFusionError>((stream?, Arc::new(Schema::new(fields))))
            })
            .map_err(|e| read(&e))?;

        let mut rows = 0u64;
        let mut failure: Option<TableError> = None;
        let mut fail = |e: TableError| {
            failure = Some(e);
            std::io::Error::other("the job failed")
        };
        let written = write_atomic(out, |file| {
            let props = WriterProperties::builder().set_max_row_group_row_count(Some(65_536)).build();
            let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(std::io::Error::other)?;
            let n_keep = keep.len();
            while let Some(batch) = self.runtime.block_on(stream.next()) {
                let batch = batch.map_err(|e| fail(read(&e)))?;
                let patterns = batch
                    .column(n_keep)
                    .as_any()
                    .downcast_ref::<BinaryArray>()
                    .ok_or_else(|| fail(read(&"the vote column is not binary")))?;
                let mut matrix = empty.clone();
                for i in 0..patterns.len() {
                    decode_votes(patterns.value(i))
                        .ok_or_else(|| read(&"a vote pattern does not decode"))
                        .and_then(|v| matrix.push_row(&v).map_err(|e| read(&e)))
                        .map_err(&mut fail)?;
                }
                let probs = model.predict_proba(&matrix).map_err(|e| fail(read(&e)))?;
                let mut arrays: Vec<ArrayRef> = batch.columns()[..n_keep].to_vec();
                arrays.extend(crate::write::prob_arrays(&probs));
                let out_batch = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
                writer.write(&out_batch).map_err(std::io::Error::other)?;
                rows += out_batch.num_rows() as u64;
            }
            self.check_rows(table, rows, "returned").map_err(&mut fail)?;
            writer.close().map_err(std::io::Error::other)?;
            Ok(())
        });
        if let Some(e) = failure {
            return Err(e);
        }
        written.map_err(|e| crate::write::write_error(out, e))?;
        Ok(rows)
    }
}

/// Counts the vote patterns of `table` with DataFusion in this process (see
/// [`Engine::pattern_counts`]): `SELECT votes(columns) AS pattern, COUNT(*) FROM table GROUP BY
/// pattern`, the LFs applied inside the scan's partitions by [`votes_udf`]. `columns` are the
/// columns the item type reads. Memory is the distinct patterns, whatever the table's size;
/// `partitions` sets DataFusion's parallelism (`None`: its default, the number of cores).
///
/// # Errors
/// [`TableError::Read`] when DataFusion cannot read the table, a column is missing, a row is not
/// an `X` or an LF fails (the message says which).
pub fn pattern_counts<S, X>(
    lfs: Arc<LfSet<S, X>>,
    table: &Table,
    columns: &[&str],
    partitions: Option<usize>,
) -> Result<PatternCounts, TableError>
where
    S: TaskSchema + 'static,
    X: DeserializeOwned + Send + Sync + 'static,
{
    Engine::local(&LfUdf::new(lfs)?, partitions)?.pattern_counts(table, columns)
}

/// [`pattern_counts`] with a preparation step, as [`votes_udf_prepared`]: each row is read as an
/// `I` and prepared once into the `X` the LFs read.
///
/// # Errors
/// As [`pattern_counts`].
pub fn pattern_counts_prepared<S, I, X>(
    lfs: Arc<LfSet<S, X>>,
    table: &Table,
    columns: &[&str],
    prepare: impl Fn(&I) -> X + Send + Sync + 'static,
    partitions: Option<usize>,
) -> Result<PatternCounts, TableError>
where
    S: TaskSchema + 'static,
    I: DeserializeOwned + Send + Sync + 'static,
    X: 'static,
{
    Engine::local(&LfUdf::prepared(lfs, prepare)?, partitions)?.pattern_counts(table, columns)
}

impl Table {
    /// The number of rows, counted by DataFusion in this process: from the footers of a Parquet
    /// file, by a scan of a CSV or JSON-lines file.
    ///
    /// # Errors
    /// [`TableError::Read`] when the table cannot be read.
    pub fn count_rows(&self) -> Result<u64, TableError> {
        let read = |e: &dyn fmt::Display| TableError::Read { path: self.path().to_path_buf(), message: e.to_string() };
        let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| read(&e))?;
        let ctx = SessionContext::new();
        let n = runtime
            .block_on(async {
                self.register(&ctx, "items").await?;
                ctx.table("items").await?.count().await
            })
            .map_err(|e| read(&e))?;
        Ok(n as u64)
    }

    /// Registers the table in `ctx` under `name`, read in its format.
    pub(crate) async fn register(&self, ctx: &SessionContext, name: &str) -> DfResult<()> {
        let path = self.path().to_str().unwrap_or_default();
        match self.format() {
            Format::Parquet => ctx.register_parquet(name, path, Default::default()).await,
            Format::Csv => ctx.register_csv(name, path, Default::default()).await,
            Format::JsonLines => {
                let extension = self.path().extension().and_then(|e| e.to_str()).unwrap_or("jsonl");
                let extension = format!(".{extension}");
                let options = datafusion::prelude::JsonReadOptions::default().file_extension(&extension);
                ctx.register_json(name, path, options).await
            }
        }
    }
}

/// Reads `table` again, in file order, and writes each row's columns `keep` (an id, say) and the
/// probabilities `model` gives its votes to the Parquet file `out`: [`Engine::write_probs`] on a
/// local engine of one partition. Returns the number of rows written.
///
/// # Errors
/// As [`Engine::write_probs`].
pub fn write_table_probs<S, X>(
    lfs: Arc<LfSet<S, X>>,
    table: &Table,
    columns: &[&str],
    keep: &[&str],
    model: &dyn FittedLabelModel,
    out: impl AsRef<Path>,
) -> Result<u64, TableError>
where
    S: TaskSchema + 'static,
    X: DeserializeOwned + Send + Sync + 'static,
{
    Engine::local(&LfUdf::new(lfs)?, Some(1))?.write_probs(table, columns, keep, model, out)
}
