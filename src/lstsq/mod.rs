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
mod fit;
mod from_file;
mod host;
mod influence;
mod normal;
mod polynomial;
mod prediction;
mod qr;
mod refine;
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

pub use explain::Explanation;
pub use fit::LeastSquaresFit;
pub use influence::Influence;
pub use polynomial::PolynomialFit;
pub use prediction::PredictionFrame;
pub use robust::Covariance;
pub use summary::{Coefficient, Summary, TargetSummary};

use crate::data::Dataset;
use crate::{Error, Result};
use fit::{About, CovarianceMatrix, Weighting};
use host::HostData;
use solution::Solution;
use streamed_qr::RankRule;

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
