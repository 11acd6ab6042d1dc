//! The fitted regressor: its per-target state, `partial_fit`, the accessors, and the run of
//! epochs over every target that `fit` and `partial_fit` share.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

use super::config::SgdRegressorConfig;
use super::epochs::Epochs;
use crate::data::{Dataset, Names};
use crate::device::read_f64;
use crate::model::LinearModel;
use crate::{Device, Error, Result};

/// A fitted [`SgdRegressorConfig`]: the model and sklearn's counters, ready for more
/// [`partial_fit`](Self::partial_fit) calls.
#[derive(Debug, Clone)]
pub struct SgdRegressor {
    pub(super) config: SgdRegressorConfig,
    targets: Vec<TargetState>,
    n_features: usize,
    pub(super) names: (Names, Names),
    device: Device,
    model: LinearModel,
}

/// One target's state between calls: sklearn's `_standard_coef`, `_average_coef`, intercepts,
/// `t_` and `n_iter_`.
#[derive(Debug, Clone)]
pub(super) struct TargetState {
    pub(super) weights: Vec<f64>,
    pub(super) intercept: f64,
    pub(super) average_weights: Vec<f64>,
    pub(super) average_intercept: f64,
    pub(super) t: f64,
    pub(super) n_iter: usize,
}

impl SgdRegressor {
    /// A regressor at zero; `names` `None` for `x1, ..` and `y1, ..`.
    pub(super) fn new(
        config: SgdRegressorConfig,
        n_features: usize,
        n_targets: usize,
        names: Option<(Names, Names)>,
        device: &Device,
    ) -> Result<Self> {
        if n_features == 0 || n_targets == 0 {
            return Err(Error::EmptyData {
                what: "an SGD regressor needs at least one feature and one target".into(),
            });
        }
        let size = crate::data::checked_size("SGD regressor's weights", n_features, n_targets)?;
        // Room for the weights (and per target two vectors of n_features), or an error.
        let mut zeros = crate::data::try_values("SGD regressor's weights", size.saturating_mul(3))?;
        zeros.resize(size, 0.0);
        let state = TargetState {
            weights: vec![0.0; n_features],
            intercept: 0.0,
            average_weights: vec![0.0; n_features],
            average_intercept: 0.0,
            t: 1.0,
            n_iter: 0,
        };
        let mut sgd = SgdRegressor {
            model: LinearModel::from_values(
                n_features,
                &zeros,
                config.fit_intercept.then_some(&vec![0.0; n_targets][..]),
                device,
            )?,
            config,
            targets: vec![state; n_targets],
            n_features,
            names: names.unwrap_or_else(|| {
                (
                    Names::defaults("x", n_features),
                    Names::defaults("y", n_targets),
                )
            }),
            device: device.clone(),
        };
        sgd.model = sgd.build_model(&sgd.targets, &sgd.names)?;
        Ok(sgd)
    }

    /// One more epoch over `data`, continuing from the current weights, schedule position `t`
    /// and averages (sklearn's `partial_fit`; `n_iter` becomes 1 for this call, as sklearn's
    /// `n_iter_`).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] or [`Error::NameMismatch`] when the data do not fit the model;
    /// [`Error::InvalidHyperparameter`] with `early_stopping`; [`Error::Diverged`] when the
    /// weights overflow; [`Error::Readback`] if the device fails.
    pub fn partial_fit(&mut self, data: &Dataset) -> Result<()> {
        if self.config.early_stopping {
            return Err(Error::InvalidHyperparameter {
                name: "early_stopping",
                value: "true".into(),
                rule: "must be false with partial_fit (as in scikit-learn)",
            });
        }
        self.model.check_data("SgdRegressor::partial_fit", data)?;
        let names = if self.targets.iter().all(|s| s.t == 1.0) {
            // The first data seen name the columns (sklearn's feature_names_in_).
            let (features, targets) = data.names();
            (features.clone(), targets.clone())
        } else {
            self.names.clone()
        };
        self.run(data, 1, false, names)
    }

    /// The fitted model: sklearn's `coef_` and `intercept_` (the averaged ones once `t - 1`
    /// reaches `average`), in the data's precision, with the data's column names.
    pub fn model(&self) -> &LinearModel {
        &self.model
    }

    /// The fitted model, by value.
    pub fn into_model(self) -> LinearModel {
        self.model
    }

    /// Epochs run by the last call (sklearn's `n_iter_`); the largest over the targets.
    pub fn n_iter(&self) -> usize {
        self.targets.iter().map(|s| s.n_iter).max().unwrap_or(0)
    }

    /// Epochs run by the last call, per target.
    pub fn n_iters(&self) -> Vec<usize> {
        self.targets.iter().map(|s| s.n_iter).collect()
    }

    /// sklearn's `t_`: `1 +` the samples seen over all calls since the last `fit` (each call
    /// adds `n_iter * n_samples`); the largest over the targets.
    pub fn t(&self) -> f64 {
        self.targets.iter().map(|s| s.t).fold(0.0, f64::max)
    }

    /// The settings.
    pub fn config(&self) -> &SgdRegressorConfig {
        &self.config
    }

    /// The model of `targets`' states with the column names `names`; the regressor is left as
    /// it is (a caller commits both only when this succeeds).
    fn build_model(&self, targets: &[TargetState], names: &(Names, Names)) -> Result<LinearModel> {
        let (m, k) = (self.n_features, targets.len());
        let averaged =
            |s: &TargetState| self.config.average > 0 && self.config.average as f64 <= s.t - 1.0;
        let mut flat = vec![0.0; m * k];
        let mut bias = vec![0.0; k];
        for (target, s) in targets.iter().enumerate() {
            let (w, b) = if averaged(s) {
                (&s.average_weights, s.average_intercept)
            } else {
                (&s.weights, s.intercept)
            };
            for (j, v) in w.iter().enumerate() {
                flat[j * k + target] = *v;
            }
            bias[target] = b;
        }
        let bias = self.config.fit_intercept.then_some(&bias[..]);
        Ok(LinearModel::from_values(m, &flat, bias, &self.device)?
            .with_recorded_names(names.0.clone(), names.1.clone()))
    }

    /// `max_iter` epochs over `data` from the current state; on success the state, the model
    /// and the column names become the new ones (`names`), on an error nothing changes.
    pub(super) fn run(
        &mut self,
        data: &Dataset,
        max_iter: usize,
        early_stopping: bool,
        names: (Names, Names),
    ) -> Result<()> {
        let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
        let x = read_f64(data.features())?;
        let y = read_f64(data.targets())?;
        let weights = data.weight_values_or_ones();
        let sample_weight = &weights[..];
        let validation = if early_stopping {
            Some(self.validation_mask(n, sample_weight)?)
        } else {
            None
        };
        let mut order: Vec<usize> = (0..n).collect();
        // Every target on a copy: an error (overflow) leaves the regressor as it was.
        let mut states = self.targets.clone();
        for (target, state) in states.iter_mut().enumerate() {
            let y_target: Vec<f64> = (0..n).map(|i| y[i * k + target]).collect();
            let mut rng = ChaCha12Rng::seed_from_u64(self.config.seed);
            let epochs = Epochs {
                config: &self.config,
                x: &x,
                y: &y_target,
                sample_weight,
                n_features: m,
                validation: validation.as_deref(),
                max_iter,
            };
            order.sort_unstable();
            epochs.run(state, &mut order, &mut rng)?;
        }
        let model = self.build_model(&states, &names)?;
        (self.targets, self.model, self.names) = (states, model, names);
        Ok(())
    }
}
