//! The solves of the sharded closed form in double-double: the Cholesky factor of the exact
//! Gram matrix, the back substitutions of full-rank solutions, `(Z^T Z)^-1` and the residual
//! sums of squares from a factor.

use crate::lstsq::double_double::Dd;

/// The upper Cholesky factor of a symmetric positive semidefinite `g` (`p x p`), in
/// double-double. A pivot at or below `p 2^-104` of its diagonal entry (a column the earlier
/// ones determine to the data's own rounding, or a zero column) leaves a zero row.
pub(super) fn cholesky(g: &[Dd], p: usize) -> Vec<Dd> {
    let mut r = vec![Dd::default(); p * p];
    for j in 0..p {
        let mut d = g[j * p + j];
        for i in 0..j {
            d = d.sub_dd(r[i * p + j].mul_dd(r[i * p + j]));
        }
        let floor = g[j * p + j].value() * p as f64 * 2f64.powi(-104);
        if d.value().is_nan() || d.value() <= floor {
            continue;
        }
        let root = d.sqrt();
        r[j * p + j] = root;
        for l in j + 1..p {
            let mut v = g[j * p + l];
            for i in 0..j {
                v = v.sub_dd(r[i * p + j].mul_dd(r[i * p + l]));
            }
            r[j * p + l] = v.div_dd(root);
        }
    }
    r
}

/// `sum_i (R[i, y] - sum_j R[i, lead + j] w_j)^2` over the rows `i >= lead` of the factor
/// `r` (`p x p`) of `[1 | X | Y]`: the residual sum of squares of weights `w` for the target
/// in column `y` (the constant's row is the intercept's, fitted exactly), in double-double.
pub(super) fn residual_sum_of_squares(r: &[Dd], p: usize, lead: usize, w: &[f64], y: usize) -> f64 {
    (lead..=y)
        .map(|i| {
            let e = w.iter().enumerate().fold(r[i * p + y], |acc, (j, wj)| {
                acc.sub_dd(r[i * p + lead + j].mul(*wj))
            });
            e.mul_dd(e)
        })
        .fold(Dd::default(), Dd::add_dd)
        .value()
}

/// The full-rank solution of target `t` by back substitution in double-double with `r`
/// (`p x p`, the factor of `[1 | X | Y]` or `[X | Y]`): the weights, then (with the leading
/// column of ones) the intercept from the factor's first row, without the cancellation of
/// `mean(y) - mean(x) w` in `f64`. `None` on a zero pivot.
pub(super) fn solve_dd(
    r: &[Dd],
    p: usize,
    lead: usize,
    m: usize,
    t: usize,
) -> Option<(Vec<f64>, f64)> {
    let at = |i: usize, j: usize| r[i * p + j];
    let y = lead + m + t;
    let mut w = vec![Dd::default(); m];
    for i in (0..m).rev() {
        let mut v = at(lead + i, y);
        for (l, wl) in w.iter().enumerate().skip(i + 1) {
            v = v.sub_dd(at(lead + i, lead + l).mul_dd(*wl));
        }
        let pivot = at(lead + i, lead + i);
        if pivot.value() == 0.0 {
            return None;
        }
        w[i] = v.div_dd(pivot);
    }
    let b = if lead == 1 {
        let mut v = at(0, y);
        for (j, wj) in w.iter().enumerate() {
            v = v.sub_dd(at(0, 1 + j).mul_dd(*wj));
        }
        v.div_dd(at(0, 0)).value()
    } else {
        0.0
    };
    Some((w.iter().map(|v| v.value()).collect(), b))
}

/// `(Z^T Z)^-1` of the centred design from the factor's `m x m` block at `lead` (full rank),
/// in double-double: `R^-1 R^-T`, `R^-1` by back substitution column by column.
pub(super) fn inverse_gram_dd(r: &[Dd], p: usize, lead: usize, m: usize) -> Vec<Vec<Dd>> {
    let at = |i: usize, j: usize| r[(lead + i) * p + lead + j];
    // Column c of R^-1, stored as rows: inv[c][i] = (R^-1)[i][c].
    let inv: Vec<Vec<Dd>> = (0..m)
        .map(|c| {
            let mut x = vec![Dd::default(); m];
            for i in (0..=c).rev() {
                let mut v = if i == c { Dd::new(1.0) } else { Dd::default() };
                for (l, xl) in x.iter().enumerate().take(c + 1).skip(i + 1) {
                    v = v.sub_dd(at(i, l).mul_dd(*xl));
                }
                x[i] = v.div_dd(at(i, i));
            }
            x
        })
        .collect();
    (0..m)
        .map(|i| {
            (0..m)
                .map(|j| {
                    inv.iter()
                        .fold(Dd::default(), |acc, col| acc.add_dd(col[i].mul_dd(col[j])))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rank-deficient Gram matrix: the dependent column gets a zero row, the rest is the
    /// plain factor (checked against `R^T R = G`).
    #[test]
    fn cholesky_leaves_a_zero_row_for_a_dependent_column() {
        // Columns a = (1, 2, 3), b = 2 a, c = (1, 0, 1).
        let cols = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]];
        let p = 3;
        let g: Vec<Dd> = (0..p * p)
            .map(|i| {
                let (j, l) = (i / p, i % p);
                Dd::new((0..3).map(|r| cols[j][r] * cols[l][r]).sum())
            })
            .collect();
        let r = cholesky(&g, p);
        assert!((1..p).all(|l| r[p + l].value() == 0.0), "row 1 is zero");
        for j in 0..p {
            for l in 0..p {
                let rtr: f64 = (0..p)
                    .map(|i| r[i * p + j].value() * r[i * p + l].value())
                    .sum();
                assert!((rtr - g[j * p + l].value()).abs() < 1e-12, "({j}, {l})");
            }
        }
    }
}
