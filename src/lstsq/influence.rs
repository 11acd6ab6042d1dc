//! [`LeastSquaresFit::influence`]: residuals and influence on the data a fit was made from,
//! statsmodels' `OLSInfluence` (`results.get_influence()`).
//!
//! Per row, with `h` the leverage (the hat matrix' diagonal), `e` the residual, `s^2 = SSE / df`
//! and, with sample weights, the whitened residual `sqrt(w) e` in place of `e` (the regression
//! `sqrt(w) y` on `sqrt(w) [1 X]`, as R's `lm.influence`):
//! - internally studentized `r = e / (s sqrt(1 - h))`;
//! - externally studentized `t = e / (s_(i) sqrt(1 - h))`, with the variance of the fit without
//!   the row, `s_(i)^2 = (SSE - e^2 / (1 - h)) / (df - 1)`, in closed form (statsmodels refits
//!   the model once per row);
//! - Cook's distance `r^2 h / (p (1 - h))` (`p` the identified parameters) and its p value, the
//!   upper tail of `F(p, df)`;
//! - DFFITS `t sqrt(h / (1 - h))`.
//!
//! The leverage is `w (1 / sum w + z^T G z)` in the solver's centred unit-column coordinates
//! (`prediction.rs`), computed on the data's device chunk by chunk of rows (nothing the size of
//! the data beyond the results), the rest on the host. The statistics are formed in the solver's
//! scaled units (exact powers of two), so data whose squares overflow keep them.

use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use super::LeastSquaresFit;
use super::from_file::FileRows;
use super::summary::f_upper_tail;
use super::table::{Column, TableWriter};
use crate::data::{Dataset, FileFormat, Names};
use crate::device::read_f64;
use crate::float::scale2;
use crate::{Error, Result};

/// Residuals and influence of each row of the data a fit was made from, for one target
/// (statsmodels' `OLSInfluence`). For a row of sample weight 0 (which did not take part in the
/// fit) and for a row that alone determines a parameter direction (leverage 1: its residual is
/// 0 whatever its value), the studentized residuals, Cook's distance and DFFITS are NaN.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Influence {
    /// The fitted values, `b + x w` (`fittedvalues`).
    pub fitted: Vec<f64>,
    /// The residuals, target minus fitted value (`resid`; not whitened under weights).
    pub resid: Vec<f64>,
    /// The leverage, the hat matrix' diagonal (`hat_matrix_diag`; with weights, of the
    /// whitened regression).
    pub hat: Vec<f64>,
    /// Internally studentized residuals (`resid_studentized_internal`).
    pub student_internal: Vec<f64>,
    /// Externally studentized residuals, with the residual variance of the fit without the row
    /// (`resid_studentized_external`).
    pub student_external: Vec<f64>,
    /// Cook's distance (`cooks_distance[0]`), with `p` the identified parameters (statsmodels
    /// divides by every column of the design, which differs for a rank-deficient one only).
    pub cooks: Vec<f64>,
    /// The p value of Cook's distance in `F(p, df_residual)` (`cooks_distance[1]`).
    pub cooks_p: Vec<f64>,
    /// DFFITS, from the externally studentized residuals (`dffits[0]`).
    pub dffits: Vec<f64>,
}

/// The column names of an influence table, as [`Influence`]'s fields.
const COLUMNS: [&str; 8] = [
    "fitted",
    "resid",
    "hat",
    "student_internal",
    "student_external",
    "cooks",
    "cooks_p",
    "dffits",
];

/// A leverage this many roundings (of the device's float type) close to 1 counts as 1.
const LEVERAGE_ONE: f64 = 64.0;

impl Influence {
    fn with_capacity(rows: usize) -> Self {
        let v = || Vec::with_capacity(rows);
        Influence {
            fitted: v(),
            resid: v(),
            hat: v(),
            student_internal: v(),
            student_external: v(),
            cooks: v(),
            cooks_p: v(),
            dffits: v(),
        }
    }

    fn columns(&self) -> [Column<'_>; 8] {
        [
            Column::Number(&self.fitted),
            Column::Number(&self.resid),
            Column::Number(&self.hat),
            Column::Number(&self.student_internal),
            Column::Number(&self.student_external),
            Column::Number(&self.cooks),
            Column::Number(&self.cooks_p),
            Column::Number(&self.dffits),
        ]
    }

    fn append(&mut self, other: Influence) {
        self.fitted.extend(other.fitted);
        self.resid.extend(other.resid);
        self.hat.extend(other.hat);
        self.student_internal.extend(other.student_internal);
        self.student_external.extend(other.student_external);
        self.cooks.extend(other.cooks);
        self.cooks_p.extend(other.cooks_p);
        self.dffits.extend(other.dffits);
    }

