//! The loss on one sample's residual: its names, value and derivative (sklearn's
//! `SquaredLoss`, `Huber`, `EpsilonInsensitive` and `SquaredEpsilonInsensitive`).

use burn::config::Config;

use super::config::unknown_name;
use crate::{Error, Result};

/// The loss on one sample's residual (sklearn's `loss`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum RegressionLoss {
    /// `(p - y)^2 / 2` (sklearn's `"squared_error"`).
    SquaredError,
    /// `(p - y)^2 / 2` for `|p - y| <= epsilon`, else `epsilon (|p - y| - epsilon / 2)`
    /// (`"huber"`).
    Huber,
    /// `max(0, |y - p| - epsilon)` (`"epsilon_insensitive"`, linear SVR's loss).
    EpsilonInsensitive,
    /// `max(0, |y - p| - epsilon)^2` (`"squared_epsilon_insensitive"`).
    SquaredEpsilonInsensitive,
}

/// scikit-learn's names: `"squared_error"`, `"huber"`, `"epsilon_insensitive"`,
/// `"squared_epsilon_insensitive"`.
impl core::str::FromStr for RegressionLoss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "squared_error" => Ok(RegressionLoss::SquaredError),
            "huber" => Ok(RegressionLoss::Huber),
            "epsilon_insensitive" => Ok(RegressionLoss::EpsilonInsensitive),
            "squared_epsilon_insensitive" => Ok(RegressionLoss::SquaredEpsilonInsensitive),
            _ => Err(unknown_name("loss", s)),
        }
    }
}

impl RegressionLoss {
    /// The loss of the prediction `p` of the target `y`.
    pub(super) fn value(self, y: f64, p: f64, epsilon: f64) -> f64 {
        match self {
            RegressionLoss::SquaredError => 0.5 * (p - y) * (p - y),
            RegressionLoss::Huber => {
                let abserr = (y - p).abs();
                if abserr <= epsilon {
                    0.5 * abserr * abserr
                } else {
                    epsilon * (abserr - 0.5 * epsilon)
                }
            }
            RegressionLoss::EpsilonInsensitive => ((y - p).abs() - epsilon).max(0.0),
            RegressionLoss::SquaredEpsilonInsensitive => {
                let r = (y - p).abs() - epsilon;
                if r > 0.0 { r * r } else { 0.0 }
            }
        }
    }

    /// `d loss / d p`.
    pub(super) fn gradient(self, y: f64, p: f64, epsilon: f64) -> f64 {
        match self {
            RegressionLoss::SquaredError => p - y,
            RegressionLoss::Huber => {
                let r = p - y;
                if r.abs() <= epsilon {
                    r
                } else if r >= 0.0 {
                    epsilon
                } else {
                    -epsilon
                }
            }
            RegressionLoss::EpsilonInsensitive => {
                if y - p > epsilon {
                    -1.0
                } else if p - y > epsilon {
                    1.0
                } else {
                    0.0
                }
            }
            RegressionLoss::SquaredEpsilonInsensitive => {
                let z = y - p;
                if z > epsilon {
                    -2.0 * (z - epsilon)
                } else if z < -epsilon {
                    2.0 * (-z - epsilon)
                } else {
                    0.0
                }
            }
        }
    }
}
