//! The stopping rule of `tol` and `n_iter_no_change`: scikit-learn's, read once per epoch, by
//! the [`Trainer`](crate::Trainer) (the epoch's loss) and by the
//! [`SgdRegressor`](crate::SgdRegressor) (its mean objective, or the negated held-out score).

/// scikit-learn's stopping rule (`sklearn/linear_model/_sgd_fast.pyx`): an epoch improves when
/// its loss is below the best so far minus `tol`; training stops after `patience` epochs in a
/// row without improvement.
pub(crate) struct StoppingRule {
    tol: f64,
    patience: usize,
    best: f64,
    /// Epochs in a row without improvement so far.
    pub(crate) no_improvement: usize,
}

impl StoppingRule {
    pub(crate) fn new(tol: f64, patience: usize) -> Self {
        Self {
            tol,
            patience,
            best: f64::INFINITY,
            no_improvement: 0,
        }
    }

    /// Records an epoch's value of the quantity watched (lower is better: a score to maximise
    /// is passed negated, which compares exactly as the score would); `true` when training
    /// should stop.
    pub(crate) fn update(&mut self, loss: f64) -> bool {
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

    /// Starts counting epochs without improvement again, keeping the best value (scikit-learn's
    /// adaptive schedule after it divides eta).
    pub(crate) fn reset(&mut self) {
        self.no_improvement = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_an_improvement_of_tol() {
        let mut rule = StoppingRule::new(0.1, 2);
        assert!(!rule.update(1.0));
        assert!(!rule.update(0.95), "0.05 better: not an improvement of tol");
        assert!(rule.update(0.95), "the second epoch in a row without one");
        rule.reset();
        assert!(!rule.update(0.8), "0.15 better than the best, 0.95");
        // A score to maximise, negated: 0.5 then 0.55 is no improvement of 0.1.
        let mut score = StoppingRule::new(0.1, 1);
        assert!(!score.update(-0.5));
        assert!(score.update(-0.55));
    }
}
