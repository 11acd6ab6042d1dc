//! A streaming Householder QR for tall data: rows arrive in any number of pieces, are gathered
//! into small column-major tiles, and each tile is folded into the running triangular factor
//! `R` by the Householder reflections that annihilate it (LAPACK's `tpqrt2` structure: the
//! reflector of column `j` is `e_j` in `R`'s rows plus the tile's column). Only `R` and one
//! tile are ever held, so the data are read once, in order, and nothing is copied but a tile.
//! The factor is that of every row pushed, in exact arithmetic; in floating point it is the
//! backward-stable Householder factor (Householder QR is invariant to column scaling, so the
//! caller scales `R`'s columns afterwards for rank decisions).
//!
//! The tile kernel is written for the compiler to vectorise: fixed-length columns, several
//! independent accumulators, register-blocked in compact WY form (4 reflectors at a time), and
//! builds for AVX-512 (8 lanes, 4 columns per block) and AVX2 (4 lanes, 2 columns), both with
//! FMA, selected at run time on x86-64; other targets get the portable build.

/// Rows per tile: a tile of 128 rows x 34 columns of f64 (35 KB) stays in the L2 cache with `R`,
/// and its columns are whole multiples of every lane width used below.
pub(crate) const TILE: usize = 128;

// The kernels walk a tile's columns in whole steps of their lane width and never handle a
// tail: a TILE that is not a multiple of 2 LANES would drop rows silently.
const _: () = assert!(TILE.is_multiple_of(2 * LANES));

/// The running `R` of every row pushed so far.
pub(crate) struct Tsqr {
    p: usize,
    /// `p x p`, row-major; only the upper triangle is meaningful.
    r: Vec<f64>,
    /// `TILE x p`, column-major.
    tile: Vec<f64>,
    filled: usize,
}

impl Tsqr {
    /// An empty factor of `p` columns.
    pub(crate) fn new(p: usize) -> Self {
        Self {
            p,
            r: vec![0.0; p * p],
            tile: vec![0.0; TILE * p],
            filled: 0,
        }
    }

    /// Appends one row, given as a function of the column index.
    #[inline]
    pub(crate) fn push_row(&mut self, mut value: impl FnMut(usize) -> f64) {
        let i = self.filled;
        for j in 0..self.p {
            self.tile[j * TILE + i] = value(j);
        }
        self.filled += 1;
        if self.filled == TILE {
            self.flush();
        }
    }

    /// Appends rows given as shifted data: `[1 | x - cx | y - cy]` (`lead` adds the column of
    /// ones), `x` and `y` row-major with `cx.len()` and `cy.len()` columns.
    pub(crate) fn push_shifted(
        &mut self,
        lead: bool,
        (x, cx): (&[f64], &[f64]),
        (y, cy): (&[f64], &[f64]),
    ) {
        let (m, k) = (cx.len(), cy.len());
        let first = usize::from(lead);
        debug_assert_eq!(self.p, first + m + k);
        for (row, target) in x.chunks_exact(m).zip(y.chunks_exact(k)) {
            let i = self.filled;
            if lead {
                self.tile[i] = 1.0;
            }
            for (j, (v, c)) in row.iter().zip(cx).enumerate() {
                self.tile[(first + j) * TILE + i] = v - c;
            }
            for (t, (v, c)) in target.iter().zip(cy).enumerate() {
                self.tile[(first + m + t) * TILE + i] = v - c;
            }
            self.filled += 1;
            if self.filled == TILE {
                self.flush();
            }
        }
    }

    /// Appends the rows of another factor (combining two row ranges: the `R` of the stacked
    /// ranges is the `R` of the stacked `R`s).
    pub(crate) fn absorb(&mut self, mut other: Tsqr) {
        other.flush();
        debug_assert_eq!(other.p, self.p);
        let p = self.p;
        for i in 0..p {
            let row = &other.r[i * p..(i + 1) * p];
            self.push_row(|j| if j >= i { row[j] } else { 0.0 });
        }
    }

    /// The factor, `p x p` row-major upper triangular (zeros below the diagonal).
    pub(crate) fn finish(mut self) -> Vec<f64> {
        self.flush();
        let p = self.p;
        for i in 0..p {
            for j in 0..i {
                self.r[i * p + j] = 0.0;
            }
        }
        self.r
    }

    /// Folds the gathered rows (zero-padded to a whole tile: zero rows leave `R` unchanged).
    fn flush(&mut self) {
        if self.filled == 0 {
            return;
        }
        if self.filled < TILE {
            for j in 0..self.p {
                self.tile[j * TILE + self.filled..(j + 1) * TILE].fill(0.0);
            }
        }
        fold_tile(&mut self.r, &mut self.tile, self.p);
        self.filled = 0;
    }
}

