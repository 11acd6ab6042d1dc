//! Per-row tables written as CSV ([`PredictionFrame::write_csv`](super::PredictionFrame),
//! [`Influence::write_csv`](super::Influence), the influence of a file fit): a header, then one
//! line per row. Numbers are written in Rust's shortest round-trip form (`{:?}`: reading one
//! back gives the same f64; `NaN`, `inf` and `-inf` as pandas and NumPy read them).

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// One column of a table.
pub(crate) enum Column<'a> {
    /// Numbers.
    Number(&'a [f64]),
    /// `true` / `false`.
    Flag(&'a [bool]),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Number(v) => v.len(),
            Column::Flag(v) => v.len(),
        }
    }

    fn cell(&self, row: usize, out: &mut String) {
        use std::fmt::Write as _;
        out.clear();
        // Writing to a String cannot fail.
        let _ = match self {
            Column::Number(v) => write!(out, "{:?}", v[row]),
            Column::Flag(v) => write!(out, "{}", v[row]),
        };
    }
}

/// A table being written, chunk by chunk of rows.
pub(crate) struct TableWriter<W: Write> {
    out: csv::Writer<W>,
    width: usize,
    cell: String,
    rows: usize,
}

impl<W: Write> TableWriter<W> {
    /// Starts a table with these column names.
    pub(crate) fn new(out: W, header: &[String]) -> std::io::Result<Self> {
        let mut out = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(out);
        out.write_record(header)?;
        Ok(TableWriter {
            out,
            width: header.len(),
            cell: String::new(),
            rows: 0,
        })
    }

    /// Appends the rows of `columns` (one per header name, of one length).
    pub(crate) fn rows(&mut self, columns: &[Column<'_>]) -> std::io::Result<()> {
        debug_assert_eq!(columns.len(), self.width);
        let rows = columns.first().map_or(0, Column::len);
        debug_assert!(columns.iter().all(|c| c.len() == rows));
        for row in 0..rows {
            for column in columns {
                column.cell(row, &mut self.cell);
                self.out.write_field(&self.cell)?;
            }
            self.out.write_record(None::<&[u8]>)?;
        }
        self.rows += rows;
        Ok(())
    }

    /// Flushes the table; returns the rows written.
    pub(crate) fn finish(mut self) -> std::io::Result<usize> {
        self.out.flush()?;
        Ok(self.rows)
    }
}

/// Writes a whole table to `path` (a temporary file beside it, renamed into place: a failed
/// write leaves any earlier file as it was).
///
/// # Errors
/// [`Error::ShapeMismatch`] for columns of unequal lengths (a table's fields are public and may
/// have been changed); [`Error::Io`] when the file cannot be written.
pub(crate) fn write_table(path: &Path, header: &[String], columns: &[Column<'_>]) -> Result<()> {
    let rows = columns.first().map_or(0, Column::len);
    if let Some(short) = columns.iter().position(|c| c.len() != rows) {
        return Err(Error::shape_mismatch(
            format!(
                "column {} of the table written to {}",
                header[short],
                path.display()
            ),
            rows,
            columns[short].len(),
        ));
    }
    crate::data::files::write_replacing(path, |file, _| {
        let io = |e: std::io::Error| Error::io(path, e);
        let mut table = TableWriter::new(std::io::BufWriter::new(file), header).map_err(io)?;
        table.rows(columns).map_err(io)?;
        table.finish().map(drop).map_err(io)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_flags_are_words() {
        let values = [0.1, 1e-300, -2.5e17, f64::NAN, f64::INFINITY, 1.0 / 3.0];
        let flags = [true, false, true, false, true, false];
        let mut out = Vec::new();
        let mut t = TableWriter::new(&mut out, &["x".into(), "ok".into()]).unwrap();
        t.rows(&[Column::Number(&values[..3]), Column::Flag(&flags[..3])])
            .unwrap();
        t.rows(&[Column::Number(&values[3..]), Column::Flag(&flags[3..])])
            .unwrap();
        assert_eq!(t.finish().unwrap(), 6);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "x,ok");
        assert_eq!(lines[3], "-2.5e17,true");
        assert_eq!(lines[4], "NaN,false");
        assert_eq!(lines[5], "inf,true");
        for (line, want) in lines[1..].iter().zip(values) {
            let got: f64 = line.split(',').next().unwrap().parse().unwrap();
            assert!(got == want || (got.is_nan() && want.is_nan()), "{line}");
        }
    }
}