    /// Writes the table as CSV to `path`, a header (the field names) and one line per row, in
    /// shortest round-trip decimals (NaN as `NaN`). The file is written beside `path` and renamed
    /// into place.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        super::table::write_table(path.as_ref(), &header, &self.columns())
    }
}

/// What every row's statistics share, in the solver's scaled units.
struct Shared {
    /// The solver saw the weights divided by this.
    weight_scale: f64,
    /// Per target: the targets' exponent `ey` and the scaled SSE.
    ey: Vec<i32>,
    sse: Vec<f64>,
    df: f64,
    /// The identified parameters.
    params: f64,
    /// The rounding unit of the device's float type.
    eps: f64,
    /// `|W|` (row-major `[m, k]`) and `|b|` (0 without a bias) of the model, for the rounding of
    /// its predictions.
    abs_weights: Vec<f64>,
    abs_bias: Vec<f64>,
}

/// The sums that show whether the data are the fit's: per target, the whitened residuals'
/// squares (scaled) and a bound on their rounding.
#[derive(Default)]
struct Check {
    sse: Vec<f64>,
    rounding: Vec<f64>,
}

impl LeastSquaresFit {
    /// Fitted values, residuals, leverage, studentized residuals, Cook's distance and DFFITS of
    /// every row of `data`, the data this fit was made from, one table per target:
    /// statsmodels' `OLSInfluence` (`get_influence()`); see [`Influence`]. With sample weights,
    /// the influence of the whitened regression (as R's `lm.influence`; statsmodels'
    /// OLSInfluence treats a WLS fit as OLS in parts). Computed on the data's device in chunks
    /// of rows, in one pass.
    ///
    /// # Errors
    /// [`Error::Numerical`] for a ridge fit or one without residual degrees of freedom, and when
    /// `data` are not the fit's (another number of rows or another weight total, or residuals
    /// whose sum of squares is not the fit's); as [`LinearModel::predict`](crate::LinearModel)
    /// for data of another shape, names, device or float type.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, LeastSquares, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let rows: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64]).collect();
    /// let y = [0.1, 0.9, 2.2, 2.9, 4.1, 5.0, 6.2, 20.0]; // the last row is an outlier
    /// let data = Dataset::from_rows(&rows, &y, &cpu)?;
    /// let fit = LeastSquares::new().fit(&data)?;
    /// let influence = &fit.influence(&data)?[0];
    /// let most = influence.cooks.iter().cloned().fold(0.0, f64::max);
    /// assert_eq!(influence.cooks[7], most);
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn influence(&self, data: &Dataset) -> Result<Vec<Influence>> {
        let context = "data passed to influence";
        let shared = self.influence_shared()?;
        self.model.check_data(context, data)?;
        let weights = data.weight_values();
        let counted = weights.map_or(data.n_samples(), |w| w.iter().filter(|w| **w > 0.0).count());
        let total: f64 = weights.map_or(data.n_samples() as f64, |w| w.iter().sum());
        let want = self.weight_total();
        if counted != self.n_samples || (total - want).abs() > 1e-12 * want {
            return Err(Error::Numerical(format!(
                "{context}: {counted} rows of weight total {total} are not the fit's data \
                 ({} rows of weight total {want})",
                self.n_samples
            )));
        }
        let k = self.model.n_targets();
        let chunk = super::row_passes::table_chunk_rows(&data.device());
        let parts = super::row_passes::par_row_ranges(
            data,
            chunk,
            Vec::new,
            |out: &mut Vec<(Vec<Influence>, Check)>, range, x, y| {
                let mut check = Check::default();
                let w = weights.map(|w| &w[range]);
                out.push((self.influence_chunk(&shared, x, y, w, &mut check)?, check));
                Ok(())
            },
        )?;
        let mut tables: Vec<Influence> = (0..k)
            .map(|_| Influence::with_capacity(data.n_samples()))
            .collect();
        let mut check = Check::default();
        for (chunk, part) in parts.into_iter().flatten() {
            for (table, c) in tables.iter_mut().zip(chunk) {
                table.append(c);
            }
            check.add(part);
        }
        self.check_residuals(context, &shared, &check)?;
        Ok(tables)
    }

