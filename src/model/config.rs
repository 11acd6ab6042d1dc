//! [`LinearModelConfig`]: a model's shape and how its initial values are drawn.

use burn::config::Config;
use burn::nn::Initializer;
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Normal, Uniform};

use super::LinearModel;
use crate::data::{checked_size, try_values};
use crate::{Error, Result};

/// Settings of a [`LinearModel`]; `init` turns them into the module.
///
/// # Example
/// ```
/// use linfit::{device, LinearModelConfig, Precision};
/// use linfit::burn::nn::Initializer;
/// let cpu = device::cpu(Precision::F64)?;
/// let model = LinearModelConfig::new(3)
///     .with_initializer(Initializer::Normal { mean: 0.0, std: 1.0 }) // like torch.randn
///     .with_seed(7)
///     .init(&cpu)?;
/// assert_eq!(model.weights().len(), 3);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct LinearModelConfig {
    /// Number of input features `m`.
    pub n_features: usize,
    /// Number of targets `k` (outputs). Default 1.
    #[config(default = 1)]
    pub n_targets: usize,
    /// Whether the model has a bias (intercept) `b`. Default `true`.
    #[config(default = true)]
    pub bias: bool,
    /// How the weight and bias are drawn. Default: PyTorch `nn.Linear`'s, `U(-1/sqrt(m), 1/sqrt(m))`
    /// for both weight and bias, written as `KaimingUniform { gain: 1/sqrt(3), fan_out_only: false }`
    /// (the bound is `gain * sqrt(3 / fan_in)`). `Normal { mean: 0, std: 1 }` is `torch.randn`'s
    /// distribution; `Zeros` starts at the origin.
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / 3.0f64.sqrt(), fan_out_only: false }"
    )]
    pub initializer: Initializer,
    /// Seed of the draw, so that the same config gives the same model on every device.
    /// Default 0. (Values are drawn on the host with `rand_chacha`'s `ChaCha12Rng`, a named
    /// generator whose stream does not change between releases, not PyTorch's generator: the
    /// distribution is PyTorch's, the numbers are not.)
    #[config(default = 0)]
    pub seed: u64,
}

impl LinearModelConfig {
    /// The model, on `device`, in the device's precision.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for zero features or targets; [`Error::InvalidHyperparameter`] for an
    /// initializer whose parameters are invalid; [`Error::OutOfRange`] for a size this machine
    /// cannot hold or initial values too large for the device's float type;
    /// [`Error::UnsupportedDtype`] for a device whose float type is neither f32 nor f64.
    pub fn init(&self, device: &Device) -> Result<LinearModel> {
        let (m, k) = (self.n_features, self.n_targets);
        if m == 0 || k == 0 {
            return Err(Error::EmptyData {
                what: format!(
                    "a linear model needs at least one feature and one target, got {m} and {k}"
                ),
            });
        }
        let mut rng = ChaCha12Rng::seed_from_u64(self.seed);
        // PyTorch's nn.Linear uses fan_in = m for both weight and bias; fan_out = k.
        let draw = Draw::of(&self.initializer, m, k)?;
        let weights = draw.values("initial weights", checked_size("weights", m, k)?, &mut rng)?;
        let bias = if self.bias {
            Some(draw.values("initial bias", k, &mut rng)?)
        } else {
            None
        };
        LinearModel::from_values(m, &weights, bias.as_deref(), device)
    }
}

/// What the values of one parameter are drawn from.
enum Draw {
    Constant(f64),
    Uniform(Uniform<f64>),
    Normal(Normal<f64>),
}

impl Draw {
    /// The distribution of `initializer` for a layer of `fan_in` inputs and `fan_out` outputs.
    fn of(initializer: &Initializer, fan_in: usize, fan_out: usize) -> Result<Self> {
        let invalid = |value: String, rule: &'static str| Error::InvalidHyperparameter {
            name: "initializer",
            value,
            rule,
        };
        let uniform = |low: f64, high: f64| -> Result<Draw> {
            if !(low.is_finite() && high.is_finite()) || low > high {
                return Err(invalid(
                    format!("{initializer:?}"),
                    "uniform bounds must be finite with min <= max",
                ));
            }
            if low == high {
                return Ok(Draw::Constant(low));
            }
            Uniform::new(low, high)
                .map(Draw::Uniform)
                .map_err(|_| invalid(format!("{initializer:?}"), "invalid uniform bounds"))
        };
        let normal = |mean: f64, std: f64| -> Result<Draw> {
            if !(mean.is_finite() && std.is_finite()) || std < 0.0 {
                return Err(invalid(
                    format!("{initializer:?}"),
                    "normal mean and std must be finite, std >= 0",
                ));
            }
            Normal::new(mean, std)
                .map(Draw::Normal)
                .map_err(|_| invalid(format!("{initializer:?}"), "invalid normal parameters"))
        };
        let fan = |fan_out_only: bool| if fan_out_only { fan_out } else { fan_in } as f64;
        let xavier_std = (2.0 / (fan_in as f64 + fan_out as f64)).sqrt();
        match *initializer {
            Initializer::Constant { value } => {
                if !value.is_finite() {
                    return Err(invalid(value.to_string(), "a constant must be finite"));
                }
                Ok(Draw::Constant(value))
            }
            Initializer::Ones => Ok(Draw::Constant(1.0)),
            Initializer::Zeros => Ok(Draw::Constant(0.0)),
            Initializer::Uniform { min, max } => uniform(min, max),
            Initializer::Normal { mean, std } => normal(mean, std),
            Initializer::KaimingUniform { gain, fan_out_only } => {
                let bound = 3.0f64.sqrt() * gain / fan(fan_out_only).sqrt();
                uniform(-bound.abs(), bound.abs())
            }
            Initializer::KaimingNormal { gain, fan_out_only } => {
                normal(0.0, gain.abs() / fan(fan_out_only).sqrt())
            }
            Initializer::XavierUniform { gain } => {
                let bound = 3.0f64.sqrt() * gain * xavier_std;
                uniform(-bound.abs(), bound.abs())
            }
            Initializer::XavierNormal { gain } => normal(0.0, gain.abs() * xavier_std),
            Initializer::Orthogonal { .. } => Err(invalid(
                format!("{initializer:?}"),
                "orthogonal initialisation is not offered for a linear model (use Normal or KaimingUniform)",
            )),
        }
    }

    /// `len` values, in a buffer reserved first, so that a size this machine cannot hold is an
    /// error rather than an abort.
    fn values(&self, what: &str, len: usize, rng: &mut ChaCha12Rng) -> Result<Vec<f64>> {
        let mut values = try_values(what, len)?;
        match self {
            Draw::Constant(value) => values.resize(len, *value),
            Draw::Uniform(dist) => values.extend((0..len).map(|_| dist.sample(rng))),
            Draw::Normal(dist) => values.extend((0..len).map(|_| dist.sample(rng))),
        }
        Ok(values)
    }
}
