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

/// Element loops and reductions at least this long are split across threads (native builds
/// only). Measured with `examples/par_probe.rs` (ARCHITECTURE.md, "Threads and speed"): with the
/// team below, a second thread pays from 64K elements for Adam, SGD and LAMB alike, and not at 32K.
pub const PAR_MIN_LEN: usize = 1 << 16;

/// Number of interleaved accumulators per block: element `i` of a block goes to lane `i % 8`.
pub const LANES: usize = 8;

/// At most this many blocks: the block length grows with the element count beyond
/// `MIN_BLOCK · MAX_BLOCKS` elements, so partial sums fit on the stack.
pub const MAX_BLOCKS: usize = 1024;
pub const MIN_BLOCK: usize = 4096;

/// Most threads a split uses.
pub const MAX_THREADS: usize = 64;

/// Number of threads a parallel call may use.
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads().clamp(1, MAX_THREADS)
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

/// Runs `a` and `b`, on two threads when the `threads` feature is on (rayon's pool: the model
/// ops, which run inside it, and tensor-wise kernels that need two different closures).
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

/// Ways to split a loop of `len` elements: the thread count when `parallel` and the loop is at
/// least `min_len` long, else 1.
#[inline]
pub fn ways(len: usize, parallel: bool, min_len: usize) -> usize {
    if parallel && len >= min_len {
        threads()
    } else {
        1
    }
}

/// Runs `f` over `0..items` cut into ranges (whole multiples of `align`, except the last; an item
/// stands for `item_len` elements, which sizes the pieces), on `ways` threads: the caller and `ways − 1` helpers of the team (see [`team`]). Each thread
/// starts on its own contiguous share, in pieces, and takes pieces from the back of another's
/// share when its own is done, so a helper that wakes late or is descheduled delays nothing but
/// its current piece, and in steady state each thread keeps touching the same memory. `f` must
/// not depend on how the items are cut (element loops; blocks of a fixed-order reduction).
pub fn for_ranges(
    items: usize,
    align: usize,
    item_len: usize,
    ways: usize,
    f: &(impl Fn(Range<usize>) + Sync),
) {
    #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
    if ways > 1 && items > align {
        return team::for_ranges(items, align.max(1), item_len.max(1), ways, f);
    }
    #[cfg(all(feature = "threads", target_arch = "wasm32"))]
    if ways > 1 && items > align {
        return pool_ranges(items, align.max(1), ways, f);
    }
    let _ = (align, item_len, ways);
    if items > 0 {
        f(0..items)
    }
}

/// [`for_ranges`] on the threaded WebAssembly build. wasm32 has no `std::thread::spawn`, so the
/// team cannot start its helpers there; the pieces go to rayon's pool instead, whose threads are
/// Web Workers (`crates/wasm/src/pool.rs`), and the calling worker (never a page's main thread)
/// waits for them. A few pieces per thread, on `align` boundaries, so that a late worker's share
/// is taken by the others.
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
fn pool_ranges(items: usize, align: usize, ways: usize, f: &(impl Fn(Range<usize>) + Sync)) {
    use rayon::prelude::*;
    let pieces = (ways * 4).min(items.div_ceil(align)).max(1);
    let piece = items.div_ceil(pieces).div_ceil(align) * align;
    let pieces = items.div_ceil(piece);
    (0..pieces)
        .into_par_iter()
        .for_each(|k| f(k * piece..((k + 1) * piece).min(items)));
}

/// A mutable slice that the threads of one [`for_ranges`] call write in disjoint ranges.
#[derive(Clone, Copy)]
pub struct Shared<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: `Shared` only hands out ranges that its users keep disjoint (see `at`), so sharing the
// pointer between threads cannot create two live references to one element.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Shared<T> {}

impl<T> Shared<T> {
    pub fn new(s: &mut [T]) -> Shared<T> {
        Shared {
            ptr: s.as_mut_ptr(),
            len: s.len(),
        }
    }

