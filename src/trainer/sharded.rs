//! [`Trainer::fit_sharded`]: one optimizer step from the gradients of every shard, each
//! computed where its rows live.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::{Fitted, LogEntry, StopReason, StoppingRule, Trainer};
use crate::data::{Dataset, ShardWorkers, ShardedDataset, index_tensor};
use crate::device::read_f64;
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::optim::Sgd;
use crate::schedule::Schedule;
use crate::{Error, Result};

/// One step's work for a shard: the parameters, and the shard's rows of this step (all when
/// `None`).
struct Job {
    weights: Arc<Vec<f64>>,
    bias: Option<Arc<Vec<f64>>>,
    rows: Option<Vec<i64>>,
}

/// A shard's answer: its sum of (weighted) squared errors and their gradients.
struct Partial {
    sum: f64,
    weight_grad: Vec<f64>,
    bias_grad: Vec<f64>,
}

/// The sum of squared errors of `job`'s rows of `shard` under its parameters, and the sum's
/// gradients, read back (`m k + k + 1` numbers).
fn shard_gradients(shard: &Dataset, job: Job) -> Result<Partial> {
    let device = shard.device();
    let m = shard.n_features();
    let model = LinearModel::from_values(
        m,
        &job.weights,
        job.bias.as_deref().map(|b| &b[..]),
        &device,
    )?;
    let rows = job.rows.as_deref().map(|r| index_tensor(r, &device));
    let (sum, weight_grad, bias_grad) = match shard.weights_and_mean() {
        None => model.loss_and_gradients(shard.features(), shard.targets(), rows, Loss::SumSquared),
        Some(w) => model.weighted_loss_and_gradients(
            shard.features(),
            shard.targets(),
            w,
            rows,
            Loss::SumSquared,
        ),
    };
    Ok(Partial {
        sum: read_f64(sum)?.first().copied().unwrap_or(f64::NAN),
        weight_grad: read_f64(weight_grad)?,
        bias_grad: match bias_grad {
            Some(g) => read_f64(g)?,
            None => Vec::new(),
        },
    })
}

