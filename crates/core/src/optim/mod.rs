//! Optimizer kernels, one algorithm per file. Each file has its `SPEC` (registered in
//! `registry.rs`), a `plan` that checks one segment's hyperparameters and computes its per-step
//! scalars once, and a `run` that applies the element-wise update to a slice of the arena.

pub mod adam;
pub mod adamw;
pub mod sgd;

use crate::error::Result;
use crate::segment::Segment;

/// The buffers of one contiguous piece of the arena. Unused state slots are empty slices.
pub struct Bufs<'a> {
    pub params: &'a mut [f32],
    pub grads: &'a [f32],
    pub state: [&'a mut [f32]; 3],
}

impl<'a> Bufs<'a> {
    /// Splits every buffer at `mid` (empty state slots stay empty on both sides).
    pub fn split_at(self, mid: usize) -> (Bufs<'a>, Bufs<'a>) {
        let (p0, p1) = self.params.split_at_mut(mid);
        let (g0, g1) = self.grads.split_at(mid);
        let [s0, s1, s2] = self.state;
        let split = |s: &'a mut [f32]| -> (&'a mut [f32], &'a mut [f32]) {
            if s.is_empty() {
                (&mut [], &mut [])
            } else {
                s.split_at_mut(mid)
            }
        };
        let (a0, b0) = split(s0);
        let (a1, b1) = split(s1);
        let (a2, b2) = split(s2);
        (
            Bufs {
                params: p0,
                grads: g0,
                state: [a0, a1, a2],
            },
            Bufs {
                params: p1,
                grads: g1,
                state: [b0, b1, b2],
            },
        )
    }

    /// Runs `plan`'s element loop over these buffers.
    pub fn run(self, plan: &Plan) {
        let [s0, s1, s2] = self.state;
        (plan.run)(&plan.scalars, self.params, self.grads, s0, s1, s2);
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

/// Per-step scalars of one segment, already rounded to the f32 the element math uses.
/// Each kernel gives its own meaning to `f` and `mode`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scalars {
    pub f: [f32; 12],
    pub mode: u32,
}

/// What a kernel will do to one segment: its scalars, which state slots it reads and writes,
/// and the element loop.
#[derive(Clone, Copy)]
pub struct Plan {
    pub scalars: Scalars,
    pub uses: [bool; 3],
    pub run: RunFn,
}

/// A kernel's element loop: scalars, params, grads, and the three state slots (empty if unused).
pub type RunFn = fn(&Scalars, &mut [f32], &[f32], &mut [f32], &mut [f32], &mut [f32]);

/// The registry's view of an optimizer.
pub struct KernelSpec {
    /// Stable numeric id used on the wire (`step(kernel, ...)`).
    pub id: u32,
    /// PyTorch's class name.
    pub name: &'static str,
    /// PyTorch's state key for each slot, in slot order.
    pub state: &'static [&'static str],
    /// Checks one segment (`index` is its row, for error messages) and computes its scalars.
    pub plan: fn(&Segment, usize) -> Result<Plan>,
}
