//! [`LeastSquares::fit_sharded`]: the closed form of rows spread over devices, from exact
//! Gram blocks computed where the rows live.
//!
//! The normal equations are usually the inaccurate way to least squares: forming `X^T X` in
//! floating point rounds it, and the rounding is amplified by `cond(X)^2`. Here the Gram
//! matrix of `D = [1 | X | Y]` is formed *exactly* with the shards' own matmul, by the Ozaki
//! scheme: on each shard every column `j` is cut into 3 slices of 21 bits,
//! `D[:, j] = sum_s S_s[:, j] 2^(e_j - 21 (s + 1))` with integer-valued `S_s`, `|S_s| <= 2^21`
//! (`2^e_j` bounds the column, a power of two, so the cuts are exact). Over a block of 1024
//! rows every product of two slices and every partial sum of a matmul is an integer below
//! `2^53`, so Burn's `f64` matmul computes the block's `S_s^T S_t` without rounding, in any
//! order, on any backend; each block product is then split exactly at `2^26` and the halves
//! summed over the blocks, which stays exact up to `2^36` rows per shard. The client reads the
//! 6 products (`12 p^2` numbers per shard), scales them by powers of two and sums them in
//! double-double: `D^T D` to about 32 digits. The slices hold 63 bits of each column below its
//! largest value (all of its values near the top, and the rest to `2^-63` of the largest), a
//! backward error far below Householder QR's.
//!
//! The Cholesky factor of that Gram matrix, computed in double-double, is the `R` factor of `D`
//! to double-double accuracy where `cond(X)^2` stays well inside 32 digits (the NIST designs
//! do), and the rest is the streamed QR's: the rank, singular values and null space from the
//! SVD of the column-scaled `R` rounded to `f64`, the sums of squares from its target columns;
//! a full-rank `Qr` solution is the back substitution in double-double (where the in-memory
//! path refines with residuals: here no residual pass is needed, the equations are exact).
//!
//! With an intercept, a column whose values lie within a factor of two of each other (a year,
//! a timestamp, `1e12 +` a fraction) is first shifted, exactly, by its end nearest zero, so
//! that the factor's centring never subtracts a large mean from itself (the exact Gram matrix
//! of unshifted data would still lose `(mean / sd)^2` of the double-double digits there).
//!
//! Per fit, two rounds of jobs: each shard sends its columns' minima and maxima (`2 (m + k)`
//! numbers), then receives the shifts and sends `m + k` maxima and `12 p^2` integers; the data
//! never move. The work on a shard is about 6 times a plain `X^T X` (the slice products) and a
//! dozen elementwise passes.

mod factor;
mod gram;

use super::double_double::Dd;
use super::host::Scaling;
use super::solution::Solution;
use super::streamed_qr::{Factor, RankRule, Refinable, solve_factor};
use super::{About, LeastSquares, LeastSquaresFit, Solver, Weighting};
use crate::data::{ShardWorkers, ShardedDataset};
use crate::float::{exact_shift, scale2};
use crate::{Error, Precision, Result};
use factor::{cholesky, inverse_gram_dd, residual_sum_of_squares, solve_dd};
use gram::{MAX_SHARD_ROWS, ShardGram, combine, shard_gram, shard_ranges};

/// A job for a shard's thread: its columns' ranges, or its Gram blocks of the data shifted by
/// one value per feature and target.
enum ShardJob {
    Ranges,
    Gram(std::sync::Arc<Vec<f64>>),
}

/// A shard's answer to a [`ShardJob`].
enum ShardAnswer {
    Ranges(Vec<(f64, f64)>),
    Gram(ShardGram),
}

/// The threads that run the shards' [`ShardJob`]s, one per shard.
type Workers = ShardWorkers<ShardJob, ShardAnswer>;

/// The columns of `D = [1 | X | Y]`: `lead` leading column (1 with an intercept, else 0),
/// `m` features and `k` targets, `p` in all.
#[derive(Clone, Copy)]
struct Shape {
    intercept: bool,
    lead: usize,
    m: usize,
    k: usize,
    p: usize,
}

/// The Gram matrix of every shard's blocks in the data's power-of-two scaling (from
/// [`scaled_gram`]), with the columns' magnitudes and shifts in the same units.
struct ScaledGram {
    /// `D'^T D'`, `p x p` row-major (see [`combine`]).
    gram: Vec<Dd>,
    scaling: Scaling,
    /// The largest magnitude of each feature and target column (the features' at least the
    /// penalty rows' `sqrt(alpha)`), scaled.
    largest: Vec<f64>,
    /// The shift of each feature and target column, scaled.
    shift: Vec<f64>,
}