fn fold_tile(r: &mut [f64], tile: &mut [f64], p: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        // The AVX-512 build enables avx2 too: check every feature it was compiled with.
        if has!("avx512f") && has!("avx2") && has!("fma") {
            // SAFETY: the CPU has the features this build of the kernel was compiled for.
            unsafe { fold_tile_avx512(r, tile, p) };
            return;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: as above.
            unsafe { fold_tile_avx2(r, tile, p) };
            return;
        }
    }
    fold_tile_blocked::<false, 4, 2>(r, tile, p);
}

/// 16 registers of 4 lanes: 8 accumulators (4 reflectors x 2 columns), 4 of V, the column.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fold_tile_avx2(r: &mut [f64], tile: &mut [f64], p: usize) {
    fold_tile_blocked::<true, 4, 2>(r, tile, p);
}

/// 32 registers of 8 lanes: 16 accumulators (4 reflectors x 4 columns), 4 of V, the column.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn fold_tile_avx512(r: &mut [f64], tile: &mut [f64], p: usize) {
    fold_tile_blocked::<true, 8, 4>(r, tile, p);
}

#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Lanes of independent accumulators per dot product.
const LANES: usize = 8;

#[inline(always)]
fn dot<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [[0.0f64; LANES]; 2];
    for (ca, cb) in a.chunks_exact(2 * LANES).zip(b.chunks_exact(2 * LANES)) {
        for h in 0..2 {
            for l in 0..LANES {
                acc[h][l] = madd::<FMA>(ca[h * LANES + l], cb[h * LANES + l], acc[h][l]);
            }
        }
    }
    let mut s = [0.0; LANES];
    for l in 0..LANES {
        s[l] = acc[0][l] + acc[1][l];
    }
    s.iter().sum()
}

/// Four dot products against the same `v`, sharing its loads.
#[cfg(test)]
#[inline(always)]
fn dot4<const FMA: bool>(v: &[f64], c: [&[f64]; 4]) -> [f64; 4] {
    let mut acc = [[0.0f64; LANES]; 4];
    for (i, cv) in v.chunks_exact(LANES).enumerate() {
        let at = i * LANES;
        for q in 0..4 {
            let cq = &c[q][at..at + LANES];
            for l in 0..LANES {
                acc[q][l] = madd::<FMA>(cv[l], cq[l], acc[q][l]);
            }
        }
    }
    acc.map(|a| a.iter().sum())
}

#[inline(always)]
fn axpy<const FMA: bool>(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yc, xc) in y.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        for l in 0..LANES {
            yc[l] = madd::<FMA>(alpha, xc[l], yc[l]);
        }
    }
}

/// `c_q += a_q v` for four columns, sharing the loads of `v`.
#[cfg(test)]
#[inline(always)]
fn axpy4<const FMA: bool>(a: [f64; 4], v: &[f64], c: [&mut [f64]; 4]) {
    let [c0, c1, c2, c3] = c;
    for ((((vc, x0), x1), x2), x3) in v
        .chunks_exact(LANES)
        .zip(c0.chunks_exact_mut(LANES))
        .zip(c1.chunks_exact_mut(LANES))
        .zip(c2.chunks_exact_mut(LANES))
        .zip(c3.chunks_exact_mut(LANES))
    {
        for l in 0..LANES {
            x0[l] = madd::<FMA>(a[0], vc[l], x0[l]);
            x1[l] = madd::<FMA>(a[1], vc[l], x1[l]);
            x2[l] = madd::<FMA>(a[2], vc[l], x2[l]);
            x3[l] = madd::<FMA>(a[3], vc[l], x3[l]);
        }
    }
}

