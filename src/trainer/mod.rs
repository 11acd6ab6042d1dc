//! [`Trainer`]: the common training loop, `fit` and `fit_with`, and `fit_csv` for files larger
//! than memory.

// The settings are in `config.rs`; the loop every `fit` runs in `train_loop.rs`, with its
// guards, the divergence rule (`divergence.rs`) and the stopping rule (`stopping.rs`); what the
// loop reads its batches from in `source.rs`: a dataset in memory (`in_memory.rs`), a file
// (`from_file.rs`) or shards (`sharded.rs`); what training returns in `fitted.rs`.

mod config;
mod divergence;
mod fitted;
mod from_file;
mod in_memory;
mod sharded;
mod source;
mod train_loop;

use core::ops::ControlFlow;

pub use config::TrainerConfig;
pub use divergence::DIVERGENCE_GROWTH;
pub use fitted::{Fitted, LogEntry, StopReason, Validation};

use crate::data::{Dataset, FileFormat};
use crate::model::LinearModel;
use crate::{Error, Result};
use in_memory::Batches;

// What the sources in `from_file` and `sharded` implement and use.
use divergence::Divergence;
use source::{Batch, BatchTensors, Gradients, TrainSource};

/// Trains a [`LinearModel`] with [`Sgd`](crate::Sgd): full batch or mini-batches, seeded
/// shuffling, a loss history, early stopping, a callback, and divergence detection.
///
/// The data stay on their device; a scalar is read back only at step 0, at log points, for the
/// stopping rule (once per epoch), every 256 steps to detect divergence when neither a log nor
/// a stopping rule reads it, and once at the end (the final model's loss on the last batch and
/// its parameters).
///
/// Divergence (always an error, never a returned model): a loss read back that is NaN or
/// infinite, or that exceeds [`DIVERGENCE_GROWTH`] (1e10) times its starting value per row,
/// the start being the larger of the whole data's loss under the initial model and under
/// the zero model; and non-finite parameters at the end.
///
/// # Example
/// ```
/// use linfit::prelude::*;
/// let cpu = device::cpu(Precision::F64)?;
/// let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64 / 20.0]).collect();
/// let targets: Vec<f64> = rows.iter().map(|r| 3.0 * r[0] + 1.0).collect();
/// let data = Dataset::from_rows(&rows, &targets, &cpu)?;
/// let model = LinearModelConfig::new(1).init(&cpu)?;
/// let fitted = TrainerConfig::new(SgdConfig::new(0.5)).with_epochs(2000).init()?.fit(model, &data)?;
/// assert!((fitted.model.weights()[0] - 3.0).abs() < 1e-6);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Trainer {
    config: TrainerConfig,
}

impl Trainer {
    /// The validated settings.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Trains `model` on `data`.
    ///
    /// # Errors
    /// As [`fit_with`](Self::fit_with).
    pub fn fit(&self, model: LinearModel, data: &Dataset) -> Result<Fitted> {
        self.fit_with(model, data, |_| ControlFlow::Continue(()))
    }

    /// Trains `model` on `data`, calling `on_log` with each log entry; `ControlFlow::Break`
    /// stops training at once (before that step's update) with [`StopReason::Stopped`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the model and data disagree on features or targets,
    /// [`Error::DeviceMismatch`] for another device or float type, [`Error::Diverged`] when
    /// training diverges (see [`Trainer`]), [`Error::OutOfRange`] when the initial model's loss
    /// is not finite (the data overflow, before any update), [`Error::Readback`] when a device
    /// read fails.
    pub fn fit_with(
        &self,
        model: LinearModel,
        data: &Dataset,
        on_log: impl FnMut(&LogEntry) -> ControlFlow<()>,
    ) -> Result<Fitted> {
        model.check_data("training", data)?;
        match self.config.validation_fraction {
            None => {
                let mut batches = Batches::new(data, &self.config);
                self.train(model, &mut batches, None, on_log)
            }
            Some(fraction) => {
                let (train, held_out) = data.train_test_split(fraction, self.config.seed)?;
                let mut batches = Batches::new(&train, &self.config);
                self.train(model, &mut batches, Some(&held_out), on_log)
            }
        }
    }

    /// A trainer for a file: the settings that need the data in memory are refused.
    fn check_file_settings(&self) -> Result<()> {
        match self.config.validation_fraction {
            Some(fraction) => Err(Error::InvalidHyperparameter {
                name: "validation_fraction",
                value: fraction.to_string(),
                rule: "a held-out set is drawn from data in memory (fit, fit_with); split the \
                       file beforehand to validate while training from files",
            }),
            None => Ok(()),
        }
    }

    /// Trains `model` on a CSV file without loading it (header row; the `targets` columns are
    /// the targets, every other column a feature, as [`Dataset::from_csv`]), on the model's
    /// device, with the same settings as [`fit`](Self::fit):
    /// - full batch (`batch_size: None`): each step is one pass over the file, the exact
    ///   gradient of the whole data, summed chunk by chunk; the trajectory equals `fit`'s on the
    ///   file loaded in memory (to rounding: 1e-12);
    /// - mini-batches in file order (`shuffle: false`): the batches `fit` takes, the same
    ///   trajectory;
    /// - mini-batches shuffled: each chunk of the file (about 8 MiB of values, a whole number
    ///   of batches) is shuffled with the seeded generator before it is cut into batches, and
    ///   the chunks come in file order: a shuffle within a bounded buffer, reproducible, not
    ///   the whole-data shuffle of `fit`.
    ///
    /// One pass before training counts the rows and sets the divergence rule's reference.
    /// Memory holds a few chunks whatever the file's size. Every pass checks that the file
    /// did not change while it was read and that it reads the same bytes as the first.
    /// Progress: a `log` record per pass and per chunk.
    ///
    /// # Errors
    /// As [`fit_with`](Self::fit_with), as [`Dataset::from_csv`] for the file (a bad cell names
    /// its line and column), [`Error::DataFile`] when the file changes during training.
    pub fn fit_csv(
        &self,
        model: LinearModel,
        path: impl AsRef<std::path::Path>,
        targets: &[&str],
    ) -> Result<Fitted> {
        self.check_file_settings()?;
        let format = FileFormat::Csv(targets.iter().map(|t| t.to_string()).collect());
        let mut source = from_file::FileBatches::open(path.as_ref(), format, &model, &self.config)?;
        self.train(model, &mut source, None, |_| ControlFlow::Continue(()))
    }

    /// [`fit_csv`](Self::fit_csv) for a row file (linfit's binary format, written by
    /// [`Dataset::save_rows`] or [`crate::data::convert_csv`]): the same training, read at the
    /// speed of the disk instead of the speed of parsing text.
    ///
    /// # Errors
    /// As [`fit_csv`](Self::fit_csv); [`Error::DataFile`] for a file that is not a row file or is
    /// truncated.
    pub fn fit_rows(
        &self,
        model: LinearModel,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Fitted> {
        self.check_file_settings()?;
        let mut source =
            from_file::FileBatches::open(path.as_ref(), FileFormat::Rows, &model, &self.config)?;
        self.train(model, &mut source, None, |_| ControlFlow::Continue(()))
    }
}
