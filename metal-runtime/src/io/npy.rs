//! Label matrices and label vectors as NumPy `.npy` files.
//!
//! Label matrices use the snorkel convention: a 2-D integer array, n items × m LFs, where `-1`
//! means abstain and any other value is a label `0..k_t` of the LF's task `t`.
//! [`read_label_matrix`] accepts little-endian int8, int16, int32 and int64 arrays in C or
//! Fortran order and streams them into the sparse [`LabelMatrix`]: memory stays proportional to
//! the number of votes, never to n · m.
//!
//! Only what these files need of the format is implemented: versions 1.0–3.0, simple
//! (non-structured) dtypes, no pickled objects.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2, ShapeBuilder};

use crate::error::IoError;
use crate::io::{check_dense_vote, malformed, open, os_error, write_atomic};
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::TaskGraph;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
const INT_DTYPES: &str = "a little-endian signed integer dtype (int8, int16, int32 or int64)";
const F64_DTYPE: &str = "little-endian float64 (`<f8`)";
const F32_DTYPE: &str = "little-endian float32 (`<f4`)";
const BUF_SIZE: usize = 1 << 16;

/// An element type this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        match descr {
            "|i1" | "<i1" | "i1" => Some(Dtype::I8),
            "<i2" => Some(Dtype::I16),
            "<i4" => Some(Dtype::I32),
            "<i8" => Some(Dtype::I64),
            "<f4" => Some(Dtype::F32),
            "<f8" => Some(Dtype::F64),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 => 2,
            Dtype::I32 | Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }

    fn is_int(self) -> bool {
        !matches!(self, Dtype::F32 | Dtype::F64)
    }
}

/// A little-endian element type, decoded without a per-element dtype dispatch.
trait Element: Copy {
    /// Bytes per element.
    const SIZE: usize;
    /// Decodes one element from exactly `SIZE` bytes.
    fn decode(bytes: &[u8]) -> Self;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn decode(bytes: &[u8]) -> Self {
                let mut b = [0; std::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
element!(i8, i16, i32, i64, f32, f64);

/// Calls `$body` with `$e` bound to the Rust type of integer dtype `$dtype`.
macro_rules! with_int_type {
    ($dtype:expr, $e:ident => $body:expr) => {
        match $dtype {
            Dtype::I8 => {
                type $e = i8;
                $body
            }
            Dtype::I16 => {
                type $e = i16;
                $body
            }
            Dtype::I32 => {
                type $e = i32;
                $body
            }
            Dtype::I64 | Dtype::F32 | Dtype::F64 => {
                type $e = i64;
                $body
            }
        }
    };
}

/// The parsed header of an `.npy` file.
#[derive(Debug)]
struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    fn n_elements(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }
}

/// An open `.npy` file positioned at the start of its data.
struct NpyReader<'p> {
    path: &'p Path,
    header: Header,
    data_offset: u64,
    reader: BufReader<File>,
}

impl<'p> NpyReader<'p> {
    /// Opens `path`, parses and checks its header, and checks that the file holds exactly the
    /// data the header announces. `expected` names the accepted dtypes in errors.
    fn open(path: &'p Path, rank: usize, accept: fn(Dtype) -> bool, expected: &'static str) -> Result<Self, IoError> {
        let file = open(path)?;
        let file_len = file.metadata().map_err(os_error(path))?.len();
        let mut reader = BufReader::with_capacity(BUF_SIZE, file);
        let (descr, fortran_order, shape, data_offset) = read_header(path, &mut reader)?;
        let dtype = Dtype::parse(&descr).filter(|&d| accept(d)).ok_or_else(|| IoError::UnsupportedDtype {
            path: path.to_path_buf(),
            dtype: descr.clone(),
            expected,
        })?;
        if shape.len() != rank {
            return Err(IoError::WrongRank { path: path.to_path_buf(), expected: rank, shape });
        }
        let header = Header { dtype, fortran_order, shape };
        let n_bytes = header
            .n_elements()
            .and_then(|n| n.checked_mul(dtype.size()))
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| malformed(path, format!("the shape {:?} is too large", header.shape)))?;
        let found = file_len.saturating_sub(data_offset);
        if found < n_bytes {
            return Err(IoError::Truncated { path: path.to_path_buf(), expected: n_bytes, found });
        }
        if found > n_bytes {
            return Err(malformed(
                path,
                format!(
                    "{} bytes follow the array data; the header's shape {:?} accounts for {n_bytes} bytes",
                    found - n_bytes,
                    header.shape
                ),
            ));
        }
        Ok(NpyReader { path, header, data_offset, reader })
    }

