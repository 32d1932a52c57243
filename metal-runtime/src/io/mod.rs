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

/// Opens `path` for reading, if it is a regular file (or a link to one). A named pipe, a device
/// or a folder is refused before it is opened: opening a pipe blocks until a writer appears, and
/// reading a device may never end.
///
/// # Errors
/// [`IoError::Os`] when the file cannot be read; [`IoError::Malformed`] for a path that is not a
/// regular file.
pub(crate) fn open(path: &Path) -> Result<File, IoError> {
    let meta = fs::metadata(path).map_err(os_error(path))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() { "a folder" } else { "not a regular file (a pipe, socket or device)" };
        return Err(malformed(path, format!("expected a file, but the path is {kind}")));
    }
    File::open(path).map_err(os_error(path))
}

/// The longest line the line-oriented readers accept, in bytes: a file with a longer line is
/// refused instead of being read into memory whole.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// The lines of a UTF-8 text file with their 1-based numbers, each at most [`MAX_LINE_BYTES`]
/// long (without its `\n` or `\r\n`).
pub(crate) struct Lines<R> {
    reader: R,
    path: PathBuf,
    line: usize,
    buf: Vec<u8>,
    max_len: usize,
}

impl Lines<io::BufReader<File>> {
    /// The lines of the file at `path` (see [`open`]).
    pub(crate) fn open(path: &Path) -> Result<Self, IoError> {
        Ok(Lines::new(io::BufReader::new(open(path)?), path))
    }
}

impl<R: io::BufRead> Lines<R> {
    pub(crate) fn new(reader: R, path: &Path) -> Self {
        Lines { reader, path: path.to_path_buf(), line: 0, buf: Vec::new(), max_len: MAX_LINE_BYTES }
    }

    /// The file being read.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl<R: io::BufRead> Iterator for Lines<R> {
    type Item = Result<(usize, String), IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        use io::{BufRead, Read};
        self.buf.clear();
        let limit = self.max_len as u64 + 2; // room for "\r\n"
        let n = match (&mut self.reader).take(limit).read_until(b'\n', &mut self.buf) {
            Ok(n) => n,
            Err(e) => return Some(Err(os_error(&self.path)(e))),
        };
        if n == 0 {
            return None;
        }
        self.line += 1;
        let at = |message: String| IoError::Malformed { path: self.path.clone(), line: Some(self.line), message };
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.len() > self.max_len {
            let limit = if self.max_len >= 1 << 20 {
                format!("{} MiB", self.max_len >> 20)
            } else {
                format!("{} bytes", self.max_len)
            };
            return Some(Err(at(format!("the line is longer than {limit}, the limit of this reader"))));
        }
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(text) => Some(Ok((self.line, text))),
            Err(_) => Some(Err(at("the line is not valid UTF-8".into()))),
        }
    }
}

/// Reads and deserializes a JSON file; syntax and type errors carry the line serde reports.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, IoError> {
    let mut text = String::new();
    io::Read::read_to_string(&mut open(path)?, &mut text).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => malformed(path, "the file is not valid UTF-8"),
        _ => os_error(path)(e),
    })?;
    serde_json::from_str(&text).map_err(|e| IoError::Malformed {
        path: path.to_path_buf(),
        line: Some(e.line()),
        message: json_message(&e),
    })
}

/// At most the first 200 characters of a message that may quote the input (serde quotes whole
/// strings in its type errors), with `…` where it was cut.
pub(crate) fn shorten(message: &str) -> String {
    const MAX: usize = 200;
    match message.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

/// A serde_json error's message without its " at line L column C" suffix, with the column kept.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(pos) => &full[..pos],
        None => full.as_str(),
    };
    let message = shorten(message);
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
/// `path` only once everything is written: a failed write leaves no partial file, and an existing
/// file stays as it was. Only a regular file is replaced (it keeps its permissions); a symbolic
/// link, a folder or a device at `path` is an error.
///
/// # Errors
/// [`IoError`] naming `path`: what `write` returned, or the operating system's error.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> Result<(), IoError> {
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

    /// Lines are numbered from 1, lose their `\n` or `\r\n`, and one longer than the limit is an
    /// error naming the file and the line, read no further than the limit.
    #[test]
    fn lines_are_bounded() {
        let path = Path::new("items.jsonl");
        let text = b"ab\r\ncdef\n\nxyz";
        let lines: Vec<_> = Lines::new(&text[..], path).map(Result::unwrap).collect();
        assert_eq!(lines, [(1, "ab".into()), (2, "cdef".into()), (3, String::new()), (4, "xyz".into())]);
        let mut short = Lines::new(&text[..], path);
        short.max_len = 3;
        assert_eq!(short.next().unwrap().unwrap(), (1, "ab".into()));
        let err = short.next().unwrap().unwrap_err().to_string();
        assert_eq!(err, "items.jsonl, line 2: the line is longer than 3 bytes, the limit of this reader");
        let bad = Lines::new(&b"ok\n\xff\n"[..], path).nth(1).unwrap().unwrap_err().to_string();
        assert!(bad.contains("line 2") && bad.contains("UTF-8"), "{bad}");
    }

    /// A JSON type error that quotes a long string of the input is cut to 200 characters.
    #[test]
    fn json_errors_quote_little() {
        let long = format!("{{\"n\": \"{}\"}}", "x".repeat(10_000));
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct N {
            n: usize,
        }
        let e = serde_json::from_str::<N>(&long).unwrap_err();
        let message = json_message(&e);
        assert!(message.chars().count() < 260 && message.ends_with('…'), "{message}");
    }

    /// Folders and named pipes are refused before they are opened (opening a pipe would block).
    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("pipe");
            if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
                let err = read_json::<serde_json::Value>(&fifo).unwrap_err().to_string();
                assert!(err.contains("not a regular file"), "{err}");
            }
        }
    }

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
