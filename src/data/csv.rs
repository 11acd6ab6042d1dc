//! CSV loading: a header row, target columns by name, the other (or listed) columns as features.
//! Streaming: rows are parsed one at a time into one flat buffer, so memory is the data itself
//! (8 bytes a value), not the file's text plus a table of strings.

use std::path::Path;

use burn::tensor::Device;

use super::Dataset;
use crate::{Error, Result};

impl Dataset {
    /// Loads a CSV file with a header row: the columns named in `targets` are the targets, every
    /// other column a feature.
    ///
    /// # Errors
    /// [`Error::Csv`] naming the file, line and column: a missing column, a ragged row, a value
    /// that does not parse as a number, an empty or NaN/infinite cell; [`Error::Io`] when the file
    /// cannot be read; as [`Dataset::from_flat`] otherwise.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/linnerud.csv");
    /// let data = Dataset::from_csv(path, &["Weight", "Waist", "Pulse"], &cpu)?;
    /// assert_eq!((data.n_samples(), data.n_features(), data.n_targets()), (20, 3, 3));
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn from_csv(path: impl AsRef<Path>, targets: &[&str], device: &Device) -> Result<Self> {
        Self::from_csv_columns(path, targets, None, device)
    }

    /// Loads a CSV file with a header row, with explicit feature columns (`None`: every
    /// column that is not a target). Columns not named are ignored.
    ///
    /// # Errors
    /// As [`Dataset::from_csv`].
    pub fn from_csv_columns(
        path: impl AsRef<Path>,
        targets: &[&str],
        features: Option<&[&str]>,
        device: &Device,
    ) -> Result<Self> {
        let mut reader = CsvChunks::open(path.as_ref(), targets, features)?;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        while let Some(chunk) = reader.next_chunk(usize::MAX)? {
            x.extend_from_slice(&chunk.features);
            y.extend_from_slice(&chunk.targets);
        }
        let n = reader.rows_read();
        if n == 0 {
            return Err(Error::EmptyData {
                what: format!("no data rows in {}", reader.source.path),
            });
        }
        let (m, k) = reader.widths();
        let (features, targets) = reader.names();
        let data = Self::from_flat(x, y, [n, m], k, device)?;
        data.with_feature_names(features)
            .and_then(|d| d.with_target_names(targets))
            .map_err(|e| {
                reader
                    .source
                    .error(1, "", format!("the header cannot name the columns: {e}"))
            })
    }
}

/// Rows of a CSV file in chunks, parsed as [`Dataset::from_csv_columns`] does: for reading files
/// larger than memory. It records the file's size and modification time when opened and the
/// CRC-32 of every byte it reads, so that a caller can tell whether a second pass reads the same
/// file and whether the file changed while it was read.
pub(crate) struct CsvChunks {
    reader: ::csv::Reader<LineLimit<Hashing<std::io::BufReader<std::fs::File>>>>,
    source: Source,
    header: Vec<String>,
    columns: Columns,
    record: ::csv::StringRecord,
    rows: usize,
    opened: FileStamp,
    path: std::path::PathBuf,
}

/// Rows parsed from a CSV file: row-major features and targets.
pub(crate) struct RowChunk {
    pub(crate) features: Vec<f64>,
    pub(crate) targets: Vec<f64>,
    /// Rows in the chunk.
    pub(crate) rows: usize,
}

