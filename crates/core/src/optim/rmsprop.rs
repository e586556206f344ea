//! RMSprop, with momentum and the centered variant.
//!
//! Update rule (PyTorch `torch.optim.RMSprop`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! v ← α · v + (1 − α) · g²
//! if centered:  ḡ ← α · ḡ + (1 − α) · g;  d ← √(v − ḡ²) + ε
//! else:         d ← √v + ε
//! if momentum > 0:  b ← momentum · b + g / d;  p ← p − lr · b
//! else:             p ← p − lr · g / d
//! ```
//!
//! Options (defaults): `lr` 1e-2, `alpha` 0.99, `eps` 1e-8, `weightDecay` 0, `momentum` 0,
//! `centered` false, `maximize` false. State: `square_avg` (`>= 0`), `momentum_buffer` (only when
//! momentum > 0), `grad_avg` (only when centered).
//!
//! Reference: Hinton, Srivastava & Swersky, "Neural Networks for Machine Learning", lecture 6e
//! (2012); centered form: Graves, "Generating Sequences With Recurrent Neural Networks" (2013).
//! Differences from PyTorch: `alpha` is accepted from 0 up, as PyTorch does; above 1 the average
//! can turn negative, and such a state is then refused by `loadStateDict` (it must be `>= 0`).
//! ε is added outside the square root (Optax's `rmsprop` adds it inside; not reproduced here).

use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const ALPHA: usize = 1;
const EPS: usize = 2;
const WD: usize = 3;
const MOMENTUM: usize = 4;
const CENTERED: usize = 5;
const MAXIMIZE: usize = 6;

pub const SPEC: Spec = Spec {
    id: 4,
    name: "RMSprop",
    summary: "RMSprop: gradients divided by a running root mean square, with momentum and centering.",
    reference: "Hinton et al., Coursera lecture 6e (2012); Graves 2013 (centered); torch.optim.RMSprop",
    torch: Some("torch.optim.RMSprop"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-2),
        HParam::real(
            "alpha",
            Some("alpha"),
            None,
            Domain::NON_NEG,
            0.99,
            "Smoothing constant of the running averages.",
        ),
        HParam::eps(1e-8),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::real(
            "momentum",
            Some("momentum"),
            None,
            Domain::NON_NEG,
            0.0,
            "Momentum factor (a buffer of g / denominator).",
        ),
        HParam::flag(
            "centered",
            Some("centered"),
            None,
            false,
            "Divide by the estimated standard deviation (the mean of g is subtracted) instead of the root mean square.",
        ),
        HParam::MAXIMIZE,
    ],
    state: &[
        Slot::n_nonneg("square_avg", None),
        Slot {
            key: "momentum_buffer",
            optax: None,
            len: Len::N,
            when: When::NonZero("momentum"),
            init: Init::Zero,
            nonneg: false,
        },
        Slot {
            key: "grad_avg",
            optax: None,
            len: Len::N,
            when: When::Flag("centered"),
            init: Init::Zero,
            nonneg: false,
        },
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct RMSprop;

const M_L2: u8 = 1;
const M_CENTERED: u8 = 2;
const M_MOMENTUM: u8 = 4;

/// Per-step scalars of one tensor.
#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    alpha: T,
    oma: T,
    eps: T,
    momentum: T,
    neg_lr: T,
    mode: u8,
}

impl Elementwise for RMSprop {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let mut mode = 0;
        if t.hp(WD) != 0.0 {
            mode |= M_L2;
        }
        if t.flag(CENTERED) {
            mode |= M_CENTERED;
        }
        if t.hp(MOMENTUM) > 0.0 {
            mode |= M_MOMENTUM;
        }
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(t.hp(WD)),
            alpha: T::of(t.hp(ALPHA)),
            oma: T::of(1.0 - t.hp(ALPHA)),
            eps: T::of(t.hp(EPS)),
            momentum: T::of(t.hp(MOMENTUM)),
            neg_lr: T::of(-t.hp(LR)),
            mode,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        sq: &mut [T],
        buf: &mut [T],
        gavg: &mut [T],
        _: &mut [T],
    ) {
        match pl.mode {
            0 => kernel::<T, false, false, false>(pl, p, g, sq, buf, gavg),
            1 => kernel::<T, true, false, false>(pl, p, g, sq, buf, gavg),
            2 => kernel::<T, false, true, false>(pl, p, g, sq, buf, gavg),
            3 => kernel::<T, true, true, false>(pl, p, g, sq, buf, gavg),
            4 => kernel::<T, false, false, true>(pl, p, g, sq, buf, gavg),
            5 => kernel::<T, true, false, true>(pl, p, g, sq, buf, gavg),
            6 => kernel::<T, false, true, true>(pl, p, g, sq, buf, gavg),
            7 => kernel::<T, true, true, true>(pl, p, g, sq, buf, gavg),
            m => unreachable!("rmsprop mode {m} is never planned"),
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool, const CENT: bool, const MOM: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    sq: &mut [T],
    buf: &mut [T],
    gavg: &mut [T],
) {
    let Plan {
        sign,
        wd,
        alpha,
        oma,
        eps,
        momentum,
        neg_lr,
        ..
    } = *pl;
    let n = p.len();
    let (g, sq) = (&g[..n], &mut sq[..n]);
    let buf: &mut [T] = if MOM { &mut buf[..n] } else { &mut [] };
    let gavg: &mut [T] = if CENT { &mut gavg[..n] } else { &mut [] };
    for i in 0..n {
        let mut gi = g[i] * sign;
        if L2 {
            gi = gi + wd * p[i];
        }
        let v = sq[i] * alpha + (gi * gi) * oma;
        sq[i] = v;
        let d = if CENT {
            let a = gavg[i] * alpha + gi * oma;
            gavg[i] = a;
            (v - a * a).sqrt() + eps
        } else {
            v.sqrt() + eps
        };
        if MOM {
            let b = buf[i] * momentum + gi / d;
            buf[i] = b;
            p[i] = p[i] + neg_lr * b;
        } else {
            p[i] = p[i] + neg_lr * (gi / d);
        }
    }
}
