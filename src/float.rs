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
}
