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

use std::collections::{BTreeMap, BTreeSet};

use burn::config::Config;
use burn::tensor::Tensor;
use faer::Mat;

use super::LeastSquaresFit;
use super::diagnostics::{Diagnostics, ResidualMoments};
use super::from_file::FileRows;
use super::streamed_qr::RowSource;
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
                Self::cluster_name(groups.iter().collect::<BTreeSet<_>>().len())
            }
        }
    }

    fn cluster_name(groups: usize) -> String {
        format!("cluster ({groups} groups)")
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

/// The robust covariance `kind` of `fit`, made from `data` in one pass over its rows.
pub(super) fn robust(fit: &LeastSquaresFit, data: &Dataset, kind: &Covariance) -> Result<Robust> {
    let n = data.n_samples();
    let mut pass = RobustPass::new(fit, kind, n)?;
    let (device_weights, weights) = (data.device_weights(), data.weight_values());
    let chunk = super::row_passes::device_chunk_rows(data);
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let (x, y) = data.rows(start, end);
        let residuals = y - fit.model.predict(x.clone())?;
        let w = device_weights
            .as_ref()
            .zip(weights)
            .map(|(d, w)| (d.slice(start, end).tensor, &w[start..end]));
        pass.add(x, residuals, w)?;
    }
    pass.finish()
}

/// The robust covariance `kind` of a file fit and its residuals' diagnostics, in one more pass
/// over the file (which must still hold the bytes the fit read): each chunk's rows on the
/// model's device, in its float type.
pub(super) fn robust_from_file(
    fit: &LeastSquaresFit,
    rows: &mut FileRows,
    kind: &Covariance,
) -> Result<(Robust, Vec<Diagnostics>)> {
    let k = fit.model.n_targets();
    let mut pass = RobustPass::new(fit, kind, rows.n_rows())?;
    let mut moments = vec![ResidualMoments::default(); k];
    let device = fit.model.device();
    let dtype = fit.model.weight_param().val().dtype();
    rows.in_order_tensors(&device, dtype, |x, y| {
        let residuals = y - fit.model.predict(x.clone())?;
        let n = residuals.dims()[0];
        for (t, moments) in moments.iter_mut().enumerate() {
            let e = residuals.clone().slice([0..n, t..t + 1]);
            moments.add(&read_f64(times_pow2(e, fit.scaled.scaling.y[t]))?);
        }
        pass.add(x, residuals, None)
    })?;
    let diagnostics = moments.iter().map(ResidualMoments::diagnostics).collect();
    Ok((pass.finish()?, diagnostics))
}

/// A robust covariance accumulated over chunks of rows taken in order: the scores' products
/// (HC), with the lagged products across the chunks' boundaries (HAC), or the scores summed per
/// group (cluster).
pub(super) struct RobustPass<'a> {
    fit: &'a LeastSquaresFit,
    kind: &'a Covariance,
    /// Parameters per target, `[1 z]` or `z`.
    p: usize,
    /// Per target, `sum s s^T` (HC, HAC) and the Bartlett-weighted `sum s_t s_(t-l)^T` (HAC),
    /// summed on the device.
    meat: Vec<Option<Tensor<2>>>,
    lagged: Vec<Option<Tensor<2>>>,
    /// HAC: per target, the scores of the last rows before the next chunk (up to `maxlags`).
    tails: Vec<Option<Tensor<2>>>,
    /// Cluster: per target, the scores summed per group, and the groups with a row that counts
    /// (positive weight).
    sums: Vec<BTreeMap<u64, Vec<f64>>>,
    counted: BTreeSet<u64>,
    /// Rows added so far.
    rows: usize,
}

