//! RAdam: Adam with the variance of the adaptive step rectified, plain momentum SGD early on.
//!
//! Update rule (PyTorch `torch.optim.RAdam`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if decoupled_weight_decay:  p ← p · (1 − lr · weight_decay)
//! else if weight_decay ≠ 0:   g ← g + weight_decay · p
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! m̂ ← m / (1 − β1^t)
//! ρ∞ ← 2 / (1 − β2) − 1
//! ρ_t ← ρ∞ − 2 · t · β2^t / (1 − β2^t)
//! if ρ_t > 5:
//!     r ← √((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
//!     p ← p − lr · m̂ · r · √(1 − β2^t) / (√v + ε)
//! else:
//!     p ← p − lr · m̂
//! ```
//!
//! Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
//! `decoupledWeightDecay` false (PyTorch 2.x), `maximize` false (2.x). State: `exp_avg`,
//! `exp_avg_sq` (`>= 0`).
//!
//! ρ_t, the rectification and the step size are per-tensor scalars, computed in f64 in PyTorch's
//! order (so the `ρ_t > 5` test decides as PyTorch's does) and folded into one coefficient of
//! `m / (√v + ε)`. With the default betas the first 5 steps are un-rectified. ε is added to √v
//! before the bias correction √(1 − β2^t) is applied, as in PyTorch (Adam adds it after).
//!
//! Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (ICLR 2020);
//! decoupled decay: Loshchilov & Hutter (ICLR 2019).

use crate::pow::powi_exact;
use crate::real::Real;
use crate::spec::{Driver, HParam, Slot, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;
const WD: usize = 4;
const DECOUPLED: usize = 5;
const MAXIMIZE: usize = 6;

pub const SPEC: Spec = Spec {
    id: 8,
    name: "RAdam",
    summary: "RAdam: Adam with a rectified adaptive learning rate.",
    reference: "Liu et al., ICLR 2020; torch.optim.RAdam",
    torch: Some("torch.optim.RAdam"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-8),
        HParam::weight_decay(
            0.0,
            "Weight decay: L2 (added to the gradient), or decoupled with decoupledWeightDecay.",
        ),
        HParam::flag(
            "decoupledWeightDecay",
            Some("decoupled_weight_decay"),
            None,
            false,
            "Decay the parameters directly (p ← p·(1 − lr·weightDecay)) instead of adding L2 to the gradient.",
        ),
        HParam::MAXIMIZE,
    ],
    state: &[Slot::n("exp_avg", None), Slot::n_nonneg("exp_avg_sq", None)],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct RAdam;

const M_L2: u8 = 1;
const M_DECAY: u8 = 2;
const M_RECT: u8 = 4;

/// Per-step scalars of one tensor.
#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    decay: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    eps: T,
    /// Coefficient of `m / (√v + ε)` (rectified) or of `m` (un-rectified).
    neg_step: T,
    mode: u8,
}

/// The rectification term r at step t, or `None` when ρ_t ≤ 5 (an un-rectified step); ρ_t is
/// computed in PyTorch's order of operations.
pub(crate) fn rectification(b2: f64, t: u64) -> Option<f64> {
    let step = t as f64;
    let b2t = powi_exact(b2, t);
    let bc2 = 1.0 - b2t;
    let rho_inf = 2.0 / (1.0 - b2) - 1.0;
    let rho_t = rho_inf - 2.0 * step * b2t / bc2;
    if rho_t > 5.0 {
        Some(
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt(),
        )
    } else {
        None
    }
}

impl Elementwise for RAdam {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let (lr, b1, b2, wd) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2), t.hp(WD));
        let bc1 = 1.0 - powi_exact(b1, t.step);
        let mut mode = 0;
        if wd != 0.0 {
            mode |= if t.flag(DECOUPLED) { M_DECAY } else { M_L2 };
        }
        let neg_step = match rectification(b2, t.step) {
            Some(r) => {
                mode |= M_RECT;
                let bc2 = 1.0 - powi_exact(b2, t.step);
                -(lr * r * bc2.sqrt() / bc1)
            }
            None => -(lr / bc1),
        };
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(wd),
            decay: T::of(1.0 - lr * wd),
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            eps: T::of(t.hp(EPS)),
            neg_step: T::of(neg_step),
            mode,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        match pl.mode {
            0 => kernel::<T, false, false, false>(pl, p, g, m, v),
            1 => kernel::<T, true, false, false>(pl, p, g, m, v),
            2 => kernel::<T, false, true, false>(pl, p, g, m, v),
            4 => kernel::<T, false, false, true>(pl, p, g, m, v),
            5 => kernel::<T, true, false, true>(pl, p, g, m, v),
            6 => kernel::<T, false, true, true>(pl, p, g, m, v),
            m => unreachable!("radam mode {m} is never planned"),
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool, const DECAY: bool, const RECT: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    let Plan {
        sign,
        wd,
        decay,
        b1,
        omb1,
        b2,
        omb2,
        eps,
        neg_step,
        ..
    } = *pl;
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let mut gi = g[i] * sign;
        let mut pi = p[i];
        if DECAY {
            pi = pi * decay;
        }
        if L2 {
            gi = gi + wd * pi;
        }
        let mi = m[i] * b1 + gi * omb1;
        let vi = v[i] * b2 + (gi * gi) * omb2;
        m[i] = mi;
        v[i] = vi;
        p[i] = if RECT {
            pi + neg_step * (mi / (vi.sqrt() + eps))
        } else {
            pi + neg_step * mi
        };
    }
}

#[cfg(test)]
mod tests {
    use super::rectification;

    /// First rectified step for β2, as PyTorch decides it (`rho_t > 5`).
    fn first(b2: f64) -> Option<u64> {
        (1..=200).find(|&t| rectification(b2, t).is_some())
    }

    #[test]
    fn switches_to_the_rectified_update_where_pytorch_does() {
        assert_eq!(first(0.999), Some(6));
        assert_eq!(first(0.8), Some(7));
        assert_eq!(first(0.75), Some(8));
        assert_eq!(first(0.7), Some(10));
        // ρ∞ ≤ 5: never rectified (ρ∞ = 4 at β2 = 0.6, 1 at β2 = 0).
        assert_eq!(first(0.6), None);
        assert_eq!(first(0.0), None);
        let r = rectification(0.999, 1000).unwrap();
        assert!(r > 0.0 && r < 1.0);
    }
}
