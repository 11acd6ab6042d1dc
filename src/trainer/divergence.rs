//! The divergence rule: when a loss read back, or the trained parameters, say that training
//! diverged ([`Error::Diverged`]), and how often the loss is read to notice it.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::data::Dataset;
use crate::device::read_scalar;
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::{Error, Result};

/// Without log points or a stopping rule, the loss is still read every this many steps (and
/// after the last one) so that divergence is caught; one scalar read back per this many steps.
pub(super) const DIVERGENCE_CHECK_EVERY: usize = 256;

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
pub(super) struct Divergence {
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
    pub(super) fn start(
        kind: Loss,
        model: &LinearModel,
        data: &Dataset,
        full_batch: bool,
    ) -> Result<Self> {
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
    pub(super) fn from_losses(
        kind: Loss,
        initial: f64,
        zero_model: f64,
        rows: usize,
    ) -> Result<Self> {
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
    pub(super) fn set_initial(&mut self, first: f64, rows: usize) -> Result<()> {
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
    pub(super) fn check(&self, loss: f64, rows: usize, step: usize, epoch: usize) -> Result<()> {
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
    pub(super) fn check_epoch(&self, loss: f64, n: usize, step: usize, epoch: usize) -> Result<()> {
        self.check(loss, n, step, epoch)
    }

    pub(super) fn diverged(&self, loss: f64, step: usize, epoch: usize, what: &str) -> Error {
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
