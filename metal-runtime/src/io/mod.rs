//! Reading and writing label matrices, problems and datasets.
//!
//! - [`npy`]: label matrices as dense `.npy` arrays in the snorkel convention (`-1` = abstain),
//!   read row by row into the sparse [`LabelMatrix`](crate::label_matrix::LabelMatrix); gold
//!   label vectors; probabilistic labels.
//! - [`synthetic`]: the synthetic-problem folder format (`schema.json`, `L_*.npy`, `Y_*.npy`,
//!   `Ytask_*.npy`) of the benchmark generator `gen_synthetic.py`.
//! - [`generate`]: synthetic problems in that format, generated in Rust (`metal generate`).
//! - [`items`]: a data set's items, from JSON lines or CSV into any `serde::Deserialize` type.
//! - [`wrench`]: WRENCH datasets as JSON lines (`train.jsonl`, `valid.jsonl`, `test.jsonl`,
//!   `source_label.json`).
//!
//! Every error is an [`IoError`] that names the file, the 1-based line for line-oriented files,
//! and what is wrong. Writers write to a temporary file in the target's folder and rename it over
//! the target, so a failed write leaves no partial output behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;

use crate::error::{IoError, LabelMatrixError};
use crate::label_matrix::LfInfo;
use crate::schema::TaskGraph;

pub mod generate;
pub mod items;
pub mod npy;
pub mod synthetic;
pub mod wrench;

/// Maps an OS error on `path` to [`IoError::Os`].
pub(crate) fn os_error(path: &Path) -> impl FnOnce(io::Error) -> IoError + '_ {
    move |source| IoError::Os { path: path.to_path_buf(), source }
}

/// A [`IoError::Malformed`] without a line.
pub(crate) fn malformed(path: &Path, message: impl Into<String>) -> IoError {
    IoError::Malformed { path: path.to_path_buf(), line: None, message: message.into() }
}

/// Opens `path` for reading.
pub(crate) fn open(path: &Path) -> Result<File, IoError> {
    File::open(path).map_err(os_error(path))
}

/// Reads and deserializes a JSON file; syntax and type errors carry the line serde reports.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, IoError> {
    let text = fs::read_to_string(path).map_err(os_error(path))?;
    serde_json::from_str(&text).map_err(|e| IoError::Malformed {
        path: path.to_path_buf(),
        line: Some(e.line()),
        message: json_message(&e),
    })
}

/// A serde_json error's message without its " at line L column C" suffix, with the column kept.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(pos) => &full[..pos],
        None => full.as_str(),
    };
    let kind = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON content",
        serde_json::error::Category::Io => "read error",
    };
    if e.column() > 0 {
        format!("{kind} at column {}: {message}", e.column())
    } else {
        format!("{kind}: {message}")
    }
}

/// Checks one dense-convention value of LF `lf` on item `item`: `-1` is an abstain (`None`),
/// `0..k_t` a label of the LF's task.
pub(crate) fn check_dense_vote(
    graph: &TaskGraph,
    lfs: &[LfInfo],
    item: usize,
    lf: usize,
    value: i64,
) -> Result<Option<u16>, LabelMatrixError> {
    if value == -1 {
        return Ok(None);
    }
    let info = lfs.get(lf).ok_or(LabelMatrixError::LfOutOfRange { item, lf, n_lfs: lfs.len() })?;
    if value < -1 {
        return Err(LabelMatrixError::NegativeLabel { item, lf, lf_name: info.name.clone(), value });
    }
    let k = graph.cardinality(info.task);
    match u16::try_from(value) {
        Ok(label) if usize::from(label) < k => Ok(Some(label)),
        _ => Err(LabelMatrixError::LabelOutOfRange {
            item,
            lf,
            lf_name: info.name.clone(),
            label: value,
            task: graph.task(info.task).name.clone(),
            cardinality: k,
        }),
    }
}

/// LFs named `lf0`, `lf1`, … on the given tasks.
pub(crate) fn numbered_lfs(tasks: impl IntoIterator<Item = usize>) -> Vec<LfInfo> {
    tasks.into_iter().enumerate().map(|(j, task)| LfInfo { name: format!("lf{j}"), task }).collect()
}

/// A temporary file next to a target; removed on drop unless renamed over the target.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `path` through `write`, into a temporary file in the same folder that is renamed over
/// `path` only once everything is written.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), IoError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| malformed(path, "the path does not name a file"))?;
    // Only a regular file is replaced (never a symbolic link, a device or a folder), and it keeps
    // its permissions.
    let existing = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Some(meta.permissions()),
        Ok(meta) => {
            let what = if meta.file_type().is_symlink() {
                "a symbolic link"
            } else if meta.is_dir() {
                "a folder"
            } else {
                "not a regular file"
            };
            return Err(malformed(path, format!("refusing to write over it: it is {what}")));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(os_error(path)(e)),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let tmp = TempFile { path: path.with_file_name(tmp_name), keep: false };
    let file = OpenOptions::new().write(true).create_new(true).open(&tmp.path).map_err(os_error(path))?;
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    write(&mut writer).map_err(os_error(path))?;
    writer.flush().map_err(os_error(path))?;
    drop(writer);
    if let Some(permissions) = existing {
        fs::set_permissions(&tmp.path, permissions).map_err(os_error(path))?;
    }
    fs::rename(&tmp.path, path).map_err(os_error(path))?;
    let mut tmp = tmp;
    tmp.keep = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let err = write_atomic(&target, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out.bin") && err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        fs::write(&target, b"old").unwrap();
        let _ = write_atomic(&target, |_| Err(io::Error::other("fail")));
        assert_eq!(fs::read(&target).unwrap(), b"old");
        write_atomic(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A replaced file keeps its permissions; links and folders are not replaced.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
            write_atomic(&target, |w| w.write_all(b"newer")).unwrap();
            assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
            let link = dir.path().join("link.bin");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let err = write_atomic(&link, |w| w.write_all(b"x")).unwrap_err().to_string();
            assert!(err.contains("symbolic link"), "{err}");
            assert_eq!(fs::read(&target).unwrap(), b"newer");
        }
        let err = write_atomic(dir.path(), |w| w.write_all(b"x")).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
    }

    #[test]
    fn dense_votes_are_checked() {
        let graph = TaskGraph::flat("class", ["a", "b"]).unwrap();
        let lfs = numbered_lfs([0, 0]);
        assert_eq!(check_dense_vote(&graph, &lfs, 0, 1, -1), Ok(None));
        assert_eq!(check_dense_vote(&graph, &lfs, 0, 1, 1), Ok(Some(1)));
        assert_eq!(
            check_dense_vote(&graph, &lfs, 3, 1, -2).unwrap_err().to_string(),
            "item 3, LF 1 (`lf1`): value -2 is below -1 (-1 means abstain, labels start at 0)"
        );
        assert!(matches!(
            check_dense_vote(&graph, &lfs, 0, 0, 70000),
            Err(LabelMatrixError::LabelOutOfRange { label: 70000, .. })
        ));
    }
}