/// The double-double Cholesky factors of the scaled Gram matrix (from [`penalised_factor`]).
struct Factors {
    /// The factor of the Gram matrix with the ridge penalty (without one, the plain factor).
    r: Vec<Dd>,
    /// With ridge, the factor without the penalty, for the rows' own sums of squares.
    unpenalised: Option<Vec<Dd>>,
    /// alpha in the units of the scaled data (0 without ridge).
    alpha: f64,
}

/// A target's full-rank solution in double-double (weights, intercept); `None` on a zero
/// pivot.
type Exact = Option<(Vec<f64>, f64)>;

/// The rows of positive weight and the weights' effect on the statistics (as weighted least
/// squares in memory), or `None` without sample weights.
fn sample_weights(data: &ShardedDataset) -> Option<(usize, Weighting, i32)> {
    let shards = data.shards();
    if shards.iter().all(|s| s.weight_values().is_none()) {
        return None;
    }
    let all = || {
        shards
            .iter()
            .flat_map(|s| s.weight_values_or_ones().into_owned())
            .filter(|&w| w > 0.0)
    };
    // Divided by a power of two just above the largest (exact on the shards, and
    // representable for subnormal weights too): the crate's one normalisation.
    let e = crate::data::normalising_exponent(all());
    let positive = all().count();
    let log_sum = all().map(f64::ln).sum();
    let total = super::double_double::sum(all().map(|w| scale2(w, -e)));
    Some((
        positive,
        Weighting {
            total,
            log_sum,
            scale: scale2(1.0, e),
        },
        -e,
    ))
}

impl LeastSquares {
    /// The closed form of rows spread over devices ([`ShardedDataset`]): each shard computes
    /// exact integer Gram blocks of its rows on its own device (a `linfit-worker`'s, or
    /// local), this process combines them in double-double into the Gram matrix of
    /// `[1 | X | Y]` and solves from its Cholesky factor (the module's documentation explains
    /// why that is exact). The data never move; each shard sends `O(p^2)` numbers
    /// (`p = 1 + m + k`).
    ///
    /// Accuracy: that of the in-memory QR path or better (the NIST StRD datasets split over
    /// two shards meet the floors of the in-memory tests). `Solver::Svd` decides the rank and
    /// solves from the SVD of the factor; every other solver decides the rank the same way and
    /// solves full-rank designs by back substitution in double-double, and reports
    /// [`Solver::Qr`]. The statistics, rank and null space are those of [`fit`](Self::fit).
    /// Sample weights ([`Dataset::with_weights`](crate::Dataset::with_weights) before the
    /// split) give weighted least squares, as `fit` does: each shard weights its rows by
    /// `sqrt(w 2^-e)` (`2^e` a power of two above the largest weight) before the exact products. A ridge penalty (`alpha`) is added to the
    /// Gram matrix's feature diagonal, exactly, as the in-memory fit's penalty rows. The model is on this machine's CPU
    /// ([`crate::device::cpu`]) in `f64`, or in `f32` when this process has locked that
    /// device to `f32` (the model's values then rounded to f32).
    ///
    /// # Errors
    /// [`Error::Worker`] naming the shard when its device fails, its worker dies or is
    /// unreachable, or it does not answer within the data's
    /// [`timeout`](ShardedDataset::timeout) (which bounds each shard's whole pass here: raise
    /// it with `with_timeout` for shards of many millions of rows on slow devices; about 0.5 s
    /// per million rows of 32 features on a CPU core); [`Error::InvalidHyperparameter`] for
    /// more than 2^36 rows in one shard, shards in
    /// `f32` (the exact products need `f64`: start the workers with `--precision f64`) or an
    /// invalid `alpha` or `rcond`; [`Error::OutOfRange`] for data whose squares leave
    /// `f64`'s range; as [`fit`](Self::fit).
    pub fn fit_sharded(&self, data: &ShardedDataset) -> Result<LeastSquaresFit> {
        self.check_rcond()?;
        self.check_alpha()?;
        self.check_nonrobust("fit_sharded")?;
        check_shards(data)?;
        let intercept = self.intercept;
        let (m, k) = (data.n_features(), data.n_targets());
        let lead = usize::from(intercept);
        let shape = Shape {
            intercept,
            lead,
            m,
            k,
            p: lead + m + k,
        };
        // Sample weights, from the copy every shard keeps here: divided by a power of two at
        // their largest, rows of weight zero count for nothing.
        let (n, weighting, weight_exponent) = match sample_weights(data) {
            None => (data.n_samples(), Weighting::none(data.n_samples()), None),
            Some((positive, weighting, e)) => (positive, weighting, Some(e)),
        };
        let workers = ShardWorkers::start(data, move |shard, job: ShardJob| match job {
            ShardJob::Ranges => shard_ranges(shard, weight_exponent).map(ShardAnswer::Ranges),
            ShardJob::Gram(shift) => {
                shard_gram(shard, intercept, weight_exponent, &shift).map(ShardAnswer::Gram)
            }
        })?;
        let shards = data.shards().len();
        let shift = column_shift(&workers, shards, shape)?;
        let grams = gather_grams(&workers, shards, &shift)?;
        // alpha in the weights' units.
        let alpha = self.alpha / weighting.scale;
        let mut scaled = scaled_gram(&grams, &shift, alpha, shape)?;
        let factors = penalised_factor(&mut scaled.gram, alpha, scaled.scaling.x, shape)?;
        let factor = factor_for_solve(
            &factors.r,
            &scaled.gram,
            &scaled.shift,
            scaled.largest,
            shape,
        );
        let rule = match self.solver {
            Solver::Svd => RankRule::Unscaled,
            _ => RankRule::Scaled,
        };
        let exact = exact_solutions(&factors.r, &scaled.shift, shape);
        // Ridge solves the rows and the m penalty rows: its rank may reach m with fewer rows.
        let rows_solved = if factors.alpha > 0.0 { n + m } else { n };
        let (mut solution, refined) =
            solve_with_exact(factor, rows_solved, self.rcond, rule, &exact)?;
        solution.scaling = scaled.scaling;
        refine_solution(&mut solution, &refined, &exact, &factors, shape);
        let (features, targets) = data.names();
        let about = About {
            n,
            // The CPU in f64, or in f32 where this process has locked it to f32 already.
            device: crate::device::cpu(Precision::F64)
                .or_else(|_| crate::device::cpu(Precision::F32))?,
            names: (features.clone(), targets.clone()),
            data: None,
            weighting,
            alpha: self.alpha,
        };
        let used = match rule {
            RankRule::Unscaled => Solver::Svd,
            RankRule::Scaled => Solver::Qr,
        };
        LeastSquaresFit::from_solution(solution, used, intercept, about)
    }
}

