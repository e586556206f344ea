//! SGD with momentum, dampening, Nesterov momentum, L2 weight decay and `maximize`.
//!
//! Update rule (PyTorch `torch.optim.SGD`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? −grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! if momentum ≠ 0:
//!     b ← (t = 1) ? g : momentum · b + (1 − dampening) · g
//!     g ← nesterov ? g + momentum · b : b
//! p ← p − lr · g
//! ```
//!
//! Options (defaults): `lr` 1e-3, `momentum` 0, `dampening` 0, `weightDecay` 0, `nesterov`
//! false (needs momentum > 0 and dampening = 0), `maximize` false. State: `momentum_buffer`
//! (only when momentum ≠ 0).
//!
//! Reference: Sutskever et al., "On the importance of initialization and momentum in deep
//! learning" (ICML 2013) for the momentum/Nesterov form PyTorch uses. Differences from PyTorch:
//! the momentum buffer is set from the gradient at a tensor's first step (t = 1), where PyTorch
//! sets it whenever it is missing; they differ only when momentum is switched on mid-run.

use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Init, Len, Rule, Slot, Spec, Test, When};
use crate::step::{Elementwise, Tensor};

const LR: usize = 0;
const MOMENTUM: usize = 1;
const DAMPENING: usize = 2;
const WD: usize = 3;
const NESTEROV: usize = 4;
const MAXIMIZE: usize = 5;

pub const SPEC: Spec = Spec {
    id: 0,
    name: "SGD",
    summary: "Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay.",
    reference: "Robbins & Monro 1951; Sutskever et al., ICML 2013 (momentum form); torch.optim.SGD",
    torch: Some("torch.optim.SGD"),
    optax: Some("optax.sgd"),
    optax_counts: &[],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::real("momentum", Some("momentum"), Some("momentum"), Domain::NON_NEG, 0.0, "Momentum factor."),
        HParam::real("dampening", Some("dampening"), None, Domain::ANY, 0.0, "Dampening of the momentum's gradient term."),
        HParam::weight_decay(0.0, "L2 penalty: weightDecay · p is added to the gradient."),
        HParam::flag("nesterov", Some("nesterov"), Some("nesterov"), false, "Use Nesterov momentum."),
        HParam::MAXIMIZE,
    ],
    state: &[Slot {
        key: "momentum_buffer",
        optax: Some("0.trace"),
        len: Len::N,
        when: When::NonZero("momentum"),
        init: Init::Zero,
        nonneg: false,
    }],
    rules: &[
        Rule { flag: "nesterov", hparam: "momentum", test: Test::Positive },
        Rule { flag: "nesterov", hparam: "dampening", test: Test::Zero },
    ],
    driver: Driver::Elementwise,
};

pub struct Sgd;

const M_WD: u8 = 1;
const M_FIRST: u8 = 2;
const M_RUNNING: u8 = 4;
const M_NESTEROV: u8 = 8;

#[derive(Clone, Copy, PartialEq)]
pub struct Plan<T> {
    sign: T,
    wd: T,
    neg_lr: T,
    momentum: T,
    one_minus_dampening: T,
    mode: u8,
}

impl Elementwise for Sgd {
    const SPEC: &'static Spec = &SPEC;
    type Plan<T: Real> = Plan<T>;

    fn plan<T: Real>(t: &Tensor<'_>, _scalars: &mut [T]) -> Plan<T> {
        let momentum = t.hp(MOMENTUM);
        let mut mode = 0;
        if t.hp(WD) != 0.0 {
            mode |= M_WD;
        }
        if momentum != 0.0 {
            mode |= if t.step == 1 { M_FIRST } else { M_RUNNING };
            if t.flag(NESTEROV) {
                mode |= M_NESTEROV;
            }
        }
        Plan {
            sign: if t.flag(MAXIMIZE) { -T::ONE } else { T::ONE },
            wd: T::of(t.hp(WD)),
            neg_lr: T::of(-t.hp(LR)),
            momentum: T::of(momentum),
            one_minus_dampening: T::of(1.0 - t.hp(DAMPENING)),
            mode,
        }
    }

    #[inline(always)]
    fn apply<T: Real>(
        pl: &Plan<T>,
        p: &mut [T],
        g: &[T],
        s0: &mut [T],
        _: &mut [T],
        _: &mut [T],
        _: &mut [T],
    ) {
        match pl.mode {
            0 => kernel::<T, false, 0, false>(pl, p, g, s0),
            1 => kernel::<T, true, 0, false>(pl, p, g, s0),
            2 => kernel::<T, false, M_FIRST, false>(pl, p, g, s0),
            3 => kernel::<T, true, M_FIRST, false>(pl, p, g, s0),
            4 => kernel::<T, false, M_RUNNING, false>(pl, p, g, s0),
            5 => kernel::<T, true, M_RUNNING, false>(pl, p, g, s0),
            10 => kernel::<T, false, M_FIRST, true>(pl, p, g, s0),
            11 => kernel::<T, true, M_FIRST, true>(pl, p, g, s0),
            12 => kernel::<T, false, M_RUNNING, true>(pl, p, g, s0),
            13 => kernel::<T, true, M_RUNNING, true>(pl, p, g, s0),
            m => unreachable!("sgd mode {m} is never planned"),
        }
    }
}

/// The element loop, monomorphised per option combination so the inner loop has no branches.
#[inline(always)]
fn kernel<T: Real, const WDK: bool, const MODE: u8, const NEST: bool>(
    pl: &Plan<T>,
    p: &mut [T],
    g: &[T],
    buf: &mut [T],
) {
    let Plan {
        sign,
        wd,
        neg_lr,
        momentum,
        one_minus_dampening: omd,
        ..
    } = *pl;
    let n = p.len();
    let g = &g[..n];
    if MODE == 0 {
        for i in 0..n {
            let mut d = g[i] * sign;
            if WDK {
                d = d + wd * p[i];
            }
            p[i] = p[i] + d * neg_lr;
        }
        return;
    }
    let buf = &mut buf[..n];
    for i in 0..n {
        let mut d = g[i] * sign;
        if WDK {
            d = d + wd * p[i];
        }
        let v = if MODE == M_FIRST {
            d
        } else {
            buf[i] * momentum + d * omd
        };
        buf[i] = v;
        d = if NEST { d + v * momentum } else { v };
        p[i] = p[i] + d * neg_lr;
    }
}
