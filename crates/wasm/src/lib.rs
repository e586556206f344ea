//! downhill-wasm: the WebAssembly binding of `downhill-core`, via wasm-bindgen.
//!
//! Deliberately thin: it owns `f32` buffers in linear memory (the parameter arena, gradients and
//! optimizer state all live there, so JS reads and writes them through `Float32Array` views at
//! `ptr()`), and forwards one `step` call to the core. No per-optimizer code lives here.
//!
//! Built with `panic = "abort"`: a panic (a bug, never bad input; the core reports bad input as
//! an `Err`) traps the instance, and the TypeScript layer (`ts/backend/wasm.ts`) then discards it.

use wasm_bindgen::prelude::*;

/// A zero-initialised block of `f32` in this instance's linear memory. JS frees it with `.free()`.
#[wasm_bindgen]
pub struct F32Buffer {
    data: Vec<f32>,
}

#[wasm_bindgen]
impl F32Buffer {
    /// `len` zeroed elements (zero-length buffers allocate nothing).
    #[wasm_bindgen(constructor)]
    pub fn new(len: u32) -> F32Buffer {
        F32Buffer {
            data: vec![0.0; len as usize],
        }
    }

    /// Byte offset of the data in the instance's memory (4-aligned; meaningless when empty).
    pub fn ptr(&self) -> u32 {
        self.data.as_ptr() as usize as u32
    }

    /// Number of `f32` elements.
    pub fn len(&self) -> u32 {
        self.data.len() as u32
    }

    /// True when the buffer has no elements.
    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// One optimizer step (see `downhill_core::step`). Unused state slots are zero-length buffers;
/// pass three distinct objects (wasm-bindgen cannot borrow one object mutably twice). On an
/// argument error the message is the core's `[range] arg: message` text and nothing has changed.
#[wasm_bindgen]
pub fn step(
    kernel: u32,
    segments: &[f64],
    params: &mut F32Buffer,
    grads: &F32Buffer,
    s0: &mut F32Buffer,
    s1: &mut F32Buffer,
    s2: &mut F32Buffer,
) -> Result<(), JsError> {
    downhill_core::step(
        kernel,
        segments,
        &mut params.data,
        &grads.data,
        [&mut s0.data, &mut s1.data, &mut s2.data],
        false,
    )
    .map_err(|e| JsError::new(&e.to_string()))
}

/// `{"version":"0.1.0","simd":"simd128","threads":1}`.
#[wasm_bindgen]
pub fn info() -> String {
    format!(
        "{{\"version\":\"{}\",\"simd\":\"{}\",\"threads\":{}}}",
        env!("CARGO_PKG_VERSION"),
        downhill_core::simd::level(),
        downhill_core::threads()
    )
}

/// Panics on purpose, for tests: with `panic = "abort"` the instance traps
/// (`WebAssembly.RuntimeError: unreachable`) and must be thrown away.
#[wasm_bindgen]
pub fn test_trap() {
    panic!("downhill-wasm: test_trap called");
}
