//! The QR (and SVD) fit of tall data, streamed from the data's device in one pass.
//!
//! The rows are read in chunks, by one thread per core over contiguous ranges, and folded into
//! a Householder factor ([`Tsqr`]) of `[1 | X - c | Y - c_y]` (without the column of ones and
//! the shifts when there is no intercept), `c` a shift close to the column means (the mean of
//! the first rows), so that no separate pass for the means is needed and the ones column does
//! not face large offsets. The per-thread factors are stacked and factored once more (a
//! two-level TSQR). From the final `R`:
//! - the means: `mean(x_j) = c_j + R[0, j] / R[0, 0]` (the first row of `R` is `1^T D / R[0, 0]`);
//! - the trailing block, the `R` factor of the centred `[X Y]`: its `X` part for the rank,
//!   singular values and solution, its `Y` columns for `Q^T y` and the sums of squares (the
//!   squared norm of a `Y` column is the total sum of squares, of its rows below the `X` part
//!   the residual sum of squares).
//!
//! The data stay where they are: the host holds one chunk per thread and `O(p^2)`.

use faer::Mat;

use super::double_double::{self as dd, Dd, column_means};
use super::qr::{RSpectrum, back_substitute, forward_substitute_t, r_spectrum};
use super::refine::Refinement;
use super::row_passes::par_host_rows;
use super::solution::{REFINE_ALWAYS_BELOW, ScaledSvd, Solution, max_rank, needs_refinement};
use super::tsqr::Tsqr;
use crate::data::Dataset;
use crate::device::read_f64;
use crate::{Error, Result};

/// Rows whose means give the shift.
const SHIFT_ROWS: usize = 4096;

/// Where the streamed passes read rows from: a dataset on its device, or a file (larger than
/// memory) read in chunks.
pub(crate) trait RowSource {
    /// Features and targets per row.
    fn widths(&self) -> (usize, usize);
    /// Rows; for a file, known once a pass has read it.
    fn n_rows(&self) -> usize;
    /// The first `count` rows (all of them if fewer), row-major features and targets.
    fn first_rows(&mut self, count: usize) -> Result<(Vec<f64>, Vec<f64>)>;
    /// One pass over every row: `fold` row-major chunks into states made by `init` (one state
    /// per part the source splits the rows into).
    fn pass<S: Send>(
        &mut self,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, &[f64], &[f64]) + Sync,
    ) -> Result<Vec<S>>;
}

/// A dataset on its device: chunks read back by one thread per core.
pub(crate) struct InMemory<'a>(pub(crate) &'a Dataset);

impl RowSource for InMemory<'_> {
    fn widths(&self) -> (usize, usize) {
        (self.0.n_features(), self.0.n_targets())
    }

    fn n_rows(&self) -> usize {
        self.0.n_samples()
    }

    fn first_rows(&mut self, count: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let (x, y) = self.0.rows(0, self.0.n_samples().min(count));
        Ok((read_f64(x)?, read_f64(y)?))
    }

    fn pass<S: Send>(
        &mut self,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, &[f64], &[f64]) + Sync,
    ) -> Result<Vec<S>> {
        par_host_rows(self.0, init, fold)
    }
}

/// Whether a problem goes the streaming way: large, and tall enough for `R` to be small next to
/// the data.
pub(crate) fn applies(n: usize, m: usize, k: usize) -> bool {
    n * m > REFINE_ALWAYS_BELOW && n >= 4 * (m + k + 1)
}

/// How the rank of `R` is decided.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RankRule {
    /// `Solver::Qr`: rank from the column-scaled `R` (units do not matter), refining full-rank
    /// solutions of ill-conditioned designs.
    Scaled,
    /// `Solver::Svd`: the same rank, the solution from the SVD of `R` (the design's right
    /// singular vectors, without forming the left factor); no refinement.
    Unscaled,
}

/// The streamed factor: `R` of the shifted `[1 | X - c | Y - c_y]`, and the means it gives.
pub(crate) struct Factor {
    /// `p x p` row-major, `p = lead + m + k`.
    r: Vec<f64>,
    /// 1 with an intercept (the column of ones leads), else 0.
    lead: usize,
    p: usize,
    x_mean: Vec<f64>,
    y_mean: Vec<f64>,
    /// Largest magnitude of each shifted feature column, then of each shifted target.
    largest: Vec<f64>,
    /// An upper bound on the rank known to whoever computed `r` (`usize::MAX`: none).
    rank_cap: usize,
}

