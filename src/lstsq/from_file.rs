//! The closed form of a file larger than memory (CSV or linfit's row file): its rows read in
//! bounded chunks and folded into the streamed QR (`streamed_qr`), pass by pass.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

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
        let mut reader = self.reader()?;
        let chunk_rows = self.chunk_rows();
        let (m, k) = self.widths;
        let parts = rayon::current_num_threads().max(1);
        let mut states: Vec<S> = (0..parts).map(|_| init()).collect();
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
            for chunk in receiver {
                let per_part = chunk.rows.div_ceil(parts).max(1);
                states
                    .par_iter_mut()
                    .zip(chunk.features.par_chunks(per_part * m))
                    .zip(chunk.targets.par_chunks(per_part * k))
                    .for_each(|((state, x), y)| fold(state, x, y));
            }
            parser
                .join()
                .unwrap_or_else(|_| Err(Error::Numerical("the CSV reading thread panicked".into())))
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
        Ok(states)
    }
}
