//! Exact scaling by powers of two: multiplying a float by `2^e` changes only its exponent, so it
//! is exact unless the result leaves the float type's range. Used to bring data of extreme
//! magnitude (1e200, subnormals) into a range where squares and sums neither overflow nor
//! underflow, without changing a digit.

/// `v * 2^e`, exact unless the result overflows or underflows (`2^e` itself may lie outside
/// f64's range: the product is formed in steps).
pub(crate) fn scale2(mut v: f64, mut e: i32) -> f64 {
    const STEP: i32 = 1000;
    while e > STEP {
        v *= 2f64.powi(STEP);
        e -= STEP;
    }
    while e < -STEP {
        v *= 2f64.powi(-STEP);
        e += STEP;
    }
    v * 2f64.powi(e)
}

/// `t 2^e` on its device, exact unless an element leaves the float type's range: in steps of
/// powers of two that the tensor's float type holds (`2^60` for f32, `2^1000` for f64), each
/// moving towards the result, so that no step overflows or underflows unless the result does.
pub(crate) fn times_pow2<const D: usize>(
    mut t: burn::tensor::Tensor<D>,
    mut e: i32,
) -> burn::tensor::Tensor<D> {
    let step = if t.dtype() == burn::tensor::DType::F64 {
        1000
    } else {
        60
    };
    while e != 0 {
        let s = e.clamp(-step, step);
        t = t.mul_scalar(scale2(1.0, s));
        e -= s;
    }
    t
}

/// The exponent `e` with `2^e <= |a| < 2^(e+1)` for a finite non-zero `a` (subnormals included).
/// Read from the bits: `log2` rounds near powers of two (`log2(f64::MAX)` is 1024.0).
pub(crate) fn exponent(a: f64) -> i32 {
    let bits = a.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: the value is the mantissa times 2^-1074.
        63 - bits.leading_zeros() as i32 - 1074
    } else {
        biased - 1023
    }
}

/// The least `e` with `|v| < 2^e` (0 for `v = 0` or a value that is not finite).
pub(crate) fn exponent_above(v: f64) -> i32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    exponent(v) + 1
}

/// The shift of a column whose values (over the rows that count) lie in
/// `[low, high]`: its end nearest zero when every value is within a factor of two of it (then
/// `x - c` is exact, by Sterbenz's lemma, and a constant column becomes exact zeros), else 0.
/// Without the shift, a column far from zero relative to its spread (1e12 + a fraction) would
/// have its centred part computed as the difference of two nearly equal double-double numbers,
/// `sum x^2 - n mean^2`, good to `2^-103 (mean / sd)^2` only; a column spread over more than a
/// factor of two has `(mean / sd)^2 <= 4 n`, harmless.
pub(crate) fn exact_shift(low: f64, high: f64) -> f64 {
    if low > 0.0 && high <= 2.0 * low {
        low
    } else if high < 0.0 && low >= 2.0 * high {
        high
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_exact_over_the_whole_range() {
        for &v in &[1.0, 3.0, 1e-310, 5e-324, 1e300, -7.25, f64::MAX] {
            let e = -exponent(v);
            let scaled = scale2(v, e);
            assert!((1.0..2.0).contains(&scaled.abs()), "{v}: {scaled}");
            assert_eq!(scale2(scaled, -e), v, "{v}");
        }
        assert_eq!(exponent(1.0), 0);
        assert_eq!(exponent(0.75), -1);
        assert_eq!(exponent(5e-324), -1074);
    }

    #[test]
    fn exponents_bound_the_values() {
        for v in [
            1.0,
            0.75,
            1e-300,
            3.0,
            4.0,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
        ] {
            let e = exponent_above(v);
            assert!(v < scale2(1.0, e) && v >= scale2(1.0, e - 1), "{v}");
        }
        assert_eq!(exponent_above(0.0), 0);
    }
}