    /// Fills `buf` from the data, reporting a short read as truncation.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), IoError> {
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                malformed(self.path, "the file ended early while reading (truncated or changed while read)")
            } else {
                os_error(self.path)(e)
            }
        })
    }

    /// Calls `f(index, value)` for each element in file order, reading in chunks.
    fn for_each<E: Element>(&mut self, mut f: impl FnMut(usize, E) -> Result<(), IoError>) -> Result<(), IoError> {
        let total = self.header.n_elements().unwrap_or(0);
        let per_chunk = (BUF_SIZE / E::SIZE).max(1);
        let mut buf = vec![0u8; per_chunk * E::SIZE];
        let mut done = 0;
        while done < total {
            let n = (total - done).min(per_chunk);
            let chunk = &mut buf[..n * E::SIZE];
            self.read_exact(chunk)?;
            for (k, bytes) in chunk.chunks_exact(E::SIZE).enumerate() {
                f(done + k, E::decode(bytes))?;
            }
            done += n;
        }
        Ok(())
    }

    /// Goes back to the first element.
    fn rewind(&mut self) -> Result<(), IoError> {
        self.reader.seek(SeekFrom::Start(self.data_offset)).map(drop).map_err(os_error(self.path))
    }

    /// All integer elements, in file order, widened to `i64`.
    fn read_all_ints(&mut self) -> Result<Vec<i64>, IoError> {
        let mut out = Vec::with_capacity(self.header.n_elements().unwrap_or(0));
        with_int_type!(self.header.dtype, E => self.push_ints::<E>(&mut out))?;
        Ok(out)
    }

    fn push_ints<E: Element + Into<i64>>(&mut self, out: &mut Vec<i64>) -> Result<(), IoError> {
        self.for_each(|_, v: E| {
            out.push(v.into());
            Ok(())
        })
    }
}