impl Trainer {
    /// Trains `model` on the shards of `data`, each step from the gradients of every shard,
    /// computed on the shard's device (a `linfit-worker`'s, or local), summed here, and one
    /// update of `model` on its own device; the data never move.
    ///
    /// Per step each shard receives the parameters (`m k + k` numbers) and sends back its sum
    /// of squared errors and their gradients (`m k + k + 1` numbers), and, for shuffled
    /// mini-batches, receives the indices of its rows of the step.
    ///
    /// - Full batch (`batch_size: None`): the gradient of the whole data; the trajectory equals
    ///   [`fit`](Self::fit)'s on the data in one piece, to rounding (the sums add up in another
    ///   order: 1e-12 is tested).
    /// - Mini-batches of `b` rows: an epoch is `ceil(n / b)` steps; each shard's rows are cut
    ///   into that many contiguous parts (as even as possible), in order or, with `shuffle`,
    ///   after a permutation drawn each epoch by the shard's own generator (seeded by `seed`
    ///   and the shard's index), and a step combines the shards' parts: about `b` rows, every
    ///   row once per epoch. Reproducible, but not the batches of `fit`.
    ///
    /// The optimizer, loss, schedule, log and stopping rule are those of `fit`; divergence is
    /// a non-finite loss or parameters. Not supported here: `validation_fraction`.
    ///
    /// # Errors
    /// [`Error::Worker`] naming the shard when its device fails, its worker dies or is
    /// unreachable, or it does not answer a step within the data's
    /// [`timeout`](ShardedDataset::timeout); [`Error::ShapeMismatch`] or
    /// [`Error::NameMismatch`] when the model does not fit the data; [`Error::Diverged`];
    /// [`Error::InvalidHyperparameter`] with `validation_fraction`.
    pub fn fit_sharded(&self, model: LinearModel, data: &ShardedDataset) -> Result<Fitted> {
        let cfg = &self.config;
        if let Some(fraction) = cfg.validation_fraction {
            return Err(Error::InvalidHyperparameter {
                name: "validation_fraction",
                value: fraction.to_string(),
                rule: "fit_sharded does not hold out rows: split the data beforehand",
            });
        }
        // The model lives here, the shards where they were loaded: shapes and names only.
        model.check_shape(
            "sharded training",
            data.n_features(),
            data.n_targets(),
            None,
        )?;
        let (features, targets) = data.names();
        model.check_names("sharded training", features, targets)?;
        if crate::device::precision(&model.device()) != Some(data.shards()[0].precision()) {
            return Err(Error::DeviceMismatch {
                context: "sharded training: model and data float types".into(),
                left: format!("{:?}", model.precision()),
                right: format!("{:?}", data.shards()[0].precision()),
            });
        }
        let (m, k) = (data.n_features(), data.n_targets());
        let n = data.n_samples();
        let device = model.device();
        let workers = ShardWorkers::start(data, shard_gradients)?;

        let mut model = model.untracked();
        let mut optim: Sgd = cfg.optimizer.init()?;
        let mut schedule = cfg.schedule.as_ref().map(Schedule::init).transpose()?;
        if let Some(s) = &schedule {
            optim.set_lr(s.lr())?;
        }
        let mut stopping = cfg
            .tol
            .map(|tol| StoppingRule::new(tol, cfg.n_iter_no_change));
        let batch = cfg.batch_size.unwrap_or(n).min(n);
        let steps_per_epoch = n.div_ceil(batch);
        let mut orders: Vec<(StdRng, Vec<i64>)> = data
            .shards()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (
                    StdRng::seed_from_u64(seed),
                    (0..s.n_samples() as i64).collect(),
                )
            })
            .collect();
        let (mut history, mut step, mut epochs_run) = (Vec::new(), 0usize, 0usize);
        let mut stop = StopReason::EpochsDone;

        'epochs: for epoch in 0..cfg.epochs {
            epochs_run = epoch + 1;
            if cfg.shuffle && steps_per_epoch > 1 {
                for (rng, order) in &mut orders {
                    order.shuffle(rng);
                }
            }
            let mut epoch_sum = 0.0;
            for part in 0..steps_per_epoch {
                let weights = Arc::new(model.try_weights()?);
                let bias = model.try_bias()?.map(Arc::new);
                let mut rows_in_step = 0;
                for (i, ((_, order), shard)) in orders.iter().zip(data.shards()).enumerate() {
                    let rows = (steps_per_epoch > 1).then(|| {
                        let sizes = shard.n_samples();
                        let (lo, hi) = (
                            part * sizes / steps_per_epoch,
                            (part + 1) * sizes / steps_per_epoch,
                        );
                        order[lo..hi].to_vec()
                    });
                    rows_in_step += rows.as_ref().map_or(shard.n_samples(), Vec::len);
                    let job = Job {
                        weights: weights.clone(),
                        bias: bias.clone(),
                        rows,
                    };
                    workers.send(i, job);
                }
                let (mut sum, mut weight_grad, mut bias_grad) =
                    (0.0, vec![0.0; m * k], vec![0.0; k]);
                for partial in workers.answers(&format!("step {step}"))? {
                    sum += partial.sum;
                    for (a, b) in weight_grad.iter_mut().zip(&partial.weight_grad) {
                        *a += b;
                    }
                    for (a, b) in bias_grad.iter_mut().zip(&partial.bias_grad) {
                        *a += b;
                    }
                }
                // The mean over a step's rows divides by k b mean(w), as Trainer::fit does.
                let scale = match cfg.loss {
                    Loss::SumSquared => 1.0,
                    Loss::MeanSquared => {
                        1.0 / (k as f64 * rows_in_step as f64 * data.mean_weight())
                    }
                };
                let loss = sum * scale;
                if !loss.is_finite() {
                    return Err(Error::Diverged {
                        step,
                        epoch,
                        loss,
                        hint: "lower the learning rate, or standardise the data".into(),
                    });
                }
                if cfg.log_every.is_some_and(|every| step % every == 0) {
                    let entry = LogEntry { step, epoch, loss };
                    log::debug!("linfit: sharded step {step} epoch {epoch} loss {loss:e}");
                    history.push(entry);
                }
                epoch_sum += sum;
                let gw = Tensor::<2>::from_data(
                    TensorData::new(
                        weight_grad.iter().map(|g| g * scale).collect::<Vec<f64>>(),
                        [m, k],
                    ),
                    (&device, model.weight_param().val().dtype()),
                );
                let gb = model.has_bias().then(|| {
                    Tensor::<1>::from_data(
                        TensorData::new(
                            bias_grad.iter().map(|g| g * scale).collect::<Vec<f64>>(),
                            [k],
                        ),
                        (&device, model.weight_param().val().dtype()),
                    )
                });
                optim.zero_grad();
                optim.accumulate(Some(gw), gb);
                model = optim.update_model(model, false)?;
                step += 1;
            }
            let epoch_loss = match cfg.loss {
                Loss::SumSquared => epoch_sum,
                Loss::MeanSquared => epoch_sum / (k as f64 * n as f64 * data.mean_weight()),
            };
            if let Some(s) = schedule.as_mut() {
                s.step(epoch_loss);
                optim.set_lr(s.lr())?;
            }
            if let Some(rule) = stopping.as_mut()
                && rule.update(epoch_loss)
            {
                stop = StopReason::Converged;
                break 'epochs;
            }
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !finite(&model.try_weights()?) || !finite(&model.try_bias()?.unwrap_or_default()) {
            return Err(Error::Diverged {
                step,
                epoch: epochs_run.saturating_sub(1),
                loss: f64::NAN,
                hint: "the parameters are not finite: lower the learning rate".into(),
            });
        }
        let (features, targets) = data.names();
        let model = model
            .tracked()
            .with_recorded_names(features.clone(), targets.clone());
        Ok(Fitted {
            model,
            history,
            stop,
            steps: step,
            epochs: epochs_run,
            validation: None,
        })
    }
}
