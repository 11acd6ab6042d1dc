//! [`LeastSquaresFit`]: what a closed-form fit keeps (the model, the design's rank, singular
//! values and null space, the statistics in the solver's scaled units) and what it answers
//! without the data: accessors, covariances, the summary, the explanation.

use burn::tensor::Device;

use super::host::Scaling;
use super::solution::{Solution, orthonormalize};
use super::{Explanation, Solver, Summary, diagnostics, explain, robust, row_passes, summary};
use crate::data::{Dataset, Names};
use crate::float::scale2;
use crate::model::LinearModel;
use crate::{Error, Result};

/// The result of [`LeastSquares::fit`](super::LeastSquares::fit): the model and what the solver learned about the design.
#[derive(Debug)]
pub struct LeastSquaresFit {
    pub(super) model: LinearModel,
    pub(super) n_samples: usize,
    pub(super) solver: Solver,
    pub(super) intercept: bool,
    pub(super) rank: usize,
    pub(super) singular_values: Vec<f64>,
    pub(super) null_weights: Vec<Vec<f64>>,
    pub(super) gram: Vec<Vec<f64>>,
    pub(super) x_mean: Vec<f64>,
    pub(super) scaled_min_eig: f64,
    /// Condition number of the design with its constant column, `[1 X]` (or `X`): statsmodels'
    /// `condition_number`.
    pub(super) design_condition: f64,
    pub(super) weights: Vec<Vec<f64>>,
    pub(super) intercepts: Option<Vec<f64>>,
    /// Sample weights' effect on the statistics (all ones without weights).
    pub(super) weighting: Weighting,
    /// The ridge penalty (0: least squares).
    pub(super) alpha: f64,
    /// The statistics in the scaled units the solver worked in (exactly scaled by powers of
    /// two, see `host::Scaling`), so that standard errors and R² of data whose squares
    /// overflow are still computed: `(Z'^T Z')^+`, the scaled feature means, SSE and SST.
    pub(super) scaled: ScaledStatistics,
    /// The robust covariance, when [`LeastSquares::covariance`] asked for one.
    pub(super) robust: Option<robust::Robust>,
    /// The residuals' diagnostics per target (in-memory fits, and file fits that made the
    /// robust covariance's pass).
    pub(super) diagnostics: Option<Vec<diagnostics::Diagnostics>>,
}

/// The model of a solution (`weights` row-major and `intercepts` in the data's units) on the
/// device `about` names; a solution finite in the solver's units but not in the data's (or the
/// device's float type) is out of range, one not finite at all a numerical failure.
fn fitted_model(
    s: &Solution,
    weights: &[f64],
    intercepts: Option<&[f64]>,
    about: &About<'_>,
) -> Result<LinearModel> {
    let solved_finite = s.weights.iter().flatten().all(|w| w.is_finite())
        && s.intercepts.iter().flatten().all(|b| b.is_finite());
    LinearModel::from_values(s.x_mean.len(), weights, intercepts, &about.device).map_err(
        |e| match e {
            Error::NonFinite { .. } | Error::OutOfRange { .. } if solved_finite => {
                Error::OutOfRange {
                    what: "the fitted coefficients".into(),
                    value: e.to_string(),
                    rule: "in the data's units they leave the float type's range; rescale the \
                           features or targets"
                        .into(),
                }
            }
            e => Error::Numerical(format!(
                "the solution is not finite ({e}); the design is too ill-conditioned for this \
                 solver"
            )),
        },
    )
}

/// The condition number of `[1 X]` (with an intercept) or `X`, from a square root `F` of the
/// centred Gram matrix (`F^T F = Z^T Z`, in the solver's units `X' = 2^ex X`) and the feature
/// means there: `[1 X]` has the Gram matrix of `[[sqrt(n), sqrt(n) mean^T], [0, F]]`, whose
/// singular values faer computes without squaring the data; the constant column is scaled by
/// `2^ex` like the features, which leaves the ratio unchanged.
pub(super) fn design_condition(
    root: &[Vec<f64>],
    mean: &[f64],
    n: f64,
    intercept: bool,
    ex: i32,
) -> f64 {
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
pub(super) struct About<'a> {
    pub(super) n: usize,
    pub(super) device: Device,
    pub(super) names: (Names, Names),
    /// The data, when in memory (for a pass the solver did not make).
    pub(super) data: Option<&'a Dataset>,
    pub(super) weighting: Weighting,
    pub(super) alpha: f64,
}

