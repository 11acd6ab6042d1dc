//! Training on a file larger than memory (CSV or linfit's row file): the batches of
//! [`Trainer::fit_csv`](super::Trainer::fit_csv) and [`Trainer::fit_rows`](super::Trainer::fit_rows).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use super::{Batch, BatchTensors, Divergence, Gradients, TrainSource, TrainerConfig};
use crate::data::{ChunkReader, FileFormat, Names, RowChunk};
use crate::device::{device_precision, read_scalar};
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::{Error, Result};

/// The batches of a file: chunks of whole batches read, uploaded to the model's device and
/// cut into batches; or the whole file per batch (full batch), read chunk by chunk.
pub(super) struct FileBatches {
    path: PathBuf,
    format: FileFormat,
    device: Device,
    names: (Names, Names),
    widths: (usize, usize),
    /// Rows per batch; `None`: the whole file.
    batch: Option<usize>,
    /// Rows per chunk: a whole number of batches.
    chunk_rows: usize,
    shuffle: Option<ChaCha12Rng>,
    /// Rows, and the CRC-32 and length of the bytes, from the first pass.
    first_pass: Option<(usize, u32, u64)>,
    /// This epoch's reader and current chunk (uploaded) with the next batch's first row.
    reader: Option<Box<dyn ChunkReader>>,
    chunk: Option<(Tensor<2>, Tensor<2>, usize, usize)>,
    /// Whether a full-batch epoch has given its batch.
    given: bool,
}

impl FileBatches {
    /// Opens the file for training `model` with `cfg`.
    ///
    /// # Errors
    /// As [`Dataset::from_csv`](crate::Dataset::from_csv) for the header; a model whose shape or
    /// names differ from the file's columns; an invalid `batch_size`.
    pub(super) fn open(
        path: &Path,
        format: FileFormat,
        model: &LinearModel,
        cfg: &TrainerConfig,
    ) -> Result<Self> {
        let reader = format.open(path)?;
        let widths = reader.widths();
        let (features, target_names) = reader.names();
        let header_error = |e: Error| Error::DataFile {
            path: path.display().to_string(),
            message: format!("its header cannot name the columns: {e}"),
            source: Some(Box::new(e)),
        };
        let names = (
            Names::given("feature names", features, widths.0).map_err(header_error)?,
            Names::given("target names", target_names, widths.1).map_err(header_error)?,
        );
        model.check_shape("training on a file", widths.0, widths.1, None)?;
        model.check_names("training on a file", &names.0, &names.1)?;
        let device = model.device();
        device_precision(&device)?;
        let per_chunk = crate::data::chunk_rows(widths.0, widths.1);
        let chunk_rows = match cfg.batch_size {
            Some(b) => per_chunk.div_ceil(b).max(1) * b,
            None => per_chunk,
        };
        Ok(Self {
            path: path.to_path_buf(),
            format,
            device,
            names,
            widths,
            batch: cfg.batch_size,
            chunk_rows,
            shuffle: (cfg.shuffle && cfg.batch_size.is_some())
                .then(|| ChaCha12Rng::seed_from_u64(cfg.seed)),
            first_pass: None,
            reader: None,
            chunk: None,
            given: false,
        })
    }

    fn open_reader(&self) -> Result<Box<dyn ChunkReader>> {
        self.format.open(&self.path)
    }

    /// A chunk's rows as tensors on the device.
    fn upload(&self, chunk: RowChunk) -> Result<(Tensor<2>, Tensor<2>, usize)> {
        let (m, k) = self.widths;
        let precision = device_precision(&self.device)?;
        let dtype = precision.dtype();
        crate::data::check_values("features", &chunk.features, m, precision)?;
        crate::data::check_values("targets", &chunk.targets, k, precision)?;
        let x = Tensor::<2>::from_data(
            TensorData::new(chunk.features, [chunk.rows, m]),
            (&self.device, dtype),
        );
        let y = Tensor::<2>::from_data(
            TensorData::new(chunk.targets, [chunk.rows, k]),
            (&self.device, dtype),
        );
        Ok((x, y, chunk.rows))
    }

    /// One pass over the whole file: `visit` each uploaded chunk; then the checks that the
    /// file is the one the first pass read.
    fn pass(&mut self, mut visit: impl FnMut(Tensor<2>, Tensor<2>) -> Result<()>) -> Result<()> {
        let mut reader = self.open_reader()?;
        while let Some(chunk) = reader.next_chunk(self.chunk_rows)? {
            let (x, y, _) = self.upload(chunk)?;
            visit(x, y)?;
            log::debug!(
                "linfit: {}: {} rows read",
                reader.shown_path(),
                reader.rows_read()
            );
        }
        self.close(reader)
    }

    /// The end of a pass: the file unchanged, and the same as in the first pass.
    fn close(&mut self, reader: Box<dyn ChunkReader>) -> Result<()> {
        let rows = reader.rows_read();
        let path = reader.shown_path().to_string();
        let (crc, bytes) = reader.finish()?;
        match self.first_pass {
            None if rows == 0 => Err(Error::EmptyData {
                what: format!("no data rows in {path}"),
            }),
            None => {
                self.first_pass = Some((rows, crc, bytes));
                Ok(())
            }
            Some(first) if first != (rows, crc, bytes) => Err(Error::DataFile {
                path,
                message: format!(
                    "the file changed during training ({} rows and {} bytes at the first pass, \
                     {rows} rows and {bytes} bytes now): no model is returned",
                    first.0, first.2
                ),
                source: None,
            }),
            Some(_) => Ok(()),
        }
    }

