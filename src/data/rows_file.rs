//! linfit's binary row files: a header, then every row's features and targets as little-endian
//! f64. Read in chunks at the speed of the disk (no parsing), for data larger than memory.
//!
//! ```text
//! bytes 0..8    b"LFROWS\0\x02"   (magic, format version 2)
//! u64 LE        n (rows), m (features), k (targets)
//! u64 LE        the length of the names, then the names as JSON {"features": [..], "targets": [..]}
//! n * (m + k)   f64 LE, row-major: each row's m features, then its k targets
//! u32 LE        CRC-32 of the header (the 40 bytes above and the names)
//! u32 LE        CRC-32 of the data
//! ```
//!
//! A damaged header is refused when the file is opened; damaged data when a pass over them
//! ends, before anything fitted on them is returned. Version 1 files (the same without the
//! checksums) are still read, unchecked.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::{CsvChunks, FileStamp};
use super::{Dataset, RowChunk};
use crate::device::read_f64;
use crate::{Error, Result};

/// The magic of every version; the eighth byte is the version.
const MAGIC: &[u8; 7] = b"LFROWS\0";
/// The version written.
const VERSION: u8 = 2;
/// The checksums' trailer of version 2.
const TRAILER: u64 = 8;

#[derive(Serialize, Deserialize)]
struct HeaderNames {
    features: Vec<String>,
    targets: Vec<String>,
}

/// Rows of a file read in chunks: a CSV file or a row file.
pub(crate) trait ChunkReader: Send {
    /// Features and targets per row.
    fn widths(&self) -> (usize, usize);
    /// The feature and target names the file gives.
    fn names(&self) -> (Vec<String>, Vec<String>);
    /// Data rows read so far.
    fn rows_read(&self) -> usize;
    /// The path, as messages show it.
    fn shown_path(&self) -> &str;
    /// Up to `max_rows` more rows; `None` at the end.
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk>>;
    /// After the last chunk: the CRC-32 and length of the bytes read, once the file is checked
    /// to be unchanged.
    fn finish(self: Box<Self>) -> Result<(u32, u64)>;
}

impl ChunkReader for CsvChunks {
    fn widths(&self) -> (usize, usize) {
        CsvChunks::widths(self)
    }
    fn names(&self) -> (Vec<String>, Vec<String>) {
        CsvChunks::names(self)
    }
    fn rows_read(&self) -> usize {
        CsvChunks::rows_read(self)
    }
    fn shown_path(&self) -> &str {
        CsvChunks::shown_path(self)
    }
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk>> {
        CsvChunks::next_chunk(self, max_rows)
    }
    fn finish(self: Box<Self>) -> Result<(u32, u64)> {
        CsvChunks::finish(*self)
    }
}

/// Which kind of file, and for CSV which columns are the targets.
#[derive(Debug, Clone)]
pub(crate) enum FileFormat {
    /// A CSV file with a header; these columns are the targets, the others features.
    Csv(Vec<String>),
    /// A row file written by [`Dataset::save_rows`] or [`convert_csv`].
    Rows,
}

impl FileFormat {
    /// Opens `path` for a pass.
    pub(crate) fn open(&self, path: &Path) -> Result<Box<dyn ChunkReader>> {
        Ok(match self {
            FileFormat::Csv(targets) => {
                let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
                Box::new(CsvChunks::open(path, &targets, None)?)
            }
            FileFormat::Rows => Box::new(RowsReader::open(path)?),
        })
    }
}

/// A block of rows decoded: its bytes' CRC-32, its features and targets.
type Block = (crc32fast::Hasher, Vec<f64>, Vec<f64>);

/// A row file read in chunks.
pub(crate) struct RowsReader {
    reader: BufReader<std::fs::File>,
    path: PathBuf,
    shown: String,
    n: usize,
    widths: (usize, usize),
    names: (Vec<String>, Vec<String>),
    rows: usize,
    hasher: crc32fast::Hasher,
    bytes: u64,
    opened: FileStamp,
    buffer: Vec<u8>,
    /// The data's CRC-32 as the file states it (version 2).
    data_crc: Option<u32>,
}

