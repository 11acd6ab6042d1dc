//! [`TrainerConfig`]: the settings of a [`Trainer`], validated by
//! [`init`](TrainerConfig::init).

use burn::config::Config;

use super::Trainer;
use crate::loss::Loss;
use crate::optim::SgdConfig;
use crate::schedule::Schedule;
use crate::{Error, Result};

/// Settings of a [`Trainer`].
///
/// # Example
/// ```
/// use linfit::{SgdConfig, TrainerConfig};
/// let trainer = TrainerConfig::new(SgdConfig::new(0.05))
///     .with_epochs(20)
///     .with_batch_size(Some(32))
///     .with_log_every(Some(10))
///     .init()?;
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct TrainerConfig {
    /// The optimizer's settings.
    pub optimizer: SgdConfig,
    /// The loss minimised. Default [`Loss::MeanSquared`].
    #[config(default = "Loss::MeanSquared")]
    pub loss: Loss,
    /// Full passes over the data. Default 100.
    #[config(default = 100)]
    pub epochs: usize,
    /// Rows per mini-batch; `None` (the default) trains on the full batch. The last partial batch
    /// of an epoch is used, not dropped.
    pub batch_size: Option<usize>,
    /// Shuffle the rows each epoch (seeded, reproducible). Default `true`. `false` takes rows in
    /// order. No effect, and no copy, for full-batch training.
    #[config(default = true)]
    pub shuffle: bool,
    /// Seed of the shuffling. Default 0.
    #[config(default = 0)]
    pub seed: u64,
    /// Record the loss every this many steps, step 0 included. Default `None` (no history).
    pub log_every: Option<usize>,
    /// scikit-learn's stopping rule: stop when the epoch loss has not improved on the best one by
    /// more than `tol` for `n_iter_no_change` consecutive epochs. Default `None` (run all epochs).
    pub tol: Option<f64>,
    /// Epochs without improvement before stopping (with `tol`). Default 5.
    #[config(default = 5)]
    pub n_iter_no_change: usize,
    /// A learning-rate schedule, stepped at the end of each epoch as PyTorch's
    /// `scheduler.step()` after an epoch. ReduceLROnPlateau is stepped with the held-out loss
    /// when there is a validation set, else with the epoch's loss as the stopping rule reads it
    /// (the whole data's loss for full batch; over mini-batches, the sum of their losses, each
    /// taken with the parameters of its step, normalised as the loss). Its `base_lr` is the lr
    /// of the first epoch, in place of the optimizer's. Default `None`.
    pub schedule: Option<Schedule>,
    /// scikit-learn's `early_stopping` with `validation_fraction`: hold out this share of the
    /// rows (a seeded split,
    /// [`Dataset::train_test_split`](crate::Dataset::train_test_split) with `seed`), train on
    /// the rest, compute the held-out loss after each epoch, and return the model of the epoch
    /// with the lowest one (sklearn's `SGDRegressor` returns its last epoch's). With `tol`, the
    /// stopping rule watches the held-out loss instead of the training loss (sklearn watches the
    /// held-out R², `1 - MSE / var`: the same order, `tol` in other units). In `(0, 1)`; `fit`
    /// and `fit_with` only (files are not split). Default `None`.
    pub validation_fraction: Option<f64>,
}

impl TrainerConfig {
    /// Validates the settings and makes the trainer.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for invalid optimizer or schedule settings, a zero
    /// `batch_size` or
    /// `log_every`, a negative or NaN `tol`, or a zero `n_iter_no_change` with `tol` set.
    pub fn init(&self) -> Result<Trainer> {
        self.optimizer.init()?;
        if let Some(schedule) = &self.schedule {
            schedule.init()?;
        }
        if let Some(fraction) = self.validation_fraction
            && !(fraction > 0.0 && fraction < 1.0)
        {
            return Err(Error::InvalidHyperparameter {
                name: "validation_fraction",
                value: fraction.to_string(),
                rule: "must be in (0, 1) (None = no held-out set)",
            });
        }
        if self.batch_size == Some(0) {
            return Err(Error::InvalidHyperparameter {
                name: "batch_size",
                value: "0".into(),
                rule: "a batch needs at least one row (None = full batch)",
            });
        }
        if self.log_every == Some(0) {
            return Err(Error::InvalidHyperparameter {
                name: "log_every",
                value: "0".into(),
                rule: "must be at least 1 (None = no history)",
            });
        }
        if let Some(tol) = self.tol {
            if tol.is_nan() || tol < 0.0 {
                return Err(Error::InvalidHyperparameter {
                    name: "tol",
                    value: tol.to_string(),
                    rule: "must be >= 0 (None = no early stopping)",
                });
            }
            if self.n_iter_no_change == 0 {
                return Err(Error::InvalidHyperparameter {
                    name: "n_iter_no_change",
                    value: "0".into(),
                    rule: "must be at least 1 when tol is set",
                });
            }
        }
        Ok(Trainer {
            config: self.clone(),
        })
    }
}
