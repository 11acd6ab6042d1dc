//! [`LinearModel`]: `y = x W + b`, a Burn module whose parameters train on Burn's autodiff;
//! [`LinearModelConfig`], its settings and initialisation; saving and loading it (burnpack,
//! JSON).

mod config;
mod display;
pub(crate) mod fused;
mod persist;

pub use config::LinearModelConfig;
pub use persist::ModelCoefficients;

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{Dataset, Names, check_values};
use crate::device::{device_precision, read_f64};
use crate::loss::{Loss, LossScale};
use crate::{Error, Result};

/// A linear model `y = x W + b` with weight `W` `[n_features, n_targets]` and an optional bias
/// `b` `[n_targets]`: PyTorch's `nn.Linear(m, k)` with its weight stored transposed.
///
/// Its parameters live on the autodiff version of the device they were created on, with gradients
/// required, so a model is ready to train as created, like PyTorch tensors with
/// `requires_grad=True`. For inference, [`predict`](Self::predict) (or `model.valid()`) builds
/// no autodiff graph.
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct LinearModel {
    weight: Param<Tensor<2>>,
    bias: Option<Param<Tensor<1>>>,
    /// The names of the columns it was fitted on (`None`: not fitted on named data yet).
    #[module(skip)]
    names: Option<ModelNames>,
}

/// The feature and target names a model was fitted on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelNames {
    features: Names,
    targets: Names,
}

