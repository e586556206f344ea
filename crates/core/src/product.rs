//! Matrix products whose every output element is summed in a fixed order: `k = 0, 1, 2, …`
//! (or, for the bfloat16 emulation, PyTorch's pairwise order), exactly as the TypeScript mirror
//! sums its dot products. They are what Newton–Schulz iterations (Muon, OptaxMuon) are made of.
//!
//! A GEMM crate would be faster still, but it blocks the `k` sum and may fuse multiply-adds, so
//! its results differ from the mirror's in the last bits; the numeric policy (ARCHITECTURE.md)
//! keeps a tolerance for the training engine's GEMMs only, and optimizer steps bit-identical.
//! What makes these loops fast instead is their order: `i`, then `k`, then a block of `j`, so
//! the right-hand matrix is read row by row and a block of [`JB`] accumulators (one per output
//! element, each still summed in `k` order) vectorises; output rows split across threads.

use crate::par;
use crate::real::Real;

/// Output elements accumulated at once: 32 f64 accumulators are 8 AVX2 registers, leaving room
/// for the loads (64 spilled and ran 1.5× slower here; 16 gave too little work per load).
const JB: usize = 32;

/// Multiply-adds below which a product runs on one thread.
const PAR_MIN_WORK: usize = 1 << 18;

/// `out[i·cols + j] ← finish(i, j, Σ_k lhs[i·inner + k] · rhs[k·cols + j])` for the
/// `rows × inner` matrix `lhs` and the `inner × cols` matrix `rhs`, each sum taken in f64 in
/// `k` order from 0.0 (the mirror's `acc = acc + x·y`).
pub fn ordered<T: Real>(
    lhs: &[T],
    rhs: &[T],
    out: &mut [T],
    (rows, inner, cols): (usize, usize, usize),
    parallel: bool,
    finish: &(impl Fn(usize, usize, f64) -> T + Sync),
) {
    let kernel = |first: usize, out: &mut [T]| {
        let mut acc = [0.0f64; JB];
        for (di, orow) in out.chunks_mut(cols).enumerate() {
            let i = first + di;
            let lrow = &lhs[i * inner..(i + 1) * inner];
            for j0 in (0..cols).step_by(JB) {
                let w = JB.min(cols - j0);
                let acc = &mut acc[..w];
                acc.fill(0.0);
                for (k, l) in lrow.iter().enumerate() {
                    let l = l.f64();
                    let r = &rhs[k * cols + j0..k * cols + j0 + w];
                    for (a, x) in acc.iter_mut().zip(r) {
                        *a = *a + l * x.f64();
                    }
                }
                for (jj, a) in acc.iter().enumerate() {
                    orow[j0 + jj] = finish(i, j0 + jj, *a);
                }
            }
        }
    };
    by_rows(out, rows, cols, inner, parallel, &kernel);
}

/// As [`ordered`] for bfloat16 values (each element of `lhs` and `rhs` already a bfloat16 held
/// in `T`), summed in f32 in the order of AVX512-BF16's `vdpbf16ps` as oneDNN runs it for
/// PyTorch: pairs `(k, k+1)` in turn, the odd element's product added before the even one's,
/// an odd length closed with `+ 0` and the last product. Products of bfloat16 values are exact
/// in f32.
pub fn ordered_bf16<T: Real>(
    lhs: &[T],
    rhs: &[T],
    out: &mut [T],
    (rows, inner, cols): (usize, usize, usize),
    parallel: bool,
    finish: &(impl Fn(usize, usize, f32) -> T + Sync),
) {
    let v = |x: T| x.f64() as f32;
    let kernel = |first: usize, out: &mut [T]| {
        let mut acc = [0.0f32; JB];
        for (di, orow) in out.chunks_mut(cols).enumerate() {
            let i = first + di;
            let lrow = &lhs[i * inner..(i + 1) * inner];
            for j0 in (0..cols).step_by(JB) {
                let w = JB.min(cols - j0);
                let acc = &mut acc[..w];
                acc.fill(0.0);
                let row = |k: usize| &rhs[k * cols + j0..k * cols + j0 + w];
                let mut k = 0;
                while k + 1 < inner {
                    let (l1, l0) = (v(lrow[k + 1]), v(lrow[k]));
                    for ((a, x1), x0) in acc.iter_mut().zip(row(k + 1)).zip(row(k)) {
                        *a = *a + l1 * v(*x1);
                        *a = *a + l0 * v(*x0);
                    }
                    k += 2;
                }
                if k < inner {
                    let l0 = v(lrow[k]);
                    for (a, x0) in acc.iter_mut().zip(row(k)) {
                        *a = *a + 0.0;
                        *a = *a + l0 * v(*x0);
                    }
                }
                for (jj, a) in acc.iter().enumerate() {
                    orow[j0 + jj] = finish(i, j0 + jj, *a);
                }
            }
        }
    };
    by_rows(out, rows, cols, inner, parallel, &kernel);
}

