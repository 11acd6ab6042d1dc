//! [`Standardizer`]: zero mean, unit variance, and the way back to the original units.

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};

use crate::data::Dataset;
use crate::device::read_f64;
use crate::float::{exponent, scale2};
use crate::model::LinearModel;
use crate::{Error, Result};

/// Column means and standard deviations of a dataset's features (and optionally targets),
/// scikit-learn's `StandardScaler` (population standard deviation, `ddof = 0`).
///
/// Gradient descent on raw features of very different scales needs a learning rate small enough
/// for the largest one and then crawls along the others; on standardised features one rate suits
/// every coefficient. [`to_original_units`](Self::to_original_units) maps a model trained on
/// standardised data back to the original units, so nobody does that algebra by hand.
///
/// A constant column (standard deviation 0) is reported by
/// [`constant_columns`](Self::constant_columns) and only centred, never divided by zero.
///
/// # Example
/// ```
/// use linfit::{device, Dataset, Precision, StandardizerConfig};
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![1.0, 100.0], vec![3.0, 300.0]], &[1.0, 2.0], &cpu)?;
/// let scaler = StandardizerConfig::new().fit(&data)?;
/// let scaled = scaler.transform(&data)?;
/// assert_eq!(scaled.features().into_data().to_vec::<f64>().unwrap(), vec![-1.0, -1.0, 1.0, 1.0]);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    feature_mean: Vec<f64>,
    feature_std: Vec<f64>,
    target_mean: Option<Vec<f64>>,
    target_std: Option<Vec<f64>>,
    constant: Vec<usize>,
}

/// Column means and population standard deviations, computed on the columns divided by a
/// power of two near their largest magnitude: exact scaling, so the numbers are those of the
/// plain formulas, but squares of values near the float type's limit (1e200 in f64, 1e20 in
/// f32) no longer overflow to infinity (which made the column's scale infinite and the
/// standardised column zero).
fn moments(tensor: Tensor<2>) -> Result<(Vec<f64>, Vec<f64>)> {
    let width = tensor.dims()[1];
    let largest = read_f64(tensor.clone().abs().max_dim(0))?;
    let scale: Vec<f64> = largest
        .iter()
        .map(|&a| {
            if a > 0.0 {
                scale2(1.0, exponent(a))
            } else {
                1.0
            }
        })
        .collect();
    let row = Tensor::<2>::from_data(
        TensorData::new(scale.clone(), [1, width]),
        (&tensor.device(), tensor.dtype()),
    );
    let scaled = tensor / row;
    let mean = scaled.clone().mean_dim(0);
    let var = (scaled - mean.clone()).square().mean_dim(0);
    let mean = read_f64(mean)?;
    let var = read_f64(var)?;
    Ok((
        mean.iter().zip(&scale).map(|(m, s)| m * s).collect(),
        var.iter()
            .zip(&scale)
            .map(|(v, s)| v.max(0.0).sqrt() * s)
            .collect(),
    ))
}

/// Settings of a [`Standardizer`]; `fit` learns it from data (scikit-learn's
/// `StandardScaler().fit(X)`).
///
/// # Example
/// ```
/// use linfit::{device, Dataset, Precision, StandardizerConfig};
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![1.0], vec![3.0]], &[10.0, 30.0], &cpu)?;
/// let scaler = StandardizerConfig::new().with_targets(true).fit(&data)?;
/// assert_eq!(scaler.target_moments(), Some((&[20.0][..], &[10.0][..])));
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct StandardizerConfig {
    /// Standardise the targets too (then a model trained on the result predicts standardised
    /// targets, and [`Standardizer::to_original_units`] maps it back). Default `false`.
    #[config(default = false)]
    pub targets: bool,
}

impl StandardizerConfig {
    /// Learns the column means and standard deviations of `data`'s features, and of its targets
    /// too when [`targets`](Self::targets) is set. Computed on the data's device; `2 (m + k)`
    /// numbers come back. Unweighted even for data with sample weights (scikit-learn's
    /// `StandardScaler().fit(X)` without its `sample_weight`); the weights follow the rows into
    /// the standardised data.
    ///
    /// # Errors
    /// [`Error::Readback`] when the device fails.
    pub fn fit(&self, data: &Dataset) -> Result<Standardizer> {
        Standardizer::learn(data, self.targets)
    }
}

