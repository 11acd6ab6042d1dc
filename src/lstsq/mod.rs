//! Closed-form least squares that says what the data can and cannot identify.
//!
//! [`LeastSquares`] minimises `sum (y - b - x w)^2` exactly. Rank-deficient and underdetermined
//! designs are solved, not refused: the answer is the minimum-norm weights with the intercept left
//! out of the norm (centre, solve, then `b = mean(y) - mean(x) w`), scikit-learn's
//! `LinearRegression` convention. The fit reports the rank, singular values, condition number and
//! null space of the design, statistics per coefficient ([`LeastSquaresFit::summary`]), and
//! explains why another minimiser, say gradient descent's, differs
//! ([`LeastSquaresFit::explain`]).
//!
//! Parameter order, wherever parameters are listed together (null space, explanation): the
//! intercept first (when fitted), then the weights, as in NIST's `B0, B1, ...`.
//!
//! ## Solvers
//! | solver | how | when |
//! |---|---|---|
//! | `Qr` | Householder QR: in memory, column-pivoted (faer) on the column-scaled design with iterative refinement (double-double residuals); tall data streamed from the device in one pass (a two-level TSQR of `[1 X Y]`); rank and null space from the SVD of `R` | the accurate default |
//! | `Svd` | SVD (faer), minimum norm; rank from the column-scaled design as for `Qr` (so units do not change it; LAPACK's `gelsd` uses the design's own singular values); tall data: the SVD of the streamed QR's `R` | rank revealing, the most robust |
//! | `NormalEquations` | `X^T X`, `X^T y` accumulated on the data's device with Burn's matmul in chunks, then a small host solve | very tall data, GPU-resident data; loses accuracy as `cond(X)^2` |
//! | `Auto` | normal equations for tall data (`n >= 10 000` and `n >= 20 m`), falling back to QR when `cond(X) > 1e4` or when the rounding of `X^T X` hides directions the design has (a large offset: `1e6 + t`); QR otherwise | |
//!
//! Rows spread over devices ([`crate::ShardedDataset`], other machines' through
//! `linfit-worker`) are solved by [`LeastSquares::fit_sharded`] from Gram blocks that each
//! device forms *exactly* (integer slices of the data, the Ozaki scheme), combined in
//! double-double: QR's accuracy or better, the data never read back.
//!
//! `Svd` and the in-memory QR read the data back once and work on one centred copy. Tall data
//! (over 2^20 entries and `n >= 4 (m + k + 1)`) take the streaming QR (`Svd` too): the rows are read back
//! chunk by chunk, by one thread per core, and the host holds one chunk per thread and an
//! `(m + k + 1)`-square `R`. The normal equations keep the data on their device and move only
//! `m x m` and `m x k` matrices to the host. Each pass over device data runs one thread per
//! core over contiguous ranges of rows.

mod diagnostics;
pub(crate) mod double_double;
mod explain;
mod from_file;
mod host;
mod influence;
mod normal;
mod polynomial;
mod prediction;
mod qr;
mod robust;
mod row_passes;
mod sharded;
mod solution;
mod streamed_qr;
mod summary;
mod svd;
mod table;
mod tsqr;
mod weighted;

use burn::config::Config;
use burn::tensor::Device;

pub use explain::Explanation;
pub use influence::Influence;
pub use polynomial::PolynomialFit;
pub use prediction::PredictionFrame;
pub use robust::Covariance;
pub use summary::{Coefficient, Summary, TargetSummary};

use crate::data::{Dataset, FileFormat, Names};
use crate::float::scale2;
use crate::model::LinearModel;
use crate::{Error, Result};
use host::HostData;
use host::Scaling;
use solution::{Solution, orthonormalize};
use streamed_qr::{RankRule, RowSource};

/// Which algorithm [`LeastSquares`] uses.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Normal equations for tall data, with a fall-back to QR when ill-conditioned; QR otherwise.
    Auto,
    /// Householder QR of the column-scaled design, rank from the SVD of R, iterative refinement
    /// (accurate; host).
    Qr,
    /// Singular value decomposition, minimum norm (rank revealing; host).
    Svd,
    /// Normal equations accumulated on the data's device (fast for tall data; `cond^2` accuracy).
    NormalEquations,
}

