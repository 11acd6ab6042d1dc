//! [`Loss`]: the squared-error losses, as PyTorch's `((y_hat - y)**2).sum()` and `MSELoss()`.

use burn::config::Config;
use burn::tensor::Tensor;

/// A squared-error loss over every element of the predictions.
///
/// - `SumSquared`: `sum_ij (y_hat_ij - y_ij)^2`, the seed notebook's loss
///   (`((Y_hat - Y_obs)**2).sum()`, or `nn.MSELoss(reduction="sum")`).
/// - `MeanSquared`: the same divided by the number of elements, `n * k`
///   (`nn.MSELoss()`, scikit-learn's `mean_squared_error` with `multioutput="uniform_average"`).
///
/// # Example
/// ```
/// use linfit::{device, Loss, Precision, Tensor};
/// let cpu = device::cpu(Precision::F64)?;
/// let y_hat = Tensor::<2>::from_floats([[1.0], [2.0]], &cpu);
/// let y = Tensor::<2>::from_floats([[0.0], [4.0]], &cpu);
/// let sum: f64 = Loss::SumSquared.forward(y_hat.clone(), y.clone()).into_scalar();
/// let mean: f64 = Loss::MeanSquared.forward(y_hat, y).into_scalar();
/// assert_eq!((sum, mean), (5.0, 2.5));
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Sum of squared errors.
    SumSquared,
    /// Mean of squared errors over every element.
    MeanSquared,
}

impl Loss {
    /// The loss, a one-element tensor that carries the autodiff graph of its inputs.
    ///
    /// # Shapes
    /// `predictions` and `targets` `[n, k]` -> `[1]`.
    ///
    /// # Panics
    /// When the shapes, devices or float types differ (Burn's checks): this is the hot path.
    pub fn forward(&self, predictions: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        let squared = (predictions - targets).square();
        match self {
            Loss::SumSquared => squared.sum(),
            Loss::MeanSquared => squared.mean(),
        }
    }

    /// The loss with sample weights `w`: `sum_i w_i sum_j (y_hat_ij - y_ij)^2` for the sum,
    /// that divided by `k sum_i w_i` for the mean (scikit-learn's weighted
    /// `mean_squared_error`); with every weight 1 it is [`forward`](Self::forward). Carries the
    /// autodiff graph of its inputs, for the explicit loop.
    ///
    /// # Shapes
    /// `predictions` and `targets` `[n, k]`, `weights` `[n]` -> `[1]`.
    ///
    /// # Panics
    /// When the shapes, devices or float types differ (Burn's checks): this is the hot path.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Loss, Precision, Tensor};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let y_hat = Tensor::<2>::from_floats([[1.0], [2.0]], &cpu);
    /// let y = Tensor::<2>::from_floats([[0.0], [4.0]], &cpu);
    /// let w = Tensor::<1>::from_floats([3.0, 1.0], &cpu);
    /// let sum: f64 = Loss::SumSquared.forward_weighted(y_hat.clone(), y.clone(), w.clone()).into_scalar();
    /// let mean: f64 = Loss::MeanSquared.forward_weighted(y_hat, y, w).into_scalar();
    /// assert_eq!((sum, mean), (7.0, 1.75)); // 3 * 1 + 1 * 4, over 3 + 1
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn forward_weighted(
        &self,
        predictions: Tensor<2>,
        targets: Tensor<2>,
        weights: Tensor<1>,
    ) -> Tensor<1> {
        let k = targets.dims()[1] as f64;
        let sum = ((predictions - targets).square() * weights.clone().unsqueeze_dim::<2>(1)).sum();
        match self {
            Loss::SumSquared => sum,
            Loss::MeanSquared => sum / weights.sum().mul_scalar(k),
        }
    }

    /// The factor from the sum of squared errors to this loss over `elements` values: 1 for
    /// the sum, `1 / elements` for the mean.
    pub(crate) fn scale(&self, elements: usize) -> f64 {
        match self {
            Loss::SumSquared => 1.0,
            Loss::MeanSquared => 1.0 / elements as f64,
        }
    }
}

/// A positive factor `factor 2^exponent` that takes a sum of squared errors to a loss (or its
/// gradient): kept in two parts because `2^exponent` (the sample weights' normalisation, see
/// `data::weights`) may lie outside the float type's range while the product does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LossScale {
    factor: f64,
    exponent: i32,
}

impl LossScale {
    /// The factor 1.
    pub(crate) const ONE: LossScale = LossScale {
        factor: 1.0,
        exponent: 0,
    };

    /// `factor`.
    pub(crate) fn factor(factor: f64) -> Self {
        LossScale {
            factor,
            exponent: 0,
        }
    }

    /// `2^exponent`.
    pub(crate) fn pow2(exponent: i32) -> Self {
        LossScale {
            factor: 1.0,
            exponent,
        }
    }

    /// This factor times `c`.
    pub(crate) fn times(self, c: f64) -> Self {
        LossScale {
            factor: self.factor * c,
            ..self
        }
    }

    /// `v` times this factor, on the host (exact in its power of two).
    pub(crate) fn value(self, v: f64) -> f64 {
        crate::float::scale2(v * self.factor, self.exponent)
    }

    /// `t` times this factor, on its device (the power of two exactly, see
    /// `float::times_pow2`).
    pub(crate) fn apply<const D: usize>(self, t: Tensor<D>) -> Tensor<D> {
        let t = if self.factor == 1.0 {
            t
        } else {
            t.mul_scalar(self.factor)
        };
        crate::float::times_pow2(t, self.exponent)
    }
}
