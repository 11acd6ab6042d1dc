//! [`Trainer`]: the common training loop, `fit` and `fit_with`, and `fit_csv` for files larger
//! than memory.

mod from_file;
mod sharded;

use core::ops::ControlFlow;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use crate::data::{Dataset, DeviceWeights, FileFormat, Names};
use crate::device::read_scalar;
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::optim::{Sgd, SgdConfig};
use crate::schedule::Schedule;
use crate::{Error, Result};

/// Without log points or a stopping rule, the loss is still read every this many steps (and
/// after the last one) so that divergence is caught; one scalar read back per this many steps.
const DIVERGENCE_CHECK_EVERY: usize = 256;

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
    /// rows (a seeded split, [`Dataset::train_test_split`] with `seed`), train on the rest,
    /// compute the held-out loss after each epoch, and return the model of the epoch with the
    /// lowest one (sklearn's `SGDRegressor` returns its last epoch's). With `tol`, the stopping rule watches the held-out loss instead of the
    /// training loss (sklearn watches the held-out R², `1 - MSE / var`: the same order, `tol`
    /// in other units). In `(0, 1)`; `fit` and `fit_with` only (files are not split). Default
    /// `None`.
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

/// One recorded point of training.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogEntry {
    /// The optimizer step (0-based).
    pub step: usize,
    /// The epoch of that step (0-based).
    pub epoch: usize,
    /// The loss of that step's batch, before its update.
    pub loss: f64,
}

/// Why training ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Every epoch ran.
    EpochsDone,
    /// The `tol` / `n_iter_no_change` rule stopped training.
    Converged,
    /// The `fit_with` callback returned `ControlFlow::Break`.
    Stopped,
}

/// The result of training.
#[non_exhaustive]
#[derive(Debug)]
pub struct Fitted {
    /// The trained model.
    pub model: LinearModel,
    /// The log entries, every `log_every` steps.
    pub history: Vec<LogEntry>,
    /// Why training ended.
    pub stop: StopReason,
    /// Optimizer steps taken (parameter updates).
    pub steps: usize,
    /// Epochs begun (the last one may be partial when the callback stopped training).
    pub epochs: usize,
    /// With `validation_fraction`: the held-out set's best epoch, whose model is
    /// [`model`](Self::model).
    pub validation: Option<Validation>,
}

/// What the held-out set said (`TrainerConfig::validation_fraction`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validation {
    /// The lowest held-out loss after an epoch (the trainer's loss, weighted as the data).
    pub best_loss: f64,
    /// The epoch (0-based) after which it was reached: the returned model's.
    pub best_epoch: usize,
    /// Rows held out.
    pub n_samples: usize,
}

/// The loss of `model` on the held-out data, read back (weighted when the data are).
fn held_out_loss(model: &LinearModel, data: &Dataset, kind: Loss) -> Result<f64> {
    let model = model.valid();
    read_scalar(match data.device_weights() {
        None => model.loss(data.features(), data.targets(), kind),
        Some(w) => w.loss(kind, model.forward(data.features()), data.targets()),
    })
}

