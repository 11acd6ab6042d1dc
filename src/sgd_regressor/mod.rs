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
//! - Negative sample weights are refused by [`Dataset::with_weights`].

use burn::config::Config;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use crate::data::{Dataset, Names};
use crate::device::read_f64;
use crate::model::LinearModel;
use crate::{Device, Error, Result};

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

/// A fitted [`SgdRegressorConfig`]: the model and sklearn's counters, ready for more
/// [`partial_fit`](Self::partial_fit) calls.
#[derive(Debug, Clone)]
pub struct SgdRegressor {
    config: SgdRegressorConfig,
    targets: Vec<TargetState>,
    n_features: usize,
    names: (Names, Names),
    device: Device,
    model: LinearModel,
}

/// One target's state between calls: sklearn's `_standard_coef`, `_average_coef`, intercepts,
/// `t_` and `n_iter_`.
#[derive(Debug, Clone)]
struct TargetState {
    weights: Vec<f64>,
    intercept: f64,
    average_weights: Vec<f64>,
    average_intercept: f64,
    t: f64,
    n_iter: usize,
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

fn unknown_name(name: &'static str, value: &str) -> Error {
    Error::InvalidHyperparameter {
        name,
        value: value.to_string(),
        rule: "not one of scikit-learn's names for it",
    }
}

const MAX_DLOSS: f64 = 1e12;
/// Independent running sums in the per-sample dot products.
const LANES: usize = 4;

/// `sum_j a_j b_j` in four running sums (sklearn sums in one: the same to round-off, 1e-16
/// relative, without its chain of dependent additions).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
/// sklearn's `WeightVector64` folds its scale into the weights below this.
const RESET_WSCALE: f64 = 1e-9;

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

impl SgdRegressor {
    /// A regressor at zero; `names` `None` for `x1, ..` and `y1, ..`.
    fn new(
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
    fn run(
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

    /// sklearn's validation mask: `ceil(validation_fraction n)` rows, drawn by a seeded
    /// permutation; refused when a side is empty or the held-out weights are all zero.
    fn validation_mask(&self, n: usize, sample_weight: &[f64]) -> Result<Vec<bool>> {
        let fraction = self.config.validation_fraction;
        let n_val = (fraction * n as f64).ceil() as usize;
        let refuse = |rule| Error::InvalidHyperparameter {
            name: "validation_fraction",
            value: fraction.to_string(),
            rule,
        };
        if n_val == 0 || n_val >= n {
            return Err(refuse(
                "leaves the training or the validation set empty for this many rows",
            ));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha12Rng::seed_from_u64(self.config.seed));
        let mut mask = vec![false; n];
        for &i in &order[..n_val] {
            mask[i] = true;
        }
        if !mask.iter().zip(sample_weight).any(|(v, w)| *v && *w > 0.0) {
            return Err(refuse(
                "the held-out rows' sample weights are all zero: change the seed",
            ));
        }
        Ok(mask)
    }
}

/// One `_plain_sgd` call for one target.
struct Epochs<'a> {
    config: &'a SgdRegressorConfig,
    /// Row-major `[n, n_features]`.
    x: &'a [f64],
    y: &'a [f64],
    sample_weight: &'a [f64],
    n_features: usize,
    validation: Option<&'a [bool]>,
    max_iter: usize,
}

/// The norms the objective needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norms {
    None,
    L2,
    Both,
}

/// sklearn's `WeightVector64`: `w = wscale * v`, with running norms and the lazily kept average
/// `aw_true = (aw + average_a v) / average_b`.
struct WeightVector<'a> {
    v: &'a mut [f64],
    /// Which of `sq_norm` and `l1_norm` to keep (only the stopping rule's objective reads them).
    track_norms: Norms,
    wscale: f64,
    inv_wscale: f64,
    sq_norm: f64,
    l1_norm: f64,
    aw: Option<&'a mut [f64]>,
    average_a: f64,
    average_b: f64,
}

impl<'a> WeightVector<'a> {
    fn new(v: &'a mut [f64], aw: Option<&'a mut [f64]>, track_norms: Norms) -> Self {
        let sq_norm = v.iter().map(|w| w * w).sum();
        let l1_norm = v.iter().map(|w| w.abs()).sum();
        WeightVector {
            v,
            track_norms,
            wscale: 1.0,
            inv_wscale: 1.0,
            sq_norm,
            l1_norm,
            aw,
            average_a: 0.0,
            average_b: 1.0,
        }
    }

