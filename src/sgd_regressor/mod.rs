//! scikit-learn's `SGDRegressor`, number for number (with `shuffle = false` and
//! `early_stopping = false`; see below for the others): per-sample stochastic gradient descent on
//! a regularised loss, with sklearn 1.9's losses, penalties, learning-rate schedules, stopping
//! rule and averaging.
//!
//! For each sample `(x, y)` with weight `s` (1 without sample weights), in order, sklearn's
//! `_plain_sgd` does, with `p = w.x + b`:
//! 1. `eta`: `eta0` (constant, adaptive), `eta0 / t^power_t` (invscaling) or
//!    `1 / (alpha (t0 + t - 1))` (optimal, `t0` from sklearn's heuristic);
//! 2. `g = clip(dloss(y, p), ±1e12)`, `update = -eta g s`;
//! 3. L2 and elastic net: `w *= max(0, 1 - (1 - l1_ratio) eta alpha)` (weight decay);
//! 4. `w += update x`, `b += update` (the intercept is not penalised);
//! 5. averaging, from sample `average` on: the running means of `w` and `b`;
//! 6. L1 and elastic net: the cumulative truncated gradient (Tsuruoka et al., 2009) with
//!    `u += l1_ratio eta alpha`;
//! 7. `t += 1`.
//!
//! After each epoch, `tol` stops the fit once the epoch's mean objective (loss plus penalty, as
//! sklearn sums it) has not improved by `tol` on the best for `n_iter_no_change` epochs in a row;
//! the adaptive schedule divides `eta` by 5 instead while `eta > 1e-6`.
//!
//! # Why a host loop
//! Each step depends on the previous one through `w`, one sample at a time: on Burn every sample
//! would be several kernel launches of `n_features` numbers, thousands of times slower than the
//! arithmetic. The loop runs on the host in f64, sklearn's own order of operations (including its
//! lazily scaled weight vector and averaged weights), reading the data from the device once.
//!
//! # Where linfit differs from scikit-learn
//! - `shuffle = true` uses linfit's seeded generator (`rand_chacha`'s `ChaCha12Rng` from `seed`, a new
//!   permutation each epoch), not sklearn's: the same settings give other numbers than sklearn's
//!   shuffled runs. With `shuffle = false` (as every test against sklearn), the numbers agree to
//!   round-off.
//! - `early_stopping` holds out a seeded `validation_fraction` of the rows drawn by linfit's
//!   generator (not sklearn's `ShuffleSplit`) and scores the current weights (sklearn 1.9 scores
//!   them before applying the lazy L2 scale factor).
//! - Several targets are allowed: each is fitted independently, as one sklearn regressor each.
//! - Data on an f32 device are fitted in f64 on the host; the model is returned in the data's
//!   precision.
//! - Negative sample weights are refused by
//!   [`Dataset::with_weights`](crate::data::Dataset::with_weights).

// The parts: `config` (the settings, their checks, `init` and `fit`); `loss`, `penalty` and
// `learning_rate` (the choices, their sklearn names, the loss's value and derivative and the
// schedule's `eta(t)`); `regressor` (the fitted state, `partial_fit`, the run over the
// targets); `epochs` (`_plain_sgd` for one target: the per-sample update, the stopping rule);
// `weight_vector` (sklearn's `WeightVector64`, the dot product); `validation`
// (`early_stopping`'s held-out rows and their score).

mod config;
mod epochs;
mod learning_rate;
mod loss;
mod penalty;
mod regressor;
mod validation;
mod weight_vector;

pub use config::SgdRegressorConfig;
pub use learning_rate::LearningRate;
pub use loss::RegressionLoss;
pub use penalty::Penalty;
pub use regressor::SgdRegressor;
