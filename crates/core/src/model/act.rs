//! Activations of dense layers, forward and backward, over row-major `batch × width` blocks.
//!
//! Identity, ReLU and leaky ReLU are computed in the element type; tanh, the sigmoid and the
//! exact GELU are computed in f64 with the portable functions of [`crate::mathx`] and rounded
//! once, so a float32 model gets correctly rounded values of an accurate f64 result and every
//! backend (the TypeScript mirror is `ts/kernels/model.ts`) gets the same bits.
//!
//! The backward pass needs only the layer's output `h` for every activation but GELU, whose
//! derivative `Φ(z) + z·φ(z)` needs the pre-activation `z`; PyTorch's formulas otherwise:
//! ReLU `g·[h > 0]`, leaky ReLU `h > 0 ? g : g·0.01`, tanh `g·(1 − h²)`, sigmoid `g·(1 − h)·h`.

use crate::mathx;
use crate::real::Real;

/// Slope of leaky ReLU for negative inputs (PyTorch's default `negative_slope`).
pub const LEAKY_SLOPE: f64 = 0.01;

/// Wire codes of the activations (`layers[i].activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Identity = 0,
    Relu = 1,
    LeakyRelu = 2,
    Tanh = 3,
    Sigmoid = 4,
    Gelu = 5,
}

/// Names in wire-code order (the TypeScript side's `Activation` strings).
pub const NAMES: [&str; 6] = ["identity", "relu", "leaky_relu", "tanh", "sigmoid", "gelu"];

impl Act {
    pub fn from_code(c: f64) -> Option<Act> {
        Some(match c {
            0.0 => Act::Identity,
            1.0 => Act::Relu,
            2.0 => Act::LeakyRelu,
            3.0 => Act::Tanh,
            4.0 => Act::Sigmoid,
            5.0 => Act::Gelu,
            _ => return None,
        })
    }

    /// Whether the backward pass needs the pre-activation (kept in the workspace).
    pub fn needs_z(self) -> bool {
        self == Act::Gelu
    }
}

const INV_SQRT2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π).
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Φ(z), the standard normal CDF, as `erfc(−z/√2)/2`: no cancellation for negative z (PyTorch
/// writes `(1 + erf(z/√2))/2`, the same function).
#[inline]
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * mathx::erfc(-z * INV_SQRT2)
}

/// GELU(z) = z·Φ(z).
#[inline]
pub fn gelu(z: f64) -> f64 {
    z * normal_cdf(z)
}

/// GELU′(z) = Φ(z) + z·φ(z).
#[inline]
pub fn gelu_grad(z: f64) -> f64 {
    normal_cdf(z) + z * (mathx::exp(-0.5 * z * z) * INV_SQRT_2PI)
}

/// One element of the forward pass (`z` includes the bias).
#[inline(always)]
pub fn forward<T: Real>(act: Act, z: T) -> T {
    match act {
        Act::Identity => z,
        // `z <= 0` is false for NaN, which passes through as in PyTorch.
        Act::Relu => {
            if z <= T::ZERO {
                T::ZERO
            } else {
                z
            }
        }
        Act::LeakyRelu => {
            if z > T::ZERO {
                z
            } else {
                z * T::of(LEAKY_SLOPE)
            }
        }
        Act::Tanh => T::of(mathx::tanh(z.f64())),
        Act::Sigmoid => T::of(mathx::sigmoid(z.f64())),
        Act::Gelu => T::of(gelu(z.f64())),
    }
}

/// `h ← act(h + bias)` row by row over `h` (`rows × width`); for GELU the pre-activation is kept
/// in `z` (same shape; empty otherwise). One pass: the GEMM's epilogue.
pub fn bias_forward<T: Real>(act: Act, h: &mut [T], z: &mut [T], bias: &[T], width: usize) {
    match act {
        Act::Identity => rows(h, bias, width, |v| v),
        Act::Relu => rows(h, bias, width, |v| forward(Act::Relu, v)),
        Act::LeakyRelu => rows(h, bias, width, |v| forward(Act::LeakyRelu, v)),
        Act::Tanh => rows(h, bias, width, |v| forward(Act::Tanh, v)),
        Act::Sigmoid => rows(h, bias, width, |v| forward(Act::Sigmoid, v)),
        Act::Gelu => {
            for (hr, zr) in h.chunks_exact_mut(width).zip(z.chunks_exact_mut(width)) {
                for ((hv, zv), &b) in hr.iter_mut().zip(zr.iter_mut()).zip(bias) {
                    let v = *hv + b;
                    *zv = v;
                    *hv = T::of(gelu(v.f64()));
                }
            }
        }
    }
}

#[inline(always)]
fn rows<T: Real>(h: &mut [T], bias: &[T], width: usize, f: impl Fn(T) -> T) {
    for hr in h.chunks_exact_mut(width) {
        for (hv, &b) in hr.iter_mut().zip(bias) {
            *hv = f(*hv + b);
        }
    }
}

/// One element of the backward pass: `g·act′` from the output `h` (and `z` for GELU).
#[inline(always)]
pub fn backward<T: Real>(act: Act, g: T, h: T, z: T) -> T {
    match act {
        Act::Identity => g,
        Act::Relu => {
            if h > T::ZERO {
                g
            } else {
                T::ZERO
            }
        }
        Act::LeakyRelu => {
            if h > T::ZERO {
                g
            } else {
                g * T::of(LEAKY_SLOPE)
            }
        }
        Act::Tanh => g * (T::ONE - h * h),
        Act::Sigmoid => g * ((T::ONE - h) * h),
        Act::Gelu => T::of(g.f64() * gelu_grad(z.f64())),
    }
}
