//! The lower block of statsmodels' summary, from a fit's residuals (whitened by the square roots
//! of the sample weights, statsmodels' `wresid`): Omnibus (D'Agostino-Pearson's K², scipy's
//! `normaltest`) and its p, skew, kurtosis (Pearson's, biased, as scipy's `skew` and
//! `kurtosis(fisher=False)`), Durbin-Watson, Jarque-Bera and its p.

use super::LeastSquaresFit;
use crate::Result;
use crate::data::Dataset;
use crate::device::read_f64;
use crate::float::times_pow2;

/// One target's residual diagnostics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Diagnostics {
    pub omnibus: f64,
    pub omnibus_p: f64,
    pub skew: f64,
    pub kurtosis: f64,
    pub durbin_watson: f64,
    pub jarque_bera: f64,
    pub jarque_bera_p: f64,
}

impl Diagnostics {
    /// Every statistic NaN (a fit that made no pass over its residuals).
    pub(super) const UNKNOWN: Diagnostics = Diagnostics {
        omnibus: f64::NAN,
        omnibus_p: f64::NAN,
        skew: f64::NAN,
        kurtosis: f64::NAN,
        durbin_watson: f64::NAN,
        jarque_bera: f64::NAN,
        jarque_bera_p: f64::NAN,
    };
}

/// The diagnostics of every target of `fit` on `data` (the rows it was fitted on, in order):
/// one pass on the device for the residuals, the moments on the host.
pub(super) fn diagnostics(fit: &LeastSquaresFit, data: &Dataset) -> Result<Vec<Diagnostics>> {
    let (n, k) = (data.n_samples(), data.n_targets());
    let mut residuals = data.targets() - fit.model.predict(data.features())?;
    if let Some(w) = data.device_weights() {
        residuals = residuals * w.tensor.sqrt().unsqueeze_dim::<2>(1);
    }
    (0..k)
        .map(|t| {
            // In the solver's units (a power of two: the statistics are scale-free).
            let e = times_pow2(
                residuals.clone().slice([0..n, t..t + 1]),
                fit.scaled.scaling.y[t],
            );
            Ok(of_residuals(&read_f64(e)?))
        })
        .collect()
}

/// The diagnostics of residuals `e` (in row order).
pub(super) fn of_residuals(e: &[f64]) -> Diagnostics {
    let mut moments = ResidualMoments::default();
    moments.add(e);
    moments.diagnostics()
}

/// What the diagnostics need of residuals read chunk by chunk in row order: each chunk's central
/// moments by two passes over it, merged into the running ones (Pébay's pairwise formulas, as
/// exact as two passes over everything up to rounding), and the Durbin-Watson sums across the
/// chunks' boundaries.
#[derive(Debug, Clone, Default)]
pub(super) struct ResidualMoments {
    n: f64,
    mean: f64,
    /// Sums of the 2nd, 3rd and 4th powers of the deviations from `mean`.
    m2: f64,
    m3: f64,
    m4: f64,
    squares: f64,
    differences: f64,
    last: Option<f64>,
}

impl ResidualMoments {
    /// Adds the next residuals.
    pub(super) fn add(&mut self, e: &[f64]) {
        if e.is_empty() {
            return;
        }
        let nb = e.len() as f64;
        let mb = e.iter().sum::<f64>() / nb;
        let power = |p: i32| e.iter().map(|v| (v - mb).powi(p)).sum::<f64>();
        let (m2b, m3b, m4b) = (power(2), power(3), power(4));
        let na = self.n;
        let n = na + nb;
        let d = mb - self.mean;
        let (m2a, m3a) = (self.m2, self.m3);
        self.m4 += m4b
            + d.powi(4) * na * nb * (na * na - na * nb + nb * nb) / n.powi(3)
            + 6.0 * d * d * (na * na * m2b + nb * nb * m2a) / (n * n)
            + 4.0 * d * (na * m3b - nb * m3a) / n;
        self.m3 +=
            m3b + d.powi(3) * na * nb * (na - nb) / (n * n) + 3.0 * d * (na * m2b - nb * m2a) / n;
        self.m2 += m2b + d * d * na * nb / n;
        self.mean += d * nb / n;
        self.n = n;
        self.squares += e.iter().map(|v| v * v).sum::<f64>();
        let joined = self.last.map_or(0.0, |last| (e[0] - last).powi(2));
        self.differences += joined + e.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>();
        self.last = e.last().copied();
    }

