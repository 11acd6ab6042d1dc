//! Polynomial least squares in a well-conditioned basis.
//!
//! Fitting `y = b0 + b1 x + ... + bd x^d` with the columns `x, x^2, ...` as features is
//! notoriously ill-conditioned (NIST's Filip: `cond ~ 1e15`), and worse, the powers themselves are
//! rounded when stored as `f64`, which alone can cost half the digits. Like numpy's
//! `Polynomial.fit`, [`PolynomialFit`] fits in the variable `u = (x - shift) / scale`, whose
//! powers are well conditioned, then converts the coefficients back to powers of `x` in
//! double-double arithmetic (`shift` has few significant bits and `scale` is a power of two, so
//! the conversion's own factors are exact). Standard errors are converted with the covariance.

use burn::tensor::Device;

use super::double_double as dd;
use super::{LeastSquares, LeastSquaresFit};
use crate::data::Dataset;
use crate::{Error, Result};

/// A polynomial fitted by least squares, with coefficients in powers of `x`.
///
/// # Example
/// ```
/// use linfit::{device, LeastSquares, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let x: Vec<f64> = (0..20).map(f64::from).collect();
/// let y: Vec<f64> = x.iter().map(|x| 1.0 + 2.0 * x - 0.5 * x * x).collect();
/// let poly = LeastSquares::new().fit_polynomial(&x, &y, 2, &cpu)?;
/// assert!((poly.coefficients()[2] + 0.5).abs() < 1e-12);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug)]
pub struct PolynomialFit {
    coefficients: Vec<f64>,
    std_errors: Vec<Option<f64>>,
    shift: f64,
    scale: f64,
    fit: LeastSquaresFit,
}

impl PolynomialFit {
    /// `b0, b1, ..., bd`: the coefficients of `1, x, ..., x^d`.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Standard errors of the coefficients (`None` where not identifiable).
    pub fn std_errors(&self) -> &[Option<f64>] {
        &self.std_errors
    }

    /// `u = (x - shift) / scale`: the variable the fit was made in.
    pub fn shift_scale(&self) -> (f64, f64) {
        (self.shift, self.scale)
    }

    /// The fit in the variable `u` (its summary gives R², residual SD, F, ... which do not
    /// depend on the basis).
    pub fn fit_in_u(&self) -> &LeastSquaresFit {
        &self.fit
    }

    /// `p(x)`, evaluated by Horner's rule in powers of `x`.
    pub fn eval(&self, x: f64) -> f64 {
        self.coefficients
            .iter()
            .rev()
            .fold(0.0, |acc, c| acc * x + c)
    }
}

/// Rounds `v` to `bits` significant bits (so that its powers stay exact longer).
fn round_bits(v: f64, bits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let e = v.abs().log2().floor() as i32 - bits + 1;
    let q = 2f64.powi(e);
    (v / q).round() * q
}

impl LeastSquares {
    /// Fits a polynomial of `degree` in `x` to `y` (always with the constant term), in the
    /// well-conditioned variable `u = (x - shift) / scale` (see [`PolynomialFit`]).
    ///
    /// # Errors
    /// As [`Dataset::from_rows`] for the data, [`Error::InvalidHyperparameter`] for degree 0,
    /// and as [`LeastSquares::fit`].
    pub fn fit_polynomial(
        &self,
        x: &[f64],
        y: &[f64],
        degree: usize,
        device: &Device,
    ) -> Result<PolynomialFit> {
        if degree == 0 {
            return Err(Error::InvalidHyperparameter {
                name: "degree",
                value: "0".into(),
                rule: "a polynomial fit needs degree >= 1 (the constant alone is the mean)",
            });
        }
        let finite = x.iter().all(|v| v.is_finite());
        let (lo, hi) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (shift, scale) = if finite && lo < hi {
            let half = (hi - lo) / 2.0;
            (
                round_bits(lo + half, 4),
                2f64.powi(half.log2().ceil() as i32),
            )
        } else {
            (0.0, 1.0)
        };
        let rows: Vec<Vec<f64>> = x
            .iter()
            .map(|&v| {
                let u = (v - shift) / scale;
                (1..=degree as i32).map(|k| u.powi(k)).collect()
            })
            .collect();
        let data = Dataset::from_rows(&rows, y, device)?;
        let fit = self.clone().with_intercept(true).fit(&data)?;
        let cov = fit.covariance(0);
        let model = fit.model();
        let c: Vec<f64> = std::iter::once(model.try_bias()?.map_or(0.0, |b| b[0]))
            .chain(model.try_weights()?)
            .collect();
        // beta_j = sum_{k >= j} c_k T[k][j], T[k][j] = C(k, j) (-shift)^(k-j) / scale^k.
        let d = degree;
        let t = |k: usize, j: usize| -> f64 {
            let binom = (0..j).fold(1.0, |acc, i| acc * (k - i) as f64 / (i + 1) as f64);
            binom * (-shift).powi((k - j) as i32) / scale.powi(k as i32)
        };
        let coefficients: Vec<f64> = (0..=d)
            .map(|j| dd::dot((j..=d).map(|k| c[k]), (j..=d).map(|k| t(k, j))))
            .collect();
        let std_errors = (0..=d)
            .map(|j| {
                cov.as_ref().and_then(|cov| {
                    let var: f64 = (j..=d)
                        .map(|k| {
                            (j..=d)
                                .map(|l| cov[k][l].map(|v| t(k, j) * v * t(l, j)))
                                .sum::<Option<f64>>()
                        })
                        .sum::<Option<f64>>()?;
                    (var >= 0.0).then(|| var.sqrt())
                })
            })
            .collect();
        Ok(PolynomialFit {
            coefficients,
            std_errors,
            shift,
            scale,
            fit,
        })
    }
}
