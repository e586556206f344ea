//! Adam, with AMSGrad and L2 (coupled) weight decay; also the element loop AdamW reuses.
//!
//! Update rule (PyTorch `torch.optim.Adam`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? -grad : grad
//! if decoupled (AdamW):       p ← p · (1 − lr · weight_decay)
//! else if weight_decay ≠ 0:   g ← g + weight_decay · p
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! if amsgrad: v̂ ← max(v̂, v), else v̂ ← v
//! p ← p − lr / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
//! ```
//!
//! Options (defaults): `lr` 1e-3, `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0,
//! `amsgrad` false, `maximize` false. State slots: `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`
//! (the last only with amsgrad).
//!
//! The bias corrections and the step size are computed once per segment in f64 (`plan`) and
//! rounded to f32; the loop does only f32 element math, in the order written above, except that
//! `√v̂ / √(1 − β2^t)` is computed as `√v̂ · (1 / √(1 − β2^t))` with the reciprocal taken once in
//! f64: the loop is bound by the divider (a square root and a division per element are
//! unavoidable), and a third divider operation per element would cost a third more time. The
//! result differs from PyTorch's order by at most an ulp or so per step, well inside the
//! conformance tolerances.
//!
//! Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015); AMSGrad:
//! Reddi et al., "On the Convergence of Adam and Beyond" (ICLR 2018). Difference from the study
//! card's `Adam`: ε is added to √v̂ after bias correction, as PyTorch does, not to √v.
//!
//! ```
//! use downhill_core::{step, KERNEL_ADAM, SEG_STRIDE};
//! let mut p = vec![1.0f32];
//! let g = vec![0.5f32];
//! let (mut m, mut v) = (vec![0.0f32], vec![0.0f32]);
//! let row: [f64; SEG_STRIDE] = [0.0, 1.0, 1.0, 0.1, 0.0, 0.0, 0.9, 0.999, 1e-8, 0.0];
//! step(KERNEL_ADAM, &row, &mut p, &g, [&mut m, &mut v, &mut []], false).unwrap();
//! assert!((p[0] - 0.9).abs() < 1e-6); // the first Adam step moves by lr · sign(g)
//! ```

use super::{KernelSpec, Plan, Scalars};
use crate::error::{Error, Result};
use crate::pow::powi_exact;
use crate::segment::{flag, non_negative, Segment};
use crate::simd::dispatch;

pub const SPEC: KernelSpec = KernelSpec {
    id: 1,
    name: "Adam",
    state: &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    plan,
};

const L2: u32 = 1;
const DECAY: u32 = 2;
const AMS: u32 = 4;

fn plan(seg: &Segment, i: usize) -> Result<Plan> {
    plan_with(seg, i, false)
}

/// `arg` is a closure so the name is only formatted on error (this runs on every step).
fn beta(v: f64, arg: impl FnOnce() -> String) -> Result<f64> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::range(arg(), format!("must be in [0, 1), got {v}")))
    }
}

/// Checks an Adam-family segment and computes its scalars; `decoupled` selects AdamW's decay.
pub(crate) fn plan_with(seg: &Segment, i: usize, decoupled: bool) -> Result<Plan> {
    let name = |c: &str| format!("segments[{i}].{c}");
    let b1 = beta(seg.extra[0], || name("beta1"))?;
    let b2 = beta(seg.extra[1], || name("beta2"))?;
    let eps = non_negative(seg.extra[2], || name("eps"))?;
    let amsgrad = flag(seg.extra[3], || name("amsgrad"))?;
    let bc1 = 1.0 - powi_exact(b1, seg.step);
    let bc2 = 1.0 - powi_exact(b2, seg.step);
    let mut mode = 0;
    if seg.weight_decay != 0.0 {
        mode |= if decoupled { DECAY } else { L2 };
    }
    if amsgrad {
        mode |= AMS;
    }
    let mut f = [0.0f32; 12];
    f[0] = if seg.maximize { -1.0 } else { 1.0 };
    f[1] = seg.weight_decay as f32;
    f[2] = (1.0 - seg.lr * seg.weight_decay) as f32;
    f[3] = b1 as f32;
    f[4] = (1.0 - b1) as f32;
    f[5] = b2 as f32;
    f[6] = (1.0 - b2) as f32;
    f[7] = (1.0 / bc2.sqrt()) as f32;
    f[8] = eps as f32;
    f[9] = (-(seg.lr / bc1)) as f32;
    Ok(Plan {
        scalars: Scalars { f, mode },
        uses: [true, true, amsgrad],
        run,
    })
}

#[inline(always)]
fn kernel<const L2K: bool, const DECAYK: bool, const AMSK: bool>(
    s: &Scalars,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vmax: &mut [f32],
) {
    let f = &s.f;
    let (sign, wd, decay, b1, omb1, b2, omb2) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    let (inv_bc2s, eps, neg_step) = (f[7], f[8], f[9]);
    let n = p.len();
    let p = &mut p[..n];
    let g = &g[..n];
    let m = &mut m[..n];
    let v = &mut v[..n];
    let vmax: &mut [f32] = if AMSK { &mut vmax[..n] } else { &mut [] };
    for i in 0..n {
        let mut gi = g[i] * sign;
        let mut pi = p[i];
        if DECAYK {
            pi = pi * decay;
        }
        if L2K {
            gi = gi + wd * pi;
        }
        let mi = m[i] * b1 + gi * omb1;
        let vi = v[i] * b2 + (gi * gi) * omb2;
        m[i] = mi;
        v[i] = vi;
        let vh = if AMSK {
            let old = vmax[i];
            // NaN in `vi` propagates, as torch.maximum does. `+ 0.0` turns a -0 loaded into the
            // state into +0: LLVM may lower this select to WASM's `f32x4.pmax`, which picks the
            // other zero of an equal pair, and the backends must store the same bits.
            let x = (if old >= vi { old } else { vi }) + 0.0;
            vmax[i] = x;
            x
        } else {
            vi
        };
        let denom = vh.sqrt() * inv_bc2s + eps;
        p[i] = pi + neg_step * (mi / denom);
    }
}

dispatch!(run, |s, p, g, s0, s1, s2| match s.mode {
    0 => kernel::<false, false, false>(s, p, g, s0, s1, s2),
    1 => kernel::<true, false, false>(s, p, g, s0, s1, s2),
    2 => kernel::<false, true, false>(s, p, g, s0, s1, s2),
    4 => kernel::<false, false, true>(s, p, g, s0, s1, s2),
    5 => kernel::<true, false, true>(s, p, g, s0, s1, s2),
    6 => kernel::<false, true, true>(s, p, g, s0, s1, s2),
    m => unreachable!("adam mode {m} is never planned"),
});