/// What sample weights change in the statistics of weighted least squares (statsmodels'
/// `WLS`): the total weight takes the place of `n` where the constant column's norm enters
/// (the intercept's variance, the design's condition number, `explain`), and the
/// log-likelihood gains `sum ln w / 2`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Weighting {
    /// `sum w / scale` (`n` without weights).
    pub(super) total: f64,
    /// `sum ln w` over the rows, in the weights' own units (0 without weights).
    pub(super) log_sum: f64,
    /// The solver saw the weights divided by this (their largest; 1 without weights): the
    /// sums of squares it kept are in those units, and are reported times `scale`.
    pub(super) scale: f64,
}

impl Weighting {
    pub(super) fn none(n: usize) -> Self {
        Weighting {
            total: n as f64,
            log_sum: 0.0,
            scale: 1.0,
        }
    }
}

/// A covariance matrix of the parameters, `None` where not identifiable.
pub(super) type CovarianceMatrix = Vec<Vec<Option<f64>>>;

/// See [`LeastSquaresFit::scaled`].
#[derive(Debug)]
pub(super) struct ScaledStatistics {
    /// `(Zs^T Zs)^+` of the column-scaled design `Zs = Z' D^-1`.
    pub(super) gram_pinv: Vec<Vec<f64>>,
    /// `D`.
    pub(super) column_scale: Vec<f64>,
    pub(super) x_mean: Vec<f64>,
    pub(super) sse: Vec<f64>,
    pub(super) sst: Vec<f64>,
    pub(super) scaling: Scaling,
}

impl LeastSquaresFit {
    pub(super) fn new(
        s: Solution,
        solver: Solver,
        intercept: bool,
        data: &Dataset,
    ) -> Result<Self> {
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
    pub(super) fn from_solution(
        s: Solution,
        solver: Solver,
        intercept: bool,
        about: About<'_>,
    ) -> Result<Self> {
        let k = s.y_mean.len();
        let sc = s.scaling.clone();
        // Back to the data's units: w = w' 2^(ex - ey), b = b' 2^-ey, mean(x) = mean(x') 2^-ex,
        // singular values s = s' 2^-ex, Z^T Z = Z'^T Z' 2^(-2 ex).
        let weights = sc.weights_to_data(&s.weights);
        let intercepts = s.intercepts.as_ref().map(|b| sc.targets_to_data(b, 1));
        let y_mean = sc.targets_to_data(&s.y_mean, 1);
        let flat: Vec<f64> = weights.iter().flatten().copied().collect();
        let model = fitted_model(&s, &flat, intercepts.as_deref(), &about)?
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
            singular_values: sc.features_to_data(&s.singular_values, 1),
            null_weights: s.null_weights,
            gram: s
                .gram
                .iter()
                .map(|row| sc.features_to_data(row, 2))
                .collect(),
            x_mean: sc.features_to_data(&s.x_mean, 1),
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
        let scaled = &self.scaled;
        let sse = scaled.scaling.targets_to_data(&scaled.sse, 2);
        sse.iter().map(|s| s * self.weighting.scale).collect()
    }

    /// Basis of the parameter directions the data cannot identify, each of
    /// [`n_parameters`](Self::n_parameters) values (intercept first, then the weights): adding any
    /// multiple of one to the parameters leaves every prediction on this data unchanged.
    /// Orthonormal. Empty when every parameter is identified.
    pub fn null_space(&self) -> Vec<Vec<f64>> {
        orthonormalize(self.null_space_raw())
    }

    /// Null directions in parameter space, before orthonormalisation: `[-mean(x) v; v]`.
    pub(super) fn null_space_raw(&self) -> Vec<Vec<f64>> {
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
pub(super) const IDENTIFIABLE_TOL: f64 = 1e-8;
