//! One optimizer step over a whole parameter arena: the step table, the state layout, and the
//! two drivers (element-wise and tensor-wise) that run a spec's kernel.
//!
//! # The step table (`args` of [`crate::ops::STEP`])
//!
//! ```text
//! [0] spec id   [1] groups G   [2] tensors K   [3] flags (bit 0: may use threads)
//! G rows of H numbers: the group's hyperparameters in spec order (NaN = none; 0/1 booleans)
//! K rows of TENSOR_STRIDE numbers:
//!     offset, numel, ndim, batch, rows, cols, group, step, flags (bit 0: skip)
//! ```
//!
//! `offset`/`numel` locate the tensor in the params (and grads) buffer; `batch, rows, cols` are
//! its shape as `[..batch, rows, cols]` (see [`Shape`]); `step` is the tensor's step count after
//! this step (from 1). Rows are sorted by offset and do not overlap. A skipped row (a frozen
//! tensor) keeps its place in the state layout but is neither updated nor initialised.
//!
//! # The state layout
//!
//! All state of one optimizer is one buffer. It is slot-major: for each slot of the spec in
//! order, for each tensor row in order, the slot's elements if the slot exists for that tensor
//! ([`Spec::has_slot`], [`Len::of`]). The TypeScript layer computes the same layout from the
//! generated spec to read and write state dicts; [`Table::state_len`] is its length.
//!
//! # Pipeline per tensor
//!
//! A tensor taking its first step (`step == 1`) has its slots set to their initial values.
//! Element-wise specs ([`Elementwise`]) then plan (per-step scalars, computed once in f64 and
//! rounded to the element type; scalar state such as NAdam's `mu_product` is updated here) and
//! apply an element loop; consecutive tensors that are adjacent in the arena, have the same step
//! and the same plan run as one loop, split across threads when long. Tensor-wise specs
//! ([`Tensorwise`]) get the tensor's buffers and a scratch buffer and may reduce (fixed-order
//! sums from [`crate::par`]), plan and apply as they need.

use crate::error::{Error, Result};
use crate::par;
use crate::real::Real;
use crate::spec::{Driver, Len, Shape, Spec};

pub const HEADER: usize = 4;
pub const TENSOR_STRIDE: usize = 9;
/// Most state slots a spec may have.
pub const MAX_SLOTS: usize = 6;
/// Largest integer an f64 (and a JS number) holds exactly.
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// One tensor as a kernel sees it.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    /// Row in the table.
    pub index: usize,
    pub offset: usize,
    pub shape: Shape,
    pub group: usize,
    /// Step count after this step (t, from 1).
    pub step: u64,
    /// Frozen: keeps its state, takes no step.
    pub skip: bool,
    /// The group's hyperparameters, in spec order, checked against the spec.
    pub hp: &'a [f64],
}

impl Tensor<'_> {
    #[inline]
    pub fn hp(&self, i: usize) -> f64 {
        self.hp[i]
    }
    #[inline]
    pub fn flag(&self, i: usize) -> bool {
        self.hp[i] != 0.0
    }
}

/// An optimizer whose step is an element loop with per-tensor scalars.
///
/// `SCALARS` is the number of `Len::Scalar` slots; they come first-to-last in spec order to
/// `plan`. The `N` slots (at most 4) come to `apply` in spec order, absent ones empty.
pub trait Elementwise: 'static {
    const SPEC: &'static Spec;
    type Plan<T: Real>: Copy + PartialEq + Send + Sync;
    /// Per-step scalars of tensor `t`. A function of the group's hyperparameters, the step and
    /// the scalar slots only (not of the shape or the place): the driver reuses the previous
    /// tensor's plan when a spec without scalar slots meets the same group and step again.
    fn plan<T: Real>(t: &Tensor<'_>, scalars: &mut [T]) -> Self::Plan<T>;
    #[allow(clippy::too_many_arguments)]
    fn apply<T: Real>(
        pl: &Self::Plan<T>,
        p: &mut [T],
        g: &[T],
        s0: &mut [T],
        s1: &mut [T],
        s2: &mut [T],
        s3: &mut [T],
    );
}

