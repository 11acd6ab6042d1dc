//! PyTorch's learning-rate schedulers (`torch.optim.lr_scheduler`), giving PyTorch's lr
//! sequence: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR and
//! ReduceLROnPlateau.
//!
//! Each follows PyTorch 2.x's `step()`: the recursive ("chainable") form that multiplies the
//! current lr, in f64, in PyTorch's order of operations, so the sequence matches PyTorch's to
//! round-off (1e-12 relative is tested against numbers PyTorch printed,
//! `scripts/torch_schedulers_reference.py`).
//!
//! [`LrScheduler::lr`] before any step is the lr right after PyTorch constructs the scheduler
//! (LinearLR: `base_lr * start_factor`); each [`step`](LrScheduler::step) is one
//! `scheduler.step()`. With the explicit loop, set the optimizer's lr from it:
//! ```
//! use linfit::schedule::{LrScheduler, StepLrConfig};
//! use linfit::SgdConfig;
//! let mut sgd = SgdConfig::new(0.1).init()?;
//! let mut schedule = StepLrConfig::new(0.1, 2).init()?;
//! for _epoch in 0..5 {
//!     // ... zero_grad / backward / step over the epoch's batches ...
//!     schedule.step();
//!     sgd.set_lr(schedule.lr())?;
//! }
//! assert!((sgd.lr() - 0.001).abs() < 1e-15); // 0.1 -> 0.01 after 2 epochs -> 0.001 after 4
//! # Ok::<(), linfit::Error>(())
//! ```
//! With [`Trainer`](crate::Trainer), [`TrainerConfig::schedule`](crate::TrainerConfig::schedule)
//! steps a [`Schedule`] once per epoch (ReduceLROnPlateau with the epoch's loss, or the
//! held-out loss with a validation set).

use burn::config::Config;

use crate::{Error, Result};

/// A learning-rate schedule.
pub trait LrScheduler {
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// One `scheduler.step()` (ReduceLROnPlateau: a no-op; see
    /// [`ReduceLrOnPlateau::step_with`]).
    fn step(&mut self);
}

fn check(name: &'static str, value: f64, ok: bool, rule: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value: value.to_string(),
            rule,
        })
    }
}

fn check_base_lr(base_lr: f64) -> Result<()> {
    check(
        "base_lr",
        base_lr,
        base_lr.is_finite() && base_lr >= 0.0,
        "must be finite and >= 0",
    )
}

fn check_gamma(gamma: f64) -> Result<()> {
    check(
        "gamma",
        gamma,
        gamma.is_finite() && gamma >= 0.0,
        "must be finite and >= 0",
    )
}

/// `torch.optim.lr_scheduler.StepLR`: the lr times `gamma` every `step_size` steps.
#[derive(Config, Debug)]
pub struct StepLrConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Steps between decays, `>= 1`.
    pub step_size: usize,
    /// Decay factor. Default `0.1`.
    #[config(default = 0.1)]
    pub gamma: f64,
}

/// A running [`StepLrConfig`].
#[derive(Debug, Clone)]
pub struct StepLr {
    config: StepLrConfig,
    last_epoch: usize,
    lr: f64,
}

impl StepLrConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr` or `gamma`, or a
    /// zero `step_size`.
    pub fn init(&self) -> Result<StepLr> {
        check_base_lr(self.base_lr)?;
        check_gamma(self.gamma)?;
        check("step_size", 0.0, self.step_size >= 1, "must be >= 1")?;
        Ok(StepLr {
            config: self.clone(),
            last_epoch: 0,
            lr: self.base_lr,
        })
    }
}

impl LrScheduler for StepLr {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn step(&mut self) {
        self.last_epoch += 1;
        if self.last_epoch.is_multiple_of(self.config.step_size) {
            self.lr *= self.config.gamma;
        }
    }
}

/// `torch.optim.lr_scheduler.MultiStepLR`: the lr times `gamma` at each milestone (a milestone
/// listed twice decays twice).
#[derive(Config, Debug)]
pub struct MultiStepLrConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Steps at which the lr decays.
    pub milestones: Vec<usize>,
    /// Decay factor. Default `0.1`.
    #[config(default = 0.1)]
    pub gamma: f64,
}

/// A running [`MultiStepLrConfig`].
#[derive(Debug, Clone)]
pub struct MultiStepLr {
    config: MultiStepLrConfig,
    last_epoch: usize,
    lr: f64,
}

impl MultiStepLrConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr` or `gamma`.
    pub fn init(&self) -> Result<MultiStepLr> {
        check_base_lr(self.base_lr)?;
        check_gamma(self.gamma)?;
        let mut scheduler = MultiStepLr {
            config: self.clone(),
            last_epoch: 0,
            lr: self.base_lr,
        };
        // PyTorch's constructor steps at epoch 0: a milestone 0 decays the first lr.
        scheduler.decay_at_milestone();
        Ok(scheduler)
    }
}

