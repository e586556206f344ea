//! Losses of a batch's outputs and their gradients, as PyTorch defines them:
//!
//! | loss | element loss | d/d output |
//! |---|---|---|
//! | `mse` (`MSELoss`) | `d²`, `d = o − t` | `2d` |
//! | `mae` (`L1Loss`) | `|d|` | `sign(d)` (0 at 0) |
//! | `huber` (`HuberLoss`, δ) | `d²/2` if `|d| < δ`, else `δ(|d| − δ/2)` | `clamp(d, −δ, δ)` |
//! | `bce_with_logits` (`BCEWithLogitsLoss`) | `max(z, 0) − z·t + log1p(e^−|z|)` | `σ(z) − t` |
//! | `softmax_cross_entropy` (`CrossEntropyLoss`, class targets) | `logsumexp(z) − z_t` per row | `softmax(z) − onehot(t)` |
//!
//! `mean` divides by the number of elements (`rows × outputs`) for the first four and by the
//! number of rows for cross-entropy; `sum` does not divide. Everything is computed in f64 from
//! the element-type outputs (the log-sum-exp subtracts the row maximum first), the loss summed in
//! row order, each gradient element rounded once to the element type: the same bits on every
//! backend.

use crate::mathx;
use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    Mse = 0,
    Mae = 1,
    Huber = 2,
    BceWithLogits = 3,
    SoftmaxCrossEntropy = 4,
}

pub const NAMES: [&str; 5] = [
    "mse",
    "mae",
    "huber",
    "bce_with_logits",
    "softmax_cross_entropy",
];

impl Loss {
    pub fn from_code(c: f64) -> Option<Loss> {
        Some(match c {
            0.0 => Loss::Mse,
            1.0 => Loss::Mae,
            2.0 => Loss::Huber,
            3.0 => Loss::BceWithLogits,
            4.0 => Loss::SoftmaxCrossEntropy,
            _ => return None,
        })
    }

    /// Columns of the targets: one class index per row for cross-entropy, else one per output.
    pub fn target_cols(self, outputs: usize) -> usize {
        if self == Loss::SoftmaxCrossEntropy {
            1
        } else {
            outputs
        }
    }

    /// Whether the loss counts correct predictions (classification).
    pub fn classifies(self) -> bool {
        matches!(self, Loss::BceWithLogits | Loss::SoftmaxCrossEntropy)
    }

    /// Number of terms `mean` divides by, for `rows` rows of `outputs` outputs.
    pub fn terms(self, rows: usize, outputs: usize) -> usize {
        if self == Loss::SoftmaxCrossEntropy {
            rows
        } else {
            rows * outputs
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean = 0,
    Sum = 1,
}

#[inline(always)]
fn sign(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// What a loss pass returns.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Sum of the element (row, for cross-entropy) losses.
    pub sum: f64,
    /// Correct predictions (argmax for cross-entropy, sign of each logit for BCE), NaN for
    /// regression losses.
    pub correct: f64,
}

/// The loss of outputs `o` (`rows × n`) against targets `y` (row `row(r)` of `y` for batch row
/// `r`). With `grad`, writes `scale · d(sum of losses)/d o` into `g` (same shape as `o`).
#[allow(clippy::too_many_arguments)]
pub fn run<T: Real>(
    loss: Loss,
    delta: f64,
    o: &[T],
    n: usize,
    y: &[T],
    row: impl Fn(usize) -> usize,
    g: &mut [T],
    grad: bool,
    scale: f64,
) -> Totals {
    let rows = o.len() / n;
    let mut sum = 0.0f64;
    let mut correct = 0usize;
    match loss {
        Loss::SoftmaxCrossEntropy => {
            for r in 0..rows {
                let z = &o[r * n..(r + 1) * n];
                let label = y[row(r)].f64() as usize;
                let mut m = f64::NEG_INFINITY;
                let mut arg = 0usize;
                for (j, v) in z.iter().enumerate() {
                    let v = v.f64();
                    if v > m {
                        m = v;
                        arg = j;
                    }
                }
                let mut s = 0.0f64;
                for v in z {
                    s = s + mathx::exp(v.f64() - m);
                }
                sum = sum + ((m + mathx::ln(s)) - z[label].f64());
                correct += (arg == label) as usize;
                if grad {
                    let gr = &mut g[r * n..(r + 1) * n];
                    for (j, (gv, v)) in gr.iter_mut().zip(z).enumerate() {
                        let p = mathx::exp(v.f64() - m) / s;
                        let d = if j == label { p - 1.0 } else { p };
                        *gv = T::of(d * scale);
                    }
                }
            }
        }
        _ => {
            for r in 0..rows {
                let t = &y[row(r) * n..(row(r) + 1) * n];
                let z = &o[r * n..(r + 1) * n];
                for j in 0..n {
                    let (zv, tv) = (z[j].f64(), t[j].f64());
                    let (l, d) = element(loss, delta, zv, tv);
                    sum = sum + l;
                    if loss == Loss::BceWithLogits {
                        correct += ((zv > 0.0) == (tv >= 0.5)) as usize;
                    }
                    if grad {
                        g[r * n + j] = T::of(d * scale);
                    }
                }
            }
        }
    }
    Totals {
        sum,
        correct: if loss.classifies() {
            correct as f64
        } else {
            f64::NAN
        },
    }
}

/// Loss and gradient of one element of an element-wise loss.
#[inline(always)]
fn element(loss: Loss, delta: f64, z: f64, t: f64) -> (f64, f64) {
    match loss {
        Loss::Mse => {
            let d = z - t;
            (d * d, 2.0 * d)
        }
        Loss::Mae => {
            let d = z - t;
            (d.abs(), sign(d))
        }
        Loss::Huber => {
            let d = z - t;
            let a = d.abs();
            if a < delta {
                (0.5 * d * d, d)
            } else {
                (delta * (a - 0.5 * delta), delta * sign(d))
            }
        }
        Loss::BceWithLogits => {
            let l = (if z > 0.0 { z } else { 0.0 }) - z * t + mathx::log1p(mathx::exp(-z.abs()));
            (l, mathx::sigmoid(z) - t)
        }
        Loss::SoftmaxCrossEntropy => unreachable!("cross-entropy is row-wise"),
    }
}
