//! Regression metrics of a model on a dataset, computed on the device (one scalar read back).
//! Over several targets they are averaged uniformly, as scikit-learn's
//! `multioutput="uniform_average"`. With sample weights ([`Dataset::with_weights`]) they are
//! scikit-learn's weighted metrics (`sample_weight=w`): each mean is `sum_i w_i (.) / sum_i w_i`,
//! and R²'s total sum of squares is about the weighted mean. The weights are normalised by a
//! power of two (exact): only their ratios matter, whatever their magnitude.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::Result;
use crate::data::Dataset;
use crate::device::{read_f64, read_scalar};
use crate::model::LinearModel;

fn residuals(model: &LinearModel, data: &Dataset) -> Result<Tensor<2>> {
    model.check_data("metric", data)?;
    Ok(model.valid().forward(data.features()) - data.targets())
}

/// The mean of `values` `[n, k]` over rows, weighted by the data's sample weights if any, then
/// over the columns.
fn weighted_mean(values: Tensor<2>, data: &Dataset) -> Result<f64> {
    match data.device_weights() {
        None => read_scalar(values.mean()),
        Some(w) => {
            let w = w.tensor;
            let total = w.clone().sum();
            let k = values.dims()[1] as f64;
            read_scalar((values * w.unsqueeze_dim::<2>(1)).sum() / total.mul_scalar(k))
        }
    }
}

/// Mean squared error, `mean((y_hat - y)^2)`.
///
/// # Errors
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) or
/// [`Error::DeviceMismatch`](crate::Error::DeviceMismatch) when model and data do not fit.
///
/// # Example
/// ```
/// use linfit::{device, metrics, Dataset, LinearModel, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![1.0], vec![2.0]], &[2.0, 5.0], &cpu)?;
/// let model = LinearModel::from_values(1, &[2.0], Some(&[0.0]), &cpu)?;
/// assert_eq!(metrics::mse(&model, &data)?, 0.5); // errors 0 and -1
/// assert_eq!(metrics::mae(&model, &data)?, 0.5);
/// # Ok::<(), linfit::Error>(())
/// ```
pub fn mse(model: &LinearModel, data: &Dataset) -> Result<f64> {
    weighted_mean(residuals(model, data)?.square(), data)
}

/// Root mean squared error, `sqrt(mse)` (over all targets together).
///
/// # Errors
/// As [`mse`].
pub fn rmse(model: &LinearModel, data: &Dataset) -> Result<f64> {
    mse(model, data).map(f64::sqrt)
}

/// Mean absolute error, `mean(|y_hat - y|)`.
///
/// # Errors
/// As [`mse`].
pub fn mae(model: &LinearModel, data: &Dataset) -> Result<f64> {
    weighted_mean(residuals(model, data)?.abs(), data)
}

/// Coefficient of determination `1 - SSE / SST` per target (SST about the target's mean),
/// averaged over the targets. `NaN` for a constant target (as scikit-learn's warning case).
///
/// # Errors
/// As [`mse`].
pub fn r2(model: &LinearModel, data: &Dataset) -> Result<f64> {
    let y = data.targets();
    let (sse, sst) = match data.device_weights() {
        None => (
            read_f64(residuals(model, data)?.square().sum_dim(0))?,
            read_f64((y.clone() - y.mean_dim(0)).square().sum_dim(0))?,
        ),
        Some(w) => {
            let w = w.tensor.unsqueeze_dim::<2>(1);
            let mean = (y.clone() * w.clone()).sum_dim(0) / w.clone().sum().unsqueeze::<2>();
            (
                read_f64((residuals(model, data)?.square() * w.clone()).sum_dim(0))?,
                read_f64(((y - mean).square() * w).sum_dim(0))?,
            )
        }
    };
    let k = sse.len() as f64;
    Ok(sse
        .iter()
        .zip(&sst)
        .map(|(e, t)| if *t > 0.0 { 1.0 - e / t } else { f64::NAN })
        .sum::<f64>()
        / k)
}
