//! [`Summary`]: the statistics a statistician expects, per target.

use core::fmt;

use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

use super::LeastSquaresFit;
use crate::float::scale2;

/// One coefficient's statistics. `None` where the coefficient is not identifiable (it lies
/// partly in the null space) or there are no residual degrees of freedom.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficient {
    /// The estimate (the minimum-norm solution's value when not identifiable).
    pub estimate: f64,
    /// Standard error, `sigma * sqrt([(Z^T Z)^+]_jj)`.
    pub std_error: Option<f64>,
    /// `estimate / std_error`.
    pub t_value: Option<f64>,
    /// Two-sided p value of the t test against 0, Student's t with `df_residual` degrees.
    pub p_value: Option<f64>,
}

/// Statistics of one target's fit.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSummary {
    /// The intercept, when fitted.
    pub intercept: Option<Coefficient>,
    /// The weights, one per feature.
    pub coefficients: Vec<Coefficient>,
    /// `1 - SSE / SST`; SST centred with an intercept, uncentred (`sum y^2`) without, as R and
    /// NIST do.
    pub r_squared: f64,
    /// `1 - (1 - R^2) (n - i) / df_residual`, `i` = 1 with an intercept, else 0.
    pub adj_r_squared: f64,
    /// `sqrt(SSE / df_residual)`.
    pub residual_std_dev: f64,
    /// `((SST - SSE) / rank) / (SSE / df_residual)`; `None` when rank or df is 0.
    pub f_statistic: Option<f64>,
    /// p value of the F statistic.
    pub f_p_value: Option<f64>,
    /// `n - rank - i`.
    pub df_residual: usize,
}

/// Statistics of a [`LeastSquaresFit`], per target. `Display` prints a table like a statistics
/// package, with a warning for strong collinearity (statsmodels' rule).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// One entry per target.
    pub targets: Vec<TargetSummary>,
    /// Rows of data.
    pub n_samples: usize,
    /// Rank of the design the solver saw.
    pub rank: usize,
    /// Condition number of that design.
    pub condition_number: f64,
    /// Collinearity warnings, in plain words (empty when none).
    pub warnings: Vec<String>,
}

pub(super) fn summarize(fit: &LeastSquaresFit) -> Summary {
    let df = fit.df_residual();
    let t_dist = (df > 0)
        .then(|| StudentsT::new(0.0, 1.0, df as f64).ok())
        .flatten();
    let targets = (0..fit.scaled.sse.len())
        .map(|t| target_summary(fit, t, t_dist.as_ref()))
        .collect();
    Summary {
        targets,
        n_samples: fit.n_samples,
        rank: fit.rank,
        condition_number: fit.condition_number(),
        warnings: warnings(fit),
    }
}

/// A coefficient's statistics from its estimate and standard error (`None`: not identifiable,
/// or no residual degrees of freedom); `t_dist` is Student's t with the residual degrees of
/// freedom, if any. (statrs panics on a non-finite argument: only finite t values reach it.)
fn coefficient(estimate: f64, std_error: Option<f64>, t_dist: Option<&StudentsT>) -> Coefficient {
    let std_error = std_error.filter(|s| s.is_finite());
    let t_value = std_error
        .filter(|s| *s > 0.0)
        .map(|s| estimate / s)
        .filter(|t| t.is_finite());
    let p_value = t_value.and_then(|t| t_dist.map(|d| 2.0 * (1.0 - d.cdf(t.abs()))));
    Coefficient {
        estimate,
        std_error,
        t_value,
        p_value,
    }
}

