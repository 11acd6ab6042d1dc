//! [`Trainer::fit_sharded`]: one optimizer step from the gradients of every shard, each
//! computed where its rows live, through the training loop of [`Trainer::fit`] (a
//! [`TrainSource`] whose batches are jobs for the shards).

use std::ops::ControlFlow;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use super::{Batch, Divergence, Fitted, Gradients, TrainSource, Trainer};
use crate::data::{Dataset, Names, ShardWorkers, ShardedDataset, index_tensor};
use crate::device::read_f64;
use crate::float::scale2;
use crate::loss::{Loss, LossScale};
use crate::model::LinearModel;
use crate::{Error, Result};

/// One job for a shard: the parameters, the shard's rows (all when `None`), and whether the
/// gradients are wanted or only the loss.
struct Job {
    weights: Arc<Vec<f64>>,
    bias: Option<Arc<Vec<f64>>>,
    rows: Option<Vec<i64>>,
    gradients: bool,
}

/// A shard's answer: its sum of (weighted) squared errors and, when asked, their gradients.
struct Partial {
    sum: f64,
    weight_grad: Vec<f64>,
    bias_grad: Vec<f64>,
}

/// The sum of squared errors of `job`'s rows of `shard` under its parameters, and the sum's
/// gradients when asked, read back (`m k + k + 1` numbers).
fn shard_work(shard: &Dataset, job: Job) -> Result<Partial> {
    let device = shard.device();
    let m = shard.n_features();
    let model = LinearModel::from_values(
        m,
        &job.weights,
        job.bias.as_deref().map(|b| &b[..]),
        &device,
    )?;
    if job.rows.as_ref().is_some_and(Vec::is_empty) {
        // None of this shard's rows in the step.
        let (m, k) = (shard.n_features(), shard.n_targets());
        let gradients = if job.gradients { m * k } else { 0 };
        let bias = if job.gradients && job.bias.is_some() {
            k
        } else {
            0
        };
        return Ok(Partial {
            sum: 0.0,
            weight_grad: vec![0.0; gradients],
            bias_grad: vec![0.0; bias],
        });
    }
    let rows = job.rows.as_deref().map(|r| index_tensor(r, &device));
    let (x, y) = (shard.features(), shard.targets());
    // In the shard's own normalisation (`w 2^-e`), which the client undoes.
    let weights = shard.device_weights().map(|w| w.tensor);
    if !job.gradients {
        let (x, y, w) = match &rows {
            None => (x, y, weights),
            Some(r) => (
                x.select(0, r.clone()),
                y.select(0, r.clone()),
                weights.map(|w| w.select(0, r.clone())),
            ),
        };
        let predictions = model.valid().forward(x);
        let sum = match w {
            None => Loss::SumSquared.forward(predictions, y),
            Some(w) => Loss::SumSquared.forward_weighted(predictions, y, w),
        };
        return Ok(Partial {
            sum: crate::device::read_scalar(sum)?,
            weight_grad: Vec::new(),
            bias_grad: Vec::new(),
        });
    }
    let (sum, weight_grad, bias_grad) = match weights {
        None => model.loss_and_gradients(x, y, rows, Loss::SumSquared),
        Some(w) => model.weighted_loss_and_gradients(x, y, w, rows, |_| LossScale::ONE),
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

/// Whether every parameter is finite.
fn finite((weights, bias): &(Vec<f64>, Option<Vec<f64>>)) -> bool {
    weights
        .iter()
        .chain(bias.iter().flatten())
        .all(|v| v.is_finite())
}

/// The batches of sharded training: each step a job per shard (its part of the step's rows),
/// the answers summed here.
struct ShardedSource<'a> {
    data: &'a ShardedDataset,
    workers: ShardWorkers<Job, Partial>,
    steps_per_epoch: usize,
    shuffle: bool,
    /// Per shard: its generator and its rows' order this epoch.
    orders: Vec<(ChaCha12Rng, Vec<i64>)>,
    /// The next step of the epoch.
    part: usize,
    /// The rows of the last batch given, per shard (all when `None`).
    current: Vec<Option<Vec<i64>>>,
    /// Steps run, for the messages of a shard that fails.
    jobs_sent: usize,
}

impl<'a> ShardedSource<'a> {
    fn new(data: &'a ShardedDataset, trainer: &Trainer) -> Result<Self> {
        let cfg = &trainer.config;
        let n = data.n_samples();
        let batch = cfg.batch_size.unwrap_or(n).min(n);
        let orders = data
            .shards()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (
                    ChaCha12Rng::seed_from_u64(seed),
                    (0..s.n_samples() as i64).collect(),
                )
            })
            .collect();
        Ok(Self {
            data,
            workers: ShardWorkers::start(data, shard_work)?,
            steps_per_epoch: n.div_ceil(batch),
            shuffle: cfg.shuffle,
            orders,
            part: 0,
            current: vec![None; data.shards().len()],
            jobs_sent: 0,
        })
    }

    /// Every shard's answer for `model` on its rows `rows` (per shard; all when `None`),
    /// summed: the sum of squared errors and, when asked, its gradients.
    fn ask(
        &mut self,
        (weights, bias): (Vec<f64>, Option<Vec<f64>>),
        rows: &[Option<Vec<i64>>],
        gradients: bool,
    ) -> Result<Partial> {
        let (weights, bias) = (Arc::new(weights), bias.map(Arc::new));
        for (i, rows) in rows.iter().enumerate() {
            let job = Job {
                weights: weights.clone(),
                bias: bias.clone(),
                rows: rows.clone(),
                gradients,
            };
            self.workers.send(i, job);
        }
        let what = format!("job {} of the training", self.jobs_sent);
        self.jobs_sent += 1;
        let (m, k) = (self.data.n_features(), self.data.n_targets());
        let mut total = Partial {
            sum: 0.0,
            weight_grad: vec![0.0; if gradients { m * k } else { 0 }],
            bias_grad: vec![0.0; if gradients && bias.is_some() { k } else { 0 }],
        };
        // Each shard answers in its own weights' normalisation, `2^-e_s`; the sum is in the
        // whole data's, `2^-e` (exact powers of two).
        let (exponent, _) = self.data.weight_normalisation();
        for (partial, shard) in self
            .workers
            .answers(&what)?
            .into_iter()
            .zip(self.data.shards())
        {
            let shard_exponent = shard.device_weights().map_or(0, |w| w.exponent);
            let to_whole = |v: f64| scale2(v, shard_exponent - exponent);
            total.sum += to_whole(partial.sum);
            for (a, b) in total.weight_grad.iter_mut().zip(&partial.weight_grad) {
                *a += to_whole(*b);
            }
            for (a, b) in total.bias_grad.iter_mut().zip(&partial.bias_grad) {
                *a += to_whole(*b);
            }
        }
        Ok(total)
    }

    /// The factor from a sum of squared errors over `rows` rows (in the whole data's weight
    /// normalisation) to the loss: the mean over `k rows mean(w)`, as [`Trainer::fit`] divides a
    /// batch's.
    fn scale(&self, kind: Loss, rows: usize) -> LossScale {
        let (exponent, mean) = self.data.weight_normalisation();
        match kind {
            Loss::SumSquared => LossScale::pow2(exponent),
            Loss::MeanSquared => {
                LossScale::factor(1.0 / (self.data.n_targets() as f64 * rows as f64 * mean))
            }
        }
    }

    fn parameters(model: &LinearModel) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        Ok((model.try_weights()?, model.try_bias()?))
    }
}

