//! Everything a training program needs, in one `use linfit::prelude::*;`.

pub use crate::device::{self, Precision};
pub use crate::{
    Dataset, Device, Error, Fitted, LinearModel, LinearModelConfig, LogEntry, Loss, Result, Sgd,
    SgdConfig, StopReason, Tensor, Trainer, TrainerConfig,
};
pub use burn::module::Module;
