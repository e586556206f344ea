//! downhill's Node native addon: a thin napi-rs binding over `downhill-core`.
//!
//! It only marshals. Everything goes through one entry, [`call`], which hands the core's
//! [`downhill_core::ops::call`] the caller's `ArrayBuffer`s in place (no copies) after checking
//! that no two of them share memory (the core takes `&mut` slices, which must not alias). Core
//! errors keep their `[range] arg: message` text, which the TypeScript layer (`ts/errors.ts`)
//! turns into `RangeError`/`TypeError`; a Rust panic becomes a JS `Error` whose message starts
//! with `panic: ` instead of aborting the process. Adding an optimizer or an op never touches
//! this file.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use downhill_core::ops::BUFFERS;
use napi::{sys, Env, Error, JsValue, Result, Unknown, ValueType};
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

/// Every optimizer spec the core registers, as JSON.
#[napi]
pub fn specs() -> String {
    downhill_core::specs_json()
}

/// `ops::call(op, dtype, args, buffers)` on the caller's memory: `args` is the `ArrayBuffer` of
/// a `Float64Array` (outputs are written back into it), each `bN` the Nth buffer argument — a
/// typed array (its elements, wherever they start in their `ArrayBuffer`), an `ArrayBuffer`
/// (all of it), or `null`/`undefined` for none.
///
/// Throws `[range] <arg>: overlaps <other>` when two arguments share memory, the core's error
/// text for invalid arguments, and `panic: ...` if the core panics.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn call(
    env: Env,
    op: u32,
    dtype: u32,
    args: Unknown,
    b0: Unknown,
    b1: Unknown,
    b2: Unknown,
    b3: Unknown,
    b4: Unknown,
    b5: Unknown,
) -> Result<()> {
    let a = array_buffer(&env, &args, "args", 8)?;
    let bufs = [b0, b1, b2, b3, b4, b5];
    let mut raw = [(std::ptr::null_mut::<u8>(), 0usize); BUFFERS];
    for (i, b) in bufs.iter().enumerate() {
        raw[i] = buffer_arg(&env, b, NAMES[i])?;
    }
    let range = |(ptr, len): (*mut u8, usize)| ptr as usize..ptr as usize + len;
    let ranges = [
        ("args", range(a)),
        (NAMES[0], range(raw[0])),
        (NAMES[1], range(raw[1])),
        (NAMES[2], range(raw[2])),
        (NAMES[3], range(raw[3])),
        (NAMES[4], range(raw[4])),
        (NAMES[5], range(raw[5])),
    ];
    check_disjoint(&ranges)?;
    // SAFETY: each pointer is the data of an `ArrayBuffer` (or of a typed array's window of one)
    // given to this call (alive for the call, not detached — a detached buffer reports length 0
    // — and not resizable by JS while the call lasts, since JS cannot run); `args` is 8-aligned
    // (`array_buffer` checked it), the byte blocks need no alignment (the core checks its
    // element alignment itself), and `check_disjoint` proved that no two of them share a byte,
    // so the mutable slices alias nothing.
    let (args, blocks) = unsafe {
        let [r0, r1, r2, r3, r4, r5] = raw;
        (
            slice_mut::<f64>(a),
            [
                bytes(r0),
                bytes(r1),
                bytes(r2),
                bytes(r3),
                bytes(r4),
                bytes(r5),
            ],
        )
    };
    guarded(|| downhill_core::call(op, dtype, args, blocks))?
        .map_err(|e| Error::from_reason(e.to_string()))
}

/// Bytes from the start of `buffer`'s data to its first 64-byte boundary. The TypeScript heap
/// allocates 64 bytes more than a buffer needs and views it from there, so the core's element
/// loops run on cache-line-aligned vectors: `malloc`, behind every `ArrayBuffer`, aligns to 16
/// bytes only, and the loops ran 10–18% slower at 1e5–1e6 elements when the vectors of their
/// several arrays straddled cache lines (they can align one array's start, not the others';
/// ARCHITECTURE.md, "Alignment").
///
/// On Linux, a buffer of 4 MiB or more also gets transparent huge pages asked for on every whole
/// 2 MiB page inside it (`madvise(MADV_HUGEPAGE)`, effective where THP is `always` or
/// `madvise`), which takes effect because a fresh buffer's pages are not touched yet: one TLB
/// entry per 2 MiB instead of per 4 KiB. An Adam step over 1e7 parameters measured 0.58–0.64 ns
/// per element on 4 KiB pages and 0.48 on huge pages, one thread; at 1e6 no difference.
///
/// Throws `[type] buffer: must be an ArrayBuffer` for anything else.
#[napi]
pub fn align(env: Env, buffer: Unknown) -> Result<u32> {
    let (data, len) = array_buffer(&env, &buffer, "buffer", 1)?;
    let addr = data as usize;
    let off = (ALIGN - addr % ALIGN) % ALIGN;
    if len >= 2 * HUGE {
        advise_huge(addr, len);
    }
    Ok(off as u32)
}

