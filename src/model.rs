//! [`LinearModel`]: `y = x W + b`, a Burn module whose parameters train on Burn's autodiff.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::data::{device_precision, read_f64};
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
    /// Default 0. (Values are drawn on the host with `rand`'s `StdRng`, not PyTorch's generator:
    /// the distribution is PyTorch's, the numbers are not.)
    #[config(default = 0)]
    pub seed: u64,
}

impl LinearModelConfig {
    /// The model, on `device`, in the device's precision.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for zero features or targets; [`Error::InvalidHyperparameter`] for an
    /// initializer whose parameters are invalid; [`Error::UnsupportedDtype`] for a device whose
    /// float type is neither f32 nor f64.
    pub fn init(&self, device: &Device) -> Result<LinearModel> {
        let (m, k) = (self.n_features, self.n_targets);
        if m == 0 || k == 0 {
            return Err(Error::EmptyData {
                what: format!(
                    "a linear model needs at least one feature and one target, got {m} and {k}"
                ),
            });
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        // PyTorch's nn.Linear uses fan_in = m for both weight and bias; fan_out = k.
        let weights = draw(&self.initializer, m * k, m, k, &mut rng)?;
        let bias = if self.bias {
            Some(draw(&self.initializer, k, m, k, &mut rng)?)
        } else {
            None
        };
        LinearModel::from_values(m, &weights, bias.as_deref(), device)
    }
}

fn draw(
    initializer: &Initializer,
    len: usize,
    fan_in: usize,
    fan_out: usize,
    rng: &mut StdRng,
) -> Result<Vec<f64>> {
    let invalid = |value: String, rule: &'static str| Error::InvalidHyperparameter {
        name: "initializer",
        value,
        rule,
    };
    let uniform = |bound_low: f64, bound_high: f64, rng: &mut StdRng| -> Result<Vec<f64>> {
        if !(bound_low.is_finite() && bound_high.is_finite()) || bound_low > bound_high {
            return Err(invalid(
                format!("{initializer:?}"),
                "uniform bounds must be finite with min <= max",
            ));
        }
        if bound_low == bound_high {
            return Ok(vec![bound_low; len]);
        }
        let dist = Uniform::new(bound_low, bound_high)
            .map_err(|_| invalid(format!("{initializer:?}"), "invalid uniform bounds"))?;
        Ok((0..len).map(|_| dist.sample(rng)).collect())
    };
    let normal = |mean: f64, std: f64, rng: &mut StdRng| -> Result<Vec<f64>> {
        if !(mean.is_finite() && std.is_finite()) || std < 0.0 {
            return Err(invalid(
                format!("{initializer:?}"),
                "normal mean and std must be finite, std >= 0",
            ));
        }
        let dist = Normal::new(mean, std)
            .map_err(|_| invalid(format!("{initializer:?}"), "invalid normal parameters"))?;
        Ok((0..len).map(|_| dist.sample(rng)).collect())
    };
    let fan = |fan_out_only: bool| if fan_out_only { fan_out } else { fan_in } as f64;
    let xavier_std = (2.0 / (fan_in + fan_out) as f64).sqrt();
    match *initializer {
        Initializer::Constant { value } => {
            if !value.is_finite() {
                return Err(invalid(value.to_string(), "a constant must be finite"));
            }
            Ok(vec![value; len])
        }
        Initializer::Ones => Ok(vec![1.0; len]),
        Initializer::Zeros => Ok(vec![0.0; len]),
        Initializer::Uniform { min, max } => uniform(min, max, rng),
        Initializer::Normal { mean, std } => normal(mean, std, rng),
        Initializer::KaimingUniform { gain, fan_out_only } => {
            let bound = 3.0f64.sqrt() * gain / fan(fan_out_only).sqrt();
            uniform(-bound.abs(), bound.abs(), rng)
        }
        Initializer::KaimingNormal { gain, fan_out_only } => {
            normal(0.0, gain.abs() / fan(fan_out_only).sqrt(), rng)
        }
        Initializer::XavierUniform { gain } => {
            let bound = 3.0f64.sqrt() * gain * xavier_std;
            uniform(-bound.abs(), bound.abs(), rng)
        }
        Initializer::XavierNormal { gain } => normal(0.0, gain.abs() * xavier_std, rng),
        Initializer::Orthogonal { .. } => Err(invalid(
            format!("{initializer:?}"),
            "orthogonal initialisation is not offered for a linear model (use Normal or KaimingUniform)",
        )),
    }
}

