//! [`Summary`]: the statistics a statistician expects, per target: statsmodels' `OLS` summary
//! content with R's legibility.

use faer::Mat;
use faer::linalg::solvers::Svd;
use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::checked_beta_reg;

mod display;

use super::LeastSquaresFit;
use crate::float::scale2;

/// The confidence level of [`Coefficient::conf_int`].
pub const CONFIDENCE: f64 = 0.95;

/// One coefficient's statistics. `None` where the coefficient is not identifiable (it lies
/// partly in the null space) or there are no residual degrees of freedom.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Coefficient {
    /// The estimate (the minimum-norm solution's value when not identifiable).
    pub estimate: f64,
    /// Standard error, `sigma * sqrt([(Z^T Z)^+]_jj)`.
    pub std_error: Option<f64>,
    /// `estimate / std_error`.
    pub t_value: Option<f64>,
    /// Two-sided p value of the t test against 0, Student's t with `df_residual` degrees
    /// (computed from the upper tail, so that tiny values keep their digits).
    pub p_value: Option<f64>,
    /// The 95% confidence interval, `estimate -+ t(0.975, df_residual) * std_error`.
    pub conf_int: Option<(f64, f64)>,
}

/// Statistics of one target's fit (statsmodels' names in brackets).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetSummary {
    /// The target's name (the data's column name, or `y1, y2, ...`).
    pub name: String,
    /// The intercept, when fitted (`const`).
    pub intercept: Option<Coefficient>,
    /// The weights, one per feature, in the order of [`Summary::feature_names`].
    pub coefficients: Vec<Coefficient>,
    /// `1 - SSE / SST`; SST centred with an intercept, uncentred (`sum y^2`) without, as R,
    /// statsmodels and NIST do (`rsquared`).
    pub r_squared: f64,
    /// `1 - (1 - R^2) (n - i) / df_residual`, `i` = 1 with an intercept, else 0
    /// (`rsquared_adj`).
    pub adj_r_squared: f64,
    /// `sqrt(SSE / df_residual)` (`sqrt(scale)`).
    pub residual_std_dev: f64,
    /// Residual sum of squares (`ssr`); infinite when it overflows f64 (the other statistics
    /// are computed in scaled units and stay finite).
    pub sse: f64,
    /// `((SST - SSE) / df_model) / (SSE / df_residual)`; `None` when either is 0 (`fvalue`).
    pub f_statistic: Option<f64>,
    /// p value of the F statistic (`f_pvalue`).
    pub f_p_value: Option<f64>,
    /// Gaussian log-likelihood at the estimates, `-n/2 (ln(2 pi SSE / n) + 1)` (`llf`); with
    /// sample weights SSE is weighted and `sum(ln w) / 2` is added (statsmodels' `WLS`).
    pub log_likelihood: f64,
    /// `-2 llf + 2 p`, `p` = rank + i parameters (`aic`); NaN for a ridge fit.
    pub aic: f64,
    /// `-2 llf + ln(n) p` (`bic`); NaN for a ridge fit.
    pub bic: f64,
    /// `rank` (`df_model`).
    pub df_model: usize,
    /// `n - rank - i` (`df_resid`).
    pub df_residual: usize,
    /// D'Agostino-Pearson's omnibus test of the residuals' normality, `K^2` (`Omnibus`;
    /// statsmodels' `omni_normtest` of the whitened residuals; NaN below 8 rows). These seven
    /// are NaN for fits that make no pass over their residuals (file and sharded fits).
    pub omnibus: f64,
    /// Its p value (`Prob(Omnibus)`).
    pub omnibus_p: f64,
    /// The residuals' skewness (`Skew`).
    pub skew: f64,
    /// The residuals' kurtosis, 3 for a normal distribution (`Kurtosis`).
    pub kurtosis: f64,
    /// `sum (e_t - e_(t-1))^2 / sum e_t^2` over the rows in order (`Durbin-Watson`).
    pub durbin_watson: f64,
    /// `n / 6 (S^2 + (K - 3)^2 / 4)` (`Jarque-Bera (JB)`).
    pub jarque_bera: f64,
    /// Its p value, chi-squared with 2 degrees (`Prob(JB)`).
    pub jarque_bera_p: f64,
    /// The design's condition number with its constant column (`Cond. No.`, as
    /// [`Summary::condition_number`]).
    pub condition_number: f64,
    /// Variance inflation factors, one per feature (statsmodels' `variance_inflation_factor`
    /// on the design with its constant; with sample weights, of the weighted design); infinite
    /// for a feature the data do not identify.
    pub vif: Vec<f64>,
}

