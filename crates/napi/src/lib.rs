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
use napi::{sys, Env, Error, JsValue, Result, Unknown};
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

/// `step` over whole `ArrayBuffer`s instead of typed arrays: the same checks and results, for the
/// TypeScript backend's buffers, which are whole-buffer views. Node-API reads an `ArrayBuffer`'s
/// data pointer for about half the cost of a typed array's (measured: 6 arguments take ~270 ns as
/// buffers, ~430 ns as typed arrays), which is most of a small step's fixed cost.
///
/// `segments` holds f64 values, the others f32; byte lengths must be multiples of the element
/// size and the data suitably aligned (V8 allocates backing stores at least 8-byte aligned).
#[napi(js_name = "stepBuffers")]
#[allow(clippy::too_many_arguments)]
pub fn step_buffers(
    env: Env,
    kernel: u32,
    segments: Unknown,
    params: Unknown,
    grads: Unknown,
    s0: Unknown,
    s1: Unknown,
    s2: Unknown,
) -> Result<()> {
    let raw = [
        array_buffer(&env, &segments, "segments", 8)?,
        array_buffer(&env, &params, "params", 4)?,
        array_buffer(&env, &grads, "grads", 4)?,
        array_buffer(&env, &s0, "state[0]", 4)?,
        array_buffer(&env, &s1, "state[1]", 4)?,
        array_buffer(&env, &s2, "state[2]", 4)?,
    ];
    let range = |(ptr, len): (*mut u8, usize)| ptr as usize..ptr as usize + len;
    let ranges = [
        ("segments", false, range(raw[0])),
        ("params", true, range(raw[1])),
        ("grads", false, range(raw[2])),
        ("state[0]", true, range(raw[3])),
        ("state[1]", true, range(raw[4])),
        ("state[2]", true, range(raw[5])),
    ];
    check_disjoint(&ranges)?;
    // SAFETY: each pointer is the data of an `ArrayBuffer` argument of this call (alive, not
    // detached — a detached buffer reports length 0 — and not resizable by JS while the call
    // lasts, since JS cannot run), aligned and sized for its element type (`array_buffer`), and
    // `check_disjoint` proved that no two of them share a byte, so the one shared and four mutable
    // slices alias nothing.
    let (segs, p, g, a, b, c) = unsafe {
        (
            slice::<f64>(raw[0]),
            slice_mut::<f32>(raw[1]),
            slice::<f32>(raw[2]),
            slice_mut::<f32>(raw[3]),
            slice_mut::<f32>(raw[4]),
            slice_mut::<f32>(raw[5]),
        )
    };
    guarded(|| downhill_core::step(kernel, segs, p, g, [a, b, c], true))?
        .map_err(|e| Error::from_reason(e.to_string()))
}

/// Data pointer and byte length of an `ArrayBuffer` argument whose elements are `size` bytes.
fn array_buffer(env: &Env, v: &Unknown, arg: &str, size: usize) -> Result<(*mut u8, usize)> {
    let mut data = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: `env` and the value are this call's; the out-pointers are valid locals.
    let status =
        unsafe { sys::napi_get_arraybuffer_info(env.raw(), v.value().value, &mut data, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(Error::from_reason(format!(
            "[type] {arg}: must be an ArrayBuffer"
        )));
    }
    if len % size != 0 || (len > 0 && (data as usize) % size != 0) {
        return Err(Error::from_reason(format!(
            "[type] {arg}: byte length {len} (at {data:p}) does not hold whole, aligned {size}-byte elements"
        )));
    }
    Ok((data.cast(), len))
}

/// # Safety
/// `ptr` must be valid for reads of `len` bytes, aligned for `T`, for the returned lifetime.
unsafe fn slice<'a, T>((ptr, len): (*mut u8, usize)) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr.cast(), len / std::mem::size_of::<T>()) }
}

/// # Safety
/// As [`slice`], for writes too, and no other live reference may overlap the bytes.
unsafe fn slice_mut<'a, T>((ptr, len): (*mut u8, usize)) -> &'a mut [T] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts_mut(ptr.cast(), len / std::mem::size_of::<T>()) }
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
