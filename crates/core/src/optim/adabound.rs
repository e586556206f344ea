//! AdaBound and AMSBound: Adam whose per-element step size is clipped into bounds that both
//! converge to a final SGD learning rate.
//!
//! Update rule (Luo et al. 2019, as in the authors' PyTorch release `adabound`; t from 1):
//!
//! ```text
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! if amsbound: v̂ ← max(v̂, v), else v̂ ← v
//! final ← final_lr · lr / base_lr                       (base_lr: lr at construction)
//! η_l(t) ← final · (1 − 1 / (γ·t + 1))
//! η_u(t) ← final · (1 + 1 / (γ·t))
//! η ← clip(lr · √(1 − β2^t) / (1 − β1^t) / (√v̂ + ε), η_l(t), η_u(t))
//! p ← p − η · m
//! ```
//!
//! The bound functions are the paper's (Section 4: η_l(t) = 0.1 − 0.1/((1 − β2)t + 1),
//! η_u(t) = 0.1 + 0.1/((1 − β2)t)), with the final rate 0.1 and the convergence speed 1 − β2
//! made the options `finalLr` and `gamma`, as the authors' release does. Scaling the final rate
//! by lr/base_lr makes a learning-rate schedule scale the bounds too (the release does the same
//! with its `base_lrs`).
//!
//! Options (defaults, the authors' release): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `finalLr`
//! 0.1, `gamma` 1e-3, `eps` 1e-8, `weightDecay` 0, `amsbound` false, `baseLr` null (the class
//! sets it to each group's lr at construction). State: `exp_avg`, `exp_avg_sq`,
//! `max_exp_avg_sq` (amsbound only).
//!
//! Reference: Luo, Xiong, Liu & Sun, "Adaptive Gradient Methods with Dynamic Bound of Learning
//! Rate" (ICLR 2019). Differences from the paper's Algorithm 2: bias corrections and ε (the
//! release's), and no 1/√t factor on the clipped step (the release omits it too).

use crate::pow::powi_exact;
use crate::real::{max_nan, Real};
use crate::spec::{Default, Domain, Driver, HParam, Init, Kind, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const FINAL_LR: usize = 3;
const GAMMA: usize = 4;
const EPS: usize = 5;
const WD: usize = 6;
const AMSBOUND: usize = 7;
const BASE_LR: usize = 8;

pub const SPEC: Spec = Spec {
    id: 16,
    name: "AdaBound",
    summary: "Adam with per-element step sizes clipped into bounds that converge to an SGD rate (AdaBound, AMSBound).",
    reference: "Luo et al., ICLR 2019 (adabound)",
    torch: None,
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::real(
            "finalLr",
            Some("final_lr"),
            None,
            Domain::NON_NEG,
            0.1,
            "The SGD learning rate both bounds converge to (relative to baseLr when lr changes).",
        ),
        HParam::real(
            "gamma",
            Some("gamma"),
            None,
            Domain::DECAY,
            1e-3,
            "Convergence speed of the bounds: η_l = final·(1 − 1/(γt + 1)), η_u = final·(1 + 1/(γt)).",
        ),
        HParam::eps(1e-8),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::flag(
            "amsbound",
            Some("amsbound"),
            None,
            false,
            "Use the maximum of past second moments (AMSBound).",
        ),
        HParam {
            name: "baseLr",
            torch: Some("base_lr"),
            optax: None,
            optax_mask: None,
            kind: Kind::Real(Domain::POSITIVE.or_null()),
            default: Default::Null,
            doc: "The lr finalLr refers to: the bounds use finalLr·lr/baseLr (null: lr itself; the class sets the lr at construction).",
        },
    ],
    state: &[
        Slot::n("exp_avg", None),
        Slot::n_nonneg("exp_avg_sq", None),
        Slot {
            key: "max_exp_avg_sq",
            optax: None,
            len: Len::N,
            when: When::Flag("amsbound"),
            init: Init::Zero,
            nonneg: true,
        },
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct AdaBound;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    eps: T,
    step_size: T,
    lower: T,
    upper: T,
    l2: bool,
    ams: bool,
}

impl Elementwise for AdaBound {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let (lr, b1, b2, gamma) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2), t.hp(GAMMA));
        let bc1 = 1.0 - powi_exact(b1, t.step);
        let bc2 = 1.0 - powi_exact(b2, t.step);
        let base = t.hp(BASE_LR);
        let fin = if base.is_nan() {
            t.hp(FINAL_LR)
        } else {
            t.hp(FINAL_LR) * lr / base
        };
        let gt = gamma * t.step as f64;
        Plan {
            wd: T::of(t.hp(WD)),
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            eps: T::of(t.hp(EPS)),
            step_size: T::of(lr * bc2.sqrt() / bc1),
            lower: T::of(fin * (1.0 - 1.0 / (gt + 1.0))),
            // γ = 0: no upper bound (1/0 = ∞), as in the release.
            upper: T::of(fin * (1.0 + 1.0 / gt)),
            l2: t.hp(WD) != 0.0,
            ams: t.flag(AMSBOUND),
        }
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
        match (pl.l2, pl.ams) {
            (false, false) => kernel::<T, false, false>(pl, p, g, m, v, vmax),
            (true, false) => kernel::<T, true, false>(pl, p, g, m, v, vmax),
            (false, true) => kernel::<T, false, true>(pl, p, g, m, v, vmax),
            (true, true) => kernel::<T, true, true>(pl, p, g, m, v, vmax),
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool, const AMS: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: &mut [T],
) {
    let Plan {
        wd,
        b1,
        omb1,
        b2,
        omb2,
        eps,
        step_size,
        lower,
        upper,
        ..
    } = *pl;
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let vmax: &mut [T] = if AMS { &mut vmax[..n] } else { &mut [] };
    for i in 0..n {
        let pi = p[i];
        let mut gi = g[i];
        if L2 {
            gi = gi + wd * pi;
        }
        let mi = m[i] * b1 + gi * omb1;
        let vi = v[i] * b2 + (gi * gi) * omb2;
        m[i] = mi;
        v[i] = vi;
        let vh = if AMS {
            // `+ 0` stores −0 as +0 on every backend (see adam.rs).
            let x = max_nan(vmax[i], vi) + T::ZERO;
            vmax[i] = x;
            x
        } else {
            vi
        };
        let s = step_size / (vh.sqrt() + eps);
        // torch.clamp: NaN stays NaN.
        let s = if s < lower {
            lower
        } else if s > upper {
            upper
        } else {
            s
        };
        p[i] = pi - s * mi;
    }
}
