//! The settings of [`SgdRegressor`], their validation, and the entry points `init` and `fit`.

use burn::config::Config;

use super::learning_rate::LearningRate;
use super::loss::RegressionLoss;
use super::penalty::Penalty;
use super::regressor::SgdRegressor;
use crate::data::Dataset;
use crate::{Device, Error, Result};

/// Settings of [`SgdRegressor`]: the fields and defaults of scikit-learn 1.9's `SGDRegressor`
/// (`random_state` is `seed`; `average` is a count, `0` for `False` and `1` for `True`).
///
/// # Example
/// ```
/// use linfit::sgd_regressor::{LearningRate, SgdRegressorConfig};
/// use linfit::{device, Dataset, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let rows: Vec<Vec<f64>> = (0..40).map(|i| vec![(i as f64 / 20.0) - 1.0]).collect();
/// let targets: Vec<f64> = rows.iter().map(|r| 0.5 + 2.0 * r[0]).collect();
/// let data = Dataset::from_rows(&rows, &targets, &cpu)?;
/// let sgd = SgdRegressorConfig::new()
///     .with_shuffle(false)
///     .with_learning_rate(LearningRate::Constant)
///     .with_tol(None)
///     .with_max_iter(200)
///     .fit(&data)?;
/// assert!((sgd.model().weights()[0] - 2.0).abs() < 1e-2);
/// assert_eq!(sgd.n_iter(), 200);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct SgdRegressorConfig {
    /// The loss. Default [`RegressionLoss::SquaredError`].
    #[config(default = "RegressionLoss::SquaredError")]
    pub loss: RegressionLoss,
    /// The penalty. Default [`Penalty::L2`].
    #[config(default = "Penalty::L2")]
    pub penalty: Penalty,
    /// Penalty strength, `>= 0` (`> 0` for the optimal schedule). Default `1e-4`.
    #[config(default = 1e-4)]
    pub alpha: f64,
    /// Elastic net's share of L1, in `[0, 1]`. Default `0.15`.
    #[config(default = 0.15)]
    pub l1_ratio: f64,
    /// Fit an intercept. Default `true`.
    #[config(default = true)]
    pub fit_intercept: bool,
    /// Most epochs of [`fit`](Self::fit), `>= 1`. Default `1000`.
    #[config(default = 1000)]
    pub max_iter: usize,
    /// Stop when the epoch's mean objective has not improved by `tol` for `n_iter_no_change`
    /// epochs; `None` runs `max_iter` epochs. `>= 0`. Default `Some(1e-3)`.
    #[config(default = "Some(1e-3)")]
    pub tol: Option<f64>,
    /// Shuffle the rows before each epoch (linfit's generator, seeded by `seed`). Default `true`.
    #[config(default = true)]
    pub shuffle: bool,
    /// Seed of the shuffles and of the validation split. Default `0`.
    #[config(default = 0)]
    pub seed: u64,
    /// Huber's threshold and the epsilon-insensitive losses' margin, `>= 0`. Default `0.1`.
    #[config(default = 0.1)]
    pub epsilon: f64,
    /// The learning-rate schedule. Default [`LearningRate::InvScaling`].
    #[config(default = "LearningRate::InvScaling")]
    pub learning_rate: LearningRate,
    /// Initial learning rate, `> 0` (unused by the optimal schedule). Default `0.01`.
    #[config(default = 0.01)]
    pub eta0: f64,
    /// Exponent of the invscaling schedule, finite. Default `0.25`.
    #[config(default = 0.25)]
    pub power_t: f64,
    /// Stop on a held-out score instead of the training objective. Default `false`.
    #[config(default = false)]
    pub early_stopping: bool,
    /// Share of rows held out with `early_stopping`, in `(0, 1)`. Default `0.1`.
    #[config(default = 0.1)]
    pub validation_fraction: f64,
    /// Epochs without improvement before stopping (or dividing eta), `>= 1`. Default `5`.
    #[config(default = 5)]
    pub n_iter_no_change: usize,
    /// Averaged SGD from sample `average` on (counted over all calls); `0` is off and `1`
    /// averages from the first sample (sklearn's `True`). Default `0`.
    #[config(default = 0)]
    pub average: usize,
}

