//! Reading a data set's items into the user's own types: JSON lines or CSV into any
//! `serde::Deserialize` type, with errors that name the file and the line.
//!
//! ```
//! use serde::Deserialize;
//! use metal_runtime::io::items;
//!
//! #[derive(Deserialize)]
//! struct Review {
//!     id: String,
//!     text: String,
//!     stars: Option<u8>,
//! }
//!
//! # fn main() -> metal_runtime::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("reviews.jsonl");
//! # std::fs::write(&path, "{\"id\": \"a\", \"text\": \"great\", \"stars\": 5}\n\n{\"id\": \"b\", \"text\": \"meh\"}\n").unwrap();
//! let reviews: Vec<Review> = items::read_jsonl(&path)?; // blank lines are skipped
//! assert_eq!(reviews[1].stars, None);
//! # let csv = dir.path().join("reviews.csv");
//! # std::fs::write(&csv, "id,text,stars\na,great,5\nb,meh,\n").unwrap();
//! let from_csv: Vec<Review> = items::read_csv(&csv)?; // a header row names the fields
//! assert_eq!(from_csv[0].text, "great");
//! # Ok(()) }
//! ```

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{json_message, open, os_error, Lines};
use crate::error::{IoError, Result};

fn malformed(path: &Path, line: u64, message: String) -> IoError {
    IoError::Malformed { path: path.to_path_buf(), line: usize::try_from(line).ok(), message }
}

/// The non-blank lines of a text file with their 1-based line numbers.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io): [`IoError::Os`] when the file cannot be read;
/// [`IoError::Malformed`] naming the line when it is not UTF-8.
pub fn read_lines(path: impl AsRef<Path>) -> Result<Vec<(usize, String)>> {
    Ok(lines(path.as_ref())?)
}

fn lines(path: &Path) -> Result<Vec<(usize, String)>, IoError> {
    let mut out = Vec::new();
    for line in Lines::open(path)? {
        let (number, line) = line?;
        if !line.trim().is_empty() {
            out.push((number, line));
        }
    }
    Ok(out)
}

/// The items of a JSON-lines file (one JSON value per line; blank lines are skipped), each
/// with its 1-based line number.
///
/// # Errors
/// As [`read_lines`]; [`IoError::Malformed`] naming the line, the column and what is wrong for a
/// line that is not valid JSON or not a `T`.
pub fn read_jsonl_numbered<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<(usize, T)>> {
    let path = path.as_ref();
    lines(path)?
        .into_iter()
        .map(|(line, text)| {
            serde_json::from_str(&text)
                .map(|item| (line, item))
                .map_err(|e| malformed(path, line as u64, json_message(&e)).into())
        })
        .collect()
}

/// The items of a JSON-lines file read one line at a time, for files too large to hold: each
/// `next` reads and deserializes one non-blank line. Pairs with
/// [`LfSet::try_apply_iter`](crate::lf::LfSet::try_apply_iter), which stops at the first error.
///
/// # Errors
/// Opening the file fails as in [`read_lines`]; each item's error is that of
/// [`read_jsonl_numbered`] for its line.
pub fn iter_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<impl Iterator<Item = Result<T>>> {
    let mut lines = Lines::open(path.as_ref())?;
    Ok(std::iter::from_fn(move || loop {
        let (number, text) = match lines.next()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e.into())),
        };
        if text.trim().is_empty() {
            continue;
        }
        let item =
            serde_json::from_str(&text).map_err(|e| malformed(lines.path(), number as u64, json_message(&e)).into());
        return Some(item);
    }))
}

/// A JSON-lines source for [`LfSet::apply_jsonl`](crate::lf::LfSet::apply_jsonl): a file, or
/// any buffered reader (standard input, a decompressor) with a name for its error messages.
/// Lines are read one at a time; blank lines are skipped.
///
/// ```no_run
/// # fn main() -> metal_runtime::Result<()> {
/// use metal_runtime::io::items::JsonLines;
/// let file = JsonLines::open("reviews.jsonl")?;
/// let stdin = JsonLines::from_reader(std::io::stdin().lock(), "<stdin>");
/// # Ok(()) }
/// ```
pub struct JsonLines<'a> {
    lines: Lines<Box<dyn std::io::BufRead + 'a>>,
}

impl JsonLines<'static> {
    /// The lines of the file at `path`.
    ///
    /// # Errors
    /// [`IoError::Os`] when the file cannot be opened, [`IoError::Malformed`] when it is not a
    /// regular file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let file = open(path.as_ref())?;
        Ok(JsonLines::from_reader(std::io::BufReader::new(file), path))
    }
}

impl<'a> JsonLines<'a> {
    /// The lines of `reader`; `name` stands for it in error messages.
    pub fn from_reader(reader: impl std::io::BufRead + 'a, name: impl AsRef<Path>) -> Self {
        JsonLines { lines: Lines::new(Box::new(reader), name.as_ref()) }
    }

    /// The file's path, or the reader's name.
    pub fn name(&self) -> &Path {
        self.lines.path()
    }

    /// The non-blank lines with their 1-based line numbers.
    pub(crate) fn nonblank(self) -> impl Iterator<Item = Result<(usize, String)>> + 'a {
        self.lines.filter(|line| !matches!(line, Ok((_, text)) if text.trim().is_empty())).map(|line| Ok(line?))
    }
}

/// The message of a line of a JSON-lines file that is not valid JSON or not of the item type
/// (what [`iter_jsonl`] reports for it).
pub(crate) fn jsonl_error(path: &Path, line: usize, e: &serde_json::Error) -> String {
    malformed(path, line as u64, json_message(e)).to_string()
}