    /// The elements `r` of the slice, or an empty slice when the slice is empty (an absent
    /// state slot).
    ///
    /// # Safety
    /// No other live reference may cover any element of `r`, and the slice `new` was made from
    /// must outlive the result.
    #[inline]
    pub unsafe fn at<'a>(self, r: Range<usize>) -> &'a mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        assert!(r.start <= r.end && r.end <= self.len);
        // SAFETY: in bounds (checked above); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.len()) }
    }
}

/// Byte boundary that element loops start their vector body on: a cache line, which is also a
/// whole number of AVX2/AVX-512 vectors. Loads and stores that straddle a cache line cost a second
/// access; an AVX2 loop over f32 data that is only 16-byte aligned (what `malloc`, and so a V8
/// `ArrayBuffer`, gives) straddles on every other vector, which measured 10–18% slower at 1e5–1e6
/// elements than the same loop on aligned data (ARCHITECTURE.md, "Alignment").
pub const ALIGN: usize = 64;

/// Elements of `s` before its first [`ALIGN`]-byte boundary (0 when it starts on one, or when
/// its address is not a multiple of the element size; at most `s.len()`). Element loops run
/// these apart so the rest, and every 64-element piece of it, starts aligned.
#[inline]
pub fn head_len<T>(s: &[T]) -> usize {
    let size = std::mem::size_of::<T>();
    let mis = (s.as_ptr() as usize) % ALIGN;
    if mis == 0 || size == 0 || mis % size != 0 {
        return 0;
    }
    ((ALIGN - mis) / size).min(s.len())
}

/// `s` cut at `k`, or two empty slices when `s` is empty (an absent state slot): the mutable
/// counterpart of two [`part`] calls.
#[inline]
pub fn cut_mut<T>(s: &mut [T], k: usize) -> (&mut [T], &mut [T]) {
    if s.is_empty() {
        (&mut [], &mut [])
    } else {
        s.split_at_mut(k)
    }
}

/// `s[r]`, or an empty slice when `s` is empty (an absent input).
#[inline]
pub fn part<T>(s: &[T], r: Range<usize>) -> &[T] {
    if s.is_empty() {
        s
    } else {
        &s[r]
    }
}

/// An element loop over `a` (written) and `b`, `c` (read; empty or as long as `a`): `f` runs on
/// matching pieces, split across threads on 64-element boundaries when the loop is long, each
/// piece in its AVX2 copy when the CPU has it. Element-wise, so the result is the same however it
/// is split.
pub fn for_chunks<T: Real>(
    a: &mut [T],
    b: &[T],
    c: &[T],
    parallel: bool,
    f: &(impl Fn(&mut [T], &[T], &[T]) + Sync),
) {
    let n = a.len();
    let ways = ways(n, parallel, PAR_MIN_LEN);
    if ways <= 1 {
        return crate::simd::wide(|| f(a, b, c));
    }
    let sa = Shared::new(a);
    for_ranges(n, 64, 1, ways, &|r: Range<usize>| {
        // SAFETY: `for_ranges` hands out disjoint ranges of 0..n, and `a` outlives the call.
        let a = unsafe { sa.at(r.clone()) };
        crate::simd::wide(|| f(a, part(b, r.clone()), part(c, r)))
    });
}

