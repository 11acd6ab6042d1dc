//! The summary as text: statsmodels' and R's coefficient table, the fit's statistics and the
//! lower block, per target.

use core::fmt;

use super::{Coefficient, Summary, TargetSummary};
use crate::text::{number, p_value};

/// A table's cells in columns: the first left-aligned, the others right-aligned, with numbers
/// in fixed notation aligned on their decimal points.
fn write_table(f: &mut fmt::Formatter<'_>, rows: &[Vec<String>]) -> fmt::Result {
    /// A fixed-notation number's parts around the point; `None` for other cells.
    fn parts(cell: &str) -> Option<(&str, &str)> {
        let numeric = cell.parse::<f64>().is_ok() && !cell.contains(['e', 'E']);
        numeric.then(|| cell.split_once('.').unwrap_or((cell, "")))
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut laid_out: Vec<Vec<String>> = rows.to_vec();
    for c in 1..columns {
        let cells = || {
            rows.iter()
                .skip(1)
                .filter_map(|r| r.get(c))
                .filter_map(|x| parts(x))
        };
        let fraction = cells().map(|(_, b)| b.len()).max().unwrap_or(0);
        for row in laid_out.iter_mut().skip(1) {
            if let Some(cell) = row.get_mut(c)
                && let Some((whole, frac)) = parts(cell)
            {
                let point = if frac.is_empty() && fraction > 0 {
                    " "
                } else if frac.is_empty() {
                    ""
                } else {
                    "."
                };
                *cell = format!("{whole}{point}{frac:<fraction$}");
            }
        }
    }
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            laid_out
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &laid_out {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                line += &format!("{cell:<w$}", w = widths[0]);
            } else {
                line += &format!("  {cell:>w$}", w = widths[c]);
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "NA".into(), |x| number(x, digits))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.targets {
            writeln!(
                f,
                "Least squares fit of {} on {} feature(s), {} observations",
                s.name,
                self.feature_names.len(),
                self.n_samples
            )?;
            if self.covariance != "nonrobust" {
                writeln!(
                    f,
                    "Covariance: {} (z tests; F is the Wald test)",
                    self.covariance
                )?;
            }
            write_table(f, &self.coefficient_rows(s))?;
            write_statistics(f, s)?;
            writeln!(f)?;
        }
        let centred = if self.targets.first().is_some_and(|t| t.intercept.is_some()) {
            "[1 X]"
        } else {
            "X"
        };
        writeln!(
            f,
            "Design rank {} of {}; condition number of {centred}: {}",
            self.rank,
            self.feature_names.len(),
            number(self.condition_number, 4)
        )?;
        for w in &self.warnings {
            writeln!(f, "Note: {w}")?;
        }
        Ok(())
    }
}

impl Summary {
    /// The coefficient table of one target: a header, then the intercept and every weight.
    fn coefficient_rows(&self, s: &TargetSummary) -> Vec<Vec<String>> {
        let (statistic, tail) = match self.covariance != "nonrobust" {
            true => ("z value", "Pr(>|z|)"),
            false => ("t value", "Pr(>|t|)"),
        };
        let header = [
            "",
            "estimate",
            "std. error",
            statistic,
            tail,
            "[0.025",
            "0.975]",
        ];
        let mut rows = vec![header.map(String::from).to_vec()];
        let mut row = |name: &str, c: &Coefficient| {
            rows.push(vec![
                name.to_string(),
                number(c.estimate, 7),
                cell(c.std_error, 5),
                c.t_value.map_or("NA".into(), |t| format!("{t:.3}")),
                c.p_value.map_or("NA".into(), p_value),
                cell(c.conf_int.map(|c| c.0), 5),
                cell(c.conf_int.map(|c| c.1), 5),
            ]);
        };
        if let Some(c) = &s.intercept {
            row("(intercept)", c);
        }
        for (name, c) in self.feature_names.iter().zip(&s.coefficients) {
            row(name, c);
        }
        rows
    }
}

/// The lines under a target's coefficient table: the fit's statistics, then statsmodels'
/// lower block when the residuals were seen.
fn write_statistics(f: &mut fmt::Formatter<'_>, s: &TargetSummary) -> fmt::Result {
    writeln!(
        f,
        "Residual standard error: {} on {} degrees of freedom",
        number(s.residual_std_dev, 6),
        s.df_residual
    )?;
    let uncentred = match s.intercept {
        None => " (uncentred: no intercept)",
        Some(_) => "",
    };
    writeln!(
        f,
        "R-squared: {}, adjusted R-squared: {}{uncentred}",
        number(s.r_squared, 6),
        number(s.adj_r_squared, 6),
    )?;
    match (s.f_statistic, s.f_p_value) {
        (Some(fs), Some(p)) => writeln!(
            f,
            "F-statistic: {} on {} and {} DF, p-value: {}",
            number(fs, 6),
            s.df_model,
            s.df_residual,
            p_value(p)
        )?,
        _ => writeln!(f, "F-statistic: NA")?,
    }
    writeln!(
        f,
        "Log-likelihood: {}, AIC: {}, BIC: {}",
        number(s.log_likelihood, 7),
        number(s.aic, 7),
        number(s.bic, 7)
    )?;
    if !s.omnibus.is_nan() || !s.jarque_bera.is_nan() {
        writeln!(
            f,
            "Omnibus: {} (p {}), skew: {}, kurtosis: {}",
            number(s.omnibus, 5),
            number(s.omnibus_p, 4),
            number(s.skew, 4),
            number(s.kurtosis, 4)
        )?;
        writeln!(
            f,
            "Durbin-Watson: {}, Jarque-Bera: {} (p {})",
            number(s.durbin_watson, 4),
            number(s.jarque_bera, 5),
            number(s.jarque_bera_p, 4)
        )?;
    }
    Ok(())
}
