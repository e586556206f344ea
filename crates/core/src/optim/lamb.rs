//! LAMB: Adam's direction, rescaled per tensor by the trust ratio ‖p‖ / ‖u‖.
//!
//! Update rule (Optax `optax.lamb`, step t counted from 1; ‖·‖ the L2 norm of one whole tensor):
//!
//! ```text
//! m ← β1 · m + (1 − β1) · g
//! v ← β2 · v + (1 − β2) · g²
//! u ← (m / (1 − β1^t)) / (√(v / (1 − β2^t) + eps_root) + ε) + weight_decay · p
//! r ← ‖p‖ / ‖u‖, or 1 when ‖p‖ = 0 or ‖u‖ = 0
//! p ← p − lr · r · u
//! ```
//!
//! Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-6, `epsRoot` 0,
//! `weightDecay` 0 (inside the trust-ratio norm; Optax's `mask` turns it off per tensor, which
//! downhill expresses with param groups). State: `exp_avg`, `exp_avg_sq` (Optax `0.mu`, `0.nu`).
//!
//! Two passes over each tensor: the first updates the moments, writes u to scratch and sums p²
//! and u² in the fixed blocked order of [`crate::par`] (so the ratio has the same bits on any
//! thread count and in the TypeScript mirror); the second applies `p ← p − lr·r·u`. Storing u
//! costs a write and a read per element but saves a second square root and division, which
//! bound the loop as they bound Adam's. The bias corrections are applied as multiplications by
//! reciprocals taken once in f64 (Optax divides), an ulp apart.
//!
//! Speed: the first pass does Adam's work (bound by the divider) and, per 4096-element block, the
//! two f64 lane sums over the block just written (still in L1): each lane's sum is a chain of
//! dependent adds, at best 3 cycles per 8 elements, and fused into the divider's loop its
//! conversions and products competed for the FP pipes (0.58 against 0.49 ns per element on AMD
//! EPYC). Storing u and the second pass add the rest: a step costs about 1.6× an Adam step at 1e6
//! parameters on two threads, 1.9× on one (ARCHITECTURE.md, "Threads and speed"). The AVX2 loops
//! of the first pass are written with intrinsics: auto-vectorised, the fused loop came out with
//! the divider at half width or with the sums stored back on every iteration.
//!
//! Reference: You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
//! minutes" (ICLR 2020). Differences from the paper: no clipping function φ on ‖p‖ (Optax's
//! identity), and the ratio is 1 (not 0) for a zero tensor, which would otherwise never move.

use std::ops::Range;

use crate::par::{self, LANES};
use crate::pow::powi_exact;
use crate::real::Real;
use crate::spec::{Domain, Driver, HParam, Shape, Slot, Spec};
use crate::step::{Tensor, Tensorwise, MAX_SLOTS};

const LR: usize = 0;
const BETA1: usize = 1;
const BETA2: usize = 2;
const EPS: usize = 3;
const EPS_ROOT: usize = 4;
const WD: usize = 5;

pub const SPEC: Spec = Spec {
    id: 9,
    name: "LAMB",
    summary: "Layer-wise adaptive moments: Adam's direction scaled per tensor by the trust ratio ‖p‖/‖u‖.",
    reference: "You et al., ICLR 2020; optax.lamb",
    torch: None,
    optax: Some("optax.lamb"),
    optax_counts: &[("0.count", 0)],
    torch_fixed: &[],
    hparams: &[
        HParam::lr(1e-3),
        HParam::beta(1, 0.9),
        HParam::beta(2, 0.999),
        HParam::eps(1e-6),
        HParam::real(
            "epsRoot",
            None,
            Some("eps_root"),
            Domain::NON_NEG,
            0.0,
            "Added to the bias-corrected second moment inside the square root.",
        ),
        HParam::weight_decay(
            0.0,
            "Weight decay added to the Adam direction before the trust ratio (so it counts in ‖u‖); Optax's mask turns it off per tensor.",
        )
        .masked_by("mask"),
    ],
    state: &[
        Slot::n("exp_avg", Some("0.mu")),
        Slot::n_nonneg("exp_avg_sq", Some("0.nu")),
    ],
    rules: &[],
    driver: Driver::Tensorwise,
};

pub struct Lamb;

/// Per-step scalars of one tensor, in the element type.
#[derive(Clone, Copy)]
struct K<T> {
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    inv_bc1: T,
    inv_bc2: T,
    eps_root: T,
    eps: T,
    wd: T,
}

