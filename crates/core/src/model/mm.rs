//! The three matrix products of a dense layer, on row-major blocks, through the `gemm` crate.
//!
//! `gemm::gemm(m, n, k, dst, dst_cs, dst_rs, read_dst, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs,
//! alpha, beta, …)` computes `dst = alpha·dst + beta·lhs·rhs` (column stride before row stride;
//! alpha and beta in the reverse of BLAS's roles). We always overwrite (`read_dst = false`,
//! `beta = 1`), so the product is the GEMM's own sum: its order (k blocking, FMA on native, the
//! simd128 kernel on WASM) is the only place where backends differ (see ARCHITECTURE.md,
//! "Training engine"). Results do not depend on the thread count: `gemm` splits rows and columns
//! of `dst` between threads, never the k sum.
//!
//! `gemm` allocates its packing buffers per call (it has no entry taking caller-owned memory);
//! the allocator reuses them from call to call, so memory does not grow after the first step.

use crate::real::Real;

fn parallelism() -> gemm::Parallelism {
    #[cfg(feature = "threads")]
    {
        if crate::par::threads() > 1 {
            // 0: rayon's current pool, i.e. the core's (the model ops run inside it).
            return gemm::Parallelism::Rayon(0);
        }
    }
    gemm::Parallelism::None
}

/// `c[m×n] (row stride n) = a·b` with `a(i, l) = a[i·a_rs + l·a_cs]` and
/// `b(l, j) = b[l·b_rs + j·b_cs]`.
#[allow(clippy::too_many_arguments)]
fn product<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [T],
    a: &[T],
    a_rs: usize,
    a_cs: usize,
    b: &[T],
    b_rs: usize,
    b_cs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, rs: usize, cols: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c.len() >= m * n, "gemm: dst too short");
    if k == 0 {
        c[..m * n].fill(T::ZERO);
        return;
    }
    assert!(a.len() > last(m, a_rs, k, a_cs), "gemm: lhs too short");
    assert!(b.len() > last(k, b_rs, n, b_cs), "gemm: rhs too short");
    // SAFETY: the asserts above keep every element gemm reads (`a` at i·a_rs + l·a_cs for i < m,
    // l < k; `b` likewise) and writes (`c` at i·n + j) inside its slice; `c` is a unique borrow,
    // so it overlaps neither input; all strides fit isize because the slices do.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            parallelism(),
        );
    }
}

/// Forward: `y[rows×out] = x[rows×inp] · wᵀ` for `w` of shape `[out, inp]`.
pub fn xwt<T: Real>(y: &mut [T], x: &[T], w: &[T], rows: usize, inp: usize, out: usize) {
    product(rows, out, inp, y, x, inp, 1, w, 1, inp);
}

/// Weight gradient: `dw[out×inp] = gᵀ · x` for `g` of shape `[rows, out]`, `x` `[rows, inp]`.
pub fn gtx<T: Real>(dw: &mut [T], g: &[T], x: &[T], rows: usize, inp: usize, out: usize) {
    product(out, inp, rows, dw, g, 1, out, x, inp, 1);
}

/// Input gradient: `dx[rows×inp] = g · w` for `g` `[rows, out]`, `w` `[out, inp]`.
pub fn gw<T: Real>(dx: &mut [T], g: &[T], w: &[T], rows: usize, inp: usize, out: usize) {
    product(rows, inp, out, dx, g, out, 1, w, inp, 1);
}
