//! Seeded synthetic regression data, in the manner of scikit-learn's `make_regression`.

use burn::config::Config;
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::{Dataset, checked_size, try_values};
use crate::{Error, Result};

/// Settings of a synthetic regression problem: features `N(0, 1)`, true weights `U(0, 100)`
/// (scikit-learn's choice), `y = x w + bias + noise * N(0, 1)`; optionally the last `collinear`
/// features are exact linear combinations of the others (a rank-deficient design).
///
/// # Example
/// ```
/// use linfit::{device, MakeRegression, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let (data, weights) = MakeRegression::new(100, 3).with_noise(0.1).with_seed(7).generate(&cpu)?;
/// assert_eq!((data.n_samples(), data.n_features(), weights.len()), (100, 3, 3));
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct MakeRegression {
    /// Rows.
    pub n_samples: usize,
    /// Feature columns.
    pub n_features: usize,
    /// Targets. Default 1.
    #[config(default = 1)]
    pub n_targets: usize,
    /// Standard deviation of the Gaussian noise added to the targets. Default 0.
    #[config(default = 0.0)]
    pub noise: f64,
    /// The true intercept. Default 0.
    #[config(default = 0.0)]
    pub bias: f64,
    /// How many of the last features are exact linear combinations of the first ones. Default
    /// `None` (no collinearity).
    pub collinear: Option<usize>,
    /// Seed. Default 0.
    #[config(default = 0)]
    pub seed: u64,
}

impl MakeRegression {
    /// The dataset and the true weights (row-major `[n_features, n_targets]`; for collinear
    /// features, the weights used to generate `y`, one of many equivalent answers).
    ///
    /// # Errors
    /// [`Error::EmptyData`] for zero rows, features or targets; [`Error::InvalidHyperparameter`]
    /// for a negative or non-finite noise or bias, or `collinear >= n_features`.
    pub fn generate(&self, device: &Device) -> Result<(Dataset, Vec<f64>)> {
        let (n, m, k) = (self.n_samples, self.n_features, self.n_targets);
        if n == 0 || m == 0 || k == 0 {
            return Err(Error::EmptyData {
                what: format!("make_regression with {n} rows, {m} features, {k} targets"),
            });
        }
        if !(self.noise.is_finite() && self.noise >= 0.0 && self.bias.is_finite()) {
            return Err(Error::InvalidHyperparameter {
                name: "noise",
                value: format!("noise {} bias {}", self.noise, self.bias),
                rule: "noise must be finite and >= 0, bias finite",
            });
        }
        let collinear = self.collinear.unwrap_or(0);
        if collinear >= m {
            return Err(Error::InvalidHyperparameter {
                name: "collinear",
                value: collinear.to_string(),
                rule: "at least one feature must be free: collinear < n_features",
            });
        }
        let free = m - collinear;
        let mut rng = ChaCha12Rng::seed_from_u64(self.seed);
        let weight_dist = Uniform::new(0.0, 100.0).map_err(|e| Error::Internal {
            context: "the distribution of the true weights",
            source: Box::new(e),
        })?;
        let mut weights = try_values("true weights", checked_size("true weights", m, k)?)?;
        weights.extend((0..m * k).map(|_| weight_dist.sample(&mut rng)));
        // Each collinear column: a fixed combination of the free columns.
        let mix: Vec<Vec<f64>> = (0..collinear)
            .map(|_| (0..free).map(|_| StandardNormal.sample(&mut rng)).collect())
            .collect();
        let mut x = try_values("features", checked_size("features", n, m)?)?;
        let mut y = try_values("targets", checked_size("targets", n, k)?)?;
        for _ in 0..n {
            let start = x.len();
            x.extend((0..free).map(|_| -> f64 { StandardNormal.sample(&mut rng) }));
            for c in &mix {
                let v: f64 = c
                    .iter()
                    .zip(&x[start..start + free])
                    .map(|(a, b)| a * b)
                    .sum();
                x.push(v);
            }
            let row = &x[start..start + m];
            for t in 0..k {
                let clean: f64 = self.bias
                    + row
                        .iter()
                        .enumerate()
                        .map(|(j, v)| v * weights[j * k + t])
                        .sum::<f64>();
                let e: f64 = StandardNormal.sample(&mut rng);
                y.push(clean + self.noise * e);
            }
        }
        Ok((Dataset::from_flat(x, y, [n, m], k, device)?, weights))
    }
}
