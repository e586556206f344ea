//! Adam, with AMSGrad, L2 or decoupled weight decay; also the element loop AdamW uses.
//!
//! Update rule (PyTorch `torch.optim.Adam`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if decoupled_weight_decay:  p ← p · (1 − lr · weight_decay)      (AdamW)
//! else if weight_decay ≠ 0:   g ← g + weight_decay · p             (L2)
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! if amsgrad: v̂ ← max(v̂, v), else v̂ ← v
//! p ← p − lr / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
//! ```
//!
//! Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
//! `amsgrad` false, `maximize` false, `decoupledWeightDecay` false (PyTorch 2.x). State:
//! `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (only with amsgrad).
//!
//! The bias corrections and the step size are computed once per tensor in f64 (`plan`) and
//! rounded to the element type; the loop does only element math, in the order written above,
//! except that `√v̂ / √(1 − β2^t)` is computed as `√v̂ · (1 / √(1 − β2^t))` with the reciprocal
//! taken once in f64: the loop is bound by the divider (a square root and a division per element
//! are unavoidable), and a third divider operation per element would cost a third more time. The
//! result differs from PyTorch's order by about an ulp per step, far inside the conformance
//! tolerances.
//!
//! Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015); AMSGrad:
//! Reddi et al., "On the Convergence of Adam and Beyond" (ICLR 2018); decoupled decay:
//! Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019). Difference from the
//! study card's `Adam`: ε is added to √v̂ after bias correction, as PyTorch does.

use crate::pow::powi_exact;
use crate::real::{max_nan, Real};
use crate::spec::{Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

pub(crate) const LR: usize = 0;
pub(crate) const BETA1: usize = 1;
pub(crate) const BETA2: usize = 2;
pub(crate) const EPS: usize = 3;
pub(crate) const WD: usize = 4;
pub(crate) const AMSGRAD: usize = 5;
pub(crate) const MAXIMIZE: usize = 6;
const DECOUPLED: usize = 7;

/// The slots Adam and AdamW share.
pub(crate) const STATE: &[Slot] = &[
    Slot::n("exp_avg", Some("0.mu")),
    Slot::n_nonneg("exp_avg_sq", Some("0.nu")),
    Slot {
        key: "max_exp_avg_sq",
        optax: None,
        len: Len::N,
        when: When::Flag("amsgrad"),
        init: Init::Zero,
        nonneg: true,
    },
];

pub const SPEC: Spec = Spec {
    id: 1,
    name: "Adam",
    summary: "Adam with AMSGrad, L2 or decoupled weight decay.",
    reference: "Kingma & Ba, ICLR 2015; Reddi et al., ICLR 2018 (AMSGrad); torch.optim.Adam",
    torch: Some("torch.optim.Adam"),
    optax: Some("optax.adam"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-8),
        HParam::weight_decay(0.0, "Weight decay: L2 (added to the gradient), or decoupled with decoupledWeightDecay."),
        HParam::flag("amsgrad", Some("amsgrad"), None, false, "Use the maximum of past second moments (AMSGrad)."),
        HParam::MAXIMIZE,
        HParam::flag(
            "decoupledWeightDecay",
            Some("decoupled_weight_decay"),
            None,
            false,
            "Decay the parameters directly (p ← p·(1 − lr·weightDecay)), as AdamW, instead of adding L2 to the gradient.",
        ),
    ],
    state: STATE,
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Adam;

const M_L2: u8 = 1;
const M_DECAY: u8 = 2;
const M_AMS: u8 = 4;

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
    inv_bc2_sqrt: T,
    eps: T,
    neg_step: T,
    mode: u8,
}

/// Adam's plan; `decoupled` selects AdamW's decay.
pub(crate) fn plan_with<T: Real>(t: &Tensor<'_>, decoupled: bool) -> Plan<T> {
    let (lr, b1, b2, wd) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2), t.hp(WD));
    let bc1 = 1.0 - powi_exact(b1, t.step);
    let bc2 = 1.0 - powi_exact(b2, t.step);
    let mut mode = 0;
    if wd != 0.0 {
        mode |= if decoupled { M_DECAY } else { M_L2 };
    }
    if t.flag(AMSGRAD) {
        mode |= M_AMS;
    }
    Plan {
        sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
        wd: T::of(wd),
        decay: T::of(1.0 - lr * wd),
        b1: T::of(b1),
        omb1: T::of(1.0 - b1),
        b2: T::of(b2),
        omb2: T::of(1.0 - b2),
        inv_bc2_sqrt: T::of(1.0 / bc2.sqrt()),
        eps: T::of(t.hp(EPS)),
        neg_step: T::of(-(lr / bc1)),
        mode,
    }
}

/// Adam's element loop for any plan.
#[inline(always)]
pub(crate) fn apply_plan<T: Real>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: &mut [T],
) {
    match pl.mode {
        0 => kernel::<T, false, false, false>(pl, p, g, m, v, vmax),
        1 => kernel::<T, true, false, false>(pl, p, g, m, v, vmax),
        2 => kernel::<T, false, true, false>(pl, p, g, m, v, vmax),
        4 => kernel::<T, false, false, true>(pl, p, g, m, v, vmax),
        5 => kernel::<T, true, false, true>(pl, p, g, m, v, vmax),
        6 => kernel::<T, false, true, true>(pl, p, g, m, v, vmax),
        m => unreachable!("adam mode {m} is never planned"),
    }
}

impl Elementwise for Adam {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        plan_with(t, t.flag(DECOUPLED))
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        v: &mut [T],
        vmax: &mut [T],
        _: &mut [T],
    ) {
        apply_plan(pl, p, g, m, v, vmax)
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool, const DECAY: bool, const AMS: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: &mut [T],
) {
    let Plan {
        sign,
        wd,
        decay,
        b1,
        omb1,
        b2,
        omb2,
        inv_bc2_sqrt,
        eps,
        neg_step,
        ..
    } = *pl;
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let vmax: &mut [T] = if AMS { &mut vmax[..n] } else { &mut [] };
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
        let vh = if AMS {
            // NaN in `vi` propagates, as torch.maximum does. `+ 0` turns a −0 loaded into the
            // state into +0: LLVM may lower the select to WASM's `f32x4.pmax`, which picks the
            // other zero of an equal pair, and the backends must store the same bits.
            let x = max_nan(vmax[i], vi) + T::ZERO;
            vmax[i] = x;
            x
        } else {
            vi
        };
        let denom = vh.sqrt() * inv_bc2_sqrt + eps;
        p[i] = pi + neg_step * (mi / denom);
    }
}