/// `dst[j·rows + i] ← src[i·cols + j]`: the `cols × rows` transpose of a `rows × cols` matrix.
pub fn transpose<T: Real>(src: &[T], dst: &mut [T], rows: usize, cols: usize) {
    for i in 0..rows {
        for j in 0..cols {
            dst[j * rows + i] = src[i * cols + j];
        }
    }
}

/// Runs `kernel(first_row, rows_of_out)` over `out`'s rows: on one thread, or split in two
/// halves of rows when the product is large. Every output element is computed whole by one
/// call, so the split does not change any bit.
fn by_rows<T: Real>(
    out: &mut [T],
    rows: usize,
    cols: usize,
    inner: usize,
    parallel: bool,
    kernel: &(impl Fn(usize, &mut [T]) + Sync),
) {
    let out = &mut out[..rows * cols];
    if !parallel || par::threads() < 2 || rows < 2 || rows * cols * inner < PAR_MIN_WORK {
        return crate::simd::wide(|| kernel(0, out));
    }
    let half = rows / 2;
    let (a, b) = out.split_at_mut(half * cols);
    par::join(
        || crate::simd::wide(|| kernel(0, a)),
        || crate::simd::wide(|| kernel(half, b)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mirror's dot product: `acc = acc + x·y` in k order.
    fn dot(x: &[f32], xs: usize, y: &[f32], ys: usize, n: usize) -> f64 {
        let mut acc = 0.0f64;
        for k in 0..n {
            acc = acc + x[k * xs] as f64 * y[k * ys] as f64;
        }
        acc
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                crate::optim::muon::bf16((s as f32 / u32::MAX as f32) * 2.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn ordered_equals_k_ordered_dots_on_any_split() {
        for &(r, k, c) in &[(3, 5, 7), (1, 1, 1), (70, 33, 130), (128, 64, 200)] {
            let (a, b) = (values(r * k, 1), values(k * c, 2));
            for parallel in [false, true] {
                let mut out = vec![0.0f32; r * c];
                ordered(&a, &b, &mut out, (r, k, c), parallel, &|_, _, s| s as f32);
                for i in 0..r {
                    for j in 0..c {
                        let want = dot(&a[i * k..], 1, &b[j..], c, k) as f32;
                        assert_eq!(
                            out[i * c + j].to_bits(),
                            want.to_bits(),
                            "{r}x{k}x{c} ({i},{j})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ordered_bf16_sums_pairs_odd_first() {
        for &(r, k, c) in &[(2, 5, 3), (4, 8, 70), (65, 3, 66)] {
            let (a, b) = (values(r * k, 3), values(k * c, 4));
            let mut out = vec![0.0f32; r * c];
            ordered_bf16(&a, &b, &mut out, (r, k, c), true, &|_, _, s| s);
            for i in 0..r {
                for j in 0..c {
                    let (x, y) = (|q: usize| a[i * k + q], |q: usize| b[q * c + j]);
                    let mut acc = 0.0f32;
                    let mut q = 0;
                    while q + 1 < k {
                        acc = acc + x(q + 1) * y(q + 1);
                        acc = acc + x(q) * y(q);
                        q += 2;
                    }
                    if q < k {
                        acc = acc + 0.0;
                        acc = acc + x(q) * y(q);
                    }
                    assert_eq!(out[i * c + j].to_bits(), acc.to_bits(), "({i},{j})");
                }
            }
        }
    }
}