    /// `v.x` (the weights' dot product is this times `wscale`).
    fn dot_v(&self, x: &[f64]) -> f64 {
        dot(self.v, x)
    }

    /// `w += c x`. `wx` is `w.x` before the update (after this sample's decay) and `xx` is
    /// `x.x`: with the L2 norm alone to keep, `||w + c x||^2 = ||w||^2 + 2 c w.x + c^2 x.x`
    /// keeps it without a second pass (sklearn recomputes it: the same to round-off; it is
    /// recomputed exactly each epoch).
    fn add(&mut self, x: &[f64], c: f64, wx: f64, xx: f64) {
        // `c * (1 / wscale)`, the reciprocal taken when the scale changed, off the dependency
        // chain of `c` (sklearn divides: the same to an ulp).
        let step = c * self.inv_wscale;
        if self.track_norms != Norms::Both {
            for (w, x) in self.v.iter_mut().zip(x) {
                *w += x * step;
            }
            if self.track_norms == Norms::L2 {
                self.sq_norm += 2.0 * c * wx + c * c * xx;
            }
            return;
        }
        // Four running sums instead of sklearn's one: the same sums to round-off (they feed
        // only the stopping rule's objective), without a chain of dependent additions.
        let (mut l2, mut l1) = ([0.0; LANES], [0.0; LANES]);
        let mut w_chunks = self.v.chunks_exact_mut(LANES);
        let mut x_chunks = x.chunks_exact(LANES);
        for (w, x) in (&mut w_chunks).zip(&mut x_chunks) {
            for l in 0..LANES {
                w[l] += x[l] * step;
                l2[l] += w[l] * w[l];
                l1[l] += w[l].abs();
            }
        }
        for (w, x) in w_chunks
            .into_remainder()
            .iter_mut()
            .zip(x_chunks.remainder())
        {
            *w += x * step;
            l2[0] += *w * *w;
            l1[0] += w.abs();
        }
        self.sq_norm = ((l2[0] + l2[1]) + (l2[2] + l2[3])) * (self.wscale * self.wscale);
        self.l1_norm = ((l1[0] + l1[1]) + (l1[2] + l1[3])) * self.wscale;
    }

    fn add_average(&mut self, x: &[f64], c: f64, num_iter: f64) {
        let mu = 1.0 / num_iter;
        if let Some(aw) = self.aw.as_deref_mut() {
            let step = -c * self.inv_wscale;
            for (a, x) in aw.iter_mut().zip(x) {
                *a += self.average_a * x * step;
            }
        }
        if num_iter > 1.0 {
            self.average_b /= 1.0 - mu;
        }
        self.average_a += mu * self.average_b * self.wscale;
    }

    /// `scale(c)` with `scaled = wscale * c` and `inv = 1 / scaled` computed by the caller
    /// ahead of time (they do not depend on the sample's prediction: computed early, the
    /// division is off the loop's critical path).
    fn scale(&mut self, c: f64, scaled: f64, inv: f64) {
        self.wscale = scaled;
        self.inv_wscale = inv;
        self.sq_norm *= c * c;
        self.l1_norm *= c.abs();
        if self.wscale < RESET_WSCALE {
            self.reset_wscale();
        }
    }

    fn reset_wscale(&mut self) {
        if let Some(aw) = self.aw.as_deref_mut() {
            let inv_b = 1.0 / self.average_b;
            for (a, v) in aw.iter_mut().zip(self.v.iter()) {
                *a = (*a + self.average_a * v) * inv_b;
            }
            self.average_a = 0.0;
            self.average_b = 1.0;
        }
        for v in self.v.iter_mut() {
            *v *= self.wscale;
        }
        self.wscale = 1.0;
        self.inv_wscale = 1.0;
    }

    /// The cumulative truncated gradient: `u` is the total L1 step so far, `q` each weight's
    /// applied share.
    fn l1_penalty(&mut self, q: &mut [f64], u: f64) {
        let wscale = self.wscale;
        for (w, q) in self.v.iter_mut().zip(q.iter_mut()) {
            let z = *w;
            if wscale * z > 0.0 {
                *w = (*w - (u + *q) / wscale).max(0.0);
            } else if wscale * z < 0.0 {
                *w = (*w + (u - *q) / wscale).min(0.0);
            }
            *q += wscale * (*w - z);
        }
    }
}

