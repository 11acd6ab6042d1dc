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
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(LineLimit::new(std::io::BufReader::new(file)));
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
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut record = ::csv::StringRecord::new();
        let mut n = 0usize;
        while reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(n as u64 + 2, |p| p.line());
            source.error(line, "", e.to_string())
        })? {
            let line = record.position().map_or(n as u64 + 2, |p| p.line());
            let row = Row {
                source: &source,
                header: &header,
                record: &record,
                line,
            };
            row.check_width()?;
            for &i in &columns.features {
                x.push(row.value(i)?);
            }
            for &i in &columns.targets {
                y.push(row.value(i)?);
            }
            n += 1;
        }
        if n == 0 {
            return Err(Error::EmptyData {
                what: format!("no data rows in {}", source.path),
            });
        }
        let (m, k) = (columns.features.len(), columns.targets.len());
        let names = |indices: &[usize]| -> Vec<String> {
            indices.iter().map(|&i| header[i].clone()).collect()
        };
        let data = Self::from_flat(x, y, [n, m], k, device)?;
        let (features, targets) = (names(&columns.features), names(&columns.targets));
        data.with_feature_names(features)
            .and_then(|d| d.with_target_names(targets))
            .map_err(|e| source.error(1, "", format!("the header cannot name the columns: {e}")))
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
