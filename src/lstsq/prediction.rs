//! [`LeastSquaresFit::predict_intervals`]: predictions for new rows with their uncertainty,
//! statsmodels' `get_prediction(exog).summary_frame(alpha)`.
//!
//! For a new row `x0` the prediction `b + x0 w` has variance `sigma^2 (1 / sum w + z0^T G z0)`,
//! `z0 = x0 - mean(x)` in the solver's unit-column coordinates and `G = (Zs^T Zs)^+` (without an
//! intercept, `sigma^2 z0^T G z0` with `z0 = x0`): the centred form, which keeps its digits
//! where the uncentred quadratic form `[1 x0] (D^T D)^+ [1 x0]^T` cancels (Longley's years near
//! 1950). A new observation adds `sigma^2 / w0` (`w0` its weight, 1 by default). The quadratic
//! forms are one matrix product on the data's device, `O(r m^2)` for `r` rows.

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;
use statrs::distribution::StudentsT;

use super::LeastSquaresFit;
use super::summary::t_quantile;
use crate::device::read_f64;
use crate::float::{scale2, times_pow2};
use crate::{Error, Result};

/// Predictions for new rows with their uncertainty, for one target (statsmodels'
/// `summary_frame` columns). For a row outside the row space of the fit's design (a
/// rank-deficient fit: the data do not determine its prediction) `mean` is the minimum-norm
/// fit's prediction, `estimable` is false, and every other column is NaN.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionFrame {
    /// The predictions, `b + x0 w` (`mean`).
    pub mean: Vec<f64>,
    /// The standard errors of the predictions (`mean_se`).
    pub mean_se: Vec<f64>,
    /// The confidence interval of the mean prediction at [`level`](Self::level)
    /// (`mean_ci_lower`, `mean_ci_upper`).
    pub mean_ci_lower: Vec<f64>,
    /// See [`mean_ci_lower`](Self::mean_ci_lower).
    pub mean_ci_upper: Vec<f64>,
    /// The prediction interval of a new observation at [`level`](Self::level)
    /// (`obs_ci_lower`, `obs_ci_upper`).
    pub obs_ci_lower: Vec<f64>,
    /// See [`obs_ci_lower`](Self::obs_ci_lower).
    pub obs_ci_upper: Vec<f64>,
    /// Whether the data determine each row's prediction (its row lies in the design's row space).
    pub estimable: Vec<bool>,
    /// The intervals' confidence level (statsmodels' `1 - alpha`).
    pub level: f64,
}

impl PredictionFrame {
    /// Writes the frame as CSV to `path`: a header (`mean, mean_se, mean_ci_lower,
    /// mean_ci_upper, obs_ci_lower, obs_ci_upper, estimable`) and one line per row, in shortest
    /// round-trip decimals (NaN as `NaN`). The file is written beside `path` and renamed into
    /// place.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write_csv(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use super::table::Column;
        let header = [
            "mean",
            "mean_se",
            "mean_ci_lower",
            "mean_ci_upper",
            "obs_ci_lower",
            "obs_ci_upper",
            "estimable",
        ]
        .map(String::from);
        let columns = [
            Column::Number(&self.mean),
            Column::Number(&self.mean_se),
            Column::Number(&self.mean_ci_lower),
            Column::Number(&self.mean_ci_upper),
            Column::Number(&self.obs_ci_lower),
            Column::Number(&self.obs_ci_upper),
            Column::Flag(&self.estimable),
        ];
        super::table::write_table(path.as_ref(), &header, &columns)
    }
}

/// A new row is estimable when its parameter direction `[1 x0]` is orthogonal to the null
/// space to this tolerance, relative to its norm.
const ESTIMABLE_TOL: f64 = 1e-8;

impl LeastSquaresFit {
    /// Predictions for new rows `features` (`[r, n_features]`, on the fit's device), with the
    /// standard error of each, the confidence interval of the mean and the prediction interval
    /// of a new observation at confidence `level` (0.95 for 95%), one frame per target:
    /// statsmodels' `get_prediction(exog).summary_frame(alpha=1 - level)` (Student's t with
    /// the residual degrees of freedom). With sample weights (weighted least squares) the new
    /// observations have weight 1; see
    /// [`predict_intervals_with_weights`](Self::predict_intervals_with_weights).
    ///
    /// Rows the data do not determine (outside the row space of a rank-deficient design) get
    /// NaN intervals and `estimable: false`, not a confident interval of an arbitrary choice.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a `level` outside `(0, 1)`;
    /// [`Error::ShapeMismatch`] for another number of features or no rows;
    /// [`Error::DeviceMismatch`] for features on another device or in another float type;
    /// [`Error::Numerical`] without residual degrees of freedom or for a ridge fit (no
    /// covariance); [`Error::Readback`] when the device fails.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, LeastSquares, Precision, Tensor};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let rows: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64]).collect();
    /// let y = [0.1, 0.9, 2.2, 2.9, 4.1, 5.0];
    /// let fit = LeastSquares::new().fit(&Dataset::from_rows(&rows, &y, &cpu)?)?;
    /// let frames = fit.predict_intervals(Tensor::<2>::from_floats([[2.5], [10.0]], &cpu), 0.95)?;
    /// let f = &frames[0];
    /// assert!(f.obs_ci_lower[0] < f.mean_ci_lower[0] && f.mean_ci_upper[0] < f.obs_ci_upper[0]);
    /// assert!(f.mean_se[1] > f.mean_se[0]); // farther from the data's centre
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn predict_intervals(
        &self,
        features: Tensor<2>,
        level: f64,
    ) -> Result<Vec<PredictionFrame>> {
        let rows = features.dims()[0];
        self.predict_intervals_with_weights(features, &vec![1.0; rows], level)
    }

