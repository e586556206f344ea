//! Lion: sign-based momentum (EvoLved Sign Momentum).
//!
//! Update rule (Optax `optax.lion`, step t counted from 1):
//!
//! ```text
//! c ← β1 · m + (1 − β1) · g               interpolation of momentum and gradient
//! p ← p − lr · (sign(c) + weight_decay · p)   sign(0) = 0; decay only where not masked
//! m ← β2 · m + (1 − β2) · g
//! ```
//!
//! Options (defaults): `lr` 1e-4, `beta1` 0.9, `beta2` 0.99, `weightDecay` 1e-3 (Optax's default,
//! not 0; Optax's `mask` argument is a param group with `weightDecay: 0`). State: `exp_avg` (Optax's
//! `0.mu`), one element per parameter: half of Adam's.
//!
//! Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms" (NeurIPS 2023);
//! Optax 0.2.8 `optax.lion`. Every update has the same magnitude per element, so the paper advises
//! a learning rate 3–10× below AdamW's and a weight decay 3–10× above.

use crate::real::{sign, Real};
use crate::spec::{Driver, HParam, Slot, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const WD: usize = 3;

pub const SPEC: Spec = Spec {
    id: 21,
    name: "Lion",
    summary: "Sign-based momentum: every element moves by lr (plus decoupled weight decay).",
    reference: "Chen et al., NeurIPS 2023; optax.lion",
    torch: None,
    optax: Some("optax.lion"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-4),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.99),
        HParam::weight_decay(
            1e-3,
            "Decoupled weight decay, added to the sign update (Optax's default 1e-3).",
        )
        .masked_by("mask"),
    ],
    state: &[Slot::n("exp_avg", Some("0.mu"))],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Lion;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    neg_lr: T,
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    decay: bool,
}

impl Elementwise for Lion {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let (b1, b2) = (t.hp(BETA1), t.hp(BETA2));
        Plan {
            neg_lr: T::of(-t.hp(LR)),
            wd: T::of(t.hp(WD)),
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            decay: t.hp(WD) != 0.0,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        _: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        if pl.decay {
            kernel::<T, true>(pl, p, g, m)
        } else {
            kernel::<T, false>(pl, p, g, m)
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const DECAY: bool>(pl: &Plan<T>, p: &mut [T], g: &[T], m: &mut [T]) {
    let Plan {
        neg_lr,
        wd,
        b1,
        omb1,
        b2,
        omb2,
        ..
    } = *pl;
    let n = p.len();
    let (g, m) = (&g[..n], &mut m[..n]);
    for i in 0..n {
        let c = m[i] * b1 + g[i] * omb1;
        let mut u = sign(c);
        if DECAY {
            u = u + wd * p[i];
        }
        p[i] = p[i] + neg_lr * u;
        m[i] = m[i] * b2 + g[i] * omb2;
    }
}
