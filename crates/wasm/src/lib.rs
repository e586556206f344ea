//! downhill-wasm: the WebAssembly binding of `downhill-core`, via wasm-bindgen.
//!
//! Deliberately thin and numeric: it owns blocks of this instance's linear memory (the parameter
//! arena, gradients, optimizer state and every other buffer live there, and JS reads and writes
//! them through typed-array views), and forwards [`call`] to the core's one entry,
//! `downhill_core::ops::call`. No per-optimizer or per-op code lives here.
//!
//! Every export takes and returns numbers only, so an instance needs no JavaScript glue state:
//! the TypeScript backend (`ts/backend/wasm.ts`) instantiates the module once per `Heap` (one
//! parameter store and what it owns), which keeps one store's out-of-memory or trap away from
//! the others and lets the garbage collector free a forgotten store's whole memory.
//!
//! Allocation is fallible: `alloc` returns 0 when the memory cannot grow, never traps. Built with
//! `panic = "abort"`: a panic (a bug, never bad input; the core reports bad input as an error)
//! traps the instance, and the TypeScript layer then discards it.
//!
//! With the cargo feature `threads` (the second build, `bindings/wasm-threads/`: atomics, a
//! shared imported memory, the core's `threads` feature) the module also exports a rayon pool
//! whose threads are Web Workers ([`pool`]); every other export is the same.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

#[cfg(feature = "threads")]
pub mod pool;

/// Alignment of every block: enough for f64.
const ALIGN: usize = 8;

thread_local! {
    /// Live blocks: start → byte length. `call` accepts only ranges inside them.
    static BLOCKS: RefCell<BTreeMap<usize, usize>> = const { RefCell::new(BTreeMap::new()) };
    /// The text of the last error (read through `error_ptr`/`error_len`).
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
    /// Static texts handed out by pointer (specs, info), built once.
    static TEXTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A zeroed, 8-aligned block of `bytes` bytes (`bytes` > 0); 0 when memory cannot grow.
#[wasm_bindgen]
pub fn alloc(bytes: u32) -> u32 {
    let Ok(layout) = Layout::from_size_align(bytes.max(1) as usize, ALIGN) else {
        return 0;
    };
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { alloc_zeroed(layout) };
    if ptr.is_null() {
        return 0;
    }
    BLOCKS.with(|b| b.borrow_mut().insert(ptr as usize, bytes as usize));
    ptr as usize as u32
}

/// Frees a block from `alloc`. Returns 0, or 1 when `ptr` is not a live block (nothing is done).
#[wasm_bindgen]
pub fn free(ptr: u32) -> u32 {
    let Some(bytes) = BLOCKS.with(|b| b.borrow_mut().remove(&(ptr as usize))) else {
        return 1;
    };
    let layout = Layout::from_size_align(bytes.max(1), ALIGN).expect("allocated with this layout");
    // SAFETY: `ptr` was returned by `alloc_zeroed` with this layout and is freed once (it was
    // just removed from the live set).
    unsafe { dealloc(ptr as usize as *mut u8, layout) };
    0
}

/// Total bytes in live blocks.
#[wasm_bindgen]
pub fn live_bytes() -> f64 {
    BLOCKS.with(|b| b.borrow().values().sum::<usize>() as f64)
}

fn inside(ptr: usize, len: usize) -> bool {
    if len == 0 {
        return true;
    }
    BLOCKS.with(|b| {
        b.borrow()
            .range(..=ptr)
            .next_back()
            .is_some_and(|(&start, &n)| ptr.checked_add(len).is_some_and(|end| end <= start + n))
    })
}

fn fail(msg: String) -> u32 {
    LAST.with(|l| *l.borrow_mut() = msg);
    1
}

/// `ops::call(op, dtype, args, buffers)`: `args` is `nargs` f64 at `args_ptr`; buffer i is
/// `lenI` bytes at `ptrI` (0, 0 for none). Every range must lie inside a live block and no two
/// may overlap. Returns 0, or 1 with the error text in `error_ptr`/`error_len` (the core's
/// `[range] arg: message`), in which case nothing has changed.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn call(
    op: u32,
    dtype: u32,
    args_ptr: u32,
    nargs: u32,
    p0: u32,
    l0: u32,
    p1: u32,
    l1: u32,
    p2: u32,
    l2: u32,
    p3: u32,
    l3: u32,
    p4: u32,
    l4: u32,
    p5: u32,
    l5: u32,
) -> u32 {
    let args = (args_ptr as usize, nargs as usize * 8);
    let raw = [(p0, l0), (p1, l1), (p2, l2), (p3, l3), (p4, l4), (p5, l5)]
        .map(|(p, l)| (p as usize, l as usize));
    if args.0 % 8 != 0 || !inside(args.0, args.1) {
        return fail("[type] args: must be a live 8-aligned block of this instance".into());
    }
    let names = [
        "buffers[0]",
        "buffers[1]",
        "buffers[2]",
        "buffers[3]",
        "buffers[4]",
        "buffers[5]",
    ];
    for (i, &(p, l)) in raw.iter().enumerate() {
        if !inside(p, l) {
            return fail(format!(
                "[type] {}: must lie in a live block of this instance",
                names[i]
            ));
        }
    }
    let all = [
        ("args", args),
        (names[0], raw[0]),
        (names[1], raw[1]),
        (names[2], raw[2]),
        (names[3], raw[3]),
        (names[4], raw[4]),
        (names[5], raw[5]),
    ];
    for (i, (a, (pa, la))) in all.iter().enumerate() {
        for (b, (pb, lb)) in &all[i + 1..] {
            if *la > 0 && *lb > 0 && pa < &(pb + lb) && pb < &(pa + la) {
                return fail(format!("[range] {b}: overlaps {a}"));
            }
        }
    }
    // SAFETY: every range lies inside a live block of this instance's memory (checked above),
    // `args` is 8-aligned, and no two ranges overlap, so the mutable slices alias nothing; JS
    // cannot touch the memory while this call runs.
    let (args, bufs) = unsafe {
        let s = |(p, l): (usize, usize)| -> &mut [u8] {
            if l == 0 {
                &mut []
            } else {
                std::slice::from_raw_parts_mut(p as *mut u8, l)
            }
        };
        let args: &mut [f64] = if args.1 == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(args.0 as *mut f64, args.1 / 8)
        };
        let [r0, r1, r2, r3, r4, r5] = raw;
        (args, [s(r0), s(r1), s(r2), s(r3), s(r4), s(r5)])
    };
    match downhill_core::call(op, dtype, args, bufs) {
        Ok(()) => 0,
        Err(e) => fail(e.to_string()),
    }
}

