//! The penalty on the weights and its names.

use burn::config::Config;

use super::config::unknown_name;
use crate::{Error, Result};

/// The penalty on the weights (sklearn's `penalty`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Penalty {
    /// No penalty (`None`).
    None,
    /// `alpha ||w||^2 / 2` (`"l2"`).
    L2,
    /// `alpha ||w||_1` (`"l1"`).
    L1,
    /// `alpha (l1_ratio ||w||_1 + (1 - l1_ratio) ||w||^2 / 2)` (`"elasticnet"`).
    ElasticNet,
}

/// scikit-learn's names: `"l2"`, `"l1"`, `"elasticnet"`, and `"none"` for `None`.
impl core::str::FromStr for Penalty {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" | "None" => Ok(Penalty::None),
            "l2" => Ok(Penalty::L2),
            "l1" => Ok(Penalty::L1),
            "elasticnet" => Ok(Penalty::ElasticNet),
            _ => Err(unknown_name("penalty", s)),
        }
    }
}
