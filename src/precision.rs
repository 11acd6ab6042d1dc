//! [`Precision`]: the float type linfit works in (re-exported as `device::Precision` and at
//! the crate root). A module of its own so that the error type can name it without depending
//! on the devices.

use burn::tensor::{DType, FloatDType};

/// The float type of a device, and so of every tensor linfit creates on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats: the fast choice, and the only one on some GPUs.
    F32,
    /// 64-bit floats: PyTorch's `torch.float64`; what exact reproduction needs.
    F64,
}

impl Precision {
    /// Burn's float type for this precision.
    pub fn float_dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F64 => FloatDType::F64,
        }
    }

    /// Burn's data type for this precision.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F64 => DType::F64,
        }
    }

    /// The precision of a Burn data type, `None` for anything but `f32` and `f64`.
    pub fn from_dtype(dtype: DType) -> Option<Precision> {
        match dtype {
            DType::F32 => Some(Precision::F32),
            DType::F64 => Some(Precision::F64),
            _ => None,
        }
    }

    /// Machine epsilon of this precision.
    pub fn epsilon(self) -> f64 {
        match self {
            Precision::F32 => f64::from(f32::EPSILON),
            Precision::F64 => f64::EPSILON,
        }
    }
}
