//! [`Sgd`]: `torch.optim.SGD`, exactly, in the model's precision.
//!
//! For each parameter `p` with gradient `g` (PyTorch's documented algorithm, `maximize=False`):
//!
//! ```text
//! g = g + weight_decay * p                       if weight_decay != 0
//! if momentum != 0:
//!     buf = g                                    at the first step
//!     buf = momentum * buf + (1 - dampening) * g  afterwards
//!     g = g + momentum * buf                     if nesterov
//!     g = buf                                    otherwise
//! p = p - lr * g
//! ```
//!
//! Differences from Burn's own `SgdConfig`: Burn's `MomentumConfig` defaults to dampening 0.1
//! and keeps momentum and weight decay as `f32`, which drifts from PyTorch's float64 by ~1e-7;
//! here every coefficient is an `f64` applied in the model's float type, and the momentum
//! buffers are tensors in that type, on the model's device.

use burn::config::Config;
use burn::tensor::Tensor;

use crate::model::LinearModel;
use crate::{Error, Result};

/// Settings of [`Sgd`], with `torch.optim.SGD`'s names, defaults and validation.
///
/// # Example
/// ```
/// use linfit::SgdConfig;
/// let sgd = SgdConfig::new(0.01).with_momentum(0.9).with_nesterov(true).init()?;
/// assert_eq!(sgd.lr(), 0.01);
/// assert!(SgdConfig::new(0.01).with_nesterov(true).init().is_err()); // needs momentum > 0
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct SgdConfig {
    /// Learning rate (`lr`). Must be finite and >= 0.
    pub lr: f64,
    /// Momentum factor. Default 0 (plain gradient descent). Must be finite and >= 0.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Dampening of the momentum's gradient term. Default 0 (PyTorch's; Burn's is 0.1). Finite.
    #[config(default = 0.0)]
    pub dampening: f64,
    /// L2 penalty added to the gradient (`g + weight_decay * p`). Default 0. Finite and >= 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Nesterov momentum. Default `false`. Needs `momentum > 0` and `dampening == 0`.
    #[config(default = false)]
    pub nesterov: bool,
}

impl SgdConfig {
    /// Validates the settings, as `torch.optim.SGD.__init__` does, and makes the optimizer.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the setting and the rule it breaks: a negative or
    /// non-finite `lr`, `momentum` or `weight_decay`, a non-finite `dampening`, or `nesterov`
    /// without `momentum > 0` and `dampening == 0`.
    pub fn init(&self) -> Result<Sgd> {
        check_lr(self.lr)?;
        for (name, value) in [
            ("momentum", self.momentum),
            ("weight_decay", self.weight_decay),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidHyperparameter {
                    name,
                    value: value.to_string(),
                    rule: "must be finite and >= 0",
                });
            }
        }
        if !self.dampening.is_finite() {
            return Err(Error::InvalidHyperparameter {
                name: "dampening",
                value: self.dampening.to_string(),
                rule: "must be finite",
            });
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::InvalidHyperparameter {
                name: "nesterov",
                value: format!(
                    "true (momentum = {}, dampening = {})",
                    self.momentum, self.dampening
                ),
                rule: "Nesterov momentum requires a momentum > 0 and zero dampening",
            });
        }
        Ok(Sgd {
            config: self.clone(),
            lr: self.lr,
            pending: None,
            buffers: None,
        })
    }
}

fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name: "lr",
            value: lr.to_string(),
            rule: "the learning rate must be finite and >= 0",
        })
    }
}

/// Gradients (or momentum buffers) of a model's two parameters, on the model's plain device.
#[derive(Clone, Debug)]
struct ParamTensors {
    weight: Option<Tensor<2>>,
    bias: Option<Tensor<1>>,
}

/// Stochastic gradient descent with PyTorch's semantics: the explicit
/// `zero_grad` / `backward` / `step` loop.
///
/// Like PyTorch, gradients stay pending after `step` until `zero_grad`: two `backward` calls
/// without `zero_grad` add up, and skipping `zero_grad` in a loop accumulates, exactly as
/// `loss.backward()` does on `.grad`.
///
/// # Example
/// ```
/// use linfit::prelude::*;
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![0.0], vec![1.0]], &[1.0, 3.0], &cpu)?;
/// let mut model = LinearModel::from_values(1, &[0.0], Some(&[0.0]), &cpu)?;
/// let mut sgd = SgdConfig::new(0.1).init()?;
/// for _ in 0..500 {
///     sgd.zero_grad();
///     let loss = Loss::SumSquared.forward(model.forward(data.features()), data.targets());
///     sgd.backward(&loss, &model);
///     model = sgd.step(model)?;
/// }
/// assert!((model.weights()[0] - 2.0).abs() < 1e-9);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug)]
pub struct Sgd {
    config: SgdConfig,
    lr: f64,
    pending: Option<ParamTensors>,
    buffers: Option<ParamTensors>,
}

