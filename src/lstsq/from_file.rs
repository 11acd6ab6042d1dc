//! The closed form of a file larger than memory (CSV or linfit's row file): its rows read in
//! bounded chunks and folded into the streamed QR (`streamed_qr`), pass by pass.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use burn::tensor::{Tensor, TensorData};

use super::streamed_qr::{self, RankRule, RowSource};
use super::{About, Covariance, LeastSquares, LeastSquaresFit, Solver, Weighting, robust};
use crate::data::{ChunkReader, FileFormat, RowChunk};
use crate::data::{Dataset, Names};
use crate::{Error, Result};
use burn::tensor::Device;

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
        crate::data::chunk_rows(self.widths.0, self.widths.1)
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
                return Err(Error::DataFile {
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

impl LeastSquares {
    /// Fits every target of a CSV file (header row; the `targets` columns are the targets,
    /// every other column a feature) without loading it: the rows are read in chunks of
    /// bounded size (8 MiB of values, parsed on a second thread) and folded into the streamed
    /// QR of `[1 X y]`, on the host; the model is made on `device`. Memory stays bounded
    /// whatever the file's size; the time is that of reading and parsing the file (once; a
    /// second pass refines ill-conditioned designs, as [`fit`](Self::fit) does).
    ///
    /// [`Solver::Svd`] decides the rank and solves from the SVD of `R`; every other solver
    /// setting is the streamed QR (the normal equations would square the data's condition
    /// number for nothing: the factor costs the same pass). A file small enough for the
    /// in-memory solvers (up to 2^20 values, or short ones) is then loaded and fitted with
    /// [`fit`](Self::fit), so the two agree exactly; larger ones agree with `fit` on the same data
    /// to rounding (both are streamed QR).
    ///
    /// The columns are named after the header. Progress: a `log` record per pass (`info`) and
    /// per chunk (`debug`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for `alpha > 0`: files are fitted by ordinary least
    /// squares (load the data and use [`fit`](Self::fit) for ridge);
    /// As [`Dataset::from_csv`] for the file (a bad cell names its line and column) and as
    /// [`fit`](Self::fit); [`Error::DataFile`] when the file changes while it is read or between
    /// two passes (nothing fitted on part of it is returned).
    pub fn fit_csv(
        &self,
        path: impl AsRef<std::path::Path>,
        targets: &[&str],
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        let format = FileFormat::Csv(targets.iter().map(|t| t.to_string()).collect());
        self.fit_file(path.as_ref(), format, device)
    }

    /// [`fit_csv`](Self::fit_csv) for a row file (linfit's binary format, written by
    /// [`Dataset::save_rows`] or [`crate::data::convert_csv`]): the same fit, read at the speed
    /// of the disk instead of the speed of parsing text. Its columns are named as the file says.
    ///
    /// # Errors
    /// [`Error::DataFile`] for a file that is not a row file, is truncated, or changes while it is
    /// read; [`Error::NonFinite`] for a NaN or infinite value (its row and column); as
    /// [`fit`](Self::fit).
    pub fn fit_rows(
        &self,
        path: impl AsRef<std::path::Path>,
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        self.fit_file(path.as_ref(), FileFormat::Rows, device)
    }

    fn fit_file(
        &self,
        path: &std::path::Path,
        format: FileFormat,
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        self.check_rcond()?;
        self.check_alpha()?;
        if self.alpha > 0.0 {
            return Err(Error::InvalidHyperparameter {
                name: "alpha",
                value: self.alpha.to_string(),
                rule: "a ridge penalty is fitted in memory (LeastSquares::fit); files are fitted \
                       by ordinary least squares",
            });
        }
        let mut rows = FileRows::open(path, format.clone())?;
        let rule = match self.solver {
            Solver::Svd => RankRule::Unscaled,
            _ => RankRule::Scaled,
        };
        let solution = streamed_qr::solve(&mut rows, self.intercept, self.rcond, rule)?;
        let (n, (m, k)) = (rows.n_rows(), rows.widths());
        if !streamed_qr::applies(n, m, k) {
            let data = match &format {
                FileFormat::Csv(targets) => {
                    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
                    Dataset::from_csv(path, &targets, device)?
                }
                FileFormat::Rows => Dataset::from_rows_file(path, device)?,
            };
            return self.fit(&data);
        }
        let (features, targets) = rows.names().clone();
        let header_error = |e: Error| Error::DataFile {
            path: path.display().to_string(),
            message: format!("its header cannot name the columns: {e}"),
            source: Some(Box::new(e)),
        };
        let about = About {
            n,
            device: device.clone(),
            names: (
                Names::given("feature names", features, m).map_err(header_error)?,
                Names::given("target names", targets, k).map_err(header_error)?,
            ),
            data: None,
            weighting: Weighting::none(n),
            alpha: 0.0,
        };
        let used = match rule {
            RankRule::Unscaled => Solver::Svd,
            RankRule::Scaled => Solver::Qr,
        };
        let mut fit = LeastSquaresFit::from_solution(solution, used, self.intercept, about)?;
        // A robust covariance needs one more pass over the rows; the residuals' diagnostics
        // come with it.
        if self.covariance != Covariance::NonRobust && fit.df_residual() > 0 {
            let (robust, diagnostics) =
                robust::robust_from_file(&fit, &mut rows, &self.covariance)?;
            fit.robust = Some(robust);
            fit.diagnostics = Some(diagnostics);
        }
        Ok(fit)
    }
}