/// Trains a [`LinearModel`] with [`Sgd`]: full batch or mini-batches, seeded shuffling, a loss
/// history, early stopping, a callback, and divergence detection.
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
    /// its line and column), [`Error::Load`] when the file changes during training.
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
    /// As [`fit_csv`](Self::fit_csv); [`Error::Load`] for a file that is not a row file or is
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

    /// The training loop over the batches of `source`, validated on `held_out` if given.
    fn train(
        &self,
        model: LinearModel,
        source: &mut dyn TrainSource,
        held_out: Option<&Dataset>,
        mut on_log: impl FnMut(&LogEntry) -> ControlFlow<()>,
    ) -> Result<Fitted> {
        let cfg = &self.config;
        let (feature_names, target_names) = source.names();
        log::info!(
            "linfit: training {:?} on {:?}",
            target_names.list(),
            feature_names.list()
        );
        // Trained on the plain device: the fused operation gives the gradients, and no autodiff
        // leaf piles up in Burn's graph (only a backward pass would free it).
        let mut model = model.untracked();
        let mut optim: Sgd = cfg.optimizer.init()?;
        let mut schedule = cfg.schedule.as_ref().map(Schedule::init).transpose()?;
        if let Some(s) = &schedule {
            optim.set_lr(s.lr())?;
        }
        let plateau = matches!(cfg.schedule, Some(Schedule::ReduceOnPlateau(_)));
        let mut stopping = cfg
            .tol
            .map(|tol| StoppingRule::new(tol, cfg.n_iter_no_change));

        let mut history = Vec::new();
        let mut step = 0usize;
        let mut stop = StopReason::EpochsDone;
        let mut epochs_run = 0usize;
        let full_batch = source.is_full_batch();
        let mut guard = if cfg.epochs > 0 {
            Some(source.divergence(cfg.loss, &model)?)
        } else {
            None
        };
        let n = source.n_samples();
        let mut last_batch: Option<(Batch, usize)> = None;
        // The held-out loss of the best epoch so far, and that epoch's model.
        let mut best: Option<(f64, LinearModel, usize)> = None;

        'epochs: for epoch in 0..cfg.epochs {
            epochs_run = epoch + 1;
            // The epoch's loss, summed on the device, only when the stopping rule needs it.
            let mut epoch_loss = EpochLoss::default();
            source.start_epoch()?;
            while let Some(batch) = source.next_batch()? {
                let rows = batch.len;
                optim.zero_grad();
                // The fused loss with its gradients: one pass over the batch, no autodiff graph
                // (what `model.loss` + `optim.backward` compute, without the graph's upkeep).
                let (loss, weight_grad, bias_grad) = source.gradients(&model, &batch, cfg.loss)?;
                last_batch = Some((batch, epoch));

                let read = LossRead::at(cfg, step);
                if read != LossRead::None {
                    let value = read_scalar(loss.clone())?;
                    if let Some(guard) = &mut guard {
                        if step == 0 && full_batch {
                            guard.set_initial(value, rows)?;
                        }
                        guard.check(value, rows, step, epoch)?;
                    }
                    if read == LossRead::Log {
                        let entry = LogEntry {
                            step,
                            epoch,
                            loss: value,
                        };
                        log::debug!("linfit: step {step} epoch {epoch} loss {value:e}");
                        history.push(entry);
                        if on_log(&entry).is_break() {
                            stop = StopReason::Stopped;
                            break 'epochs;
                        }
                    }
                }
                if stopping.is_some() || plateau {
                    epoch_loss.add(&loss, cfg.loss, rows, n);
                }

                optim.accumulate(Some(weight_grad), bias_grad);
                model = optim.update_model(model, false)?;
                step += 1;
            }

            let epoch_value = match epoch_loss.sum {
                Some(sum) => {
                    let value = read_scalar(sum)?;
                    if let Some(guard) = &guard {
                        guard.check_epoch(value, n, step.saturating_sub(1), epoch)?;
                    }
                    Some(value)
                }
                None => None,
            };
            let watched = match held_out {
                Some(valid) => {
                    let value = held_out_loss(&model, valid, cfg.loss)?;
                    log::debug!("linfit: epoch {epoch} held-out loss {value:e}");
                    // A NaN loss is never the best (and never displaces a number).
                    if best
                        .as_ref()
                        .is_none_or(|(b, _, _)| value < *b || (b.is_nan() && !value.is_nan()))
                    {
                        best = Some((value, model.clone(), epoch));
                    }
                    Some(value)
                }
                None => epoch_value,
            };
            if let Some(s) = schedule.as_mut() {
                s.step(watched.unwrap_or(f64::NAN));
                optim.set_lr(s.lr())?;
            }
            if let (Some(rule), Some(value)) = (stopping.as_mut(), watched) {
                let converged = rule.update(value);
                log::debug!(
                    "linfit: epoch {epoch} loss {value:e}, {} epochs without improvement",
                    rule.no_improvement
                );
                if converged {
                    stop = StopReason::Converged;
                    break 'epochs;
                }
            }
        }

        // The closing check: the trained parameters, and their loss on the last batch (after
        // the last update, which no read point saw).
        if let (Some(guard), Some((batch, epoch))) = (&guard, last_batch) {
            let loss = source.batch_loss(&model, &batch, cfg.loss)?;
            guard.check(loss, batch.len, step, epoch)?;
            let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
            let bias = model.try_bias()?.unwrap_or_default();
            if !finite(&model.try_weights()?) || !finite(&bias) {
                return Err(guard.diverged(f64::NAN, step, epoch, "the parameters are not finite"));
            }
        }
        let (model, validation) = match best {
            Some((loss, best_model, epoch)) => (
                best_model,
                Some(Validation {
                    best_loss: loss,
                    best_epoch: epoch,
                    n_samples: held_out.map_or(0, Dataset::n_samples),
                }),
            ),
            None => (model, None),
        };
        let model = model
            .tracked()
            .with_recorded_names(feature_names, target_names);
        log::info!("linfit: training ended after {step} steps, {epochs_run} epochs: {stop:?}");

        Ok(Fitted {
            model,
            history,
            stop,
            steps: step,
            epochs: epochs_run,
            validation,
        })
    }
}