/// An optimizer that needs the whole tensor at once (norms, factored moments, matrices).
pub trait Tensorwise: 'static {
    const SPEC: &'static Spec;
    /// Scratch elements one tensor needs (the step gets the largest over its tensors).
    fn scratch_len(_shape: &Shape) -> usize {
        0
    }
    /// Rejects a tensor this optimizer cannot step (Muon takes matrices only). Every row of the
    /// table is checked before any tensor is stepped, so a rejected step writes nothing.
    fn check(_t: &Tensor<'_>) -> Result<()> {
        Ok(())
    }
    /// `slots[k]` is slot k of the spec for this tensor, empty when absent.
    fn step<T: Real>(
        t: &Tensor<'_>,
        p: &mut [T],
        g: &[T],
        slots: &mut [&mut [T]; MAX_SLOTS],
        scratch: &mut [T],
        parallel: bool,
    );
}

/// A checked step table, its rows decoded once (a step reads each several times: to check the
/// state buffer's length, to lay out the slots, to run).
pub struct Table<'a> {
    pub spec: &'static Spec,
    pub parallel: bool,
    groups: &'a [f64],
    h: usize,
    g: usize,
    rows: Vec<Tensor<'a>>,
    /// Length of each slot for each row (0: the slot does not exist for it).
    slot_lens: Vec<[usize; MAX_SLOTS]>,
    /// Length of each slot's region of the state buffer.
    regions: [usize; MAX_SLOTS],
}

/// `v` is a whole number from 0 to [`MAX_SAFE`]. `v as u64` saturates (NaN gives 0), so the
/// round trip holds exactly for those; unlike `fract()`, it needs no libm call on the baseline
/// x86-64 target.
#[inline]
fn is_whole(v: f64) -> bool {
    (0.0..=MAX_SAFE).contains(&v) && (v as u64) as f64 == v
}

fn whole(v: f64, arg: impl FnOnce() -> String) -> Result<usize> {
    if is_whole(v) {
        Ok(v as usize)
    } else {
        Err(Error::range(
            arg(),
            format!(
                "must be a non-negative integer, got {}",
                crate::spec::num(v)
            ),
        ))
    }
}