impl LinearModel {
    /// A model with the given parameters, in `device`'s precision.
    ///
    /// `weights` is row-major `[n_features, n_targets]` (so `n_targets = weights.len() / n_features`);
    /// `bias`, if any, has `n_targets` values.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no weights, [`Error::ShapeMismatch`] when the lengths do not fit,
    /// [`Error::NonFinite`] for a NaN or infinite value, [`Error::OutOfRange`] for a value too
    /// large for the device's float type, [`Error::UnsupportedDtype`] for a device that is
    /// neither f32 nor f64.
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
        let precision = device_precision(device)?;
        check_values("weights", weights, n_targets, precision)?;
        check_values("bias", bias.unwrap_or(&[]), n_targets, precision)?;
        let dtype = precision.dtype();
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
            names: None,
        })
    }

    /// The names of the features this model was fitted on (a CSV header, or `x1, x2, ...`);
    /// `None` for a model not fitted on data yet (nor given names).
    pub fn feature_names(&self) -> Option<&[String]> {
        self.names.as_ref().map(|n| n.features.list())
    }

    /// The names of the targets this model was fitted on; `None` as for
    /// [`feature_names`](Self::feature_names).
    pub fn target_names(&self) -> Option<&[String]> {
        self.names.as_ref().map(|n| n.targets.list())
    }

    /// The same model, its features and targets named (for a model made from values).
    ///
    /// # Errors
    /// [`Error::InvalidNames`] for a wrong count, an empty name or a name used twice.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, LinearModel, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let model = LinearModel::from_values(2, &[1.5, -2.0], Some(&[0.5]), &cpu)?
    ///     .with_names(["height", "weight"], ["age"])?;
    /// let text = model.to_string();
    /// let line = text.lines().nth(2).unwrap();
    /// assert!(line.trim_start().starts_with("height") && line.ends_with("1.5"));
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn with_names<S: Into<String>, T: Into<String>>(
        mut self,
        features: impl IntoIterator<Item = S>,
        targets: impl IntoIterator<Item = T>,
    ) -> Result<Self> {
        let features = features.into_iter().map(Into::into).collect();
        let targets = targets.into_iter().map(Into::into).collect();
        self.names = Some(ModelNames {
            features: Names::given("feature names", features, self.n_features())?,
            targets: Names::given("target names", targets, self.n_targets())?,
        });
        Ok(self)
    }

    /// The same model with these names.
    pub(crate) fn with_recorded_names(mut self, features: Names, targets: Names) -> Self {
        self.names = Some(ModelNames { features, targets });
        self
    }

    /// The same model with the names of `other` (the same columns in other units).
    pub(crate) fn with_names_from(mut self, other: &LinearModel) -> Self {
        self.names = other.names.clone();
        self
    }

    /// The names given to the features and to the targets (not the defaults), for files.
    pub(crate) fn given_names(&self) -> (Option<Vec<String>>, Option<Vec<String>>) {
        let given = |n: &Names| n.is_given().then(|| n.list().to_vec());
        match &self.names {
            Some(n) => (given(&n.features), given(&n.targets)),
            None => (None, None),
        }
    }

    /// The same model with names read from a file (`None`: the defaults, or none at all).
    ///
    /// # Errors
    /// [`Error::InvalidNames`] for names that do not fit the model.
    pub(crate) fn with_saved_names(
        mut self,
        features: Option<Vec<String>>,
        targets: Option<Vec<String>>,
    ) -> Result<Self> {
        if features.is_none() && targets.is_none() {
            return Ok(self);
        }
        let (m, k) = (self.n_features(), self.n_targets());
        self.names = Some(ModelNames {
            features: match features {
                Some(f) => Names::given("feature names", f, m)?,
                None => Names::defaults("x", m),
            },
            targets: match targets {
                Some(t) => Names::given("target names", t, k)?,
                None => Names::defaults("y", k),
            },
        });
        Ok(self)
    }

    /// The names of the features and targets, the defaults where none were recorded.
    pub(crate) fn display_names(&self) -> (Vec<String>, Vec<String>) {
        match &self.names {
            Some(n) => (n.features.list().to_vec(), n.targets.list().to_vec()),
            None => (
                Names::defaults("x", self.n_features()).list().to_vec(),
                Names::defaults("y", self.n_targets()).list().to_vec(),
            ),
        }
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

    /// The model's loss on `features` and `targets` in one fused operation:
    /// `loss.forward(self.forward(features), targets)`, computed in one pass over the features
    /// that also prepares the gradients of the weight and the bias.
    ///
    /// The result carries the autodiff graph of the parameters like the two-call form, so
    /// [`Sgd::backward`](crate::Sgd::backward) (or `loss.backward()`) and `step` work with both;
    /// the two agree to rounding (1e-12 relative in f64, tested on every CPU backend). The
    /// two-call form stays the literal port of PyTorch's `loss_fn(model(x), y)`; this one is
    /// faster (3-4x at 10^6 x 32 on flex: one read of the features instead of two, one graph
    /// node instead of seven).
    ///
    /// The features and targets are constants here: when either carries an autodiff graph of
    /// its own (it requires a gradient), the loss is built from the plain graph instead, so that
    /// their gradients exist.
    ///
    /// Backends: flex runs a one-pass kernel (f64 accumulation, also for f32 data); ndarray and
    /// the GPU backends compute the same values from Burn's primitives (two reads of the data).
    ///
    /// # Shapes
    /// `features` `[n, n_features]`, `targets` `[n, n_targets]` -> `[1]`.
    ///
    /// # Panics
    /// As [`forward`](Self::forward) (this is the hot path): when the shapes do not fit the
    /// model, or the tensors live on another device or in another float type.
    ///
    /// # Example
    /// ```
    /// use linfit::prelude::*;
    /// let cpu = device::cpu(Precision::F64)?;
    /// let data = Dataset::from_rows(&[vec![0.0], vec![1.0]], &[1.0, 3.0], &cpu)?;
    /// let model = LinearModel::from_values(1, &[1.0], Some(&[0.0]), &cpu)?;
    /// let fused: f64 = model.loss(data.features(), data.targets(), Loss::SumSquared).into_scalar();
    /// let plain: f64 = Loss::SumSquared
    ///     .forward(model.forward(data.features()), data.targets())
    ///     .into_scalar();
    /// assert_eq!((fused, plain), (5.0, 5.0));
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn loss(&self, features: Tensor<2>, targets: Tensor<2>, loss: Loss) -> Tensor<1> {
        if features.is_tracked() || targets.is_tracked() {
            return loss.forward(self.forward(features), targets);
        }
        self.check_fused_shapes(&features, &targets);
        let scale = loss.scale(targets.shape().num_elements());
        fused::linear_loss(
            features,
            targets,
            self.weight.val(),
            self.bias_or_zeros(),
            scale,
        )
    }

    /// The loss and the gradients of the weight and the bias, from the fused operation with no
    /// autodiff graph (on the data's plain device): what `loss` + `backward` give, for the
    /// training loop. With `rows`, on those rows of `features` and `targets` (a shuffled
    /// mini-batch, read in place).
    pub(crate) fn loss_and_gradients(
        &self,
        features: Tensor<2>,
        targets: Tensor<2>,
        rows: Option<Tensor<1, Int>>,
        loss: Loss,
    ) -> (Tensor<1>, Tensor<2>, Option<Tensor<1>>) {
        self.check_fused_shapes(&features, &targets);
        let bias = self.bias_or_zeros().without_autodiff();
        let weight = self.weight.val().without_autodiff();
        let (features, targets) = (features.without_autodiff(), targets.without_autodiff());
        let (value, weight_grad, bias_grad) = match rows {
            None => {
                let scale = loss.scale(targets.shape().num_elements());
                fused::linear_loss_grads(features, targets, weight, bias, scale)
            }
            Some(rows) => {
                let scale = loss.scale(rows.dims()[0] * self.n_targets());
                fused::linear_loss_grads_rows(features, targets, weight, bias, rows, scale)
            }
        };
        (value, weight_grad, self.bias.as_ref().map(|_| bias_grad))
    }

    /// [`loss_and_gradients`](Self::loss_and_gradients) with sample weights `weights` `[n]`:
    /// two passes over the batch with Burn's operations, no autodiff graph. `r = x W + b - y`,
    /// `v = w r`: loss `s sum(v r)`, `dW = 2 s x^T v`, `db = 2 s 1^T v`, where `scale(b)` gives
    /// `s` for a batch of `b` rows (see `DeviceWeights::loss_scale`).
    pub(crate) fn weighted_loss_and_gradients(
        &self,
        features: Tensor<2>,
        targets: Tensor<2>,
        weights: Tensor<1>,
        rows: Option<Tensor<1, Int>>,
        scale: impl FnOnce(usize) -> LossScale,
    ) -> (Tensor<1>, Tensor<2>, Option<Tensor<1>>) {
        self.check_fused_shapes(&features, &targets);
        let (mut x, mut y, mut w) = (
            features.without_autodiff(),
            targets.without_autodiff(),
            weights.without_autodiff(),
        );
        if let Some(rows) = rows {
            x = x.select(0, rows.clone());
            y = y.select(0, rows.clone());
            w = w.select(0, rows);
        }
        let weight = self.weight.val().without_autodiff();
        let bias = self.bias_or_zeros().without_autodiff();
        let r = x.clone().matmul(weight) + bias.unsqueeze_dim::<2>(0) - y;
        let v = r.clone() * w.clone().unsqueeze_dim::<2>(1);
        let sum = (v.clone() * r).sum();
        let scale = scale(x.dims()[0]);
        let weight_grad = scale.times(2.0).apply(x.transpose().matmul(v.clone()));
        let bias_grad = scale.times(2.0).apply(v.sum_dim(0)).squeeze_dim::<1>(0);
        (
            scale.apply(sum),
            weight_grad,
            self.bias.as_ref().map(|_| bias_grad),
        )
    }

    /// The bias, or zeros (a constant, without a gradient) for a model without one.
    fn bias_or_zeros(&self) -> Tensor<1> {
        match &self.bias {
            Some(bias) => bias.val(),
            None => {
                let weight = self.weight.val();
                Tensor::zeros([self.n_targets()], (&weight.device(), weight.dtype()))
            }
        }
    }

    /// The fused loss's shape checks, with the two-call form's meaning (a panic, as Burn's).
    fn check_fused_shapes(&self, features: &Tensor<2>, targets: &Tensor<2>) {
        let [n, m] = features.dims();
        let [n_y, k] = targets.dims();
        assert!(
            m == self.n_features() && n_y == n && k == self.n_targets(),
            "LinearModel::loss: features [{n}, {m}] and targets [{n_y}, {k}] do not fit a model \
             of {} features and {} targets",
            self.n_features(),
            self.n_targets()
        );
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
            names: self.names,
        }
    }

    /// The parameters on the plain device: no autodiff leaf is registered while they change.
    pub(crate) fn untracked(self) -> Self {
        self.map_params(|w| w.without_autodiff(), |b| b.without_autodiff())
    }

    /// The parameters back on the autodiff device, requiring gradients.
    pub(crate) fn tracked(self) -> Self {
        self.map_params(
            |w| w.autodiff().require_grad(),
            |b| b.autodiff().require_grad(),
        )
    }

    /// Checks that this model applies to `data`: the same features and targets, device and float
    /// type. The one check of every call that takes a model and a dataset.
    pub(crate) fn check_data(&self, context: &str, data: &Dataset) -> Result<()> {
        self.check_shape(context, data.n_features(), data.n_targets(), None)?;
        let (features, targets) = data.names();
        self.check_names(context, features, targets)?;
        self.check_compatible(context, &data.features())
    }

    /// Checks that columns named `features` and `targets` are the ones this model was fitted
    /// on (see [`Names::check`]).
    pub(crate) fn check_names(
        &self,
        context: &str,
        features: &Names,
        targets: &Names,
    ) -> Result<()> {
        if let Some(names) = &self.names {
            names.features.check(context, "features", features)?;
            names.targets.check(context, "targets", targets)?;
        }
        Ok(())
    }

    /// Checks the model's shape: `n_features`, `n_targets`, and whether it has a bias when
    /// `bias` says. The error names what was expected and what this model has.
    pub(crate) fn check_shape(
        &self,
        context: &str,
        n_features: usize,
        n_targets: usize,
        bias: Option<bool>,
    ) -> Result<()> {
        let fits = self.n_features() == n_features
            && self.n_targets() == n_targets
            && bias.is_none_or(|b| b == self.has_bias());
        if fits {
            return Ok(());
        }
        let describe = |m: usize, k: usize, bias: Option<bool>| {
            let bias = match bias {
                Some(true) => ", with a bias",
                Some(false) => ", without a bias",
                None => "",
            };
            format!("{m} features, {k} targets{bias}")
        };
        Err(Error::shape_mismatch(
            format!("{context}: model vs data"),
            describe(n_features, n_targets, bias),
            describe(
                self.n_features(),
                self.n_targets(),
                bias.map(|_| self.has_bias()),
            ),
        ))
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
