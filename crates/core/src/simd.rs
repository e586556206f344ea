//! Run-time CPU-feature dispatch.
//!
//! The kernels are plain scalar loops that LLVM auto-vectorises. Compiled for the baseline x86-64
//! target they use SSE2 (4 lanes); `dispatch!` compiles each kernel a second time with AVX2
//! enabled (8 lanes) and picks that copy at run time when the CPU has it, so the published addon
//! stays portable (no `target-cpu=native`). On wasm32 the same source is built with `simd128`.
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

/// Defines a kernel entry `fn $name(s, p, g, s0, s1, s2)` (see `optim::RunFn`) from a body that
/// is inlined into a baseline copy and, on x86-64, an AVX2 copy selected at run time.
///
/// Slices, not a struct of slices, are the parameters: `&mut` parameters are `noalias` to LLVM,
/// which is what lets it vectorise the loops without run-time overlap checks.
macro_rules! dispatch {
    ($name:ident, |$s:ident, $p:ident, $g:ident, $s0:ident, $s1:ident, $s2:ident| $body:expr) => {
        fn $name(
            $s: &Scalars,
            $p: &mut [f32],
            $g: &[f32],
            $s0: &mut [f32],
            $s1: &mut [f32],
            $s2: &mut [f32],
        ) {
            #[inline(always)]
            fn body(
                $s: &Scalars,
                $p: &mut [f32],
                $g: &[f32],
                $s0: &mut [f32],
                $s1: &mut [f32],
                $s2: &mut [f32],
            ) {
                $body
            }
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn wide(
                    s: &Scalars,
                    p: &mut [f32],
                    g: &[f32],
                    s0: &mut [f32],
                    s1: &mut [f32],
                    s2: &mut [f32],
                ) {
                    body(s, p, g, s0, s1, s2)
                }
                if $crate::simd::has_avx2() {
                    // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
                    return unsafe { wide($s, $p, $g, $s0, $s1, $s2) };
                }
            }
            body($s, $p, $g, $s0, $s1, $s2)
        }
    };
}
pub(crate) use dispatch;
