//! # linfit
//!
//! Linear regression `y = x W + b` trained by gradient descent on [Burn](https://burn.dev)'s
//! autodiff, with PyTorch's SGD reproduced number for number.
//!
//! - [`LinearModel`]: a Burn module, weight `[n_features, n_targets]`, optional bias.
//! - [`Sgd`]: `torch.optim.SGD` exactly (lr, momentum, dampening, weight decay, Nesterov), in the
//!   model's precision, with the explicit `zero_grad` / `backward` / `step` loop.
//! - [`Trainer`]: `fit` for the common case: mini-batches, seeded shuffling, loss history, early
//!   stopping, a callback, divergence detection.
//! - [`device`]: the CPU (flex by default, or ndarray) or a GPU (wgpu, cuda), in f32 or f64.
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
//! let fitted = trainer.fit(LinearModelConfig::new(2).init(&cpu), &data)?;
//! let w = fitted.model.weights();
//! assert!((w[0] - 2.0).abs() < 1e-6 && (w[1] + 1.0).abs() < 1e-6);
//! # Ok(()) }
//! ```
//!
//! ## Backends
//! | cargo feature | device name | notes |
//! |---|---|---|
//! | `flex` (default) | `cpu`, `flex` | Burn's pure-Rust CPU backend, SIMD and rayon |
//! | `ndarray` | `cpu` (when flex is off), `ndarray` | Burn's ndarray backend |
//! | `wgpu` | `wgpu` | Vulkan / Metal / DX12; f64 only where the adapter has it |
//! | `cuda` | `cuda`, `cuda:N` | NVIDIA GPUs, f32 and f64 |
//!
//! No linfit code names a backend: everything takes a `&Device`, and the same program runs on any
//! of them. A device's float type locks at its first tensor: get devices from [`device::cpu`] or
//! [`device::from_name`], which configure the precision first.
//!
//! ## Precision
//! Every tensor linfit creates is in the device's precision; every number read back is an `f64`.
//! With [`Precision::F64`] the seed notebook's PyTorch float64 run is reproduced to round-off.

#![warn(missing_docs)]

pub mod data;
pub mod device;
mod error;
mod io;
pub mod loss;
pub mod lstsq;
pub mod metrics;
pub mod model;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;
pub mod prelude;
mod standardize;
pub mod trainer;

/// The exact Burn linfit is built on (with autodiff enabled).
pub use burn;
pub use burn::tensor::{Device, Tensor};

pub use data::{Dataset, MakeRegression};
pub use device::Precision;
pub use error::{Error, Result};
pub use io::ModelCoefficients;
pub use loss::Loss;
pub use lstsq::{
    Coefficient, Explanation, LeastSquares, LeastSquaresFit, PolynomialFit, Solver, Summary,
    TargetSummary,
};
pub use model::{LinearModel, LinearModelConfig};
pub use optim::{Sgd, SgdConfig};
pub use standardize::Standardizer;
pub use trainer::{Fitted, LogEntry, StopReason, Trainer, TrainerConfig};