impl Standardizer {
    fn learn(data: &Dataset, targets: bool) -> Result<Self> {
        let (feature_mean, feature_std) = moments(data.features())?;
        // A column is constant when its spread is at rounding level of its magnitude.
        let eps = data.precision().epsilon();
        let constant: Vec<usize> = feature_std
            .iter()
            .zip(&feature_mean)
            .enumerate()
            .filter(|(_, (s, m))| **s <= 4.0 * eps * m.abs().max(f64::MIN_POSITIVE))
            .map(|(j, _)| j)
            .collect();
        if !constant.is_empty() {
            log::warn!("linfit: constant feature column(s) {constant:?}: centred, not scaled");
        }
        let (target_mean, target_std) = if targets {
            let (m, s) = moments(data.targets())?;
            (
                Some(m),
                Some(
                    s.into_iter()
                        .map(|s| if s > 0.0 { s } else { 1.0 })
                        .collect(),
                ),
            )
        } else {
            (None, None)
        };
        let feature_std = feature_std
            .iter()
            .enumerate()
            .map(|(j, &s)| if constant.contains(&j) { 1.0 } else { s })
            .collect();
        Ok(Self {
            feature_mean,
            feature_std,
            target_mean,
            target_std,
            constant,
        })
    }

    /// Feature means.
    pub fn feature_mean(&self) -> &[f64] {
        &self.feature_mean
    }

    /// Feature standard deviations (1 for constant columns).
    pub fn feature_std(&self) -> &[f64] {
        &self.feature_std
    }

    /// Indices of the constant feature columns (centred only).
    pub fn constant_columns(&self) -> &[usize] {
        &self.constant
    }

    /// Target means and standard deviations, when the targets were standardised too.
    pub fn target_moments(&self) -> Option<(&[f64], &[f64])> {
        Some((self.target_mean.as_deref()?, self.target_std.as_deref()?))
    }

    /// `(x - mean) / std` (and the same for the targets when fitted with them), on the device.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `data` has other columns than the data fitted on.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        let m = self.feature_mean.len();
        if data.n_features() != m {
            return Err(Error::shape_mismatch(
                "features to standardise",
                m,
                data.n_features(),
            ));
        }
        let device = data.device();
        let dtype = data.precision().dtype();
        let row = |v: &[f64]| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), (&device, dtype))
        };
        // (x - mean) / std, with x, mean and std first divided by a power of two near std
        // (exact): x - mean no longer overflows for values near the float type's limit.
        let standardise = |x: Tensor<2>, mean: &[f64], std: &[f64]| {
            // Kept within the normal range of the data's float type.
            let limit = if data.precision() == crate::Precision::F32 {
                120
            } else {
                1000
            };
            let down: Vec<f64> = std
                .iter()
                .map(|s| scale2(1.0, -exponent(*s).clamp(-limit, limit)))
                .collect();
            let scaled =
                |v: &[f64]| -> Vec<f64> { v.iter().zip(&down).map(|(a, d)| a * d).collect() };
            (x * row(&down) - row(&scaled(mean))) / row(&scaled(std))
        };
        let features = standardise(data.features(), &self.feature_mean, &self.feature_std);
        let targets = match (&self.target_mean, &self.target_std) {
            (Some(mean), Some(std)) => {
                if data.n_targets() != mean.len() {
                    return Err(Error::shape_mismatch(
                        "targets to standardise",
                        mean.len(),
                        data.n_targets(),
                    ));
                }
                standardise(data.targets(), mean, std)
            }
            _ => data.targets(),
        };
        Ok(Dataset::from_tensors(features, targets)?
            .with_names_of(data)
            .with_weights_of(data))
    }

    /// A model trained on standardised data, re-expressed in the original units:
    /// with `x_s = (x - mu) / sigma` and `y = sigma_y y_s + mu_y`,
    /// `W = diag(1 / sigma) W_s sigma_y` and `b = sigma_y (b_s - (mu / sigma) W_s) + mu_y`.
    /// Computed on the host in f64; the model comes back on its device.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the model's shape does not match the fitted data.
    pub fn to_original_units(&self, model: &LinearModel) -> Result<LinearModel> {
        let m = self.feature_mean.len();
        let k = model.n_targets();
        let expected_targets = self.target_mean.as_ref().map_or(k, Vec::len);
        model.check_shape(
            "model to map back to original units",
            m,
            expected_targets,
            None,
        )?;
        let ws = model.try_weights()?;
        let bs = model.try_bias()?.unwrap_or_else(|| vec![0.0; k]);
        let (ty_mean, ty_std) = match (&self.target_mean, &self.target_std) {
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            _ => (vec![0.0; k], vec![1.0; k]),
        };
        let mut w = vec![0.0; m * k];
        let mut b = vec![0.0; k];
        for t in 0..k {
            let mut shift = 0.0;
            for j in 0..m {
                let wj = ws[j * k + t] / self.feature_std[j];
                w[j * k + t] = wj * ty_std[t];
                shift += self.feature_mean[j] * wj;
            }
            b[t] = ty_std[t] * (bs[t] - shift) + ty_mean[t];
        }
        // A model without bias gains one: centring moves the origin.
        Ok(LinearModel::from_values(m, &w, Some(&b), &model.device())?.with_names_from(model))
    }
}