/// The loss of a batch and its gradients in the weight and the bias.
type Gradients = (Tensor<1>, Tensor<2>, Option<Tensor<1>>);

/// What the training loop reads its batches from: a dataset in memory, or a file.
trait TrainSource {
    /// Rows in all; a file's are counted by [`divergence`](Self::divergence), its first pass.
    fn n_samples(&self) -> usize;
    /// The names of the feature and target columns.
    fn names(&self) -> (Names, Names);
    /// Whether each batch is the whole data.
    fn is_full_batch(&self) -> bool;
    /// The divergence rule for training `model` (called once, before the first epoch).
    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence>;
    /// Starts an epoch.
    fn start_epoch(&mut self) -> Result<()>;
    /// The epoch's next batch; `None` after its last.
    fn next_batch(&mut self) -> Result<Option<Batch>>;
    /// The loss of `batch` under `model` and its gradients.
    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients>;
    /// The loss of `batch` under `model`, read back.
    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64>;
}

/// One batch: the whole data, a slice of rows (a view), or the rows of the data listed in
/// `rows` (a shuffled batch: the kernel reads them in place, nothing is gathered); or, with no
/// tensors, a whole file (read pass by pass).
struct Batch {
    tensors: Option<BatchTensors>,
    /// Rows in the batch.
    len: usize,
}

/// A batch's features and targets, and the rows of them it takes (all when `None`).
struct BatchTensors {
    features: Tensor<2>,
    targets: Tensor<2>,
    rows: Option<Tensor<1, Int>>,
    /// Sample weights of the same rows as `features` (before `rows` picks some).
    weights: Option<DeviceWeights>,
}

impl BatchTensors {
    /// The batch's loss and gradients: the fused pass, or the weighted loss's two passes.
    fn gradients(&self, model: &LinearModel, kind: Loss) -> Gradients {
        let (x, y, rows) = (
            self.features.clone(),
            self.targets.clone(),
            self.rows.clone(),
        );
        match &self.weights {
            None => model.loss_and_gradients(x, y, rows, kind),
            Some(w) => {
                let k = y.dims()[1];
                let scale = |b| w.loss_scale(kind, b, k);
                model.weighted_loss_and_gradients(x, y, w.tensor.clone(), rows, scale)
            }
        }
    }

    /// The batch's loss, read back.
    fn loss(&self, model: &LinearModel, kind: Loss) -> Result<f64> {
        let (mut x, mut y, mut w) = (
            self.features.clone(),
            self.targets.clone(),
            self.weights.clone(),
        );
        if let Some(rows) = &self.rows {
            x = x.select(0, rows.clone());
            y = y.select(0, rows.clone());
            w = w.map(|w| w.select(rows.clone()));
        }
        let model = model.valid();
        read_scalar(match w {
            None => model.loss(x, y, kind),
            // As the training step's loss: a batch's mean over `k b mean(w)`.
            Some(w) => w.loss(kind, model.forward(x), y),
        })
    }
}

/// The batches of each epoch: the whole data (full batch: no copy, no shuffle), or rows in
/// order, or a seeded shuffle drawn anew each epoch, its index list on the data's device.
struct Batches<'a> {
    data: &'a Dataset,
    /// Rows per batch (`n` for full batch).
    batch: usize,
    /// The shuffling state, when shuffling.
    shuffle: Option<(ChaCha12Rng, Vec<i64>)>,
    /// This epoch's order, when shuffling.
    permutation: Option<Tensor<1, Int>>,
    /// The next batch's first row.
    cursor: usize,
}

impl<'a> Batches<'a> {
    fn new(data: &'a Dataset, cfg: &TrainerConfig) -> Self {
        let n = data.n_samples();
        let batch = cfg.batch_size.unwrap_or(n).min(n);
        let shuffle = (cfg.shuffle && batch < n).then(|| {
            (
                ChaCha12Rng::seed_from_u64(cfg.seed),
                (0..n as i64).collect(),
            )
        });
        Self {
            data,
            batch,
            shuffle,
            permutation: None,
            cursor: n,
        }
    }
}

