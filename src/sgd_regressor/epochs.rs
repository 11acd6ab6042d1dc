//! sklearn's `_plain_sgd` for one target: the epochs over the rows, the per-sample update and
//! the stopping rule after each epoch.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use super::config::SgdRegressorConfig;
use super::learning_rate::{LearningRate, Schedule};
use super::penalty::Penalty;
use super::regressor::TargetState;
use super::weight_vector::{Norms, WeightVector, dot};
use crate::stopping::StoppingRule;
use crate::{Error, Result};

const MAX_DLOSS: f64 = 1e12;

/// One `_plain_sgd` call for one target.
pub(super) struct Epochs<'a> {
    pub(super) config: &'a SgdRegressorConfig,
    /// Row-major `[n, n_features]`.
    pub(super) x: &'a [f64],
    pub(super) y: &'a [f64],
    pub(super) sample_weight: &'a [f64],
    pub(super) n_features: usize,
    pub(super) validation: Option<&'a [bool]>,
    pub(super) max_iter: usize,
}

/// What the settings make of one call, fixed over its samples.
struct Rules {
    /// The penalty's share of L1: 0 for L2, 1 for L1, `l1_ratio` for elastic net.
    l1_ratio: f64,
    penalised: bool,
    has_l1: bool,
    /// L2 or elastic net: the weight decay of each sample.
    decays: bool,
    averaging: bool,
    average: f64,
    /// The rows the objective is averaged over (all but the held-out ones).
    train_count: f64,
    schedule: Schedule,
    /// Whether `eta` follows `t` (optimal, invscaling).
    varying: bool,
    /// `tol`, minus infinity for `None`.
    tol: f64,
    /// Whether the epoch's objective is summed (for the tol rule without a validation set).
    watch_objective: bool,
    /// The norms the weight vector keeps for that objective.
    norms: Norms,
}

/// The loop's state from sample to sample (`_plain_sgd`'s locals).
struct Sgd<'w> {
    w: WeightVector<'w>,
    t: f64,
    intercept: f64,
    average_intercept: f64,
    /// Each weight's applied share of the L1 step (empty without L1).
    q: Vec<f64>,
    /// The total L1 step so far.
    u: f64,
    eta: f64,
    /// The next sample's eta, computed one sample ahead.
    eta_next: f64,
}

