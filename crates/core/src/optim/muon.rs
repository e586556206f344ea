//! Muon: momentum orthogonalized by a Newton–Schulz iteration, for matrices, with PyTorch's
//! semantics (`torch.optim.Muon`, PyTorch 2.9+), including its bfloat16 arithmetic.
//!
//! Update rule (per matrix of shape rows × cols):
//!
//! ```text
//! B ← lerp(B, g, 1 − momentum)                      (B + (1 − μ)·(g − B): an average of g)
//! u ← nesterov ? lerp(g, B, momentum) : B
//! X ← bf16(u), transposed when rows > cols           (X is r × c with r ≤ c)
//! X ← bf16(X / max(bf16(‖X‖_F), eps))
//! nsSteps times:
//!     A ← bf16(X·Xᵀ)
//!     B' ← bf16(b·A + c·A·A)
//!     X ← bf16(a·X + B'·X)
//! O ← X, transposed back
//! p ← p · (1 − lr · weightDecay)
//! p ← p − lr · ratio · O
//! ratio: "original" √max(1, rows/cols), "match_rms_adamw" 0.2·√max(rows, cols),
//!        "spectral_unclamped" √(rows/cols)
//! ```
//!
//! Options (defaults): `lr` 1e-3, `weightDecay` 0.1, `momentum` 0.95, `nesterov` true, `nsA`,
//! `nsB`, `nsC` (3.4445, −4.775, 2.0315), `eps` 1e-7, `nsSteps` 5 (< 100), `adjustLrFn`
//! "original". State: `momentum_buffer`. Only 2-D tensors: any other is rejected (a range error
//! naming the tensor) before anything is written.
//!
//! The Newton–Schulz iteration runs in bfloat16 whatever the parameter type, as PyTorch's does,
//! and is emulated exactly: a bfloat16 value is an f32 with its low 16 bits rounded away (to
//! nearest, ties to even); a float64 input goes through f32 first (PyTorch converts
//! double → float → bfloat16). Matrix products multiply bfloat16 values (exact in f32) and
//! accumulate in f32 in the order of the AVX512-BF16 dot-product instruction PyTorch's oneDNN
//! GEMM uses; `torch.addmm(C, M, N, beta, alpha)` then rounds `fma(beta, C, alpha·(M·N))` to
//! bfloat16 once, so `b·A + c·(A·A)` and `a·X + B'·X` each round once (measured against
//! PyTorch 2.15 on an AVX512-BF16 CPU: one element in 1.5·10⁶ of random iterations, with
//! reduction lengths up to 1200, came out differently). The Frobenius norm is an f64 sum of the (exact) squares
//! rounded to f32, whose f32 square root is then rounded to bfloat16. The loops are plain and the
//! matrices small (Muon is for hidden layers of modest width), so no GEMM kernel: the same loop
//! order in `ts/kernels/muon.ts` gives the same bits.
//!
//! Reference: Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024);
//! Liu et al., "Muon is Scalable for LLM Training" (2025) for "match_rms_adamw"; Bernstein,
//! "Deriving Muon" (2025) for "spectral_unclamped". Differences from PyTorch: none intended. On
//! CPUs without AVX512-BF16 (or on GPUs) PyTorch's GEMM accumulates in another order, which
//! changes a result only where a sum lands next to a bfloat16 rounding boundary; we keep one
//! order everywhere. The instruction's flushing of subnormal inputs is not reproduced (it needs
//! entries below 1e-19 in a matrix of Frobenius norm 1).

use crate::error::{Error, Result};
use crate::optim::adafactor::lerp;
use crate::par;
use crate::product;
use crate::real::Real;
use crate::spec::{Default as Def, Domain, Driver, HParam, Kind, Shape, Slot, Spec};
use crate::step::{Tensor, Tensorwise, MAX_SLOTS};

const LR: usize = 0;
const WD: usize = 1;
const MOMENTUM: usize = 2;
const NESTEROV: usize = 3;
const NS_A: usize = 4;
const NS_B: usize = 5;
const NS_C: usize = 6;
const EPS: usize = 7;
const NS_STEPS: usize = 8;
const ADJUST_LR: usize = 9;

/// The coefficients of Keller Jordan's quintic iteration (PyTorch's and Optax's defaults).
pub(crate) const NS_DEFAULT: [f64; 3] = [3.4445, -4.775, 2.0315];

pub(crate) const fn ns_coefficient(
    name: &'static str,
    torch: Option<&'static str>,
    optax: Option<&'static str>,
    i: usize,
) -> HParam {
    HParam::real(
        name,
        torch,
        optax,
        Domain::ANY,
        NS_DEFAULT[i],
        match i {
            0 => "Newton–Schulz coefficient a (of X).",
            1 => "Newton–Schulz coefficient b (of A = X·Xᵀ).",
            _ => "Newton–Schulz coefficient c (of A·A).",
        },
    )
}

