//! [`Covariance`]: heteroskedasticity- and autocorrelation-robust covariances of the estimates,
//! statsmodels' `fit(cov_type=...)`: HC0-HC3, HAC (Newey-West) and cluster-robust.
//!
//! Every one is a sandwich `B M B` in the solver's centred unit-column coordinates, where the
//! design `[1 Z]` has the block-diagonal bread `B = diag(1 / sum w, G)` (`Z` centred by the
//! weighted means, `G = (Z^T W Z)^+`), and the meat `M = sum_i w_i^2 e_i^2 u_i u_i^T` over the
//! rows `u_i = [1 z_i]` (with sample weights, statsmodels' whitened rows and residuals), with
//! each kind's factor per row, lags or groups. It is then moved to the parameters `(b, w)`
//! (`b = a - mean(z) v`) and kept with the fit: one pass over the data on its device, at fit
//! time (a fit holds no reference to its data).

use burn::config::Config;
use burn::tensor::Tensor;
use faer::Mat;

use super::LeastSquaresFit;
use crate::data::Dataset;
use crate::device::read_f64;
use crate::float::times_pow2;
use crate::{Error, Result};

/// How the covariance of the estimates is estimated (statsmodels' `cov_type`), and with it the
/// summary's standard errors, tests and intervals.
///
/// - `NonRobust` (the default): `sigma^2 (X^T W X)^+`, Student's t and F tests.
/// - `Hc0`..`Hc3`: White's heteroskedasticity-consistent sandwich, with per-row factors 1,
///   `n / df_residual` (on the whole), `1 / (1 - h_i)`, `1 / (1 - h_i)^2` (`h` the leverage).
/// - `Hac { maxlags }`: Newey-West, the Bartlett kernel `1 - l / (maxlags + 1)` over lags up to
///   `maxlags`, the rows in their order as time, without small-sample correction (statsmodels'
///   default).
/// - `Cluster { groups }`: one group label per row; the scores summed per group, with
///   statsmodels' correction `G / (G - 1) (n - 1) / (n - k)`; the F test's denominator has
///   `G - 1` degrees of freedom.
///
/// With a robust covariance the coefficients' tests are z tests (normal distribution) and the
/// F statistic is the Wald test of the slopes divided by their number, as statsmodels does.
#[derive(Config, Debug, PartialEq)]
pub enum Covariance {
    /// The classical covariance.
    NonRobust,
    /// HC0.
    Hc0,
    /// HC1.
    Hc1,
    /// HC2.
    Hc2,
    /// HC3.
    Hc3,
    /// Heteroskedasticity and autocorrelation consistent (Newey-West).
    Hac {
        /// The largest lag.
        maxlags: usize,
    },
    /// Cluster-robust.
    Cluster {
        /// The group of each row.
        groups: Vec<u64>,
    },
}

impl Covariance {
    /// How the summary names it.
    pub(super) fn describe(&self) -> String {
        match self {
            Covariance::NonRobust => "nonrobust".into(),
            Covariance::Hc0 => "HC0".into(),
            Covariance::Hc1 => "HC1".into(),
            Covariance::Hc2 => "HC2".into(),
            Covariance::Hc3 => "HC3".into(),
            Covariance::Hac { maxlags } => {
                format!("HAC ({maxlags} lags, Bartlett kernel, without small-sample correction)")
            }
            Covariance::Cluster { groups } => {
                let mut g = groups.clone();
                g.sort_unstable();
                g.dedup();
                format!("cluster ({} groups)", g.len())
            }
        }
    }
}

/// A robust covariance as a fit keeps it.
#[derive(Debug, Clone)]
pub(super) struct Robust {
    /// Per target, the covariance of `(b, w)` (intercept first) in the solver's coordinates,
    /// as `LeastSquaresFit::covariance_scaled` returns it.
    pub cov: Vec<Vec<Vec<f64>>>,
    /// [`Covariance::describe`].
    pub name: String,
    /// The F test's denominator degrees of freedom (cluster: `G - 1`, else `df_residual`).
    pub df_denominator: usize,
}

