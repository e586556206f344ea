//! Adadelta: steps scaled by the ratio of running RMS of past updates and of gradients.
//!
//! Update rule (PyTorch `torch.optim.Adadelta`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! v ← ρ · v + (1 − ρ) · g²
//! Δ ← √(u + ε) / √(v + ε) · g
//! u ← ρ · u + (1 − ρ) · Δ²
//! p ← p − lr · Δ
//! ```
//!
//! Options (defaults): `lr` 1.0, `rho` 0.9 (in [0, 1]), `eps` 1e-6, `weightDecay` 0, `maximize`
//! false. State: `square_avg` (v) and `acc_delta` (u), both `>= 0`.
//!
//! Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (arXiv:1212.5701, 2012).
//! Differences from the paper: PyTorch's `lr` scales the update (the paper has none: lr = 1).

use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Slot, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const RHO: usize = 1;
const EPS: usize = 2;
const WD: usize = 3;
const MAXIMIZE: usize = 4;

pub const SPEC: Spec = Spec {
    id: 5,
    name: "Adadelta",
    summary: "Adadelta: updates scaled by RMS of past updates over RMS of gradients.",
    reference: "Zeiler, arXiv:1212.5701 (2012); torch.optim.Adadelta",
    torch: Some("torch.optim.Adadelta"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1.0),
        HParam::real(
            "rho",
            Some("rho"),
            None,
            Domain::UNIT,
            0.9,
            "Decay rate of the running averages of squared gradients and squared updates.",
        ),
        HParam::eps(1e-6),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::MAXIMIZE,
    ],
    state: &[
        Slot::n_nonneg("square_avg", None),
        Slot::n_nonneg("acc_delta", None),
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Adadelta;

/// Per-step scalars of one tensor.
#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    rho: T,
    omr: T,
    eps: T,
    neg_lr: T,
    l2: bool,
}

impl Elementwise for Adadelta {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(t.hp(WD)),
            rho: T::of(t.hp(RHO)),
            omr: T::of(1.0 - t.hp(RHO)),
            eps: T::of(t.hp(EPS)),
            neg_lr: T::of(-t.hp(LR)),
            l2: t.hp(WD) != 0.0,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        sq: &mut [T],
        acc: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        if pl.l2 {
            kernel::<T, true>(pl, p, g, sq, acc)
        } else {
            kernel::<T, false>(pl, p, g, sq, acc)
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    sq: &mut [T],
    acc: &mut [T],
) {
    let Plan {
        sign,
        wd,
        rho,
        omr,
        eps,
        neg_lr,
        ..
    } = *pl;
    let n = p.len();
    let (g, sq, acc) = (&g[..n], &mut sq[..n], &mut acc[..n]);
    for i in 0..n {
        let mut gi = g[i] * sign;
        if L2 {
            gi = gi + wd * p[i];
        }
        let v = sq[i] * rho + (gi * gi) * omr;
        sq[i] = v;
        // PyTorch's order: the ratio of the two roots first, then times g.
        let delta = ((acc[i] + eps).sqrt() / (v + eps).sqrt()) * gi;
        acc[i] = acc[i] * rho + (delta * delta) * omr;
        p[i] = p[i] + neg_lr * delta;
    }
}