impl Sgd {
    /// Drops the pending gradients (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&mut self) {
        self.pending = None;
    }

    /// Backpropagates `loss` and adds the gradients of `model`'s parameters to the pending ones.
    ///
    /// A loss that carries no autodiff graph (computed on `model.valid()`, say) or that does not
    /// depend on `model` adds nothing; [`step`](Self::step) then reports that no gradient is
    /// pending.
    ///
    /// # Shapes
    /// `loss` `[1]`.
    pub fn backward(&mut self, loss: &Tensor<1>, model: &LinearModel) {
        if !loss.is_tracked() {
            return;
        }
        let grads = loss.backward();
        let weight = model.weight_param().val().grad(&grads);
        let bias = model.bias_param().and_then(|b| b.val().grad(&grads));
        self.accumulate(weight, bias);
    }

    /// Adds gradients (on the model's plain device) to the pending ones: what
    /// [`backward`](Self::backward) does with the gradients it reads.
    pub(crate) fn accumulate(&mut self, weight: Option<Tensor<2>>, bias: Option<Tensor<1>>) {
        self.pending = Some(match self.pending.take() {
            None => ParamTensors { weight, bias },
            Some(old) => ParamTensors {
                weight: add_opt(old.weight, weight),
                bias: add_opt(old.bias, bias),
            },
        });
    }

    /// One update of `model`'s parameters with the pending gradients; returns the updated model.
    ///
    /// The gradients stay pending (as in PyTorch) until [`zero_grad`](Self::zero_grad).
    ///
    /// # Errors
    /// [`Error::NoGradients`] when no gradient is pending; [`Error::ShapeMismatch`] when the
    /// pending gradients or momentum buffers belong to a model of another shape.
    pub fn step(&mut self, model: LinearModel) -> Result<LinearModel> {
        self.update_model(model, true)
    }

    /// [`step`](Self::step), with the updated parameters made autodiff leaves requiring a
    /// gradient (`track`), or left on the plain device (the training loop's form: a new leaf
    /// is registered in Burn's autodiff graph, which only a `backward` call frees).
    pub(crate) fn update_model(&mut self, model: LinearModel, track: bool) -> Result<LinearModel> {
        let grads = match &self.pending {
            Some(p) if p.weight.is_some() || p.bias.is_some() => p.clone(),
            _ => return Err(Error::NoGradients),
        };
        let [m, k] = [model.n_features(), model.n_targets()];
        check_dims(
            "weight gradient",
            grads.weight.as_ref().map(|g| g.dims()),
            [m, k],
        )?;
        check_dims(
            "bias gradient",
            grads.bias.as_ref().map(|g| [g.dims()[0], 1]),
            [k, 1],
        )?;
        if let Some(buffers) = &self.buffers {
            check_dims(
                "weight momentum buffer",
                buffers.weight.as_ref().map(|g| g.dims()),
                [m, k],
            )?;
            check_dims(
                "bias momentum buffer",
                buffers.bias.as_ref().map(|g| [g.dims()[0], 1]),
                [k, 1],
            )?;
        }

        let (mut weight_buf, mut bias_buf) = match self.buffers.take() {
            Some(b) => (b.weight, b.bias),
            None => (None, None),
        };
        let config = &self.config;
        let lr = self.lr;
        let model = model.map_params(
            |p| match grads.weight {
                Some(g) => update(config, lr, p, g, &mut weight_buf, track),
                None => p,
            },
            |p| match grads.bias {
                Some(g) => update(config, lr, p, g, &mut bias_buf, track),
                None => p,
            },
        );
        if config.momentum != 0.0 {
            self.buffers = Some(ParamTensors {
                weight: weight_buf,
                bias: bias_buf,
            });
        }
        Ok(model)
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Changes the learning rate (for a schedule), keeping the momentum buffers.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite value.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check_lr(lr)?;
        self.lr = lr;
        Ok(())
    }

    /// The settings this optimizer was made from (with the initial learning rate).
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// Forgets the momentum buffers, as a fresh `torch.optim.SGD` would have none.
    pub fn reset_state(&mut self) {
        self.buffers = None;
    }
}

fn add_opt<const D: usize>(a: Option<Tensor<D>>, b: Option<Tensor<D>>) -> Option<Tensor<D>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

fn check_dims<const D: usize>(
    what: &str,
    actual: Option<[usize; D]>,
    expected: [usize; D],
) -> Result<()> {
    match actual {
        Some(actual) if actual != expected => Err(Error::shape_mismatch(
            format!("{what} vs the model given to step"),
            format!("{expected:?}"),
            format!("{actual:?}"),
        )),
        _ => Ok(()),
    }
}

/// PyTorch's SGD update of one parameter (its `_single_tensor_sgd`), on the plain device.
fn update<const D: usize>(
    config: &SgdConfig,
    lr: f64,
    param: Tensor<D>,
    grad: Tensor<D>,
    buffer: &mut Option<Tensor<D>>,
    track: bool,
) -> Tensor<D> {
    let param = param.without_autodiff();
    let mut grad = grad;
    if config.weight_decay != 0.0 {
        grad = grad + param.clone().mul_scalar(config.weight_decay);
    }
    if config.momentum != 0.0 {
        let buf = match buffer.take() {
            None => grad.clone(),
            Some(buf) => {
                let scaled = if config.dampening == 0.0 {
                    grad.clone()
                } else {
                    grad.clone().mul_scalar(1.0 - config.dampening)
                };
                buf.mul_scalar(config.momentum) + scaled
            }
        };
        grad = if config.nesterov {
            grad + buf.clone().mul_scalar(config.momentum)
        } else {
            buf.clone()
        };
        *buffer = Some(buf);
    }
    let updated = param - grad.mul_scalar(lr);
    if track {
        updated.autodiff().require_grad()
    } else {
        updated
    }
}