pub const SPEC: Spec = Spec {
    id: 18,
    name: "Muon",
    summary: "Muon: momentum orthogonalized by a Newton–Schulz iteration in bfloat16, for matrices (torch.optim.Muon).",
    reference: "Jordan et al. 2024; Liu et al. 2025; torch.optim.Muon (PyTorch 2.9+)",
    torch: Some("torch.optim.Muon"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::weight_decay(0.1, "Decoupled weight decay: p ← p·(1 − lr·weightDecay) before the update."),
        HParam::real("momentum", Some("momentum"), None, Domain::NON_NEG, 0.95, "Momentum: weight of the old buffer in its running average of gradients."),
        HParam::flag("nesterov", Some("nesterov"), None, true, "Orthogonalize lerp(g, buffer, momentum) instead of the buffer."),
        ns_coefficient("nsA", Some("ns_coefficients.0"), None, 0),
        ns_coefficient("nsB", Some("ns_coefficients.1"), None, 1),
        ns_coefficient("nsC", Some("ns_coefficients.2"), None, 2),
        HParam::real("eps", Some("eps"), None, Domain::NON_NEG, 1e-7, "Floor of the Frobenius norm the iteration's input is divided by."),
        HParam {
            name: "nsSteps",
            torch: Some("ns_steps"),
            optax: None,
            optax_mask: None,
            kind: Kind::Int(Domain::new(0.0, false, 100.0, true)),
            default: Def::Value(5.0),
            doc: "Newton–Schulz iterations (below 100, as PyTorch requires).",
        },
        HParam {
            name: "adjustLrFn",
            torch: Some("adjust_lr_fn"),
            optax: None,
            optax_mask: None,
            kind: Kind::Choice(&["original", "match_rms_adamw", "spectral_unclamped"]),
            default: Def::Value(0.0),
            doc: "Shape scaling of lr: \"original\" √max(1, rows/cols), \"match_rms_adamw\" 0.2·√max(rows, cols), \"spectral_unclamped\" √(rows/cols). PyTorch's None is \"original\".",
        },
    ],
    state: &[Slot::n("momentum_buffer", None)],
    rules: &[],
    driver: Driver::Tensorwise,
};

pub struct Muon;

/// Rounds an f32 to the nearest bfloat16 (ties to even), returned as the f32 it equals.
#[inline]
pub(crate) fn bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let b = x.to_bits();
    f32::from_bits(b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000)
}

/// The wide orientation of a rows × cols matrix: (r, c) with r ≤ c, and whether it is transposed.
#[inline]
pub(crate) fn wide(rows: usize, cols: usize) -> (usize, usize, bool) {
    if rows > cols {
        (cols, rows, true)
    } else {
        (rows, cols, false)
    }
}

/// `a·b + c` rounded once to f32 (a fused multiply-add), from f64 operations: the product of two
/// f32 is exact in f64, and the f64 sum is rounded again to f32 correctly except when it lands
/// exactly halfway between two f32 values, where the sign of its rounding error decides.
#[inline]
pub(crate) fn fma32(a: f32, b: f32, c: f32) -> f32 {
    let p = a as f64 * b as f64;
    let c = c as f64;
    let s = p + c;
    let f = s as f32;
    if f as f64 == s || !f.is_finite() {
        return f;
    }
    let bb = s - p;
    let err = (p - (s - bb)) + (c - bb);
    if err == 0.0 {
        return f;
    }
    let g = next_f32(f, s > f as f64);
    if s - f as f64 == g as f64 - s {
        let (lo, hi) = if f < g { (f, g) } else { (g, f) };
        return if err > 0.0 { hi } else { lo };
    }
    f
}

/// The f32 next to `f`, upward or downward.
fn next_f32(f: f32, up: bool) -> f32 {
    if f == 0.0 {
        let tiny = f32::from_bits(1);
        return if up { tiny } else { -tiny };
    }
    let b = f.to_bits();
    f32::from_bits(if (f > 0.0) == up { b + 1 } else { b - 1 })
}