    /// The diagnostics of every residual added.
    pub(super) fn diagnostics(&self) -> Diagnostics {
        let n = self.n;
        let (m2, m3, m4) = (self.m2 / n, self.m3 / n, self.m4 / n);
        let skew = m3 / m2.powf(1.5);
        let kurtosis = m4 / (m2 * m2);
        let jarque_bera = n / 6.0 * (skew * skew + (kurtosis - 3.0).powi(2) / 4.0);
        let durbin_watson = self.differences / self.squares;
        // statsmodels' omni_normtest: NaN below 8 observations.
        let omnibus = if n < 8.0 {
            f64::NAN
        } else {
            skew_z(skew, n).powi(2) + kurtosis_z(kurtosis, n).powi(2)
        };
        Diagnostics {
            omnibus,
            // The upper tail of chi^2 with 2 degrees of freedom.
            omnibus_p: (-omnibus / 2.0).exp(),
            skew,
            kurtosis,
            durbin_watson,
            jarque_bera,
            jarque_bera_p: (-jarque_bera / 2.0).exp(),
        }
    }
}

/// D'Agostino's normal approximation of the skewness `b` of `n` values (scipy's `skewtest`).
fn skew_z(b: f64, n: f64) -> f64 {
    let y = b * ((n + 1.0) * (n + 3.0) / (6.0 * (n - 2.0))).sqrt();
    let beta2 = 3.0 * (n * n + 27.0 * n - 70.0) * (n + 1.0) * (n + 3.0)
        / ((n - 2.0) * (n + 5.0) * (n + 7.0) * (n + 9.0));
    let w2 = -1.0 + (2.0 * (beta2 - 1.0)).sqrt();
    let delta = 1.0 / (0.5 * w2.ln()).sqrt();
    let alpha = (2.0 / (w2 - 1.0)).sqrt();
    let y = if y == 0.0 { 1.0 } else { y };
    delta * (y / alpha + ((y / alpha).powi(2) + 1.0).sqrt()).ln()
}

/// Anscombe and Glynn's normal approximation of the kurtosis `b` of `n` values (scipy's
/// `kurtosistest`).
fn kurtosis_z(b: f64, n: f64) -> f64 {
    let e = 3.0 * (n - 1.0) / (n + 1.0);
    let var = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) * (n + 1.0) * (n + 3.0) * (n + 5.0));
    let x = (b - e) / var.sqrt();
    let root_beta1 = 6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0))
        * (6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))).sqrt();
    let a = 6.0
        + 8.0 / root_beta1 * (2.0 / root_beta1 + (1.0 + 4.0 / (root_beta1 * root_beta1)).sqrt());
    let term1 = 1.0 - 2.0 / (9.0 * a);
    let denom = 1.0 + x * (2.0 / (a - 4.0)).sqrt();
    let term2 = if denom == 0.0 {
        f64::NAN
    } else {
        denom.signum() * ((1.0 - 2.0 / a) / denom.abs()).cbrt()
    };
    (term1 - term2) / (2.0 / (9.0 * a)).sqrt()
}

impl LeastSquaresFit {
    /// Variance inflation factors of the features, `1 / (1 - R_j^2)` with `R_j^2` of feature
    /// `j` regressed on the others (and the constant, with an intercept; statsmodels'
    /// `variance_inflation_factor` on the design): `[(Z^T Z)^+]_jj (Z^T Z)_jj` of the design the
    /// solver saw (with sample weights, the weighted one). Infinite for a feature that is not
    /// identifiable.
    pub(super) fn variance_inflation(&self) -> Vec<f64> {
        let s = &self.scaled;
        let i = usize::from(self.intercept);
        let identifiable = self.identifiable();
        (0..s.column_scale.len())
            .map(|j| {
                if !identifiable[j + i] {
                    return f64::INFINITY;
                }
                let d = s.column_scale[j];
                let own = crate::float::scale2(self.gram[j][j], 2 * s.scaling.x) / (d * d);
                s.gram_pinv[j][j] * own
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_merged_chunk_by_chunk_equal_two_passes_over_all() {
        // Skewed values far from zero, with chunks of unequal sizes.
        let e: Vec<f64> = (0..1000)
            .map(|i| 1e3 + ((i * 7919) % 1000) as f64 / 100.0 + (i % 13) as f64 * (i % 13) as f64)
            .collect();
        let n = e.len() as f64;
        let mean = e.iter().sum::<f64>() / n;
        let moment = |p: i32| e.iter().map(|v| (v - mean).powi(p)).sum::<f64>() / n;
        let skew = moment(3) / moment(2).powf(1.5);
        let kurtosis = moment(4) / moment(2).powi(2);
        let dw = e.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>()
            / e.iter().map(|v| v * v).sum::<f64>();
        let mut chunked = ResidualMoments::default();
        for part in [&e[..1], &e[1..300], &e[300..301], &e[301..]] {
            chunked.add(part);
        }
        let d = chunked.diagnostics();
        for (what, got, want) in [
            ("skew", d.skew, skew),
            ("kurtosis", d.kurtosis, kurtosis),
            ("dw", d.durbin_watson, dw),
        ] {
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{what}: {got} vs {want}"
            );
        }
    }
}