/// Statistics of a [`LeastSquaresFit`], per target. `Display` prints a table like a statistics
/// package (estimates, standard errors, t, p, 95% intervals, the fit statistics), with notes
/// for collinearity (statsmodels' rules); every number printed is a field here.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// One entry per target.
    pub targets: Vec<TargetSummary>,
    /// The features' names, in the order of [`TargetSummary::coefficients`].
    pub feature_names: Vec<String>,
    /// Rows of data (`nobs`).
    pub n_samples: usize,
    /// Rank of the design the solver saw (centred for the intercept).
    pub rank: usize,
    /// Condition number of the design with its constant column (statsmodels'
    /// `condition_number`; see [`LeastSquaresFit::design_condition_number`]).
    pub condition_number: f64,
    /// How the covariance of the estimates was estimated (`LeastSquares::covariance`):
    /// `nonrobust`, or the robust kind (statsmodels' `cov_type`), whose tests are z tests.
    pub covariance: String,
    /// Collinearity warnings, in plain words (empty when none).
    pub warnings: Vec<String>,
}

pub(super) fn summarize(fit: &LeastSquaresFit) -> Summary {
    let df = fit.df_residual();
    let tests = Tests::new(fit, df);
    let (features, targets) = fit.model.display_names();
    let sse = fit.sse();
    let targets = targets
        .into_iter()
        .enumerate()
        .map(|(t, name)| target_summary(fit, t, name, sse[t], &tests))
        .collect();
    Summary {
        targets,
        feature_names: features,
        n_samples: fit.n_samples,
        rank: fit.rank,
        condition_number: fit.design_condition_number(),
        covariance: fit
            .robust
            .as_ref()
            .map_or_else(|| "nonrobust".to_string(), |r| r.name.clone()),
        warnings: warnings(fit),
    }
}

/// The coefficients' tests: Student's t with the residual degrees of freedom (the classical
/// covariance), or the normal distribution (a robust one, as statsmodels' `use_t=False`).
enum Tests {
    None,
    T(StudentsT, f64),
    Z(Normal, f64),
}

impl Tests {
    fn new(fit: &LeastSquaresFit, df: usize) -> Self {
        let two_sided = 0.5 + CONFIDENCE / 2.0;
        if df == 0 {
            Tests::None
        } else if fit.robust.is_some() {
            match Normal::new(0.0, 1.0) {
                Ok(d) => {
                    let q = d.inverse_cdf(two_sided);
                    Tests::Z(d, q)
                }
                Err(_) => Tests::None,
            }
        } else {
            match StudentsT::new(0.0, 1.0, df as f64) {
                Ok(d) => {
                    let q = t_quantile(&d, two_sided);
                    Tests::T(d, q)
                }
                Err(_) => Tests::None,
            }
        }
    }

    /// The two-sided p value of a test statistic.
    fn p_value(&self, t: f64) -> Option<f64> {
        match self {
            Tests::None => None,
            Tests::T(d, _) => Some(2.0 * d.sf(t.abs())),
            Tests::Z(d, _) => Some(2.0 * d.sf(t.abs())),
        }
    }

    /// The quantile of the 95% interval.
    fn quantile(&self) -> Option<f64> {
        match self {
            Tests::None => None,
            Tests::T(_, q) | Tests::Z(_, q) => Some(*q),
        }
    }
}

/// The upper tail of `F(d1, d2)` at `f`: `I_x(d2 / 2, d1 / 2)` with `x = d2 / (d2 + d1 f)`
/// (no cancellation near 1, as `1 - cdf` would have). A negative `f` (an F statistic below 0 in
/// rounding) has tail 1; `None` where the function is undefined.
pub(super) fn f_upper_tail(f: f64, d1: f64, d2: f64) -> Option<f64> {
    if f.is_nan() {
        return None;
    }
    let x = (d2 / (d2 + d1 * f.max(0.0))).clamp(0.0, 1.0);
    checked_beta_reg(d2 / 2.0, d1 / 2.0, x).ok()
}

/// Student's t quantile at probability `p` (> 0.5): statrs' inverse, polished by Newton steps
/// on the upper tail so that it carries full precision.
pub(super) fn t_quantile(d: &StudentsT, p: f64) -> f64 {
    let tail = 1.0 - p;
    let mut t = d.inverse_cdf(p);
    for _ in 0..3 {
        let density = d.pdf(t);
        if !(density > 0.0 && t.is_finite()) {
            break;
        }
        t += (d.sf(t) - tail) / density;
    }
    t
}

