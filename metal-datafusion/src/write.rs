//! Writing a label matrix and probabilistic labels as Parquet files, for the tools that read the
//! rest of the user's table (DataFusion, Spark, pandas, Polars).

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int16Array, Int32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use metal_runtime::error::IoError;
use metal_runtime::io::write_atomic;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::ProbLabels;
use metal_runtime::schema::TaskGraph;

use crate::TableError;

/// Rows per record batch and Parquet row group: memory beyond the matrix is about one batch.
const BATCH_ROWS: usize = 65_536;

/// Writes `matrix` to the Parquet file `path`: one row per item in the matrix's order, one
/// column per LF named by the LF, holding the label the LF voted (its index among its task's
/// labels) and -1 where it abstained, as snorkel's label matrices and this library's `.npy`
/// files do. Columns are 16-bit integers (32-bit when a label does not fit).
///
/// The file is written next to `path` under a temporary name and renamed over it once complete,
/// so a failed write leaves nothing behind.
///
/// ```no_run
/// # fn demo(matrix: &metal_runtime::label_matrix::LabelMatrix) -> Result<(), metal_datafusion::TableError> {
/// metal_datafusion::write_label_matrix("votes.parquet", matrix)?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`TableError::Write`] naming the file: two LFs with one name, a folder that does not exist,
/// a path that is a folder or a link, or the operating system's error.
pub fn write_label_matrix(path: impl AsRef<Path>, matrix: &LabelMatrix) -> Result<(), TableError> {
    let path = path.as_ref();
    let names: Vec<&str> = matrix.lfs().iter().map(|lf| lf.name.as_str()).collect();
    unique(path, &names, "LFs")?;
    let wide = (0..matrix.n_items()).any(|i| matrix.row_slices(i).1.iter().any(|&l| i16::try_from(l).is_err()));
    let kind = if wide { DataType::Int32 } else { DataType::Int16 };
    let schema = Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, kind.clone(), false)).collect::<Vec<_>>()));
    let m = matrix.n_lfs();
    write(path, schema.clone(), matrix.n_items(), |rows| {
        let mut columns = vec![vec![-1i32; rows.len()]; m];
        for (r, i) in rows.enumerate() {
            for (j, label) in matrix.row(i) {
                columns[j][r] = i32::from(label);
            }
        }
        let arrays: Vec<ArrayRef> = columns
            .into_iter()
            .map(|c| -> ArrayRef {
                if wide {
                    Arc::new(Int32Array::from(c))
                } else {
                    // Every value fits: -1 or a label checked above.
                    Arc::new(Int16Array::from(c.into_iter().map(|v| v as i16).collect::<Vec<_>>()))
                }
            })
            .collect();
        RecordBatch::try_new(schema.clone(), arrays)
    })
}

/// Writes `probs` to the Parquet file `path`: one row per item, 64-bit float columns named by
/// [`prob_fields`]: the probability of each end label, then, on a schema of several tasks, each
/// task's marginal distribution. Written like [`write_label_matrix`], through a temporary file.
///
/// # Errors
/// As [`write_label_matrix`].
pub fn write_probs(path: impl AsRef<Path>, probs: &ProbLabels) -> Result<(), TableError> {
    let path = path.as_ref();
    let fields = prob_fields(probs.graph());
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    unique(path, &names, "columns")?;
    let schema = Arc::new(Schema::new(fields.clone()));
    write(path, schema.clone(), probs.n_items(), |rows| {
        let part =
            ProbLabels::new(probs.graph_arc().clone(), probs.end_labels().slice(ndarray::s![rows, ..]).to_owned());
        RecordBatch::try_new(schema.clone(), prob_arrays(&part))
    })
}

/// The probability columns of a schema, all 64-bit floats: one per end label, named by the end
/// label (as [`TaskGraph::end_label_names`] gives them, e.g. `Other/Entity`); then, when the
/// schema has several tasks, one per task and label, `task=label`, and for every task but the
/// root `task=(inactive)`, the mass of the end labels under which the task does not apply.
///
/// [`TaskGraph::end_label_names`]: metal_runtime::schema::TaskGraph::end_label_names
pub fn prob_fields(graph: &TaskGraph) -> Vec<Field> {
    let mut names: Vec<String> = graph.end_label_names().to_vec();
    if graph.n_tasks() > 1 {
        for (t, task) in graph.tasks().iter().enumerate() {
            names.extend(task.labels.iter().map(|l| format!("{}={l}", task.name)));
            if t != graph.root() {
                names.push(format!("{}=(inactive)", task.name));
            }
        }
    }
    names.into_iter().map(|n| Field::new(n, DataType::Float64, false)).collect()
}

/// The columns of [`prob_fields`] for `probs`.
pub(crate) fn prob_arrays(probs: &ProbLabels) -> Vec<ArrayRef> {
    let end = probs.end_labels();
    let mut arrays: Vec<ArrayRef> = end
        .columns()
        .into_iter()
        .map(|c| -> ArrayRef { Arc::new(Float64Array::from_iter_values(c.iter().copied())) })
        .collect();
    let graph = probs.graph();
    if graph.n_tasks() > 1 {
        for t in 0..graph.n_tasks() {
            let marginals = probs.task_marginals(t);
            arrays.extend(
                marginals
                    .columns()
                    .into_iter()
                    .map(|c| -> ArrayRef { Arc::new(Float64Array::from_iter_values(c.iter().copied())) }),
            );
        }
    }
    arrays
}

pub(crate) fn unique(path: &Path, names: &[&str], what: &str) -> Result<(), TableError> {
    let mut seen = HashSet::new();
    match names.iter().find(|n| !seen.insert(**n)) {
        Some(name) => Err(TableError::Write {
            path: path.to_path_buf(),
            message: format!("two {what} are named `{name}`, and a Parquet column name must be unique"),
        }),
        None => Ok(()),
    }
}

/// Writes `n` rows, batch by batch from `batch(rows)`, atomically.
fn write(
    path: &Path,
    schema: Arc<Schema>,
    n: usize,
    batch: impl Fn(std::ops::Range<usize>) -> Result<RecordBatch, datafusion::arrow::error::ArrowError>,
) -> Result<(), TableError> {
    write_atomic(path, |file| {
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(BATCH_ROWS)).build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(io::Error::other)?;
        for start in (0..n).step_by(BATCH_ROWS) {
            let rows = batch(start..(start + BATCH_ROWS).min(n)).map_err(io::Error::other)?;
            writer.write(&rows).map_err(io::Error::other)?;
        }
        writer.close().map_err(io::Error::other)?;
        Ok(())
    })
    .map_err(|e| write_error(path, e))
}

/// [`TableError::Write`] for an error of `write_atomic` on `path`.
pub(crate) fn write_error(path: &Path, e: IoError) -> TableError {
    // The path is the variant's own; keep only what went wrong.
    let message = match e {
        IoError::Os { source, .. } => source.to_string(),
        IoError::Malformed { message, .. } => message,
        other => other.to_string(),
    };
    TableError::Write { path: path.to_path_buf(), message }
}