impl Tensorwise for Lamb {
    const SPEC: &'static Spec = &SPEC;

    fn scratch_len(shape: &Shape) -> usize {
        shape.numel
    }

    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        scratch: &mut [T],
        parallel: bool,
    ) {
        let (b1, b2) = (t.hp(BETA1), t.hp(BETA2));
        let k = K {
            b1: T::of(b1),
            omb1: T::of(1.0 - b1),
            b2: T::of(b2),
            omb2: T::of(1.0 - b2),
            inv_bc1: T::of(1.0 / (1.0 - powi_exact(b1, t.step))),
            inv_bc2: T::of(1.0 / (1.0 - powi_exact(b2, t.step))),
            eps_root: T::of(t.hp(EPS_ROOT)),
            eps: T::of(t.hp(EPS)),
            wd: T::of(t.hp(WD)),
        };
        let n = p.len();
        let [m, v, ..] = slots;
        let u = &mut scratch[..n];
        let [pp, uu] = {
            let (m, v, u) = (
                par::Shared::new(m),
                par::Shared::new(v),
                par::Shared::new(u),
            );
            let p: &[T] = p;
            par::sum(n, parallel, &|r: Range<usize>| {
                // SAFETY: `par::sum` hands each block range of 0..n to exactly one call, and the
                // ranges are disjoint, so these are the only references to their elements while
                // the call runs; m, v and u are n long and outlive the sum.
                let (mb, vb, ub) = unsafe { (m.at(r.clone()), v.at(r.clone()), u.at(r.clone())) };
                let (mut sp, mut su) = ([0.0f64; LANES], [0.0f64; LANES]);
                moments(&k, &p[r.clone()], &g[r], mb, vb, ub, &mut sp, &mut su);
                [par::combine(sp), par::combine(su)]
            })
        };
        let neg = T::of(-(t.hp(LR) * trust_ratio(pp.sqrt(), uu.sqrt())));
        let u: &[T] = u;
        for_pieces(p, &mut [], u, &[], parallel, &|p, _, u, _| axpy(neg, u, p));
    }
}

/// `‖p‖ / ‖u‖`, or 1 when either norm is zero (Optax's rule: a zero tensor still moves).
fn trust_ratio(pn: f64, un: f64) -> f64 {
    if pn == 0.0 || un == 0.0 {
        1.0
    } else {
        pn / un
    }
}

/// u = (m / (1 − β1^t)) / (√(v / (1 − β2^t) + eps_root) + ε) + wd · p for one element.
#[inline(always)]
fn direction<T: Real>(k: &K<T>, m: T, v: T, p: T) -> T {
    (m * k.inv_bc1) / ((v * k.inv_bc2 + k.eps_root).sqrt() + k.eps) + k.wd * p
}

