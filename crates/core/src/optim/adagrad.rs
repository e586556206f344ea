//! Adagrad: per-element step sizes from the running sum of squared gradients.
//!
//! Update rule (PyTorch `torch.optim.Adagrad`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! clr ← lr / (1 + (t − 1) · lr_decay)
//! sum ← sum + g²                     (sum starts at initial_accumulator_value)
//! p ← p − clr · g / (√sum + ε)
//! ```
//!
//! Options (defaults): `lr` 1e-2, `lrDecay` 0, `weightDecay` 0, `initialAccumulatorValue` 0,
//! `eps` 1e-10, `maximize` false. State: `sum` (one per element, `>= 0`).
//!
//! Reference: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
//! Stochastic Optimization" (JMLR 2011). Differences from PyTorch: `sum` is created at a tensor's
//! first step rather than at construction (the same values; a state dict lists a tensor only once
//! it has stepped); sparse gradients do not exist here. Optax's `adagrad` differs in semantics
//! (ε inside the square root, accumulator 0.1 by default) and is not what this reproduces.

use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const LR_DECAY: usize = 1;
const WD: usize = 2;
const EPS: usize = 4;
const MAXIMIZE: usize = 5;

pub const SPEC: Spec = Spec {
    id: 3,
    name: "Adagrad",
    summary: "Adagrad: step sizes scaled by the root of the summed squared gradients.",
    reference: "Duchi, Hazan & Singer, JMLR 2011; torch.optim.Adagrad",
    torch: Some("torch.optim.Adagrad"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-2),
        HParam::real(
            "lrDecay",
            Some("lr_decay"),
            None,
            Domain::NON_NEG,
            0.0,
            "Learning-rate decay: step t uses lr / (1 + (t − 1)·lrDecay).",
        ),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::real(
            "initialAccumulatorValue",
            Some("initial_accumulator_value"),
            None,
            Domain::NON_NEG,
            0.0,
            "Starting value of every element of the sum of squared gradients.",
        ),
        HParam::eps(1e-10),
        HParam::MAXIMIZE,
    ],
    state: &[Slot {
        key: "sum",
        optax: None,
        len: Len::N,
        when: When::Always,
        init: Init::Hp("initialAccumulatorValue"),
        nonneg: true,
    }],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Adagrad;

/// Per-step scalars of one tensor.
#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    eps: T,
    neg_clr: T,
    l2: bool,
}

impl Elementwise for Adagrad {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let clr = t.hp(LR) / (1.0 + (t.step - 1) as f64 * t.hp(LR_DECAY));
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(t.hp(WD)),
            eps: T::of(t.hp(EPS)),
            neg_clr: T::of(-clr),
            l2: t.hp(WD) != 0.0,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        sum: &mut [T],
        _: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        if pl.l2 {
            kernel::<T, true>(pl, p, g, sum)
        } else {
            kernel::<T, false>(pl, p, g, sum)
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool>(pl: &Plan<T>, p: &mut [T], g: &[T], sum: &mut [T]) {
    let Plan {
        sign,
        wd,
        eps,
        neg_clr,
        ..
    } = *pl;
    let n = p.len();
    let (g, sum) = (&g[..n], &mut sum[..n]);
    for i in 0..n {
        let mut gi = g[i] * sign;
        if L2 {
            gi = gi + wd * p[i];
        }
        let s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] = p[i] + neg_clr * (gi / (s.sqrt() + eps));
    }
}