impl RowsReader {
    /// Opens a row file and checks its header and length.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read; [`Error::DataFile`] for another kind of file, a
    /// damaged header, or a length other than the header promises (a truncated file).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bad = |message: String| Error::DataFile {
            path: shown.clone(),
            message,
            source: None,
        };
        let opened = FileStamp::of(path)?;
        let file = super::files::open_regular(path)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let (fixed, version) = read_fixed(&mut reader, &bad)?;
        let trailer = if version == 1 { 0 } else { TRAILER };
        let word = |i: usize| u64::from_le_bytes(fixed[8 + 8 * i..16 + 8 * i].try_into().unwrap());
        let (n, m, k, names_len) = (word(0), word(1), word(2), word(3));
        if m == 0 || k == 0 || names_len > 1 << 30 {
            return Err(bad(format!(
                "a damaged header: {m} features, {k} targets, {names_len} bytes of names"
            )));
        }
        let mut names = vec![0u8; names_len as usize];
        reader
            .read_exact(&mut names)
            .map_err(|e| bad(format!("the names cannot be read: {e}")))?;
        let header = 40 + names_len;
        let expected = (m + k)
            .checked_mul(8)
            .and_then(|row| row.checked_mul(n))
            .and_then(|d| d.checked_add(header + trailer));
        if expected != Some(opened.len()) {
            return Err(bad(format!(
                "the header promises {n} rows of {} values ({} bytes), the file has {} bytes: \
                 truncated or damaged",
                m + k,
                expected.map_or("too many".to_string(), |e| e.to_string()),
                opened.len()
            )));
        }
        let data_crc = match version {
            1 => None,
            _ => Some(checked_trailer(
                &mut reader,
                (opened.len(), header),
                (&fixed, &names),
                &bad,
            )?),
        };
        let names: HeaderNames = serde_json::from_slice(&names)
            .map_err(|e| bad(format!("the names are not valid JSON: {e}")))?;
        if names.features.len() as u64 != m || names.targets.len() as u64 != k {
            return Err(bad("the names do not match the header's widths".into()));
        }
        Ok(Self {
            reader,
            path: path.to_path_buf(),
            shown,
            n: n as usize,
            widths: (m as usize, k as usize),
            names: (names.features, names.targets),
            rows: 0,
            hasher: crc32fast::Hasher::new(),
            bytes: header,
            opened,
            buffer: Vec::new(),
            data_crc,
        })
    }
}

/// The header's 40 fixed bytes (magic, version, shape) and its format version, checked.
fn read_fixed(
    reader: &mut BufReader<std::fs::File>,
    bad: &dyn Fn(String) -> Error,
) -> Result<([u8; 40], u8)> {
    let mut fixed = [0u8; 40];
    reader
        .read_exact(&mut fixed)
        .map_err(|_| bad("not a linfit row file (too short for its header)".into()))?;
    if &fixed[..7] != MAGIC {
        return Err(bad(
            "not a linfit row file (no LFROWS header): write one with Dataset::save_rows or \
             data::convert_csv"
                .into(),
        ));
    }
    let version = fixed[7];
    if version != 1 && version != VERSION {
        return Err(bad(format!(
            "a row file of format version {version}, which this linfit ({}) does not read \
             (it reads 1 and {VERSION})",
            env!("CARGO_PKG_VERSION")
        )));
    }
    Ok((fixed, version))
}

/// The data's checksum from the trailer of a file of `len` bytes whose data start at
/// `header`, once the header's own checksum (of its fixed bytes and names) is checked; leaves
/// `reader` at the first data byte.
fn checked_trailer(
    reader: &mut BufReader<std::fs::File>,
    (len, header): (u64, u64),
    (fixed, names): (&[u8], &[u8]),
    bad: &dyn Fn(String) -> Error,
) -> Result<u32> {
    let (header_crc, data_crc) = read_trailer(reader, len, header)
        .map_err(|e| bad(format!("its checksums cannot be read: {e}")))?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(fixed);
    hasher.update(names);
    if hasher.finalize() != header_crc {
        return Err(bad(
            "the header (shape or column names) is damaged: its checksum differs".into(),
        ));
    }
    Ok(data_crc)
}

/// The trailer's two checksums (header, data) of a file of `len` bytes, leaving `reader` at
/// `data_start`, the first data byte.
fn read_trailer(
    reader: &mut BufReader<std::fs::File>,
    len: u64,
    data_start: u64,
) -> std::io::Result<(u32, u32)> {
    use std::io::{Seek, SeekFrom};
    let mut trailer = [0u8; TRAILER as usize];
    reader.seek(SeekFrom::Start(len - TRAILER))?;
    reader.read_exact(&mut trailer)?;
    reader.seek(SeekFrom::Start(data_start))?;
    let word = |i: usize| u32::from_le_bytes(trailer[4 * i..4 * i + 4].try_into().expect("4"));
    Ok((word(0), word(1)))
}