/// The shards [`LeastSquares::fit_sharded`] can solve: in `f64`, with at most
/// [`MAX_SHARD_ROWS`] rows each.
fn check_shards(data: &ShardedDataset) -> Result<()> {
    if let Some(shard) = data
        .shards()
        .iter()
        .find(|s| s.precision() != Precision::F64)
    {
        return Err(Error::InvalidHyperparameter {
            name: "shard precision",
            value: format!("{:?} on {:?}", shard.precision(), shard.device()),
            rule: "the sharded closed form forms exact f64 products on each shard: load \
                   the shards in f64 (linfit-worker --precision f64)",
        });
    }
    if let Some(shard) = data
        .shards()
        .iter()
        .find(|s| s.n_samples() > MAX_SHARD_ROWS)
    {
        return Err(Error::InvalidHyperparameter {
            name: "rows per shard",
            value: format!("{} on {:?}", shard.n_samples(), shard.device()),
            rule: "the sharded closed form sums at most 2^36 rows per shard exactly: use \
                   more shards",
        });
    }
    Ok(())
}

/// The shift of each feature and target column, from the ranges of every shard's columns
/// (zeros without an intercept).
fn column_shift(workers: &Workers, shards: usize, shape: Shape) -> Result<Vec<f64>> {
    // With an intercept, a column whose values lie within a factor of two of each other is
    // shifted by its end nearest zero first (exactly: see `exact_shift`), so that the
    // double-double factor never subtracts a large mean from itself.
    let shift = if shape.intercept {
        for i in 0..shards {
            workers.send(i, ShardJob::Ranges);
        }
        let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); shape.m + shape.k];
        for answer in workers.answers("the column ranges of the closed form")? {
            let ShardAnswer::Ranges(part) = answer else {
                unreachable!("a range job answers with ranges")
            };
            for (a, b) in range.iter_mut().zip(part) {
                *a = (a.0.min(b.0), a.1.max(b.1));
            }
        }
        range
            .iter()
            .map(|&(low, high)| exact_shift(low, high))
            .collect()
    } else {
        vec![0.0; shape.m + shape.k]
    };
    Ok(shift)
}

