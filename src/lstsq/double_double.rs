//! Double-double accumulation (about 32 significant digits) for residuals and dot products in
//! iterative refinement: error-free transformations (Knuth's two-sum, an FMA two-product).

/// An unevaluated sum `hi + lo` with `|lo| <= ulp(hi) / 2`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Dd {
    hi: f64,
    lo: f64,
}

#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl Dd {
    pub(crate) fn new(x: f64) -> Self {
        Self { hi: x, lo: 0.0 }
    }

    /// `self + x`, exactly up to double-double rounding.
    #[inline]
    pub(crate) fn add(self, x: f64) -> Self {
        let (s, e) = two_sum(self.hi, x);
        let (hi, lo) = two_sum(s, e + self.lo);
        Self { hi, lo }
    }

    /// `self + a * b`, the product formed exactly with an FMA.
    #[inline]
    pub(crate) fn add_prod(self, a: f64, b: f64) -> Self {
        let p = a * b;
        let e = a.mul_add(b, -p);
        self.add(p).add(e)
    }

    /// `self * x`, to double-double accuracy.
    #[inline]
    pub(crate) fn mul(self, x: f64) -> Self {
        let p = self.hi * x;
        let e = self.hi.mul_add(x, -p);
        Dd::new(p).add(e).add(self.lo * x)
    }

    /// The two parts, `(hi, lo)`.
    pub(crate) fn parts(self) -> (f64, f64) {
        (self.hi, self.lo)
    }

    /// The nearest `f64`.
    pub(crate) fn value(self) -> f64 {
        self.hi + self.lo
    }
}

/// `sum_i a_i b_i` in double-double.
pub(crate) fn dot(a: impl IntoIterator<Item = f64>, b: impl IntoIterator<Item = f64>) -> f64 {
    a.into_iter()
        .zip(b)
        .fold(Dd::default(), |acc, (x, y)| acc.add_prod(x, y))
        .value()
}

/// `sum_i a_i` in double-double.
pub(crate) fn sum(a: impl IntoIterator<Item = f64>) -> f64 {
    a.into_iter().fold(Dd::default(), Dd::add).value()
}

/// Column means of a row-major table of `width` columns, each summed in double-double: one
/// sequential pass.
pub(crate) fn column_means(values: &[f64], width: usize) -> Vec<f64> {
    let mut acc = vec![Dd::default(); width];
    for row in values.chunks_exact(width) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a = a.add(v);
        }
    }
    let rows = (values.len() / width.max(1)).max(1) as f64;
    acc.iter().map(|a| a.value() / rows).collect()
}

#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

impl Dd {
    /// `self + other`, the accurate double-double sum (both parts added with two-sum, so
    /// that cancellation keeps the digits).
    #[inline]
    pub(crate) fn add_dd(self, other: Dd) -> Self {
        let (s1, s2) = two_sum(self.hi, other.hi);
        let (t1, t2) = two_sum(self.lo, other.lo);
        let (s1, s2) = quick_two_sum(s1, s2 + t1);
        let (hi, lo) = quick_two_sum(s1, s2 + t2);
        Self { hi, lo }
    }

    /// `-self`.
    #[inline]
    pub(crate) fn neg(self) -> Self {
        Self {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    /// `self - other`.
    #[inline]
    pub(crate) fn sub_dd(self, other: Dd) -> Self {
        self.add_dd(other.neg())
    }

    /// `self * other`, to double-double accuracy.
    #[inline]
    pub(crate) fn mul_dd(self, other: Dd) -> Self {
        let p = self.hi * other.hi;
        let e = self.hi.mul_add(other.hi, -p) + (self.hi * other.lo + self.lo * other.hi);
        let (hi, lo) = quick_two_sum(p, e);
        Self { hi, lo }
    }

    /// `self / other`, to double-double accuracy (three quotient digits).
    pub(crate) fn div_dd(self, other: Dd) -> Self {
        let q1 = self.hi / other.hi;
        let r = self.sub_dd(other.mul(q1));
        let q2 = r.hi / other.hi;
        let r = r.sub_dd(other.mul(q2));
        let q3 = r.hi / other.hi;
        let (hi, lo) = quick_two_sum(q1, q2);
        Self { hi, lo }.add(q3)
    }

    /// The square root of a non-negative value, to double-double accuracy (one Newton step
    /// from the `f64` root).
    pub(crate) fn sqrt(self) -> Self {
        if self.hi <= 0.0 {
            return Self::default();
        }
        let x = self.hi.sqrt();
        let square = Dd::new(x).mul(x);
        let correction = self.sub_dd(square).hi / (2.0 * x);
        let (hi, lo) = two_sum(x, correction);
        Self { hi, lo }
    }

    /// `self * 2^e`, exactly (both parts scaled; `e` within `f64`'s range).
    pub(crate) fn scale2(self, e: i32) -> Self {
        Self {
            hi: crate::float::scale2(self.hi, e),
            lo: crate::float::scale2(self.lo, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dd;

    /// `1/3`, `sqrt(2)` and a cancelling difference, against values known to more digits
    /// than double-double holds.
    #[test]
    fn double_double_arithmetic_keeps_about_32_digits() {
        let third = Dd::new(1.0).div_dd(Dd::new(3.0));
        // 3 * (1/3) - 1 is the quotient's error, times 3.
        let err = third.mul_dd(Dd::new(3.0)).sub_dd(Dd::new(1.0));
        assert!(err.value().abs() < 1e-31, "{err:?}");
        let root = Dd::new(2.0).sqrt();
        let err = root.mul_dd(root).sub_dd(Dd::new(2.0));
        assert!(err.value().abs() < 1e-31, "{err:?}");
        // (1 + 2^-60) - 1 = 2^-60 exactly: f64 alone gives 0.
        let tiny = Dd::new(1.0).add(2f64.powi(-60)).sub_dd(Dd::new(1.0));
        assert_eq!(tiny.value(), 2f64.powi(-60));
        assert_eq!(Dd::new(3.0).scale2(-2).value(), 0.75);
    }
}