impl ChunkReader for RowsReader {
    fn widths(&self) -> (usize, usize) {
        self.widths
    }
    fn names(&self) -> (Vec<String>, Vec<String>) {
        self.names.clone()
    }
    fn rows_read(&self) -> usize {
        self.rows
    }
    fn shown_path(&self) -> &str {
        &self.shown
    }

    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk>> {
        let (m, k) = self.widths;
        let rows = max_rows.min(self.n - self.rows);
        if rows == 0 {
            return Ok(None);
        }
        self.buffer.resize(rows * (m + k) * 8, 0);
        self.reader
            .read_exact(&mut self.buffer)
            .map_err(|e| Error::io(&self.path, e))?;
        // Checksum and decoding in blocks of rows over the cores (the CRC-32s combined in
        // order), so that reading keeps pace with the disk.
        use rayon::prelude::*;
        const BLOCK_ROWS: usize = 4096;
        let row_bytes = (m + k) * 8;
        let first_row = self.rows;
        let blocks: Vec<Result<Block>> = self
            .buffer
            .par_chunks(BLOCK_ROWS * row_bytes)
            .enumerate()
            .map(|(b, bytes)| {
                let mut hasher = crc32fast::Hasher::new();
                hasher.update(bytes);
                let rows = bytes.len() / row_bytes;
                let (mut x, mut y) = (Vec::with_capacity(rows * m), Vec::with_capacity(rows * k));
                for (r, row) in bytes.chunks_exact(row_bytes).enumerate() {
                    let mut values = row
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")));
                    x.extend(values.by_ref().take(m));
                    y.extend(values);
                    let at = first_row + b * BLOCK_ROWS + r;
                    let (xs, ys) = (&x[x.len() - m..], &y[y.len() - k..]);
                    if let Some(j) = xs.iter().position(|v| !v.is_finite()) {
                        return Err(Error::NonFinite {
                            what: "features",
                            row: at,
                            column: j,
                            value: xs[j],
                        });
                    }
                    if let Some(t) = ys.iter().position(|v| !v.is_finite()) {
                        return Err(Error::NonFinite {
                            what: "targets",
                            row: at,
                            column: t,
                            value: ys[t],
                        });
                    }
                }
                Ok((hasher, x, y))
            })
            .collect();
        let mut chunk = RowChunk {
            features: Vec::with_capacity(rows * m),
            targets: Vec::with_capacity(rows * k),
            rows,
        };
        for block in blocks {
            let (hasher, x, y) = block?;
            self.hasher.combine(&hasher);
            chunk.features.extend_from_slice(&x);
            chunk.targets.extend_from_slice(&y);
        }
        self.bytes += self.buffer.len() as u64;
        self.rows += rows;
        Ok(Some(chunk))
    }

    fn finish(self: Box<Self>) -> Result<(u32, u64)> {
        let now = FileStamp::of(&self.path)?;
        if now != self.opened {
            return Err(Error::DataFile {
                path: self.shown,
                message: "the file changed while it was read: nothing fitted on it is returned"
                    .into(),
                source: None,
            });
        }
        let crc = self.hasher.finalize();
        if self.data_crc.is_some_and(|stated| stated != crc) {
            return Err(Error::DataFile {
                path: self.shown,
                message: "the data are damaged: their checksum differs from the one the file \
                          was written with (nothing fitted on them is returned); write the \
                          file again from its source"
                    .into(),
                source: None,
            });
        }
        Ok((crc, self.bytes))
    }
}

/// A row file being written: the header (rewritten with the row count at the end), the rows,
/// and the checksums of both.
struct RowsWriter<'a> {
    out: BufWriter<&'a mut std::fs::File>,
    names: HeaderNames,
    data: crc32fast::Hasher,
    rows: usize,
}

impl<'a> RowsWriter<'a> {
    fn new(file: &'a mut std::fs::File, (features, targets): (&[String], &[String])) -> Self {
        RowsWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            names: HeaderNames {
                features: features.to_vec(),
                targets: targets.to_vec(),
            },
            data: crc32fast::Hasher::new(),
            rows: 0,
        }
    }

    /// The header of a file of `n` rows.
    fn header(&self, n: usize) -> std::io::Result<Vec<u8>> {
        let names = serde_json::to_vec(&self.names).map_err(std::io::Error::other)?;
        let mut header = Vec::with_capacity(40 + names.len());
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        let widths = [n, self.names.features.len(), self.names.targets.len()];
        for v in widths.into_iter().chain([names.len()]) {
            header.extend_from_slice(&(v as u64).to_le_bytes());
        }
        header.extend_from_slice(&names);
        Ok(header)
    }

    /// Writes a placeholder header (no rows), before the first row.
    fn start(&mut self) -> std::io::Result<()> {
        let header = self.header(0)?;
        self.out.write_all(&header)
    }

    /// Rows of `features` (`m` values each) and `targets` (`k` each).
    fn rows(&mut self, features: &[f64], targets: &[f64]) -> std::io::Result<()> {
        let (m, k) = (self.names.features.len(), self.names.targets.len());
        let mut row = Vec::with_capacity((m + k) * 8);
        for (x, y) in features.chunks_exact(m).zip(targets.chunks_exact(k)) {
            row.clear();
            for v in x.iter().chain(y) {
                row.extend_from_slice(&v.to_le_bytes());
            }
            self.data.update(&row);
            self.out.write_all(&row)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// The checksums, then the header with the row count; returns the rows written.
    fn finish(self) -> std::io::Result<usize> {
        use std::io::{Seek, SeekFrom};
        let header = self.header(self.rows)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&header);
        let mut out = self.out;
        out.write_all(&hasher.finalize().to_le_bytes())?;
        out.write_all(&self.data.finalize().to_le_bytes())?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
        Ok(self.rows)
    }
}

