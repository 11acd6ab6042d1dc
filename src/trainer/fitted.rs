//! What training returns: [`Fitted`], with its loss history ([`LogEntry`]), why training ended
//! ([`StopReason`]) and what the held-out set said ([`Validation`]).

use crate::model::LinearModel;

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

impl LogEntry {
    /// An entry for a loss recorded by hand, as the explicit training loop's users do, so that
    /// their history can be plotted like [`Fitted::history`](Fitted) (`plot::loss_history`).
    ///
    /// # Example
    /// ```
    /// use linfit::LogEntry;
    /// let losses = [4.0, 2.5, 1.75];
    /// let history: Vec<LogEntry> = losses
    ///     .iter()
    ///     .enumerate()
    ///     .map(|(step, &loss)| LogEntry::new(step, 0, loss))
    ///     .collect();
    /// assert_eq!(history[2].loss, 1.75);
    /// ```
    pub fn new(step: usize, epoch: usize, loss: f64) -> Self {
        LogEntry { step, epoch, loss }
    }
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