/// The robust covariance `kind` of `fit`, made from `data`.
pub(super) fn robust(fit: &LeastSquaresFit, data: &Dataset, kind: &Covariance) -> Result<Robust> {
    let (n, k) = (data.n_samples(), data.n_targets());
    // The rows that count (positive weight), as the fit's n and degrees of freedom.
    let rows = fit.n_samples;
    let i = usize::from(fit.intercept);
    let m = fit.weights.len();
    let p = m + i;
    let df = fit.df_residual();
    if df == 0 {
        return Err(Error::Numerical(
            "no residual degrees of freedom: no covariance can be estimated".into(),
        ));
    }
    if let Covariance::Cluster { groups } = kind
        && groups.len() != n
    {
        return Err(Error::shape_mismatch(
            "cluster groups (one per row)",
            n,
            groups.len(),
        ));
    }
    let z = fit.unit_coordinates(data.features());
    let (device, dtype) = (z.device(), z.dtype());
    // Rows u = [1 z] and the weights in the solver's units.
    let u = if i == 1 {
        Tensor::cat(
            vec![Tensor::<2>::ones([n, 1], (&device, dtype)), z.clone()],
            1,
        )
    } else {
        z.clone()
    };
    let w = data
        .device_weights()
        .map(|w| w.tensor.unsqueeze_dim::<2>(1));
    let residuals = data.targets() - fit.model.predict(data.features())?;
    let leverage = match kind {
        Covariance::Hc2 | Covariance::Hc3 => {
            let mut h = fit.gram_form(z).add_scalar(i as f64 / fit.weighting.total);
            if let Some(w) = &w {
                h = h * w.clone();
            }
            Some(h)
        }
        _ => None,
    };
    let mut cov = Vec::with_capacity(k);
    for t in 0..k {
        let ey = fit.scaled.scaling.y[t];
        let mut e = times_pow2(residuals.clone().slice([0..n, t..t + 1]), ey);
        if let Some(w) = &w {
            e = e * w.clone();
        }
        // Scores s_i = w_i e_i u_i; HC2 and HC3 divide by (1 - h) to a power.
        let factor = match (kind, &leverage) {
            (Covariance::Hc2, Some(h)) => Some(h.clone().neg().add_scalar(1.0).sqrt()),
            (Covariance::Hc3, Some(h)) => Some(h.clone().neg().add_scalar(1.0)),
            _ => None,
        };
        let scores = match factor {
            Some(f) => u.clone() * (e / f),
            None => u.clone() * e,
        };
        let mut meat = meat(kind, scores, n, p)?;
        let correction = match kind {
            Covariance::Hc1 => rows as f64 / df as f64,
            Covariance::Cluster { groups } => {
                let g = group_count(groups, data) as f64;
                // statsmodels counts the design's columns, identified or not.
                let params = p as f64;
                g / (g - 1.0) * (rows as f64 - 1.0) / (rows as f64 - params)
            }
            _ => 1.0,
        };
        meat.iter_mut().flatten().for_each(|v| *v *= correction);
        cov.push(sandwich(fit, &meat));
    }
    let df_denominator = match kind {
        Covariance::Cluster { groups } => group_count(groups, data).saturating_sub(1),
        _ => df,
    };
    Ok(Robust {
        cov,
        name: kind.describe(),
        df_denominator,
    })
}

/// The groups with a row that counts (positive weight).
fn group_count(groups: &[u64], data: &Dataset) -> usize {
    let weights = data.weight_values_or_ones();
    let mut g: Vec<u64> = groups
        .iter()
        .zip(weights.iter())
        .filter(|(_, w)| **w > 0.0)
        .map(|(g, _)| *g)
        .collect();
    g.sort_unstable();
    g.dedup();
    g.len()
}

/// `sum_i s_i s_i^T` (HC), with the lags' Bartlett-weighted cross products (HAC), or of the
/// scores summed per group (cluster); `p x p`, read back.
fn meat(kind: &Covariance, scores: Tensor<2>, n: usize, p: usize) -> Result<Vec<Vec<f64>>> {
    let square = |t: Tensor<2>| t.clone().transpose().matmul(t);
    let to_rows = |v: Vec<f64>| -> Vec<Vec<f64>> { v.chunks(p).map(<[f64]>::to_vec).collect() };
    match kind {
        Covariance::Hac { maxlags } => {
            let mut total = read_f64(square(scores.clone()))?;
            for lag in 1..=(*maxlags).min(n.saturating_sub(1)) {
                let weight = 1.0 - lag as f64 / (*maxlags as f64 + 1.0);
                let later = scores.clone().slice([lag..n, 0..p]);
                let earlier = scores.clone().slice([0..n - lag, 0..p]);
                let gamma = read_f64(later.transpose().matmul(earlier))?;
                for a in 0..p {
                    for b in 0..p {
                        total[a * p + b] += weight * (gamma[a * p + b] + gamma[b * p + a]);
                    }
                }
            }
            Ok(to_rows(total))
        }
        Covariance::Cluster { groups } => {
            let values = read_f64(scores)?;
            let mut sums: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
            for (row, g) in values.chunks_exact(p).zip(groups) {
                let sum = sums.entry(*g).or_insert_with(|| vec![0.0; p]);
                sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            let mut total = vec![vec![0.0; p]; p];
            for sum in sums.values() {
                for a in 0..p {
                    for b in 0..p {
                        total[a][b] += sum[a] * sum[b];
                    }
                }
            }
            Ok(total)
        }
        _ => Ok(to_rows(read_f64(square(scores))?)),
    }
}

/// `J B M B J^T`: the sandwich in the centred coordinates `(a, v)` moved to `(b, w)` with
/// `b = a - mean(z) v`, in the solver's units.
fn sandwich(fit: &LeastSquaresFit, meat: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let s = &fit.scaled;
    let m = s.column_scale.len();
    let i = usize::from(fit.intercept);
    let p = m + i;
    let bread = Mat::<f64>::from_fn(p, p, |a, b| match (a.checked_sub(i), b.checked_sub(i)) {
        (Some(a), Some(b)) => s.gram_pinv[a][b],
        (None, None) => 1.0 / fit.weighting.total,
        _ => 0.0,
    });
    let centre: Vec<f64> = s
        .x_mean
        .iter()
        .zip(&s.column_scale)
        .map(|(x, d)| x / d)
        .collect();
    let jacobian = Mat::<f64>::from_fn(p, p, |a, b| match (a, b.checked_sub(i)) {
        (0, Some(c)) if i == 1 => -centre[c],
        _ => f64::from(u8::from(a == b)),
    });
    let meat = Mat::<f64>::from_fn(p, p, |a, b| meat[a][b]);
    let j_b = &jacobian * &bread;
    let cov = &j_b * &meat * j_b.transpose();
    (0..p)
        .map(|a| (0..p).map(|b| cov[(a, b)]).collect())
        .collect()
}