impl<'a> Table<'a> {
    /// Decodes the header and checks every group against the spec (for element type `T`) and
    /// every tensor row against an arena of `arena_len` elements.
    pub fn parse<T: Real>(args: &'a [f64], arena_len: usize) -> Result<Table<'a>> {
        if args.len() < HEADER {
            return Err(Error::type_(
                "args",
                format!(
                    "a step table needs a {HEADER}-number header, got {}",
                    args.len()
                ),
            ));
        }
        let id = whole(args[0], || "args[0] (spec id)".into())?;
        let spec = crate::registry::spec(id as u32).ok_or_else(|| {
            Error::range(
                "args[0] (spec id)",
                format!("unknown optimizer spec id {id}"),
            )
        })?;
        if spec.driver == Driver::Ts {
            return Err(Error::range(
                "args[0] (spec id)",
                format!(
                    "{} runs in TypeScript over core ops; it has no core step",
                    spec.name
                ),
            ));
        }
        let g = whole(args[1], || "args[1] (groups)".into())?;
        let k = whole(args[2], || "args[2] (tensors)".into())?;
        let flags = whole(args[3], || "args[3] (flags)".into())?;
        let h = spec.hparams.len();
        let need = g
            .checked_mul(h)
            .and_then(|a| k.checked_mul(TENSOR_STRIDE).and_then(|b| a.checked_add(b)));
        if need.and_then(|n| n.checked_add(HEADER)) != Some(args.len()) {
            return Err(Error::type_(
                "args",
                format!(
                    "length {} does not hold {g} groups of {h} and {k} tensors of {TENSOR_STRIDE} after the header",
                    args.len()
                ),
            ));
        }
        let groups = &args[HEADER..HEADER + g * h];
        let tensors = &args[HEADER + g * h..];
        for (gi, hp) in groups.chunks_exact(h.max(1)).take(g).enumerate() {
            spec.check_group::<T>(hp, &|name| format!("groups[{gi}].{name}"))?;
        }
        let mut table = Table {
            spec,
            parallel: flags & 1 == 1,
            groups,
            h,
            g,
            rows: Vec::with_capacity(k),
            slot_lens: Vec::with_capacity(k),
            regions: [0; MAX_SLOTS],
        };
        // Which slots each group's options switch on, looked up by name once per group.
        let switched: Vec<[bool; MAX_SLOTS]> = (0..g)
            .map(|gi| {
                let mut on = [false; MAX_SLOTS];
                for (k, s) in spec.state.iter().enumerate() {
                    on[k] = spec.slot_switched_on(s, table.group(gi));
                }
                on
            })
            .collect();
        let mut end_prev = 0usize;
        for i in 0..k {
            let t = table.decode_row(tensors, i)?;
            if t.offset < end_prev {
                return Err(Error::range(
                    format!("tensors[{i}].offset"),
                    format!(
                        "tensors must be sorted by offset and disjoint; {} overlaps the previous one ending at {end_prev}",
                        t.offset
                    ),
                ));
            }
            end_prev = t.offset + t.shape.numel;
            if end_prev > arena_len {
                return Err(Error::range(
                    format!("tensors[{i}].numel"),
                    format!(
                        "range {}..{end_prev} exceeds the params length {arena_len}",
                        t.offset
                    ),
                ));
            }
            let mut lens = [0usize; MAX_SLOTS];
            for (k, s) in spec.state.iter().enumerate() {
                if switched[t.group][k] && crate::spec::slot_fits(s, &t.shape) {
                    lens[k] = s.len.of(&t.shape);
                    table.regions[k] += lens[k];
                }
            }
            table.rows.push(t);
            table.slot_lens.push(lens);
        }
        Ok(table)
    }

    pub fn groups(&self) -> usize {
        self.g
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The hyperparameters of group `g`.
    pub fn group(&self, g: usize) -> &'a [f64] {
        &self.groups[g * self.h..(g + 1) * self.h]
    }

    /// Tensor row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> Tensor<'a> {
        self.rows[i]
    }