impl Factor {
    /// One parallel pass over the rows (see the module documentation).
    fn of(data: &mut impl RowSource, intercept: bool) -> Result<Self> {
        let (m, k) = data.widths();
        let lead = usize::from(intercept);
        let p = lead + m + k;
        let (cx, cy) = if intercept {
            let (x, y) = data.first_rows(SHIFT_ROWS)?;
            (column_means(&x, m), column_means(&y, k))
        } else {
            (vec![0.0; m], vec![0.0; k])
        };
        let parts = data.pass(
            || (Tsqr::new(p), vec![0.0f64; m + k]),
            |(qr, largest), x, y| {
                let (lx, ly) = largest.split_at_mut(m);
                fold_largest(lx, x, &cx);
                fold_largest(ly, y, &cy);
                qr.push_shifted(intercept, (x, &cx), (y, &cy))
            },
        )?;
        let mut largest = vec![0.0f64; m + k];
        let mut qr: Option<Tsqr> = None;
        for (part, part_largest) in parts {
            largest
                .iter_mut()
                .zip(&part_largest)
                .for_each(|(a, b)| *a = a.max(*b));
            match qr.as_mut() {
                None => qr = Some(part),
                Some(qr) => qr.absorb(part),
            }
        }
        let r = qr.unwrap_or_else(|| Tsqr::new(p)).finish();
        let (x_mean, y_mean) = if intercept {
            let r00 = r[0];
            (
                (0..m).map(|j| cx[j] + r[1 + j] / r00).collect(),
                (0..k).map(|t| cy[t] + r[1 + m + t] / r00).collect(),
            )
        } else {
            (vec![0.0; m], vec![0.0; k])
        };
        Ok(Self {
            r,
            lead,
            p,
            x_mean,
            y_mean,
            largest,
            rank_cap: usize::MAX,
        })
    }

    /// A factor computed elsewhere: `r` (`p x p` row-major, `p = lead + m + k`) of the
    /// (shifted) `[1 | X | Y]`, the means, the largest magnitude of each shifted column, and
    /// a bound on the rank that the `f64` factor alone may not show.
    pub(crate) fn new(
        r: Vec<f64>,
        intercept: bool,
        (x_mean, y_mean): (Vec<f64>, Vec<f64>),
        largest: Vec<f64>,
        rank_cap: usize,
    ) -> Self {
        let lead = usize::from(intercept);
        let p = lead + x_mean.len() + y_mean.len();
        debug_assert_eq!(r.len(), p * p);
        Self {
            r,
            lead,
            p,
            x_mean,
            y_mean,
            largest,
            rank_cap,
        }
    }

    /// Entry `(i, j)` of the `R` factor of the centred `[X Y]` (the trailing block).
    fn centred(&self, i: usize, j: usize) -> f64 {
        self.r[(self.lead + i) * self.p + self.lead + j]
    }

    /// Residual and total sums of squares of target `t` (of `m` features), `dropped` the part
    /// of `Q^T y` a rank-deficient solution leaves unexplained.
    fn sums_of_squares(&self, m: usize, t: usize, dropped: f64) -> (f64, f64) {
        let c = |i: usize| self.centred(i, m + t);
        let sse = (m..=m + t).map(|i| c(i) * c(i)).sum::<f64>() + dropped;
        let sst = (0..=m + t).map(|i| c(i) * c(i)).sum();
        (sse, sst)
    }
}

/// The solution of tall data (see the module documentation); the rank, null space and
/// minimum-norm solution come from the SVD of `R`, as in memory; with [`RankRule::Scaled`],
/// when the column-scaled design is ill-conditioned the solution is refined with corrected
/// semi-normal equations.
pub(crate) fn solve(
    data: &mut impl RowSource,
    intercept: bool,
    rcond: Option<f64>,
    rule: RankRule,
) -> Result<Solution> {
    let factor = Factor::of(data, intercept)?;
    let (n, (m, _)) = (data.n_rows(), data.widths());
    let refine = |t: usize, at: Refinable<'_>| {
        if !needs_refinement(n, m, at.scaled_sv) {
            return Ok(at.w);
        }
        refine_seminormal(data, at.r_scaled, at.scale, t, intercept, at.centre, at.w)
    };
    solve_factor(factor, n, rcond, rule, refine)
}