    /// The whole file's loss under `model` (sum of squares), and its gradients when asked.
    fn whole(&mut self, model: &LinearModel, gradients: bool) -> Result<Gradients> {
        let (mut loss, mut gw, mut gb): (Option<Tensor<1>>, Option<Tensor<2>>, Option<Tensor<1>>) =
            (None, None, None);
        let plain = model.valid();
        self.pass(|x, y| {
            let add1 = |a: Option<Tensor<1>>, b: Tensor<1>| Some(a.map_or(b.clone(), |a| a + b));
            if gradients {
                let (l, w, b) = model.loss_and_gradients(x, y, None, Loss::SumSquared);
                loss = add1(loss.take(), l);
                gw = Some(gw.take().map_or(w.clone(), |a| a + w));
                if let Some(b) = b {
                    gb = add1(gb.take(), b);
                }
            } else {
                loss = add1(loss.take(), plain.loss(x, y, Loss::SumSquared));
            }
            Ok(())
        })?;
        let missing = || Error::EmptyData {
            what: format!("no data rows in {}", self.path.display()),
        };
        let loss = loss.ok_or_else(missing)?;
        let gw = match gw {
            Some(gw) => gw,
            // Only the loss was asked for: an empty gradient the caller drops.
            None => Tensor::<2>::zeros([0, 0], (&self.device, loss.dtype())),
        };
        Ok((loss, gw, gb))
    }

    fn rows(&self) -> usize {
        self.first_pass.map_or(0, |(n, _, _)| n)
    }
}

impl TrainSource for FileBatches {
    fn n_samples(&self) -> usize {
        self.rows()
    }

    fn names(&self) -> (Names, Names) {
        self.names.clone()
    }

    fn is_full_batch(&self) -> bool {
        self.batch.is_none()
    }

    /// The first pass: rows counted, the losses of the initial and of the zero model.
    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence> {
        let plain = model.valid();
        let (mut initial, mut zero) = (0.0, 0.0);
        self.pass(|x, y| {
            initial += read_scalar(plain.loss(x, y.clone(), Loss::SumSquared))?;
            zero += read_scalar(y.square().sum())?;
            Ok(())
        })?;
        let elements = self.rows() * self.widths.1;
        let scale = kind.scale(elements);
        Divergence::from_losses(kind, initial * scale, zero * scale, self.rows())
    }

    fn start_epoch(&mut self) -> Result<()> {
        self.given = false;
        self.chunk = None;
        self.reader = match self.batch {
            Some(_) => Some(self.open_reader()?),
            None => None,
        };
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let Some(batch) = self.batch else {
            if self.given {
                return Ok(None);
            }
            self.given = true;
            return Ok(Some(Batch {
                tensors: None,
                len: self.rows(),
            }));
        };
        loop {
            if let Some((x, y, rows, start)) = &mut self.chunk
                && *start < *rows
            {
                let end = (*start + batch).min(*rows);
                let tensors = BatchTensors {
                    features: x.clone().slice(*start..end),
                    targets: y.clone().slice(*start..end),
                    rows: None,
                    weights: None,
                };
                let len = end - *start;
                *start = end;
                return Ok(Some(Batch {
                    tensors: Some(tensors),
                    len,
                }));
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            match reader.next_chunk(self.chunk_rows)? {
                Some(mut chunk) => {
                    if let Some(rng) = self.shuffle.as_mut() {
                        shuffle_rows(&mut chunk, self.widths, rng);
                    }
                    let (x, y, rows) = self.upload(chunk)?;
                    self.chunk = Some((x, y, rows, 0));
                }
                None => {
                    self.chunk = None;
                    if let Some(reader) = self.reader.take() {
                        self.close(reader)?;
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients> {
        match &batch.tensors {
            Some(t) => Ok(t.gradients(model, kind)),
            None => {
                let (loss, gw, gb) = self.whole(model, true)?;
                let scale = kind.scale(self.rows() * self.widths.1);
                if scale == 1.0 {
                    return Ok((loss, gw, gb));
                }
                Ok((
                    loss.mul_scalar(scale),
                    gw.mul_scalar(scale),
                    gb.map(|g| g.mul_scalar(scale)),
                ))
            }
        }
    }

    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64> {
        match &batch.tensors {
            Some(t) => t.loss(model, kind),
            None => {
                let (loss, _, _) = self.whole(model, false)?;
                Ok(read_scalar(loss)? * kind.scale(self.rows() * self.widths.1))
            }
        }
    }
}

/// Shuffles a chunk's rows (features and targets together) with `rng`.
fn shuffle_rows(chunk: &mut RowChunk, (m, k): (usize, usize), rng: &mut ChaCha12Rng) {
    let mut order: Vec<usize> = (0..chunk.rows).collect();
    order.shuffle(rng);
    let features = order
        .iter()
        .flat_map(|&i| chunk.features[i * m..(i + 1) * m].iter().copied())
        .collect();
    let targets = order
        .iter()
        .flat_map(|&i| chunk.targets[i * k..(i + 1) * k].iter().copied())
        .collect();
    chunk.features = features;
    chunk.targets = targets;
}