/// As [`for_chunks`] with two written slices (`SWAP`).
pub fn for_chunks2<T: Real>(
    a: &mut [T],
    b: &mut [T],
    parallel: bool,
    f: &(impl Fn(&mut [T], &mut [T]) + Sync),
) {
    let n = a.len();
    let ways = ways(n, parallel, PAR_MIN_LEN);
    if ways <= 1 {
        return crate::simd::wide(|| f(a, b));
    }
    let (sa, sb) = (Shared::new(a), Shared::new(b));
    for_ranges(n, 64, 1, ways, &|r: Range<usize>| {
        // SAFETY: `for_ranges` hands out disjoint ranges of 0..n, and both slices outlive the
        // call.
        let (a, b) = unsafe { (sa.at(r.clone()), sb.at(r)) };
        crate::simd::wide(|| f(a, b))
    });
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
pub fn lane_sum<T: Real>(x: &[T], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let mut acc = [0.0f64; LANES];
    add_lanes(&mut acc, x, f);
    combine(acc)
}

/// `acc[i mod 8] += f(x[i])` in element order. Out of line, with its own AVX2 copy: inlined
/// into the caller's closure, the loop was compiled without AVX2 (closures are not inlined into
/// `simd::wide`'s AVX2 copy reliably), and next to the lanes' final combination LLVM pairs the
/// lanes for that tree and shuffles on every element (clip measured 3× slower).
#[inline(never)]
pub fn add_lanes<T: Real>(acc: &mut [f64; LANES], x: &[T], f: impl Fn(f64) -> f64 + Copy) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn wide<T: Real>(acc: &mut [f64; LANES], x: &[T], f: impl Fn(f64) -> f64 + Copy) {
            lanes_loop(acc, x, f)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide(acc, x, f) };
        }
    }
    lanes_loop(acc, x, f)
}

#[inline(always)]
fn lanes_loop<T: Real>(acc: &mut [f64; LANES], x: &[T], f: impl Fn(f64) -> f64) {
    let mut a = *acc;
    let chunks = x.chunks_exact(LANES);
    let rem = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            a[l] = a[l] + f(c[l].f64());
        }
    }
    for (l, &v) in rem.iter().enumerate() {
        a[l] = a[l] + f(v.f64());
    }
    *acc = a;
}

/// `Σ f(x[i], y[i])` over one block, in lanes.
#[inline(always)]
pub fn lane_sum2<T: Real>(x: &[T], y: &[T], f: impl Fn(f64, f64) -> f64 + Copy) -> f64 {
    let mut acc = [0.0f64; LANES];
    add_lanes2(&mut acc, x, y, f);
    combine(acc)
}

/// As [`add_lanes`] for `f(x[i], y[i])`.
#[inline(never)]
pub fn add_lanes2<T: Real>(
    acc: &mut [f64; LANES],
    x: &[T],
    y: &[T],
    f: impl Fn(f64, f64) -> f64 + Copy,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn wide<T: Real>(
            acc: &mut [f64; LANES],
            x: &[T],
            y: &[T],
            f: impl Fn(f64, f64) -> f64 + Copy,
        ) {
            lanes_loop2(acc, x, y, f)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide(acc, x, y, f) };
        }
    }
    lanes_loop2(acc, x, y, f)
}

#[inline(always)]
fn lanes_loop2<T: Real>(acc: &mut [f64; LANES], x: &[T], y: &[T], f: impl Fn(f64, f64) -> f64) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut a = *acc;
    let whole = n - n % LANES;
    let mut i = 0;
    while i < whole {
        for l in 0..LANES {
            a[l] = a[l] + f(x[i + l].f64(), y[i + l].f64());
        }
        i += LANES;
    }
    for l in 0..n - whole {
        a[l] = a[l] + f(x[whole + l].f64(), y[whole + l].f64());
    }
    *acc = a;
}

/// `max |x[i]|` over one block; NaN if any element is NaN.
#[inline(never)]
pub fn lane_max_abs<T: Real>(x: &[T]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn wide<T: Real>(x: &[T]) -> f64 {
            max_abs_loop(x)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide(x) };
        }
    }
    max_abs_loop(x)
}

