//! Training on a dataset in memory: the batches of [`Trainer::fit`](super::Trainer::fit) and
//! [`Trainer::fit_with`](super::Trainer::fit_with), views of the data on its device.

use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

use super::TrainerConfig;
use super::divergence::Divergence;
use super::source::{Batch, BatchTensors, Gradients, TrainSource};
use crate::data::{Dataset, Names};
use crate::loss::Loss;
use crate::model::LinearModel;
use crate::{Error, Result};

/// The batches of each epoch: the whole data (full batch: no copy, no shuffle), or rows in
/// order, or a seeded shuffle drawn anew each epoch, its index list on the data's device.
pub(super) struct Batches<'a> {
    data: &'a Dataset,
    /// Rows per batch (`n` for full batch).
    batch: usize,
    /// The shuffling state, when shuffling.
    shuffle: Option<(ChaCha12Rng, Vec<i64>)>,
    /// This epoch's order, when shuffling.
    permutation: Option<Tensor<1, Int>>,
    /// The next batch's first row.
    cursor: usize,
}

impl<'a> Batches<'a> {
    pub(super) fn new(data: &'a Dataset, cfg: &TrainerConfig) -> Self {
        let n = data.n_samples();
        let batch = cfg.batch_size.unwrap_or(n).min(n);
        let shuffle = (cfg.shuffle && batch < n).then(|| {
            (
                ChaCha12Rng::seed_from_u64(cfg.seed),
                (0..n as i64).collect(),
            )
        });
        Self {
            data,
            batch,
            shuffle,
            permutation: None,
            cursor: n,
        }
    }
}

impl TrainSource for Batches<'_> {
    fn n_samples(&self) -> usize {
        self.data.n_samples()
    }

    fn names(&self) -> (Names, Names) {
        let (f, t) = self.data.names();
        (f.clone(), t.clone())
    }

    fn is_full_batch(&self) -> bool {
        self.batch == self.data.n_samples()
    }

    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence> {
        Divergence::start(kind, model, self.data, self.is_full_batch())
    }

    fn start_epoch(&mut self) -> Result<()> {
        let n = self.data.n_samples();
        self.permutation = self.shuffle.as_mut().map(|(rng, order)| {
            order.shuffle(rng);
            Tensor::<1, Int>::from_data(TensorData::new(order.clone(), [n]), &self.data.device())
        });
        self.cursor = 0;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let (data, batch, n) = (self.data, self.batch, self.data.n_samples());
        let start = self.cursor;
        if start >= n {
            return Ok(None);
        }
        let end = (start + batch).min(n);
        self.cursor = end;
        let tensors = match &self.permutation {
            _ if batch == n => BatchTensors {
                features: data.features(),
                targets: data.targets(),
                rows: None,
                weights: data.device_weights(),
            },
            Some(perm) => BatchTensors {
                features: data.features(),
                targets: data.targets(),
                rows: Some(perm.clone().slice(start..end)),
                weights: data.device_weights(),
            },
            None => {
                let (features, targets) = data.rows(start, end);
                BatchTensors {
                    features,
                    targets,
                    rows: None,
                    weights: data.device_weights().map(|w| w.slice(start, end)),
                }
            }
        };
        Ok(Some(Batch {
            tensors: Some(tensors),
            len: end - start,
        }))
    }

    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients> {
        let t = batch
            .tensors
            .as_ref()
            .ok_or_else(|| missing_tensors("gradients"))?;
        Ok(t.gradients(model, kind))
    }

    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64> {
        batch
            .tensors
            .as_ref()
            .ok_or_else(|| missing_tensors("a batch loss"))?
            .loss(model, kind)
    }
}

/// In-memory batches always carry their tensors.
fn missing_tensors(context: &'static str) -> Error {
    Error::Internal {
        context,
        source: "an in-memory batch without its tensors".into(),
    }
}