/// Every shard's Gram blocks of its data shifted by `shift`, in shard order.
fn gather_grams(workers: &Workers, shards: usize, shift: &[f64]) -> Result<Vec<ShardGram>> {
    let shift_job = std::sync::Arc::new(shift.to_vec());
    for i in 0..shards {
        workers.send(i, ShardJob::Gram(shift_job.clone()));
    }
    let grams: Vec<ShardGram> = workers
        .answers("the Gram blocks of the closed form")?
        .into_iter()
        .map(|answer| match answer {
            ShardAnswer::Gram(g) => g,
            ShardAnswer::Ranges(_) => unreachable!("a Gram job answers with blocks"),
        })
        .collect();
    Ok(grams)
}

/// The Gram matrix of the shards' blocks in the data's power-of-two scaling, chosen from the
/// columns' largest magnitudes and the ridge penalty's (`alpha` in the weights' units).
fn scaled_gram(grams: &[ShardGram], shift: &[f64], alpha: f64, shape: Shape) -> Result<ScaledGram> {
    let Shape { lead, m, k, p, .. } = shape;
    let mut largest = vec![0.0f64; m + k];
    for g in grams {
        for (a, b) in largest.iter_mut().zip(&g.largest) {
            *a = a.max(*b);
        }
    }
    // Ridge: the penalty rows sqrt(alpha) e_j (in the weights' units) are part of the
    // feature columns the scaling must keep in range, as in memory.
    if alpha > 0.0 {
        for a in &mut largest[..m] {
            *a = a.max(alpha.sqrt());
        }
    }
    // The data's power-of-two scaling, as in memory (none for data in the safe range): one
    // exponent for the features, one per target, so that the squares stay in f64's range.
    let scaling = Scaling {
        x: Scaling::exponent_for_columns(&largest[..m])?,
        y: largest[m..]
            .iter()
            .map(|&a| Scaling::exponent_for(a))
            .collect(),
    };
    let column_scaling: Vec<i32> = (0..lead)
        .map(|_| 0)
        .chain(std::iter::repeat_n(scaling.x, m))
        .chain(scaling.y.iter().copied())
        .collect();
    for (a, s) in largest.iter_mut().zip(&column_scaling[lead..]) {
        *a = scale2(*a, *s);
    }
    let shift: Vec<f64> = shift
        .iter()
        .zip(&column_scaling[lead..])
        .map(|(c, s)| scale2(*c, *s))
        .collect();
    let gram = combine(grams, p, &column_scaling);
    if let Some(v) = gram.iter().find(|v| !v.value().is_finite()) {
        return Err(Error::OutOfRange {
            what: "the Gram matrix of the sharded data".into(),
            value: v.value().to_string(),
            rule: "the squares of the data leave f64's range even scaled by one power of two \
                   for the features and one per target; rescale the columns"
                .into(),
        });
    }
    Ok(ScaledGram {
        gram,
        scaling,
        largest,
        shift,
    })
}

/// The Cholesky factor of the scaled Gram matrix `gram` in double-double, with the ridge
/// penalty (`alpha` in the weights' units, scaled by the features' exponent `scaling_x`)
/// added to its feature diagonal; with ridge, also the factor without it.
fn penalised_factor(gram: &mut [Dd], alpha: f64, scaling_x: i32, shape: Shape) -> Result<Factors> {
    let Shape { lead, m, p, .. } = shape;
    // Ridge: the Gram matrix of the rows plus `sqrt(alpha) e_j` rows (target 0, no
    // constant), alpha in the scaled units; the rows' own factor is kept for the sums of
    // squares.
    let alpha = scale2(alpha, 2 * scaling_x);
    let unpenalised = (alpha > 0.0).then(|| cholesky(gram, p));
    if alpha > 0.0 {
        if !alpha.is_finite() {
            return Err(Error::OutOfRange {
                what: "alpha in the units of the scaled data".into(),
                value: alpha.to_string(),
                rule: "alpha and the features' magnitudes are too far apart; rescale the \
                       features"
                    .into(),
            });
        }
        for j in lead..lead + m {
            gram[j * p + j] = gram[j * p + j].add(alpha);
        }
    }
    let r = cholesky(gram, p);
    Ok(Factors {
        r,
        unpenalised,
        alpha,
    })
}

