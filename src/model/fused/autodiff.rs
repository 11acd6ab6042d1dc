//! [`LinearLossBackend`] on Burn's autodiff. The loss is one graph node whose parents are `w`
//! and `b`: when it is tracked, the forward pass computes the gradients with the loss and keeps
//! them, and the backward pass scales them by the incoming gradient. The calls that return the
//! gradients run on the inner backend, with no graph.

use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{AutodiffBackend, Backend, TensorMetadata};
use burn::tensor::Shape;

use super::LinearLossBackend;

impl<B: LinearLossBackend, C: CheckpointStrategy> LinearLossBackend for Autodiff<B, C> {
    fn linear_loss(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self> {
        /// The backward pass: the gradients the forward pass computed, times the
        /// incoming gradient.
        #[derive(Debug)]
        struct LinearLossBackward;

        impl<B: Backend> Backward<B, 2> for LinearLossBackward {
            /// The gradients of the loss in `w` and `b`.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [node_w, node_b] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (gw, gb) = ops.state;
                if let Some(node) = node_w {
                    let g = B::float_reshape(grad.clone(), Shape::new([1, 1]));
                    let g = B::float_expand(g, gw.shape());
                    grads.register::<B>(node.id, B::float_mul(gw, g));
                }
                if let Some(node) = node_b {
                    let g = B::float_expand(grad, gb.shape());
                    grads.register::<B>(node.id, B::float_mul(gb, g));
                }
            }
        }

        match LinearLossBackward
            .prepare::<C>([w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (loss, gw, gb) = B::linear_loss_grads(
                    x.into_primitive(),
                    y.into_primitive(),
                    w.into_primitive(),
                    b.into_primitive(),
                    scale,
                );
                prep.finish((gw, gb), loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::linear_loss(
                x.into_primitive(),
                y.into_primitive(),
                w.into_primitive(),
                b.into_primitive(),
                scale,
            )),
        }
    }

    fn linear_loss_grads(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (loss, gw, gb) = B::linear_loss_grads(
            x.into_primitive(),
            y.into_primitive(),
            w.into_primitive(),
            b.into_primitive(),
            scale,
        );
        (
            Self::from_inner(loss),
            Self::from_inner(gw),
            Self::from_inner(gb),
        )
    }

    fn linear_loss_grads_rows(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        rows: IntTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (loss, gw, gb) = B::linear_loss_grads_rows(
            x.into_primitive(),
            y.into_primitive(),
            w.into_primitive(),
            b.into_primitive(),
            rows,
            scale,
        );
        (
            Self::from_inner(loss),
            Self::from_inner(gw),
            Self::from_inner(gb),
        )
    }
}
