//! The one stopping rule of the crate's iterative refinements (Björck's in memory, the
//! corrected semi-normal equations of streamed data, a polynomial's powers of x): a correction
//! is applied only while it shrinks, and the refinement ends once a correction is below the
//! rounding of the solution. Each refinement keeps its own limit on rounds, set by what a round
//! costs: 12 in memory, 6 passes over streamed data, 4 fits for a polynomial.

/// The state of one refinement: the last correction applied.
#[derive(Debug, Clone, Copy)]
pub(super) struct Refinement {
    last: f64,
}

impl Default for Refinement {
    fn default() -> Self {
        Refinement {
            last: f64::INFINITY,
        }
    }
}

impl Refinement {
    /// Whether to apply a correction of norm `change`: not when it is not finite or no smaller
    /// than the last one applied (the refinement no longer converges: keep the solution as it
    /// is, and stop).
    pub(super) fn accepts(&mut self, change: f64) -> bool {
        let shrinks = change.is_finite() && change < self.last;
        if shrinks {
            self.last = change;
        }
        shrinks
    }

    /// Whether an applied correction of norm `change` is below the rounding of a solution of
    /// norm `size` (nothing left to gain: stop).
    pub(super) fn converged(change: f64, size: f64) -> bool {
        change <= f64::EPSILON * size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_are_applied_while_they_shrink() {
        let mut rule = Refinement::default();
        assert!(rule.accepts(1.0));
        assert!(rule.accepts(0.5));
        assert!(!rule.accepts(0.5), "no smaller than the last");
        assert!(rule.accepts(0.25));
        assert!(!rule.accepts(f64::NAN));
        assert!(!Refinement::default().accepts(f64::INFINITY));
        assert!(Refinement::converged(1e-17, 1.0));
        assert!(!Refinement::converged(1e-15, 1.0));
    }
}
