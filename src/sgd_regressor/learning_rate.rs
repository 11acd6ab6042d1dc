//! The learning-rate schedule: its names and `eta(t)` for the schedules that vary with `t`.

use burn::config::Config;

use super::config::{SgdRegressorConfig, unknown_name};
use crate::{Error, Result};

/// The learning-rate schedule (sklearn's `learning_rate`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LearningRate {
    /// `eta = eta0`.
    Constant,
    /// `eta = 1 / (alpha (t0 + t - 1))`, `t0` from Léon Bottou's heuristic as in sklearn.
    Optimal,
    /// `eta = eta0 / t^power_t` (the default).
    InvScaling,
    /// `eta = eta0`, divided by 5 each time `n_iter_no_change` epochs pass without improvement.
    Adaptive,
}

/// scikit-learn's names: `"constant"`, `"optimal"`, `"invscaling"`, `"adaptive"`.
impl core::str::FromStr for LearningRate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "constant" => Ok(LearningRate::Constant),
            "optimal" => Ok(LearningRate::Optimal),
            "invscaling" => Ok(LearningRate::InvScaling),
            "adaptive" => Ok(LearningRate::Adaptive),
            _ => Err(unknown_name("learning_rate", s)),
        }
    }
}

/// `eta(t)` of the schedules that vary with `t` (optimal and invscaling), with its constants.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    learning_rate: LearningRate,
    alpha: f64,
    eta0: f64,
    power_t: f64,
    /// The optimal schedule's `t0` (sklearn's `optimal_init`); 0 for the others.
    optimal_init: f64,
}

impl Schedule {
    pub(super) fn new(c: &SgdRegressorConfig) -> Self {
        let optimal_init = if c.learning_rate == LearningRate::Optimal {
            let typw = (1.0 / c.alpha.sqrt()).sqrt();
            let initial_eta0 = typw / c.loss.gradient(1.0, -typw, c.epsilon).max(1.0);
            1.0 / (initial_eta0 * c.alpha)
        } else {
            0.0
        };
        Schedule {
            learning_rate: c.learning_rate,
            alpha: c.alpha,
            eta0: c.eta0,
            power_t: c.power_t,
            optimal_init,
        }
    }

    /// Whether `eta` follows `t` (optimal, invscaling); the others start at `eta0`.
    pub(super) fn varies(&self) -> bool {
        matches!(
            self.learning_rate,
            LearningRate::Optimal | LearningRate::InvScaling
        )
    }

    /// `eta` at sample `t`, for the schedules that vary.
    pub(super) fn eta(&self, t: f64) -> f64 {
        match self.learning_rate {
            LearningRate::Optimal => 1.0 / (self.alpha * (self.optimal_init + t - 1.0)),
            _ => self.eta0 / self.power(t),
        }
    }

    /// t^power_t: glibc's pow, or for sklearn's two usual exponents the square roots (0.5:
    /// the same correctly rounded number; 0.25: within an ulp), several times faster.
    fn power(&self, t: f64) -> f64 {
        if self.power_t == 0.5 {
            t.sqrt()
        } else if self.power_t == 0.25 {
            t.sqrt().sqrt()
        } else {
            t.powf(self.power_t)
        }
    }
}
