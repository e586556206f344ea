//! NAdam: Adam with Nesterov momentum and a momentum schedule.
//!
//! Update rule (PyTorch `torch.optim.NAdam`, step t counted from 1; the documented algorithm,
//! which PyTorch 2.x's implementations and 1.13's multi-tensor one compute):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if decoupled_weight_decay:  p ← p · (1 − lr · weight_decay)
//! else if weight_decay ≠ 0:   g ← g + weight_decay · p
//! μ_t     ← β1 · (1 − ½ · 0.96^(t · ψ))          ψ = momentum_decay
//! μ_{t+1} ← β1 · (1 − ½ · 0.96^((t+1) · ψ))
//! Π       ← Π · μ_t                               (mu_product = ∏_{i≤t} μ_i, starts at 1)
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! d ← √(v / (1 − β2^t)) + ε
//! p ← p − lr · (1 − μ_t) / (1 − Π) · g / d − lr · μ_{t+1} / (1 − Π · μ_{t+1}) · m / d
//! ```
//!
//! Options (defaults): `lr` 2e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
//! `momentumDecay` 4e-3, `decoupledWeightDecay` false (PyTorch 2.x), `maximize` false (2.x).
//! State: `mu_product` (one number per tensor), `exp_avg`, `exp_avg_sq` (`>= 0`).
//!
//! Per-tensor scalars are computed in f64 once per step (`plan`, which also advances
//! `mu_product`); `0.96^(t·ψ)` is a non-integer power, taken with [`crate::mathx::pow`] so every
//! backend gets the same bits. `mu_product` is kept in the element type, as PyTorch keeps it in
//! the default dtype, and the step uses the stored (rounded) value. The element loop adds the two
//! terms before one division by d (PyTorch divides twice), and computes `√(v / bc2)` as
//! `√v · (1 / √bc2)`: an ulp or so apart from PyTorch.
//!
//! Reference: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop); decoupled
//! decay: Loshchilov & Hutter (ICLR 2019). Differences from PyTorch 1.13's default
//! (single-tensor) NAdam: that one multiplies μ_t into the product once more, a bug fixed in
//! PyTorch 2.0; this follows the documented algorithm.

use crate::mathx::pow;
use crate::pow::powi_exact;
use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;
const WD: usize = 4;
const MOMENTUM_DECAY: usize = 5;
const DECOUPLED: usize = 6;
const MAXIMIZE: usize = 7;

pub const SPEC: Spec = Spec {
    id: 7,
    name: "NAdam",
    summary: "NAdam: Adam with Nesterov momentum and Dozat's momentum schedule.",
    reference: "Dozat, ICLR 2016 workshop; torch.optim.NAdam",
    torch: Some("torch.optim.NAdam"),
    optax: None,
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(2e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-8),
        HParam::weight_decay(
            0.0,
            "Weight decay: L2 (added to the gradient), or decoupled with decoupledWeightDecay.",
        ),
        HParam::real(
            "momentumDecay",
            Some("momentum_decay"),
            None,
            Domain::NON_NEG,
            4e-3,
            "ψ of the momentum schedule μ_t = β1·(1 − ½·0.96^(t·ψ)).",
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
    state: &[
        Slot {
            key: "mu_product",
            optax: None,
            len: Len::Scalar,
            when: When::Always,
            init: Init::Value(1.0),
            nonneg: true,
        },
        Slot::n("exp_avg", None),
        Slot::n_nonneg("exp_avg_sq", None),
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct NAdam;

const M_L2: u8 = 1;
const M_DECAY: u8 = 2;

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
    /// −lr · (1 − μ_t) / (1 − Π), the coefficient of g / d.
    cg: T,
    /// −lr · μ_{t+1} / (1 − Π · μ_{t+1}), the coefficient of m / d.
    cm: T,
    mode: u8,
}

/// μ_t of the momentum schedule.
fn mu(b1: f64, t: f64, psi: f64) -> f64 {
    b1 * (1.0 - 0.5 * pow(0.96, t * psi))
}

impl Elementwise for NAdam {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, scalars: &mut [T]) -> Plan<T> {
        let (lr, b1, b2, wd) = (t.hp(LR), t.hp(BETA1), t.hp(BETA2), t.hp(WD));
        let psi = t.hp(MOMENTUM_DECAY);
        let step = t.step as f64;
        let mu_t = mu(b1, step, psi);
        let mu_next = mu(b1, step + 1.0, psi);
        let prod = T::of(scalars[0].f64() * mu_t);
        scalars[0] = prod;
        let prod = prod.f64();
        let bc2 = 1.0 - powi_exact(b2, t.step);
        let mut mode = 0;
        if wd != 0.0 {
            mode |= if t.flag(DECOUPLED) { M_DECAY } else { M_L2 };
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
            cg: T::of(-lr * (1.0 - mu_t) / (1.0 - prod)),
            cm: T::of(-lr * mu_next / (1.0 - prod * mu_next)),
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
            0 => kernel::<T, false, false>(pl, p, g, m, v),
            M_L2 => kernel::<T, true, false>(pl, p, g, m, v),
            M_DECAY => kernel::<T, false, true>(pl, p, g, m, v),
            m => unreachable!("nadam mode {m} is never planned"),
        }
    }
}

#[inline(always)]
fn kernel<T: Real, const L2: bool, const DECAY: bool>(
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
        inv_bc2_sqrt,
        eps,
        cg,
        cm,
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
        let d = vi.sqrt() * inv_bc2_sqrt + eps;
        p[i] = pi + (cg * gi + cm * mi) / d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Shape;

    fn tensor(hp: &[f64], step: u64) -> Tensor<'_> {
        Tensor {
            index: 0,
            offset: 0,
            shape: Shape::of(&[3]),
            group: 0,
            step,
            skip: false,
            hp,
        }
    }

    #[test]
    fn plan_advances_mu_product_in_the_element_type() {
        let hp = [2e-3, 0.9, 0.999, 1e-8, 0.0, 4e-3, 0.0, 0.0];
        let (mut s64, mut s32) = ([1.0f64], [1.0f32]);
        let mut want = 1.0f64;
        for t in 1..=30u64 {
            NAdam::plan::<f64>(&tensor(&hp, t), &mut s64);
            NAdam::plan::<f32>(&tensor(&hp, t), &mut s32);
            want *= 0.9 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * 4e-3));
            assert!((s64[0] - want).abs() <= 1e-14 * want, "step {t}");
            assert!((s32[0] as f64 - want).abs() <= 1e-5 * want, "step {t}");
        }
    }
}
