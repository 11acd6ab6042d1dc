//! Numbers as a person reads them, for the `Display` of models and summaries.

/// `value` with `digits` significant digits: fixed notation between 1e-4 and 1e7 (trailing
/// zeros dropped), scientific outside, `NaN`/`inf` as such.
pub(crate) fn number(value: f64, digits: usize) -> String {
    let digits = digits.max(1);
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if (-4..7).contains(&magnitude) {
        let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        format!("{value:.prec$e}", prec = digits - 1)
    }
}

/// A p value as R prints it: below f64's resolution near 1 (`2.2e-16`), `< 2.2e-16`; four
/// decimals down to 0.001, three significant digits below.
pub(crate) fn p_value(p: f64) -> String {
    if p.is_nan() {
        "NA".into()
    } else if p < f64::EPSILON {
        "< 2.2e-16".into()
    } else if p >= 1e-3 {
        format!("{p:.4}")
    } else {
        format!("{p:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(number(1.5, 7), "1.5");
        assert_eq!(number(-241.964362, 7), "-241.9644");
        assert_eq!(number(152.133484162896, 7), "152.1335");
        assert_eq!(number(0.000123456789, 4), "0.0001235");
        assert_eq!(number(1.23456e-7, 4), "1.235e-7");
        assert_eq!(number(6.5e9, 3), "6.50e9");
        assert_eq!(number(0.0, 5), "0");
        assert_eq!(p_value(3e-40), "< 2.2e-16");
        assert_eq!(p_value(0.04321), "0.0432");
        assert_eq!(p_value(1.234e-5), "1.23e-5");
    }
}
