//! The element types the core computes in: `f32` (the default) and `f64` (for users who need
//! double precision, and for PyTorch's float64 reference cases at their own tolerances).
//!
//! Every kernel is written once, generic over [`Real`], and instantiated for both. Only IEEE
//! basic operations (`+ − × ÷ √`) appear in element math, so each result is correctly rounded in
//! the element type and identical on every backend (the TypeScript mirror rounds with
//! `Math.fround` after each f32 operation and computes f64 natively).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// The element type of a call: `0` is f32, `1` is f64 (as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
}

impl DType {
    pub fn from_code(code: u32) -> Option<DType> {
        match code {
            0 => Some(DType::F32),
            1 => Some(DType::F64),
            _ => None,
        }
    }
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
}

pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + bytemuck::Pod
    + 'static
{
    const DTYPE: DType;
    const ZERO: Self;
    const ONE: Self;
    /// The largest finite value.
    const MAX: f64;
    /// Machine epsilon (`torch.finfo(dtype).eps`).
    const EPSILON: f64;
    /// Rounds an f64 to the nearest value of this type.
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
}

impl Real for f32 {
    const DTYPE: DType = DType::F32;
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const MAX: f64 = f32::MAX as f64;
    const EPSILON: f64 = f32::EPSILON as f64;
    #[inline(always)]
    fn of(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl Real for f64 {
    const DTYPE: DType = DType::F64;
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const MAX: f64 = f64::MAX;
    const EPSILON: f64 = f64::EPSILON;
    #[inline(always)]
    fn of(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// `max(a, b)` that propagates NaN from either side, as `torch.maximum` does.
#[inline(always)]
pub fn max_nan<T: Real>(a: T, b: T) -> T {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

/// `sign(x)` with `sign(±0) = 0` and NaN propagated (Optax's `jnp.sign`).
#[inline(always)]
pub fn sign<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x * T::ZERO
    }
}