    /// [`influence`](Self::influence) of a file fit ([`LeastSquares::fit_csv`]), written to
    /// `out` as CSV chunk by chunk as the file is read again, in bounded memory: the columns of
    /// [`Influence::write_csv`], for several targets prefixed by the target's name
    /// (`y1.fitted`, ...). The file is written beside `out` and renamed into place once every row
    /// checked out. Returns the rows written.
    ///
    /// [`LeastSquares::fit_csv`]: super::LeastSquares::fit_csv
    ///
    /// # Errors
    /// As [`influence`](Self::influence); [`Error::Csv`] or [`Error::DataFile`] for the data file
    /// (as [`LeastSquares::fit_csv`]); [`Error::Io`] when `out` cannot be written.
    pub fn write_influence_csv(
        &self,
        data: impl AsRef<Path>,
        targets: &[&str],
        out: impl AsRef<Path>,
    ) -> Result<usize> {
        let format = FileFormat::Csv(targets.iter().map(|t| t.to_string()).collect());
        self.write_file_influence(data.as_ref(), format, out.as_ref())
    }

    /// [`write_influence_csv`](Self::write_influence_csv) for a row file
    /// ([`LeastSquares::fit_rows`](super::LeastSquares::fit_rows)).
    ///
    /// # Errors
    /// As [`write_influence_csv`](Self::write_influence_csv).
    pub fn write_influence_rows(
        &self,
        data: impl AsRef<Path>,
        out: impl AsRef<Path>,
    ) -> Result<usize> {
        self.write_file_influence(data.as_ref(), FileFormat::Rows, out.as_ref())
    }

    fn write_file_influence(&self, path: &Path, format: FileFormat, out: &Path) -> Result<usize> {
        let context = "the file passed to write_influence";
        let shared = self.influence_shared()?;
        if self.weighting.scale != 1.0 || self.weighting.total != self.n_samples as f64 {
            return Err(Error::InvalidHyperparameter {
                name: "weights",
                value: format!("a fit of weight total {}", self.weight_total()),
                rule: "a file holds no sample weights: the influence of a weighted fit is \
                       computed from the data with their weights (LeastSquaresFit::influence)",
            });
        }
        let mut rows = FileRows::open(path, format)?;
        let (features, targets) = rows.names().clone();
        let (m, k) = (features.len(), targets.len());
        self.model.check_shape(context, m, k, None)?;
        let header_names = (
            Names::given("feature names", features, m)?,
            Names::given("target names", targets.clone(), k)?,
        );
        self.model
            .check_names(context, &header_names.0, &header_names.1)?;
        let device = self.model.device();
        let dtype = self.model.weight_param().val().dtype();
        let header: Vec<String> = match k {
            1 => COLUMNS.iter().map(|c| c.to_string()).collect(),
            _ => targets
                .iter()
                .flat_map(|t| COLUMNS.iter().map(move |c| format!("{t}.{c}")))
                .collect(),
        };
        crate::data::files::write_replacing(out, |file, _| {
            let io = |e: std::io::Error| Error::io(out, e);
            let mut table = TableWriter::new(std::io::BufWriter::new(file), &header).map_err(io)?;
            let mut check = Check::default();
            let n = rows.in_order_tensors(&device, dtype, |x, y| {
                let mut part = Check::default();
                let tables = self.influence_chunk(&shared, x, y, None, &mut part)?;
                check.add(part);
                let columns: Vec<Column<'_>> = tables.iter().flat_map(Influence::columns).collect();
                table.rows(&columns).map_err(io)
            })?;
            if n != self.n_samples {
                return Err(Error::Numerical(format!(
                    "{context}: {n} rows are not the fit's data ({} rows)",
                    self.n_samples
                )));
            }
            self.check_residuals(context, &shared, &check)?;
            table.finish().map_err(io)
        })
    }

    fn influence_shared(&self) -> Result<Shared> {
        let df = self.df_residual();
        if self.alpha > 0.0 || df == 0 {
            return Err(Error::Numerical(
                if self.alpha > 0.0 {
                    "a ridge fit has no influence statistics (its hat matrix is not a projection)"
                } else {
                    "no residual degrees of freedom: the residual variance cannot be estimated"
                }
                .into(),
            ));
        }
        let intercept = usize::from(self.intercept);
        let k = self.model.n_targets();
        let eps = self
            .model
            .precision()
            .map_or(f64::EPSILON, crate::Precision::epsilon);
        let abs = |v: Vec<f64>| v.into_iter().map(f64::abs).collect::<Vec<f64>>();
        Ok(Shared {
            eps,
            abs_weights: abs(self.model.try_weights()?),
            abs_bias: abs(self.model.try_bias()?.unwrap_or_else(|| vec![0.0; k])),
            weight_scale: self.weighting.scale,
            ey: self.scaled.scaling.y.clone(),
            sse: self.scaled.sse.clone(),
            df: df as f64,
            params: (self.rank + intercept) as f64,
        })
    }

