//! Lookahead: any optimizer steps k times on fast weights, then slow weights move part of the
//! way towards them and the fast weights restart from there.
//!
//! Update rule (Optax `optax.lookahead`, step t counted from 1):
//!
//! ```text
//! fast ← inner optimizer's step (on fast, with its own state)
//! if t mod sync_period = 0:
//!     slow ← slow + slow_step_size · (fast − slow)
//!     fast ← slow
//!     if reset_state: the inner optimizer's state restarts (Adam's count at 0, moments at 0)
//! ```
//!
//! Options (defaults): `syncPeriod` 5, `slowStepSize` 0.5, `resetState` false. State: the inner
//! optimizer's, the slow weights, and the steps since the last synchronization (Optax
//! `steps_since_sync` = t mod sync_period).
//!
//! The step runs in TypeScript (`ts/optim/lookahead.ts`): the inner optimizer's step, then the
//! synchronization as two core vector ops (`LERP`, `COPY`) over the slow-weight buffer. This spec
//! only describes the options. Optax writes the synchronization as an update to the fast weights,
//! so its fast and slow weights agree after a sync only to rounding; here they are equal.
//!
//! Reference: Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step back"
//! (NeurIPS 2019).

use crate::spec::{Default, Domain, Driver, HParam, Kind, Spec};

pub const SPEC: Spec = Spec {
    id: 15,
    name: "Lookahead",
    summary: "Wraps an optimizer: every k steps, slow weights move towards the fast ones, which restart there.",
    reference: "Zhang et al., NeurIPS 2019; optax.lookahead",
    torch: None,
    optax: Some("optax.lookahead"),
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam {
            name: "syncPeriod",
            torch: Some("k"),
            optax: Some("sync_period"),
            optax_mask: None,
            kind: Kind::Int(Domain::COUNT),
            default: Default::Value(5.0),
            doc: "Fast steps between synchronizations (k).",
        },
        HParam::real(
            "slowStepSize",
            Some("alpha"),
            Some("slow_step_size"),
            Domain::UNIT,
            0.5,
            "How far the slow weights move towards the fast ones at a synchronization (α).",
        ),
        HParam::flag(
            "resetState",
            Some("reset_state"),
            Some("reset_state"),
            false,
            "Restart the inner optimizer's state at every synchronization.",
        ),
    ],
    state: &[],
    rules: &[],
    driver: Driver::Ts,
};
