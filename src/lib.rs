//! # linfit
//!
//! Linear regression `y = x W + b`, trained by gradient descent on [Burn](https://burn.dev)'s
//! autodiff with PyTorch's SGD reproduced number for number, or solved exactly in closed form
//! with the statistics a statistician expects, on the CPU or a GPU with the same code.
//!
//! - [`LinearModel`]: a Burn module, weight `[n_features, n_targets]`, optional bias.
//! - [`Sgd`]: `torch.optim.SGD` exactly (lr, momentum, dampening, weight decay, Nesterov), in the
//!   model's precision, with the explicit `zero_grad` / `backward` / `step` loop.
//! - [`Trainer`]: `fit` for the common case: mini-batches, seeded shuffling, loss history, early
//!   stopping, a callback, divergence detection; one fused pass over the data per step
//!   ([`LinearModel::loss`] in the explicit loop).
//! - [`LeastSquares`]: the exact answer (QR, SVD or normal equations), rank, null space, and
//!   statsmodels' OLS summary ([`Summary`]: standard errors, t, p, 95% intervals, R², F,
//!   log-likelihood, AIC, BIC), and [`LeastSquaresFit::explain`] for why another minimiser
//!   differs.
//! - Data in and results out: [`Dataset::from_csv`] (column names from the header, carried into
//!   models, summaries and plots), [`Dataset::train_test_split`], [`Standardizer`], [`metrics`],
//!   [`MakeRegression`], [`LinearModel::save`] / [`LinearModel::load`] (Burn's burnpack),
//!   [`LinearModel::to_json`], and plots (`plot` module, feature `plot`).
//! - Data larger than memory: [`LeastSquares::fit_csv`] and [`Trainer::fit_csv`] read a file
//!   in bounded chunks; [`data::convert_csv`] writes linfit's binary row file, which
//!   [`LeastSquares::fit_rows`] and [`Trainer::fit_rows`] read without parsing.
//! - [`sgd_regressor`]: scikit-learn's `SGDRegressor` number for number (losses, penalties,
//!   schedules, averaging, `partial_fit`); [`LeastSquares::alpha`] for `Ridge`; sample weights
//!   in every in-memory estimator and metric ([`Dataset::with_weights`]).
//! - [`schedule`]: PyTorch's learning-rate schedulers, in the explicit loop or per epoch in
//!   [`Trainer`] ([`TrainerConfig::schedule`]).
//! - [`device`]: the CPU (flex by default, or ndarray) or a GPU (wgpu, cuda), in f32 or f64;
//!   with the feature `distributed`, `device::remote` reaches a `linfit-worker` on another
//!   machine, and [`ShardedDataset`] with [`Trainer::fit_sharded`] trains on rows spread over
//!   several devices, [`LeastSquares::fit_sharded`] solves them in closed form (exact Gram
//!   blocks on each device).
//!
//! ## Quick start
//! ```
//! use linfit::prelude::*;
//!
//! # fn main() -> linfit::Result<()> {
//! let cpu = device::cpu(Precision::F64)?;
//! // y = 1 + 2 x1 - x2
//! let rows: Vec<Vec<f64>> = (0..50).map(|i| vec![(i % 7) as f64 / 7.0, (i % 5) as f64 / 5.0]).collect();
//! let targets: Vec<f64> = rows.iter().map(|r| 1.0 + 2.0 * r[0] - r[1]).collect();
//! let data = Dataset::from_rows(&rows, &targets, &cpu)?;
//!
//! let trainer = TrainerConfig::new(SgdConfig::new(0.5).with_momentum(0.9))
//!     .with_epochs(500)
//!     .init()?;
//! let fitted = trainer.fit(LinearModelConfig::new(2).init(&cpu)?, &data)?;
//! let w = fitted.model.weights();
//! assert!((w[0] - 2.0).abs() < 1e-6 && (w[1] + 1.0).abs() < 1e-6);
//!
//! // The exact answer, and how good it is.
//! let exact = LeastSquares::new().fit(&data)?;
//! assert!((exact.model().weights()[0] - 2.0).abs() < 1e-12);
//! assert!(metrics::r2(exact.model(), &data)? > 0.999_999);
//! # Ok(()) }
//! ```
//!
//! ## Choosing a backend
//! | cargo feature | device name | notes |
//! |---|---|---|
//! | `flex` (default) | `cpu`, `flex` | Burn's pure-Rust CPU backend, SIMD and rayon |
//! | `ndarray` | `cpu` (when flex is off), `ndarray` | Burn's ndarray backend |
//! | `wgpu` | `wgpu` | Vulkan / Metal / DX12; f64 only where the adapter has it |
//! | `cuda` | `cuda`, `cuda:N` | NVIDIA GPUs, f32 and f64 |
//!
//! Other features: `plot` (loss and prediction plots, PNG or SVG, with plotters) and
//! `distributed` (workers on other machines). Only `flex` is on by default. Several backends
//! can be compiled in together; `cpu` then still means flex.
//!
//! No linfit code names a backend: everything takes a `&Device`, and the same program runs on any
//! of them; [`device::from_name`] turns a `--device` flag or `LINFIT_DEVICE` into one. Training
//! and the normal equations run on the data's device; the small factorisations of the closed form
//! (at most `m x m`) and the QR/SVD solvers run on the host (faer).
//!
//! ## Precision
//! A device's float type locks at its first tensor, for the life of the process, and without
//! configuration Burn sends f64 data to f32: get devices from [`device::cpu`] or
//! [`device::from_name`], which configure the precision first, and keep one precision per device
//! per process. Every tensor linfit creates is in the device's precision; every number read back
//! is an `f64`. With [`Precision::F64`] the seed notebook's PyTorch float64 run is reproduced to
//! round-off (1e-9 relative is tested; ~1e-14 is observed).
//!
//! ## From PyTorch
//! | PyTorch | linfit |
//! |---|---|
//! | `torch.set_default_dtype(torch.float64)` | `device::cpu(Precision::F64)?` |
//! | `nn.Linear(m, k)` | `LinearModelConfig::new(m).with_n_targets(k).init(&device)?` |
//! | `w = torch.tensor(w0, requires_grad=True)` | `LinearModel::from_values(m, &w0, Some(&b0), &device)?` |
//! | `optim.SGD(params, lr=0.01, momentum=0.9)` | `SgdConfig::new(0.01).with_momentum(0.9).init()?` |
//! | `optimizer.zero_grad()` | `sgd.zero_grad()` |
//! | `loss = ((model(X) - y)**2).sum()` | `let loss = Loss::SumSquared.forward(model.forward(x), y);` |
//! | the same, fused (one pass over `X`) | `let loss = model.loss(x, y, Loss::SumSquared);` |
//! | `loss.backward()` | `sgd.backward(&loss, &model)` |
//! | `optimizer.step()` | `model = sgd.step(model)?` |
//! | `with torch.no_grad(): model(X)` | `model.predict(x)?` (or `model.valid().forward(x)`) |
//! | `torch.save(model.state_dict(), p)` | `model.save(p)?` |
//! | `StepLR(opt, 10)`, `CosineAnnealingLR(opt, T_max)`, ... | `schedule::StepLrConfig::new(lr, 10).init()?`, ... |
//! | `scheduler.step()` then the optimizer's lr | `s.step(); sgd.set_lr(s.lr())?` (or `TrainerConfig::with_schedule`) |
//! | `ReduceLROnPlateau(opt).step(val_loss)` | `s.step_with(val_loss)` |
//! | `((w * (y_hat - y)**2).sum()` | `Loss::SumSquared.forward_weighted(y_hat, y, w)` |
//!
//! ## From scikit-learn
//! | scikit-learn | linfit |
//! |---|---|
//! | `LinearRegression().fit(X, y)` | `LeastSquares::new().fit(&data)?` |
//! | `feature_names_in_` (from a DataFrame) | `model.feature_names()` (from the CSV header, or `data.with_feature_names(..)?`) |
//! | `.coef_`, `.intercept_` | `fit.model().weights()`, `fit.model().bias()` |
//! | `SGDRegressor(loss=.., penalty=.., learning_rate=..).fit(X, y)` | `SgdRegressorConfig::new().with_loss(..)..fit(&data)?` ([`sgd_regressor`]) |
//! | `.coef_`, `.intercept_`, `.n_iter_`, `.t_`, `.partial_fit(X, y)` | `sgd.model()`, `sgd.n_iter()`, `sgd.t()`, `sgd.partial_fit(&data)?` |
//! | `Ridge(alpha=1.0).fit(X, y)` | `LeastSquares::new().with_alpha(1.0).fit(&data)?` |
//! | `fit(X, y, sample_weight=w)`, `r2_score(.., sample_weight=w)` | `data.with_weights(&w)?`, then any estimator or metric |
//! | statsmodels `WLS(y, X, weights=w).fit().summary()` | `LeastSquares::new().fit(&data.with_weights(&w)?)?.summary()` |
//! | gradient descent with `tol=1e-3, n_iter_no_change=5` | `TrainerConfig::new(..).with_tol(Some(1e-3))` |
//! | `early_stopping=True, validation_fraction=0.1` | `TrainerConfig::new(..).with_validation_fraction(Some(0.1))` |
//! | `StandardScaler().fit(X)` | `StandardizerConfig::new().fit(&data)?` |
//! | `train_test_split(X, y, test_size=0.2, random_state=42)` | `data.train_test_split(0.2, 42)?` |
//! | `mean_squared_error`, `r2_score` | `metrics::mse(&model, &data)?`, `metrics::r2(&model, &data)?` |
//! | `make_regression(n, m, noise=0.1)` | `MakeRegression::new(n, m).with_noise(0.1).generate(&device)?` |
//! | statsmodels `OLS(y, X).fit().summary()` | `println!("{}", fit.summary())` |

