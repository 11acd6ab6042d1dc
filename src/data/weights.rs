//! Sample weights: validated once, and normalised by one rule wherever they meet residuals.
//!
//! Only the weights' ratios matter to weighted means, the metrics, the mean loss and the closed
//! form's estimates. So every estimator sees them divided by `2^e`, the least power of two above
//! the largest ([`normalising_exponent`]): exact (only exponents change, subnormal weights
//! included), and afterwards every weight lies in `[0, 1)`, so neither `w r^2` nor `sum w`
//! overflows or underflows where the raw weights would (1e300, 1e-310). Where the absolute
//! weights matter (the sum loss `sum w r^2`, scikit-learn's `SGDRegressor`), `2^e` is applied to
//! the result ([`LossScale`]) or the raw weights are used.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::device::Precision;
use crate::float::{exponent_above, scale2};
use crate::loss::{Loss, LossScale};
use crate::{Error, Result};

/// The exponent `e` that normalises these weights: `2^e` is the least power of two above the
/// largest (at most `2^1023`, f64's largest), 0 when none is positive.
pub(crate) fn normalising_exponent(weights: impl IntoIterator<Item = f64>) -> i32 {
    exponent_above(weights.into_iter().fold(0.0, f64::max)).min(1023)
}

/// A dataset's sample weights, validated: `n_samples` finite values `>= 0`.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    /// As given.
    pub(crate) host: Arc<[f64]>,
    /// Normalised, on the data's device.
    pub(crate) device: DeviceWeights,
}

/// Sample weights as every estimator on the device sees them: `w 2^-e`
/// ([`normalising_exponent`]).
#[derive(Debug, Clone)]
pub(crate) struct DeviceWeights {
    /// `w 2^-e`, `[n]`.
    pub(crate) tensor: Tensor<1>,
    /// `e`.
    pub(crate) exponent: i32,
    /// The mean of `w 2^-e` over all the data's rows (also after `select` or `slice`: a batch
    /// is normalised by the whole data's mean weight, not its own).
    pub(crate) mean: f64,
}

impl Weights {
    /// `weights` for data of `n` rows on `device`: checked (one per row, finite, `>= 0`, not
    /// all zero unless `part`, representable on an f32 device) and normalised.
    pub(crate) fn new(
        weights: &[f64],
        n: usize,
        device: &Device,
        precision: Precision,
        part: bool,
    ) -> Result<Self> {
        if weights.len() != n {
            return Err(Error::shape_mismatch(
                "sample weights (one per row)",
                n,
                weights.len(),
            ));
        }
        super::check_values("weights", weights, 1, precision)?;
        if let Some(row) = weights.iter().position(|&w| w < 0.0) {
            return Err(Error::OutOfRange {
                what: format!("sample weight at row {row}"),
                value: weights[row].to_string(),
                rule: "sample weights must be >= 0".into(),
            });
        }
        if !part && weights.iter().all(|&w| w == 0.0) {
            return Err(Error::EmptyData {
                what: "every sample weight is zero".into(),
            });
        }
        let exponent = normalising_exponent(weights.iter().copied());
        let normalised: Vec<f64> = weights.iter().map(|&w| scale2(w, -exponent)).collect();
        if precision == Precision::F32
            && let Some(row) = normalised
                .iter()
                .position(|&w| w > 0.0 && (w as f32) == 0.0)
        {
            return Err(Error::OutOfRange {
                what: format!("sample weight at row {row}"),
                value: weights[row].to_string(),
                rule: "is below 2^-149 times the largest weight, a ratio f32 cannot hold: \
                       use Precision::F64"
                    .into(),
            });
        }
        let mean = crate::lstsq::double_double::sum(normalised.iter().copied()) / n.max(1) as f64;
        let tensor = Tensor::<1>::from_data(
            TensorData::new(normalised, [n]),
            (device, precision.dtype()),
        );
        Ok(Weights {
            host: weights.into(),
            device: DeviceWeights {
                tensor,
                exponent,
                mean,
            },
        })
    }
}

impl DeviceWeights {
    /// The weights of the rows at `rows`.
    pub(crate) fn select(&self, rows: Tensor<1, Int>) -> Self {
        DeviceWeights {
            tensor: self.tensor.clone().select(0, rows),
            ..self.clone()
        }
    }

    /// The weights of rows `start..end`.
    pub(crate) fn slice(&self, start: usize, end: usize) -> Self {
        DeviceWeights {
            tensor: self.tensor.clone().slice(start..end),
            ..self.clone()
        }
    }

    /// The factor from `sum_i w_i 2^-e |r_i|^2` over `rows` rows of `k` targets to the
    /// training loss: `2^e` for the sum (the raw weights' sum of squares), and
    /// `1 / (k rows mean(w 2^-e))` for the mean (in which `2^e` cancels).
    pub(crate) fn loss_scale(&self, kind: Loss, rows: usize, k: usize) -> LossScale {
        match kind {
            Loss::SumSquared => LossScale::pow2(self.exponent),
            Loss::MeanSquared => LossScale::factor(1.0 / (k as f64 * rows as f64 * self.mean)),
        }
    }

    /// The training loss of `predictions` against `targets` (`[b, k]`, the rows of these
    /// weights): `sum_i w_i |r_i|^2`, or that over `k b mean(w)`.
    pub(crate) fn loss(&self, kind: Loss, predictions: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        let [b, k] = targets.dims();
        let sum = Loss::SumSquared.forward_weighted(predictions, targets, self.tensor.clone());
        self.loss_scale(kind, b, k).apply(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_weight_normalises_below_one_exactly() {
        for &largest in &[1.0, 0.75, 3.0, 1e300, f64::MAX, 1e-310, 5e-324] {
            let e = normalising_exponent([0.0, largest, largest / 4.0]);
            let top = scale2(largest, -e);
            assert!((0.5..1.0).contains(&top) || (largest >= 2f64.powi(1023) && top >= 1.0));
            assert_eq!(scale2(top, e), largest, "{largest:e}");
        }
        assert_eq!(normalising_exponent([0.0, 0.0]), 0);
        assert_eq!(normalising_exponent([1.0]), 1);
    }

    #[test]
    fn the_loss_scale_restores_the_raw_sum_and_cancels_in_the_mean() {
        let dw = |w: f64| DeviceWeights {
            tensor: Tensor::<1>::from_floats([0.0], &crate::device::cpu(Precision::F64).unwrap()),
            exponent: normalising_exponent([w]),
            mean: scale2(w, -normalising_exponent([w])),
        };
        for w in [1.0, 1e300, 1e-310] {
            let d = dw(w);
            // Two rows of one target, each residual 1: sum w r^2 = 2 w, mean 1.
            let normalised_sum = 2.0 * scale2(w, -d.exponent);
            assert_eq!(
                d.loss_scale(Loss::SumSquared, 2, 1).value(normalised_sum),
                2.0 * w
            );
            assert_eq!(
                d.loss_scale(Loss::MeanSquared, 2, 1).value(normalised_sum),
                1.0
            );
        }
    }
}
