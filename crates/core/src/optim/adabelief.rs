//! AdaBelief: Adam whose second moment tracks the "belief" (g − m)² instead of g².
//!
//! Update rule (Optax `optax.adabelief`, step t counted from 1):
//!
//! ```text
//! m ← β1 · m + (1 − β1) · g
//! s ← β2 · s + (1 − β2) · (g − m)² + eps_root          (with the new m; eps_root is stored)
//! m̂ ← nesterov ? β1 · m / (1 − β1^(t+1)) + (1 − β1) · g / (1 − β1^t) : m / (1 − β1^t)
//! p ← p − lr · m̂ / (√(s / (1 − β2^t)) + ε)
//! ```
//!
//! Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-16, `epsRoot` 1e-16,
//! `nesterov` false. State: `exp_avg`, `exp_avg_var` (Optax `0.mu`, `0.nu`; the names of the
//! authors' PyTorch code).
//!
//! The bias corrections and the step size are computed once per tensor in f64 and rounded to
//! the element type; `√(s/(1−β2^t))` is computed as `√s · (1/√(1−β2^t))` (one divide per
//! element, as Adam), an ulp from Optax's order.
//!
//! Reference: Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
//! Gradients" (NeurIPS 2020). Differences from the paper: ε is added to √ŝ outside the root and
//! eps_root inside s every step (Optax's form; the paper adds ε to s); no weight decay (chain
//! one in front, as Optax does).

use crate::pow::powi_exact;
use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Slot, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;
const EPS_ROOT: usize = 4;
const NESTEROV: usize = 5;

pub const SPEC: Spec = Spec {
    id: 11,
    name: "AdaBelief",
    summary: "Adam with the second moment of the prediction error (g − m)².",
    reference: "Zhuang et al., NeurIPS 2020; optax.adabelief",
    torch: None,
    optax: Some("optax.adabelief"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-16),
        HParam::real(
            "epsRoot",
            None,
            Some("eps_root"),
            Domain::NON_NEG,
            1e-16,
            "Added to the stored second moment s at every step.",
        ),
        HParam::flag(
            "nesterov",
            Some("nesterov"),
            Some("nesterov"),
            false,
            "Nesterov momentum: m̂ mixes the next step's momentum with the bias-corrected gradient.",
        ),
    ],
    state: &[
        Slot::n("exp_avg", Some("0.mu")),
        Slot::n_nonneg("exp_avg_var", Some("0.nu")),
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct AdaBelief;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    eps_root: T,
    inv_bc2_sqrt: T,
    eps: T,
    /// Coefficients of m and g in m̂, times −lr (without Nesterov: −lr/(1−β1^t) and 0).
    cm: T,
    cg: T,
    nesterov: bool,
}

impl Elementwise for AdaBelief {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let (lr, b1, b2) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2));
        let bc1 = 1.0 - powi_exact(b1, t.step);
        let bc2 = 1.0 - powi_exact(b2, t.step);
        let nesterov = t.flag(NESTEROV);
        let (cm, cg) = if nesterov {
            let bc1_next = 1.0 - powi_exact(b1, t.step + 1);
            (-lr * (b1 / bc1_next), -lr * ((1.0 - b1) / bc1))
        } else {
            (-(lr / bc1), 0.0)
        };
        Plan {
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            eps_root: T::of(t.hp(EPS_ROOT)),
            inv_bc2_sqrt: T::of(1.0 / bc2.sqrt()),
            eps: T::of(t.hp(EPS)),
            cm: T::of(cm),
            cg: T::of(cg),
            nesterov,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        m: &mut [T],
        s: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        if pl.nesterov {
            kernel::<T, true>(pl, p, g, m, s)
        } else {
            kernel::<T, false>(pl, p, g, m, s)
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const NEST: bool>(pl: &Plan<T>, p: &mut [T], g: &[T], m: &mut [T], s: &mut [T]) {
    let Plan {
        b1,
        omb1,
        b2,
        omb2,
        eps_root,
        inv_bc2_sqrt,
        eps,
        cm,
        cg,
        ..
    } = *pl;
    let n = p.len();
    let (g, m, s) = (&g[..n], &mut m[..n], &mut s[..n]);
    for i in 0..n {
        let gi = g[i];
        let mi = m[i] * b1 + gi * omb1;
        let e = gi - mi;
        let si = (s[i] * b2 + (e * e) * omb2) + eps_root;
        m[i] = mi;
        s[i] = si;
        let denom = si.sqrt() * inv_bc2_sqrt + eps;
        let step = if NEST {
            (mi * cm + gi * cg) / denom
        } else {
            cm * (mi / denom)
        };
        p[i] = p[i] + step;
    }
}