/// Settings of the closed-form fit.
///
/// # Example
/// ```
/// use linfit::{device, Dataset, LeastSquares, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![0.0], vec![1.0], vec![2.0]], &[1.0, 3.0, 5.0], &cpu)?;
/// let fit = LeastSquares::new().fit(&data)?;
/// assert!((fit.model().weights()[0] - 2.0).abs() < 1e-14);
/// assert!((fit.model().bias().unwrap()[0] - 1.0).abs() < 1e-14);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Config, Debug)]
pub struct LeastSquares {
    /// Fit an intercept. Default `true`.
    #[config(default = true)]
    pub intercept: bool,
    /// The algorithm. Default [`Solver::Auto`].
    #[config(default = "Solver::Auto")]
    pub solver: Solver,
    /// Rank tolerance relative to the largest singular value; `None` (the default) uses
    /// `eps * max(n, m)`, as numpy's `matrix_rank` and LAPACK's `gelsd`.
    pub rcond: Option<f64>,
    /// Ridge penalty `alpha ||w||^2` on the weights of every target (the intercept is not
    /// penalised), `>= 0`: scikit-learn's `Ridge(alpha)`. `0` (the default) is ordinary least
    /// squares. A penalised fit's summary shows the estimates, R² and SSE; the standard errors,
    /// tests and intervals of least squares do not hold for it and are not shown. Its
    /// [`rank`](LeastSquaresFit::rank), singular values and condition numbers are those of the
    /// penalised design `[X; sqrt(alpha) I]` (full rank: the penalty identifies every weight),
    /// and its degrees of freedom (adjusted R², residual standard error) count every weight.
    #[config(default = 0.0)]
    pub alpha: f64,
    /// How the summary estimates the covariance of the estimates (statsmodels' `cov_type`):
    /// [`Covariance::NonRobust`] (the default), HC0-HC3, HAC or cluster-robust. The robust
    /// kinds take one more pass over the data at fit time: in memory ([`fit`](Self::fit)) or
    /// over the file ([`fit_csv`](Self::fit_csv), [`fit_rows`](Self::fit_rows), which then also
    /// fill the summary's residual diagnostics); the sharded and polynomial fits refuse them.
    #[config(default = "Covariance::NonRobust")]
    pub covariance: Covariance,
}

/// Tall enough for `Auto` to try the normal equations.
const AUTO_NE_MIN_ROWS: usize = 10_000;
/// `Auto` keeps the normal equations only when `cond(X)` is below this (`cond^2 eps < 1e-8`).
const AUTO_NE_MAX_COND: f64 = 1e4;

impl LeastSquares {
    /// Fits every target of `data`: least squares, weighted least squares when the data carry
    /// sample weights ([`Dataset::with_weights`]; statsmodels' `WLS`), ridge with `alpha > 0`
    /// (scikit-learn's `Ridge`, with the weights as its `sample_weight`). Weighted and ridge fits
    /// centre and weight a copy of the data on the host, then solve it with the chosen solver.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `rcond` or `alpha`;
    /// [`Error::OutOfRange`] when the normal equations (or, over 2^20 values, the streamed QR)
    /// meet data whose squares leave f64's range (in memory, extreme data are scaled exactly
    /// and solved); [`Error::Readback`] when the device fails; [`Error::Numerical`] if a
    /// factorisation fails or the solution is not representable.
    pub fn fit(&self, data: &Dataset) -> Result<LeastSquaresFit> {
        self.check_rcond()?;
        self.check_alpha()?;
        if self.alpha > 0.0 {
            self.check_nonrobust("a ridge fit")?;
        }
        let mut fit = if data.weight_values().is_some() || self.alpha > 0.0 {
            weighted::fit(self, data)?
        } else {
            let (solution, used) = self.solve(data, self.intercept)?;
            LeastSquaresFit::new(solution, used, self.intercept, data)?
        };
        // Without residual degrees of freedom there is no covariance of any kind to report
        // (the summary shows none).
        if self.covariance != Covariance::NonRobust && fit.df_residual() > 0 {
            fit.robust = Some(robust::robust(&fit, data, &self.covariance)?);
        }
        fit.diagnostics = Some(diagnostics::diagnostics(&fit, data)?);
        Ok(fit)
    }

