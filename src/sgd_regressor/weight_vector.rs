//! sklearn's `WeightVector64` (the lazily scaled weights, their running norms and the lazily
//! kept average) and the dot product of the per-sample loop.

/// Independent running sums in the per-sample dot products.
const LANES: usize = 4;

/// `sum_j a_j b_j` in four running sums (sklearn sums in one: the same to round-off, 1e-16
/// relative, without its chain of dependent additions).
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// sklearn's `WeightVector64` folds its scale into the weights below this.
const RESET_WSCALE: f64 = 1e-9;

/// The norms the objective needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Norms {
    None,
    L2,
    Both,
}

/// sklearn's `WeightVector64`: `w = wscale * v`, with running norms and the lazily kept average
/// `aw_true = (aw + average_a v) / average_b`.
pub(super) struct WeightVector<'a> {
    pub(super) v: &'a mut [f64],
    /// Which of `sq_norm` and `l1_norm` to keep (only the stopping rule's objective reads them).
    pub(super) track_norms: Norms,
    pub(super) wscale: f64,
    inv_wscale: f64,
    pub(super) sq_norm: f64,
    pub(super) l1_norm: f64,
    aw: Option<&'a mut [f64]>,
    average_a: f64,
    average_b: f64,
}

impl<'a> WeightVector<'a> {
    pub(super) fn new(v: &'a mut [f64], aw: Option<&'a mut [f64]>, track_norms: Norms) -> Self {
        let sq_norm = v.iter().map(|w| w * w).sum();
        let l1_norm = v.iter().map(|w| w.abs()).sum();
        WeightVector {
            v,
            track_norms,
            wscale: 1.0,
            inv_wscale: 1.0,
            sq_norm,
            l1_norm,
            aw,
            average_a: 0.0,
            average_b: 1.0,
        }
    }

    /// `v.x` (the weights' dot product is this times `wscale`).
    pub(super) fn dot_v(&self, x: &[f64]) -> f64 {
        dot(self.v, x)
    }

    /// `w += c x`. `wx` is `w.x` before the update (after this sample's decay) and `xx` is
    /// `x.x`: with the L2 norm alone to keep, `||w + c x||^2 = ||w||^2 + 2 c w.x + c^2 x.x`
    /// keeps it without a second pass (sklearn recomputes it: the same to round-off; it is
    /// recomputed exactly each epoch).
    pub(super) fn add(&mut self, x: &[f64], c: f64, wx: f64, xx: f64) {
        // `c * (1 / wscale)`, the reciprocal taken when the scale changed, off the dependency
        // chain of `c` (sklearn divides: the same to an ulp).
        let step = c * self.inv_wscale;
        if self.track_norms != Norms::Both {
            for (w, x) in self.v.iter_mut().zip(x) {
                *w += x * step;
            }
            if self.track_norms == Norms::L2 {
                self.sq_norm += 2.0 * c * wx + c * c * xx;
            }
            return;
        }
        // Four running sums instead of sklearn's one: the same sums to round-off (they feed
        // only the stopping rule's objective), without a chain of dependent additions.
        let (mut l2, mut l1) = ([0.0; LANES], [0.0; LANES]);
        let mut w_chunks = self.v.chunks_exact_mut(LANES);
        let mut x_chunks = x.chunks_exact(LANES);
        for (w, x) in (&mut w_chunks).zip(&mut x_chunks) {
            for l in 0..LANES {
                w[l] += x[l] * step;
                l2[l] += w[l] * w[l];
                l1[l] += w[l].abs();
            }
        }
        for (w, x) in w_chunks
            .into_remainder()
            .iter_mut()
            .zip(x_chunks.remainder())
        {
            *w += x * step;
            l2[0] += *w * *w;
            l1[0] += w.abs();
        }
        self.sq_norm = ((l2[0] + l2[1]) + (l2[2] + l2[3])) * (self.wscale * self.wscale);
        self.l1_norm = ((l1[0] + l1[1]) + (l1[2] + l1[3])) * self.wscale;
    }

    pub(super) fn add_average(&mut self, x: &[f64], c: f64, num_iter: f64) {
        let mu = 1.0 / num_iter;
        if let Some(aw) = self.aw.as_deref_mut() {
            let step = -c * self.inv_wscale;
            for (a, x) in aw.iter_mut().zip(x) {
                *a += self.average_a * x * step;
            }
        }
        if num_iter > 1.0 {
            self.average_b /= 1.0 - mu;
        }
        self.average_a += mu * self.average_b * self.wscale;
    }

    /// `scale(c)` with `scaled = wscale * c` and `inv = 1 / scaled` computed by the caller
    /// ahead of time (they do not depend on the sample's prediction: computed early, the
    /// division is off the loop's critical path).
    pub(super) fn scale(&mut self, c: f64, scaled: f64, inv: f64) {
        self.wscale = scaled;
        self.inv_wscale = inv;
        self.sq_norm *= c * c;
        self.l1_norm *= c.abs();
        if self.wscale < RESET_WSCALE {
            self.reset_wscale();
        }
    }

    pub(super) fn reset_wscale(&mut self) {
        if let Some(aw) = self.aw.as_deref_mut() {
            let inv_b = 1.0 / self.average_b;
            for (a, v) in aw.iter_mut().zip(self.v.iter()) {
                *a = (*a + self.average_a * v) * inv_b;
            }
            self.average_a = 0.0;
            self.average_b = 1.0;
        }
        for v in self.v.iter_mut() {
            *v *= self.wscale;
        }
        self.wscale = 1.0;
        self.inv_wscale = 1.0;
    }

    /// The cumulative truncated gradient: `u` is the total L1 step so far, `q` each weight's
    /// applied share.
    pub(super) fn l1_penalty(&mut self, q: &mut [f64], u: f64) {
        let wscale = self.wscale;
        for (w, q) in self.v.iter_mut().zip(q.iter_mut()) {
            let z = *w;
            if wscale * z > 0.0 {
                *w = (*w - (u + *q) / wscale).max(0.0);
            } else if wscale * z < 0.0 {
                *w = (*w + (u - *q) / wscale).min(0.0);
            }
            *q += wscale * (*w - z);
        }
    }
}