/// Start of the view the TypeScript heap makes in each buffer: a cache line.
const ALIGN: usize = 64;

/// A transparent huge page.
const HUGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
extern "C" {
    fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: std::ffi::c_int)
        -> std::ffi::c_int;
}

/// Asks for huge pages on the whole 2 MiB pages inside `[addr, addr + len)`. Advice changes
/// neither the contents nor the validity of memory; a refusal changes nothing but the speed.
fn advise_huge(addr: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const MADV_HUGEPAGE: std::ffi::c_int = 14;
        let start = addr.div_ceil(HUGE) * HUGE;
        let end = (addr + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the data of a live `ArrayBuffer` of this process.
            unsafe {
                madvise(start as *mut _, end - start, MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, len);
}

const NAMES: [&str; BUFFERS] = [
    "buffers[0]",
    "buffers[1]",
    "buffers[2]",
    "buffers[3]",
    "buffers[4]",
    "buffers[5]",
];

/// Data pointer and byte length of a buffer argument: a typed array's elements, an
/// `ArrayBuffer`'s bytes, or nothing (null pointer, 0) for `null`/`undefined`. A typed array is
/// tried first (the TypeScript heap passes views), with one Node-API call.
fn buffer_arg(env: &Env, v: &Unknown, arg: &str) -> Result<(*mut u8, usize)> {
    let mut kind = sys::TypedarrayType::uint8_array;
    let mut n = 0usize;
    let mut data = std::ptr::null_mut();
    // SAFETY: `env` and the value are this call's; the out-pointers are valid locals, and the
    // two it may leave unset are documented as optional (null).
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env.raw(),
            v.value().value,
            &mut kind,
            &mut n,
            &mut data,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if status == sys::Status::napi_ok {
        let size = match kind {
            sys::TypedarrayType::int8_array
            | sys::TypedarrayType::uint8_array
            | sys::TypedarrayType::uint8_clamped_array => 1,
            sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
            sys::TypedarrayType::int32_array
            | sys::TypedarrayType::uint32_array
            | sys::TypedarrayType::float32_array => 4,
            // Float64Array, BigInt64Array, BigUint64Array.
            8..=10 => 8,
            other => {
                let msg = format!("[type] {arg}: typed array of unknown element kind {other}");
                return Err(Error::from_reason(msg));
            }
        };
        return Ok(if n == 0 {
            (std::ptr::null_mut(), 0)
        } else {
            (data.cast(), n * size)
        });
    }
    if matches!(v.get_type()?, ValueType::Null | ValueType::Undefined) {
        return Ok((std::ptr::null_mut(), 0));
    }
    array_buffer(env, v, arg, 1).map_err(|_| {
        Error::from_reason(format!(
            "[type] {arg}: must be a typed array, an ArrayBuffer, or null"
        ))
    })
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
/// `ptr` must be valid for reads and writes of `len` bytes, aligned for `T`, for the returned
/// lifetime, and no other live reference may overlap them.
unsafe fn slice_mut<'a, T>((ptr, len): (*mut u8, usize)) -> &'a mut [T] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts_mut(ptr.cast(), len / std::mem::size_of::<T>()) }
}

/// # Safety
/// As [`slice_mut`].
unsafe fn bytes<'a>(r: (*mut u8, usize)) -> &'a mut [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { slice_mut::<u8>(r) }
}

/// Panics with `message` inside the same guard `call` uses; tests use it to prove a Rust panic
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

/// Errors `[range] <b>: overlaps <a>` for the first pair of non-empty ranges that intersect.
fn check_disjoint(ranges: &[(&str, std::ops::Range<usize>)]) -> Result<()> {
    for (i, (a, ra)) in ranges.iter().enumerate() {
        for (b, rb) in &ranges[i + 1..] {
            if !ra.is_empty() && !rb.is_empty() && ra.start < rb.end && rb.start < ra.end {
                return Err(Error::from_reason(format!("[range] {b}: overlaps {a}")));
            }
        }
    }
    Ok(())
}
