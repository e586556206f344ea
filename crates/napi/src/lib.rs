//! downhill's Node native addon: a thin napi-rs binding over `downhill-core`.
//!
//! It only marshals: the caller's typed arrays are borrowed in place (no copies), checked not to
//! overlap (the core takes `&mut` slices, which must not alias), and handed to
//! [`downhill_core::step`]. Core errors keep their `[range] arg: message` Display text, which the
//! TypeScript layer (`ts/errors.ts`) turns into `RangeError`/`TypeError`; a Rust panic becomes a
//! JS `Error` whose message starts with `panic: ` instead of aborting the process.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{Float32ArraySlice, Float64ArraySlice};
use napi::{Error, Result};
use napi_derive::napi;

/// What `info()` returns to JS.
#[napi(object)]
pub struct Info {
    /// The addon's crate version.
    pub version: String,
    /// Widest vector instruction set the kernels use on this CPU (`avx2`, `sse2`, ...).
    pub simd: String,
    /// Threads a large step may use.
    pub threads: u32,
}

/// Version, SIMD level and thread count of this addon.
#[napi]
pub fn info() -> Info {
    Info {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        simd: downhill_core::simd::level().to_owned(),
        threads: u32::try_from(downhill_core::threads()).unwrap_or(u32::MAX),
    }
}

/// One optimizer step over the whole arena, in place on the caller's arrays.
///
/// Unused state slots are zero-length `Float32Array`s. Throws `[range] <arg>: overlaps <other>`
/// when two of the arrays share memory, the core's error text for invalid arguments, and
/// `panic: ...` if the core panics.
#[napi]
pub fn step(
    kernel: u32,
    segments: Float64ArraySlice,
    mut params: Float32ArraySlice,
    grads: Float32ArraySlice,
    mut s0: Float32ArraySlice,
    mut s1: Float32ArraySlice,
    mut s2: Float32ArraySlice,
) -> Result<()> {
    // Byte ranges of every buffer (and whether the core writes it), checked before any `&mut`
    // slice exists.
    let ranges = [
        ("segments", false, byte_range(&segments)),
        ("params", true, byte_range(&params)),
        ("grads", false, byte_range(&grads)),
        ("state[0]", true, byte_range(&s0)),
        ("state[1]", true, byte_range(&s1)),
        ("state[2]", true, byte_range(&s2)),
    ];
    check_disjoint(&ranges)?;
    // SAFETY: the arrays stay alive (borrowed from this call's arguments) for the whole call, JS
    // cannot run while it lasts, and `check_disjoint` proved no two of them share a byte, so
    // these mutable slices alias nothing else we hold.
    let (p, a, b, c) = unsafe { (params.as_mut(), s0.as_mut(), s1.as_mut(), s2.as_mut()) };
    let (segs, g): (&[f64], &[f32]) = (&segments, &grads);
    guarded(|| downhill_core::step(kernel, segs, p, g, [a, b, c], true))?
        .map_err(|e| Error::from_reason(e.to_string()))
}

/// Panics with `message` inside the same guard `step` uses; tests use it to prove a Rust panic
/// surfaces as a JS `Error` (`panic: <message>`) and the process survives.
#[napi(js_name = "testPanic")]
pub fn test_panic(message: String) -> Result<()> {
    guarded(|| panic!("{message}"))
}

/// Runs `f`, turning a panic into a JS error `panic: <payload>`.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|payload| Error::from_reason(format!("panic: {}", panic_text(&*payload))))
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

/// `start..end` of a slice's bytes in memory.
fn byte_range<T>(s: &[T]) -> std::ops::Range<usize> {
    let start = s.as_ptr() as usize;
    start..start + std::mem::size_of_val(s)
}

/// Errors `[range] <b>: overlaps <a>` for the first pair of non-empty ranges that intersect and
/// of which at least one is written (two read-only views may share memory).
fn check_disjoint(ranges: &[(&str, bool, std::ops::Range<usize>)]) -> Result<()> {
    for (i, (a, a_mut, ra)) in ranges.iter().enumerate() {
        for (b, b_mut, rb) in &ranges[i + 1..] {
            let overlap =
                !ra.is_empty() && !rb.is_empty() && ra.start < rb.end && rb.start < ra.end;
            if overlap && (*a_mut || *b_mut) {
                return Err(Error::from_reason(format!("[range] {b}: overlaps {a}")));
            }
        }
    }
    Ok(())
}