/// A coefficient's statistics from its estimate and standard error (`None`: not identifiable,
/// or no residual degrees of freedom), tested by `tests`. (statrs panics on a non-finite
/// argument: only finite statistics reach it.)
fn coefficient(estimate: f64, std_error: Option<f64>, tests: &Tests) -> Coefficient {
    let std_error = std_error.filter(|s| s.is_finite());
    let t_value = std_error
        .filter(|s| *s > 0.0)
        .map(|s| estimate / s)
        .filter(|t| t.is_finite());
    let p_value = t_value.and_then(|t| tests.p_value(t));
    let conf_int = std_error
        .zip(tests.quantile())
        .map(|(s, q)| (estimate - q * s, estimate + q * s));
    Coefficient {
        estimate,
        std_error,
        t_value,
        p_value,
        conf_int,
    }
}

fn target_summary(
    fit: &LeastSquaresFit,
    t: usize,
    name: String,
    sse_data: f64,
    tests: &Tests,
) -> TargetSummary {
    let (n, m) = (fit.n_samples, fit.weights.len());
    let i = usize::from(fit.intercept);
    let df = fit.df_residual();
    // In the solver's scaled units (see LeastSquaresFit::covariance_scaled): R^2 and F are
    // ratios, the standard deviations scale back by a power of two.
    let (sse, sst) = (fit.scaled.sse[t], fit.scaled.sst[t]);
    let ey = fit.scaled.scaling.y[t];
    let cov = fit.covariance_scaled(t);
    let std_error = |p: usize| -> Option<f64> {
        let (c, e) = cov.as_ref()?;
        let v = c[p][p].filter(|v| v.is_finite() && *v >= 0.0)?;
        Some(v.sqrt() * e[p])
    };
    let coefficients = (0..m)
        .map(|j| coefficient(fit.weights[j][t], std_error(j + i), tests))
        .collect();
    let intercept = fit
        .intercepts
        .as_ref()
        .map(|b| coefficient(b[t], std_error(0), tests));
    let r_squared = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
    let adj_r_squared = if df > 0 {
        1.0 - (1.0 - r_squared) * (n - i) as f64 / df as f64
    } else {
        f64::NAN
    };
    let residual_std_dev = if df > 0 {
        scale2((sse / df as f64).sqrt(), -ey) * fit.weighting.scale.sqrt()
    } else {
        f64::NAN
    };
    let diagnostics = fit
        .diagnostics
        .as_ref()
        .and_then(|d| d.get(t).copied())
        .unwrap_or(super::diagnostics::Diagnostics::UNKNOWN);
    let (f_statistic, f_p_value) = f_test(fit, t, (sse, sst), cov.as_ref());
    let nf = n as f64;
    let log_likelihood = log_likelihood(fit, sse, ey);
    // A penalised fit has no least-squares count of parameters (its effective degrees of
    // freedom are fewer): no AIC or BIC.
    let parameters = if fit.alpha > 0.0 {
        f64::NAN
    } else {
        (fit.rank + i) as f64
    };
    TargetSummary {
        name,
        intercept,
        coefficients,
        r_squared,
        adj_r_squared,
        residual_std_dev,
        sse: sse_data,
        f_statistic,
        f_p_value,
        log_likelihood,
        aic: -2.0 * log_likelihood + 2.0 * parameters,
        bic: -2.0 * log_likelihood + nf.ln() * parameters,
        df_model: fit.rank,
        df_residual: df,
        omnibus: diagnostics.omnibus,
        omnibus_p: diagnostics.omnibus_p,
        skew: diagnostics.skew,
        kurtosis: diagnostics.kurtosis,
        durbin_watson: diagnostics.durbin_watson,
        jarque_bera: diagnostics.jarque_bera,
        jarque_bera_p: diagnostics.jarque_bera_p,
        condition_number: fit.design_condition_number(),
        vif: fit.variance_inflation(),
    }
}

/// The F statistic and its p value: the classical one from the scaled sums of squares, or the
/// Wald test under a robust covariance; `None` where undefined (a ridge fit, no residual
/// degrees of freedom, a perfect fit).
fn f_test(
    fit: &LeastSquaresFit,
    t: usize,
    (sse, sst): (f64, f64),
    cov: Option<&(super::CovarianceMatrix, Vec<f64>)>,
) -> (Option<f64>, Option<f64>) {
    let df = fit.df_residual();
    let f_statistic = match &fit.robust {
        None => (fit.rank > 0 && df > 0 && sse > 0.0 && fit.alpha == 0.0)
            .then(|| ((sst - sse) / fit.rank as f64) / (sse / df as f64)),
        Some(_) => wald_f(fit, t, cov),
    }
    .filter(|f| f.is_finite());
    let df_denominator = fit.robust.as_ref().map_or(df, |r| r.df_denominator);
    let f_p_value = f_statistic
        .filter(|_| df_denominator > 0)
        .and_then(|f| f_upper_tail(f, fit.rank as f64, df_denominator as f64));
    (f_statistic, f_p_value)
}

