//! Threads and fixed-order reductions.
//!
//! Element loops split long runs across the rayon pool on 64-element boundaries (whole cache
//! lines and whole vectors), so every piece runs the same vector code and the result is the same
//! as on one thread. Reductions are blocked: the block length is a function of the element count
//! only, each block sums its elements in [`LANES`] interleaved lanes combined by a fixed tree, and
//! block sums are added in block order. Threads take whole blocks, so a reduction gives the same
//! bits whatever the number of threads, and the TypeScript mirror (`ts/kernels/par.ts`) follows
//! the same order to give the same bits again. All sums are in f64.

use std::ops::Range;

use crate::real::Real;

/// Element loops at least this long are split across threads (native builds only).
/// Below it, waking a second core costs more than it saves (see ARCHITECTURE.md).
pub const PAR_MIN_LEN: usize = 1 << 16;

/// Number of interleaved accumulators per block: element `i` of a block goes to lane `i % 8`.
pub const LANES: usize = 8;

/// At most this many blocks: the block length grows with the element count beyond
/// `MIN_BLOCK · MAX_BLOCKS` elements, so partial sums fit on the stack.
pub const MAX_BLOCKS: usize = 1024;
pub const MIN_BLOCK: usize = 4096;

/// Number of threads a parallel call may use.
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

/// Runs `a` and `b`, on two threads when the `threads` feature is on.
#[inline]
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    #[cfg(feature = "threads")]
    {
        rayon::join(a, b)
    }
    #[cfg(not(feature = "threads"))]
    {
        (a(), b())
    }
}

/// Runs `f` on a thread of the pool when the `threads` feature is on and the pool has several
/// threads (and the caller is not already one of them). The model ops run a whole minibatch
/// this way: each of their parallel GEMMs then starts from inside the pool instead of handing its
/// work over from the caller's thread (Node's main thread), which cost 5–10% per step.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "threads")]
    {
        if rayon::current_thread_index().is_none() && rayon::current_num_threads() > 1 {
            let mut r = None;
            rayon::scope(|_| r = Some(f()));
            return r.expect("rayon::scope runs its closure");
        }
    }
    f()
}

/// Where to split `len` elements into `left_ways` of `ways` pieces, on a 64-element boundary.
#[inline]
pub fn split_point(len: usize, left_ways: usize, ways: usize) -> usize {
    (len * left_ways / ways) & !63
}

fn cut<T>(s: &[T], mid: usize) -> (&[T], &[T]) {
    if s.is_empty() {
        (&[], &[])
    } else {
        s.split_at(mid)
    }
}

fn cut_mut<T>(s: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    if s.is_empty() {
        (&mut [], &mut [])
    } else {
        s.split_at_mut(mid)
    }
}

/// An element loop over `a` (written) and `b`, `c` (read; empty or as long as `a`): `f` runs on
/// matching chunks, split across threads on 64-element boundaries when the loop is long, each
/// chunk in its AVX2 copy when the CPU has it. Element-wise, so the result is the same however it
/// is split.
pub fn for_chunks<T: Real>(
    a: &mut [T],
    b: &[T],
    c: &[T],
    parallel: bool,
    f: &(impl Fn(&mut [T], &[T], &[T]) + Sync),
) {
    let ways = if parallel && a.len() >= PAR_MIN_LEN {
        threads()
    } else {
        1
    };
    split3(a, b, c, ways, f);
}

fn split3<T: Real>(
    a: &mut [T],
    b: &[T],
    c: &[T],
    ways: usize,
    f: &(impl Fn(&mut [T], &[T], &[T]) + Sync),
) {
    if ways <= 1 || a.len() < 128 {
        return crate::simd::wide(|| f(a, b, c));
    }
    let left = ways / 2;
    let mid = split_point(a.len(), left, ways);
    let (a0, a1) = a.split_at_mut(mid);
    let (b0, b1) = cut(b, mid);
    let (c0, c1) = cut(c, mid);
    join(
        || split3(a0, b0, c0, left, f),
        || split3(a1, b1, c1, ways - left, f),
    );
}

/// As [`for_chunks`] with two written slices (`SWAP`).
pub fn for_chunks2<T: Real>(
    a: &mut [T],
    b: &mut [T],
    parallel: bool,
    f: &(impl Fn(&mut [T], &mut [T]) + Sync),
) {
    let ways = if parallel && a.len() >= PAR_MIN_LEN {
        threads()
    } else {
        1
    };
    split2(a, b, ways, f);
}

fn split2<T: Real>(
    a: &mut [T],
    b: &mut [T],
    ways: usize,
    f: &(impl Fn(&mut [T], &mut [T]) + Sync),
) {
    if ways <= 1 || a.len() < 128 {
        return crate::simd::wide(|| f(a, b));
    }
    let left = ways / 2;
    let mid = split_point(a.len(), left, ways);
    let (a0, a1) = a.split_at_mut(mid);
    let (b0, b1) = cut_mut(b, mid);
    join(
        || split2(a0, b0, left, f),
        || split2(a1, b1, ways - left, f),
    );
}

