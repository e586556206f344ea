//! Schedule-free SGD: SGD without momentum, whose iterates are averaged on the fly.
//!
//! Update rule (Optax `optax.contrib.schedule_free_sgd`; params are y, see
//! `schedule_free_adamw.rs` for the averaging and the two warmup rates):
//!
//! ```text
//! d ← g + weight_decay · y            (no decay when weightDecay is null)
//! z' ← z − γ · d
//! lr_max ← max(lr_max, γw);  w ← lr_max^weight_lr_power;  W ← W + w;  c ← w / W
//! x ← (1 − c) · (y − (1 − β1) · z) / β1 + c · z'
//! y ← β1 · x + (1 − β1) · z'
//! ```
//!
//! Options (defaults): `lr` 1, `warmupSteps` null, `beta1` 0.9, `weightDecay` null,
//! `weightLrPower` 2. State: `z`, and per tensor `weight_sum`, `lr_max`.
//!
//! Reference: Defazio et al., "The Road Less Scheduled" (NeurIPS 2024).

use super::schedule_free_adamw::{
    average, interpolate, scalar_slot, z_slot, Average, BETA1_SF, WARMUP_STEPS, WEIGHT_LR_POWER,
};
use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Kind, Spec};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const WARMUP: usize = 1;
const BETA1: usize = 2;
const WD: usize = 3;
const POWER: usize = 4;

pub const SPEC: Spec = Spec {
    id: 14,
    name: "ScheduleFreeSGD",
    summary: "Schedule-free SGD: momentum replaced by interpolation and on-the-fly averaging.",
    reference: "Defazio et al., NeurIPS 2024; optax.contrib.schedule_free_sgd",
    torch: None,
    optax: Some("optax.contrib.schedule_free_sgd"),
    optax_counts: &[
        ("step_count", 1),
        ("base_optimizer_state.1.count", 0),
        ("base_optimizer_state.1.1.count", 0),
    ],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1.0),
        WARMUP_STEPS,
        BETA1_SF,
        HParam {
            kind: Kind::Real(Domain::NON_NEG.or_null()),
            default: crate::spec::Default::Null,
            ..HParam::weight_decay(
                0.0,
                "L2 weight decay added to the gradient at y (null: none).",
            )
        },
        WEIGHT_LR_POWER,
    ],
    state: &[
        z_slot(),
        scalar_slot("weight_sum", "weight_sum"),
        scalar_slot("lr_max", "max_lr"),
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

pub struct ScheduleFreeSgd;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    avg: Average<T>,
    wd: T,
}

impl Elementwise for ScheduleFreeSgd {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, scalars: &mut [T]) -> Plan<T> {
        let wd = t.hp(WD);
        Plan {
            avg: average(t, scalars, t.hp(LR), t.hp(WARMUP), t.hp(BETA1), t.hp(POWER)),
            wd: T::of(if wd.is_nan() { 0.0 } else { wd }),
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        z: &mut [T],
        _: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        let n = p.len();
        let (g, z) = (&g[..n], &mut z[..n]);
        if pl.avg.first {
            z.copy_from_slice(p);
        }
        let Plan { avg, wd } = *pl;
        for i in 0..n {
            let y = p[i];
            let d = g[i] + wd * y;
            let (yn, zn) = interpolate(&avg, y, z[i], d);
            z[i] = zn;
            p[i] = yn;
        }
    }
}
