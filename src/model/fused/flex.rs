//! [`LinearLossBackend`] on flex: the tensors' host memory read by the one-pass kernel
//! ([`kernel::pass`]) for f32 and f64 data; other float types take the portable path.

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::tensor::{DType, Shape, TensorData};

use std::borrow::Cow;

use super::{LinearLossBackend, unfused_loss_grads};
use crate::model::fused::kernel::{self, Pass};

/// A flex tensor's elements as a row-major host slice of `$ty` (a copy only for a strided
/// view). The caller has checked the float type.
macro_rules! host_slice {
    ($t:expr, $ty:ty) => {
        match $t.as_slice::<$ty>() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(
                $t.to_contiguous()
                    .as_slice::<$ty>()
                    .expect("a contiguous tensor of the checked float type")
                    .to_vec(),
            ),
        }
    };
}

impl LinearLossBackend for Flex {
    fn linear_loss(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self> {
        match run(&x, &y, &w, &b, None, false) {
            Some(pass) => scalar(pass.loss * scale, x.dtype()),
            None => unfused_loss_grads::<Self>(x, y, w, b, scale).0,
        }
    }

    fn linear_loss_grads(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match run(&x, &y, &w, &b, None, true) {
            Some(pass) => gradients(pass, &w, scale),
            None => unfused_loss_grads::<Self>(x, y, w, b, scale),
        }
    }

    fn linear_loss_grads_rows(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        rows: IntTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match run(&x, &y, &w, &b, Some(&rows), true) {
            Some(pass) => gradients(pass, &w, scale),
            None => {
                let x = Self::float_select(x, 0, rows.clone());
                let y = Self::float_select(y, 0, rows);
                unfused_loss_grads::<Self>(x, y, w, b, scale)
            }
        }
    }
}

/// The loss and gradient tensors from a pass's sums.
fn gradients(pass: Pass, w: &FlexTensor, scale: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
    {
        let dtype = w.dtype();
        let [m, k] = w.shape().dims::<2>();
        let two_s = 2.0 * scale;
        // The kernel keeps W's gradient transposed ([k, m]); W is [m, k].
        let mut gw = vec![0.0; m * k];
        for t in 0..k {
            for j in 0..m {
                gw[j * k + t] = two_s * pass.gw[t * m + j];
            }
        }
        let gb: Vec<f64> = pass.gb.iter().map(|g| two_s * g).collect();
        (
            scalar(pass.loss * scale, dtype),
            tensor(gw, [m, k], dtype),
            tensor(gb, [k], dtype),
        )
    }
}

/// The one-pass kernel on f32 or f64 data, over `rows` (i64 or i32 indices) if given;
/// `None` for other types (the caller then takes the portable path).
fn run(
    x: &FlexTensor,
    y: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    rows: Option<&FlexTensor>,
    grads: bool,
) -> Option<Pass> {
    let rows: Option<Cow<'_, [i64]>> = match rows {
        None => None,
        Some(r) => Some(match r.dtype() {
            DType::I64 => host_slice!(r, i64),
            DType::I32 => Cow::Owned(host_slice!(r, i32).iter().map(|&i| i64::from(i)).collect()),
            _ => return None,
        }),
    };
    let rows = rows.as_deref();
    let dtype = x.dtype();
    assert!(
        [y.dtype(), w.dtype(), b.dtype()]
            .iter()
            .all(|d| *d == dtype),
        "linear loss: mixed float types (x {dtype:?}, y {:?}, w {:?}, b {:?})",
        y.dtype(),
        w.dtype(),
        b.dtype()
    );
    let [n, m] = x.shape().dims::<2>();
    let [wm, k] = w.shape().dims::<2>();
    assert!(
        wm == m && y.shape().dims::<2>() == [n, k] && b.shape().num_elements() == k,
        "linear loss: shapes x {:?}, y {:?}, w {:?}, b {:?} do not fit x w + b - y",
        x.shape(),
        y.shape(),
        w.shape(),
        b.shape()
    );
    Some(match dtype {
        DType::F64 => kernel::pass(
            &host_slice!(x, f64),
            &host_slice!(y, f64),
            &host_slice!(w, f64),
            &host_slice!(b, f64),
            [n, m, k],
            rows,
            grads,
        ),
        DType::F32 => kernel::pass(
            &host_slice!(x, f32),
            &host_slice!(y, f32),
            &host_slice!(w, f32),
            &host_slice!(b, f32),
            [n, m, k],
            rows,
            grads,
        ),
        _ => return None,
    })
}

fn scalar(value: f64, dtype: DType) -> FlexTensor {
    tensor(vec![value], [1], dtype)
}

fn tensor<const D: usize>(values: Vec<f64>, shape: [usize; D], dtype: DType) -> FlexTensor {
    let data = TensorData::new(values, Shape::new(shape));
    FlexTensor::from_data(match dtype {
        DType::F64 => data,
        _ => data.convert_dtype(dtype),
    })
}
