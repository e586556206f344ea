//! SGD with momentum, dampening, Nesterov momentum, L2 weight decay and `maximize`.
//!
//! Update rule (PyTorch `torch.optim.SGD`, step t counted from 1):
//!
//! ```text
//! g ← maximize ? -grad : grad
//! if weight_decay ≠ 0:  g ← g + weight_decay · p
//! if momentum ≠ 0:
//!     b ← (t = 1) ? g : momentum · b + (1 − dampening) · g
//!     g ← nesterov ? g + momentum · b : b
//! p ← p − lr · g
//! ```
//!
//! Options (defaults): `lr` (required), `momentum` 0, `dampening` 0, `weight_decay` 0,
//! `nesterov` false (needs momentum > 0 and dampening = 0), `maximize` false.
//! State slot 0 is `momentum_buffer`, used only when momentum ≠ 0.
//!
//! Reference: Sutskever et al., "On the importance of initialization and momentum in deep
//! learning" (ICML 2013) for the momentum/Nesterov form PyTorch uses. Difference from the
//! study card's `SGD`: PyTorch's (and our) buffer accumulates gradients and is scaled by lr at
//! the update, where the card folds lr into the velocity; the two agree only for constant lr.
//!
//! ```
//! use downhill_core::{step, KERNEL_SGD, SEG_STRIDE};
//! let mut p = vec![1.0f32, 2.0];
//! let g = vec![0.5f32, -1.0];
//! let mut row = [0.0f64; SEG_STRIDE];
//! row[1] = 2.0; row[2] = 1.0; row[3] = 0.1; // len, step, lr
//! step(KERNEL_SGD, &row, &mut p, &g, [&mut [], &mut [], &mut []], false).unwrap();
//! assert_eq!(p, vec![1.0 - 0.1 * 0.5, 2.0 + 0.1]);
//! ```

use super::{KernelSpec, Plan, Scalars};
use crate::error::{Error, Result};
use crate::segment::{flag, non_negative, Segment};
use crate::simd::dispatch;

pub const SPEC: KernelSpec = KernelSpec {
    id: 0,
    name: "SGD",
    state: &["momentum_buffer"],
    plan,
};

const WD: u32 = 1;
const MOM_FIRST: u32 = 2;
const MOM_RUNNING: u32 = 4;
const NESTEROV: u32 = 8;

fn plan(seg: &Segment, i: usize) -> Result<Plan> {
    let name = |c: &str| format!("segments[{i}].{c}");
    let momentum = non_negative(seg.extra[0], || name("momentum"))?;
    let dampening = non_negative(seg.extra[1], || name("dampening"))?;
    let nesterov = flag(seg.extra[2], || name("nesterov"))?;
    if nesterov && (momentum <= 0.0 || dampening != 0.0) {
        return Err(Error::range(
            name("nesterov"),
            "requires momentum > 0 and dampening = 0",
        ));
    }
    let mut mode = 0;
    if seg.weight_decay != 0.0 {
        mode |= WD;
    }
    if momentum != 0.0 {
        mode |= if seg.step == 1 {
            MOM_FIRST
        } else {
            MOM_RUNNING
        };
        if nesterov {
            mode |= NESTEROV;
        }
    }
    let mut f = [0.0f32; 12];
    f[0] = if seg.maximize { -1.0 } else { 1.0 };
    f[1] = seg.weight_decay as f32;
    f[2] = (-seg.lr) as f32;
    f[3] = momentum as f32;
    f[4] = (1.0 - dampening) as f32;
    Ok(Plan {
        scalars: Scalars { f, mode },
        uses: [momentum != 0.0, false, false],
        run,
    })
}

/// The element loop, monomorphised per option combination so the inner loop has no branches.
#[inline(always)]
fn kernel<const WDK: bool, const MODE: u32, const NEST: bool>(
    s: &Scalars,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
) {
    let [sign, wd, neg_lr, mom, omd] = [s.f[0], s.f[1], s.f[2], s.f[3], s.f[4]];
    let _ = (s1, s2);
    let n = p.len();
    let p = &mut p[..n];
    let g = &g[..n];
    let buf = s0;
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
        let v = if MODE == MOM_FIRST {
            d
        } else {
            buf[i] * mom + d * omd
        };
        buf[i] = v;
        d = if NEST { d + v * mom } else { v };
        p[i] = p[i] + d * neg_lr;
    }
}

dispatch!(run, |s, p, g, s0, s1, s2| match s.mode {
    0 => kernel::<false, 0, false>(s, p, g, s0, s1, s2),
    1 => kernel::<true, 0, false>(s, p, g, s0, s1, s2),
    2 => kernel::<false, MOM_FIRST, false>(s, p, g, s0, s1, s2),
    3 => kernel::<true, MOM_FIRST, false>(s, p, g, s0, s1, s2),
    4 => kernel::<false, MOM_RUNNING, false>(s, p, g, s0, s1, s2),
    5 => kernel::<true, MOM_RUNNING, false>(s, p, g, s0, s1, s2),
    10 => kernel::<false, MOM_FIRST, true>(s, p, g, s0, s1, s2),
    11 => kernel::<true, MOM_FIRST, true>(s, p, g, s0, s1, s2),
    12 => kernel::<false, MOM_RUNNING, true>(s, p, g, s0, s1, s2),
    13 => kernel::<true, MOM_RUNNING, true>(s, p, g, s0, s1, s2),
    m => unreachable!("sgd mode {m} is never planned"),
});