/// The first pass's element math: new moments, u into `u`, and the lane sums of p² and u²
/// continued in `sp`, `su`. The sums run beside the element math, whose loop waits on the
/// divider (a square root and a division per element, as Adam's), so they cost little there.
#[allow(clippy::too_many_arguments)]
fn moments<T: Real>(
    k: &K<T>,
    p: &[T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    u: &mut [T],
    sp: &mut [f64; LANES],
    su: &mut [f64; LANES],
) {
    #[cfg(target_arch = "x86_64")]
    if T::DTYPE == crate::real::DType::F32 && crate::simd::has_avx2() {
        let c = |x: T| x.f64() as f32;
        let k32 = K {
            b1: c(k.b1),
            omb1: c(k.omb1),
            b2: c(k.b2),
            omb2: c(k.omb2),
            inv_bc1: c(k.inv_bc1),
            inv_bc2: c(k.inv_bc2),
            eps_root: c(k.eps_root),
            eps: c(k.eps),
            wd: c(k.wd),
        };
        let (p, g) = (bytemuck::cast_slice(p), bytemuck::cast_slice(g));
        let (m, v, u) = (
            bytemuck::cast_slice_mut(m),
            bytemuck::cast_slice_mut(v),
            bytemuck::cast_slice_mut(u),
        );
        // SAFETY: the CPU reported AVX2 just above; T is f32, so the casts are the identity.
        return unsafe { avx2::moments_f32(&k32, p, g, m, v, u, sp, su) };
    }
    #[cfg(target_arch = "x86_64")]
    if T::DTYPE == crate::real::DType::F64 && crate::simd::has_avx2() {
        let c = |x: T| x.f64();
        let k64 = K {
            b1: c(k.b1),
            omb1: c(k.omb1),
            b2: c(k.b2),
            omb2: c(k.omb2),
            inv_bc1: c(k.inv_bc1),
            inv_bc2: c(k.inv_bc2),
            eps_root: c(k.eps_root),
            eps: c(k.eps),
            wd: c(k.wd),
        };
        let (p, g) = (bytemuck::cast_slice(p), bytemuck::cast_slice(g));
        let (m, v, u) = (
            bytemuck::cast_slice_mut(m),
            bytemuck::cast_slice_mut(v),
            bytemuck::cast_slice_mut(u),
        );
        // SAFETY: the CPU reported AVX2 just above; T is f64, so the casts are the identity.
        return unsafe { avx2::moments_f64(&k64, p, g, m, v, u, sp, su) };
    }
    moments_loop(k, p, g, m, v, u, sp, su)
}

#[allow(clippy::too_many_arguments)]
fn moments_loop<T: Real>(
    k: &K<T>,
    p: &[T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    u: &mut [T],
    sp: &mut [f64; LANES],
    su: &mut [f64; LANES],
) {
    let n = p.len();
    let (g, m, v, u) = (&g[..n], &mut m[..n], &mut v[..n], &mut u[..n]);
    let whole = n - n % LANES;
    let mut i = 0;
    // Eight elements at a time, element i in lane i mod 8, so LLVM can keep each lane's sum in
    // a vector register (the AVX2 path above does it by hand).
    while i < n {
        let len = if i < whole { LANES } else { n - whole };
        for l in 0..len {
            let j = i + l;
            let gj = g[j];
            let mj = m[j] * k.b1 + gj * k.omb1;
            let vj = v[j] * k.b2 + (gj * gj) * k.omb2;
            m[j] = mj;
            v[j] = vj;
            let uj = direction(k, mj, vj, p[j]);
            u[j] = uj;
            let (pf, uf) = (p[j].f64(), uj.f64());
            sp[l] = sp[l] + pf * pf;
            su[l] = su[l] + uf * uf;
        }
        i += len;
    }
}

/// The first pass in AVX2, written with intrinsics: auto-vectorised, this fused loop comes
/// out either with the divider at half width or with the sums stored back on every iteration
/// (each twice as slow), depending on details LLVM does not promise. The operations are those
/// of [`moments_loop`] (IEEE, no FMA), in the same order, so the bits are the same.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{moments_loop, K, LANES};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn moments_f32(
        k: &K<f32>,
        p: &[f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        u: &mut [f32],
        sp: &mut [f64; LANES],
        su: &mut [f64; LANES],
    ) {
        let n = p.len();
        assert!(g.len() >= n && m.len() >= n && v.len() >= n && u.len() >= n);
        let whole = n - n % LANES;
        let b1 = _mm256_set1_ps(k.b1);
        let omb1 = _mm256_set1_ps(k.omb1);
        let b2 = _mm256_set1_ps(k.b2);
        let omb2 = _mm256_set1_ps(k.omb2);
        let inv_bc1 = _mm256_set1_ps(k.inv_bc1);
        let inv_bc2 = _mm256_set1_ps(k.inv_bc2);
        let eps_root = _mm256_set1_ps(k.eps_root);
        let eps = _mm256_set1_ps(k.eps);
        let wd = _mm256_set1_ps(k.wd);
        // SAFETY (every pointer access below): i + 8 <= whole <= n, and every slice holds at
        // least n elements (asserted above); unaligned loads and stores are used throughout.
        let (mut p0, mut p1) = (
            _mm256_loadu_pd(sp.as_ptr()),
            _mm256_loadu_pd(sp.as_ptr().add(4)),
        );
        let (mut u0, mut u1) = (
            _mm256_loadu_pd(su.as_ptr()),
            _mm256_loadu_pd(su.as_ptr().add(4)),
        );
        let mut i = 0;
        while i < whole {
            let gi = _mm256_loadu_ps(g.as_ptr().add(i));
            let mi = _mm256_add_ps(
                _mm256_mul_ps(_mm256_loadu_ps(m.as_ptr().add(i)), b1),
                _mm256_mul_ps(gi, omb1),
            );
            let vi = _mm256_add_ps(
                _mm256_mul_ps(_mm256_loadu_ps(v.as_ptr().add(i)), b2),
                _mm256_mul_ps(_mm256_mul_ps(gi, gi), omb2),
            );
            _mm256_storeu_ps(m.as_mut_ptr().add(i), mi);
            _mm256_storeu_ps(v.as_mut_ptr().add(i), vi);
            let pi = _mm256_loadu_ps(p.as_ptr().add(i));
            let den = _mm256_add_ps(
                _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(vi, inv_bc2), eps_root)),
                eps,
            );
            let ui = _mm256_add_ps(
                _mm256_div_ps(_mm256_mul_ps(mi, inv_bc1), den),
                _mm256_mul_ps(wd, pi),
            );
            _mm256_storeu_ps(u.as_mut_ptr().add(i), ui);
            i += LANES;
        }
        // The sums in a second loop over the block, which is still in L1: inside the loop
        // above, the conversions and f64 products competed with the divider's loop for the
        // floating-point pipes (0.58 against 0.49 ns per element here, AMD EPYC).
        i = 0;
        while i < whole {
            let (pl, ph) = (
                _mm256_cvtps_pd(_mm_loadu_ps(p.as_ptr().add(i))),
                _mm256_cvtps_pd(_mm_loadu_ps(p.as_ptr().add(i + 4))),
            );
            let (ul, uh) = (
                _mm256_cvtps_pd(_mm_loadu_ps(u.as_ptr().add(i))),
                _mm256_cvtps_pd(_mm_loadu_ps(u.as_ptr().add(i + 4))),
            );
            p0 = _mm256_add_pd(p0, _mm256_mul_pd(pl, pl));
            p1 = _mm256_add_pd(p1, _mm256_mul_pd(ph, ph));
            u0 = _mm256_add_pd(u0, _mm256_mul_pd(ul, ul));
            u1 = _mm256_add_pd(u1, _mm256_mul_pd(uh, uh));
            i += LANES;
        }
        _mm256_storeu_pd(sp.as_mut_ptr(), p0);
        _mm256_storeu_pd(sp.as_mut_ptr().add(4), p1);
        _mm256_storeu_pd(su.as_mut_ptr(), u0);
        _mm256_storeu_pd(su.as_mut_ptr().add(4), u1);
        // The tail (fewer than 8 elements) goes to lanes 0.. in order, as in the plain loop.
        moments_loop(
            k,
            &p[whole..n],
            &g[whole..n],
            &mut m[whole..n],
            &mut v[whole..n],
            &mut u[whole..n],
            sp,
            su,
        );
    }

    /// The f64 first pass: lanes 0–3 and 4–7 are the two halves of each 8 elements.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn moments_f64(
        k: &K<f64>,
        p: &[f64],
        g: &[f64],
        m: &mut [f64],
        v: &mut [f64],
        u: &mut [f64],
        sp: &mut [f64; LANES],
        su: &mut [f64; LANES],
    ) {
        let n = p.len();
        assert!(g.len() >= n && m.len() >= n && v.len() >= n && u.len() >= n);
        let whole = n - n % LANES;
        let b1 = _mm256_set1_pd(k.b1);
        let omb1 = _mm256_set1_pd(k.omb1);
        let b2 = _mm256_set1_pd(k.b2);
        let omb2 = _mm256_set1_pd(k.omb2);
        let inv_bc1 = _mm256_set1_pd(k.inv_bc1);
        let inv_bc2 = _mm256_set1_pd(k.inv_bc2);
        let eps_root = _mm256_set1_pd(k.eps_root);
        let eps = _mm256_set1_pd(k.eps);
        let wd = _mm256_set1_pd(k.wd);
        // SAFETY (every pointer access below): i + 8 <= whole <= n, and every slice holds at
        // least n elements (asserted above); unaligned loads and stores are used throughout.
        let mut ap = [
            _mm256_loadu_pd(sp.as_ptr()),
            _mm256_loadu_pd(sp.as_ptr().add(4)),
        ];
        let mut au = [
            _mm256_loadu_pd(su.as_ptr()),
            _mm256_loadu_pd(su.as_ptr().add(4)),
        ];
        let mut i = 0;
        while i < whole {
            for h in 0..2 {
                let j = i + 4 * h;
                let gi = _mm256_loadu_pd(g.as_ptr().add(j));
                let mi = _mm256_add_pd(
                    _mm256_mul_pd(_mm256_loadu_pd(m.as_ptr().add(j)), b1),
                    _mm256_mul_pd(gi, omb1),
                );
                let vi = _mm256_add_pd(
                    _mm256_mul_pd(_mm256_loadu_pd(v.as_ptr().add(j)), b2),
                    _mm256_mul_pd(_mm256_mul_pd(gi, gi), omb2),
                );
                _mm256_storeu_pd(m.as_mut_ptr().add(j), mi);
                _mm256_storeu_pd(v.as_mut_ptr().add(j), vi);
                let pi = _mm256_loadu_pd(p.as_ptr().add(j));
                let den = _mm256_add_pd(
                    _mm256_sqrt_pd(_mm256_add_pd(_mm256_mul_pd(vi, inv_bc2), eps_root)),
                    eps,
                );
                let ui = _mm256_add_pd(
                    _mm256_div_pd(_mm256_mul_pd(mi, inv_bc1), den),
                    _mm256_mul_pd(wd, pi),
                );
                _mm256_storeu_pd(u.as_mut_ptr().add(j), ui);
                ap[h] = _mm256_add_pd(ap[h], _mm256_mul_pd(pi, pi));
                au[h] = _mm256_add_pd(au[h], _mm256_mul_pd(ui, ui));
            }
            i += LANES;
        }
        _mm256_storeu_pd(sp.as_mut_ptr(), ap[0]);
        _mm256_storeu_pd(sp.as_mut_ptr().add(4), ap[1]);
        _mm256_storeu_pd(su.as_mut_ptr(), au[0]);
        _mm256_storeu_pd(su.as_mut_ptr().add(4), au[1]);
        moments_loop(
            k,
            &p[whole..n],
            &g[whole..n],
            &mut m[whole..n],
            &mut v[whole..n],
            &mut u[whole..n],
            sp,
            su,
        );
    }
}

