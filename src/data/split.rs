//! Seeded train/test split.

use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use super::Dataset;
use crate::{Error, Result};

impl Dataset {
    /// Splits the rows at random (seeded) into a training and a test set, like scikit-learn's
    /// `train_test_split`: `ceil(test_fraction * n)` test rows, the rest for training. The rows
    /// are gathered on the device; sample weights follow their rows.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] when `test_fraction` is not in (0, 1) or leaves either
    /// side empty; [`Error::EmptyData`] when the sample weights of either side are all zero (a
    /// side that would count for nothing: try another seed).
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64]).collect();
    /// let data = Dataset::from_rows(&rows, &[0.0; 10], &cpu)?;
    /// let (train, test) = data.train_test_split(0.25, 42)?;
    /// assert_eq!((train.n_samples(), test.n_samples()), (7, 3));
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn train_test_split(&self, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let n = self.n_samples();
        let invalid = |rule| Error::InvalidHyperparameter {
            name: "test_fraction",
            value: test_fraction.to_string(),
            rule,
        };
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(invalid("must be in (0, 1)"));
        }
        let (test, train) = seeded_split(n, test_fraction, seed).ok_or_else(|| {
            invalid("leaves the training or the test set empty for this many rows")
        })?;
        let rows = |r: Vec<usize>| -> Vec<i64> { r.into_iter().map(|i| i as i64).collect() };
        let device = self.device();
        let take = |rows: &[i64]| {
            let idx =
                Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [rows.len()]), &device);
            let (features, targets) = self.select_rows(idx);
            let part = Dataset::with_default_names(features, targets).with_names_of(self);
            match self.weights_at(rows) {
                // Weights valid on the whole set can all be zero on a part: refuse it then.
                Some(w) => part.with_weights(&w),
                None => Ok(part),
            }
        };
        Ok((take(&rows(train))?, take(&rows(test))?))
    }
}

/// The seeded split of every held-out set (the test set of
/// [`train_test_split`](Dataset::train_test_split), the `SgdRegressor`'s early-stopping set,
/// scikit-learn's rule): `ceil(fraction n)` rows held out, the first of a ChaCha12 permutation
/// of the `n` rows seeded by `seed`; the held-out rows and the others, in permutation order.
/// `None` when either side would be empty.
pub(crate) fn seeded_split(n: usize, fraction: f64, seed: u64) -> Option<(Vec<usize>, Vec<usize>)> {
    let held = (fraction * n as f64).ceil() as usize;
    if held == 0 || held >= n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha12Rng::seed_from_u64(seed));
    let rest = order.split_off(held);
    Some((order, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_split_holds_out_the_ceiling_and_keeps_the_rest() {
        let (held, rest) = seeded_split(10, 0.25, 42).unwrap();
        assert_eq!((held.len(), rest.len()), (3, 7));
        let mut all: Vec<usize> = held.iter().chain(&rest).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(seeded_split(10, 0.25, 42).unwrap().0, held, "seeded");
        assert!(
            seeded_split(10, 0.01, 0).is_some(),
            "ceil: one row held out"
        );
        assert!(
            seeded_split(1, 0.5, 0).is_none(),
            "nothing left to train on"
        );
    }
}