    /// Refuses a robust covariance where the fit does not make the pass it needs.
    fn check_nonrobust(&self, fit: &str) -> Result<()> {
        if self.covariance == Covariance::NonRobust {
            return Ok(());
        }
        Err(Error::InvalidHyperparameter {
            name: "covariance",
            value: self.covariance.describe(),
            rule: match fit {
                "a ridge fit" => {
                    "a ridge fit (alpha > 0) has no least-squares covariance, robust or not"
                }
                "fit_polynomial" => {
                    "a robust covariance is estimated by LeastSquares::fit; fit_polynomial \
                     reports the classical one"
                }
                _ => {
                    "fit_sharded reports the classical covariance: a robust one needs a pass \
                     over the shards' rows with the fit's results sent to every worker, which \
                     the shard protocol does not have yet (fit the rows with fit, fit_csv or \
                     fit_rows, or use Covariance::NonRobust)"
                }
            },
        })
    }

    /// The solver's solution for `data` (with or without intercept), and the solver used.
    fn solve(&self, data: &Dataset, intercept: bool) -> Result<(Solution, Solver)> {
        let (n, m) = (data.n_samples(), data.n_features());
        let (solution, used) = match self.solver {
            Solver::Qr => (
                self.qr_or_svd(data, intercept, RankRule::Scaled)?,
                Solver::Qr,
            ),
            Solver::Svd => (
                self.qr_or_svd(data, intercept, RankRule::Unscaled)?,
                Solver::Svd,
            ),
            Solver::NormalEquations => (
                normal::normal_equations(data, intercept, self.rcond)?.0,
                Solver::NormalEquations,
            ),
            Solver::Auto => {
                let tall = n >= AUTO_NE_MIN_ROWS && n >= 20 * m;
                // Data out of the normal equations' range go to QR, which scales them.
                let ne = if tall {
                    match normal::normal_equations(data, intercept, self.rcond) {
                        Ok(solution) => Some(solution),
                        Err(Error::OutOfRange { .. }) => None,
                        Err(e) => return Err(e),
                    }
                } else {
                    None
                };
                match ne {
                    Some((solution, cond_gram, false)) if cond_gram.sqrt() <= AUTO_NE_MAX_COND => {
                        (solution, Solver::NormalEquations)
                    }
                    _ => (
                        self.qr_or_svd(data, intercept, RankRule::Scaled)?,
                        Solver::Qr,
                    ),
                }
            }
        };
        Ok((solution, used))
    }

    /// Fits every target of a CSV file (header row; the `targets` columns are the targets,
    /// every other column a feature) without loading it: the rows are read in chunks of
    /// bounded size (8 MiB of values, parsed on a second thread) and folded into the streamed
    /// QR of `[1 X y]`, on the host; the model is made on `device`. Memory stays bounded
    /// whatever the file's size; the time is that of reading and parsing the file (once; a
    /// second pass refines ill-conditioned designs, as [`fit`](Self::fit) does).
    ///
    /// [`Solver::Svd`] decides the rank and solves from the SVD of `R`; every other solver
    /// setting is the streamed QR (the normal equations would square the data's condition
    /// number for nothing: the factor costs the same pass). A file small enough for the
    /// in-memory solvers (up to 2^20 values, or short ones) is then loaded and fitted with
    /// [`fit`](Self::fit), so the two agree exactly; larger ones agree with `fit` on the same data
    /// to rounding (both are streamed QR).
    ///
    /// The columns are named after the header. Progress: a `log` record per pass (`info`) and
    /// per chunk (`debug`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for `alpha > 0`: files are fitted by ordinary least
    /// squares (load the data and use [`fit`](Self::fit) for ridge);
    /// As [`Dataset::from_csv`] for the file (a bad cell names its line and column) and as
    /// [`fit`](Self::fit); [`Error::Load`] when the file changes while it is read or between
    /// two passes (nothing fitted on part of it is returned).
    pub fn fit_csv(
        &self,
        path: impl AsRef<std::path::Path>,
        targets: &[&str],
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        let format = FileFormat::Csv(targets.iter().map(|t| t.to_string()).collect());
        self.fit_file(path.as_ref(), format, device)
    }

    /// [`fit_csv`](Self::fit_csv) for a row file (linfit's binary format, written by
    /// [`Dataset::save_rows`] or [`crate::data::convert_csv`]): the same fit, read at the speed
    /// of the disk instead of the speed of parsing text. Its columns are named as the file says.
    ///
    /// # Errors
    /// [`Error::Load`] for a file that is not a row file, is truncated, or changes while it is
    /// read; [`Error::NonFinite`] for a NaN or infinite value (its row and column); as
    /// [`fit`](Self::fit).
    pub fn fit_rows(
        &self,
        path: impl AsRef<std::path::Path>,
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        self.fit_file(path.as_ref(), FileFormat::Rows, device)
    }