impl TrainSource for Batches<'_> {
    fn n_samples(&self) -> usize {
        self.data.n_samples()
    }

    fn names(&self) -> (Names, Names) {
        let (f, t) = self.data.names();
        (f.clone(), t.clone())
    }

    fn is_full_batch(&self) -> bool {
        self.batch == self.data.n_samples()
    }

    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence> {
        Divergence::start(kind, model, self.data, self.is_full_batch())
    }

    fn start_epoch(&mut self) -> Result<()> {
        let n = self.data.n_samples();
        self.permutation = self.shuffle.as_mut().map(|(rng, order)| {
            order.shuffle(rng);
            Tensor::<1, Int>::from_data(TensorData::new(order.clone(), [n]), &self.data.device())
        });
        self.cursor = 0;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let (data, batch, n) = (self.data, self.batch, self.data.n_samples());
        let start = self.cursor;
        if start >= n {
            return Ok(None);
        }
        let end = (start + batch).min(n);
        self.cursor = end;
        let tensors = match &self.permutation {
            _ if batch == n => BatchTensors {
                features: data.features(),
                targets: data.targets(),
                rows: None,
                weights: data.device_weights(),
            },
            Some(perm) => BatchTensors {
                features: data.features(),
                targets: data.targets(),
                rows: Some(perm.clone().slice(start..end)),
                weights: data.device_weights(),
            },
            None => {
                let (features, targets) = data.rows(start, end);
                BatchTensors {
                    features,
                    targets,
                    rows: None,
                    weights: data.device_weights().map(|w| w.slice(start, end)),
                }
            }
        };
        Ok(Some(Batch {
            tensors: Some(tensors),
            len: end - start,
        }))
    }

    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients> {
        let t = batch
            .tensors
            .as_ref()
            .ok_or_else(|| missing_tensors("gradients"))?;
        Ok(t.gradients(model, kind))
    }

    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64> {
        batch
            .tensors
            .as_ref()
            .ok_or_else(|| missing_tensors("a batch loss"))?
            .loss(model, kind)
    }
}

/// In-memory batches always carry their tensors.
fn missing_tensors(context: &'static str) -> Error {
    Error::Internal {
        context,
        source: "an in-memory batch without its tensors".into(),
    }
}

/// Whether a step's loss is read back to the host (one scalar, a device sync): at log points;
/// and, with neither a log nor a stopping rule to notice a divergence, every
/// [`DIVERGENCE_CHECK_EVERY`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LossRead {
    None,
    Log,
    Guard,
}

impl LossRead {
    fn at(cfg: &TrainerConfig, step: usize) -> Self {
        match cfg.log_every {
            Some(k) if step.is_multiple_of(k) => LossRead::Log,
            // Step 0 is always read: it sets the divergence rule's reference (full batch).
            _ if step == 0 => LossRead::Guard,
            Some(_) => LossRead::None,
            None if cfg.tol.is_none() && step.is_multiple_of(DIVERGENCE_CHECK_EVERY) => {
                LossRead::Guard
            }
            None => LossRead::None,
        }
    }
}

/// An epoch's loss, summed on the device over its batches: the sum of the batch sums, or for
/// the mean loss the batch means weighted by their share of the rows (which add up to the
/// epoch's mean).
#[derive(Default)]
struct EpochLoss {
    sum: Option<Tensor<1>>,
}

impl EpochLoss {
    fn add(&mut self, loss: &Tensor<1>, kind: Loss, rows: usize, n: usize) {
        let loss = loss.clone().detach().without_autodiff();
        let weighted = match kind {
            Loss::SumSquared => loss,
            Loss::MeanSquared => loss.mul_scalar(rows as f64 / n as f64),
        };
        self.sum = Some(match self.sum.take() {
            None => weighted,
            Some(acc) => acc + weighted,
        });
    }
}

/// scikit-learn's stopping rule (`sklearn/linear_model/_sgd_fast.pyx`): an epoch improves when
/// its loss is below the best so far minus `tol`; training stops after `patience` epochs in a
/// row without improvement.
struct StoppingRule {
    tol: f64,
    patience: usize,
    best: f64,
    no_improvement: usize,
}

impl StoppingRule {
    fn new(tol: f64, patience: usize) -> Self {
        Self {
            tol,
            patience,
            best: f64::INFINITY,
            no_improvement: 0,
        }
    }

    /// Records an epoch's loss; `true` when training should stop.
    fn update(&mut self, loss: f64) -> bool {
        if loss > self.best - self.tol {
            self.no_improvement += 1;
        } else {
            self.no_improvement = 0;
        }
        if loss < self.best {
            self.best = loss;
        }
        self.no_improvement >= self.patience
    }
}

/// How much the loss per row may grow over its reference before training counts as diverged.
pub const DIVERGENCE_GROWTH: f64 = 1e10;