impl Epochs<'_> {
    /// Up to `max_iter` epochs from `state`; on success `state` holds the new weights,
    /// intercepts and counters. On an overflow the error ([`Error::Diverged`]), and `state` is
    /// left part way (the caller discards it).
    pub(super) fn run(
        &self,
        state: &mut TargetState,
        order: &mut [usize],
        rng: &mut ChaCha12Rng,
    ) -> Result<()> {
        let c = self.config;
        let m = self.n_features;
        let n = self.y.len();
        let rules = self.rules();
        let mut sgd = Sgd {
            t: state.t,
            intercept: state.intercept,
            average_intercept: state.average_intercept,
            q: vec![0.0; if rules.has_l1 { m } else { 0 }],
            u: 0.0,
            eta: c.eta0,
            eta_next: if rules.varying {
                rules.schedule.eta(state.t)
            } else {
                c.eta0
            },
            w: WeightVector::new(
                &mut state.weights,
                rules.averaging.then_some(&mut state.average_weights[..]),
                rules.norms,
            ),
        };
        // x.x per row, for the L2 norm's update.
        let row_norms: Vec<f64> = if sgd.w.track_norms == Norms::L2 {
            self.x.chunks_exact(m).map(|r| dot(r, r)).collect()
        } else {
            Vec::new()
        };
        let mut stopping = StoppingRule::new(rules.tol, self.config.n_iter_no_change);
        let mut epoch = 0;
        let mut overflow = false;
        while epoch < self.max_iter {
            let objective_sum = self.epoch(&mut sgd, &rules, &row_norms, order, rng);
            epoch += 1;
            if !sgd.intercept.is_finite() || sgd.w.v.iter().any(|v| !v.is_finite()) {
                overflow = true;
                break;
            }
            if self.stops(&mut sgd, &mut stopping, &rules, objective_sum) {
                break;
            }
        }
        sgd.w.reset_wscale();
        if overflow {
            return Err(Error::Diverged {
                step: (sgd.t - 1.0) as usize,
                epoch,
                loss: f64::NAN,
                hint: "the weights overflowed (sklearn: \"Floating-point under-/overflow\"): \
                       standardise the data or lower eta0"
                    .into(),
            });
        }
        state.intercept = sgd.intercept;
        state.average_intercept = sgd.average_intercept;
        state.n_iter = epoch;
        // sklearn counts every row, held out or not.
        state.t += (epoch * n) as f64;
        Ok(())
    }

    /// The settings as the loop reads them.
    fn rules(&self) -> Rules {
        let c = self.config;
        let l1_ratio = match c.penalty {
            Penalty::L2 => 0.0,
            Penalty::L1 => 1.0,
            _ => c.l1_ratio,
        };
        let train_count = match self.validation {
            Some(mask) => mask.iter().filter(|v| !**v).count(),
            None => self.y.len(),
        } as f64;
        let watch_objective = self.validation.is_none() && c.tol.is_some();
        let schedule = Schedule::new(c);
        Rules {
            l1_ratio,
            penalised: c.penalty != Penalty::None,
            has_l1: matches!(c.penalty, Penalty::L1 | Penalty::ElasticNet),
            decays: matches!(c.penalty, Penalty::L2 | Penalty::ElasticNet),
            averaging: c.average > 0,
            average: c.average as f64,
            train_count,
            varying: schedule.varies(),
            schedule,
            tol: c.tol.unwrap_or(f64::NEG_INFINITY),
            watch_objective,
            norms: match (watch_objective, c.penalty) {
                (false, _) | (true, Penalty::None) => Norms::None,
                (true, Penalty::L2) => Norms::L2,
                (true, _) => Norms::Both,
            },
        }
    }

    /// One epoch: the training rows in `order` (shuffled first with `shuffle`), one sample at a
    /// time. Returns the sum of the samples' objectives (0 unless the tol rule watches it).
    fn epoch(
        &self,
        sgd: &mut Sgd<'_>,
        rules: &Rules,
        row_norms: &[f64],
        order: &mut [usize],
        rng: &mut ChaCha12Rng,
    ) -> f64 {
        let mut objective_sum = 0.0;
        let w = &mut sgd.w;
        if w.track_norms == Norms::L2 {
            // The running L2 norm, recomputed (no drift from epoch to epoch).
            w.sq_norm = dot(w.v, w.v) * (w.wscale * w.wscale);
        }
        if self.config.shuffle {
            order.shuffle(rng);
        }
        for &i in order.iter() {
            if self.validation.is_some_and(|mask| mask[i]) {
                continue;
            }
            self.sample(sgd, rules, row_norms, i, &mut objective_sum);
        }
        objective_sum
    }

    /// Sample `i`'s update, steps 1 to 7 of the module's list; its objective (loss plus
    /// penalty) is added to `objective_sum` when the tol rule watches it.
    // The loop's body, called once per sample: kept inlined as when it was written in the loop.
    #[inline(always)]
    fn sample(
        &self,
        sgd: &mut Sgd<'_>,
        rules: &Rules,
        row_norms: &[f64],
        i: usize,
        objective_sum: &mut f64,
    ) {
        let c = self.config;
        let m = self.n_features;
        let l1_ratio = rules.l1_ratio;
        let x = &self.x[i * m..(i + 1) * m];
        let y = self.y[i];
        // This sample's eta was computed with the previous one, and the next one's now:
        // the schedule's pow and division overlap the work instead of preceding it.
        if rules.varying {
            sgd.eta = sgd.eta_next;
            sgd.eta_next = rules.schedule.eta(sgd.t + 1.0);
        }
        let eta = sgd.eta;
        let w = &mut sgd.w;
        let decay = (1.0 - (1.0 - l1_ratio) * eta * c.alpha).max(0.0);
        let scaled = w.wscale * decay;
        let inv_scaled = 1.0 / scaled;
        let vx = w.dot_v(x);
        let p = vx * w.wscale + sgd.intercept;
        // The objective feeds only the tol rule (sklearn also prints it when verbose).
        if rules.watch_objective {
            *objective_sum += c.loss.value(y, p, c.epsilon);
            if rules.penalised {
                let norm = w.sq_norm.sqrt();
                *objective_sum +=
                    c.alpha * ((1.0 - l1_ratio) * 0.5 * norm * norm + l1_ratio * w.l1_norm);
            }
        }
        let dloss = c
            .loss
            .gradient(y, p, c.epsilon)
            .clamp(-MAX_DLOSS, MAX_DLOSS);
        let update = -eta * dloss * self.sample_weight[i];
        if rules.decays {
            w.scale(decay, scaled, inv_scaled);
        }
        if update != 0.0 {
            let xx = row_norms.get(i).copied().unwrap_or(0.0);
            // w.x after the decay: v.x times the new scale (also when the decay folded
            // the scale into v: w itself is unchanged by that).
            let wx = vx * if rules.decays { scaled } else { w.wscale };
            w.add(x, update, wx, xx);
        }
        if c.fit_intercept && update != 0.0 {
            sgd.intercept += update;
        }
        if rules.averaging && rules.average <= sgd.t {
            let num_iter = sgd.t - rules.average + 1.0;
            w.add_average(x, update, num_iter);
            sgd.average_intercept += (sgd.intercept - sgd.average_intercept) / num_iter;
        }
        if rules.has_l1 {
            sgd.u += l1_ratio * eta * c.alpha;
            w.l1_penalty(&mut sgd.q, sgd.u);
        }
        sgd.t += 1.0;
    }

    /// The stopping rule after an epoch: the held-out score (with `early_stopping`) or the
    /// epoch's mean objective has not improved by `tol` on the best for `n_iter_no_change`
    /// epochs in a row. The adaptive schedule divides eta by 5 instead while `eta > 1e-6`.
    /// Returns whether to stop.
    fn stops(
        &self,
        sgd: &mut Sgd<'_>,
        stopping: &mut StoppingRule,
        rules: &Rules,
        objective_sum: f64,
    ) -> bool {
        let c = self.config;
        // A score to maximise is watched negated (the same comparisons, exactly).
        let watched = match self.validation {
            Some(mask) => -self.validation_r2(&sgd.w, sgd.intercept, mask),
            None => objective_sum / rules.train_count,
        };
        if stopping.update(watched) {
            if c.learning_rate == LearningRate::Adaptive && sgd.eta > 1e-6 {
                sgd.eta /= 5.0;
                stopping.reset();
            } else {
                return true;
            }
        }
        false
    }
}