    /// The tables of the rows `x`, `y` (one chunk), their weights `w`, with their sums added to
    /// `check`.
    fn influence_chunk(
        &self,
        shared: &Shared,
        x: Tensor<2>,
        y: Tensor<2>,
        w: Option<&[f64]>,
        check: &mut Check,
    ) -> Result<Vec<Influence>> {
        let [rows, m] = x.dims();
        let k = self.model.n_targets();
        let (device, dtype) = (x.device(), x.dtype());
        let leverage = read_f64(self.unit_leverage(self.unit_coordinates(x.clone())))?;
        // The size of the terms each prediction sums, `|b| + |x| |W|`: its rounding is about
        // eps times that (in f32, the model's weights are rounded too).
        let abs_weights = TensorData::new(shared.abs_weights.clone(), [m, k]);
        let terms = x
            .clone()
            .abs()
            .matmul(Tensor::<2>::from_data(abs_weights, (&device, dtype)));
        let terms = read_f64(terms)?;
        let fitted = read_f64(self.model.predict(x)?)?;
        let y = read_f64(y)?;
        check.sse = vec![0.0; k];
        check.rounding = vec![0.0; k];
        let eps = shared.eps;
        let mut tables: Vec<Influence> = (0..k).map(|_| Influence::with_capacity(rows)).collect();
        for r in 0..rows {
            let weight = w.map_or(1.0, |w| w[r]);
            let scaled_weight = weight / shared.weight_scale;
            let h = scaled_weight * leverage[r];
            for (t, table) in tables.iter_mut().enumerate() {
                let (target, fit) = (y[r * k + t], fitted[r * k + t]);
                let resid = target - fit;
                // The whitened residual in the solver's units.
                let e = scale2(scaled_weight.sqrt() * resid, shared.ey[t]);
                let size = terms[r * k + t] + shared.abs_bias[t];
                let rounding = scale2(
                    scaled_weight.sqrt() * eps * ((m as f64 + 2.0) * size + target.abs()),
                    shared.ey[t],
                );
                check.sse[t] += e * e;
                check.rounding[t] += rounding * rounding;
                table.fitted.push(fit);
                table.resid.push(resid);
                table.hat.push(h);
                row_statistics(shared, t, e, h, weight > 0.0, table);
            }
        }
        Ok(tables)
    }

    /// Refuses data whose residuals do not add up to the fit's SSE (to their rounding).
    fn check_residuals(&self, context: &str, shared: &Shared, check: &Check) -> Result<()> {
        for (t, (&got, &want)) in check.sse.iter().zip(&shared.sse).enumerate() {
            let rounding = check.rounding[t];
            let bound = 2.0 * (want * rounding).sqrt() + rounding + 1e-9 * want;
            // NaN (from a NaN in the data) is a mismatch too.
            let agrees = (got - want).abs() <= bound;
            if !agrees {
                return Err(Error::Numerical(format!(
                    "{context}: these are not the fit's data: their residual sum of squares for \
                     target {t} is {:e}, the fit's {:e}",
                    scale2(got, -2 * shared.ey[t]) * shared.weight_scale,
                    scale2(want, -2 * shared.ey[t]) * shared.weight_scale,
                )));
            }
        }
        Ok(())
    }
}

/// The studentized residuals, Cook's distance and DFFITS of one row (whitened scaled residual
/// `e`, leverage `h`) for target `t`.
fn row_statistics(shared: &Shared, t: usize, e: f64, h: f64, counted: bool, table: &mut Influence) {
    let (sse, df) = (shared.sse[t], shared.df);
    let rest = 1.0 - h;
    let (internal, external, cooks, cooks_p, dffits) =
        if counted && rest > LEVERAGE_ONE * shared.eps {
            let internal = e / (sse / df * rest).sqrt();
            let without = (sse - e * e / rest) / (df - 1.0);
            let external = if df > 1.0 {
                e / (without.max(0.0) * rest).sqrt()
            } else {
                f64::NAN
            };
            let cooks = internal * internal / shared.params * h / rest;
            let cooks_p = f_upper_tail(cooks, shared.params, df).unwrap_or(f64::NAN);
            (
                internal,
                external,
                cooks,
                cooks_p,
                external * (h / rest).sqrt(),
            )
        } else {
            (f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN)
        };
    table.student_internal.push(internal);
    table.student_external.push(external);
    table.cooks.push(cooks);
    table.cooks_p.push(cooks_p);
    table.dffits.push(dffits);
}

impl Check {
    fn add(&mut self, other: Check) {
        if self.sse.is_empty() {
            *self = other;
            return;
        }
        for (a, b) in self.sse.iter_mut().zip(other.sse) {
            *a += b;
        }
        for (a, b) in self.rounding.iter_mut().zip(other.rounding) {
            *a += b;
        }
    }
}
