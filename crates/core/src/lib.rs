//! downhill-core: gradient-descent optimizer kernels over flat `f32` arenas.
//!
//! A model's parameters live in one flat arena (tensors are ranges of it); gradients and each
//! optimizer state slot are buffers of the same length. [`step`] applies one optimizer step to
//! any number of segments of the arena, each with its own hyperparameters, in one call. This
//! crate knows nothing of JavaScript: `crates/napi` and `crates/wasm` only marshal into it.

// `x = x + y` is kept over `x += y` in the kernels: the update rules read as written in the docs,
// and the TS mirror spells every operation the same way.
#![allow(clippy::assign_op_pattern)]

pub mod error;
pub mod optim;
pub mod pow;
pub mod registry;
pub mod segment;
pub mod simd;

pub use error::{Error, ErrorKind, Result};
pub use optim::{Bufs, KernelSpec, Plan, Scalars};
pub use registry::{spec, KERNEL_ADAM, KERNEL_ADAMW, KERNEL_SGD, SPECS};
pub use segment::{Segment, SEG_STRIDE};

/// Segments at least this long are split across threads (when `parallel` and the `threads`
/// feature are on). Below it, waking a second core costs more than it saves.
pub const PAR_MIN_LEN: usize = 1 << 18;

/// Applies one step of optimizer `kernel` to every segment of `segments` (see [`segment`]).
///
/// `state[k]` is the k-th state slot of the kernel's spec, the length of `params`, or empty when
/// no segment uses that slot. Everything is checked before any buffer is written; on error
/// nothing has changed.
pub fn step(
    kernel: u32,
    segments: &[f64],
    params: &mut [f32],
    grads: &[f32],
    state: [&mut [f32]; 3],
    parallel: bool,
) -> Result<()> {
    let spec = spec(kernel)
        .ok_or_else(|| Error::range("kernel", format!("unknown optimizer kernel id {kernel}")))?;
    let n = params.len();
    if grads.len() != n {
        return Err(Error::range(
            "grads",
            format!("length {} must equal params length {n}", grads.len()),
        ));
    }
    // Pass 1 checks every row and plan and notes which state slots are used; nothing is
    // written until all of it holds. Pass 2 decodes again (cheap, and allocation-free, which
    // matters for small steps) and runs.
    let mut uses = [false; 3];
    for (i, seg) in segment::rows(segments, n)?.enumerate() {
        let plan = (spec.plan)(&seg?, i)?;
        for (u, p) in uses.iter_mut().zip(plan.uses) {
            *u |= p;
        }
    }
    for (k, slot) in state.iter().enumerate() {
        let name = spec.state.get(k).copied().unwrap_or("unused");
        if uses[k] && slot.len() != n {
            return Err(Error::range(
                format!("state[{k}] ({name})"),
                format!("length {} must equal params length {n}", slot.len()),
            ));
        }
        if !uses[k] && !slot.is_empty() && slot.len() != n {
            return Err(Error::range(
                format!("state[{k}] ({name})"),
                format!("length {} must be 0 or params length {n}", slot.len()),
            ));
        }
    }

    // Carve each segment out of the arena front to back (segments are sorted and disjoint).
    let [s0, s1, s2] = state;
    let mut rest = Bufs {
        params,
        grads,
        state: [s0, s1, s2],
    };
    let mut pos = 0usize;
    for (i, seg) in segment::rows(segments, n)?.enumerate() {
        let seg = seg?;
        let plan = (spec.plan)(&seg, i)?;
        let (_, tail) = rest.split_at(seg.offset - pos);
        let (mut piece, tail) = tail.split_at(seg.len);
        rest = tail;
        pos = seg.offset + seg.len;
        for (slot, used) in piece.state.iter_mut().zip(plan.uses) {
            if !used {
                *slot = &mut [];
            }
        }
        run_piece(&plan, piece, parallel);
    }
    Ok(())
}

fn run_piece(plan: &Plan, piece: Bufs<'_>, parallel: bool) {
    #[cfg(feature = "threads")]
    if parallel && piece.len() >= PAR_MIN_LEN {
        return run_parallel(plan, piece, rayon::current_num_threads());
    }
    let _ = parallel;
    piece.run(plan);
}

/// Splits into `ways` pieces on 64-element boundaries (whole cache lines, whole vectors), so
/// every piece runs the same vector loop and the result is the same as on one thread.
#[cfg(feature = "threads")]
fn run_parallel(plan: &Plan, piece: Bufs<'_>, ways: usize) {
    if ways <= 1 || piece.len() < 2 * 64 {
        return piece.run(plan);
    }
    let left_ways = ways / 2;
    let mid = (piece.len() * left_ways / ways) & !63;
    let (a, b) = piece.split_at(mid);
    rayon::join(
        || run_parallel(plan, a, left_ways),
        || run_parallel(plan, b, ways - left_ways),
    );
}

/// Number of threads a parallel step may use.
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}
