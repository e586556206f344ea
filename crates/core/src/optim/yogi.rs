//! Yogi: Adam whose second moment moves additively, by at most (1 − β2)·g² per step.
//!
//! Update rule (Optax `optax.yogi`, step t counted from 1):
//!
//! ```text
//! m ← β1 · m + (1 − β1) · g
//! v ← v − (1 − β2) · sign(v − g²) · g²            (sign(0) = 0)
//! p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
//! ```
//!
//! Both m and v start at `initialAccumulatorValue` (1e-6), not 0, yet the bias corrections still
//! divide by 1 − β^t, as Optax does; starting from 0 changes a 12-step trajectory by up to 6e-2.
//!
//! Options (defaults): `lr` 1e-2, `beta1` 0.9, `beta2` 0.999, `eps` 1e-3,
//! `initialAccumulatorValue` 1e-6. State: `exp_avg`, `exp_avg_sq` (Optax `0.mu`, `0.nu`).
//!
//! Reference: Zaheer et al., "Adaptive Methods for Nonconvex Optimization" (NeurIPS 2018).
//! Differences from the paper: bias corrections (Optax's; the paper's Algorithm 2 has none).

use crate::pow::powi_exact;
use crate::real::{sign, Real};
use crate::spec::{Domain, Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;

pub const SPEC: Spec = Spec {
    id: 12,
    name: "Yogi",
    summary: "Adam with an additive, sign-controlled second-moment update.",
    reference: "Zaheer et al., NeurIPS 2018; optax.yogi",
    torch: None,
    optax: Some("optax.yogi"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-2),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-3),
        HParam::real(
            "initialAccumulatorValue",
            Some("initial_accumulator_value"),
            Some("initial_accumulator_value"),
            Domain::NON_NEG,
            1e-6,
            "Starting value of both moments.",
        ),
    ],
    state: &[
        Slot {
            key: "exp_avg",
            optax: Some("0.mu"),
            len: Len::N,
            when: When::Always,
            init: Init::Hp("initialAccumulatorValue"),
            nonneg: false,
        },
        Slot {
            key: "exp_avg_sq",
            optax: Some("0.nu"),
            len: Len::N,
            when: When::Always,
            init: Init::Hp("initialAccumulatorValue"),
            nonneg: true,
        },
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct Yogi;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    b1: T,
    omb1: T,
    omb2: T,
    inv_bc2_sqrt: T,
    eps: T,
    neg_step: T,
}

impl Elementwise for Yogi {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let (lr, b1, b2) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2));
        let bc1 = 1.0 - powi_exact(b1, t.step);
        let bc2 = 1.0 - powi_exact(b2, t.step);
        Plan {
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            omb2: T::of(1.0 - b2),
            inv_bc2_sqrt: T::of(1.0 / bc2.sqrt()),
            eps: T::of(t.hp(EPS)),
            neg_step: T::of(-(lr / bc1)),
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
        let Plan {
            b1,
            omb1,
            omb2,
            inv_bc2_sqrt,
            eps,
            neg_step,
        } = *pl;
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let gi = g[i];
            let mi = m[i] * b1 + gi * omb1;
            let g2 = gi * gi;
            let vo = v[i];
            // Optax's order: ((1 − β2) · sign) · g², each product rounded.
            let vi = vo - (omb2 * sign(vo - g2)) * g2;
            m[i] = mi;
            v[i] = vi;
            let denom = vi.sqrt() * inv_bc2_sqrt + eps;
            p[i] = p[i] + neg_step * (mi / denom);
        }
    }
}