/// Pointer and length of the last error's UTF-8 text.
#[wasm_bindgen]
pub fn error_ptr() -> u32 {
    LAST.with(|l| l.borrow().as_ptr() as usize as u32)
}

#[wasm_bindgen]
pub fn error_len() -> u32 {
    LAST.with(|l| l.borrow().len() as u32)
}

/// A text that lives as long as the instance, as (pointer, length) in one f64: ptr · 2^32 + len.
fn text(index: usize, make: impl FnOnce() -> String) -> f64 {
    TEXTS.with(|t| {
        let mut t = t.borrow_mut();
        while t.len() <= index {
            t.push(String::new());
        }
        if t[index].is_empty() {
            t[index] = make();
        }
        (t[index].as_ptr() as usize as f64) * 4_294_967_296.0 + t[index].len() as f64
    })
}

/// Every optimizer spec as JSON (see `text` for the encoding).
#[wasm_bindgen]
pub fn specs() -> f64 {
    text(0, downhill_core::specs_json)
}

/// `{"version":"0.1.0","simd":"simd128","threads":1}` (see `text` for the encoding).
#[wasm_bindgen]
pub fn info() -> f64 {
    text(1, || {
        format!(
            "{{\"version\":\"{}\",\"simd\":\"{}\",\"threads\":{}}}",
            env!("CARGO_PKG_VERSION"),
            downhill_core::simd::level(),
            downhill_core::threads()
        )
    })
}

/// Panics on purpose, for tests: with `panic = "abort"` the instance traps
/// (`WebAssembly.RuntimeError: unreachable`) and must be thrown away.
#[wasm_bindgen]
pub fn test_trap() {
    panic!("downhill-wasm: test_trap called");
}
