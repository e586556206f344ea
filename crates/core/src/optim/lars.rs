//! LARS: momentum SGD whose step is rescaled per tensor by the trust ratio η·‖p‖ / ‖u‖.
//!
//! Update rule (Optax `optax.lars`, in its order: weight decay, trust ratio, learning rate,
//! momentum; ‖·‖ the L2 norm of one whole tensor):
//!
//! ```text
//! u ← g + weight_decay · p
//! r ← trust_ratio ? trust_coefficient · ‖p‖ / (‖u‖ + ε) : 1      (r = 1 when ‖p‖ = 0 or ‖u‖ = 0)
//! d ← −lr · r · u                          (an update: it points downhill)
//! trace ← d + momentum · trace             (starts at 0, no dampening)
//! p ← p + (nesterov ? d + momentum · trace : trace)
//! ```
//!
//! Options (defaults): `lr` 1, `weightDecay` 0 (Optax's `weight_decay_mask` turns it off per
//! tensor), `trustCoefficient` 0.001, `eps` 0, `trustRatio` true (Optax's `trust_ratio_mask`
//! turns it off per tensor: plain momentum SGD there), `momentum` 0.9, `nesterov` false. State:
//! `trace`, Optax's `3.trace`: the momentum of the **updates**, so it holds the negated
//! PyTorch-style momentum buffer, with Optax's sign so saved states compare directly.
//!
//! The ratio uses the norm of the decayed gradient (Optax), not the paper's ‖g‖ + wd·‖p‖, and is
//! 1 rather than trust_coefficient for a zero tensor, which therefore first moves by a full
//! lr·g. Norms are fixed-order f64 sums ([`crate::par`]), the same bits on every backend.
//!
//! Reference: You, Gitman & Ginsburg, "Large Batch Training of Convolutional Networks"
//! (arXiv:1708.03888, 2017).

use std::ops::Range;

use super::lamb::{add_squares, for_pieces};
use crate::par::{self, LANES};
use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Init, Len, Slot, Spec, When};
use crate::step::{Tensor, Tensorwise, MAX_SLOTS};

const LR: usize = 0;
const WD: usize = 1;
const TRUST_COEFFICIENT: usize = 2;
const EPS: usize = 3;
const TRUST_RATIO: usize = 4;
const MOMENTUM: usize = 5;
const NESTEROV: usize = 6;

pub const SPEC: Spec = Spec {
    id: 10,
    name: "LARS",
    summary: "Layer-wise adaptive rate scaling: momentum SGD with each tensor's step scaled by η·‖p‖/‖g + wd·p‖.",
    reference: "You, Gitman & Ginsburg, arXiv:1708.03888 (2017); optax.lars",
    torch: None,
    optax: Some("optax.lars"),
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1.0),
        HParam::weight_decay(
            0.0,
            "Weight decay added to the gradient before the trust ratio; Optax's weight_decay_mask turns it off per tensor.",
        )
        .masked_by("weight_decay_mask"),
        HParam::real(
            "trustCoefficient",
            Some("trust_coefficient"),
            Some("trust_coefficient"),
            Domain::NON_NEG,
            0.001,
            "The trust coefficient η multiplying ‖p‖/(‖u‖ + eps).",
        ),
        HParam::eps(0.0),
        HParam::flag(
            "trustRatio",
            Some("trust_ratio"),
            None,
            true,
            "Scale by the trust ratio; off, the tensor takes plain momentum SGD steps (Optax's trust_ratio_mask turns it off per tensor).",
        )
        .masked_by("trust_ratio_mask"),
        HParam::real(
            "momentum",
            Some("momentum"),
            Some("momentum"),
            Domain::NON_NEG,
            0.9,
            "Momentum factor of the trace of updates.",
        ),
        HParam::flag(
            "nesterov",
            Some("nesterov"),
            Some("nesterov"),
            false,
            "Use Nesterov momentum.",
        ),
    ],
    state: &[Slot {
        key: "trace",
        optax: Some("3.trace"),
        len: Len::N,
        when: When::Always,
        init: Init::Zero,
        nonneg: false,
    }],
    rules: &[],
    driver: Driver::Tensorwise,
};

pub struct Lars;

impl Tensorwise for Lars {
    const SPEC: &'static Spec = &SPEC;

    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        _scratch: &mut [T],
        parallel: bool,
    ) {
        let wd = T::of(t.hp(WD));
        let ratio = if t.flag(TRUST_RATIO) {
            let pr: &[T] = p;
            let [pp, uu] = par::sum(p.len(), parallel, &|r: Range<usize>| {
                norms_block(wd, &pr[r.clone()], &g[r])
            });
            let (pn, un) = (pp.sqrt(), uu.sqrt());
            if pn == 0.0 || un == 0.0 {
                1.0
            } else {
                t.hp(TRUST_COEFFICIENT) * pn / (un + t.hp(EPS))
            }
        } else {
            1.0
        };
        let k = (wd, T::of(-(t.hp(LR) * ratio)), T::of(t.hp(MOMENTUM)));
        let trace: &mut [T] = slots[0];
        if t.flag(NESTEROV) {
            for_pieces(p, trace, g, &[], parallel, &|p, b, g, _| {
                apply::<T, true>(k, p, b, g)
            });
        } else {
            for_pieces(p, trace, g, &[], parallel, &|p, b, g, _| {
                apply::<T, false>(k, p, b, g)
            });
        }
    }
}

/// Lane sums of p² and (g + wd·p)² over one reduction block (see [`crate::par`]); u goes
/// through a small stack buffer so the sums run in the vector loop of [`add_squares`].
fn norms_block<T: Real>(wd: T, p: &[T], g: &[T]) -> [f64; 2] {
    const PIECE: usize = 512;
    let (mut sp, mut su) = ([0.0f64; LANES], [0.0f64; LANES]);
    add_squares(&mut sp, p);
    let mut buf = [T::ZERO; PIECE];
    for (pc, gc) in p.chunks(PIECE).zip(g.chunks(PIECE)) {
        let u = &mut buf[..pc.len()];
        for ((ui, &pi), &gi) in u.iter_mut().zip(pc).zip(gc) {
            *ui = gi + wd * pi;
        }
        add_squares(&mut su, u);
    }
    [par::combine(sp), par::combine(su)]
}

#[inline(always)]
fn apply<T: Real, const NEST: bool>(k: (T, T, T), p: &mut [T], trace: &mut [T], g: &[T]) {
    let (wd, neg, momentum) = k;
    let n = p.len();
    let (trace, g) = (&mut trace[..n], &g[..n]);
    for i in 0..n {
        let d = (g[i] + wd * p[i]) * neg;
        let b = d + momentum * trace[i];
        trace[i] = b;
        p[i] = p[i] + if NEST { d + momentum * b } else { b };
    }
}