/// The factor the rank, singular values and null space come from: `r_dd` rounded to `f64`,
/// the columns' means from `gram` and `shift`, and the rank the factor allows.
fn factor_for_solve(
    r_dd: &[Dd],
    gram: &[Dd],
    shift: &[f64],
    largest: Vec<f64>,
    shape: Shape,
) -> Factor {
    let Shape {
        intercept,
        lead,
        m,
        k,
        p,
    } = shape;
    // Features whose pivot the factor zeroed are dependent, whatever rcond says.
    let rank_cap = (lead..lead + m)
        .filter(|&j| r_dd[j * p + j].value() != 0.0)
        .count();
    // The means: the shift plus the shifted columns' means.
    let means = |offset: usize, count: usize| -> Vec<f64> {
        (0..count)
            .map(|j| {
                if intercept {
                    gram[offset + j]
                        .div_dd(gram[0])
                        .add(shift[offset - lead + j])
                        .value()
                } else {
                    0.0
                }
            })
            .collect()
    };
    let (x_mean, y_mean) = (means(lead, m), means(lead + m, k));
    let r: Vec<f64> = r_dd.iter().map(|v| v.value()).collect();
    Factor::new(r, intercept, (x_mean, y_mean), largest, rank_cap)
}

/// Every target's full-rank solution from `r_dd` by back substitution in double-double, its
/// intercept moved back from the data shifted by `shift`.
fn exact_solutions(r_dd: &[Dd], shift: &[f64], shape: Shape) -> Vec<Exact> {
    let Shape {
        intercept,
        lead,
        m,
        k,
        p,
    } = shape;
    (0..k)
        .map(|t| {
            // The intercept of the shifted data, moved back: b = b_s + c_y - c_x w.
            solve_dd(r_dd, p, lead, m, t).map(|(w, b)| {
                let b = if intercept {
                    w.iter()
                        .zip(&shift[..m])
                        .fold(Dd::new(b).add(shift[m + t]), |acc, (wj, cj)| {
                            acc.sub_dd(Dd::new(*wj).mul(*cj))
                        })
                        .value()
                } else {
                    b
                };
                (w, b)
            })
        })
        .collect()
}

/// The solution from `factor` (`rows` rows), each full-rank target's weights those of
/// `exact` where it has them; and which targets took them.
fn solve_with_exact(
    factor: Factor,
    rows: usize,
    rcond: Option<f64>,
    rule: RankRule,
    exact: &[Exact],
) -> Result<(Solution, Vec<bool>)> {
    let mut refined = vec![false; exact.len()];
    let solution = solve_factor(factor, rows, rcond, rule, |t, at: Refinable<'_>| {
        Ok(match &exact[t] {
            Some((w, _)) => {
                refined[t] = true;
                w.clone()
            }
            None => at.w,
        })
    })?;
    Ok((solution, refined))
}

/// The solution's refinement from the double-double factors, for the targets `refined` took
/// their exact weights: `(Z^T Z)^-1`, the exact intercepts, and with ridge the rows' own sums
/// of squares.
fn refine_solution(
    solution: &mut Solution,
    refined: &[bool],
    exact: &[Exact],
    factors: &Factors,
    shape: Shape,
) {
    let Shape { lead, m, p, .. } = shape;
    if refined.iter().any(|&r| r) && solution.rank == m {
        // The standard errors' (Z^T Z)^-1 in double-double too, in the solution's
        // column-scaled coordinates.
        let inverse = inverse_gram_dd(&factors.r, p, lead, m);
        let d = &solution.column_scale;
        solution.gram_pinv = (0..m)
            .map(|i| {
                (0..m)
                    .map(|j| inverse[i][j].value() * d[i] * d[j])
                    .collect()
            })
            .collect();
    }
    if let Some(intercepts) = solution.intercepts.as_mut() {
        for (t, b) in intercepts.iter_mut().enumerate() {
            if let (true, Some((_, exact_b))) = (refined[t], &exact[t]) {
                *b = *exact_b;
            }
        }
    }
    if let (Some(r0), Some((sse, _))) = (&factors.unpenalised, solution.sums_of_squares.as_mut()) {
        // The penalised factor's residual includes alpha |w|^2; the rows' own sum of
        // squares, |R0 (-w; e_t)|^2 over the rows below the constant's, from the factor
        // without the penalty (a sum of squares, no cancellation).
        for (t, sse) in sse.iter_mut().enumerate() {
            let w: Vec<f64> = solution.weights.iter().map(|row| row[t]).collect();
            *sse = residual_sum_of_squares(r0, p, lead, &w, lead + m + t);
        }
    }
}
