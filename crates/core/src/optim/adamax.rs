//! Adamax: Adam with the infinity norm in place of the second moment.
//!
//! Update rule (PyTorch `torch.optim.Adamax`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! m ← β1 · m + (1 − β1) · g
//! u ← max(β2 · u, |g| + ε)
//! p ← p − lr / (1 − β1^t) · m / u
//! ```
//!
//! Options (defaults): `lr` 2e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
//! `maximize` false. State: `exp_avg` (m), `exp_inf` (u, `>= 0`).
//!
//! Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), section 7.1.
//! Differences from the paper: ε is added to |g| before the maximum (PyTorch), so u ≥ ε and the
//! division is safe; the paper has no ε. A NaN in either operand of the maximum propagates, as
//! `torch.maximum` does.

use crate::pow::powi_exact;
use crate::real::{max_nan, Real};
use crate::spec::{Domain, Driver, HParam, Slot, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;
const WD: usize = 4;
const MAXIMIZE: usize = 5;

pub const SPEC: Spec = Spec {
    id: 6,
    name: "Adamax",
    summary: "Adamax: Adam with an exponentially weighted infinity norm.",
    reference: "Kingma & Ba, ICLR 2015 (section 7.1); torch.optim.Adamax",
    torch: Some("torch.optim.Adamax"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(2e-3),
        HParam::beta(1, 0.9),
        HParam::real(
            "beta2",
            Some("betas.1"),
            Some("b2"),
            Domain::DECAY,
            0.999,
            "Decay rate of the infinity norm.",
        ),
        HParam::eps(1e-8),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::MAXIMIZE,
    ],
    state: &[Slot::n("exp_avg", None), Slot::n_nonneg("exp_inf", None)],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Adamax;

/// Per-step scalars of one tensor.
#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    eps: T,
    neg_clr: T,
    l2: bool,
}

impl Elementwise for Adamax {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let b1 = t.hp(BETA1);
        let bc1 = 1.0 - powi_exact(b1, t.step);
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(t.hp(WD)),
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(t.hp(BETA2)),
            eps: T::of(t.hp(EPS)),
            neg_clr: T::of(-(t.hp(LR) / bc1)),
            l2: t.hp(WD) != 0.0,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        u: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        if pl.l2 {
            kernel::<T, true>(pl, p, g, m, u)
        } else {
            kernel::<T, false>(pl, p, g, m, u)
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool>(pl: &Plan<T>, p: &mut [T], g: &[T], m: &mut [T], u: &mut [T]) {
    let Plan {
        sign,
        wd,
        b1,
        omb1,
        b2,
        eps,
        neg_clr,
        ..
    } = *pl;
    let n = p.len();
    let (g, m, u) = (&g[..n], &mut m[..n], &mut u[..n]);
    for i in 0..n {
        let mut gi = g[i] * sign;
        if L2 {
            gi = gi + wd * p[i];
        }
        let mi = m[i] * b1 + gi * omb1;
        m[i] = mi;
        // `+ 0` stores −0 (from a loaded −0 times β2) as +0 whichever zero the maximum picked:
        // WASM's `pmax` and a scalar select may pick different zeros of an equal pair.
        let ui = max_nan(u[i] * b2, gi.abs() + eps) + T::ZERO;
        u[i] = ui;
        p[i] = p[i] + neg_clr * (mi / ui);
    }
}
