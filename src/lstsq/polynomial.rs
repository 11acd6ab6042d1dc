//! Polynomial least squares in a well-conditioned basis.
//!
//! Fitting `y = b0 + b1 x + ... + bd x^d` with the columns `x, x^2, ...` as features is
//! notoriously ill-conditioned (NIST's Filip: `cond ~ 1e15`), and worse, the powers themselves are
//! rounded when stored as `f64`, which alone can cost half the digits. Like numpy's
//! `Polynomial.fit`, [`PolynomialFit`] fits in the variable `u = (x - shift) / scale`, whose
//! powers are well conditioned, then converts the coefficients back to powers of `x` in
//! double-double arithmetic and refines them in powers of `x` (residuals in double-double, each
//! correction solved in `u`), since the conversion alone multiplies the rounding errors of the
//! `u` coefficients by up to `max |T| |c| / |b|`. Standard errors are converted with the
//! covariance.

use burn::tensor::Device;

use super::double_double::{self as dd, Dd};
use super::refine::Refinement;
use super::{LeastSquares, LeastSquaresFit};
use crate::data::Dataset;
use crate::float::{exponent, scale2};
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

/// Refinement steps in the powers of x, at most: each is a fit.
const MAX_POLY_REFINE: usize = 4;

/// `u = (x - shift) / scale` maps the data into about `[-1, 1]`: `scale` the power of two at or
/// above half the range, `shift` the midpoint rounded to a multiple of a quarter of the
/// largest power of two below the half-range (few significant bits, and `|u| <= 1.25`).
/// Computed without overflow for any finite x (the halves are taken before the difference).
fn shift_and_scale(x: &[f64]) -> (f64, f64) {
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let half = hi / 2.0 - lo / 2.0;
    if !(half > 0.0 && half.is_finite()) {
        return (if lo.is_finite() { lo } else { 0.0 }, 1.0);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let e = exponent(half);
    let q = scale2(1.0, e - 2);
    (
        (mid / q).round() * q,
        scale2(1.0, if scale2(1.0, e) == half { e } else { e + 1 }),
    )
}

impl LeastSquares {
    /// Fits a polynomial of `degree` in `x` to `y` (always with the constant term), in the
    /// well-conditioned variable `u = (x - shift) / scale` (see [`PolynomialFit`]).
    ///
    /// Cost: one fit, then up to 4 refinement steps in powers of x, each a fit of the
    /// residuals (as a two-target dataset on `device`): at most 5 fits of `n x degree` data.
    ///
    /// # Errors
    /// As [`Dataset::from_rows`] for the data, [`Error::InvalidHyperparameter`] for degree 0,
    /// [`Error::OutOfRange`] when the coefficients in powers of x leave f64's range, and as
    /// [`LeastSquares::fit`].
    pub fn fit_polynomial(
        &self,
        x: &[f64],
        y: &[f64],
        degree: usize,
        device: &Device,
    ) -> Result<PolynomialFit> {
        self.check_nonrobust("fit_polynomial")?;
        if degree == 0 {
            return Err(Error::InvalidHyperparameter {
                name: "degree",
                value: "0".into(),
                rule: "a polynomial fit needs degree >= 1 (the constant alone is the mean)",
            });
        }
        let basis = Basis::new(x, degree);
        let rows = basis.rows(x);
        let data = Dataset::from_rows(&rows, y, device)?;
        let ls = self.clone().with_intercept(true);
        let fit = ls.fit(&data)?;
        let mut coefficients = basis.to_powers_of_x(fit.model())?;
        basis.refine(&ls, (&rows, x, y), &mut coefficients, device)?;
        let (shift, scale) = (basis.shift, basis.scale);
        if let Some(c) = coefficients.iter().find(|c| !c.is_finite()) {
            return Err(Error::OutOfRange {
                what: "the polynomial's coefficients in powers of x".into(),
                value: c.to_string(),
                rule: format!(
                    "x spans {shift:e} +- {scale:e}: in powers of x the coefficients leave f64's \
                     range; the fit in u = (x - shift) / scale (fit_in_u) is still valid"
                ),
            });
        }
        let std_errors = basis.std_errors(fit.covariance(0));
        Ok(PolynomialFit {
            coefficients,
            std_errors,
            shift,
            scale,
            fit,
        })
    }
}

/// The variable `u = (x - shift) / scale` of a polynomial of `degree`, and the conversion of
/// coefficients in powers of u to powers of x.
struct Basis {
    shift: f64,
    scale: f64,
    /// `scale = 2^scale_exponent`.
    scale_exponent: i32,
    degree: usize,
}

impl Basis {
    fn new(x: &[f64], degree: usize) -> Self {
        let (shift, scale) = shift_and_scale(x);
        Basis {
            shift,
            scale,
            scale_exponent: exponent(scale),
            degree,
        }
    }

    /// The rows `[u, u^2, .., u^degree]` of `x`.
    fn rows(&self, x: &[f64]) -> Vec<Vec<f64>> {
        x.iter()
            .map(|&v| {
                let u = (v - self.shift) / self.scale;
                (1..=self.degree as i32).map(|k| u.powi(k)).collect()
            })
            .collect()
    }

    /// `T[k][j]`: `beta_j = sum_{k >= j} c_k T[k][j]`, `T[k][j] = C(k, j) (-shift)^(k-j) /
    /// scale^k`. Written as `C(k, j) (-shift / scale)^(k-j) 2^(-j e)` (`scale = 2^e`): no power
    /// of x's magnitude is formed, so x near 1e160 does not overflow where the answer does not.
    fn t(&self, k: usize, j: usize) -> f64 {
        let binom = (0..j).fold(1.0, |acc, i| acc * (k - i) as f64 / (i + 1) as f64);
        scale2(
            binom * (-self.shift / self.scale).powi((k - j) as i32),
            -(j as i32) * self.scale_exponent,
        )
    }

    /// The coefficients in powers of x of a model in u, summed over its targets.
    fn to_powers_of_x(&self, model: &crate::LinearModel) -> Result<Vec<f64>> {
        let d = self.degree;
        let targets = model.n_targets();
        let (w, b) = (model.try_weights()?, model.try_bias()?);
        let mut beta = vec![0.0; d + 1];
        for target in 0..targets {
            let c: Vec<f64> = std::iter::once(b.as_ref().map_or(0.0, |b| b[target]))
                .chain((0..d).map(|j| w[j * targets + target]))
                .collect();
            for (j, beta) in beta.iter_mut().enumerate() {
                *beta += dd::dot((j..=d).map(|k| c[k]), (j..=d).map(|k| self.t(k, j)));
            }
        }
        Ok(beta)
    }

    /// The conversion multiplies the u-basis coefficients' rounding errors by up to
    /// `max |T| |c| / |beta|` (1e5-1e6 on NIST's Wampler data, 10 digits left): refine in the
    /// powers of x, with residuals `y - sum beta_k x^k` in double-double (powers of x formed in
    /// double-double too) and each correction solved in the u basis. In exact arithmetic one
    /// step gives the least-squares solution; each step in floating point divides the error by
    /// about `1 / (eps max |T|)`.
    fn refine(
        &self,
        ls: &LeastSquares,
        (rows, x, y): (&[Vec<f64>], &[f64], &[f64]),
        coefficients: &mut [f64],
        device: &Device,
    ) -> Result<()> {
        let mut rule = Refinement::default();
        for _ in 0..MAX_POLY_REFINE {
            if coefficients.iter().any(|c| !c.is_finite()) {
                break;
            }
            // Each residual as two f64 (its double-double parts): when the residuals are large
            // (noisy data), the error to correct lies below their last bit.
            let residuals: Vec<Vec<f64>> = x
                .iter()
                .zip(y)
                .map(|(&xi, &yi)| {
                    // Horner's rule in double-double: no power of x is formed on its own.
                    let prediction = coefficients
                        .iter()
                        .rev()
                        .fold(Dd::default(), |acc, &b| acc.mul(xi).add(b));
                    let (hi, lo) = prediction.parts();
                    let (r_hi, r_lo) = Dd::new(yi).add(-hi).add(-lo).parts();
                    vec![r_hi, r_lo]
                })
                .collect();
            let correction = ls.fit(&Dataset::from_rows_multi(rows, &residuals, device)?)?;
            let delta = self.to_powers_of_x(correction.model())?;
            let change = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
            let size = coefficients.iter().map(|v| v * v).sum::<f64>().sqrt();
            if !rule.accepts(change) {
                break;
            }
            coefficients
                .iter_mut()
                .zip(&delta)
                .for_each(|(c, dc)| *c += dc);
            if Refinement::converged(change, size) {
                break;
            }
        }
        Ok(())
    }

    /// The standard errors in powers of x from the covariance in powers of u, `T^T C T`.
    fn std_errors(&self, cov: Option<Vec<Vec<Option<f64>>>>) -> Vec<Option<f64>> {
        let d = self.degree;
        (0..=d)
            .map(|j| {
                cov.as_ref().and_then(|cov| {
                    let var: f64 = (j..=d)
                        .map(|k| {
                            (j..=d)
                                .map(|l| cov[k][l].map(|v| self.t(k, j) * v * self.t(l, j)))
                                .sum::<Option<f64>>()
                        })
                        .sum::<Option<f64>>()?;
                    (var >= 0.0).then(|| var.sqrt())
                })
            })
            .collect()
    }
}
