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
        let shown = path.display().to_string();
        let csv_error = |line: u64, column: &str, message: String| Error::Csv {
            path: shown.clone(),
            line,
            column: column.to_string(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(std::io::BufReader::new(file));
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(1, "", e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let find = |name: &str| -> Result<usize> {
            header.iter().position(|h| h == name).ok_or_else(|| {
                csv_error(
                    1,
                    name,
                    format!(
                        "no column {name:?} in the header (columns: {})",
                        header.join(", ")
                    ),
                )
            })
        };
        if targets.is_empty() {
            return Err(Error::EmptyData {
                what: "no target column named".into(),
            });
        }
        let target_idx: Vec<usize> = targets.iter().map(|t| find(t)).collect::<Result<_>>()?;
        let feature_idx: Vec<usize> = match features {
            Some(names) => names.iter().map(|f| find(f)).collect::<Result<_>>()?,
            None => (0..header.len())
                .filter(|i| !target_idx.contains(i))
                .collect(),
        };
        if feature_idx.is_empty() {
            return Err(Error::EmptyData {
                what: format!("no feature columns in {shown}"),
            });
        }
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut record = ::csv::StringRecord::new();
        let mut n = 0usize;
        loop {
            let more = reader.read_record(&mut record).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                csv_error(line, "", e.to_string())
            })?;
            if !more {
                break;
            }
            let line = record.position().map_or(n as u64 + 2, |p| p.line());
            if record.len() != header.len() {
                return Err(csv_error(
                    line,
                    "",
                    format!(
                        "ragged row: {} fields, the header has {}",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            let parse = |i: usize| -> Result<f64> {
                let (cell, name) = (&record[i], &header[i]);
                if cell.is_empty() {
                    return Err(csv_error(line, name, "empty cell".into()));
                }
                let value: f64 = cell
                    .parse()
                    .map_err(|_| csv_error(line, name, format!("{cell:?} is not a number")))?;
                if !value.is_finite() {
                    return Err(csv_error(
                        line,
                        name,
                        format!("{cell:?} is not a finite number"),
                    ));
                }
                Ok(value)
            };
            for &i in &feature_idx {
                x.push(parse(i)?);
            }
            for &i in &target_idx {
                y.push(parse(i)?);
            }
            n += 1;
        }
        if n == 0 {
            return Err(Error::EmptyData {
                what: format!("no data rows in {shown}"),
            });
        }
        Self::from_flat(x, y, [n, feature_idx.len()], target_idx.len(), device)
    }
}
