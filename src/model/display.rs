//! How a [`LinearModel`] prints: its coefficients as a table, with the names of the columns
//! they belong to.

use super::LinearModel;
use crate::text;

/// `Display`: the coefficients with the names of the columns they belong to, one line each:
/// `(intercept)` first, then the features; one column per target when there are several.
/// Values with 7 significant digits (`weights()` gives them exactly). A device that fails to
/// return the values prints that instead.
impl burn::module::ModuleDisplay for LinearModel {
    fn format(&self, _settings: burn::module::DisplaySettings) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_table(&mut text);
        text
    }
}

impl LinearModel {
    /// The table `Display` prints (Burn's derive routes `Display` through `ModuleDisplay`).
    fn write_table(&self, f: &mut impl core::fmt::Write) -> core::fmt::Result {
        let (m, k) = (self.n_features(), self.n_targets());
        let precision = self
            .precision()
            .map_or("unknown float type".to_string(), |p| {
                format!("{p:?}").to_lowercase()
            });
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        writeln!(
            f,
            "LinearModel: {} -> {}, {precision}",
            plural(m, "feature"),
            plural(k, "target")
        )?;
        let (weights, bias) = match (self.try_weights(), self.try_bias()) {
            (Ok(w), Ok(b)) => (w, b),
            (Err(e), _) | (_, Err(e)) => return writeln!(f, "  (values not readable: {e})"),
        };
        let (features, targets) = self.display_names();
        let mut rows: Vec<(String, Vec<String>)> = Vec::with_capacity(m + 1);
        if let Some(b) = &bias {
            rows.push((
                "(intercept)".into(),
                b.iter().map(|v| text::number(*v, 7)).collect(),
            ));
        }
        for (j, name) in features.iter().enumerate() {
            let values = (0..k)
                .map(|t| text::number(weights[j * k + t], 7))
                .collect();
            rows.push((name.clone(), values));
        }
        let name_width = rows
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = (0..k)
            .map(|t| {
                rows.iter()
                    .map(|(_, v)| v[t].len())
                    .chain(std::iter::once(if k > 1 {
                        targets[t].chars().count()
                    } else {
                        0
                    }))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if k > 1 {
            write!(f, "  {:name_width$}", "")?;
            for (t, w) in widths.iter().enumerate() {
                write!(f, "  {:>w$}", targets[t])?;
            }
            writeln!(f)?;
        }
        for (name, values) in &rows {
            write!(f, "  {name:<name_width$}")?;
            for (v, w) in values.iter().zip(&widths) {
                write!(f, "  {v:>w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