/// What identifies a file's contents cheaply: its length and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn of(path: &Path) -> Result<Self> {
        let meta = super::files::regular_metadata(path)?;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl CsvChunks {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; [`Error::Csv`] for a header that lacks a
    /// named column or names one twice.
    pub(crate) fn open(path: &Path, targets: &[&str], features: Option<&[&str]>) -> Result<Self> {
        let opened = FileStamp::of(path)?;
        let file = super::files::open_regular(path)?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(LineLimit::new(Hashing::new(
                std::io::BufReader::with_capacity(1 << 20, file),
            )));
        let source = Source {
            path: path.display().to_string(),
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| source.error(1, "", e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let columns = Columns::resolve(&source, &header, targets, features)?;
        Ok(Self {
            reader,
            source,
            header,
            columns,
            record: ::csv::StringRecord::new(),
            rows: 0,
            opened,
            path: path.to_path_buf(),
        })
    }

    /// Features and targets per row.
    pub(crate) fn widths(&self) -> (usize, usize) {
        (self.columns.features.len(), self.columns.targets.len())
    }

    /// The header's names of the feature and target columns.
    pub(crate) fn names(&self) -> (Vec<String>, Vec<String>) {
        let names = |indices: &[usize]| indices.iter().map(|&i| self.header[i].clone()).collect();
        (names(&self.columns.features), names(&self.columns.targets))
    }

    /// Data rows read so far.
    pub(crate) fn rows_read(&self) -> usize {
        self.rows
    }

    /// The path, as messages show it.
    pub(crate) fn shown_path(&self) -> &str {
        &self.source.path
    }

    /// Up to `max_rows` more rows; `None` at the end of the file.
    ///
    /// # Errors
    /// [`Error::Csv`] naming the line and column of a bad row; [`Error::Io`] for a read error.
    pub(crate) fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk>> {
        let (m, k) = self.widths();
        let mut chunk = RowChunk {
            features: Vec::new(),
            targets: Vec::new(),
            rows: 0,
        };
        while chunk.rows < max_rows {
            let more = self.reader.read_record(&mut self.record).map_err(|e| {
                let line = e.position().map_or(self.rows as u64 + 2, |p| p.line());
                self.source.error(line, "", e.to_string())
            })?;
            if !more {
                break;
            }
            let line = self
                .record
                .position()
                .map_or(self.rows as u64 + 2, |p| p.line());
            let row = Row {
                source: &self.source,
                header: &self.header,
                record: &self.record,
                line,
            };
            row.check_width()?;
            chunk.features.reserve(m);
            for &i in &self.columns.features {
                chunk.features.push(row.value(i)?);
            }
            chunk.targets.reserve(k);
            for &i in &self.columns.targets {
                chunk.targets.push(row.value(i)?);
            }
            chunk.rows += 1;
            self.rows += 1;
        }
        Ok((chunk.rows > 0).then_some(chunk))
    }

    /// After the last chunk: the CRC-32 and length of every byte read, once the file is
    /// checked to be as it was when opened (same size and modification time, every byte read).
    ///
    /// # Errors
    /// [`Error::DataFile`] when the file changed, grew or shrank while it was read.
    pub(crate) fn finish(self) -> Result<(u32, u64)> {
        let hashing = self.reader.into_inner().inner;
        let (crc, bytes) = (hashing.hasher.finalize(), hashing.bytes);
        let now = FileStamp::of(&self.path)?;
        if now != self.opened || bytes != self.opened.len {
            return Err(Error::DataFile {
                path: self.source.path,
                message: format!(
                    "the file changed while it was read ({} bytes when opened, {} read, {} now): \
                     nothing fitted on it is returned",
                    self.opened.len, bytes, now.len
                ),
                source: None,
            });
        }
        Ok((crc, bytes))
    }
}

/// A reader that keeps the CRC-32 and count of the bytes it passes on.
struct Hashing<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The file being read, for errors that say where.
struct Source {
    path: String,
}

impl Source {
    fn error(&self, line: u64, column: &str, message: String) -> Error {
        Error::Csv {
            path: self.path.clone(),
            line,
            column: column.to_string(),
            message,
        }
    }
}

/// The header positions of the target and feature columns.
struct Columns {
    targets: Vec<usize>,
    features: Vec<usize>,
}

impl Columns {
    /// Finds the named columns in the header; the features are every non-target column when
    /// `features` is `None`.
    fn resolve(
        source: &Source,
        header: &[String],
        targets: &[&str],
        features: Option<&[&str]>,
    ) -> Result<Self> {
        let find = |name: &str| -> Result<usize> {
            header.iter().position(|h| h == name).ok_or_else(|| {
                source.error(
                    1,
                    name,
                    format!(
                        "no column {name:?} in the header (columns: {})",
                        header.join(", ")
                    ),
                )
            })
        };
        if header.iter().all(String::is_empty) {
            return Err(source.error(
                1,
                "",
                "the file is empty: no header row naming the columns".into(),
            ));
        }
        if targets.is_empty() {
            return Err(Error::EmptyData {
                what: "no target column named".into(),
            });
        }
        // A name used twice is ambiguous, and a target that is also a feature leaks the answer
        // into the inputs: both are refused rather than resolved silently.
        let named: Vec<&str> = targets
            .iter()
            .chain(features.unwrap_or(&[]))
            .copied()
            .collect();
        for (i, name) in named.iter().enumerate() {
            if named[..i].contains(name) {
                let role = if i < targets.len() || !targets.contains(name) {
                    "named twice"
                } else {
                    "named both as a target and as a feature"
                };
                return Err(source.error(1, name, format!("column {name:?} is {role}")));
            }
            let copies = header.iter().filter(|h| h == name).count();
            if copies > 1 {
                return Err(source.error(
                    1,
                    name,
                    format!("the header has {copies} columns named {name:?}: which one is meant?"),
                ));
            }
        }
        let targets: Vec<usize> = targets.iter().map(|t| find(t)).collect::<Result<_>>()?;
        let features: Vec<usize> = match features {
            Some(names) => names.iter().map(|f| find(f)).collect::<Result<_>>()?,
            None => (0..header.len()).filter(|i| !targets.contains(i)).collect(),
        };
        if features.is_empty() {
            return Err(Error::EmptyData {
                what: format!("no feature columns in {}", source.path),
            });
        }
        Ok(Self { targets, features })
    }
}

/// One data row of the file, at `line`.
struct Row<'a> {
    source: &'a Source,
    header: &'a [String],
    record: &'a ::csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    fn check_width(&self) -> Result<()> {
        if self.record.len() == self.header.len() {
            return Ok(());
        }
        // An unterminated quote swallows the rest of the file into one field.
        let runaway = self.record.iter().any(|field| field.contains('\n'));
        Err(self.source.error(
            self.line,
            "",
            format!(
                "ragged row: {} fields, the header has {}{}",
                self.record.len(),
                self.header.len(),
                if runaway {
                    "; a quoted field runs over several lines: is a closing quote missing?"
                } else {
                    ""
                }
            ),
        ))
    }

    /// The finite number in column `i`.
    fn value(&self, i: usize) -> Result<f64> {
        let cell = &self.record[i];
        let name = column_name(self.header, i);
        let error = |message: String| self.source.error(self.line, &name, message);
        if cell.is_empty() {
            return Err(error("empty cell".into()));
        }
        let value: f64 = cell
            .parse()
            .map_err(|_| error(format!("{} is not a number", quoted(cell))))?;
        if !value.is_finite() {
            return Err(error(format!("{} is not a finite number", quoted(cell))));
        }
        Ok(value)
    }
}