/// One tile folded into `R`, one reflector at a time: for each column `j`, the reflector
/// `H = I - tau v v^T` with `v = [e_j; tile_j / (alpha - beta)]` maps `(R_jj, tile_j)` to
/// `(beta, 0)`; it is applied to the columns on the right. The reference for the blocked kernel.
#[cfg(test)]
fn fold_tile_unblocked<const FMA: bool>(r: &mut [f64], tile: &mut [f64], p: usize) {
    for j in 0..p {
        let (head, rest) = tile.split_at_mut((j + 1) * TILE);
        let v = &mut head[j * TILE..];
        let sigma = dot::<FMA>(v, v);
        if sigma == 0.0 {
            continue; // nothing to annihilate: H = I
        }
        let alpha = r[j * p + j];
        let norm = alpha.hypot(sigma.sqrt());
        let beta = if alpha >= 0.0 { -norm } else { norm };
        let s = 1.0 / (alpha - beta);
        v.iter_mut().for_each(|x| *x *= s);
        let tau = (beta - alpha) / beta;
        r[j * p + j] = beta;
        let v: &[f64] = v;
        let r_row = &mut r[j * p + j + 1..(j + 1) * p];
        let mut cols = rest.chunks_exact_mut(TILE);
        let mut c = 0;
        while c + 4 <= r_row.len() {
            let (Some(c0), Some(c1), Some(c2), Some(c3)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                break;
            };
            let d = dot4::<FMA>(v, [&*c0, &*c1, &*c2, &*c3]);
            let mut a = [0.0; 4];
            for q in 0..4 {
                let tw = tau * (r_row[c + q] + d[q]);
                r_row[c + q] -= tw;
                a[q] = -tw;
            }
            axpy4::<FMA>(a, v, [c0, c1, c2, c3]);
            c += 4;
        }
        for col in cols {
            let tw = tau * (r_row[c] + dot::<FMA>(v, col));
            r_row[c] -= tw;
            axpy::<FMA>(-tw, v, col);
            c += 1;
        }
    }
}

/// Reflectors per panel of the blocked kernel.
const NB: usize = 4;

/// Computes the reflector of tile column `j` (in place: `v` scaled so that its implicit `R`
/// part is 1), sets `R[j][j] = beta`, and returns `tau` (0 when the column is already zero).
#[inline(always)]
fn reflector<const FMA: bool>(r: &mut [f64], v: &mut [f64], p: usize, j: usize) -> f64 {
    let sigma = dot::<FMA>(v, v);
    if sigma == 0.0 {
        return 0.0; // nothing to annihilate: H = I (and v is zero)
    }
    let alpha = r[j * p + j];
    let norm = alpha.hypot(sigma.sqrt());
    let beta = if alpha >= 0.0 { -norm } else { norm };
    let s = 1.0 / (alpha - beta);
    v.iter_mut().for_each(|x| *x *= s);
    r[j * p + j] = beta;
    (beta - alpha) / beta
}

/// The blocked form of [`fold_tile_unblocked`]: reflectors are formed `NB` columns at a time
/// (applied inside the panel one by one), then applied to the columns on the right together,
/// as `I - V T V^T` (LAPACK's compact WY form, `larft` forward columnwise): `W = R_panel +
/// V^T C`, `W = T^T W`, `R_panel -= W`, `C -= V W`. Those two products are computed `NC`
/// columns at a time with `L`-lane accumulators, so that each load of `V` serves `NC` columns
/// and each load of a column serves `NB` reflectors.
#[inline(always)]
fn fold_tile_blocked<const FMA: bool, const L: usize, const NC: usize>(
    r: &mut [f64],
    tile: &mut [f64],
    p: usize,
) {
    let mut taus = [0.0f64; NB];
    for j0 in (0..p).step_by(NB) {
        let jb = NB.min(p - j0);
        for j in j0..j0 + jb {
            let (head, rest) = tile.split_at_mut((j + 1) * TILE);
            let v = &mut head[j * TILE..];
            let tau = reflector::<FMA>(r, v, p, j);
            taus[j - j0] = tau;
            if tau == 0.0 {
                continue;
            }
            let v: &[f64] = v;
            for (q, col) in rest
                .chunks_exact_mut(TILE)
                .take(j0 + jb - j - 1)
                .enumerate()
            {
                let c = j + 1 + q;
                let tw = tau * (r[j * p + c] + dot::<FMA>(v, col));
                r[j * p + c] -= tw;
                axpy::<FMA>(-tw, v, col);
            }
        }
        let first = j0 + jb;
        if first >= p {
            break; // (a short panel is always the last one)
        }
        let (panel, trailing) = tile.split_at_mut(first * TILE);
        let v: [&[f64]; NB] = std::array::from_fn(|i| &panel[(j0 + i) * TILE..(j0 + i + 1) * TILE]);
        // T: T[i][i] = tau_i, T[..i][i] = -tau_i T[..i][..i] (V[..i]^T v_i); the R parts of the
        // reflectors are distinct unit vectors, so only the tile parts enter V^T V.
        let mut t = [[0.0f64; NB]; NB];
        for i in 0..NB {
            t[i][i] = taus[i];
            let z: [f64; NB] =
                std::array::from_fn(|l| if l < i { dot::<FMA>(v[l], v[i]) } else { 0.0 });
            for (a, row) in t.iter_mut().enumerate().take(i) {
                row[i] = -taus[i] * (a..i).map(|l| row[l] * z[l]).sum::<f64>();
            }
        }
        let mut col = first;
        let mut groups = trailing.chunks_exact_mut(NC * TILE);
        for group in &mut groups {
            apply_block::<FMA, L, NC>(r, p, j0, col, &v, &t, group);
            col += NC;
        }
        for single in groups.into_remainder().chunks_exact_mut(TILE) {
            apply_block::<FMA, L, 1>(r, p, j0, col, &v, &t, single);
            col += 1;
        }
    }
}