impl TrainSource for ShardedSource<'_> {
    fn n_samples(&self) -> usize {
        self.data.n_samples()
    }

    fn names(&self) -> (Names, Names) {
        let (features, targets) = self.data.names();
        (features.clone(), targets.clone())
    }

    fn is_full_batch(&self) -> bool {
        self.steps_per_epoch == 1
    }

    /// The whole data's losses under the initial and the zero model: two rounds of jobs.
    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence> {
        let n = self.data.n_samples();
        let all = vec![None; self.data.shards().len()];
        let initial = self.ask(Self::parameters(model)?, &all, false)?.sum;
        let zero = vec![0.0; self.data.n_features() * self.data.n_targets()];
        let zero = self.ask((zero, None), &all, false)?.sum;
        let scale = self.scale(kind, n);
        Divergence::from_losses(kind, scale.value(initial), scale.value(zero), n)
    }

    fn start_epoch(&mut self) -> Result<()> {
        self.part = 0;
        if self.shuffle && self.steps_per_epoch > 1 {
            for (rng, order) in &mut self.orders {
                order.shuffle(rng);
            }
        }
        Ok(())
    }

    /// The step's rows: each shard's `part`-th of `steps_per_epoch` contiguous parts of its
    /// order (all its rows for full batch).
    /// A step whose parts are all empty (more shards than rows per step) is skipped.
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        while self.part < self.steps_per_epoch {
            let (part, steps) = (self.part, self.steps_per_epoch);
            self.part += 1;
            let rows: Vec<Option<Vec<i64>>> = self
                .orders
                .iter()
                .map(|(_, order)| {
                    (steps > 1).then(|| {
                        let size = order.len();
                        order[part * size / steps..(part + 1) * size / steps].to_vec()
                    })
                })
                .collect();
            let len = rows
                .iter()
                .zip(self.data.shards())
                .map(|(rows, shard)| rows.as_ref().map_or(shard.n_samples(), Vec::len))
                .sum();
            if len > 0 {
                self.current = rows;
                return Ok(Some(Batch { tensors: None, len }));
            }
        }
        Ok(None)
    }

    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients> {
        let rows = self.current.clone();
        let parameters = Self::parameters(model)?;
        let (m, k) = (self.data.n_features(), self.data.n_targets());
        let total = if finite(&parameters) {
            self.ask(parameters, &rows, true)?
        } else {
            // Diverged parameters (the shards refuse to build a model of them): NaN, which
            // the training loop reports as divergence at its next read, as `fit` does.
            Partial {
                sum: f64::NAN,
                weight_grad: vec![f64::NAN; m * k],
                bias_grad: vec![f64::NAN; k],
            }
        };
        let scale = self.scale(kind, batch.len);
        let device = model.device();
        let dtype = model.weight_param().val().dtype();
        let tensor = |values: Vec<f64>, shape: Vec<usize>| {
            TensorData::new(
                values.iter().map(|&g| scale.value(g)).collect::<Vec<f64>>(),
                shape,
            )
        };
        let loss = Tensor::<1>::from_data(tensor(vec![total.sum], vec![1]), (&device, dtype));
        let gw = Tensor::<2>::from_data(tensor(total.weight_grad, vec![m, k]), (&device, dtype));
        let gb = model
            .has_bias()
            .then(|| Tensor::<1>::from_data(tensor(total.bias_grad, vec![k]), (&device, dtype)));
        Ok((loss, gw, gb))
    }

    /// The last batch's loss: the same rows, one more round of jobs.
    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64> {
        let rows = self.current.clone();
        let parameters = Self::parameters(model)?;
        if !finite(&parameters) {
            return Ok(f64::NAN);
        }
        let total = self.ask(parameters, &rows, false)?;
        Ok(self.scale(kind, batch.len).value(total.sum))
    }
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
    ///   row once per epoch. Reproducible, but not the batches of `fit`. With fewer rows per
    ///   step than shards some steps would have no row in any shard: those are skipped.
    ///
    /// The optimizer, loss, schedule, log, stopping rule and divergence rule are those of
    /// `fit` (the same training loop: each step's loss is already here, so reading it costs
    /// nothing; the divergence rule's reference takes two rounds of loss-only jobs before the
    /// first step, and the closing check one after the last). Not supported here:
    /// `validation_fraction`.
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
        let mut source = ShardedSource::new(data, self)?;
        self.train(model, &mut source, None, |_| ControlFlow::Continue(()))
    }
}
