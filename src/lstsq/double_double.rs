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
