//! What the training loop reads its batches from: the [`TrainSource`] trait that a dataset in
//! memory, a file and a sharded dataset implement, and the [`Batch`] it hands out.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use super::divergence::Divergence;
use crate::Result;
use crate::data::{DeviceWeights, Names};
use crate::device::read_scalar;
use crate::loss::Loss;
use crate::model::LinearModel;

/// The loss of a batch and its gradients in the weight and the bias.
pub(super) type Gradients = (Tensor<1>, Tensor<2>, Option<Tensor<1>>);

/// What the training loop reads its batches from: a dataset in memory, or a file.
pub(super) trait TrainSource {
    /// Rows in all; a file's are counted by [`divergence`](Self::divergence), its first pass.
    fn n_samples(&self) -> usize;
    /// The names of the feature and target columns.
    fn names(&self) -> (Names, Names);
    /// Whether each batch is the whole data.
    fn is_full_batch(&self) -> bool;
    /// The divergence rule for training `model` (called once, before the first epoch).
    fn divergence(&mut self, kind: Loss, model: &LinearModel) -> Result<Divergence>;
    /// Starts an epoch.
    fn start_epoch(&mut self) -> Result<()>;
    /// The epoch's next batch; `None` after its last.
    fn next_batch(&mut self) -> Result<Option<Batch>>;
    /// The loss of `batch` under `model` and its gradients.
    fn gradients(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<Gradients>;
    /// The loss of `batch` under `model`, read back.
    fn batch_loss(&mut self, model: &LinearModel, batch: &Batch, kind: Loss) -> Result<f64>;
}

/// One batch: the whole data, a slice of rows (a view), or the rows of the data listed in
/// `rows` (a shuffled batch: the kernel reads them in place, nothing is gathered); or, with no
/// tensors, a whole file (read pass by pass).
pub(super) struct Batch {
    pub(super) tensors: Option<BatchTensors>,
    /// Rows in the batch.
    pub(super) len: usize,
}

/// A batch's features and targets, and the rows of them it takes (all when `None`).
pub(super) struct BatchTensors {
    pub(super) features: Tensor<2>,
    pub(super) targets: Tensor<2>,
    pub(super) rows: Option<Tensor<1, Int>>,
    /// Sample weights of the same rows as `features` (before `rows` picks some).
    pub(super) weights: Option<DeviceWeights>,
}

impl BatchTensors {
    /// The batch's loss and gradients: the fused pass, or the weighted loss's two passes.
    pub(super) fn gradients(&self, model: &LinearModel, kind: Loss) -> Gradients {
        let (x, y, rows) = (
            self.features.clone(),
            self.targets.clone(),
            self.rows.clone(),
        );
        match &self.weights {
            None => model.loss_and_gradients(x, y, rows, kind),
            Some(w) => {
                let k = y.dims()[1];
                let scale = |b| w.loss_scale(kind, b, k);
                model.weighted_loss_and_gradients(x, y, w.tensor.clone(), rows, scale)
            }
        }
    }

    /// The batch's loss, read back.
    pub(super) fn loss(&self, model: &LinearModel, kind: Loss) -> Result<f64> {
        let (mut x, mut y, mut w) = (
            self.features.clone(),
            self.targets.clone(),
            self.weights.clone(),
        );
        if let Some(rows) = &self.rows {
            x = x.select(0, rows.clone());
            y = y.select(0, rows.clone());
            w = w.map(|w| w.select(rows.clone()));
        }
        let model = model.valid();
        read_scalar(match w {
            None => model.loss(x, y, kind),
            // As the training step's loss: a batch's mean over `k b mean(w)`.
            Some(w) => w.loss(kind, model.forward(x), y),
        })
    }
}