    /// Decodes and checks row `i` of `tensors` (the groups must be in place).
    fn decode_row(&self, tensors: &'a [f64], i: usize) -> Result<Tensor<'a>> {
        let r = &tensors[i * TENSOR_STRIDE..(i + 1) * TENSOR_STRIDE];
        let name = |c: &str| format!("tensors[{i}].{c}");
        // Every field is a whole number in range on the common path: one pass over the row, and
        // the field-by-field checks (whose first failure names the field) only when one is not.
        let mut u = [0usize; TENSOR_STRIDE];
        let mut fine = true;
        for (o, &v) in u.iter_mut().zip(r) {
            fine &= is_whole(v);
            *o = v as usize;
        }
        if !fine {
            const FIELDS: [&str; TENSOR_STRIDE] = [
                "offset", "numel", "ndim", "batch", "rows", "cols", "group", "step", "flags",
            ];
            for (&v, f) in r.iter().zip(FIELDS) {
                whole(v, || name(f))?;
            }
        }
        let [offset, numel, ndim, batch, rows, cols, group, step, flags] = u;
        if flags > 1 {
            return Err(Error::range(
                name("flags"),
                format!("must be 0 or 1 (skip), got {flags}"),
            ));
        }
        if step == 0 {
            return Err(Error::range(
                name("step"),
                "must be >= 1 (the count after this step)",
            ));
        }
        // A matrix has no leading dimensions: batch 1. (A 2-D row with batch 0 and rows, cols > 0
        // had numel 0 but sent matrix kernels through rows × cols elements of an empty slot.)
        let consistent = match ndim {
            0 => batch == 1 && rows == 1 && cols == 1 && numel == 1,
            1 => batch == 1 && rows == 1 && cols == numel,
            2 => batch == 1 && rows.checked_mul(cols) == Some(numel),
            _ => batch.checked_mul(rows).and_then(|x| x.checked_mul(cols)) == Some(numel),
        };
        if !consistent {
            return Err(Error::range(
                name("numel"),
                format!(
                    "{numel} does not match ndim {ndim}, batch {batch}, rows {rows}, cols {cols}"
                ),
            ));
        }
        if group >= self.groups() {
            return Err(Error::range(
                name("group"),
                format!("{group} is not below the group count {}", self.groups()),
            ));
        }
        Ok(Tensor {
            index: i,
            offset,
            shape: Shape {
                numel,
                ndim,
                batch,
                rows,
                cols,
            },
            group,
            step: step as u64,
            skip: flags == 1,
            hp: self.group(group),
        })
    }

    /// Length of slot `k` for tensor `t` (0 when the slot does not exist for it).
    #[inline]
    pub fn slot_len(&self, k: usize, t: &Tensor<'_>) -> usize {
        self.slot_lens[t.index][k]
    }

    /// Length of each slot's region of the state buffer.
    pub fn regions(&self) -> [usize; MAX_SLOTS] {
        self.regions
    }

    /// Length of the whole state buffer.
    pub fn state_len(&self) -> usize {
        self.regions.iter().sum()
    }

    /// Scratch elements a step of this table needs.
    pub fn scratch_len(&self) -> usize {
        let entry =
            crate::registry::entry(self.spec.id).expect("parsed tables have registered specs");
        self.rows
            .iter()
            .map(|t| (entry.scratch)(&t.shape))
            .max()
            .unwrap_or(0)
    }
}

/// Takes the first `n` elements off the front of `rest`.
#[inline]
fn take<'b, T>(rest: &mut &'b mut [T], n: usize) -> &'b mut [T] {
    let (a, b) = std::mem::take(rest).split_at_mut(n);
    *rest = b;
    a
}