impl LrScheduler for MultiStepLr {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn step(&mut self) {
        self.last_epoch += 1;
        self.decay_at_milestone();
    }
}

impl MultiStepLr {
    fn decay_at_milestone(&mut self) {
        let count = self
            .config
            .milestones
            .iter()
            .filter(|&&m| m == self.last_epoch)
            .count();
        if count > 0 {
            self.lr *= self.config.gamma.powf(count as f64);
        }
    }
}

/// `torch.optim.lr_scheduler.ExponentialLR`: the lr times `gamma` every step.
#[derive(Config, Debug)]
pub struct ExponentialLrConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Decay factor per step.
    pub gamma: f64,
}

/// A running [`ExponentialLrConfig`].
#[derive(Debug, Clone)]
pub struct ExponentialLr {
    gamma: f64,
    lr: f64,
}

impl ExponentialLrConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr` or `gamma`.
    pub fn init(&self) -> Result<ExponentialLr> {
        check_base_lr(self.base_lr)?;
        check_gamma(self.gamma)?;
        Ok(ExponentialLr {
            gamma: self.gamma,
            lr: self.base_lr,
        })
    }
}

impl LrScheduler for ExponentialLr {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn step(&mut self) {
        self.lr *= self.gamma;
    }
}

/// `torch.optim.lr_scheduler.CosineAnnealingLR`: from `base_lr` down to `eta_min` along a half
/// cosine over `t_max` steps, then back up (the cosine continues; PyTorch's recursive form).
#[derive(Config, Debug)]
pub struct CosineAnnealingLrConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Steps of a half period, `>= 1`.
    pub t_max: usize,
    /// The lowest lr. Default `0`.
    #[config(default = 0.0)]
    pub eta_min: f64,
}

/// A running [`CosineAnnealingLrConfig`].
#[derive(Debug, Clone)]
pub struct CosineAnnealingLr {
    config: CosineAnnealingLrConfig,
    last_epoch: usize,
    lr: f64,
}

impl CosineAnnealingLrConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr` or `eta_min`, or
    /// a zero `t_max`.
    pub fn init(&self) -> Result<CosineAnnealingLr> {
        check_base_lr(self.base_lr)?;
        check(
            "eta_min",
            self.eta_min,
            self.eta_min.is_finite() && self.eta_min >= 0.0,
            "must be finite and >= 0",
        )?;
        check("t_max", 0.0, self.t_max >= 1, "must be >= 1")?;
        Ok(CosineAnnealingLr {
            config: self.clone(),
            last_epoch: 0,
            lr: self.base_lr,
        })
    }
}

impl LrScheduler for CosineAnnealingLr {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn step(&mut self) {
        use core::f64::consts::PI;
        self.last_epoch += 1;
        let (e, t_max) = (self.last_epoch as f64, self.config.t_max as f64);
        let (base, eta_min) = (self.config.base_lr, self.config.eta_min);
        self.lr = if (self.last_epoch as i128 - 1 - self.config.t_max as i128)
            .rem_euclid(2 * self.config.t_max as i128)
            == 0
        {
            self.lr + (base - eta_min) * (1.0 - (PI / t_max).cos()) / 2.0
        } else {
            (1.0 + (PI * e / t_max).cos()) / (1.0 + (PI * (e - 1.0) / t_max).cos())
                * (self.lr - eta_min)
                + eta_min
        };
    }
}

