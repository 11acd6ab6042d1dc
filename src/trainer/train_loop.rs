//! The training loop that every `fit` runs ([`Trainer::train`]): epochs of optimizer steps over
//! the batches of a [`TrainSource`], the loss read back only where a log point, the stopping
//! rule, the schedule or the divergence rule needs it, the held-out set's best epoch, and the
//! closing check.

use core::ops::ControlFlow;

use burn::module::Module;
use burn::tensor::Tensor;

use super::divergence::{DIVERGENCE_CHECK_EVERY, Divergence};
use super::source::{Batch, TrainSource};
use super::{Fitted, LogEntry, StopReason, Trainer, TrainerConfig, Validation};
use crate::Result;
use crate::data::{Dataset, Names};
use crate::device::read_scalar;
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::optim::Sgd;
use crate::schedule::{Running, Schedule};
use crate::stopping::StoppingRule;

impl Trainer {
    /// The training loop over the batches of `source`, validated on `held_out` if given.
    pub(super) fn train(
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
        let mut run = Run::start(cfg, &model, source)?;
        let mut stop = StopReason::EpochsDone;
        for epoch in 0..cfg.epochs {
            let (trained, flow) = run.epoch(model, epoch, source, held_out, &mut on_log)?;
            model = trained;
            if let ControlFlow::Break(reason) = flow {
                stop = reason;
                break;
            }
        }
        run.closing_check(&model, source)?;
        Ok(run.finish(model, stop, held_out, feature_names, target_names))
    }
}

/// The state of one run of the training loop between its steps: the optimizer, the schedule,
/// the guards, and what the run has recorded. The model being trained is not kept here: it
/// passes by value from update to update (each consumes it).
struct Run<'a> {
    cfg: &'a TrainerConfig,
    optim: Sgd,
    schedule: Option<Running>,
    /// Whether the schedule is ReduceLROnPlateau (stepped with the epoch's loss).
    plateau: bool,
    stopping: Option<StoppingRule>,
    /// The divergence rule; `None` when no epoch is run.
    guard: Option<Divergence>,
    full_batch: bool,
    /// Rows in all.
    n: usize,
    history: Vec<LogEntry>,
    /// Optimizer steps taken.
    step: usize,
    /// Epochs begun.
    epochs_run: usize,
    /// The last batch trained on and its epoch, for the closing check.
    last_batch: Option<(Batch, usize)>,
    /// The held-out loss of the best epoch so far, and that epoch's model.
    best: Option<(f64, LinearModel, usize)>,
}

impl<'a> Run<'a> {
    /// The run before its first epoch: the optimizer at the schedule's first lr, the stopping
    /// rule, and the divergence rule for `model` when there are epochs to run (for a file, the
    /// pass that counts its rows).
    fn start(
        cfg: &'a TrainerConfig,
        model: &LinearModel,
        source: &mut dyn TrainSource,
    ) -> Result<Self> {
        let mut optim: Sgd = cfg.optimizer.init()?;
        let schedule = cfg.schedule.as_ref().map(Schedule::init).transpose()?;
        if let Some(s) = &schedule {
            optim.set_lr(s.lr())?;
        }
        let plateau = matches!(cfg.schedule, Some(Schedule::ReduceOnPlateau(_)));
        let stopping = cfg
            .tol
            .map(|tol| StoppingRule::new(tol, cfg.n_iter_no_change));
        let full_batch = source.is_full_batch();
        let guard = if cfg.epochs > 0 {
            Some(source.divergence(cfg.loss, model)?)
        } else {
            None
        };
        // After `divergence`: a file's rows are counted by its first pass.
        let n = source.n_samples();
        Ok(Self {
            cfg,
            optim,
            schedule,
            plateau,
            stopping,
            guard,
            full_batch,
            n,
            history: Vec::new(),
            step: 0,
            epochs_run: 0,
            last_batch: None,
            best: None,
        })
    }

    /// Epoch `epoch`: a step per batch of `source`, then [`end_epoch`](Self::end_epoch). Gives
    /// the model back, with `Break` when training stops: [`StopReason::Stopped`] when `on_log`
    /// breaks (before that step's update), [`StopReason::Converged`] from the stopping rule.
    fn epoch(
        &mut self,
        mut model: LinearModel,
        epoch: usize,
        source: &mut dyn TrainSource,
        held_out: Option<&Dataset>,
        on_log: &mut impl FnMut(&LogEntry) -> ControlFlow<()>,
    ) -> Result<(LinearModel, ControlFlow<StopReason>)> {
        let cfg = self.cfg;
        self.epochs_run = epoch + 1;
        // The epoch's loss, summed on the device, only when the stopping rule needs it.
        let mut epoch_loss = EpochLoss::default();
        source.start_epoch()?;
        while let Some(batch) = source.next_batch()? {
            let rows = batch.len;
            self.optim.zero_grad();
            // The fused loss with its gradients: one pass over the batch, no autodiff graph
            // (what `model.loss` + `optim.backward` compute, without the graph's upkeep).
            let (loss, weight_grad, bias_grad) = source.gradients(&model, &batch, cfg.loss)?;
            self.last_batch = Some((batch, epoch));

            if self.read_loss(&loss, rows, epoch, on_log)?.is_break() {
                return Ok((model, ControlFlow::Break(StopReason::Stopped)));
            }
            if self.stopping.is_some() || self.plateau {
                epoch_loss.add(&loss, cfg.loss, rows, self.n);
            }

            self.optim.accumulate(Some(weight_grad), bias_grad);
            model = self.optim.update_model(model, false)?;
            self.step += 1;
        }
        let flow = self.end_epoch(&model, epoch, epoch_loss, held_out)?;
        Ok((model, flow))
    }

