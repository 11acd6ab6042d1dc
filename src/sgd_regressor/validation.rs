//! `early_stopping`'s held-out rows: the seeded validation split and the weighted R² that
//! scores them after each epoch.

use super::epochs::Epochs;
use super::regressor::SgdRegressor;
use super::weight_vector::WeightVector;
use crate::{Error, Result};

impl SgdRegressor {
    /// sklearn's validation mask: `ceil(validation_fraction n)` rows, drawn by a seeded
    /// permutation; refused when a side is empty or the held-out weights are all zero.
    pub(super) fn validation_mask(&self, n: usize, sample_weight: &[f64]) -> Result<Vec<bool>> {
        let fraction = self.config.validation_fraction;
        let refuse = |rule| Error::InvalidHyperparameter {
            name: "validation_fraction",
            value: fraction.to_string(),
            rule,
        };
        let (held, _) =
            crate::data::seeded_split(n, fraction, self.config.seed).ok_or_else(|| {
                refuse("leaves the training or the validation set empty for this many rows")
            })?;
        let mut mask = vec![false; n];
        for i in held {
            mask[i] = true;
        }
        if !mask.iter().zip(sample_weight).any(|(v, w)| *v && *w > 0.0) {
            return Err(refuse(
                "the held-out rows' sample weights are all zero: change the seed",
            ));
        }
        Ok(mask)
    }
}

impl Epochs<'_> {
    /// Weighted R² of the held-out rows (sklearn's `score` with their sample weights).
    pub(super) fn validation_r2(&self, w: &WeightVector, intercept: f64, mask: &[bool]) -> f64 {
        let m = self.n_features;
        let rows = || (0..self.y.len()).filter(|&i| mask[i]);
        let total: f64 = rows().map(|i| self.sample_weight[i]).sum();
        let mean = rows()
            .map(|i| self.sample_weight[i] * self.y[i])
            .sum::<f64>()
            / total;
        let (mut sse, mut sst) = (0.0, 0.0);
        for i in rows() {
            let p = w.dot_v(&self.x[i * m..(i + 1) * m]) * w.wscale + intercept;
            let s = self.sample_weight[i];
            sse += s * (self.y[i] - p) * (self.y[i] - p);
            sst += s * (self.y[i] - mean) * (self.y[i] - mean);
        }
        if sst > 0.0 {
            1.0 - sse / sst
        } else if sse == 0.0 {
            1.0
        } else {
            0.0
        }
    }
}