    fn fit_file(
        &self,
        path: &std::path::Path,
        format: FileFormat,
        device: &Device,
    ) -> Result<LeastSquaresFit> {
        self.check_rcond()?;
        self.check_alpha()?;
        if self.alpha > 0.0 {
            return Err(Error::InvalidHyperparameter {
                name: "alpha",
                value: self.alpha.to_string(),
                rule: "a ridge penalty is fitted in memory (LeastSquares::fit); files are fitted \
                       by ordinary least squares",
            });
        }
        let mut rows = from_file::FileRows::open(path, format.clone())?;
        let rule = match self.solver {
            Solver::Svd => RankRule::Unscaled,
            _ => RankRule::Scaled,
        };
        let solution = streamed_qr::solve(&mut rows, self.intercept, self.rcond, rule)?;
        let (n, (m, k)) = (rows.n_rows(), rows.widths());
        if !streamed_qr::applies(n, m, k) {
            let data = match &format {
                FileFormat::Csv(targets) => {
                    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
                    Dataset::from_csv(path, &targets, device)?
                }
                FileFormat::Rows => Dataset::from_rows_file(path, device)?,
            };
            return self.fit(&data);
        }
        let (features, targets) = rows.names().clone();
        let header_error = |e: Error| Error::Load {
            path: path.display().to_string(),
            message: format!("its header cannot name the columns: {e}"),
            source: Some(Box::new(e)),
        };
        let about = About {
            n,
            device: device.clone(),
            names: (
                Names::given("feature names", features, m).map_err(header_error)?,
                Names::given("target names", targets, k).map_err(header_error)?,
            ),
            data: None,
            weighting: Weighting::none(n),
            alpha: 0.0,
        };
        let used = match rule {
            RankRule::Unscaled => Solver::Svd,
            RankRule::Scaled => Solver::Qr,
        };
        let mut fit = LeastSquaresFit::from_solution(solution, used, self.intercept, about)?;
        // A robust covariance needs one more pass over the rows; the residuals' diagnostics
        // come with it.
        if self.covariance != Covariance::NonRobust && fit.df_residual() > 0 {
            let (robust, diagnostics) =
                robust::robust_from_file(&fit, &mut rows, &self.covariance)?;
            fit.robust = Some(robust);
            fit.diagnostics = Some(diagnostics);
        }
        Ok(fit)
    }

    fn check_rcond(&self) -> Result<()> {
        match self.rcond {
            Some(rcond) if !(rcond.is_finite() && rcond >= 0.0) => {
                Err(Error::InvalidHyperparameter {
                    name: "rcond",
                    value: rcond.to_string(),
                    rule: "must be finite and >= 0 (None = automatic)",
                })
            }
            _ => Ok(()),
        }
    }

    /// The QR (`RankRule::Scaled`) or SVD (`RankRule::Unscaled`) solution: for tall data from
    /// the streamed QR's `R` (for the SVD: the design's singular values and right singular
    /// vectors, without forming `U`), in memory otherwise.
    fn qr_or_svd(&self, data: &Dataset, intercept: bool, rule: RankRule) -> Result<Solution> {
        let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
        if streamed_qr::applies(n, m, k) {
            let mut rows = streamed_qr::InMemory(data);
            return streamed_qr::solve(&mut rows, intercept, self.rcond, rule);
        }
        let host = HostData::read(data)?;
        let host = if intercept {
            host.with_exact_shifts()
        } else {
            host
        };
        match rule {
            RankRule::Scaled => qr::qr_solve(&host, intercept, self.rcond),
            RankRule::Unscaled => svd::svd_solve(&host, intercept, self.rcond),
        }
    }

    fn check_alpha(&self) -> Result<()> {
        if self.alpha.is_finite() && self.alpha >= 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidHyperparameter {
                name: "alpha",
                value: self.alpha.to_string(),
                rule: "must be finite and >= 0 (0 = ordinary least squares)",
            })
        }
    }
}