    /// [`predict_intervals`](Self::predict_intervals) with a weight per new row for the
    /// prediction interval of its observation (variance `sigma^2 / weight`, statsmodels'
    /// `get_prediction(exog, weights=...)`).
    ///
    /// # Errors
    /// As [`predict_intervals`](Self::predict_intervals); [`Error::ShapeMismatch`] unless
    /// there is one weight per row, [`Error::OutOfRange`] for a weight that is not finite and
    /// positive.
    pub fn predict_intervals_with_weights(
        &self,
        features: Tensor<2>,
        weights: &[f64],
        level: f64,
    ) -> Result<Vec<PredictionFrame>> {
        let rows = features.dims()[0];
        self.check_prediction(&features, weights, level)?;
        let df = self.df_residual();
        let t = StudentsT::new(0.0, 1.0, df as f64)
            .map(|d| t_quantile(&d, 0.5 + level / 2.0))
            .map_err(|e| Error::Numerical(format!("Student's t with {df} degrees: {e}")))?;
        let features = features.without_autodiff();
        // In chunks of rows, in parallel (temporaries of a chunk's size, kept in cache on the
        // host CPU), then joined in row order.
        let chunk = super::row_passes::table_chunk_rows(&features.device());
        let parts = super::row_passes::par_ranges(rows, chunk, Vec::new, |out, range| {
            let x = features.clone().slice(range);
            let mean = read_f64(self.model.predict(x.clone())?)?;
            out.push((mean, self.quadratic_form(x.clone())?, self.estimable(x)?));
            Ok(())
        })?;
        let (mut mean, mut form, mut estimable) = (Vec::new(), Vec::new(), Vec::new());
        for (m, f, e) in parts.into_iter().flatten() {
            mean.extend(m);
            form.extend(f);
            estimable.extend(e);
        }
        let k = self.model.n_targets();
        let ey = &self.scaled.scaling.y;
        Ok((0..k)
            .map(|target| {
                // In the solver's units: s2 = SSE' / df; the variance of the mean s2 times
                // the unit leverage, of an observation that plus s2 scale / w0.
                let s2 = self.scaled.sse[target] / df as f64;
                let back = |v: f64| scale2(v.sqrt(), -ey[target]);
                let mut frame = PredictionFrame {
                    mean: (0..rows).map(|r| mean[r * k + target]).collect(),
                    mean_se: Vec::with_capacity(rows),
                    mean_ci_lower: Vec::with_capacity(rows),
                    mean_ci_upper: Vec::with_capacity(rows),
                    obs_ci_lower: Vec::with_capacity(rows),
                    obs_ci_upper: Vec::with_capacity(rows),
                    estimable: estimable.clone(),
                    level,
                };
                for r in 0..rows {
                    let var = s2 * form[r];
                    let obs = var + s2 * self.weighting.scale / weights[r];
                    let (se, obs_se) = match estimable[r] {
                        true => (back(var), back(obs)),
                        false => (f64::NAN, f64::NAN),
                    };
                    let y = frame.mean[r];
                    frame.mean_se.push(se);
                    frame.mean_ci_lower.push(y - t * se);
                    frame.mean_ci_upper.push(y + t * se);
                    frame.obs_ci_lower.push(y - t * obs_se);
                    frame.obs_ci_upper.push(y + t * obs_se);
                }
                frame
            })
            .collect())
    }