/// A full-rank solution of target `t` that [`solve_factor`] offers for refinement under
/// [`RankRule::Scaled`].
pub(crate) struct Refinable<'a> {
    /// The factor's centred `X` block, its columns divided by `scale`.
    pub r_scaled: faer::MatRef<'a, f64>,
    pub scale: &'a [f64],
    /// Singular values of `r_scaled`.
    pub scaled_sv: &'a [f64],
    /// The feature means and target `t`'s mean.
    pub centre: (&'a [f64], f64),
    /// The solution from `R` alone.
    pub w: Vec<f64>,
}

/// The solution from a factor of `n` rows (see [`solve`]); `refine` may improve each full-rank
/// solution under [`RankRule::Scaled`].
pub(crate) fn solve_factor(
    factor: Factor,
    n: usize,
    rcond: Option<f64>,
    rule: RankRule,
    mut refine: impl FnMut(usize, Refinable<'_>) -> Result<Vec<f64>>,
) -> Result<Solution> {
    let intercept = factor.lead == 1;
    let (m, k) = (factor.x_mean.len(), factor.y_mean.len());
    let c = |i: usize, j: usize| factor.centred(i, j);
    let norms: Vec<f64> = (0..m)
        .map(|j| (0..=j).map(|i| c(i, j) * c(i, j)).sum::<f64>().sqrt())
        .collect();
    check_range(&factor.r, &factor.largest, m)?;
    if norms.iter().all(|&s| s == 0.0) {
        return Ok(rank_zero(&factor));
    }
    let scale = super::solution::column_scale(&norms);
    let r_scaled = Mat::from_fn(m, m, |i, j| if j >= i { c(i, j) / scale[j] } else { 0.0 });
    let max_rank = max_rank(n, m, intercept).min(factor.rank_cap);
    let RSpectrum {
        rank,
        scaled_sv,
        scaled,
        sv,
    } = r_spectrum(r_scaled.clone(), |j| scale[j], n, rcond, max_rank)?;
    // Both solvers decide the rank on the column-scaled design (units do not change it) and
    // truncate there; Qr refines full-rank solutions.
    let refined = rule == RankRule::Scaled;
    let mut weights = vec![vec![0.0; k]; m];
    let (mut sse, mut sst) = (vec![0.0; k], vec![0.0; k]);
    let mut rhs = Vec::with_capacity(k);
    let u = scaled.U();
    for t in 0..k {
        let qty: Vec<f64> = (0..m).map(|i| c(i, m + t)).collect();
        let uty: Vec<f64> = (0..u.ncols())
            .map(|col| dd::dot((0..m).map(|i| u[(i, col)]), qty.iter().copied()))
            .collect();
        if rank == m {
            let psi = back_substitute(r_scaled.as_ref(), &qty);
            let w: Vec<f64> = psi.iter().zip(&scale).map(|(p, s)| p / s).collect();
            let w = if refined {
                let at = Refinable {
                    r_scaled: r_scaled.as_ref(),
                    scale: &scale,
                    scaled_sv: &scaled_sv,
                    centre: (factor.x_mean.as_slice(), factor.y_mean[t]),
                    w,
                };
                refine(t, at)?
            } else {
                w
            };
            for (j, row) in weights.iter_mut().enumerate() {
                row[t] = w[j];
            }
        }
        // What the truncated solution leaves unexplained beyond the least-squares residual.
        let dropped: f64 = uty.iter().skip(rank).map(|d| d * d).sum();
        (sse[t], sst[t]) = factor.sums_of_squares(m, t, dropped);
        rhs.push(uty);
    }
    let Factor { x_mean, y_mean, .. } = factor;
    let mut solution = Solution::from_scaled_svd(
        (rank == m).then_some(weights),
        (x_mean, y_mean),
        intercept,
        ScaledSvd {
            v: scaled.V(),
            s: &scaled_sv,
            scale: &scale,
            rank,
        },
        &rhs,
        sv,
    );
    solution.sums_of_squares = Some((sse, sst));
    Ok(solution)
}

/// The solution where nothing varies: every direction is null (the SVD of a zero `R` has
/// nothing to say), and all of `Q^T y` is unexplained, the rows of the X block included.
fn rank_zero(factor: &Factor) -> Solution {
    let intercept = factor.lead == 1;
    let (m, k) = (factor.x_mean.len(), factor.y_mean.len());
    let c = |i: usize, j: usize| factor.centred(i, j);
    let mut solution =
        Solution::rank_zero((factor.x_mean.clone(), factor.y_mean.clone()), intercept);
    let sums = (0..k)
        .map(|t| {
            let dropped = (0..m).map(|i| c(i, m + t) * c(i, m + t)).sum();
            factor.sums_of_squares(m, t, dropped)
        })
        .unzip();
    solution.sums_of_squares = Some(sums);
    solution
}

/// `largest[j] = max(largest[j], |v - shift[j]|)` over the rows of a row-major chunk, written
/// for the compiler to vectorise (slices zipped, a plain comparison: the data are finite).
fn fold_largest(largest: &mut [f64], values: &[f64], shift: &[f64]) {
    let width = largest.len();
    for row in values.chunks_exact(width) {
        for ((a, &v), &c) in largest.iter_mut().zip(row).zip(shift) {
            let d = (v - c).abs();
            if d > *a {
                *a = d;
            }
        }
    }
}

/// Shifted feature or target values all below this in magnitude have squares that lose
/// their digits.
const TINY_VALUE: f64 = 1e-145;

/// The streamed factor is formed from sums of squares without scaling (the data are never
/// held): refuse a factor that overflowed, or columns so small that their squares lost their
/// digits, rather than return a wrong answer. In-memory fits (up to 2^20 entries) scale such
/// data exactly instead.
fn check_range(r: &[f64], largest: &[f64], m: usize) -> Result<()> {
    let rule = "the streamed QR forms squares of the data, which leave f64's range here; \
                rescale the data (the in-memory solvers, up to 2^20 values, scale it exactly)";
    if let Some(v) = r.iter().find(|v| !v.is_finite()) {
        return Err(Error::OutOfRange {
            what: "the streamed QR factor of the data".into(),
            value: v.to_string(),
            rule: rule.into(),
        });
    }
    if let Some((j, s)) = largest
        .iter()
        .enumerate()
        .find(|(_, s)| **s > 0.0 && **s < TINY_VALUE)
    {
        return Err(Error::OutOfRange {
            what: if j < m {
                format!("the largest (shifted) value of feature column {j}")
            } else {
                format!("the largest (shifted) value of target column {}", j - m)
            },
            value: format!("{s:e}"),
            rule: rule.into(),
        });
    }
    Ok(())
}

/// Rounds of the streamed refinement at most: each is a pass over the data.
const MAX_STREAMED_REFINE: usize = 6;

/// Corrected semi-normal equations: `w += D^-1 R^-1 R^-T D^-1 Z^T r`, with `r = y - b - X w`
/// and `Z^T r` in double-double, streamed from the device; stops when the correction stops
/// shrinking (at most 6 rounds).
fn refine_seminormal(
    data: &mut impl RowSource,
    r_scaled: faer::MatRef<'_, f64>,
    scale: &[f64],
    t: usize,
    intercept: bool,
    (x_mean, y_mean): (&[f64], f64),
    mut w: Vec<f64>,
) -> Result<Vec<f64>> {
    let (m, k) = data.widths();
    let mut rule = Refinement::default();
    for _ in 0..MAX_STREAMED_REFINE {
        let b = if intercept {
            y_mean - dd::dot(x_mean.iter().copied(), w.iter().copied())
        } else {
            0.0
        };
        let parts = data.pass(
            || vec![Dd::default(); m],
            |g, x, y| {
                for (row, target) in x.chunks_exact(m).zip(y.chunks_exact(k)) {
                    let pred = row
                        .iter()
                        .zip(&w)
                        .fold(Dd::new(b), |acc, (x, wj)| acc.add_prod(*x, *wj));
                    let (hi, lo) = pred.parts();
                    let ri = Dd::new(target[t]).add(-hi).add(-lo).value();
                    for ((gj, x), mean) in g.iter_mut().zip(row).zip(x_mean) {
                        *gj = gj.add_prod(x - mean, ri);
                    }
                }
            },
        )?;
        let rhs: Vec<f64> = (0..m)
            .map(|j| {
                let total = parts.iter().fold(Dd::default(), |acc, g| {
                    let (hi, lo) = g[j].parts();
                    acc.add(hi).add(lo)
                });
                total.value() / scale[j]
            })
            .collect();
        let h = forward_substitute_t(r_scaled, &rhs);
        let d = back_substitute(r_scaled, &h);
        let dw: Vec<f64> = d.iter().zip(scale).map(|(dj, s)| dj / s).collect();
        let change = dw.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !rule.accepts(change) {
            break;
        }
        w.iter_mut().zip(&dw).for_each(|(wj, dj)| *wj += dj);
        if Refinement::converged(change, w.iter().map(|x| x * x).sum::<f64>().sqrt()) {
            break;
        }
    }
    Ok(w)
}