impl RegressionLoss {
    fn value(self, y: f64, p: f64, epsilon: f64) -> f64 {
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
    fn gradient(self, y: f64, p: f64, epsilon: f64) -> f64 {
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

impl Epochs<'_> {
    fn run(
        &self,
        state: &mut TargetState,
        order: &mut [usize],
        rng: &mut ChaCha12Rng,
    ) -> Result<()> {
        let c = self.config;
        let m = self.n_features;
        let n = self.y.len();
        let l1_ratio = match c.penalty {
            Penalty::L2 => 0.0,
            Penalty::L1 => 1.0,
            _ => c.l1_ratio,
        };
        let penalised = c.penalty != Penalty::None;
        let has_l1 = matches!(c.penalty, Penalty::L1 | Penalty::ElasticNet);
        let decays = matches!(c.penalty, Penalty::L2 | Penalty::ElasticNet);
        let averaging = c.average > 0;
        let average = c.average as f64;
        let train_count = match self.validation {
            Some(mask) => mask.iter().filter(|v| !**v).count(),
            None => n,
        } as f64;

        // t^power_t: glibc's pow, or for sklearn's two usual exponents the square roots (0.5:
        // the same correctly rounded number; 0.25: within an ulp), several times faster.
        let power_t = c.power_t;
        let power = |t: f64| -> f64 {
            if power_t == 0.5 {
                t.sqrt()
            } else if power_t == 0.25 {
                t.sqrt().sqrt()
            } else {
                t.powf(power_t)
            }
        };
        let optimal_init = if c.learning_rate == LearningRate::Optimal {
            let typw = (1.0 / c.alpha.sqrt()).sqrt();
            let initial_eta0 = typw / c.loss.gradient(1.0, -typw, c.epsilon).max(1.0);
            1.0 / (initial_eta0 * c.alpha)
        } else {
            0.0
        };

        let mut t = state.t;
        let mut intercept = state.intercept;
        let mut average_intercept = state.average_intercept;
        let mut q = vec![0.0; if has_l1 { m } else { 0 }];
        let mut u = 0.0;
        let mut eta = c.eta0;
        let tol = c.tol.unwrap_or(f64::NEG_INFINITY);
        let watch_objective = self.validation.is_none() && c.tol.is_some();
        let mut no_improvement = 0;
        let mut best_objective = f64::INFINITY;
        let mut best_score = f64::NEG_INFINITY;
        let mut epoch = 0;
        let varying = matches!(
            c.learning_rate,
            LearningRate::Optimal | LearningRate::InvScaling
        );
        let schedule = |t: f64| match c.learning_rate {
            LearningRate::Optimal => 1.0 / (c.alpha * (optimal_init + t - 1.0)),
            _ => c.eta0 / power(t),
        };
        let mut eta_next = if varying { schedule(t) } else { eta };
        let mut w = WeightVector::new(
            &mut state.weights,
            averaging.then_some(&mut state.average_weights[..]),
            match (watch_objective, c.penalty) {
                (false, _) | (true, Penalty::None) => Norms::None,
                (true, Penalty::L2) => Norms::L2,
                (true, _) => Norms::Both,
            },
        );
        // x.x per row, for the L2 norm's update.
        let row_norms: Vec<f64> = if w.track_norms == Norms::L2 {
            self.x.chunks_exact(m).map(|r| dot(r, r)).collect()
        } else {
            Vec::new()
        };
        let mut overflow = false;
        while epoch < self.max_iter {
            let mut objective_sum = 0.0;
            if w.track_norms == Norms::L2 {
                // The running L2 norm, recomputed (no drift from epoch to epoch).
                w.sq_norm = dot(w.v, w.v) * (w.wscale * w.wscale);
            }
            if c.shuffle {
                order.shuffle(rng);
            }
            for &i in order.iter() {
                if self.validation.is_some_and(|mask| mask[i]) {
                    continue;
                }
                let x = &self.x[i * m..(i + 1) * m];
                let y = self.y[i];
                // This sample's eta was computed with the previous one, and the next one's now:
                // the schedule's pow and division overlap the work instead of preceding it.
                if varying {
                    eta = eta_next;
                    eta_next = schedule(t + 1.0);
                }
                let decay = (1.0 - (1.0 - l1_ratio) * eta * c.alpha).max(0.0);
                let scaled = w.wscale * decay;
                let inv_scaled = 1.0 / scaled;
                let vx = w.dot_v(x);
                let p = vx * w.wscale + intercept;
                // The objective feeds only the tol rule (sklearn also prints it when verbose).
                if watch_objective {
                    objective_sum += c.loss.value(y, p, c.epsilon);
                    if penalised {
                        let norm = w.sq_norm.sqrt();
                        objective_sum +=
                            c.alpha * ((1.0 - l1_ratio) * 0.5 * norm * norm + l1_ratio * w.l1_norm);
                    }
                }
                let dloss = c
                    .loss
                    .gradient(y, p, c.epsilon)
                    .clamp(-MAX_DLOSS, MAX_DLOSS);
                let update = -eta * dloss * self.sample_weight[i];
                if decays {
                    w.scale(decay, scaled, inv_scaled);
                }
                if update != 0.0 {
                    let xx = row_norms.get(i).copied().unwrap_or(0.0);
                    // w.x after the decay: v.x times the new scale (also when the decay folded
                    // the scale into v: w itself is unchanged by that).
                    let wx = vx * if decays { scaled } else { w.wscale };
                    w.add(x, update, wx, xx);
                }
                if c.fit_intercept && update != 0.0 {
                    intercept += update;
                }
                if averaging && average <= t {
                    let num_iter = t - average + 1.0;
                    w.add_average(x, update, num_iter);
                    average_intercept += (intercept - average_intercept) / num_iter;
                }
                if has_l1 {
                    u += l1_ratio * eta * c.alpha;
                    w.l1_penalty(&mut q, u);
                }
                t += 1.0;
            }
            epoch += 1;
            if !intercept.is_finite() || w.v.iter().any(|v| !v.is_finite()) {
                overflow = true;
                break;
            }
            if let Some(mask) = self.validation {
                let score = self.validation_r2(&w, intercept, mask);
                if score < best_score + tol {
                    no_improvement += 1;
                } else {
                    no_improvement = 0;
                }
                if score > best_score {
                    best_score = score;
                }
            } else {
                let objective = objective_sum / train_count;
                if objective > best_objective - tol {
                    no_improvement += 1;
                } else {
                    no_improvement = 0;
                }
                if objective < best_objective {
                    best_objective = objective;
                }
            }
            if no_improvement >= c.n_iter_no_change {
                if c.learning_rate == LearningRate::Adaptive && eta > 1e-6 {
                    eta /= 5.0;
                    no_improvement = 0;
                } else {
                    break;
                }
            }
        }
        w.reset_wscale();
        if overflow {
            return Err(Error::Diverged {
                step: (t - 1.0) as usize,
                epoch,
                loss: f64::NAN,
                hint: "the weights overflowed (sklearn: \"Floating-point under-/overflow\"): \
                       standardise the data or lower eta0"
                    .into(),
            });
        }
        state.intercept = intercept;
        state.average_intercept = average_intercept;
        state.n_iter = epoch;
        // sklearn counts every row, held out or not.
        state.t += (epoch * n) as f64;
        Ok(())
    }

    /// Weighted R² of the held-out rows (sklearn's `score` with their sample weights).
    fn validation_r2(&self, w: &WeightVector, intercept: f64, mask: &[bool]) -> f64 {
        let m = self.n_features;
        let rows = || (0..self.y.len()).filter(|&i| mask[i]);
        let total: f64 = rows().map(|i| self.sample_weight[i]).sum();
        let mean = rows()
            .map(|i| self.sample_weight[i] * self.y[i])
            .sum::<f64>()
            / total;
        let (mut sse, mut sst) = (0.0, 0.0);
        for i in rows() {
            let p = w.dot_v(&self.x[i * m..(i + 1) * m]) * w.wscale + intercept;
            let s = self.sample_weight[i];
            sse += s * (self.y[i] - p) * (self.y[i] - p);
            sst += s * (self.y[i] - mean) * (self.y[i] - mean);
        }
        if sst > 0.0 {
            1.0 - sse / sst
        } else if sse == 0.0 {
            1.0
        } else {
            0.0
        }
    }
}