/// Length of a reduction block for `n` elements: a function of `n` alone.
pub fn block_len(n: usize) -> usize {
    let per = n.div_ceil(MAX_BLOCKS).div_ceil(64) * 64;
    per.max(MIN_BLOCK)
}

/// The lanes of one block summed in a fixed tree.
#[inline(always)]
pub fn combine(a: [f64; LANES]) -> f64 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// `Σ f(x[i])` over one block, in lanes.
#[inline(always)]
pub fn lane_sum<T: Real>(x: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = acc[l] + f(c[l].f64());
        }
    }
    for (l, &v) in rem.iter().enumerate() {
        acc[l] = acc[l] + f(v.f64());
    }
    combine(acc)
}

/// `Σ f(x[i], y[i])` over one block, in lanes.
#[inline(always)]
pub fn lane_sum2<T: Real>(x: &[T], y: &[T], f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f64; LANES];
    let whole = n - n % LANES;
    let mut i = 0;
    while i < whole {
        for l in 0..LANES {
            acc[l] = acc[l] + f(x[i + l].f64(), y[i + l].f64());
        }
        i += LANES;
    }
    for l in 0..n - whole {
        acc[l] = acc[l] + f(x[whole + l].f64(), y[whole + l].f64());
    }
    combine(acc)
}

/// `max |x[i]|` over one block; NaN if any element is NaN.
#[inline(always)]
pub fn lane_max_abs<T: Real>(x: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let v = c[l].f64().abs();
            acc[l] = if v > acc[l] || v.is_nan() { v } else { acc[l] };
        }
    }
    for (l, &v) in rem.iter().enumerate() {
        let v = v.f64().abs();
        acc[l] = if v > acc[l] || v.is_nan() { v } else { acc[l] };
    }
    acc.iter()
        .fold(0.0f64, |m, &v| if v > m || v.is_nan() { v } else { m })
}

/// Reduces `0..n` block by block: `f(range)` gives a block's `K` partial results, `merge` folds
/// them into the running totals in block order (starting from `init`). With `parallel`, blocks
/// are spread over the threads; the order of `merge` calls never changes.
pub fn reduce<const K: usize>(
    n: usize,
    parallel: bool,
    init: [f64; K],
    f: &(impl Fn(Range<usize>) -> [f64; K] + Sync),
    merge: impl Fn([f64; K], [f64; K]) -> [f64; K],
) -> [f64; K] {
    let b = block_len(n);
    let blocks = n.div_ceil(b);
    let mut parts = [[0.0f64; K]; MAX_BLOCKS];
    let parts = &mut parts[..blocks];
    let ways = if parallel && n >= PAR_MIN_LEN {
        threads()
    } else {
        1
    };
    fill_blocks(parts, 0, b, n, ways, f);
    parts.iter().fold(init, |acc, p| merge(acc, *p))
}

fn fill_blocks<const K: usize>(
    parts: &mut [[f64; K]],
    first: usize,
    b: usize,
    n: usize,
    ways: usize,
    f: &(impl Fn(Range<usize>) -> [f64; K] + Sync),
) {
    if ways <= 1 || parts.len() < 2 {
        for (j, p) in parts.iter_mut().enumerate() {
            let start = (first + j) * b;
            *p = crate::simd::wide(|| f(start..(start + b).min(n)));
        }
        return;
    }
    let left_ways = ways / 2;
    let mid = parts.len() * left_ways / ways;
    let (a, c) = parts.split_at_mut(mid);
    join(
        || fill_blocks(a, first, b, n, left_ways, f),
        || fill_blocks(c, first + mid, b, n, ways - left_ways, f),
    );
}

/// Sum of `K` quantities over `0..n` (see [`reduce`]).
pub fn sum<const K: usize>(
    n: usize,
    parallel: bool,
    f: &(impl Fn(Range<usize>) -> [f64; K] + Sync),
) -> [f64; K] {
    reduce(n, parallel, [0.0; K], f, |mut a, p| {
        for k in 0..K {
            a[k] = a[k] + p[k];
        }
        a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_depend_on_n_only() {
        assert_eq!(block_len(10), MIN_BLOCK);
        assert_eq!(block_len(MIN_BLOCK * MAX_BLOCKS), MIN_BLOCK);
        let n = 10_000_019;
        let b = block_len(n);
        assert!(b % 64 == 0 && n.div_ceil(b) <= MAX_BLOCKS);
    }

    #[test]
    fn sums_are_the_same_on_any_number_of_threads() {
        let x: Vec<f32> = (0..300_001usize)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
            .collect();
        let f = |r: Range<usize>| [lane_sum(&x[r], |v| v * v)];
        let one = sum(x.len(), false, &f);
        let many = sum(x.len(), true, &f);
        assert_eq!(one[0].to_bits(), many[0].to_bits());
        let exact: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
        assert!((one[0] - exact).abs() <= 1e-12 * exact);
    }
}