#[inline(always)]
fn max_abs_loop<T: Real>(x: &[T]) -> f64 {
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
    let sp = Shared::new(parts);
    let ways = ways(n, parallel, PAR_MIN_LEN);
    for_ranges(blocks, 1, b, ways, &|js: Range<usize>| {
        // SAFETY: `for_ranges` hands out disjoint ranges of block indices, and `parts`
        // outlives the call.
        let mine = unsafe { sp.at(js.clone()) };
        for (p, j) in mine.iter_mut().zip(js) {
            let start = j * b;
            *p = crate::simd::wide(|| f(start..(start + b).min(n)));
        }
    });
    parts.iter().fold(init, |acc, p| merge(acc, *p))
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

/// The team: `threads() − 1` helper threads of our own that run the pieces of [`for_ranges`]
/// beside the caller, OpenMP-style.
///
/// Why not rayon's `join` for these loops: called from outside its pool (Node's main thread),
/// `rayon::join` hands the whole job to a pool thread, which must wake, and wakes a second one
/// for the other half, while the caller sleeps until both are done: three wake-ups per call,
/// tens of microseconds on a VM, so a 2-thread split paid only from about 2^18 elements. Here
/// the caller works on its own share at once; a helper spins for [`team::SPIN`] after a piece
/// of work before it parks (so a loop of steps finds it awake), and whatever it has not taken
/// when the caller is done is taken by the caller (the job is withdrawn from a helper that never
/// woke). One caller at a time: a second concurrent caller (another Node worker thread, or a
/// nested call) runs its loop alone.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
pub mod team {
    use std::ops::Range;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::thread::{self, Thread};
    use std::time::{Duration, Instant};

    /// Most threads a split uses (the caller and 63 helpers).
    pub const MAX_WORKERS: usize = super::MAX_THREADS;
    /// Pieces per thread: enough for the others to take over a late thread's share, few enough
    /// that a piece stays long.
    const PIECES: usize = 4;
    /// Longest piece in elements (at least one item), so that the last piece another thread
    /// waits for stays short.
    const MAX_PIECE: usize = 1 << 14;
    /// How long a helper spins after its last piece before it parks. Long enough that the next
    /// call of a loop of steps finds it awake, short next to a training step's other work.
    pub const SPIN: Duration = Duration::from_micros(100);
    /// Spin after a job that came after a long pause.
    const SHORT_SPIN: Duration = Duration::from_micros(5);

    const IDLE: u32 = 0;
    const POSTED: u32 = 1;
    const RUNNING: u32 = 2;
    const DONE: u32 = 3;

    /// A job as the helpers see it: a worker body, called with the worker's index.
    struct Job {
        body: *const (dyn Fn(usize) + Sync + 'static),
        panicked: AtomicBool,
    }

    struct Helper {
        state: AtomicU32,
        job: AtomicPtr<Job>,
        sleeping: AtomicBool,
        thread: OnceLock<Thread>,
    }

    struct Team {
        helpers: Vec<&'static Helper>,
        busy: AtomicBool,
    }

    static TEAM: OnceLock<Team> = OnceLock::new();

    fn team() -> &'static Team {
        TEAM.get_or_init(|| {
            let want = super::threads().saturating_sub(1);
            let mut helpers = Vec::with_capacity(want);
            for i in 0..want {
                let h: &'static Helper = Box::leak(Box::new(Helper {
                    state: AtomicU32::new(IDLE),
                    job: AtomicPtr::new(std::ptr::null_mut()),
                    sleeping: AtomicBool::new(false),
                    thread: OnceLock::new(),
                }));
                let spawned = thread::Builder::new()
                    .name(format!("downhill-team-{}", i + 1))
                    .spawn(move || helper_loop(h, i + 1));
                match spawned {
                    Ok(j) => {
                        let _ = h.thread.set(j.thread().clone());
                        helpers.push(h);
                    }
                    Err(_) => break,
                }
            }
            Team {
                helpers,
                busy: AtomicBool::new(false),
            }
        })
    }

    fn helper_loop(h: &'static Helper, index: usize) {
        // Spin after a job only while jobs come close together (a loop of steps, of vector
        // ops): after a long pause (a training step's forward and backward passes in between)
        // the next job is probably far off too, and spinning would only take a core from them.
        let mut spin = SPIN;
        loop {
            let idle_since = Instant::now();
            let mut since = idle_since;
            let mut spins = 0u32;
            while h.state.load(Ordering::Acquire) != POSTED {
                spins = spins.wrapping_add(1);
                if spins % 256 != 0 || since.elapsed() < spin {
                    std::hint::spin_loop();
                    continue;
                }
                // Park; the poster checks `sleeping` after posting (both SeqCst), so one of the
                // two sees the other's write and no wake-up is lost.
                h.sleeping.store(true, Ordering::SeqCst);
                if h.state.load(Ordering::SeqCst) != POSTED {
                    thread::park();
                }
                h.sleeping.store(false, Ordering::SeqCst);
                since = Instant::now();
            }
            spin = if idle_since.elapsed() <= SPIN {
                SPIN
            } else {
                SHORT_SPIN
            };
            // The poster may withdraw a job that is still POSTED; RUNNING makes it ours.
            if h.state
                .compare_exchange(POSTED, RUNNING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let job = h.job.load(Ordering::Acquire);
            // SAFETY: the poster keeps the job and everything its body borrows alive until it
            // sees DONE (it waits for a RUNNING helper before returning, even when unwinding).
            let job = unsafe { &*job };
            // SAFETY: as above: `body` points into the poster's frame, alive until DONE.
            let body = unsafe { &*job.body };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(index))).is_err() {
                job.panicked.store(true, Ordering::Relaxed);
            }
            h.state.store(DONE, Ordering::Release);
        }
    }

    /// Withdraws or waits for the helpers a call posted to, and frees the team, on every way out
    /// of the call (a panicking piece included).
    struct Finish<'a> {
        team: &'static Team,
        posted: usize,
        job: &'a Job,
    }

    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            for h in &self.team.helpers[..self.posted] {
                match h
                    .state
                    .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
                {
                    // Withdrawn now or before: the helper never saw the job.
                    Ok(_) | Err(IDLE) => {}
                    Err(_) => {
                        let mut spins = 0u32;
                        while h.state.load(Ordering::Acquire) != DONE {
                            spins = spins.wrapping_add(1);
                            if spins < 1 << 14 {
                                std::hint::spin_loop();
                            } else {
                                thread::yield_now();
                            }
                        }
                        h.state.store(IDLE, Ordering::Relaxed);
                    }
                }
            }
            self.team.busy.store(false, Ordering::Release);
            let _ = self.job;
        }
    }

    /// Calls left to run on the caller alone (see [`note_call`]).
    static ALONE: AtomicU32 = AtomicU32::new(0);
    /// Consecutive calls in which the helpers did not pull their weight.
    static MISSES: AtomicU32 = AtomicU32::new(0);
    /// After this many such calls in a row, ...
    const MISSES_TO_BACK_OFF: u32 = 3;
    /// ... this many calls run alone before the team is tried again.
    const BACK_OFF_CALLS: u32 = 64;

    /// Backs off from the team when the other cores are busy. A call missed when the helpers
    /// ran none of its pieces (they were descheduled the whole time) or the caller waited for
    /// their last pieces for more than half of its own working time (a helper was preempted in
    /// the middle of one): on a machine whose other cores run other work, a split then costs
    /// more than it brings (measured 1.5× slower than one thread at 1e5 with the load average
    /// at 11 on 2 cores). The same bits either way.
    ///
    /// A `cold` call, one that found a helper parked and had to wake it, counts neither way: a
    /// parked helper is no sign of a busy core, and on this VM it takes from under 0.1 to over
    /// 1.5 ms to run again after a pause (its idle vCPU is halted). Counting those calls backed
    /// off after any pause, and as the helper parked again while the caller ran alone, every
    /// retry found it parked: a loop of Adadelta steps at 1e6 stayed at one thread's speed for
    /// whole 20 ms batches (2026-12-06, counted with a temporary trace: three misses in a row,
    /// each with no helper piece, right after a 200 ms pause).
    fn note_call(cold: bool, helper_pieces: u32, waited: Duration, worked: Duration) {
        if helper_pieces == 0 || waited * 2 > worked {
            if cold {
                return;
            }
            let m = MISSES.fetch_add(1, Ordering::Relaxed) + 1;
            if m >= MISSES_TO_BACK_OFF {
                MISSES.store(0, Ordering::Relaxed);
                ALONE.store(BACK_OFF_CALLS, Ordering::Relaxed);
            }
        } else {
            MISSES.store(0, Ordering::Relaxed);
        }
    }

    /// Claim ranges of piece indices, one per worker, packed as `lo | hi << 32`.
    fn take_front(s: &AtomicU64) -> Option<u32> {
        let mut cur = s.load(Ordering::Relaxed);
        loop {
            let (lo, hi) = (cur as u32, (cur >> 32) as u32);
            if lo >= hi {
                return None;
            }
            let next = (lo + 1) as u64 | (hi as u64) << 32;
            match s.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(lo),
                Err(c) => cur = c,
            }
        }
    }

    /// Takes the last piece of another thread's share, but never its first unclaimed one: a
    /// thread that is merely a little late then still finds its share where it left it (its
    /// memory stays in its cache from call to call), while one that is descheduled or asleep
    /// leaves all but one piece to the others.
    fn take_back(s: &AtomicU64) -> Option<u32> {
        let mut cur = s.load(Ordering::Relaxed);
        loop {
            let (lo, hi) = (cur as u32, (cur >> 32) as u32);
            if hi < lo + 2 {
                return None;
            }
            let next = lo as u64 | ((hi - 1) as u64) << 32;
            match s.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(hi - 1),
                Err(c) => cur = c,
            }
        }
    }

    pub(super) fn for_ranges(
        items: usize,
        align: usize,
        item_len: usize,
        ways: usize,
        f: &(impl Fn(Range<usize>) + Sync),
    ) {
        let ways = ways.min(MAX_WORKERS).min(items / align).max(1);
        if ways > 1 && ALONE.load(Ordering::Relaxed) > 0 {
            ALONE.fetch_sub(1, Ordering::Relaxed);
            return f(0..items);
        }
        let team = team();
        // The helpers this call gets: none when another call holds the team (a concurrent
        // caller, or a split nested in a piece), which then runs alone.
        let helpers = if ways > 1
            && !team.helpers.is_empty()
            && team
                .busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            team.helpers.len().min(ways - 1)
        } else {
            0
        };
        if helpers == 0 {
            return f(0..items);
        }
        let ways = helpers + 1;
        let pieces = (ways * PIECES)
            .max(items / (MAX_PIECE / item_len).max(1))
            .min(items.div_ceil(align));
        let piece = items.div_ceil(pieces).div_ceil(align) * align;
        let pieces = items.div_ceil(piece) as u32;
        let shares: [AtomicU64; MAX_WORKERS] = std::array::from_fn(|_| AtomicU64::new(0));
        for (w, s) in shares.iter().enumerate().take(ways) {
            let lo = (pieces as usize * w / ways) as u64;
            let hi = (pieces as usize * (w + 1) / ways) as u64;
            s.store(lo | hi << 32, Ordering::Relaxed);
        }
        let shares = &shares[..ways];
        let run = |k: u32| {
            let start = k as usize * piece;
            f(start..(start + piece).min(items))
        };
        let by_caller = AtomicU32::new(0);
        // Own share from the front, then the others' from the back (nearest first).
        let body = |w: usize| {
            let mut mine = 0;
            while let Some(k) = take_front(&shares[w]) {
                run(k);
                mine += 1;
            }
            for d in 1..ways {
                let s = &shares[(w + d) % ways];
                while let Some(k) = take_back(s) {
                    run(k);
                    mine += 1;
                }
            }
            if w == 0 {
                by_caller.store(mine, Ordering::Relaxed);
            }
        };
        let body_ref: &(dyn Fn(usize) + Sync) = &body;
        // SAFETY: only the lifetime is erased; `Finish` below keeps the frame (and so `body`
        // and what it borrows) alive until every helper that took the job has finished it.
        let body_ptr: *const (dyn Fn(usize) + Sync + 'static) =
            unsafe { std::mem::transmute(body_ref as *const (dyn Fn(usize) + Sync)) };
        let job = Job {
            body: body_ptr,
            panicked: AtomicBool::new(false),
        };
        let finish = Finish {
            team,
            posted: helpers,
            job: &job,
        };
        let start = Instant::now();
        let mut cold = false;
        for h in &team.helpers[..helpers] {
            h.job
                .store(&job as *const Job as *mut Job, Ordering::Relaxed);
            h.state.store(POSTED, Ordering::SeqCst);
            if h.sleeping.load(Ordering::SeqCst) {
                cold = true;
                if let Some(t) = h.thread.get() {
                    t.unpark();
                }
            }
        }
        body(0);
        // A helper that has not picked the job up yet never will: withdraw it and do the piece
        // its share still holds (the others leave a share's first unclaimed piece to its owner).
        let mut drained = 0;
        for (i, h) in team.helpers[..helpers].iter().enumerate() {
            if h.state
                .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                while let Some(k) = take_front(&shares[i + 1]) {
                    run(k);
                    drained += 1;
                }
            }
        }
        let worked = start.elapsed();
        drop(finish);
        note_call(
            cold,
            pieces - by_caller.load(Ordering::Relaxed) - drained,
            start.elapsed().saturating_sub(worked),
            worked,
        );
        if job.panicked.load(Ordering::Relaxed) {
            panic!("a piece of a parallel loop panicked on a helper thread");
        }
    }
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

    fn cover(items: usize, align: usize, ways: usize) {
        use std::sync::atomic::{AtomicU32, Ordering};
        let seen: Vec<AtomicU32> = (0..items).map(|_| AtomicU32::new(0)).collect();
        for_ranges(items, align, 1, ways, &|r: Range<usize>| {
            assert!(r.start % align == 0 && r.start < r.end && r.end <= items);
            for c in &seen[r] {
                c.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(
            seen.iter().all(|c| c.load(Ordering::Relaxed) == 1),
            "{items} items, align {align}, {ways} ways"
        );
    }

    #[test]
    fn head_len_reaches_the_next_cache_line() {
        let v = vec![0.0f32; 64];
        for k in 0..40 {
            let s = &v[k..k + 20];
            let h = head_len(s);
            assert!(h <= 15 && h <= s.len());
            if h < s.len() {
                assert_eq!((s[h..].as_ptr() as usize) % ALIGN, 0, "offset {k}");
            }
        }
        assert_eq!(head_len::<f32>(&[]), 0);
    }

    #[test]
    fn for_ranges_runs_every_item_exactly_once() {
        for items in [0, 1, 63, 64, 65, 1000, 4096, 100_000, 1_000_003] {
            for align in [1, 64] {
                for ways in [1, 2, 3, 8] {
                    cover(items, align, ways);
                }
            }
        }
    }

    #[test]
    fn concurrent_and_nested_calls_all_complete() {
        // Several callers at once (one gets the team, the others run alone), each nesting a
        // second split inside its pieces.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        for_ranges(200_000, 64, 1, 2, &|r: Range<usize>| {
                            cover(r.len(), 64, 2);
                        });
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_piece_reaches_the_caller_and_the_team_still_works() {
        let r = std::panic::catch_unwind(|| {
            for_ranges(1 << 20, 64, 1, 2, &|r: Range<usize>| {
                if r.end == 1 << 20 {
                    panic!("piece");
                }
            });
        });
        assert!(r.is_err());
        cover(1 << 20, 64, 2);
    }
}
