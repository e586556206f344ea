//! Schedule-free AdamW: AdamW without momentum, whose iterates are averaged on the fly, so no
//! learning-rate decay schedule is needed. Also the averaging both schedule-free specs share.
//!
//! Update rule (Optax `optax.contrib.schedule_free_adamw`, step t counted from 1). The params
//! are y, where gradients are taken; z is the base sequence, x the average to evaluate at. At a
//! tensor's first step z ← p (so z₀ = x₀ = y₀).
//!
//! ```text
//! γ, γw ← warmupSteps ? (warm(t − 1), warm(t)) : (lr, lr)     warm(c) = lr · min(c, W) / W
//! v ← β2 · v + (1 − β2) · g²
//! d ← g / (√(v / (1 − β2^t)) + ε) + weight_decay · y          (decay taken at y)
//! z' ← z − γ · d
//! lr_max ← max(lr_max, γw);  w ← lr_max^weight_lr_power;  W ← W + w;  c ← w / W
//! x ← (y − (1 − β1) · z) / β1                                 (x is not stored)
//! x ← (1 − c) · x + c · z'
//! y ← β1 · x + (1 − β1) · z'
//! ```
//!
//! Options (defaults): `lr` 0.0025, `warmupSteps` null, `beta1` 0.9 (in (0, 1]), `beta2` 0.999,
//! `eps` 1e-8, `weightDecay` 0, `weightLrPower` 2. State: `z` (Optax `z`), `exp_avg_sq`
//! (`base_optimizer_state.0.nu`), and per tensor the scalars `weight_sum` and `lr_max` (Optax
//! `weight_sum`, `max_lr`; every tensor holds the same values).
//!
//! With warmup Optax uses two rates: the inner step takes the schedule at count t − 1 (0 at the
//! first step, which then moves nothing but v) and the averaging weight the schedule at t. Optax
//! evaluates the schedule at an int32 count, so the rates are float32 values even for float64
//! parameters; [`warmup`] computes them with those float32 operations, bit for bit.
//!
//! Reference: Defazio et al., "The Road Less Scheduled" (NeurIPS 2024). Differences from Optax:
//! y is written directly (Optax adds the difference y' − y to y), an ulp apart.

use crate::mathx;
use crate::pow::powi_exact;
use crate::real::{max_nan, Real};
use crate::spec::{Default, Domain, Driver, HParam, Init, Kind, Len, Slot, Spec, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const WARMUP: usize = 1;
const BETA1: usize = 2;
const BETA2: usize = 3;
const EPS: usize = 4;
const WD: usize = 5;
const POWER: usize = 6;

/// `warmupSteps`, shared with schedule-free SGD.
pub(crate) const WARMUP_STEPS: HParam = HParam {
    name: "warmupSteps",
    torch: Some("warmup_steps"),
    optax: Some("warmup_steps"),
    optax_mask: None,
    kind: Kind::Int(Domain::COUNT.or_null()),
    default: Default::Null,
    doc: "Steps of linear warmup of the learning rate from 0 (null: none).",
};

pub(crate) const BETA1_SF: HParam = HParam::real(
    "beta1",
    Some("betas.0"),
    Some("b1"),
    Domain::new(0.0, true, 1.0, false),
    0.9,
    "Interpolation between the average x and the base sequence z where gradients are taken: y = β1·x + (1 − β1)·z.",
);

pub(crate) const WEIGHT_LR_POWER: HParam = HParam::real(
    "weightLrPower",
    Some("weight_lr_power"),
    Some("weight_lr_power"),
    Domain::NON_NEG,
    2.0,
    "The averaging weight of a step is lr_max^weightLrPower (downweights warmup steps).",
);

pub(crate) const fn z_slot() -> Slot {
    Slot::n("z", Some("z"))
}

/// `weight_sum` and `lr_max`, one number per tensor each.
pub(crate) const fn scalar_slot(key: &'static str, optax: &'static str) -> Slot {
    Slot {
        key,
        optax: Some(optax),
        len: Len::Scalar,
        when: When::Always,
        init: Init::Zero,
        nonneg: true,
    }
}

pub const SPEC: Spec = Spec {
    id: 13,
    name: "ScheduleFreeAdamW",
    summary: "Schedule-free AdamW: momentum replaced by interpolation and on-the-fly averaging.",
    reference: "Defazio et al., NeurIPS 2024; optax.contrib.schedule_free_adamw",
    torch: None,
    optax: Some("optax.contrib.schedule_free_adamw"),
    optax_counts: &[
        ("step_count", 1),
        ("base_optimizer_state.0.count", 0),
        ("base_optimizer_state.2.count", 0),
    ],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(0.0025),
        WARMUP_STEPS,
        BETA1_SF,
        HParam::beta(2, 0.999),
        HParam::eps(1e-8),
        HParam::weight_decay(
            0.0,
            "Decoupled weight decay, taken at y: d ← d + weightDecay·y.",
        ),
        WEIGHT_LR_POWER,
    ],
    state: &[
        z_slot(),
        Slot::n_nonneg("exp_avg_sq", Some("base_optimizer_state.0.nu")),
        scalar_slot("weight_sum", "weight_sum"),
        scalar_slot("lr_max", "max_lr"),
    ],
    rules: &[],
    driver: Driver::Elementwise,
};

