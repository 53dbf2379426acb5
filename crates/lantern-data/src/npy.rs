//! NumPy `.npy` files (format versions 1 and 2, C order) to and from `ndarray::ArrayD`.
//!
//! Lantern stores every attribution map as `.npy` so that Python users can open them with
//! `np.load`, and compares against reference arrays written by NumPy. Writes reproduce NumPy's
//! own header byte for byte (key order, the 21-character growth padding of NumPy ≥ 1.24 and the
//! 64-byte alignment), so the same array always hashes the same, whichever tool wrote it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

use lantern_core::write_atomically;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy aligns the start of the data to this many bytes (`numpy.lib.format.ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;
/// NumPy leaves room for the leading axis to grow to this many digits without rewriting the
/// file (`numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`); copied so our bytes equal NumPy's.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Element types Lantern reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    F32,
    F64,
    I64,
    U8,
}

impl NpyDtype {
    /// The `descr` NumPy writes for this type on a little-endian machine.
    pub fn descr(self) -> &'static str {
        match self {
            NpyDtype::F32 => "<f4",
            NpyDtype::F64 => "<f8",
            NpyDtype::I64 => "<i8",
            NpyDtype::U8 => "|u1",
        }
    }

    fn item_size(self) -> usize {
        match self {
            NpyDtype::F32 => 4,
            NpyDtype::F64 | NpyDtype::I64 => 8,
            NpyDtype::U8 => 1,
        }
    }
}

impl std::fmt::Display for NpyDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            NpyDtype::F32 => "float32",
            NpyDtype::F64 => "float64",
            NpyDtype::I64 => "int64",
            NpyDtype::U8 => "uint8",
        };
        f.write_str(name)
    }
}

/// An array read from a `.npy` file whose element type was not known in advance.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
}

impl NpyArray {
    pub fn dtype(&self) -> NpyDtype {
        match self {
            NpyArray::F32(_) => NpyDtype::F32,
            NpyArray::F64(_) => NpyDtype::F64,
            NpyArray::I64(_) => NpyDtype::I64,
            NpyArray::U8(_) => NpyDtype::U8,
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
            NpyArray::I64(a) => a.shape(),
            NpyArray::U8(a) => a.shape(),
        }
    }
}

/// Why a `.npy` file could not be read or written; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid .npy file: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error(
        "{} is stored in Fortran order, which Lantern does not read; re-save it from NumPy with np.save(path, np.ascontiguousarray(a))",
        path.display()
    )]
    FortranOrder { path: PathBuf },
    #[error(
        "{} has dtype {descr:?}, which Lantern does not read (supported: float32, float64, int64, uint8)",
        path.display()
    )]
    UnsupportedDtype { path: PathBuf, descr: String },
    #[error("{} holds {found} values but {expected} were expected", path.display())]
    DtypeMismatch {
        path: PathBuf,
        expected: NpyDtype,
        found: NpyDtype,
    },
    #[error(
        "{}: shape {shape:?} of {dtype} needs {expected} data bytes but the file has {found} (truncated or corrupt)",
        path.display()
    )]
    DataLength {
        path: PathBuf,
        shape: Vec<usize>,
        dtype: NpyDtype,
        expected: usize,
        found: usize,
    },
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i64 {}
    impl Sealed for u8 {}
}

/// An element type that has a `.npy` representation. Sealed: exactly the four [`NpyDtype`]s.
pub trait NpyElement: sealed::Sealed + Copy + Send + Sync + 'static {
    const DTYPE: NpyDtype;
    /// Decodes one element from exactly `item_size` bytes in the given byte order.
    fn from_bytes(bytes: &[u8], little_endian: bool) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn push_le(self, out: &mut Vec<u8>);
    fn wrap(array: ArrayD<Self>) -> NpyArray;
    fn unwrap(array: NpyArray) -> Result<ArrayD<Self>, NpyDtype>;
}

macro_rules! npy_element {
    ($ty:ty, $dtype:ident) => {
        impl NpyElement for $ty {
            const DTYPE: NpyDtype = NpyDtype::$dtype;
            fn from_bytes(bytes: &[u8], little_endian: bool) -> Self {
                let raw = bytes.try_into().expect("chunk length equals the item size");
                if little_endian {
                    <$ty>::from_le_bytes(raw)
                } else {
                    <$ty>::from_be_bytes(raw)
                }
            }
            fn push_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn wrap(array: ArrayD<Self>) -> NpyArray {
                NpyArray::$dtype(array)
            }
            fn unwrap(array: NpyArray) -> Result<ArrayD<Self>, NpyDtype> {
                match array {
                    NpyArray::$dtype(a) => Ok(a),
                    other => Err(other.dtype()),
                }
            }
        }
    };
}

npy_element!(f32, F32);
npy_element!(f64, F64);
npy_element!(i64, I64);
npy_element!(u8, U8);

/// Reads a `.npy` file of any supported element type. Symbolic links are followed.
pub fn read_npy_any(path: impl AsRef<Path>) -> Result<NpyArray, NpyError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| NpyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_npy_bytes(&bytes, path)
}

/// Reads a `.npy` file that must hold elements of type `T`.
pub fn read_npy<T: NpyElement>(path: impl AsRef<Path>) -> Result<ArrayD<T>, NpyError> {
    let path = path.as_ref();
    T::unwrap(read_npy_any(path)?).map_err(|found| NpyError::DtypeMismatch {
        path: path.to_path_buf(),
        expected: T::DTYPE,
        found,
    })
}

/// Parses the bytes of a `.npy` file; `origin` only names the source in errors.
pub fn parse_npy_bytes(bytes: &[u8], origin: &Path) -> Result<NpyArray, NpyError> {
    let format_error = |reason: String| NpyError::Format {
        path: origin.to_path_buf(),
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(format_error(
            "it does not start with the magic string \\x93NUMPY".into(),
        ));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        // Version 3 only differs from 2 by allowing UTF-8 in the header, which we never need
        // but accept, since the dictionary we parse is plain ASCII either way.
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(format_error("the header length is cut off".into()));
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
            (len, 12)
        }
        other => {
            return Err(format_error(format!(
                "format version {other}.{} is not 1, 2 or 3",
                bytes[7]
            )));
        }
    };
    let data_start = header_start + header_len;
    if bytes.len() < data_start {
        return Err(format_error(format!(
            "the header claims {header_len} bytes but the file ends after {}",
            bytes.len() - header_start
        )));
    }
    let header_text = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| format_error("the header is not valid text".into()))?;
    let header = parse_header(header_text).map_err(format_error)?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder {
            path: origin.to_path_buf(),
        });
    }
    let (dtype, little_endian) =
        parse_descr(&header.descr).ok_or_else(|| NpyError::UnsupportedDtype {
            path: origin.to_path_buf(),
            descr: header.descr.clone(),
        })?;
    let count: usize = header.shape.iter().product();
    let data = &bytes[data_start..];
    let expected = count * dtype.item_size();
    if data.len() != expected {
        return Err(NpyError::DataLength {
            path: origin.to_path_buf(),
            shape: header.shape,
            dtype,
            expected,
            found: data.len(),
        });
    }
    Ok(match dtype {
        NpyDtype::F32 => decode_elements::<f32>(data, &header.shape, little_endian),
        NpyDtype::F64 => decode_elements::<f64>(data, &header.shape, little_endian),
        NpyDtype::I64 => decode_elements::<i64>(data, &header.shape, little_endian),
        NpyDtype::U8 => decode_elements::<u8>(data, &header.shape, little_endian),
    })
}

fn decode_elements<T: NpyElement>(data: &[u8], shape: &[usize], little_endian: bool) -> NpyArray {
    let values: Vec<T> = data
        .chunks_exact(T::DTYPE.item_size())
        .map(|chunk| T::from_bytes(chunk, little_endian))
        .collect();
    let array = ArrayD::from_shape_vec(IxDyn(shape), values)
        .expect("the data length was checked against the shape");
    T::wrap(array)
}

/// Returns the element type and whether it is little-endian.
fn parse_descr(descr: &str) -> Option<(NpyDtype, bool)> {
    let (order, code) = descr.split_at_checked(1)?;
    let little_endian = match order {
        "<" | "|" => true,
        ">" => false,
        "=" => cfg!(target_endian = "little"),
        _ => return None,
    };
    let dtype = match code {
        "f4" => NpyDtype::F32,
        "f8" => NpyDtype::F64,
        "i8" => NpyDtype::I64,
        "u1" => NpyDtype::U8,
        _ => return None,
    };
    Some((dtype, little_endian))
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Values that occur in a `.npy` header dictionary (a Python literal).
enum HeaderValue {
    Text(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut parser = HeaderParser {
        rest: text.trim_end_matches(['\n', ' ', '\0']),
    };
    let entries = parser.dictionary()?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in entries {
        match (key.as_str(), value) {
            ("descr", HeaderValue::Text(t)) => descr = Some(t),
            ("fortran_order", HeaderValue::Bool(b)) => fortran_order = Some(b),
            ("shape", HeaderValue::Tuple(s)) => shape = Some(s),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(format!("header key '{key}' has a value of the wrong kind"));
            }
            (other, _) => return Err(format!("unexpected header key '{other}'")),
        }
    }
    Ok(Header {
        descr: descr.ok_or("the header has no 'descr'")?,
        fortran_order: fortran_order.ok_or("the header has no 'fortran_order'")?,
        shape: shape.ok_or("the header has no 'shape'")?,
    })
}

struct HeaderParser<'a> {
    rest: &'a str,
}

impl HeaderParser<'_> {
    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_spaces();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!(
                "expected '{token}' in the header at {:?}",
                self.rest.chars().take(20).collect::<String>()
            ))
        }
    }

    fn dictionary(&mut self) -> Result<Vec<(String, HeaderValue)>, String> {
        self.expect('{')?;
        let mut entries = Vec::new();
        loop {
            if self.eat('}') {
                break;
            }
            let key = self.string()?;
            self.expect(':')?;
            let value = self.value()?;
            entries.push((key, value));
            if !self.eat(',') {
                self.expect('}')?;
                break;
            }
        }
        self.skip_spaces();
        if !self.rest.is_empty() {
            return Err(format!("unexpected text after the header: {:?}", self.rest));
        }
        Ok(entries)
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err("expected a quoted string in the header".into()),
        };
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or("unterminated string in the header")?;
        self.rest = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    fn value(&mut self) -> Result<HeaderValue, String> {
        self.skip_spaces();
        if self.rest.starts_with(['\'', '"']) {
            return self.string().map(HeaderValue::Text);
        }
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(HeaderValue::Bool(value));
            }
        }
        self.expect('(')?;
        let mut items = Vec::new();
        loop {
            if self.eat(')') {
                break;
            }
            items.push(self.integer()?);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(HeaderValue::Tuple(items))
    }

    fn integer(&mut self) -> Result<usize, String> {
        self.skip_spaces();
        let digits = self.rest.len()
            - self
                .rest
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        if digits == 0 {
            return Err("expected a dimension size in the shape".into());
        }
        let value = self.rest[..digits]
            .parse()
            .map_err(|_| format!("dimension {} is too large", &self.rest[..digits]))?;
        self.rest = &self.rest[digits..];
        // Files written by Python 2 mark integers as longs ("3L").
        if let Some(rest) = self.rest.strip_prefix('L') {
            self.rest = rest;
        }
        Ok(value)
    }
}

/// The complete bytes of a `.npy` file for `array` (C order, little-endian), identical to what
/// `np.save` writes, so they can be hashed or compared.
pub fn write_npy_bytes<T, S, D>(array: &ArrayBase<S, D>) -> Vec<u8>
where
    T: NpyElement,
    S: Data<Elem = T>,
    D: Dimension,
{
    let header = npy_header(T::DTYPE, array.shape());
    let mut bytes = Vec::with_capacity(header.len() + array.len() * T::DTYPE.item_size());
    bytes.extend_from_slice(&header);
    // `iter` walks in logical (row-major) order whatever the memory layout, which is C order.
    for &value in array.iter() {
        value.push_le(&mut bytes);
    }
    bytes
}

/// Writes `array` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_npy<T, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<(), NpyError>
where
    T: NpyElement,
    S: Data<Elem = T>,
    D: Dimension,
{
    let path = path.as_ref();
    write_atomically(path, &write_npy_bytes(array)).map_err(|source| NpyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// NumPy's `_write_array_header` + `_wrap_header_guess_version`, reproduced exactly.
fn npy_header(dtype: NpyDtype, shape: &[usize]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        python_tuple(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    // Version 1 stores the header length in 2 bytes; only huge shapes need version 2.
    for (version, length_bytes) in [(1u8, 2usize), (2, 4)] {
        let text_len = dict.len() + 1; // + the final newline
        let prefix_len = MAGIC.len() + 2 + length_bytes;
        let pad = ARRAY_ALIGN - (prefix_len + text_len) % ARRAY_ALIGN;
        let total = text_len + pad;
        if version == 1 && total > u16::MAX as usize {
            continue;
        }
        let mut header = Vec::with_capacity(prefix_len + total);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&[version, 0]);
        if version == 1 {
            header.extend_from_slice(&(total as u16).to_le_bytes());
        } else {
            header.extend_from_slice(&(total as u32).to_le_bytes());
        }
        header.extend_from_slice(dict.as_bytes());
        header.extend(std::iter::repeat_n(b' ', pad));
        header.push(b'\n');
        return header;
    }
    unreachable!("version 2 accepts any header shorter than 4 GiB")
}

/// Python's `repr` of a tuple of ints: `()`, `(5,)`, `(1, 3)`.
fn python_tuple(shape: &[usize]) -> String {
    let mut text = String::from("(");
    for (i, dim) in shape.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        write!(text, "{dim}").expect("writing to a String cannot fail");
    }
    if shape.len() == 1 {
        text.push(',');
    }
    text.push(')');
    text
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
