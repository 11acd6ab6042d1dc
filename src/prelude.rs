//! Everything a training program needs, in one `use linfit::prelude::*;`.

pub use crate::device::{self, Precision};
pub use crate::metrics;
pub use crate::schedule::{self, LrScheduler};
pub use crate::{
    Coefficient, Covariance, Dataset, Device, Error, Explanation, Fitted, Influence, LeastSquares,
    LeastSquaresFit, LinearModel, LinearModelConfig, LogEntry, Loss, MakeRegression,
    PredictionFrame, Result, Sgd, SgdConfig, SgdRegressor, SgdRegressorConfig, ShardedDataset,
    Solver, Standardizer, StandardizerConfig, StopReason, Summary, TargetSummary, Tensor, Trainer,
    TrainerConfig,
};
pub use burn::module::Module;