impl<'a> RobustPass<'a> {
    /// A pass over the `n` rows `fit` was made from.
    ///
    /// # Errors
    /// [`Error::Numerical`] without residual degrees of freedom; [`Error::ShapeMismatch`] unless
    /// a cluster covariance has one group per row.
    pub(super) fn new(fit: &'a LeastSquaresFit, kind: &'a Covariance, n: usize) -> Result<Self> {
        if fit.df_residual() == 0 {
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
        let k = fit.model.n_targets();
        let p = fit.weights.len() + usize::from(fit.intercept);
        Ok(RobustPass {
            fit,
            kind,
            p,
            meat: vec![None; k],
            lagged: vec![None; k],
            tails: vec![None; k],
            sums: vec![BTreeMap::new(); k],
            counted: BTreeSet::new(),
            rows: 0,
        })
    }

    /// Adds the next rows: features `x`, residuals (in the data's units, `[rows, k]`) and, for
    /// weighted data, the weights as the device sees them (`w 2^-e`) and as given.
    pub(super) fn add(
        &mut self,
        x: Tensor<2>,
        residuals: Tensor<2>,
        weights: Option<(Tensor<1>, &[f64])>,
    ) -> Result<()> {
        let (fit, kind, p) = (self.fit, self.kind, self.p);
        let rows = x.dims()[0];
        if let Covariance::Cluster { groups } = kind
            && self.rows + rows > groups.len()
        {
            return Err(Error::shape_mismatch(
                "cluster groups (one per row: more rows than groups came, did the file grow?)",
                self.rows + rows,
                groups.len(),
            ));
        }
        let i = usize::from(fit.intercept);
        let z = fit.unit_coordinates(x);
        let (device, dtype) = (z.device(), z.dtype());
        // Rows u = [1 z] and the weights in the solver's units.
        let u = if i == 1 {
            Tensor::cat(
                vec![Tensor::<2>::ones([rows, 1], (&device, dtype)), z.clone()],
                1,
            )
        } else {
            z.clone()
        };
        let w = weights
            .as_ref()
            .map(|(w, _)| w.clone().unsqueeze_dim::<2>(1));
        // HC2 and HC3 divide the scores by (1 - h) to a power.
        let factor = match kind {
            Covariance::Hc2 | Covariance::Hc3 => {
                let mut h = fit.unit_leverage(z);
                if let Some(w) = &w {
                    h = h * w.clone();
                }
                let rest = h.neg().add_scalar(1.0);
                Some(match kind {
                    Covariance::Hc2 => rest.sqrt(),
                    _ => rest,
                })
            }
            _ => None,
        };
        for t in 0..self.meat.len() {
            let ey = fit.scaled.scaling.y[t];
            let mut e = times_pow2(residuals.clone().slice([0..rows, t..t + 1]), ey);
            if let Some(w) = &w {
                e = e * w.clone();
            }
            // Scores s_i = w_i e_i u_i (over the factor).
            let scores = match &factor {
                Some(f) => u.clone() * (e / f.clone()),
                None => u.clone() * e,
            };
            match kind {
                Covariance::Hac { maxlags } => self.add_lagged(t, scores, *maxlags)?,
                Covariance::Cluster { groups } => {
                    let values = read_f64(scores)?;
                    let groups = &groups[self.rows..self.rows + rows];
                    for (r, (row, g)) in values.chunks_exact(p).zip(groups).enumerate() {
                        let sum = self.sums[t].entry(*g).or_insert_with(|| vec![0.0; p]);
                        sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                        if t == 0 && weights.as_ref().is_none_or(|(_, w)| w[r] > 0.0) {
                            self.counted.insert(*g);
                        }
                    }
                }
                _ => accumulate(&mut self.meat[t], square(scores)),
            }
        }
        self.rows += rows;
        Ok(())
    }

    /// HAC: `sum s s^T` and the Bartlett-weighted lagged products `s_t s_(t-l)^T + s_(t-l)
    /// s_t^T` of the pairs whose later row is among `scores`, the earlier possibly among the
    /// previous chunk's last rows.
    fn add_lagged(&mut self, t: usize, scores: Tensor<2>, maxlags: usize) -> Result<()> {
        let p = self.p;
        accumulate(&mut self.meat[t], square(scores.clone()));
        let (all, before) = match self.tails[t].take() {
            Some(tail) => {
                let before = tail.dims()[0];
                (Tensor::cat(vec![tail, scores], 0), before)
            }
            None => (scores, 0),
        };
        let len = all.dims()[0];
        for lag in 1..=maxlags {
            let first = before.max(lag);
            if first >= len {
                break;
            }
            let weight = 1.0 - lag as f64 / (maxlags as f64 + 1.0);
            let later = all.clone().slice([first..len, 0..p]);
            let earlier = all.clone().slice([first - lag..len - lag, 0..p]);
            accumulate(
                &mut self.lagged[t],
                later.transpose().matmul(earlier).mul_scalar(weight),
            );
        }
        let keep = maxlags.min(len);
        if keep > 0 {
            self.tails[t] = Some(all.slice([len - keep..len, 0..p]));
        }
        Ok(())
    }

    /// The covariance, once every row was added.
    pub(super) fn finish(self) -> Result<Robust> {
        let (fit, kind, p) = (self.fit, self.kind, self.p);
        let rows = fit.n_samples as f64;
        let df = fit.df_residual();
        let groups = self.counted.len();
        let correction = match kind {
            Covariance::Hc1 => rows / df as f64,
            Covariance::Cluster { .. } => {
                let g = groups as f64;
                // statsmodels counts the design's columns, identified or not.
                g / (g - 1.0) * (rows - 1.0) / (rows - p as f64)
            }
            _ => 1.0,
        };
        let cov = match kind {
            Covariance::Cluster { .. } => self
                .sums
                .iter()
                .map(|sums| {
                    let mut meat = vec![0.0; p * p];
                    for sum in sums.values() {
                        for a in 0..p {
                            for b in 0..p {
                                meat[a * p + b] += sum[a] * sum[b];
                            }
                        }
                    }
                    meat
                })
                .collect::<Vec<_>>(),
            _ => {
                let mut meats = Vec::with_capacity(self.meat.len());
                for (meat, lagged) in self.meat.into_iter().zip(self.lagged) {
                    let meat = match (meat, lagged) {
                        (Some(meat), Some(l)) => Some(meat + l.clone() + l.transpose()),
                        (meat, _) => meat,
                    };
                    meats.push(match meat {
                        Some(meat) => read_f64(meat)?,
                        None => vec![0.0; p * p],
                    });
                }
                meats
            }
        }
        .into_iter()
        .map(|meat| {
            let meat: Vec<Vec<f64>> = meat
                .chunks(p)
                .map(|row| row.iter().map(|v| v * correction).collect())
                .collect();
            sandwich(fit, &meat)
        })
        .collect();
        let df_denominator = match kind {
            Covariance::Cluster { .. } => groups.saturating_sub(1),
            _ => df,
        };
        Ok(Robust {
            cov,
            name: match kind {
                Covariance::Cluster { .. } => Covariance::cluster_name(groups),
                _ => kind.describe(),
            },
            df_denominator,
        })
    }
}

fn square(t: Tensor<2>) -> Tensor<2> {
    t.clone().transpose().matmul(t)
}

fn accumulate(total: &mut Option<Tensor<2>>, part: Tensor<2>) {
    *total = Some(match total.take() {
        Some(t) => t + part,
        None => part,
    });
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