#![warn(missing_docs)]
// docs.rs: a badge on each item that needs a cargo feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The worker's credential format and check (shared by the client and `linfit-worker`).
#[cfg(feature = "distributed")]
#[doc(hidden)]
pub mod credential;
pub mod data;
pub mod device;
mod error;
mod float;
pub mod loss;
pub mod lstsq;
pub mod metrics;
pub mod model;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;
mod precision;
pub mod prelude;
pub mod schedule;
pub mod sgd_regressor;
mod standardize;
mod stopping;
mod text;
pub mod trainer;

/// The exact Burn linfit is built on (with autodiff enabled).
pub use burn;
pub use burn::tensor::{Device, Tensor};

pub use data::{Dataset, MakeRegression, ShardedDataset};
pub use device::Precision;
pub use error::{BoxError, Error, Result};
pub use loss::Loss;
pub use lstsq::{
    Coefficient, Covariance, Explanation, Influence, LeastSquares, LeastSquaresFit, PolynomialFit,
    PredictionFrame, Solver, Summary, TargetSummary,
};
pub use model::ModelCoefficients;
pub use model::{LinearModel, LinearModelConfig};
pub use optim::{Sgd, SgdConfig};
pub use standardize::{Standardizer, StandardizerConfig};
pub use trainer::{Fitted, LogEntry, StopReason, Trainer, TrainerConfig, Validation};

pub use sgd_regressor::{SgdRegressor, SgdRegressorConfig};
