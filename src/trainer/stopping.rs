//! The stopping rule of `tol` and `n_iter_no_change`: scikit-learn's, read once per epoch.

/// scikit-learn's stopping rule (`sklearn/linear_model/_sgd_fast.pyx`): an epoch improves when
/// its loss is below the best so far minus `tol`; training stops after `patience` epochs in a
/// row without improvement.
pub(super) struct StoppingRule {
    tol: f64,
    patience: usize,
    best: f64,
    /// Epochs in a row without improvement so far.
    pub(super) no_improvement: usize,
}

impl StoppingRule {
    pub(super) fn new(tol: f64, patience: usize) -> Self {
        Self {
            tol,
            patience,
            best: f64::INFINITY,
            no_improvement: 0,
        }
    }

    /// Records an epoch's loss; `true` when training should stop.
    pub(super) fn update(&mut self, loss: f64) -> bool {
        if loss > self.best - self.tol {
            self.no_improvement += 1;
        } else {
            self.no_improvement = 0;
        }
        if loss < self.best {
            self.best = loss;
        }
        self.no_improvement >= self.patience
    }
}
