//! The closed form of a file larger than memory (CSV or linfit's row file): its rows read in
//! bounded chunks and folded into the streamed QR (`streamed_qr`), pass by pass.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use burn::tensor::{Tensor, TensorData};

use super::streamed_qr::RowSource;
use crate::data::{ChunkReader, FileFormat, MAX_CHUNK_VALUES, RowChunk};
use crate::{Error, Result};

/// Chunks parsed ahead of the fold: parsing and folding overlap on two threads, and memory
/// stays bounded by `(AHEAD + 2)` chunks.
const AHEAD: usize = 2;

/// A file read pass by pass. Each pass checks that the file did not change while it was read;
/// later passes check that they read the same bytes as the first (CRC-32 and length).
pub(crate) struct FileRows {
    path: PathBuf,
    format: FileFormat,
    widths: (usize, usize),
    names: (Vec<String>, Vec<String>),
    /// Rows and the bytes' CRC-32 and length, from the first full pass.
    first_pass: Option<(usize, u32, u64)>,
}

impl FileRows {
    /// Opens the file and reads its header.
    ///
    /// # Errors
    /// As [`Dataset::from_csv`](crate::Dataset::from_csv) (or the row file's checks) for the
    /// header.
    pub(crate) fn open(path: &Path, format: FileFormat) -> Result<Self> {
        let reader = format.open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            format,
            widths: reader.widths(),
            names: reader.names(),
            first_pass: None,
        })
    }

    /// The header's names of the feature and target columns.
    pub(crate) fn names(&self) -> &(Vec<String>, Vec<String>) {
        &self.names
    }

    fn reader(&self) -> Result<Box<dyn ChunkReader>> {
        self.format.open(&self.path)
    }

    fn chunk_rows(&self) -> usize {
        (MAX_CHUNK_VALUES / (self.widths.0 + self.widths.1).max(1)).max(1)
    }
}

impl RowSource for FileRows {
    fn widths(&self) -> (usize, usize) {
        self.widths
    }

    fn n_rows(&self) -> usize {
        self.first_pass.map_or(0, |(n, _, _)| n)
    }

    fn first_rows(&mut self, count: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut reader = self.reader()?;
        match reader.next_chunk(count)? {
            Some(RowChunk {
                features, targets, ..
            }) => Ok((features, targets)),
            None => Err(Error::EmptyData {
                what: format!("no data rows in {}", reader.shown_path()),
            }),
        }
    }

    /// Reads (and parses) on a second thread, [`AHEAD`] chunks ahead of `fold`, which splits
    /// each chunk's rows over the cores: one part per core.
    fn pass<S: Send>(
        &mut self,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, &[f64], &[f64]) + Sync,
    ) -> Result<Vec<S>> {
        use rayon::prelude::*;
        let (m, k) = self.widths;
        let parts = rayon::current_num_threads().max(1);
        let mut states: Vec<S> = (0..parts).map(|_| init()).collect();
        self.read_pass(|chunk| {
            let per_part = chunk.rows.div_ceil(parts).max(1);
            states
                .par_iter_mut()
                .zip(chunk.features.par_chunks(per_part * m))
                .zip(chunk.targets.par_chunks(per_part * k))
                .for_each(|((state, x), y)| fold(state, x, y));
            Ok(())
        })?;
        Ok(states)
    }
}

impl FileRows {
    /// One pass over the file's chunks in order, `each` given a chunk's row-major features and
    /// targets; the same checks as [`RowSource::pass`]. Returns the rows read.
    pub(crate) fn in_order(
        &mut self,
        mut each: impl FnMut(&[f64], &[f64]) -> Result<()>,
    ) -> Result<usize> {
        self.read_pass(|chunk| each(&chunk.features, &chunk.targets))
    }

    /// [`in_order`](Self::in_order) with each chunk's features and targets as tensors on
    /// `device`, in float type `dtype`.
    pub(crate) fn in_order_tensors(
        &mut self,
        device: &burn::tensor::Device,
        dtype: burn::tensor::DType,
        mut each: impl FnMut(Tensor<2>, Tensor<2>) -> Result<()>,
    ) -> Result<usize> {
        let (m, k) = self.widths;
        self.in_order(|x, y| {
            let rows = y.len() / k.max(1);
            let tensor = |values: &[f64], width: usize| {
                Tensor::<2>::from_data(
                    TensorData::new(values.to_vec(), [rows, width]),
                    (device, dtype),
                )
            };
            each(tensor(x, m), tensor(y, k))
        })
    }

    /// Reads (and parses) on a second thread, [`AHEAD`] chunks ahead of `consume`; then checks
    /// that the file held rows, did not change while it was read and, after the first pass,
    /// holds the bytes the first pass read. Returns the rows read.
    fn read_pass(&mut self, mut consume: impl FnMut(RowChunk) -> Result<()>) -> Result<usize> {
        let mut reader = self.reader()?;
        let chunk_rows = self.chunk_rows();
        let (sender, receiver) = mpsc::sync_channel::<RowChunk>(AHEAD);
        let read = std::thread::scope(|scope| {
            let parser = scope.spawn(move || -> Result<Box<dyn ChunkReader>> {
                while let Some(chunk) = reader.next_chunk(chunk_rows)? {
                    log::debug!(
                        "linfit: {}: {} rows read",
                        reader.shown_path(),
                        reader.rows_read()
                    );
                    if sender.send(chunk).is_err() {
                        break;
                    }
                }
                Ok(reader)
            });
            let mut consumed = Ok(());
            for chunk in receiver {
                consumed = consume(chunk);
                if consumed.is_err() {
                    // Dropping the receiver stops the parser at its next chunk.
                    break;
                }
            }
            let parsed = parser.join().unwrap_or_else(|_| {
                Err(Error::Numerical("the CSV reading thread panicked".into()))
            });
            consumed.and(parsed)
        })?;
        let rows = read.rows_read();
        let path = read.shown_path().to_string();
        let (crc, bytes) = read.finish()?;
        if rows == 0 {
            return Err(Error::EmptyData {
                what: format!("no data rows in {path}"),
            });
        }
        match self.first_pass {
            None => self.first_pass = Some((rows, crc, bytes)),
            Some(first) if first != (rows, crc, bytes) => {
                return Err(Error::Load {
                    path,
                    message: format!(
                        "the file changed between two passes of the fit ({} rows and {} bytes \
                         the first time, {rows} rows and {bytes} bytes now): nothing fitted on \
                         it is returned",
                        first.0, first.2
                    ),
                    source: None,
                });
            }
            Some(_) => {}
        }
        log::info!("linfit: {path}: a pass over {rows} rows ({bytes} bytes)");
        Ok(rows)
    }
}