/// `torch.optim.lr_scheduler.LinearLR`: the lr's factor moves linearly from `start_factor` to
/// `end_factor` over `total_iters` steps, then stays.
#[derive(Config, Debug)]
pub struct LinearLrConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Factor at the start, in `(0, 1]`. Default `1/3`.
    #[config(default = "1.0 / 3.0")]
    pub start_factor: f64,
    /// Factor from `total_iters` on, in `[0, 1]`. Default `1`.
    #[config(default = 1.0)]
    pub end_factor: f64,
    /// Steps of the ramp, `>= 1`. Default `5`.
    #[config(default = 5)]
    pub total_iters: usize,
}

/// A running [`LinearLrConfig`].
#[derive(Debug, Clone)]
pub struct LinearLr {
    config: LinearLrConfig,
    last_epoch: usize,
    lr: f64,
}

impl LinearLrConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr`, `start_factor`
    /// outside `(0, 1]` or `end_factor` outside `[0, 1]` (PyTorch's checks), or a zero
    /// `total_iters`.
    pub fn init(&self) -> Result<LinearLr> {
        check_base_lr(self.base_lr)?;
        check(
            "start_factor",
            self.start_factor,
            self.start_factor > 0.0 && self.start_factor <= 1.0,
            "must be in (0, 1] (as PyTorch's LinearLR)",
        )?;
        check(
            "end_factor",
            self.end_factor,
            (0.0..=1.0).contains(&self.end_factor),
            "must be in [0, 1] (as PyTorch's LinearLR)",
        )?;
        check("total_iters", 0.0, self.total_iters >= 1, "must be >= 1")?;
        Ok(LinearLr {
            config: self.clone(),
            last_epoch: 0,
            lr: self.base_lr * self.start_factor,
        })
    }
}

impl LrScheduler for LinearLr {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn step(&mut self) {
        self.last_epoch += 1;
        let c = &self.config;
        if self.last_epoch > c.total_iters {
            return;
        }
        let delta = c.end_factor - c.start_factor;
        self.lr *= 1.0
            + delta
                / (c.total_iters as f64 * c.start_factor + (self.last_epoch as f64 - 1.0) * delta);
    }
}

/// `torch.optim.lr_scheduler.ReduceLROnPlateau` in mode `"min"` with a relative threshold: the
/// lr times `factor` (not below `min_lr`) once the metric has not improved on its best by more
/// than `threshold` (relative) for more than `patience` steps, then `cooldown` steps of rest.
#[derive(Config, Debug)]
pub struct ReduceLrOnPlateauConfig {
    /// The optimizer's initial lr.
    pub base_lr: f64,
    /// Decay factor, in `[0, 1)`. Default `0.1`.
    #[config(default = 0.1)]
    pub factor: f64,
    /// Steps without improvement tolerated. Default `10`.
    #[config(default = 10)]
    pub patience: usize,
    /// Relative improvement that counts, `>= 0`: better means `metric < best (1 - threshold)`.
    /// Default `1e-4`.
    #[config(default = 1e-4)]
    pub threshold: f64,
    /// Steps after a decay during which bad steps are not counted. Default `0`.
    #[config(default = 0)]
    pub cooldown: usize,
    /// The lowest lr. Default `0`.
    #[config(default = 0.0)]
    pub min_lr: f64,
}

/// A running [`ReduceLrOnPlateauConfig`].
#[derive(Debug, Clone)]
pub struct ReduceLrOnPlateau {
    config: ReduceLrOnPlateauConfig,
    lr: f64,
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
}

/// PyTorch's `eps` of ReduceLROnPlateau: a decay smaller than this is not applied.
const PLATEAU_EPS: f64 = 1e-8;

impl ReduceLrOnPlateauConfig {
    /// The scheduler.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite `base_lr` or `min_lr`,
    /// `factor` outside `[0, 1)` (PyTorch refuses `factor >= 1`), or a negative or non-finite
    /// `threshold`.
    pub fn init(&self) -> Result<ReduceLrOnPlateau> {
        check_base_lr(self.base_lr)?;
        check(
            "factor",
            self.factor,
            (0.0..1.0).contains(&self.factor),
            "must be in [0, 1) (PyTorch: \"Factor should be < 1.0\")",
        )?;
        check(
            "threshold",
            self.threshold,
            self.threshold.is_finite() && self.threshold >= 0.0,
            "must be finite and >= 0",
        )?;
        check(
            "min_lr",
            self.min_lr,
            self.min_lr.is_finite() && self.min_lr >= 0.0,
            "must be finite and >= 0",
        )?;
        Ok(ReduceLrOnPlateau {
            config: self.clone(),
            lr: self.base_lr,
            best: f64::INFINITY,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        })
    }
}

impl ReduceLrOnPlateau {
    /// One `scheduler.step(metric)`. A NaN metric counts as no improvement (as in PyTorch).
    pub fn step_with(&mut self, metric: f64) {
        let c = &self.config;
        if metric < self.best * (1.0 - c.threshold) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > c.patience {
            let new_lr = (self.lr * c.factor).max(c.min_lr);
            if self.lr - new_lr > PLATEAU_EPS {
                self.lr = new_lr;
            }
            self.cooldown_counter = c.cooldown;
            self.num_bad_epochs = 0;
        }
    }
}

impl LrScheduler for ReduceLrOnPlateau {
    fn lr(&self) -> f64 {
        self.lr
    }
    /// No metric: nothing to do (use [`step_with`](ReduceLrOnPlateau::step_with)).
    fn step(&mut self) {}
}

/// A schedule for [`TrainerConfig::schedule`](crate::TrainerConfig::schedule), stepped once per
/// epoch; its `base_lr` replaces the optimizer's lr.
#[derive(Config, Debug)]
pub enum Schedule {
    /// [`StepLrConfig`].
    Step(StepLrConfig),
    /// [`MultiStepLrConfig`].
    MultiStep(MultiStepLrConfig),
    /// [`ExponentialLrConfig`].
    Exponential(ExponentialLrConfig),
    /// [`CosineAnnealingLrConfig`].
    CosineAnnealing(CosineAnnealingLrConfig),
    /// [`LinearLrConfig`].
    Linear(LinearLrConfig),
    /// [`ReduceLrOnPlateauConfig`], stepped with the epoch's loss (the held-out loss with
    /// `validation_fraction`).
    ReduceOnPlateau(ReduceLrOnPlateauConfig),
}

/// A running [`Schedule`].
#[derive(Debug, Clone)]
pub(crate) enum Running {
    Step(StepLr),
    MultiStep(MultiStepLr),
    Exponential(ExponentialLr),
    CosineAnnealing(CosineAnnealingLr),
    Linear(LinearLr),
    ReduceOnPlateau(ReduceLrOnPlateau),
}

impl Schedule {
    /// The running scheduler.
    ///
    /// # Errors
    /// As each configuration's `init`.
    pub(crate) fn init(&self) -> Result<Running> {
        Ok(match self {
            Schedule::Step(c) => Running::Step(c.init()?),
            Schedule::MultiStep(c) => Running::MultiStep(c.init()?),
            Schedule::Exponential(c) => Running::Exponential(c.init()?),
            Schedule::CosineAnnealing(c) => Running::CosineAnnealing(c.init()?),
            Schedule::Linear(c) => Running::Linear(c.init()?),
            Schedule::ReduceOnPlateau(c) => Running::ReduceOnPlateau(c.init()?),
        })
    }
}

impl Running {
    pub(crate) fn lr(&self) -> f64 {
        match self {
            Running::Step(s) => s.lr(),
            Running::MultiStep(s) => s.lr(),
            Running::Exponential(s) => s.lr(),
            Running::CosineAnnealing(s) => s.lr(),
            Running::Linear(s) => s.lr(),
            Running::ReduceOnPlateau(s) => s.lr(),
        }
    }

    /// One epoch's step; `metric` is the epoch's mean loss (for ReduceLROnPlateau).
    pub(crate) fn step(&mut self, metric: f64) {
        match self {
            Running::Step(s) => s.step(),
            Running::MultiStep(s) => s.step(),
            Running::Exponential(s) => s.step(),
            Running::CosineAnnealing(s) => s.step(),
            Running::Linear(s) => s.step(),
            Running::ReduceOnPlateau(s) => s.step_with(metric),
        }
    }
}