/// The Gaussian log-likelihood from the scaled SSE `sse` of a target scaled by `2^ey`.
fn log_likelihood(fit: &LeastSquaresFit, sse: f64, ey: i32) -> f64 {
    // ln(SSE / n) from the scaled SSE: SSE = sse' 2^(-2 ey), so no overflow either way.
    let nf = fit.n_samples as f64;
    let log_sse_per_row = sse.ln() - 2.0 * f64::from(ey) * core::f64::consts::LN_2 - nf.ln()
        + fit.weighting.scale.ln();
    // With sample weights, statsmodels' WLS adds sum(ln w) / 2 (the whitened model's Jacobian).
    -nf / 2.0 * ((2.0 * core::f64::consts::PI).ln() + log_sse_per_row + 1.0)
        + 0.5 * fit.weighting.log_sum
}

/// Below this times the largest singular value, the slopes' robust covariance is singular.
const SINGULAR_WALD: f64 = 1e-10;

/// The Wald test that every slope is 0 under the fit's robust covariance, divided by their
/// number (statsmodels' `fvalue` for a robust `cov_type`): `v' C^-1 v / m` in the solver's
/// coordinates, where the conversion factors cancel. `None` unless every slope is identified
/// and `C` is not singular.
fn wald_f(
    fit: &LeastSquaresFit,
    t: usize,
    cov: Option<&(super::CovarianceMatrix, Vec<f64>)>,
) -> Option<f64> {
    let (c, factors) = cov?;
    let (m, i) = (fit.weights.len(), usize::from(fit.intercept));
    if fit.rank < m || m == 0 {
        return None;
    }
    let v: Vec<f64> = (0..m).map(|j| fit.weights[j][t] / factors[j + i]).collect();
    let mut entries = Vec::with_capacity(m * m);
    for a in 0..m {
        for b in 0..m {
            entries.push(c[a + i][b + i]?);
        }
    }
    let cm = Mat::<f64>::from_fn(m, m, |a, b| entries[a * m + b]);
    let svd = Svd::new(cm.as_ref()).ok()?;
    let s = svd.S().column_vector();
    let (u, w) = (svd.U(), svd.V());
    let top = (0..m).map(|r| s[r]).fold(0.0, f64::max);
    // A singular covariance of the slopes (cluster-robust with fewer groups than slopes: rank
    // at most G - 1) leaves the joint test undefined; statsmodels warns and reports a number
    // that depends on its pseudo-inverse's cut-off. None here.
    if (0..m).any(|r| s[r].is_nan() || s[r] <= top * SINGULAR_WALD) {
        return None;
    }
    let wald: f64 = (0..m)
        .map(|r| {
            let left: f64 = (0..m).map(|a| u[(a, r)] * v[a]).sum();
            let right: f64 = (0..m).map(|a| w[(a, r)] * v[a]).sum();
            left * right / s[r]
        })
        .sum();
    Some(wald / m as f64)
}

/// Collinearity warnings in plain words: rank deficiency, then statsmodels' rules (smallest
/// eigenvalue of the scaled Gram matrix below 1e-10, else a condition number above 1000).
fn warnings(fit: &LeastSquaresFit) -> Vec<String> {
    let m = fit.weights.len();
    let mut warnings = Vec::new();
    if fit.alpha > 0.0 {
        warnings.push(format!(
            "Ridge fit (alpha = {}): the estimates are shrunk towards zero. R-squared, SSE and the \
             log-likelihood are those of these estimates; the standard errors, t and p values, \
             intervals, F, AIC and BIC of least squares do not hold for a penalised fit and are \
             not shown.",
            fit.alpha
        ));
    }
    if fit.rank < m && fit.alpha == 0.0 {
        warnings.push(format!(
            "The design has rank {} for {} weights: {} direction(s) of the coefficients cannot be identified \
             from this data (see null_space()); the estimates shown are the minimum-norm solution.",
            fit.rank, m, m - fit.rank
        ));
    }
    if fit.scaled_min_eig < 1e-10 {
        warnings.push(format!(
            "The smallest eigenvalue of the scaled Gram matrix is {:.3e}. This might indicate strong \
             multicollinearity or a singular design.",
            fit.scaled_min_eig
        ));
    } else if fit.design_condition_number() > 1000.0 {
        warnings.push(format!(
            "The condition number is large, {:.3e}. This might indicate strong multicollinearity or other \
             numerical problems.",
            fit.design_condition_number()
        ));
    }
    warnings
}