    /// This step's loss `loss` (of `rows` rows, in epoch `epoch`) at a read point
    /// ([`LossRead`]): read back, checked by the divergence rule (whose reference it sets at
    /// step 0 of full-batch training), and at log points recorded and given to `on_log`,
    /// whose `Break` is returned.
    fn read_loss(
        &mut self,
        loss: &Tensor<1>,
        rows: usize,
        epoch: usize,
        on_log: &mut impl FnMut(&LogEntry) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let step = self.step;
        let read = LossRead::at(self.cfg, step);
        if read == LossRead::None {
            return Ok(ControlFlow::Continue(()));
        }
        let value = read_scalar(loss.clone())?;
        if let Some(guard) = &mut self.guard {
            if step == 0 && self.full_batch {
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
            self.history.push(entry);
            if on_log(&entry).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The end of epoch `epoch`: its loss (`epoch_loss`, when summed) read back and checked,
    /// the held-out loss, then the schedule's step and the stopping rule with the loss they
    /// watch (the held-out one when there is a held-out set). `Break` when the rule stops
    /// training.
    fn end_epoch(
        &mut self,
        model: &LinearModel,
        epoch: usize,
        epoch_loss: EpochLoss,
        held_out: Option<&Dataset>,
    ) -> Result<ControlFlow<StopReason>> {
        let epoch_value = match epoch_loss.sum {
            Some(sum) => {
                let value = read_scalar(sum)?;
                if let Some(guard) = &self.guard {
                    guard.check_epoch(value, self.n, self.step.saturating_sub(1), epoch)?;
                }
                Some(value)
            }
            None => None,
        };
        let watched = match held_out {
            Some(valid) => Some(self.validate(model, valid, epoch)?),
            None => epoch_value,
        };
        if let Some(s) = self.schedule.as_mut() {
            s.step(watched.unwrap_or(f64::NAN));
            self.optim.set_lr(s.lr())?;
        }
        if let (Some(rule), Some(value)) = (self.stopping.as_mut(), watched) {
            let converged = rule.update(value);
            log::debug!(
                "linfit: epoch {epoch} loss {value:e}, {} epochs without improvement",
                rule.no_improvement
            );
            if converged {
                return Ok(ControlFlow::Break(StopReason::Converged));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The held-out loss of `model` after epoch `epoch`; the model is kept when its loss is
    /// the best so far.
    fn validate(&mut self, model: &LinearModel, valid: &Dataset, epoch: usize) -> Result<f64> {
        let value = held_out_loss(model, valid, self.cfg.loss)?;
        log::debug!("linfit: epoch {epoch} held-out loss {value:e}");
        // A NaN loss is never the best (and never displaces a number).
        if self
            .best
            .as_ref()
            .is_none_or(|(b, _, _)| value < *b || (b.is_nan() && !value.is_nan()))
        {
            self.best = Some((value, model.clone(), epoch));
        }
        Ok(value)
    }

    /// The closing check: the trained parameters, and their loss on the last batch (after
    /// the last update, which no read point saw).
    fn closing_check(&mut self, model: &LinearModel, source: &mut dyn TrainSource) -> Result<()> {
        let step = self.step;
        if let (Some(guard), Some((batch, epoch))) = (&self.guard, self.last_batch.take()) {
            let loss = source.batch_loss(model, &batch, self.cfg.loss)?;
            guard.check(loss, batch.len, step, epoch)?;
            let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
            let bias = model.try_bias()?.unwrap_or_default();
            if !finite(&model.try_weights()?) || !finite(&bias) {
                return Err(guard.diverged(f64::NAN, step, epoch, "the parameters are not finite"));
            }
        }
        Ok(())
    }

    /// The result: the best epoch's model when there is a held-out set, else `model`, tracked
    /// again and with the data's names.
    fn finish(
        self,
        model: LinearModel,
        stop: StopReason,
        held_out: Option<&Dataset>,
        feature_names: Names,
        target_names: Names,
    ) -> Fitted {
        let (model, validation) = match self.best {
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
        let (step, epochs_run) = (self.step, self.epochs_run);
        log::info!("linfit: training ended after {step} steps, {epochs_run} epochs: {stop:?}");

        Fitted {
            model,
            history: self.history,
            stop,
            steps: step,
            epochs: epochs_run,
            validation,
        }
    }
}

/// The loss of `model` on the held-out data, read back (weighted when the data are).
fn held_out_loss(model: &LinearModel, data: &Dataset, kind: Loss) -> Result<f64> {
    let model = model.valid();
    read_scalar(match data.device_weights() {
        None => model.loss(data.features(), data.targets(), kind),
        Some(w) => w.loss(kind, model.forward(data.features()), data.targets()),
    })
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