/// Reads the magic, version and header dictionary; returns `(descr, fortran_order, shape,
/// data offset)`.
fn read_header(path: &Path, reader: &mut impl Read) -> Result<(String, bool, Vec<usize>, u64), IoError> {
    let not_npy = || malformed(path, "not an .npy file (it does not start with the NumPy magic bytes)");
    let mut prefix = [0u8; 8];
    reader.read_exact(&mut prefix).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => not_npy(),
        _ => os_error(path)(e),
    })?;
    if &prefix[..6] != MAGIC {
        return Err(not_npy());
    }
    let major = prefix[6];
    let header_len_size = match major {
        1 => 2,
        2 | 3 => 4,
        _ => return Err(malformed(path, format!("unsupported .npy format version {major}.{}", prefix[7]))),
    };
    let truncated_header = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => malformed(path, "truncated file: it ends inside the .npy header"),
        _ => os_error(path)(e),
    };
    let mut len_bytes = [0u8; 4];
    reader.read_exact(&mut len_bytes[..header_len_size]).map_err(truncated_header)?;
    let header_len = u32::from_le_bytes(len_bytes) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(malformed(
            path,
            format!("the .npy header announces {header_len} bytes; headers of more than {MAX_HEADER_LEN} are refused"),
        ));
    }
    let mut text = vec![0u8; header_len];
    reader.read_exact(&mut text).map_err(truncated_header)?;
    let text: String = if major == 3 {
        String::from_utf8(text).map_err(|_| malformed(path, "the .npy header is not valid UTF-8"))?
    } else {
        text.iter().map(|&b| char::from(b)).collect()
    };
    let shown: String = text.trim().chars().take(200).collect();
    let more = if text.trim().chars().count() > 200 { " …" } else { "" };
    let bad_header = |what: &str| malformed(path, format!("invalid .npy header ({what}): {shown}{more}"));
    let dict = match PyParser::new(&text).parse_value() {
        Some(PyValue::Dict(entries)) => entries,
        _ => return Err(bad_header("not a Python dict literal")),
    };
    let get = |key: &str| dict.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let descr = match get("descr") {
        Some(PyValue::Str(s)) => s.clone(),
        Some(PyValue::List) => {
            return Err(IoError::UnsupportedDtype {
                path: path.to_path_buf(),
                dtype: "structured".into(),
                expected: INT_DTYPES,
            })
        }
        _ => return Err(bad_header("no `descr` string")),
    };
    let fortran_order = match get("fortran_order") {
        Some(PyValue::Bool(b)) => *b,
        _ => return Err(bad_header("no `fortran_order` boolean")),
    };
    let shape = match get("shape") {
        Some(PyValue::Tuple(items)) => items
            .iter()
            .map(|v| match v {
                PyValue::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad_header("`shape` is not a tuple of non-negative integers"))?,
        _ => return Err(bad_header("no `shape` tuple")),
    };
    let data_offset = (8 + header_len_size + header_len) as u64;
    Ok((descr, fortran_order, shape, data_offset))
}

/// The Python literals that appear in `.npy` headers.
#[derive(Debug)]
enum PyValue {
    Str(String),
    Bool(bool),
    Int(i128),
    None,
    Tuple(Vec<PyValue>),
    /// A list; only structured dtypes use one, and they are rejected.
    List,
    Dict(Vec<(String, PyValue)>),
}

/// A recursive-descent parser for the Python literal subset of `.npy` headers.
struct PyParser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    /// Nesting depth of the value being parsed.
    depth: usize,
}

/// Deepest nesting of a header value: an .npy header is a dict of a string, a bool and a tuple
/// of ints (depth 2); deeper input is malformed, and refusing it bounds the recursion.
const MAX_HEADER_DEPTH: usize = 16;

/// Longest header accepted, as NumPy's own reader (`max_header_size`): real headers are about
/// 128 bytes, and the length field alone must not decide an allocation.
const MAX_HEADER_LEN: usize = 10_000;

impl<'a> PyParser<'a> {
    fn new(text: &'a str) -> Self {
        PyParser { chars: text.chars().peekable(), depth: 0 }
    }

    fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.chars.peek() == Some(&c) {
            self.chars.next();
            true
        } else {
            false
        }
    }

    /// Parses comma-separated values up to `close`; returns them and whether a comma was seen.
    fn parse_seq(&mut self, close: char) -> Option<(Vec<PyValue>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close) {
                return Some((items, comma));
            }
            items.push(self.parse_value()?);
            if self.eat(',') {
                comma = true;
            } else {
                return self.eat(close).then_some((items, comma));
            }
        }
    }

    fn parse_value(&mut self) -> Option<PyValue> {
        if self.depth >= MAX_HEADER_DEPTH {
            return None;
        }
        self.depth += 1;
        let value = self.parse_value_inner();
        self.depth -= 1;
        value
    }

    fn parse_value_inner(&mut self) -> Option<PyValue> {
        self.skip_ws();
        match *self.chars.peek()? {
            '{' => {
                self.chars.next();
                let mut entries = Vec::new();
                loop {
                    if self.eat('}') {
                        return Some(PyValue::Dict(entries));
                    }
                    let PyValue::Str(key) = self.parse_value()? else { return None };
                    if !self.eat(':') {
                        return None;
                    }
                    entries.push((key, self.parse_value()?));
                    if !self.eat(',') {
                        return self.eat('}').then_some(PyValue::Dict(entries));
                    }
                }
            }
            '(' => {
                self.chars.next();
                let (items, comma) = self.parse_seq(')')?;
                // `(3)` is a parenthesized int, not a tuple.
                if items.len() == 1 && !comma {
                    items.into_iter().next()
                } else {
                    Some(PyValue::Tuple(items))
                }
            }
            '[' => {
                self.chars.next();
                self.parse_seq(']').map(|_| PyValue::List)
            }
            q @ ('\'' | '"') => {
                self.chars.next();
                let mut s = String::new();
                loop {
                    match self.chars.next()? {
                        c if c == q => return Some(PyValue::Str(s)),
                        '\\' => s.push(self.chars.next()?),
                        c => s.push(c),
                    }
                }
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut s = String::new();
                while let Some(&c) = self.chars.peek() {
                    if c.is_ascii_digit() || (s.is_empty() && c == '-') {
                        s.push(c);
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                // Python 2 long suffix.
                if self.chars.peek() == Some(&'L') {
                    self.chars.next();
                }
                s.parse().ok().map(PyValue::Int)
            }
            c if c.is_ascii_alphabetic() => {
                let mut s = String::new();
                while let Some(&c) = self.chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        s.push(c);
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                match s.as_str() {
                    "True" => Some(PyValue::Bool(true)),
                    "False" => Some(PyValue::Bool(false)),
                    "None" => Some(PyValue::None),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Reads a label matrix (n items × m LFs, snorkel convention) from an `.npy` file.
///
/// Accepts little-endian int8, int16, int32 and int64 arrays, in C or Fortran order. The array
/// must have one column per entry of `lfs`; `-1` is an abstain and any other value must be a
/// label `0..k_t` of the column's task. Rows are streamed into the sparse matrix, so memory is
/// proportional to the number of votes.
///
/// # Errors
/// An [`IoError`] naming `path` if the file cannot be read, is not an `.npy` file, is
/// truncated, has another dtype or rank, has a column count other than `lfs.len()`, or holds a
/// value that is neither `-1` nor a label of its LF's task.
pub fn read_label_matrix(
    path: impl AsRef<Path>,
    graph: Arc<TaskGraph>,
    lfs: Vec<LfInfo>,
) -> Result<LabelMatrix, IoError> {
    let path = path.as_ref();
    let lm_error = |source| IoError::LabelMatrix { path: path.to_path_buf(), line: None, source };
    // Checks the LFs' tasks before the file is read.
    LabelMatrix::empty(graph.clone(), lfs.clone()).map_err(lm_error)?;
    let mut npy = NpyReader::open(path, 2, Dtype::is_int, INT_DTYPES)?;
    let (n, m) = (npy.header.shape[0], npy.header.shape[1]);
    if m == 0 {
        // Without columns the file holds no data, so its length bounds nothing: refuse it
        // before the row count sizes anything.
        return Err(malformed(path, format!("the label matrix has shape ({n}, 0): no LF, nothing to fit")));
    }
    if m != lfs.len() {
        return Err(IoError::CountMismatch {
            path: path.to_path_buf(),
            line: None,
            what: "columns of the label matrix (one per LF)".into(),
            expected: lfs.len(),
            found: m,
        });
    }
    if u32::try_from(m).is_err() {
        return Err(malformed(path, format!("{m} columns are more than a label matrix can index")));
    }
    let csr = with_int_type!(npy.header.dtype, E => read_csr::<E>(&mut npy, &graph, &lfs, n, m))?;
    let (indptr, lf_idx, labels) = csr;
    Ok(LabelMatrix::from_csr_unchecked(graph, lfs, indptr, lf_idx, labels))
}

/// CSR parts `(indptr, lf, label)` of a label matrix.
type Csr = (Vec<usize>, Vec<u32>, Vec<u16>);

/// Reads an n × m label matrix of element type `E` into CSR parts, checking every vote.
fn read_csr<E: Element + Into<i64>>(
    npy: &mut NpyReader<'_>,
    graph: &TaskGraph,
    lfs: &[LfInfo],
    n: usize,
    m: usize,
) -> Result<Csr, IoError> {
    let path = npy.path;
    let check = |item: usize, lf: usize, value: i64| {
        check_dense_vote(graph, lfs, item, lf, value).map_err(|source| IoError::LabelMatrix {
            path: path.to_path_buf(),
            line: None,
            source,
        })
    };
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0);
    if !npy.header.fortran_order || n <= 1 || m <= 1 {
        // Row-major (or a single row or column, whose two orders coincide): one row at a time.
        let (mut lf_idx, mut labels) = (Vec::new(), Vec::new());
        let mut row = vec![0u8; m * E::SIZE];
        for i in 0..n {
            npy.read_exact(&mut row)?;
            for (j, bytes) in row.chunks_exact(E::SIZE).enumerate() {
                let value: i64 = E::decode(bytes).into();
                if value == -1 {
                    continue;
                }
                if let Some(label) = check(i, j, value)? {
                    lf_idx.push(j as u32);
                    labels.push(label);
                }
            }
            indptr.push(lf_idx.len());
        }
        lf_idx.shrink_to_fit();
        labels.shrink_to_fit();
        return Ok((indptr, lf_idx, labels));
    }

    // Column-major, in two passes over the file so that memory stays at the CSR size. Pass 1
    // checks every value and counts the votes of each row.
    indptr.resize(n + 1, 0);
    npy.for_each(|e, v: E| {
        let value: i64 = v.into();
        if value != -1 && check(e % n, e / n, value)?.is_some() {
            indptr[e % n + 1] += 1;
        }
        Ok(())
    })?;
    for i in 0..n {
        indptr[i + 1] += indptr[i];
    }
    // Pass 2 fills the rows. Columns arrive in LF order, so every row ends up sorted by LF.
    let n_votes = indptr[n];
    let (mut lf_idx, mut labels) = (vec![0u32; n_votes], vec![0u16; n_votes]);
    let mut next = indptr[..n].to_vec();
    let changed = || malformed(path, "the file changed while it was read");
    npy.rewind()?;
    npy.for_each(|e, v: E| {
        let value: i64 = v.into();
        if value == -1 {
            return Ok(());
        }
        let (i, j) = (e % n, e / n);
        let label = check(i, j, value)?.ok_or_else(changed)?;
        if next[i] >= indptr[i + 1] {
            return Err(changed());
        }
        lf_idx[next[i]] = j as u32;
        labels[next[i]] = label;
        next[i] += 1;
        Ok(())
    })?;
    if next.iter().zip(&indptr[1..]).any(|(a, b)| a != b) {
        return Err(changed());
    }
    Ok((indptr, lf_idx, labels))
}

/// Reads a 1-D integer array (such as a gold label vector) from an `.npy` file.
///
/// Accepts the same dtypes as [`read_label_matrix`]; values are returned as they are.
pub fn read_labels_1d(path: impl AsRef<Path>) -> Result<Vec<i64>, IoError> {
    let path = path.as_ref();
    NpyReader::open(path, 1, Dtype::is_int, INT_DTYPES)?.read_all_ints()
}

/// Reads a 2-D integer array from an `.npy` file into a dense array.
///
/// For small arrays such as per-task gold labels; label matrices should use
/// [`read_label_matrix`], which does not hold the dense array.
pub fn read_int_2d(path: impl AsRef<Path>) -> Result<Array2<i64>, IoError> {
    let path = path.as_ref();
    let mut npy = NpyReader::open(path, 2, Dtype::is_int, INT_DTYPES)?;
    let data = npy.read_all_ints()?;
    to_array2(path, &npy.header, data)
}

/// Reads a 2-D float64 array (such as probabilistic labels) from an `.npy` file.
pub fn read_probs(path: impl AsRef<Path>) -> Result<Array2<f64>, IoError> {
    read_float_2d(path.as_ref(), |d| d == Dtype::F64, F64_DTYPE)
}

/// Reads a 2-D float32 array (such as word vectors) from an `.npy` file, in C or Fortran order.
pub fn read_f32_2d(path: impl AsRef<Path>) -> Result<Array2<f32>, IoError> {
    read_float_2d(path.as_ref(), |d| d == Dtype::F32, F32_DTYPE)
}

/// A 2-D array of a float dtype that `accept`s (named `expected` in errors).
fn read_float_2d<E: Element>(
    path: &Path,
    accept: fn(Dtype) -> bool,
    expected: &'static str,
) -> Result<Array2<E>, IoError> {
    let mut npy = NpyReader::open(path, 2, accept, expected)?;
    let mut data = Vec::with_capacity(npy.header.n_elements().unwrap_or(0));
    npy.for_each(|_, v: E| {
        data.push(v);
        Ok(())
    })?;
    to_array2(path, &npy.header, data)
}

fn to_array2<T>(path: &Path, header: &Header, data: Vec<T>) -> Result<Array2<T>, IoError> {
    let shape = (header.shape[0], header.shape[1]);
    let result = if header.fortran_order {
        Array2::from_shape_vec(shape.f(), data)
    } else {
        Array2::from_shape_vec(shape, data)
    };
    result.map_err(|e| malformed(path, format!("the data does not fit the shape {:?}: {e}", header.shape)))
}

/// Writes the magic, version 1.0 and a header padded so the data starts at a multiple of 64.
fn write_header(w: &mut impl Write, descr: &str, shape: &[usize]) -> io::Result<()> {
    let shape = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.extend(std::iter::repeat_n(' ', unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let len = u16::try_from(dict.len()).map_err(|_| io::Error::other("the .npy header is too long"))?;
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(dict.as_bytes())
}

/// Writes a label matrix as a dense `.npy` array in the snorkel convention (`-1` = abstain).
///
/// The dtype is int16, or int32 if a label exceeds 32767. Rows are written one at a time, without
/// building the dense matrix. The file is written to a temporary file next to `path` and renamed
/// over it when complete.
pub fn write_label_matrix(path: impl AsRef<Path>, matrix: &LabelMatrix) -> Result<(), IoError> {
    let path = path.as_ref();
    let max_label = (0..matrix.n_items()).flat_map(|i| matrix.row_slices(i).1.iter().copied()).max().unwrap_or(0);
    let wide = i16::try_from(max_label).is_err();
    let (n, m) = (matrix.n_items(), matrix.n_lfs());
    write_atomic(path, |w| {
        write_header(w, if wide { "<i4" } else { "<i2" }, &[n, m])?;
        let mut row = vec![-1i32; m];
        for i in 0..n {
            row.fill(-1);
            for (j, label) in matrix.row(i) {
                row[j] = i32::from(label);
            }
            for &v in &row {
                if wide {
                    w.write_all(&v.to_le_bytes())?;
                } else {
                    // Every value fits: labels are at most 32767 here.
                    w.write_all(&(v as i16).to_le_bytes())?;
                }
            }
        }
        Ok(())
    })
}

/// Writes a 1-D label vector (such as gold end labels) as an `.npy` file: int16 when every label
/// fits, int64 otherwise.
pub fn write_labels_1d(path: impl AsRef<Path>, labels: &[usize]) -> Result<(), IoError> {
    let path = path.as_ref();
    let narrow = labels.iter().all(|&l| l <= i16::MAX as usize);
    if !narrow && labels.iter().any(|&l| i64::try_from(l).is_err()) {
        return Err(malformed(path, "a label does not fit in int64"));
    }
    write_atomic(path, |w| {
        write_header(w, if narrow { "<i2" } else { "<i8" }, &[labels.len()])?;
        for &l in labels {
            if narrow {
                w.write_all(&(l as i16).to_le_bytes())?;
            } else {
                w.write_all(&(l as i64).to_le_bytes())?;
            }
        }
        Ok(())
    })
}

/// Writes a 2-D integer array as an `.npy` file (C order): int16 when every value fits, int64
/// otherwise.
pub fn write_int_2d(path: impl AsRef<Path>, array: ArrayView2<'_, i64>) -> Result<(), IoError> {
    let path = path.as_ref();
    let narrow = array.iter().all(|&v| i16::try_from(v).is_ok());
    write_atomic(path, |w| {
        write_header(w, if narrow { "<i2" } else { "<i8" }, array.shape())?;
        for &v in array.iter() {
            if narrow {
                w.write_all(&(v as i16).to_le_bytes())?;
            } else {
                w.write_all(&v.to_le_bytes())?;
            }
        }
        Ok(())
    })
}

/// Writes probabilistic labels (n items × K end labels, or any 2-D float array) as a float64
/// `.npy` file in C order.
pub fn write_probs(path: impl AsRef<Path>, probs: ArrayView2<'_, f64>) -> Result<(), IoError> {
    write_atomic(path.as_ref(), |w| {
        write_header(w, "<f8", probs.shape())?;
        for &p in probs.iter() {
            w.write_all(&p.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Writes a 2-D float32 array as an `.npy` file (C order), atomically.
pub fn write_f32_2d(path: impl AsRef<Path>, array: ArrayView2<'_, f32>) -> Result<(), IoError> {
    write_atomic(path.as_ref(), |w| {
        write_header(w, "<f4", array.shape())?;
        for &v in array.iter() {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_arrays_read_in_c_and_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.npy");
        let a = ndarray::array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.5]];
        write_f32_2d(&c, a.view()).unwrap();
        assert_eq!(read_f32_2d(&c).unwrap(), a);
        // The same array in Fortran order: columns one after the other.
        let mut bytes = MAGIC.to_vec();
        let dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
        bytes.extend([1, 0]);
        bytes.extend((dict.len() as u16).to_le_bytes());
        bytes.extend(dict.as_bytes());
        for v in [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.5] {
            bytes.extend(v.to_le_bytes());
        }
        let f = dir.path().join("f.npy");
        std::fs::write(&f, bytes).unwrap();
        assert_eq!(read_f32_2d(&f).unwrap(), a);
        let err = read_f32_2d(dir.path().join("missing.npy")).unwrap_err().to_string();
        assert!(err.contains("missing.npy"), "{err}");
        write_probs(&c, ndarray::array![[0.5f64]].view()).unwrap();
        let err = read_f32_2d(&c).unwrap_err().to_string();
        assert!(err.contains("c.npy") && err.contains("float32"), "{err}");
    }

    /// An .npy file of version 2 (4-byte header length) with the given header text and length.
    fn raw(header: &str, announced: u32) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend([2, 0]);
        bytes.extend(announced.to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes
    }

    fn header_error(bytes: &[u8]) -> String {
        read_header(Path::new("x.npy"), &mut &bytes[..]).unwrap_err().to_string()
    }

    #[test]
    fn hostile_headers_are_errors() {
        // A 4 GiB announced header is refused before anything is allocated.
        let err = header_error(&raw("{}", u32::MAX));
        assert!(err.contains("4294967295 bytes") && err.contains("refused"), "{err}");
        // Deep nesting is refused without recursing through it.
        let deep = "(".repeat(9000);
        let err = header_error(&raw(&deep, deep.len() as u32));
        assert!(err.contains("not a Python dict literal"), "{}", &err[..200]);
        // The message shows the start of the header, not all of it.
        assert!(err.len() < 400, "{} bytes", err.len());
        let nested =
            format!("{{'descr': '<i2', 'fortran_order': False, 'shape': {}3{}}}", "(".repeat(20), ")".repeat(20));
        assert!(header_error(&raw(&nested, nested.len() as u32)).contains("invalid .npy header"));
    }
}