/// The result of [`LeastSquares::fit`]: the model and what the solver learned about the design.
#[derive(Debug)]
pub struct LeastSquaresFit {
    model: LinearModel,
    n_samples: usize,
    solver: Solver,
    intercept: bool,
    rank: usize,
    singular_values: Vec<f64>,
    null_weights: Vec<Vec<f64>>,
    gram: Vec<Vec<f64>>,
    x_mean: Vec<f64>,
    scaled_min_eig: f64,
    /// Condition number of the design with its constant column, `[1 X]` (or `X`): statsmodels'
    /// `condition_number`.
    design_condition: f64,
    weights: Vec<Vec<f64>>,
    intercepts: Option<Vec<f64>>,
    /// Sample weights' effect on the statistics (all ones without weights).
    weighting: Weighting,
    /// The ridge penalty (0: least squares).
    alpha: f64,
    /// The statistics in the scaled units the solver worked in (exactly scaled by powers of
    /// two, see `host::Scaling`), so that standard errors and R² of data whose squares
    /// overflow are still computed: `(Z'^T Z')^+`, the scaled feature means, SSE and SST.
    scaled: ScaledStatistics,
    /// The robust covariance, when [`LeastSquares::covariance`] asked for one.
    robust: Option<robust::Robust>,
    /// The residuals' diagnostics per target (in-memory fits, and file fits that made the
    /// robust covariance's pass).
    diagnostics: Option<Vec<diagnostics::Diagnostics>>,
}

/// The condition number of `[1 X]` (with an intercept) or `X`, from a square root `F` of the
/// centred Gram matrix (`F^T F = Z^T Z`, in the solver's units `X' = 2^ex X`) and the feature
/// means there: `[1 X]` has the Gram matrix of `[[sqrt(n), sqrt(n) mean^T], [0, F]]`, whose
/// singular values faer computes without squaring the data; the constant column is scaled by
/// `2^ex` like the features, which leaves the ratio unchanged.
fn design_condition(root: &[Vec<f64>], mean: &[f64], n: f64, intercept: bool, ex: i32) -> f64 {
    let m = mean.len();
    let i = usize::from(intercept);
    let rows = root.len() + i;
    if root.len() < m || m == 0 {
        return f64::INFINITY;
    }
    let sqrt_n = n.sqrt();
    let a = faer::Mat::<f64>::from_fn(rows, m + i, |r, c| match (intercept, r, c) {
        (true, 0, 0) => scale2(sqrt_n, ex),
        (true, 0, c) => sqrt_n * mean[c - 1],
        (true, _, 0) => 0.0,
        (true, r, c) => root[r - 1][c - 1],
        (false, r, c) => root[r][c],
    });
    match a.singular_values() {
        Ok(sv) => {
            let (max, min) = (sv.first().copied(), sv.last().copied());
            match (max, min) {
                (Some(max), Some(min)) if min > 0.0 && max.is_finite() => max / min,
                _ => f64::INFINITY,
            }
        }
        Err(_) => f64::NAN,
    }
}

/// What a fit needs to know of its data besides the solution.
struct About<'a> {
    n: usize,
    device: Device,
    names: (Names, Names),
    /// The data, when in memory (for a pass the solver did not make).
    data: Option<&'a Dataset>,
    weighting: Weighting,
    alpha: f64,
}

/// What sample weights change in the statistics of weighted least squares (statsmodels'
/// `WLS`): the total weight takes the place of `n` where the constant column's norm enters
/// (the intercept's variance, the design's condition number, `explain`), and the
/// log-likelihood gains `sum ln w / 2`.
#[derive(Debug, Clone, Copy)]
struct Weighting {
    /// `sum w / scale` (`n` without weights).
    total: f64,
    /// `sum ln w` over the rows, in the weights' own units (0 without weights).
    log_sum: f64,
    /// The solver saw the weights divided by this (their largest; 1 without weights): the
    /// sums of squares it kept are in those units, and are reported times `scale`.
    scale: f64,
}

impl Weighting {
    fn none(n: usize) -> Self {
        Weighting {
            total: n as f64,
            log_sum: 0.0,
            scale: 1.0,
        }
    }
}

/// A covariance matrix of the parameters, `None` where not identifiable.
type CovarianceMatrix = Vec<Vec<Option<f64>>>;

/// See [`LeastSquaresFit::scaled`].
#[derive(Debug)]
struct ScaledStatistics {
    /// `(Zs^T Zs)^+` of the column-scaled design `Zs = Z' D^-1`.
    gram_pinv: Vec<Vec<f64>>,
    /// `D`.
    column_scale: Vec<f64>,
    x_mean: Vec<f64>,
    sse: Vec<f64>,
    sst: Vec<f64>,
    scaling: Scaling,
}

