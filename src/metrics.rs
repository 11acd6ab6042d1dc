//! Regression metrics of a model on a dataset, computed on the device (one scalar read back).
//! Over several targets they are averaged uniformly, as scikit-learn's
//! `multioutput="uniform_average"`.

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
    read_scalar(residuals(model, data)?.square().mean())
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
    read_scalar(residuals(model, data)?.abs().mean())
}

/// Coefficient of determination `1 - SSE / SST` per target (SST about the target's mean),
/// averaged over the targets. `NaN` for a constant target (as scikit-learn's warning case).
///
/// # Errors
/// As [`mse`].
pub fn r2(model: &LinearModel, data: &Dataset) -> Result<f64> {
    let sse = read_f64(residuals(model, data)?.square().sum_dim(0))?;
    let y = data.targets();
    let sst = read_f64((y.clone() - y.mean_dim(0)).square().sum_dim(0))?;
    let k = sse.len() as f64;
    Ok(sse
        .iter()
        .zip(&sst)
        .map(|(e, t)| if *t > 0.0 { 1.0 - e / t } else { f64::NAN })
        .sum::<f64>()
        / k)
}