/// A column's name for messages; `#4 (unnamed)` for an empty header cell.
fn column_name(header: &[String], i: usize) -> String {
    match header[i].as_str() {
        "" => format!("#{} (unnamed)", i + 1),
        name => name.to_string(),
    }
}

/// Cells echoed in messages are cut to this many characters.
const ECHO_CHARS: usize = 40;

/// A cell as messages show it: quoted, cut after [`ECHO_CHARS`] characters with its length.
fn quoted(cell: &str) -> String {
    match cell.char_indices().nth(ECHO_CHARS) {
        None => format!("{cell:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &cell[..end], cell.len()),
    }
}

/// The longest line (bytes between newlines) a CSV file may have: a bound on what one record
/// can make the parser hold, so that a file with no line breaks (`/dev/zero`, a binary file)
/// is an error rather than an unbounded read.
pub(crate) const MAX_LINE_BYTES: usize = 256 << 20;

/// A reader that fails once more than [`MAX_LINE_BYTES`] pass without a newline.
struct LineLimit<R> {
    inner: R,
    since_newline: usize,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            since_newline: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match buf[..n].iter().rposition(|&b| b == b'\n') {
            Some(last) => self.since_newline = n - last - 1,
            None => self.since_newline += n,
        }
        if self.since_newline > MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {} MiB: is this a CSV file?",
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, rows: usize) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("linfit-csv-{}-{name}", std::process::id()));
        let mut text = String::from("a,b\n");
        for i in 0..rows {
            text += &format!("{i},{}\n", 2 * i);
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_file_that_changes_while_read_is_an_error() {
        use std::io::Write;
        // Appended to between chunks.
        let path = file("grow.csv", 1000);
        let mut reader = CsvChunks::open(&path, &["b"], None).unwrap();
        assert_eq!(reader.next_chunk(10).unwrap().unwrap().rows, 10);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"5,6\n")
            .unwrap();
        while reader.next_chunk(100).unwrap().is_some() {}
        assert!(matches!(reader.finish(), Err(Error::DataFile { .. })));

        // Truncated between chunks (the reader's buffer may hold the start of the file).
        let path = file("shrink.csv", 100_000);
        let mut reader = CsvChunks::open(&path, &["b"], None).unwrap();
        reader.next_chunk(10).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(300_000)
            .unwrap();
        while let Ok(Some(_)) = reader.next_chunk(1000) {}
        assert!(matches!(reader.finish(), Err(Error::DataFile { .. })));

        // Unchanged: its bytes' checksum, the same on a second read.
        let path = file("same.csv", 1000);
        let read = || {
            let mut reader = CsvChunks::open(&path, &["b"], None).unwrap();
            while reader.next_chunk(64).unwrap().is_some() {}
            assert_eq!(reader.rows_read(), 1000);
            reader.finish().unwrap()
        };
        assert_eq!(read(), read());
    }
}