/// A linear model `y = x W + b` with weight `W` `[n_features, n_targets]` and an optional bias
/// `b` `[n_targets]`: PyTorch's `nn.Linear(m, k)` with its weight stored transposed.
///
/// Its parameters live on the autodiff version of the device they were created on, with gradients
/// required, so a model is ready to train as created, like PyTorch tensors with
/// `requires_grad=True`. For inference, [`predict`](Self::predict) (or `model.valid()`) builds
/// no autodiff graph.
#[derive(Module, Debug)]
pub struct LinearModel {
    weight: Param<Tensor<2>>,
    bias: Option<Param<Tensor<1>>>,
}

impl LinearModel {
    /// A model with the given parameters, in `device`'s precision.
    ///
    /// `weights` is row-major `[n_features, n_targets]` (so `n_targets = weights.len() / n_features`);
    /// `bias`, if any, has `n_targets` values.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no weights, [`Error::ShapeMismatch`] when the lengths do not fit,
    /// [`Error::NonFinite`] for a NaN or infinite value, [`Error::UnsupportedDtype`] for a device
    /// that is neither f32 nor f64.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, LinearModel, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let model = LinearModel::from_values(2, &[1.0, 2.0], Some(&[0.5]), &cpu)?;
    /// assert_eq!(model.bias(), Some(vec![0.5]));
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn from_values(
        n_features: usize,
        weights: &[f64],
        bias: Option<&[f64]>,
        device: &Device,
    ) -> Result<Self> {
        if n_features == 0 || weights.is_empty() {
            return Err(Error::EmptyData {
                what: "a linear model needs at least one feature and one weight".into(),
            });
        }
        if !weights.len().is_multiple_of(n_features) {
            return Err(Error::shape_mismatch(
                "weights length (row-major [n_features, n_targets])",
                format!("a multiple of n_features = {n_features}"),
                weights.len(),
            ));
        }
        let n_targets = weights.len() / n_features;
        if let Some(bias) = bias
            && bias.len() != n_targets
        {
            return Err(Error::shape_mismatch(
                "bias length",
                format!("n_targets = {n_targets}"),
                bias.len(),
            ));
        }
        for (what, values, width) in [
            ("weights", weights, n_targets),
            ("bias", bias.unwrap_or(&[]), n_targets),
        ] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what,
                    row: i / width,
                    column: i % width,
                    value: values[i],
                });
            }
        }
        let dtype = device_precision(device)?.dtype();
        let device = device.clone().autodiff();
        let weight = Tensor::<2>::from_data(
            TensorData::new(weights.to_vec(), [n_features, n_targets]),
            (&device, dtype),
        );
        let bias = bias.map(|b| {
            Param::from_tensor(Tensor::<1>::from_data(
                TensorData::new(b.to_vec(), [n_targets]),
                (&device, dtype),
            ))
        });
        Ok(Self {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    /// `y = x W + b`: the hot path, with no checks beyond Burn's own.
    ///
    /// # Shapes
    /// `features` `[n, n_features]` -> `[n, n_targets]`.
    ///
    /// # Panics
    /// When `features` has the wrong number of columns, or lives on another device or in another
    /// float type (Burn's checks). Use [`predict`](Self::predict) for a checked call.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let output = features.matmul(self.weight.val());
        match &self.bias {
            // The explicit expand matters on GPUs: on a bare graph of 10^6 rows, Burn's
            // backward of the implicit broadcast took 81 ms on an H200 through wgpu, 0.74 ms
            // with the expand (CPU: 23 vs 22 ms).
            Some(bias) => {
                let shape = output.dims();
                output + bias.val().unsqueeze_dim::<2>(0).expand(shape)
            }
            None => output,
        }
    }

    /// Checked, autodiff-free prediction: `y = x W + b`.
    ///
    /// # Shapes
    /// `features` `[n, n_features]` -> `[n, n_targets]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a wrong number of columns or no rows,
    /// [`Error::DeviceMismatch`] for another device or float type.
    pub fn predict(&self, features: Tensor<2>) -> Result<Tensor<2>> {
        let [n, m] = features.dims();
        if m != self.n_features() || n == 0 {
            return Err(Error::shape_mismatch(
                "features passed to predict",
                format!("[n >= 1, {}]", self.n_features()),
                format!("[{n}, {m}]"),
            ));
        }
        self.check_compatible("features passed to predict", &features)?;
        Ok(self.valid().forward(features.without_autodiff()))
    }

    /// The weights, row-major `[n_features, n_targets]`, read back as `f64`.
    ///
    /// # Panics
    /// Only if the device fails to return the data (a device fault, not bad input); use
    /// [`try_weights`](Self::try_weights) to get that as an error.
    pub fn weights(&self) -> Vec<f64> {
        self.try_weights()
            .unwrap_or_else(|e| panic!("LinearModel::weights: {e}"))
    }

    /// The weights, row-major `[n_features, n_targets]`, read back as `f64`.
    ///
    /// # Errors
    /// [`Error::Readback`] when the device fails to return the data.
    pub fn try_weights(&self) -> Result<Vec<f64>> {
        read_f64(self.weight.val().without_autodiff())
    }

    /// The bias (`n_targets` values) read back as `f64`, `None` for a model without one.
    ///
    /// # Panics
    /// Only if the device fails to return the data; see [`try_bias`](Self::try_bias).
    pub fn bias(&self) -> Option<Vec<f64>> {
        self.try_bias()
            .unwrap_or_else(|e| panic!("LinearModel::bias: {e}"))
    }

    /// The bias read back as `f64`, `None` for a model without one.
    ///
    /// # Errors
    /// [`Error::Readback`] when the device fails to return the data.
    pub fn try_bias(&self) -> Result<Option<Vec<f64>>> {
        self.bias
            .as_ref()
            .map(|b| read_f64(b.val().without_autodiff()))
            .transpose()
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.weight.shape().dims::<2>()[0]
    }

    /// Number of targets (outputs).
    pub fn n_targets(&self) -> usize {
        self.weight.shape().dims::<2>()[1]
    }

    /// Whether the model has a bias.
    pub fn has_bias(&self) -> bool {
        self.bias.is_some()
    }

    /// The float type of the parameters.
    pub fn precision(&self) -> Option<crate::Precision> {
        crate::Precision::from_dtype(self.weight.val().dtype())
    }

    /// The device of the parameters (without its autodiff flag).
    pub fn device(&self) -> Device {
        self.weight.val().device().without_autodiff()
    }

    /// The weight parameter, `[n_features, n_targets]`.
    pub fn weight_param(&self) -> &Param<Tensor<2>> {
        &self.weight
    }

    /// The bias parameter, `[n_targets]`.
    pub fn bias_param(&self) -> Option<&Param<Tensor<1>>> {
        self.bias.as_ref()
    }

    /// Replaces the parameters (used by the optimizer); keeps their ids.
    pub(crate) fn map_params(
        self,
        weight: impl FnOnce(Tensor<2>) -> Tensor<2>,
        bias: impl FnOnce(Tensor<1>) -> Tensor<1>,
    ) -> Self {
        Self {
            weight: self.weight.map(weight),
            bias: self.bias.map(|b| b.map(bias)),
        }
    }

    /// Checks that `tensor` can be combined with the parameters: same device, same float type.
    pub(crate) fn check_compatible(&self, context: &str, tensor: &Tensor<2>) -> Result<()> {
        let weight = self.weight.val();
        if tensor.device() != weight.device() {
            return Err(Error::DeviceMismatch {
                context: format!("{context}: model and data devices"),
                left: format!("{:?}", weight.device().without_autodiff()),
                right: format!("{:?}", tensor.device()),
            });
        }
        if tensor.dtype() != weight.dtype() {
            return Err(Error::DeviceMismatch {
                context: format!("{context}: model and data float types"),
                left: format!("{:?}", weight.dtype()),
                right: format!("{:?}", tensor.dtype()),
            });
        }
        Ok(())
    }
}