/// The error of the parsers of [`RegressionLoss`], [`Penalty`] and [`LearningRate`] for a name
/// scikit-learn does not have.
pub(super) fn unknown_name(name: &'static str, value: &str) -> Error {
    Error::InvalidHyperparameter {
        name,
        value: value.to_string(),
        rule: "not one of scikit-learn's names for it",
    }
}

impl SgdRegressorConfig {
    /// Checks the settings as sklearn's `_parameter_constraints` and `_more_validate_params`.
    fn check(&self) -> Result<()> {
        let bad = |name, value: f64, rule| {
            Err(Error::InvalidHyperparameter {
                name,
                value: value.to_string(),
                rule,
            })
        };
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return bad("alpha", self.alpha, "must be finite and >= 0");
        }
        if self.learning_rate == LearningRate::Optimal && self.alpha == 0.0 {
            return bad(
                "alpha",
                self.alpha,
                "must be > 0 with the optimal learning rate, which is 1 / (alpha (t + t0))",
            );
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return bad("l1_ratio", self.l1_ratio, "must be in [0, 1]");
        }
        if self.max_iter == 0 {
            return bad("max_iter", 0.0, "must be >= 1");
        }
        if let Some(tol) = self.tol
            && (tol.is_nan() || tol < 0.0)
        {
            return bad("tol", tol, "must be >= 0 (or None)");
        }
        if !(self.epsilon >= 0.0 && self.epsilon.is_finite()) {
            return bad("epsilon", self.epsilon, "must be finite and >= 0");
        }
        if !(self.eta0 > 0.0 && self.eta0.is_finite()) {
            return bad("eta0", self.eta0, "must be finite and > 0");
        }
        if !self.power_t.is_finite() {
            return bad("power_t", self.power_t, "must be finite");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return bad(
                "validation_fraction",
                self.validation_fraction,
                "must be in (0, 1)",
            );
        }
        if self.n_iter_no_change == 0 {
            return bad("n_iter_no_change", 0.0, "must be >= 1");
        }
        Ok(())
    }

    /// An unfitted regressor for `n_features` features and `n_targets` targets on `device`: zero
    /// weights and intercepts, `t = 1`, for [`SgdRegressor::partial_fit`] from the first chunk
    /// on (sklearn's `SGDRegressor()` before its first `partial_fit`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a setting sklearn refuses, or `early_stopping`
    /// (sklearn refuses it with `partial_fit`); [`Error::EmptyData`] for zero features or
    /// targets.
    pub fn init(
        &self,
        n_features: usize,
        n_targets: usize,
        device: &Device,
    ) -> Result<SgdRegressor> {
        self.check()?;
        if self.early_stopping {
            return Err(Error::InvalidHyperparameter {
                name: "early_stopping",
                value: "true".into(),
                rule: "must be false with partial_fit (as in scikit-learn)",
            });
        }
        // The default names are made once the sizes are known to fit this machine.
        SgdRegressor::new(self.clone(), n_features, n_targets, None, device)
    }

    /// Fits every target of `data` from zero weights, at most `max_iter` epochs each (sklearn's
    /// `SGDRegressor(...).fit(X, y, sample_weight=w)` with the data's weights).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a setting sklearn refuses, or a validation split with
    /// an empty side or no weight; [`Error::Diverged`] when the weights overflow (sklearn's
    /// "Floating-point under-/overflow"); [`Error::Readback`] if the device fails.
    pub fn fit(&self, data: &Dataset) -> Result<SgdRegressor> {
        self.check()?;
        let (features, targets) = data.names();
        let mut sgd = SgdRegressor::new(
            self.clone(),
            data.n_features(),
            data.n_targets(),
            Some((features.clone(), targets.clone())),
            &data.device(),
        )?;
        let names = sgd.names.clone();
        sgd.run(data, self.max_iter, self.early_stopping, names)?;
        Ok(sgd)
    }
}