/// The linear warmup `lr · min(c, W) / W` as Optax computes it at an int32 count: in float32.
pub(crate) fn warmup(lr: f64, steps: f64, count: u64) -> f64 {
    let q = (count as f64).min(steps) as f32 / steps as f32;
    let frac = 1.0f32 - q;
    ((-lr) as f32 * frac + lr as f32) as f64
}

/// The averaging scalars of one step, shared by both schedule-free specs.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Average<T> {
    /// −γ, the inner step's rate.
    pub neg_gamma: T,
    pub b1: T,
    pub omb1: T,
    pub c: T,
    pub omc: T,
    /// The tensor's first step: z starts at p.
    pub first: bool,
}

/// Rates, the running maximum and weight sum (`scalars = [weight_sum, lr_max]`, updated), and
/// the interpolation scalars.
pub(crate) fn average<T: Real>(
    t: &Tensor<'_>,
    scalars: &mut [T],
    lr: f64,
    warm: f64,
    b1: f64,
    power: f64,
) -> Average<T> {
    let (gamma, gamma_w) = if warm.is_nan() {
        (lr, lr)
    } else {
        (warmup(lr, warm, t.step - 1), warmup(lr, warm, t.step))
    };
    let lr_max = max_nan(scalars[1], T::of(gamma_w));
    let w = T::of(mathx::pow(lr_max.f64(), power));
    let sum = scalars[0] + w;
    let c = if w.is_nan() || sum.is_nan() {
        f64::NAN
    } else {
        // 0/0 (nothing to average yet, lr 0) counts as 0, as Optax's nan_to_num.
        let q = w.f64() / sum.f64();
        if q.is_nan() {
            0.0
        } else {
            q
        }
    };
    let c = T::of(c);
    scalars[0] = sum;
    scalars[1] = lr_max;
    Average {
        neg_gamma: T::of(-gamma),
        b1: T::of(b1),
        omb1: T::of(1.0 - b1),
        c,
        omc: T::of(1.0 - c.f64()),
        first: t.step == 1,
    }
}

/// The schedule-free tail for one element: the new z from the direction `d`, then x and y.
#[inline(always)]
pub(crate) fn interpolate<T: Real>(a: &Average<T>, y: T, z: T, d: T) -> (T, T) {
    let zn = z + a.neg_gamma * d;
    let x = (y - a.omb1 * z) / a.b1;
    let x = a.omc * x + a.c * zn;
    (a.b1 * x + a.omb1 * zn, zn)
}

pub struct ScheduleFreeAdamW;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    avg: Average<T>,
    b2: T,
    omb2: T,
    inv_bc2_sqrt: T,
    eps: T,
    wd: T,
}

impl Elementwise for ScheduleFreeAdamW {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, scalars: &mut [T]) -> Plan<T> {
        let b2 = t.hp(BETA2);
        let avg = average(t, scalars, t.hp(LR), t.hp(WARMUP), t.hp(BETA1), t.hp(POWER));
        Plan {
            avg,
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            inv_bc2_sqrt: T::of(1.0 / (1.0 - powi_exact(b2, t.step)).sqrt()),
            eps: T::of(t.hp(EPS)),
            wd: T::of(t.hp(WD)),
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        z: &mut [T],
        v: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        let n = p.len();
        let (g, z, v) = (&g[..n], &mut z[..n], &mut v[..n]);
        if pl.avg.first {
            z.copy_from_slice(p);
        }
        let Plan {
            avg,
            b2,
            omb2,
            inv_bc2_sqrt,
            eps,
            wd,
        } = *pl;
        for i in 0..n {
            let (gi, y) = (g[i], p[i]);
            let vi = v[i] * b2 + (gi * gi) * omb2;
            v[i] = vi;
            let d = gi / (vi.sqrt() * inv_bc2_sqrt + eps) + wd * y;
            let (yn, zn) = interpolate(&avg, y, z[i], d);
            z[i] = zn;
            p[i] = yn;
        }
    }
}
