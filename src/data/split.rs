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
        let n_test = (test_fraction * n as f64).ceil() as usize;
        if n_test == 0 || n_test >= n {
            return Err(invalid(
                "leaves the training or the test set empty for this many rows",
            ));
        }
        let mut order: Vec<i64> = (0..n as i64).collect();
        order.shuffle(&mut ChaCha12Rng::seed_from_u64(seed));
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
        Ok((take(&order[n_test..])?, take(&order[..n_test])?))
    }
}