/// The items of a JSON-lines file (see [`read_jsonl_numbered`]).
///
/// # Errors
/// As [`read_jsonl_numbered`].
pub fn read_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    Ok(read_jsonl_numbered(path)?.into_iter().map(|(_, item)| item).collect())
}

/// The rows of a CSV file with a header row, each deserialized into a `T` by the header's column
/// names, with their 1-based line numbers. Empty fields deserialize as `None` into `Option`
/// fields; quoted fields may span lines (the line number is the row's first).
///
/// # Errors
/// [`Error::Io`](crate::Error::Io): [`IoError::Os`] when the file cannot be read;
/// [`IoError::Malformed`] naming the line for a row with another number of fields than the
/// header, a field that is not valid UTF-8, or a row that is not a `T` (with the field's name
/// when the CSV reader knows it).
pub fn read_csv_numbered<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<(usize, T)>> {
    Ok(csv_rows(path.as_ref())?)
}

fn csv_rows<T: DeserializeOwned>(path: &Path) -> Result<Vec<(usize, T)>, IoError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(open(path)?);
    let csv_error = |e: csv::Error| -> IoError {
        let line = e.position().map_or(0, csv::Position::line);
        let message = match e.kind() {
            csv::ErrorKind::Io(_) => return os_error(path)(std::io::Error::other(e.to_string())),
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields, where the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid UTF-8", err.field() + 1),
            _ => e.to_string(),
        };
        malformed(path, line, message)
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        let item = record.deserialize(Some(&headers)).map_err(|e| {
            let message = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => match err.field().and_then(|f| headers.get(f as usize)) {
                    Some(name) => format!("column `{name}`: {}", err.kind()),
                    None => err.kind().to_string(),
                },
                _ => e.to_string(),
            };
            malformed(path, line, message)
        })?;
        out.push((line as usize, item));
    }
    Ok(out)
}

/// The rows of a CSV file with a header row (see [`read_csv_numbered`]).
///
/// # Errors
/// As [`read_csv_numbered`].
pub fn read_csv<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    Ok(read_csv_numbered(path)?.into_iter().map(|(_, item)| item).collect())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Item {
        id: String,
        text: String,
        label: Option<u8>,
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn json_lines_with_line_numbers_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good =
            file(&dir, "a.jsonl", "{\"id\":\"a\",\"text\":\"x\",\"label\":1}\n\n{\"id\":\"b\",\"text\":\"y\"}\n");
        let items: Vec<(usize, Item)> = read_jsonl_numbered(&good).unwrap();
        assert_eq!(items[1], (3, Item { id: "b".into(), text: "y".into(), label: None }));
        let bad = file(&dir, "b.jsonl", "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":7}\n");
        let err = read_jsonl::<Item>(&bad).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}, line 2: unexpected JSON content at column", bad.display())), "{err}");
        assert!(err.contains("expected a string"), "{err}");
        let broken = file(&dir, "c.jsonl", "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\n");
        let err = read_jsonl::<Item>(&broken).unwrap_err().to_string();
        assert!(err.contains(", line 2: invalid JSON"), "{err}");
        let missing = dir.path().join("missing.jsonl");
        assert!(read_jsonl::<Item>(&missing).unwrap_err().to_string().contains("missing.jsonl"));
        let latin1 = dir.path().join("d.jsonl");
        std::fs::write(&latin1, b"{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"\xe9\"}\n").unwrap();
        let err = read_jsonl::<Item>(&latin1).unwrap_err().to_string();
        assert!(err.contains(", line 2: the line is not valid UTF-8"), "{err}");
    }

    #[test]
    fn csv_rows_by_header_with_errors_naming_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let good = file(&dir, "a.csv", "text,id,label\n\"two\nlines\",a,3\nplain,b,\n");
        let items: Vec<(usize, Item)> = read_csv_numbered(&good).unwrap();
        assert_eq!(items[0], (2, Item { id: "a".into(), text: "two\nlines".into(), label: Some(3) }));
        assert_eq!(items[1], (4, Item { id: "b".into(), text: "plain".into(), label: None }));
        let bad_type = file(&dir, "b.csv", "id,text,label\na,x,1\nb,y,many\n");
        let err = read_csv::<Item>(&bad_type).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}, line 3: column `label`", bad_type.display())), "{err}");
        let short = file(&dir, "c.csv", "id,text,label\na,x\n");
        let err = read_csv::<Item>(&short).unwrap_err().to_string();
        assert!(err.contains(", line 2: 2 fields, where the header has 3"), "{err}");
        let no_column = file(&dir, "d.csv", "id,label\na,1\n");
        let err = read_csv::<Item>(&no_column).unwrap_err().to_string();
        assert!(err.contains(", line 2: ") && err.contains("text"), "{err}");
    }

    /// The streaming reader yields what `read_jsonl` returns, one line at a time, then the error
    /// of the first bad line.
    #[test]
    fn json_lines_stream() {
        let dir = tempfile::tempdir().unwrap();
        let text = "{\"id\": \"a\", \"text\": \"x\", \"label\": 1}\n\n{\"id\": \"b\", \"text\": \"y\"}\n";
        let good = file(&dir, "good.jsonl", text);
        let streamed: Vec<Item> = iter_jsonl(&good).unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(streamed, read_jsonl::<Item>(&good).unwrap());
        let bad = file(&dir, "bad.jsonl", &format!("{text}{{\"id\": 3}}\n"));
        let out: Vec<Result<Item>> = iter_jsonl(&bad).unwrap().collect();
        assert_eq!(out.len(), 3);
        let err = out[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("bad.jsonl, line 4"), "{err}");
        assert!(iter_jsonl::<Item>(dir.path().join("missing.jsonl")).is_err());
    }
}