/// `Q_panel^T` applied to `NC` columns (`cols`, column-major, starting at column `col`) and to
/// their entries in `R`'s panel rows `j0..j0 + NB`.
#[inline(always)]
fn apply_block<const FMA: bool, const L: usize, const NC: usize>(
    r: &mut [f64],
    p: usize,
    j0: usize,
    col: usize,
    v: &[&[f64]; NB],
    t: &[[f64; NB]; NB],
    cols: &mut [f64],
) {
    let mut acc = [[[0.0f64; L]; NC]; NB];
    for k in (0..TILE).step_by(L) {
        let vv: [[f64; L]; NB] = std::array::from_fn(|i| std::array::from_fn(|l| v[i][k + l]));
        for c in 0..NC {
            let cc: [f64; L] = std::array::from_fn(|l| cols[c * TILE + k + l]);
            for i in 0..NB {
                for l in 0..L {
                    acc[i][c][l] = madd::<FMA>(vv[i][l], cc[l], acc[i][c][l]);
                }
            }
        }
    }
    let w: [[f64; NC]; NB] = std::array::from_fn(|i| {
        std::array::from_fn(|c| r[(j0 + i) * p + col + c] + acc[i][c].iter().sum::<f64>())
    });
    // W = T^T W (lower triangular).
    let w: [[f64; NC]; NB] =
        std::array::from_fn(|i| std::array::from_fn(|c| (0..=i).map(|a| t[a][i] * w[a][c]).sum()));
    for i in 0..NB {
        for c in 0..NC {
            r[(j0 + i) * p + col + c] -= w[i][c];
        }
    }
    for k in (0..TILE).step_by(L) {
        let vv: [[f64; L]; NB] = std::array::from_fn(|i| std::array::from_fn(|l| v[i][k + l]));
        for c in 0..NC {
            let out = &mut cols[c * TILE + k..c * TILE + k + L];
            for i in 0..NB {
                for l in 0..L {
                    out[l] = madd::<FMA>(-w[i][c], vv[i][l], out[l]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked kernel against the one-reflector-at-a-time kernel, on tiles with zero
    /// columns and every panel shape (p from 1 to 13, and 34).
    #[test]
    fn blocked_kernel_matches_the_unblocked_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(3);
        for p in (1..=13).chain([34]) {
            let mut r0 = vec![0.0; p * p];
            for i in 0..p {
                for j in i..p {
                    r0[i * p + j] = rng.random_range(-2.0..2.0);
                }
            }
            let mut tile: Vec<f64> = (0..TILE * p).map(|_| rng.random_range(-1.0..1.0)).collect();
            if p > 2 {
                tile[TILE..2 * TILE].fill(0.0); // a zero column: H = I there
            }
            let (mut ra, mut ta) = (r0.clone(), tile.clone());
            let (mut rb, mut tb) = (r0, tile);
            fold_tile_unblocked::<false>(&mut ra, &mut ta, p);
            fold_tile(&mut rb, &mut tb, p);
            let scale = ra.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for i in 0..p {
                for j in i..p {
                    let (a, b) = (ra[i * p + j], rb[i * p + j]);
                    assert!(
                        (a - b).abs() <= 1e-13 * scale,
                        "p {p}: R[{i}][{j}] {a} vs {b}"
                    );
                }
            }
        }
    }

    /// The streaming factor against faer's Householder QR of the same matrix: `R^T R` agree.
    #[test]
    fn matches_a_dense_qr() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(7);
        let (n, p) = (1000, 13);
        let a: Vec<f64> = (0..n * p).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut t = Tsqr::new(p);
        let mut u = Tsqr::new(p);
        for i in 0..n {
            let row = &a[i * p..(i + 1) * p];
            if i < 377 {
                t.push_row(|j| row[j]);
            } else {
                u.push_row(|j| row[j]);
            }
        }
        t.absorb(u);
        let r = t.finish();
        let dense = faer::Mat::from_fn(n, p, |i, j| a[i * p + j]);
        let gram = dense.transpose() * &dense;
        for x in 0..p {
            for y in 0..p {
                let rtr: f64 = (0..p).map(|i| r[i * p + x] * r[i * p + y]).sum();
                assert!((rtr - gram[(x, y)]).abs() < 1e-11 * n as f64, "{x} {y}");
            }
        }
        for i in 0..p {
            for j in 0..i {
                assert_eq!(r[i * p + j], 0.0);
            }
        }
    }
}