/// The second pass: `p ← p + neg · u`.
fn axpy<T: Real>(neg: T, u: &[T], p: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn wide<T: Real>(neg: T, u: &[T], p: &mut [T]) {
            axpy_loop(neg, u, p)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide(neg, u, p) };
        }
    }
    axpy_loop(neg, u, p)
}

#[inline(always)]
fn axpy_loop<T: Real>(neg: T, u: &[T], p: &mut [T]) {
    let u = &u[..p.len()];
    for (pi, &ui) in p.iter_mut().zip(u) {
        *pi = *pi + neg * ui;
    }
}

/// `acc[i mod 8] += x[i]²` in element order: the lane sums of a reduction block (see
/// [`crate::par`]), continued over consecutive pieces of it whose lengths are multiples of 8.
///
/// Kept out of line, with its own AVX2 copy: inlined next to the lanes' final combination,
/// LLVM pairs the lanes for that tree and shuffles on every element (3× slower).
#[inline(never)]
pub(crate) fn add_squares<T: Real>(acc: &mut [f64; LANES], x: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn wide<T: Real>(acc: &mut [f64; LANES], x: &[T]) {
            squares_loop(acc, x)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide(acc, x) };
        }
    }
    squares_loop(acc, x)
}

#[inline(always)]
fn squares_loop<T: Real>(acc: &mut [f64; LANES], x: &[T]) {
    let chunks = x.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let v = c[l].f64();
            acc[l] = acc[l] + v * v;
        }
    }
    for (l, &v) in rem.iter().enumerate() {
        let v = v.f64();
        acc[l] = acc[l] + v * v;
    }
}

/// Runs `f` on matching pieces of `p`, `s` (mutable) and `x`, `y`, each of the others either
/// as long as `p` or empty, cut on 64-element boundaries and spread over the threads when the
/// tensor is long ([`crate::par::for_ranges`]). Element loops only: every element sees the same
/// operations on any split.
pub(crate) fn for_pieces<T: Real>(
    p: &mut [T],
    s: &mut [T],
    x: &[T],
    y: &[T],
    parallel: bool,
    f: &(impl Fn(&mut [T], &mut [T], &[T], &[T]) + Sync),
) {
    let n = p.len();
    let ways = par::ways(n, parallel, par::PAR_MIN_LEN);
    if ways <= 1 {
        return f(p, s, x, y);
    }
    let (sp, ss) = (par::Shared::new(p), par::Shared::new(s));
    par::for_ranges(n, 64, 1, ways, &|r: Range<usize>| {
        // SAFETY: `for_ranges` hands out disjoint ranges of 0..n; `p` and `s` (n long or empty)
        // outlive the call.
        let (p, s) = unsafe { (sp.at(r.clone()), ss.at(r.clone())) };
        f(p, s, par::part(x, r.clone()), par::part(y, r))
    });
}
