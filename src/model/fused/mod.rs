//! The linear model's squared-error loss as one Burn operation: from `X`, `Y`, `W` and `b` it
//! computes `s * sum((X W + b - Y)^2)` together with its gradients `2 s X^T r` and `2 s sum_rows r`
//! (`r` the residuals, `s` the loss's scale: 1 for the sum, `1 / (n k)` for the mean), reading
//! `X` once.
//!
//! It is a Burn backend extension ([`LinearLossBackend`]) with a hand-written backward pass on
//! Burn's autodiff: the forward pass keeps the two gradients, the backward pass scales them by
//! the incoming gradient. Backends:
//! - flex: a one-pass host kernel (rows in fixed chunks over rayon's threads, AVX2/FMA where the
//!   CPU has them, f64 accumulation for f32 and f64 data);
//! - ndarray and the cubecl backends (wgpu, cuda): the trait's default bodies, built from Burn's
//!   primitives (two reads of `X`, no autodiff graph).
//!
//! `X` and `Y` are constants of the operation: [`LinearModel::loss`](super::LinearModel::loss)
//! takes the plain autodiff graph when either carries one.
//!
//! Here: the trait, its portable default bodies and the calls on [`Tensor`]s; `flex.rs`, the
//! flex backend's implementation; `kernel/`, its host kernel (the pass and its chunks, the row
//! sources in `rows.rs`, the element types and SIMD dot product in `simd.rs`); `autodiff.rs`,
//! the backward pass.

// Burn deprecates ndarray in favour of flex; linfit keeps supporting it.
#![cfg_attr(feature = "ndarray", allow(deprecated))]

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{Int, Shape, Tensor};

mod autodiff;
#[cfg(feature = "flex")]
mod flex;
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) mod kernel;

/// The fused loss: a Burn backend extension. Implemented for every backend linfit compiles in.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Remote: cfg(feature = "distributed"),
    Autodiff
)]
pub trait LinearLossBackend: Backend {
    /// `scale * sum((x w + b - y)^2)`, shape `[1]`; differentiable in `w` and `b` on autodiff
    /// devices. `x` `[n, m]`, `y` `[n, k]`, `w` `[m, k]`, `b` `[k]`.
    fn linear_loss(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self> {
        let r = residuals::<Self>(x, y, w, b);
        Self::float_mul_scalar(Self::float_sum(Self::float_mul(r.clone(), r)), scale.into())
    }

    /// The loss (`[1]`) and its gradients in `w` (`[m, k]`) and `b` (`[k]`), with no autodiff
    /// graph.
    fn linear_loss_grads(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        unfused_loss_grads::<Self>(x, y, w, b, scale)
    }

    /// [`linear_loss_grads`](Self::linear_loss_grads) on the rows of `x` and `y` listed in
    /// `rows` (`[batch]`, a shuffled mini-batch), read where they lie instead of gathered first.
    fn linear_loss_grads_rows(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        rows: IntTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let x = Self::float_select(x, 0, rows.clone());
        let y = Self::float_select(y, 0, rows);
        Self::linear_loss_grads(x, y, w, b, scale)
    }
}

/// `x w + b - y`, `[n, k]`, from Burn's primitives.
fn residuals<B: Backend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    w: FloatTensor<B>,
    b: FloatTensor<B>,
) -> FloatTensor<B> {
    let xw = B::float_matmul(x, w);
    let shape = xw.shape();
    let k = shape[1];
    let b = B::float_expand(B::float_reshape(b, Shape::new([1, k])), shape);
    B::float_sub(B::float_add(xw, b), y)
}

/// The portable loss and gradients: two reads of `x`.
fn unfused_loss_grads<B: Backend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    w: FloatTensor<B>,
    b: FloatTensor<B>,
    scale: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let k = w.shape()[1];
    let r = residuals::<B>(x.clone(), y, w, b);
    let loss = B::float_mul_scalar(
        B::float_sum(B::float_mul(r.clone(), r.clone())),
        scale.into(),
    );
    let r = B::float_mul_scalar(r, (2.0 * scale).into());
    let gw = B::float_matmul(B::float_transpose(x), r.clone());
    let gb = B::float_reshape(B::float_sum_dim(r, 0), Shape::new([k]));
    (loss, gw, gb)
}

#[cfg(feature = "ndarray")]
impl LinearLossBackend for burn::backend::NdArray {}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl LinearLossBackend for burn::backend::Cube {}

/// A remote device (a `linfit-worker`): the default bodies, plain tensor operations that the
/// worker runs.
#[cfg(feature = "distributed")]
impl LinearLossBackend for burn::backend::Remote {}

/// The fused loss of `x w + b` against `y`, scaled by `scale`: one autodiff node whose parents
/// are `w` and `b` (`x` and `y` are constants).
pub(crate) fn linear_loss(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    scale: f64,
) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as LinearLossBackend>::linear_loss(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        scale,
    ))
}

/// The fused loss and its gradients in `w` and `b`, with no autodiff graph: on the tensors'
/// plain device.
pub(crate) fn linear_loss_grads(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    scale: f64,
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    from_dispatch(<Dispatch as LinearLossBackend>::linear_loss_grads(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        scale,
    ))
}

/// The loss and gradients an extension call returns, as tensors.
fn from_dispatch(
    (loss, gw, gb): (
        FloatTensor<Dispatch>,
        FloatTensor<Dispatch>,
        FloatTensor<Dispatch>,
    ),
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    (
        Tensor::from_dispatch(loss),
        Tensor::from_dispatch(gw),
        Tensor::from_dispatch(gb),
    )
}

/// [`linear_loss_grads`] on the rows of `x` and `y` listed in `rows`.
pub(crate) fn linear_loss_grads_rows(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    rows: Tensor<1, Int>,
    scale: f64,
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    from_dispatch(<Dispatch as LinearLossBackend>::linear_loss_grads_rows(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        rows.into_dispatch(),
        scale,
    ))
}