/// Newton–Schulz in bfloat16 on the r × c matrix in `x` (already scaled); `y`, `a`, `b` are
/// scratch of r·c, r·r, r·r. Returns which of `x` (false) or `y` (true) holds the result.
///
/// Each product is PyTorch's `addmm(C, M, N, beta, alpha)` on bfloat16 as measured on its oneDNN
/// path: `bf16(fma(beta, C, f32(alpha · dot)))`, the dot accumulated in `vdpbf16ps` order
/// ([`product::ordered_bf16`]).
#[allow(clippy::too_many_arguments)]
fn newton_schulz_bf16<T: Real>(
    coef: [f32; 3],
    steps: usize,
    r: usize,
    c: usize,
    x: &mut [T],
    y: &mut [T],
    a: &mut [T],
    b: &mut [T],
    parallel: bool,
) -> bool {
    let [ca, cb, cc] = coef;
    let store = |v: f32| T::of(bf16(v) as f64);
    let mut flipped = false;
    for _ in 0..steps {
        let (src, dst): (&[T], &mut [T]) = if flipped {
            (&*y, &mut *x)
        } else {
            (&*x, &mut *y)
        };
        // X·Xᵀ reads Xᵀ by rows: `dst` is free until the last product.
        product::transpose(src, dst, r, c);
        product::ordered_bf16(src, dst, a, (r, c, r), parallel, &|_, _, d| store(d));
        let a: &[T] = a;
        product::ordered_bf16(a, a, b, (r, r, r), parallel, &|i, j, d| {
            store(fma32(cb, a[i * r + j].f64() as f32, cc * d))
        });
        product::ordered_bf16(b, src, dst, (r, r, c), parallel, &|i, j, d| {
            store(fma32(ca, src[i * c + j].f64() as f32, d))
        });
        flipped = !flipped;
    }
    flipped
}

impl Tensorwise for Muon {
    const SPEC: &'static Spec = &SPEC;

    fn scratch_len(shape: &Shape) -> usize {
        if shape.ndim != 2 {
            return 0;
        }
        let (r, c, _) = wide(shape.rows, shape.cols);
        2 * r * c + 2 * r * r
    }

    fn check(t: &Tensor<'_>) -> Result<()> {
        if t.shape.ndim == 2 {
            return Ok(());
        }
        Err(Error::range(
            format!("tensors[{}]", t.index),
            format!(
                "Muon takes 2-D tensors (matrices) only; this one has {} dimensions",
                t.shape.ndim
            ),
        ))
    }

    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        scratch: &mut [T],
        parallel: bool,
    ) {
        let (rows, cols) = (t.shape.rows, t.shape.cols);
        let (r, c, tr) = wide(rows, cols);
        if r == 0 {
            return;
        }
        let buf = &mut *slots[0];
        let (x, rest) = scratch.split_at_mut(r * c);
        let (y, rest) = rest.split_at_mut(r * c);
        let (a, rest) = rest.split_at_mut(r * r);
        let b = &mut rest[..r * r];
        let momentum = t.hp(MOMENTUM);
        let w_buf = T::of(1.0 - momentum);
        let w_nest = T::of(momentum);
        let nesterov = t.flag(NESTEROV);
        for i in 0..rows {
            for j in 0..cols {
                let e = i * cols + j;
                let v = lerp(buf[e], g[e], w_buf);
                buf[e] = v;
                let u = if nesterov { lerp(g[e], v, w_nest) } else { v };
                let (wi, wj) = if tr { (j, i) } else { (i, j) };
                x[wi * c + wj] = T::of(bf16(u.f64() as f32) as f64);
            }
        }
        let sq = par::sum(r * c, parallel, &|rg| [par::lane_sum(&x[rg], |v| v * v)])[0];
        let norm = bf16((sq as f32).sqrt());
        let floor = bf16(t.hp(EPS) as f32);
        let norm = if norm < floor { floor } else { norm };
        for v in x.iter_mut() {
            *v = T::of(bf16(v.f64() as f32 / norm) as f64);
        }
        let coef = [t.hp(NS_A) as f32, t.hp(NS_B) as f32, t.hp(NS_C) as f32];
        let in_y = newton_schulz_bf16(coef, t.hp(NS_STEPS) as usize, r, c, x, y, a, b, parallel);
        let o: &[T] = if in_y { y } else { x };
        let lr = t.hp(LR);
        let (fr, fc) = (rows as f64, cols as f64);
        let ratio = match t.hp(ADJUST_LR) as u32 {
            0 => (if fr / fc > 1.0 { fr / fc } else { 1.0 }).sqrt(),
            1 => 0.2 * (if fr > fc { fr } else { fc }).sqrt(),
            _ => (fr / fc).sqrt(),
        };
        let decay = T::of(1.0 - lr * t.hp(WD));
        let step = T::of(-(lr * ratio));
        for i in 0..rows {
            for j in 0..cols {
                let e = i * cols + j;
                let (wi, wj) = if tr { (j, i) } else { (i, j) };
                p[e] = p[e] * decay + step * o[wi * c + wj];
            }
        }
    }
}