    fn check_prediction(&self, features: &Tensor<2>, weights: &[f64], level: f64) -> Result<()> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::InvalidHyperparameter {
                name: "level",
                value: level.to_string(),
                rule: "a confidence level in (0, 1), such as 0.95",
            });
        }
        let [rows, m] = features.dims();
        if m != self.model.n_features() || rows == 0 {
            return Err(Error::shape_mismatch(
                "features passed to predict_intervals",
                format!("[r >= 1, {}]", self.model.n_features()),
                format!("[{rows}, {m}]"),
            ));
        }
        if weights.len() != rows {
            return Err(Error::shape_mismatch(
                "weights of the new rows (one per row)",
                rows,
                weights.len(),
            ));
        }
        if let Some(r) = weights.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(Error::OutOfRange {
                what: format!("the weight of new row {r}"),
                value: weights[r].to_string(),
                rule: "must be finite and > 0".into(),
            });
        }
        self.model
            .check_compatible("features passed to predict_intervals", features)?;
        if self.df_residual() == 0 || self.alpha > 0.0 {
            return Err(Error::Numerical(
                if self.alpha > 0.0 {
                    "a ridge fit has no covariance of its estimates: no intervals"
                } else {
                    "no residual degrees of freedom: the variance cannot be estimated"
                }
                .into(),
            ));
        }
        Ok(())
    }

    /// The rows in the solver's unit-column coordinates: `(x 2^ex - mean(x')) / D` (the mean 0
    /// without an intercept), on the features' device. The mean is subtracted first, as the
    /// sum of its value in the device's float type and the remainder, so that rows near the
    /// mean (a column of years near 1950, or values near 1e5 in f32) keep their digits: the
    /// first difference is exact there (Sterbenz).
    pub(super) fn unit_coordinates(&self, features: Tensor<2>) -> Tensor<2> {
        let s = &self.scaled;
        let m = s.column_scale.len();
        let (device, dtype) = (features.device(), features.dtype());
        let row = |values: Vec<f64>| {
            Tensor::<2>::from_data(TensorData::new(values, [1, m]), (&device, dtype))
        };
        let inverse_scale = row(s.column_scale.iter().map(|d| 1.0 / d).collect());
        let high: Vec<f64> = match dtype {
            burn::tensor::DType::F64 => s.x_mean.clone(),
            _ => s.x_mean.iter().map(|v| f64::from(*v as f32)).collect(),
        };
        let low: Vec<f64> = s.x_mean.iter().zip(&high).map(|(v, h)| v - h).collect();
        let centred = times_pow2(features, s.scaling.x) - row(high);
        let centred = match low.iter().any(|v| *v != 0.0) {
            true => centred - row(low),
            false => centred,
        };
        centred * inverse_scale
    }

    /// `z^T G z` per row of unit coordinates `z` (`G = (Zs^T Zs)^+`), on their device.
    pub(super) fn gram_form(&self, z: Tensor<2>) -> Tensor<2> {
        let m = self.scaled.column_scale.len();
        let g = Tensor::<2>::from_data(
            TensorData::new(
                self.scaled.gram_pinv.iter().flatten().copied().collect(),
                [m, m],
            ),
            (&z.device(), z.dtype()),
        );
        (z.clone().matmul(g) * z).sum_dim(1)
    }

    /// The leverage of rows of unit coordinates `z` before their weights: `1 / sum w + z^T G z`
    /// (without an intercept `z^T G z`), on their device. A training row of weight `w` has the
    /// leverage `w / scale` times this; a new row's prediction has the variance `s^2` times it.
    pub(super) fn unit_leverage(&self, z: Tensor<2>) -> Tensor<2> {
        let constant = f64::from(u8::from(self.intercept)) / self.weighting.total;
        self.gram_form(z).add_scalar(constant)
    }

    /// [`unit_leverage`](Self::unit_leverage) of `features`, read back.
    fn quadratic_form(&self, features: Tensor<2>) -> Result<Vec<f64>> {
        read_f64(self.unit_leverage(self.unit_coordinates(features)))
    }

    /// Whether each row's parameter direction `[1 x0]` (or `x0` without intercept) is
    /// orthogonal to the null space.
    fn estimable(&self, features: Tensor<2>) -> Result<Vec<bool>> {
        let rows = features.dims()[0];
        let null = self.null_space();
        if null.is_empty() {
            return Ok(vec![true; rows]);
        }
        let (m, q) = (self.model.n_features(), null.len());
        let i = usize::from(self.intercept);
        let (device, dtype) = (features.device(), features.dtype());
        let weights: Vec<f64> = (0..m)
            .flat_map(|j| null.iter().map(move |v| v[i + j]))
            .collect();
        let n = Tensor::<2>::from_data(TensorData::new(weights, [m, q]), (&device, dtype));
        let mut along = features.clone().matmul(n);
        if i == 1 {
            let intercepts = null.iter().map(|v| v[0]).collect();
            along = along
                + Tensor::<2>::from_data(TensorData::new(intercepts, [1, q]), (&device, dtype));
        }
        let along = read_f64(along)?;
        let norms = read_f64(features.square().sum_dim(1))?;
        Ok((0..rows)
            .map(|r| {
                let norm = (norms[r] + i as f64).sqrt();
                along[r * q..(r + 1) * q]
                    .iter()
                    .all(|a| a.abs() <= ESTIMABLE_TOL * norm)
            })
            .collect())
    }
}