impl Dataset {
    /// Writes these data as a row file (linfit's binary format: a header with the shape and
    /// the column names, then every row's values as little-endian f64), for
    /// [`LeastSquares::fit_rows`](crate::LeastSquares::fit_rows) and
    /// [`Trainer::fit_rows`](crate::Trainer::fit_rows), which read it in bounded chunks at the
    /// disk's speed. The file is written next to `path` and renamed into place.
    ///
    /// Row files hold features and targets only: weighted data are refused rather than saved
    /// without their weights (save `data.clone().without_weights()` and keep the weights apart).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written; [`Error::Readback`] when the device fails;
    /// [`Error::InvalidHyperparameter`] for data with sample weights.
    pub fn save_rows(&self, path: impl AsRef<Path>) -> Result<()> {
        if self.weight_values().is_some() {
            return Err(Error::InvalidHyperparameter {
                name: "weights",
                value: format!("{} sample weights", self.n_samples()),
                rule: "a row file holds features and targets only; save the data without \
                       weights (Dataset::without_weights) and keep the weights apart",
            });
        }
        let path = path.as_ref();
        let (m, k) = (self.n_features(), self.n_targets());
        super::files::write_replacing(path, |file, _| {
            let io = |e: std::io::Error| Error::io(path, e);
            let mut out = RowsWriter::new(file, (self.feature_names(), self.target_names()));
            out.start().map_err(io)?;
            let step = crate::data::chunk_rows(m, k);
            for start in (0..self.n_samples()).step_by(step) {
                let end = (start + step).min(self.n_samples());
                let (x, y) = self.rows(start, end);
                out.rows(&read_f64(x)?, &read_f64(y)?).map_err(io)?;
            }
            out.finish().map(drop).map_err(io)
        })
    }

    /// Loads a row file (written by [`save_rows`](Self::save_rows) or [`convert_csv`]) in
    /// `device`'s precision, with its column names.
    ///
    /// # Errors
    /// [`Error::DataFile`] for another kind of file or a truncated one, [`Error::NonFinite`] for a
    /// NaN or infinite value; as [`Dataset::from_flat`].
    pub fn from_rows_file(path: impl AsRef<Path>, device: &burn::tensor::Device) -> Result<Self> {
        let mut reader = RowsReader::open(path.as_ref())?;
        let (m, k) = reader.widths;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        while let Some(chunk) = reader.next_chunk(usize::MAX)? {
            x.extend_from_slice(&chunk.features);
            y.extend_from_slice(&chunk.targets);
        }
        let n = reader.rows;
        let (features, targets) = reader.names.clone();
        Box::new(reader).finish()?;
        Self::from_flat(x, y, [n, m], k, device)?
            .with_feature_names(features)?
            .with_target_names(targets)
    }
}

/// Converts a CSV file (header row; the `targets` columns are the targets) into a row file at
/// `rows_path`, in bounded memory, and returns the number of rows. Parsing the CSV once lets
/// every later fit read the row file at the disk's speed.
///
/// # Errors
/// As [`Dataset::from_csv`] for the CSV file (a bad cell names its line and column);
/// [`Error::Io`] when the row file cannot be written; [`Error::DataFile`] when the CSV file changes
/// while it is read.
pub fn convert_csv(
    csv_path: impl AsRef<Path>,
    targets: &[&str],
    rows_path: impl AsRef<Path>,
) -> Result<usize> {
    let (csv_path, rows_path) = (csv_path.as_ref(), rows_path.as_ref());
    let mut reader = CsvChunks::open(csv_path, targets, None)?;
    let (features, target_names) = reader.names();
    let io = |e: std::io::Error| Error::io(rows_path, e);
    super::files::write_replacing(rows_path, |file, _| {
        let mut out = RowsWriter::new(file, (&features, &target_names));
        out.start().map_err(io)?;
        let (m, k) = reader.widths();
        let step = crate::data::chunk_rows(m, k);
        while let Some(chunk) = reader.next_chunk(step)? {
            out.rows(&chunk.features, &chunk.targets).map_err(io)?;
        }
        let n = out.finish().map_err(io)?;
        // The CSV file must not have changed while it was read, and must have held rows.
        reader.finish()?;
        if n == 0 {
            return Err(Error::EmptyData {
                what: format!("no data rows in {}", csv_path.display()),
            });
        }
        Ok(n)
    })
}
