//! AdamW: Adam with decoupled weight decay.
//!
//! ```text
//! p ← p · (1 − lr · weight_decay)
//! then Adam's update (see adam.rs) with the undecayed gradient
//! ```
//!
//! Options (defaults): as Adam, but `weightDecay` 1e-2 and always decoupled. State as Adam.
//!
//! Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019);
//! `torch.optim.AdamW`, `optax.adamw` (whose default weight decay is 1e-4).

use super::adam::{apply_plan, plan_with, Plan, STATE};
use crate::real::Real;
use crate::spec::{Driver, HParam, Spec};
use crate::step::{Elementwise, Tensor};

pub const SPEC: Spec = Spec {
    id: 2,
    name: "AdamW",
    summary: "Adam with decoupled weight decay.",
    reference: "Loshchilov & Hutter, ICLR 2019; torch.optim.AdamW",
    torch: Some("torch.optim.AdamW"),
    optax: Some("optax.adamw"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[("decoupled_weight_decay", true)],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-8),
        HParam::weight_decay(
            1e-2,
            "Decoupled weight decay: p ← p·(1 − lr·weightDecay) before the Adam step.",
        ),
        HParam::flag(
            "amsgrad",
            Some("amsgrad"),
            None,
            false,
            "Use the maximum of past second moments (AMSGrad).",
        ),
        HParam::MAXIMIZE,
    ],
    state: STATE,
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct AdamW;

impl Elementwise for AdamW {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        plan_with(t, true)
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
