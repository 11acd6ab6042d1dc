//! [`Explanation`]: why another minimiser differs from the closed form.

use core::fmt;

use super::LeastSquaresFit;
use crate::model::LinearModel;
use crate::{Error, Result};

/// The split of `other - fit` (parameters, intercept first) into the part in the null space of
/// the design, which no data point can see, and the rest, with both models' losses.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Sum of squared errors of the closed-form fit, over every target.
    pub loss_fit: f64,
    /// Sum of squared errors of the other model on the fit's data (`loss_fit + ||D d||^2`, see
    /// [`LeastSquaresFit::explain`]).
    pub loss_other: f64,
    /// `other - fit`, per target, `n_parameters` values each (intercept first).
    pub difference: Vec<Vec<f64>>,
    /// The part of the difference in the null space, per target.
    pub invisible: Vec<Vec<f64>>,
    /// The rest, `difference - invisible`, per target.
    pub visible: Vec<Vec<f64>>,
    /// Rank of the design and number of parameters per target.
    pub rank: usize,
    /// Parameters per target.
    pub n_parameters: usize,
}

impl Explanation {
    /// `||difference||` over all targets.
    pub fn difference_norm(&self) -> f64 {
        norm(&self.difference)
    }

    /// `||invisible||` over all targets.
    pub fn invisible_norm(&self) -> f64 {
        norm(&self.invisible)
    }

    /// `||visible||` over all targets.
    pub fn visible_norm(&self) -> f64 {
        norm(&self.visible)
    }

    /// Share of the squared difference that lies in the null space (1 when the difference is 0).
    pub fn invisible_share(&self) -> f64 {
        let d = self.difference_norm();
        if d == 0.0 {
            1.0
        } else {
            (self.invisible_norm() / d).powi(2)
        }
    }
}

fn norm(v: &[Vec<f64>]) -> f64 {
    v.iter().flatten().map(|x| x * x).sum::<f64>().sqrt()
}

pub(super) fn explain(fit: &LeastSquaresFit, other: &LinearModel) -> Result<Explanation> {
    if fit.alpha > 0.0 {
        return Err(Error::InvalidHyperparameter {
            name: "alpha",
            value: fit.alpha.to_string(),
            rule: "explain splits a difference between least-squares minimisers; a ridge fit \
                   minimises another loss (fit with alpha = 0 to compare)",
        });
    }
    let (m, k) = (fit.weights.len(), fit.scaled.sse.len());
    other.check_shape(
        "model to explain vs the least-squares fit",
        m,
        k,
        Some(fit.intercept),
    )?;
    let params = |model: &LinearModel| -> Result<Vec<Vec<f64>>> {
        let w = model.try_weights()?;
        let b = model.try_bias()?;
        Ok((0..k)
            .map(|t| {
                let mut p = Vec::with_capacity(m + 1);
                if let Some(b) = &b {
                    p.push(b[t]);
                }
                p.extend((0..m).map(|j| w[j * k + t]));
                p
            })
            .collect())
    };
    let (ours, theirs) = (params(&fit.model)?, params(other)?);
    let null = fit.null_space();
    let mut difference = Vec::with_capacity(k);
    let mut invisible = Vec::with_capacity(k);
    let mut visible = Vec::with_capacity(k);
    let mut excess = 0.0;
    for t in 0..k {
        let d: Vec<f64> = theirs[t].iter().zip(&ours[t]).map(|(a, b)| a - b).collect();
        let mut inv = vec![0.0; d.len()];
        for q in &null {
            let c: f64 = q.iter().zip(&d).map(|(a, b)| a * b).sum();
            inv.iter_mut().zip(q).for_each(|(x, qv)| *x += c * qv);
        }
        excess += loss_increase(fit, &d);
        visible.push(d.iter().zip(&inv).map(|(a, b)| a - b).collect());
        invisible.push(inv);
        difference.push(d);
    }
    let loss_fit: f64 = fit.sse().iter().sum();
    Ok(Explanation {
        loss_fit,
        loss_other: loss_fit + excess,
        difference,
        invisible,
        visible,
        rank: fit.rank + usize::from(fit.intercept),
        n_parameters: fit.n_parameters(),
    })
}

/// `||D d||^2` for a parameter difference `d` (intercept first when fitted), `D = [1 X]`:
/// `n (d_b + mean(x) d_w)^2 + d_w^T Z^T Z d_w` with `Z` the centred design (`X` itself, and no
/// first term, without an intercept): the loss `other` adds to the least-squares minimum.
fn loss_increase(fit: &LeastSquaresFit, d: &[f64]) -> f64 {
    let lead = usize::from(fit.intercept);
    let dw = &d[lead..];
    let shift = if fit.intercept {
        let at_mean = d[0] + dw.iter().zip(&fit.x_mean).map(|(a, b)| a * b).sum::<f64>();
        fit.weighting.total * at_mean * at_mean
    } else {
        0.0
    };
    let quadratic: f64 = fit
        .gram
        .iter()
        .zip(dw)
        .map(|(row, da)| da * row.iter().zip(dw).map(|(g, db)| g * db).sum::<f64>())
        .sum();
    // In the solver's units of the weights (see `Weighting::scale`), back to the data's.
    (shift + quadratic.max(0.0)) * fit.weighting.scale
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rel = (self.loss_other - self.loss_fit) / self.loss_fit.abs().max(f64::MIN_POSITIVE);
        writeln!(
            f,
            "closed-form loss (sum of squared errors): {:.15e}",
            self.loss_fit
        )?;
        writeln!(
            f,
            "other model's loss:                       {:.15e} (relative excess {rel:.2e})",
            self.loss_other
        )?;
        writeln!(
            f,
            "parameter difference ||other - closed form|| = {:.6e}: {:.6e} in the null space, {:.6e} outside it",
            self.difference_norm(),
            self.invisible_norm(),
            self.visible_norm()
        )?;
        if self.rank < self.n_parameters {
            writeln!(
                f,
                "The data identify only {} of the {} parameters: {} direction(s) change no prediction on this data.",
                self.rank,
                self.n_parameters,
                self.n_parameters - self.rank
            )?;
        } else {
            writeln!(
                f,
                "The data identify every parameter: the minimiser is unique."
            )?;
        }
        if self.invisible_share() > 1.0 - 1e-6 && rel.abs() < 1e-6 {
            write!(
                f,
                "Both models fit the data equally well. They differ only along directions the data cannot see, \
                 so neither is 'more right': gradient descent keeps whatever its starting point had there, \
                 while the closed form reports the smallest-norm solution."
            )
        } else if rel > 1e-6 {
            write!(
                f,
                "The other model has not reached the minimum yet: the visible part of the difference is what \
                 further training (or a better learning rate) would remove."
            )
        } else {
            write!(f, "The models agree up to rounding.")
        }
    }
}