/// Splits the state buffer into its slot regions.
fn regions<'b, T>(mut state: &'b mut [T], per: &[usize; MAX_SLOTS]) -> [&'b mut [T]; MAX_SLOTS] {
    let mut out: [&'b mut [T]; MAX_SLOTS] = Default::default();
    for (k, &n) in per.iter().enumerate() {
        out[k] = take(&mut state, n);
    }
    out
}

fn init_slots<T: Real>(spec: &Spec, hp: &[f64], slots: &mut [&mut [T]; MAX_SLOTS]) {
    for (k, s) in spec.state.iter().enumerate() {
        if !slots[k].is_empty() {
            slots[k].fill(T::of(spec.init_value(s, hp)));
        }
    }
}

/// Runs a checked step. `state` must be exactly [`Table::state_len`] long and `scratch` at least
/// [`Table::scratch_len`]; the caller ([`crate::ops`]) has checked both.
pub type RunFn<T> = fn(&Table<'_>, &mut [T], &[T], &mut [T], &mut [T]) -> Result<()>;

/// A run of adjacent tensors with the same step and plan, gathered before it is applied.
struct Run<'a, P> {
    group: usize,
    offset: usize,
    len: usize,
    plan: P,
    step: u64,
    hp: &'a [f64],
    /// Length of each `N` slot over the run (0: absent).
    lens: [usize; MAX_SLOTS],
}

/// The element-wise driver (see the module docs).
pub fn run_elementwise<A: Elementwise, T: Real>(
    table: &Table<'_>,
    params: &mut [T],
    grads: &[T],
    state: &mut [T],
    _scratch: &mut [T],
) -> Result<()> {
    let spec = A::SPEC;
    let mut slot = regions(state, &table.regions());
    let scalar = |k: usize| spec.state[k].len == Len::Scalar;
    let n_slots = spec.state.len();
    let mut rest_p: &mut [T] = params;
    let mut pos = 0usize;

    let mut flush = |r: Run<'_, A::Plan<T>>, slot: &mut [&mut [T]; MAX_SLOTS]| {
        take(&mut rest_p, r.offset - pos);
        let p = take(&mut rest_p, r.len);
        pos = r.offset + r.len;
        let g = &grads[r.offset..r.offset + r.len];
        let mut s: [&mut [T]; 4] = Default::default();
        for (j, k) in (0..n_slots).filter(|&k| !scalar(k)).enumerate() {
            s[j] = take(&mut slot[k], r.lens[k]);
            if r.step == 1 {
                s[j].fill(T::of(spec.init_value(&spec.state[k], r.hp)));
            }
        }
        let [s0, s1, s2, s3] = s;
        apply_par::<A, T>(&r.plan, p, g, s0, s1, s2, s3, table.parallel);
    };

    let mut run: Option<Run<'_, A::Plan<T>>> = None;
    let has_scalars = (0..n_slots).any(scalar);
    let mut last_plan: Option<(usize, u64, A::Plan<T>)> = None;
    for i in 0..table.len() {
        let t = table.row(i);
        if t.skip {
            // A frozen tensor: its slot regions are passed over, nothing is written.
            if let Some(r) = run.take() {
                flush(r, &mut slot);
            }
            for (k, region) in slot.iter_mut().enumerate().take(n_slots) {
                take(region, table.slot_len(k, &t));
            }
            continue;
        }
        // Scalar slots: set at the tensor's first step, then read and updated by the plan.
        let mut scalars = [T::ZERO; MAX_SLOTS];
        let mut mine: [&mut [T]; MAX_SLOTS] = Default::default();
        let mut lens = [0usize; MAX_SLOTS];
        let mut n_scalars = 0;
        for k in 0..n_slots {
            let len = table.slot_len(k, &t);
            if !scalar(k) {
                lens[k] = len;
            } else if len == 1 {
                let r = take(&mut slot[k], 1);
                if t.step == 1 {
                    r[0] = T::of(spec.init_value(&spec.state[k], t.hp));
                }
                scalars[n_scalars] = r[0];
                mine[n_scalars] = r;
                n_scalars += 1;
            }
        }
        // Models with many tensors in one group plan once per step, not once per tensor (an
        // Adam plan's exact powers cost about 0.1 µs).
        let plan = match last_plan {
            Some((group, step, p)) if !has_scalars && group == t.group && step == t.step => p,
            _ => {
                let p = A::plan(&t, &mut scalars[..n_scalars]);
                last_plan = Some((t.group, t.step, p));
                p
            }
        };
        for (r, &v) in mine.iter_mut().zip(&scalars).take(n_scalars) {
            r[0] = v;
        }
        if let Some(r) = &mut run {
            let same_slots = (0..n_slots).all(|k| (r.lens[k] == 0) == (lens[k] == 0));
            if r.offset + r.len == t.offset
                && r.group == t.group
                && r.plan == plan
                && r.step == t.step
                && same_slots
            {
                r.len += t.shape.numel;
                for (acc, l) in r.lens.iter_mut().zip(lens) {
                    *acc += l;
                }
                continue;
            }
        }
        if let Some(r) = run.take() {
            flush(r, &mut slot);
        }
        run = Some(Run {
            group: t.group,
            offset: t.offset,
            len: t.shape.numel,
            plan,
            step: t.step,
            hp: t.hp,
            lens,
        });
    }
    if let Some(r) = run.take() {
        flush(r, &mut slot);
    }
    Ok(())
}