impl LeastSquaresFit {
    fn new(s: Solution, solver: Solver, intercept: bool, data: &Dataset) -> Result<Self> {
        let (features, targets) = data.names();
        let about = About {
            n: data.n_samples(),
            device: data.device(),
            names: (features.clone(), targets.clone()),
            data: Some(data),
            weighting: Weighting::none(data.n_samples()),
            alpha: 0.0,
        };
        Self::from_solution(s, solver, intercept, about)
    }

    /// The fit of a solution, in the units of the data `about` describes.
    fn from_solution(
        s: Solution,
        solver: Solver,
        intercept: bool,
        about: About<'_>,
    ) -> Result<Self> {
        let (m, k) = (s.x_mean.len(), s.y_mean.len());
        let sc = s.scaling.clone();
        // Back to the data's units: w = w' 2^(ex - ey), b = b' 2^-ey, mean(x) = mean(x') 2^-ex,
        // singular values s = s' 2^-ex, Z^T Z = Z'^T Z' 2^(-2 ex).
        let weights: Vec<Vec<f64>> = s
            .weights
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&sc.y)
                    .map(|(w, ey)| scale2(*w, sc.x - ey))
                    .collect()
            })
            .collect();
        let intercepts: Option<Vec<f64>> = s
            .intercepts
            .as_ref()
            .map(|b| b.iter().zip(&sc.y).map(|(b, ey)| scale2(*b, -ey)).collect());
        let y_mean: Vec<f64> = s
            .y_mean
            .iter()
            .zip(&sc.y)
            .map(|(v, ey)| scale2(*v, -ey))
            .collect();
        let flat: Vec<f64> = weights.iter().flatten().copied().collect();
        let solved_finite = s.weights.iter().flatten().all(|w| w.is_finite())
            && s.intercepts.iter().flatten().all(|b| b.is_finite());
        let model = LinearModel::from_values(m, &flat, intercepts.as_deref(), &about.device)
            .map_err(|e| match e {
                // Finite in the solver's units, not in the data's (or the device's precision).
                Error::NonFinite { .. } | Error::OutOfRange { .. } if solved_finite => {
                    Error::OutOfRange {
                        what: "the fitted coefficients".into(),
                        value: e.to_string(),
                        rule: "in the data's units they leave the float type's range; rescale \
                               the features or targets"
                            .into(),
                    }
                }
                e => Error::Numerical(format!(
                    "the solution is not finite ({e}); the design is too ill-conditioned for \
                     this solver"
                )),
            })?
            .with_recorded_names(about.names.0, about.names.1);
        let (sse, sst) = match s.sums_of_squares {
            Some(sums) => sums,
            None => match about.data {
                // On the device, one pass; the total about the solver's mean of y.
                Some(data) => {
                    row_passes::sums_of_squares(data, &flat, intercepts.as_deref(), &y_mean)?
                }
                None => {
                    return Err(Error::Internal {
                        context: "a streamed solution without its sums of squares",
                        source: "the streamed solvers set them".into(),
                    });
                }
            },
        };
        debug_assert_eq!(sse.len(), k);
        Ok(Self {
            model,
            n_samples: about.n,
            solver,
            intercept,
            rank: s.rank,
            singular_values: s
                .singular_values
                .iter()
                .map(|v| scale2(*v, -sc.x))
                .collect(),
            null_weights: s.null_weights,
            gram: s
                .gram
                .iter()
                .map(|row| row.iter().map(|g| scale2(*g, -2 * sc.x)).collect())
                .collect(),
            x_mean: s.x_mean.iter().map(|v| scale2(*v, -sc.x)).collect(),
            scaled_min_eig: s.scaled_min_eig,
            design_condition: design_condition(
                &s.root_gram,
                &s.x_mean,
                about.weighting.total,
                intercept,
                sc.x,
            ),
            weights,
            intercepts,
            weighting: about.weighting,
            alpha: about.alpha,
            scaled: ScaledStatistics {
                gram_pinv: s.gram_pinv,
                column_scale: s.column_scale,
                x_mean: s.x_mean,
                sse,
                sst,
                scaling: sc,
            },
            robust: None,
            diagnostics: None,
        })
    }

    /// The fitted model.
    pub fn model(&self) -> &LinearModel {
        &self.model
    }

    /// The fitted model, by value.
    pub fn into_model(self) -> LinearModel {
        self.model
    }

    /// The ridge penalty of the fit (0 for least squares).
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The sum of the sample weights of the rows fitted (the number of rows without weights).
    pub fn weight_total(&self) -> f64 {
        self.weighting.total * self.weighting.scale
    }

    /// The solver that produced the fit (`Auto` resolved).
    pub fn solver(&self) -> Solver {
        self.solver
    }

    /// Number of rows the fit saw.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Numerical rank of the design the solver saw (centred when there is an intercept).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of parameters per target: the weights, plus the intercept if fitted.
    pub fn n_parameters(&self) -> usize {
        self.weights.len() + usize::from(self.intercept)
    }

    /// Singular values of the design the solver saw, descending (`n_features` of them).
    pub fn singular_values(&self) -> &[f64] {
        &self.singular_values
    }

    /// `s_max / s_min` of the design the solver saw; infinite when rank deficient.
    pub fn condition_number(&self) -> f64 {
        match (self.singular_values.first(), self.singular_values.last()) {
            (Some(&max), Some(&min)) if min > 0.0 && self.rank == self.singular_values.len() => {
                max / min
            }
            _ => f64::INFINITY,
        }
    }

    /// Condition number of the design with its constant column (`[1 X]` with an intercept,
    /// else `X`), as statsmodels reports it: the ratio of its extreme singular values, in the
    /// data's units. Unlike [`condition_number`](Self::condition_number) it depends on where the
    /// features' origins lie (a column of years near 1950 beside the constant makes it large).
    pub fn design_condition_number(&self) -> f64 {
        self.design_condition
    }

    /// Residual sum of squares per target.
    ///
    /// Infinite when the true value overflows f64 (residuals beyond ~1e154); the summary's
    /// statistics are computed in scaled units and stay finite. The in-memory solvers (up to
    /// 2^20 values) compute it on the host in double-double for the solution in f64, so on an
    /// f32 device it can differ in the last f32 digits from `metrics` applied to the returned
    /// (f32) model.
    pub fn sse(&self) -> Vec<f64> {
        self.scaled
            .sse
            .iter()
            .zip(&self.scaled.scaling.y)
            .map(|(s, ey)| scale2(*s, -2 * ey) * self.weighting.scale)
            .collect()
    }

    /// Basis of the parameter directions the data cannot identify, each of
    /// [`n_parameters`](Self::n_parameters) values (intercept first, then the weights): adding any
    /// multiple of one to the parameters leaves every prediction on this data unchanged.
    /// Orthonormal. Empty when every parameter is identified.
    pub fn null_space(&self) -> Vec<Vec<f64>> {
        orthonormalize(self.null_space_raw())
    }

    /// Null directions in parameter space, before orthonormalisation: `[-mean(x) v; v]`.
    fn null_space_raw(&self) -> Vec<Vec<f64>> {
        self.null_weights
            .iter()
            .map(|v| {
                let mut full = Vec::with_capacity(v.len() + 1);
                if self.intercept {
                    full.push(-v.iter().zip(&self.x_mean).map(|(a, b)| a * b).sum::<f64>());
                }
                full.extend_from_slice(v);
                full
            })
            .collect()
    }

    /// Residual degrees of freedom, `n - rank - i` (`i` = 1 with an intercept).
    pub fn df_residual(&self) -> usize {
        self.n_samples
            .saturating_sub(self.rank + usize::from(self.intercept))
    }

    /// Whether each parameter (intercept first) is identified: orthogonal to the null space.
    pub fn identifiable(&self) -> Vec<bool> {
        let null = self.null_space();
        (0..self.n_parameters())
            .map(|p| null.iter().all(|v| v[p].abs() <= IDENTIFIABLE_TOL))
            .collect()
    }

    /// The estimated covariance of the parameters (intercept first) of `target`:
    /// `sigma^2 (D^T D)^+` with `D = [1 X]`, `sigma^2 = SSE / df_residual`. An entry is `None`
    /// when either parameter is not identifiable; the whole is `None` without residual degrees
    /// of freedom, for a target out of range, or for a ridge fit (`alpha > 0`). With sample
    /// weights, `D = W^(1/2) [1 X]` and SSE is weighted (statsmodels' `WLS`).
    pub fn covariance(&self, target: usize) -> Option<Vec<Vec<Option<f64>>>> {
        let (cov, factors) = self.covariance_scaled(target)?;
        Some(
            cov.iter()
                .zip(&factors)
                .map(|(row, fa)| {
                    row.iter()
                        .zip(&factors)
                        .map(|(c, fb)| c.map(|c| c * fa * fb))
                        .collect()
                })
                .collect(),
        )
    }

    /// The covariance of `target` in the coordinates the solver worked in (data scaled by
    /// powers of two, feature columns divided by `D`), and per parameter the factor that
    /// converts it back: entry `(p, q)` is `cov'[p][q] f_p f_q`, a standard error
    /// `sqrt(cov'[p][p]) f_p`, so that it is finite whenever it is representable, even when a
    /// variance is not (`f` = `2^-ey` for the intercept, `2^(ex - ey) / D_j` for weight `j`).
    pub(super) fn covariance_scaled(&self, target: usize) -> Option<(CovarianceMatrix, Vec<f64>)> {
        let df = self.df_residual();
        if df == 0 || target >= self.scaled.sse.len() || self.alpha > 0.0 {
            return None;
        }
        let s2 = self.scaled.sse[target] / df as f64;
        let m = self.weights.len();
        let g = &self.scaled.gram_pinv;
        let d = &self.scaled.column_scale;
        // The means in the unit-column coordinates: xbar / D.
        let xm: Vec<f64> = self
            .scaled
            .x_mean
            .iter()
            .zip(d)
            .map(|(x, d)| x / d)
            .collect();
        let i = usize::from(self.intercept);
        // With the intercept, in unit-column coordinates (weights D w): Var(w) = s2 G,
        // Cov(b, w) = -s2 G xbar, Var(b) = s2 (1/n + xbar' G xbar).
        let gx: Vec<f64> = (0..m)
            .map(|a| (0..m).map(|c| g[a][c] * xm[c]).sum())
            .collect();
        let xgx: f64 = (0..m).map(|a| xm[a] * gx[a]).sum();
        let raw = |p: usize, q: usize| -> f64 {
            if let Some(robust) = &self.robust {
                return robust.cov[target][p][q];
            }
            match (p.checked_sub(i), q.checked_sub(i)) {
                (Some(a), Some(c)) => s2 * g[a][c],
                (None, Some(c)) | (Some(c), None) => -s2 * gx[c],
                (None, None) => s2 * (1.0 / self.weighting.total + xgx),
            }
        };
        let ok = self.identifiable();
        let p = self.n_parameters();
        let (ex, ey) = (self.scaled.scaling.x, self.scaled.scaling.y[target]);
        let factors = (0..p)
            .map(|a| match a.checked_sub(i) {
                None => scale2(1.0, -ey),
                Some(j) => scale2(1.0 / d[j], ex - ey),
            })
            .collect();
        let cov = (0..p)
            .map(|a| {
                (0..p)
                    .map(|c| (ok[a] && ok[c]).then(|| raw(a, c)))
                    .collect()
            })
            .collect();
        Some((cov, factors))
    }

    /// Statistics per target: estimates, standard errors, t and p values, R², F.
    pub fn summary(&self) -> Summary {
        summary::summarize(self)
    }

    /// Splits the difference between `other` (say, gradient descent's model) and this fit into
    /// the part in the null space, invisible to the data, and the rest; reports both losses on
    /// the data of the fit.
    ///
    /// No pass over the data: with `d` the parameter difference and `D = [1 X]`, the loss of
    /// `other` is `SSE + ||D d||^2` (the residual of a least-squares fit is orthogonal to every
    /// column of `D`), and `||D d||^2 = n (d_b + mean(x) d_w)^2 + d_w^T Z^T Z d_w` comes from
    /// the design's singular values and vectors, which the fit keeps. So the fit holds no
    /// reference to the data (no device memory pinned), and the loss difference is computed
    /// directly rather than as the difference of two large sums.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `other` has other features, targets or bias;
    /// [`Error::Readback`] when the device fails.
    pub fn explain(&self, other: &LinearModel) -> Result<Explanation> {
        explain::explain(self, other)
    }
}

/// A direction is identifiable when orthogonal to the (orthonormal) null space, to this tolerance.
const IDENTIFIABLE_TOL: f64 = 1e-8;