/// The divergence rule: training has diverged when a loss read back is NaN or infinite, or
/// when the loss per row (per element for the mean loss) exceeds [`DIVERGENCE_GROWTH`] times
/// its reference, the larger of the whole data's loss per row under the initial model and
/// under the zero model (`y^2` per row). Stable gradient descent on a least-squares loss does
/// not raise the loss past both by ten orders of magnitude (a mini-batch would need rows 1e5
/// times larger than the data's typical ones); a diverging run passes that within a few dozen
/// steps of geometric growth. Checked at every loss read back (log points, every 256 steps
/// without a log or `tol`, each epoch with `tol`) and on the final model.
struct Divergence {
    kind: Loss,
    /// Loss per row at the start (0: only NaN and infinity count).
    reference: f64,
}

impl Divergence {
    /// The rule for training `model` on `data`. The reference under the initial model is the
    /// whole data's loss: for full-batch training it is step 0's loss, which
    /// [`set_initial`](Self::set_initial) records; otherwise one pass over the data here.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] when the initial loss is not finite: no update has happened, so
    /// the data or the initial parameters overflow the device's float type.
    fn start(kind: Loss, model: &LinearModel, data: &Dataset, full_batch: bool) -> Result<Self> {
        let rows = data.n_samples();
        let y = data.targets();
        // The losses as training reads them: weighted when the data are.
        let weights = data.device_weights();
        let loss = |predictions: Tensor<2>| match &weights {
            None => kind.forward(predictions, y.clone()),
            Some(w) => w.loss(kind, predictions, y.clone()),
        };
        let zero_model = read_scalar(loss(y.clone().zeros_like()))?;
        let mut rule = Self::from_zero_model(kind, zero_model, rows);
        if !full_batch {
            let first = read_scalar(loss(model.valid().forward(data.features())))?;
            rule.set_initial(first, rows)?;
        }
        Ok(rule)
    }

    /// The rule from the whole data's losses under the initial model and the zero model
    /// (`rows` rows), computed by the caller.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    fn from_losses(kind: Loss, initial: f64, zero_model: f64, rows: usize) -> Result<Self> {
        let mut rule = Self::from_zero_model(kind, zero_model, rows);
        rule.set_initial(initial, rows)?;
        Ok(rule)
    }

    /// The rule with the zero model's loss (`rows` rows) as its reference so far.
    fn from_zero_model(kind: Loss, zero_model: f64, rows: usize) -> Self {
        Self {
            kind,
            reference: if zero_model.is_finite() {
                per_row(kind, zero_model, rows)
            } else {
                0.0
            },
        }
    }

    /// Takes the initial model's loss on the whole data (`rows` rows) into the reference.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] when it is not finite (see [`start`](Self::start)).
    fn set_initial(&mut self, first: f64, rows: usize) -> Result<()> {
        if !first.is_finite() {
            return Err(Error::OutOfRange {
                what: "the initial model's loss on the data (before any update)".into(),
                value: first.to_string(),
                rule: "the squared errors overflow the device's float type: the data or the \
                       initial parameters are too large; standardise them (Standardizer) or use \
                       Precision::F64"
                    .into(),
            });
        }
        self.reference = self.reference.max(per_row(self.kind, first, rows));
        Ok(())
    }

    /// Checks a batch loss of `rows` rows at `step`.
    fn check(&self, loss: f64, rows: usize, step: usize, epoch: usize) -> Result<()> {
        if !loss.is_finite() {
            return Err(self.diverged(loss, step, epoch, "the loss is not finite"));
        }
        let growth = per_row(self.kind, loss, rows) / self.reference;
        if self.reference > 0.0 && growth > DIVERGENCE_GROWTH {
            return Err(self.diverged(
                loss,
                step,
                epoch,
                &format!(
                    "the loss per row grew {growth:.1e}-fold from {:.6e} at the start",
                    self.reference
                ),
            ));
        }
        Ok(())
    }

    /// Checks an epoch's loss (the sum over its batches, or their row-weighted mean).
    fn check_epoch(&self, loss: f64, n: usize, step: usize, epoch: usize) -> Result<()> {
        self.check(loss, n, step, epoch)
    }

    fn diverged(&self, loss: f64, step: usize, epoch: usize, what: &str) -> Error {
        Error::Diverged {
            step,
            epoch,
            loss,
            hint: format!(
                "{what}. The updates grew without bound: lower the learning \
                 rate (often by 10x), or standardise the features (zero mean, unit variance) so \
                 that one rate suits every coefficient; with the sum-of-squares loss, the usable \
                 rate also shrinks with the number of rows."
            ),
        }
    }
}

/// A loss per row: the sum-of-squares loss divided by the rows, the mean loss as it is.
fn per_row(kind: Loss, loss: f64, rows: usize) -> f64 {
    match kind {
        Loss::SumSquared => loss / rows.max(1) as f64,
        Loss::MeanSquared => loss,
    }
}