/// The tensor-wise driver.
pub fn run_tensorwise<A: Tensorwise, T: Real>(
    table: &Table<'_>,
    params: &mut [T],
    grads: &[T],
    state: &mut [T],
    scratch: &mut [T],
) -> Result<()> {
    let spec = A::SPEC;
    for i in 0..table.len() {
        A::check(&table.row(i))?;
    }
    let mut slot = regions(state, &table.regions());
    let mut rest_p: &mut [T] = params;
    let mut pos = 0usize;
    for i in 0..table.len() {
        let t = table.row(i);
        take(&mut rest_p, t.offset - pos);
        let p = take(&mut rest_p, t.shape.numel);
        pos = t.offset + t.shape.numel;
        let g = &grads[t.offset..t.offset + t.shape.numel];
        let mut mine: [&mut [T]; MAX_SLOTS] = Default::default();
        for k in 0..spec.state.len() {
            mine[k] = take(&mut slot[k], table.slot_len(k, &t));
        }
        if t.skip {
            continue;
        }
        if t.step == 1 {
            init_slots(spec, t.hp, &mut mine);
        }
        A::step(&t, p, g, &mut mine, scratch, table.parallel);
    }
    Ok(())
}

/// Applies an element-wise plan, split across threads when the run is long.
#[allow(clippy::too_many_arguments)]
fn apply_par<A: Elementwise, T: Real>(
    pl: &A::Plan<T>,
    p: &mut [T],
    g: &[T],
    s0: &mut [T],
    s1: &mut [T],
    s2: &mut [T],
    s3: &mut [T],
    parallel: bool,
) {
    let n = p.len();
    let ways = par::ways(n, parallel, par::PAR_MIN_LEN);
    // The elements before the params' first cache-line boundary run apart, so the vector body
    // (and every thread's piece) starts aligned; element-wise, so the split changes no bit.
    let head = par::head_len(p);
    let (p0, p) = p.split_at_mut(head);
    let (g0, g) = (par::part(g, 0..head), par::part(g, head..n));
    let (a0, s0) = par::cut_mut(s0, head);
    let (b0, s1) = par::cut_mut(s1, head);
    let (c0, s2) = par::cut_mut(s2, head);
    let (d0, s3) = par::cut_mut(s3, head);
    if head > 0 {
        apply_dispatch::<A, T>(pl, p0, g0, a0, b0, c0, d0);
    }
    let n = n - head;
    if ways <= 1 {
        return apply_dispatch::<A, T>(pl, p, g, s0, s1, s2, s3);
    }
    let sh = [p, s0, s1, s2, s3].map(par::Shared::new);
    par::for_ranges(n, 64, 1, ways, &|r: std::ops::Range<usize>| {
        // SAFETY: `for_ranges` hands out disjoint ranges of 0..n; every slice is n long or empty
        // and outlives the call.
        let [p, s0, s1, s2, s3] = sh.map(|s| unsafe { s.at(r.clone()) });
        apply_dispatch::<A, T>(pl, p, &g[r], s0, s1, s2, s3)
    });
}

/// The element loop, in its AVX2 copy when the CPU has AVX2. Slices are separate parameters:
/// `&mut` parameters are `noalias` to LLVM, which lets it vectorise without overlap checks.
#[allow(clippy::too_many_arguments)]
#[inline]
fn apply_dispatch<A: Elementwise, T: Real>(
    pl: &A::Plan<T>,
    p: &mut [T],
    g: &[T],
    s0: &mut [T],
    s1: &mut [T],
    s2: &mut [T],
    s3: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn wide<A: Elementwise, T: Real>(
            pl: &A::Plan<T>,
            p: &mut [T],
            g: &[T],
            s0: &mut [T],
            s1: &mut [T],
            s2: &mut [T],
            s3: &mut [T],
        ) {
            A::apply(pl, p, g, s0, s1, s2, s3)
        }
        if crate::simd::has_avx2() {
            // SAFETY: `wide` only needs AVX2, which the CPU reported just above.
            return unsafe { wide::<A, T>(pl, p, g, s0, s1, s2, s3) };
        }
    }
    A::apply(pl, p, g, s0, s1, s2, s3)
}