fn target_summary(fit: &LeastSquaresFit, t: usize, t_dist: Option<&StudentsT>) -> TargetSummary {
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
        .map(|j| coefficient(fit.weights[j][t], std_error(j + i), t_dist))
        .collect();
    let intercept = fit
        .intercepts
        .as_ref()
        .map(|b| coefficient(b[t], std_error(0), t_dist));
    let r_squared = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
    let adj_r_squared = if df > 0 {
        1.0 - (1.0 - r_squared) * (n - i) as f64 / df as f64
    } else {
        f64::NAN
    };
    let residual_std_dev = if df > 0 {
        scale2((sse / df as f64).sqrt(), -ey)
    } else {
        f64::NAN
    };
    let f_statistic = (fit.rank > 0 && df > 0 && sse > 0.0)
        .then(|| ((sst - sse) / fit.rank as f64) / (sse / df as f64))
        .filter(|f| f.is_finite());
    let f_p_value = f_statistic.and_then(|f| {
        FisherSnedecor::new(fit.rank as f64, df as f64)
            .ok()
            .map(|d| 1.0 - d.cdf(f))
    });
    TargetSummary {
        intercept,
        coefficients,
        r_squared,
        adj_r_squared,
        residual_std_dev,
        f_statistic,
        f_p_value,
        df_residual: df,
    }
}

/// Collinearity warnings in plain words: rank deficiency, then statsmodels' rules (smallest
/// eigenvalue of the scaled Gram matrix below 1e-10, else a condition number above 1000).
fn warnings(fit: &LeastSquaresFit) -> Vec<String> {
    let m = fit.weights.len();
    let mut warnings = Vec::new();
    if fit.rank < m {
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
    } else if fit.condition_number() > 1000.0 {
        warnings.push(format!(
            "The condition number is large, {:.3e}. This might indicate strong multicollinearity or other \
             numerical problems.",
            fit.condition_number()
        ));
    }
    warnings
}

fn opt(v: Option<f64>, width: usize) -> String {
    v.map_or_else(
        || format!("{:>width$}", "NA"),
        |x| format!("{x:>width$.4e}"),
    )
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (t, s) in self.targets.iter().enumerate() {
            if self.targets.len() > 1 {
                writeln!(f, "Target {t}")?;
            }
            writeln!(
                f,
                "{:<12} {:>14} {:>12} {:>12} {:>12}",
                "", "estimate", "std. error", "t value", "Pr(>|t|)"
            )?;
            let row = |f: &mut fmt::Formatter<'_>, name: String, c: &Coefficient| {
                writeln!(
                    f,
                    "{name:<12} {:>14.6e} {} {} {}",
                    c.estimate,
                    opt(c.std_error, 12),
                    c.t_value
                        .map_or_else(|| format!("{:>12}", "NA"), |x| format!("{x:>12.3}")),
                    c.p_value
                        .map_or_else(|| format!("{:>12}", "NA"), |x| format!("{x:>12.3e}")),
                )
            };
            if let Some(c) = &s.intercept {
                row(f, "(intercept)".into(), c)?;
            }
            for (j, c) in s.coefficients.iter().enumerate() {
                row(f, format!("x{}", j + 1), c)?;
            }
            writeln!(
                f,
                "Residual standard error: {:.6e} on {} degrees of freedom",
                s.residual_std_dev, s.df_residual
            )?;
            writeln!(
                f,
                "R-squared: {:.6}, adjusted R-squared: {:.6}{}",
                s.r_squared,
                s.adj_r_squared,
                if s.intercept.is_none() {
                    " (uncentred: no intercept)"
                } else {
                    ""
                }
            )?;
            match (s.f_statistic, s.f_p_value) {
                (Some(fs), Some(p)) => writeln!(
                    f,
                    "F-statistic: {fs:.4e} on {} and {} DF, p-value: {p:.3e}",
                    self.rank, s.df_residual
                )?,
                _ => writeln!(f, "F-statistic: NA")?,
            }
        }
        let centred = if self.targets.first().is_some_and(|t| t.intercept.is_some()) {
            " (centred for the intercept)"
        } else {
            ""
        };
        writeln!(
            f,
            "{} observations; design rank {}{centred}, condition number {:.3e}",
            self.n_samples, self.rank, self.condition_number
        )?;
        for w in &self.warnings {
            writeln!(f, "Warning: {w}")?;
        }
        Ok(())
    }
}
