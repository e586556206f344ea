//! Run-time CPU-feature dispatch.
//!
//! The kernels are plain scalar loops that LLVM auto-vectorises. Compiled for the baseline x86-64
//! target they use SSE2 (4 f32 lanes); [`crate::step`] compiles each element loop a second time
//! with AVX2 enabled (8 lanes) and picks that copy at run time when the CPU has it, so the
//! published addon stays portable (no `target-cpu=native`). On wasm32 the same source is built
//! with `simd128`. AVX-512 measured no gain over AVX2 for these memory-bound loops on this
//! project's machine (Zen 4), so it is not dispatched.
//!
//! Results do not depend on the copy chosen: each element sees the same IEEE operations in the
//! same order, and Rust never contracts `a * b + c` into a fused multiply-add on its own.

/// True when the running CPU supports AVX2 (the standard library caches the CPUID probe).
#[inline]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The widest vector instruction set the kernels use on this machine, for `downhill info`.
pub fn level() -> &'static str {
    if has_avx2() {
        "avx2"
    } else if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128"
    } else if cfg!(target_arch = "x86_64") {
        "sse2"
    } else {
        "scalar"
    }
}

/// Runs `f` compiled for AVX2 when the CPU has it: `f`'s body is inlined into a copy of this
/// function built with AVX2 enabled (inlining code without target features into code with more
/// is allowed), so loops inside it vectorise 8 f32 lanes wide. The arithmetic per element is the
/// same IEEE sequence either way (no FMA: only AVX2 is enabled), so results do not change.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx2() {
            // SAFETY: `avx2` only needs AVX2, which the CPU reported just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}
