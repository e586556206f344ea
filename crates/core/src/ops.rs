//! The one entry every binding calls: [`call`]`(op, dtype, args, buffers)`.
//!
//! `args` is an f64 array: the op's inputs, then room for its outputs, which the op writes back
//! (a norm, a loss). `buffers` are up to six byte blocks holding elements of `dtype`. Every op
//! checks all of its arguments before it writes anything, so on error nothing has changed.
//!
//! # Vector ops
//!
//! Vector ops work on a list of segments, each pairing ranges of the buffers `a`, `b`, `c` of
//! one length: `args = [count, (a_off, b_off, c_off, len) × count, scalars…, outputs…]`. An op
//! reads only the offsets of the buffers it uses. Reductions ([`crate::par`]) go segment by
//! segment in order, block by block within one, so results do not depend on the thread count.
//!
//! | op | buffers | scalars | outputs | effect |
//! |---|---|---|---|---|
//! | `DOT` | a, b | | sum | `Σ a·b` |
//! | `AXPY` | a, b | α | | `b ← b + α·a` |
//! | `SCALE` | a | α | | `a ← α·a` |
//! | `COPY` | a, b | | | `b ← a` |
//! | `FILL` | a | v | | `a ← v` |
//! | `LINCOMB` | a, b, c | α, β | | `c ← α·a + β·b` |
//! | `LERP` | a, b | w | | `a ← a + w·(b − a)` |
//! | `SWAP` | a, b | | | exchange |
//! | `NORM` | a | p | norm | the p-norm (`p` = 1, 2, ∞, or any p > 0) |
//! | `CLIP_NORM` | a | max, p, error_if_nonfinite | norm, coef | `a ← a·min(1, max/(norm + 1e-6))` |
//! | `CLIP_VALUE` | a | v | | `a ← clamp(a, −v, v)` |
//! | `NONFINITE` | a | | count | number of NaN/±∞ elements |
//!
//! # Other ops
//!
//! The model ops — `MODEL_INFO`, `MODEL_TRAIN` (forward, loss and backward over a minibatch),
//! `MODEL_EVAL` and `MODEL_PREDICT` — are described in [`crate::model`] (their args and buffers).
//!
//! | op | code | buffers | outputs |
//! |---|---|---|---|
//! | `MODEL_INFO` | 30 | | workspace length |
//! | `MODEL_TRAIN` | 31 | params, grads, x, y, workspace, out (grad_x) | loss, loss sum, correct |
//! | `MODEL_EVAL` | 32 | params, –, x, y, workspace | loss, loss sum, correct |
//! | `MODEL_PREDICT` | 33 | params, –, x, –, workspace, out | |
//!
//! `STEP` runs an optimizer step (table and buffers in [`crate::step`]; buffers params, grads,
//! state, scratch); `STEP_INFO` takes the same table plus two outputs (state length, scratch
//! length). `MATH` evaluates the portable functions of [`crate::mathx`]
//! (`args = [f, x, y, out]`, f = 0 exp, 1 ln, 2 pow, 3 erf, 4 erfc, 5 expm1, 6 log1p, 7 tanh,
//! 8 sigmoid) so tests can hold the TypeScript mirror to the same bits.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::par;
use crate::real::{DType, Real};
use crate::step::{self, Table};

pub const STEP: u32 = 0;
pub const STEP_INFO: u32 = 1;
pub const MATH: u32 = 2;
pub const DOT: u32 = 10;
pub const AXPY: u32 = 11;
pub const SCALE: u32 = 12;
pub const COPY: u32 = 13;
pub const FILL: u32 = 14;
pub const LINCOMB: u32 = 15;
pub const LERP: u32 = 16;
pub const SWAP: u32 = 17;
pub const NORM: u32 = 18;
pub const CLIP_NORM: u32 = 19;
pub const CLIP_VALUE: u32 = 20;
pub const NONFINITE: u32 = 21;
pub const MODEL_INFO: u32 = 30;
pub const MODEL_TRAIN: u32 = 31;
pub const MODEL_EVAL: u32 = 32;
pub const MODEL_PREDICT: u32 = 33;

/// Number of buffer arguments of [`call`].
pub const BUFFERS: usize = 6;

/// Names of the op codes, for messages and the generated TypeScript.
pub const OPS: &[(&str, u32)] = &[
    ("STEP", STEP),
    ("STEP_INFO", STEP_INFO),
    ("MATH", MATH),
    ("DOT", DOT),
    ("AXPY", AXPY),
    ("SCALE", SCALE),
    ("COPY", COPY),
    ("FILL", FILL),
    ("LINCOMB", LINCOMB),
    ("LERP", LERP),
    ("SWAP", SWAP),
    ("NORM", NORM),
    ("CLIP_NORM", CLIP_NORM),
    ("CLIP_VALUE", CLIP_VALUE),
    ("NONFINITE", NONFINITE),
    ("MODEL_INFO", MODEL_INFO),
    ("MODEL_TRAIN", MODEL_TRAIN),
    ("MODEL_EVAL", MODEL_EVAL),
    ("MODEL_PREDICT", MODEL_PREDICT),
];

/// Runs `op`. `dtype` is 0 (f32) or 1 (f64); `bufs[i]` are the buffer arguments as bytes.
pub fn call(op: u32, dtype: u32, args: &mut [f64], bufs: [&mut [u8]; BUFFERS]) -> Result<()> {
    match DType::from_code(dtype) {
        Some(DType::F32) => typed::<f32>(op, args, bufs),
        Some(DType::F64) => typed::<f64>(op, args, bufs),
        None => Err(Error::range(
            "dtype",
            format!("must be 0 (float32) or 1 (float64), got {dtype}"),
        )),
    }
}

const BUF_NAMES: [&str; BUFFERS] = [
    "buffers[0]",
    "buffers[1]",
    "buffers[2]",
    "buffers[3]",
    "buffers[4]",
    "buffers[5]",
];

fn cast<T: Real>(b: &mut [u8], i: usize) -> Result<&mut [T]> {
    if b.is_empty() {
        return Ok(&mut []);
    }
    let (len, at) = (b.len(), b.as_ptr() as usize);
    bytemuck::try_cast_slice_mut(b).map_err(|_| {
        Error::type_(
            BUF_NAMES[i],
            format!(
                "{len} bytes at {at:#x} are not whole, aligned {} elements",
                T::DTYPE.name()
            ),
        )
    })
}

fn typed<T: Real>(op: u32, args: &mut [f64], bufs: [&mut [u8]; BUFFERS]) -> Result<()> {
    let [b0, b1, b2, b3, b4, b5] = bufs;
    let mut v: [&mut [T]; BUFFERS] = [
        cast(b0, 0)?,
        cast(b1, 1)?,
        cast(b2, 2)?,
        cast(b3, 3)?,
        cast(b4, 4)?,
        cast(b5, 5)?,
    ];
    match op {
        STEP => {
            let [p, g, s, scratch, _, _] = &mut v;
            step_op::<T>(args, p, g, s, scratch)
        }
        STEP_INFO => {
            let n = args.len();
            if n < 2 {
                return Err(Error::type_(
                    "args",
                    "STEP_INFO needs the table and two outputs",
                ));
            }
            let (table, out) = args.split_at_mut(n - 2);
            let params_len = v[0].len();
            let t = Table::parse::<T>(
                table,
                if params_len == 0 {
                    usize::MAX
                } else {
                    params_len
                },
            )?;
            out[0] = t.state_len() as f64;
            out[1] = t.scratch_len() as f64;
            Ok(())
        }
        MATH => math(args),
        MODEL_INFO => crate::model::call::<T>(crate::model::Kind::Info, args, &mut v),
        MODEL_TRAIN => crate::model::call::<T>(crate::model::Kind::Train, args, &mut v),
        MODEL_EVAL => crate::model::call::<T>(crate::model::Kind::Eval, args, &mut v),
        MODEL_PREDICT => crate::model::call::<T>(crate::model::Kind::Predict, args, &mut v),
        _ => vector::<T>(op, args, &mut v),
    }
}

fn step_op<T: Real>(
    args: &[f64],
    p: &mut [T],
    g: &mut [T],
    s: &mut [T],
    scratch: &mut [T],
) -> Result<()> {
    if g.len() != p.len() {
        return Err(Error::range(
            "grads",
            format!("length {} must equal params length {}", g.len(), p.len()),
        ));
    }
    let table = Table::parse::<T>(args, p.len())?;
    let state_len = table.state_len();
    if s.len() != state_len {
        return Err(Error::range(
            "state",
            format!(
                "length {} must equal the state layout length {state_len}",
                s.len()
            ),
        ));
    }
    let need = table.scratch_len();
    if scratch.len() < need {
        return Err(Error::range(
            "scratch",
            format!(
                "length {} is below the {need} elements this step needs",
                scratch.len()
            ),
        ));
    }
    let entry = crate::registry::entry(table.spec.id).expect("parsed tables have registered specs");
    entry.run::<T>(&table, p, g, s, scratch)
}

fn math(args: &mut [f64]) -> Result<()> {
    if args.len() != 4 {
        return Err(Error::type_("args", "MATH takes [f, x, y, out]"));
    }
    let (x, y) = (args[1], args[2]);
    args[3] = match args[0] {
        0.0 => crate::mathx::exp(x),
        1.0 => crate::mathx::ln(x),
        2.0 => crate::mathx::pow(x, y),
        3.0 => crate::mathx::erf(x),
        4.0 => crate::mathx::erfc(x),
        5.0 => crate::mathx::expm1(x),
        6.0 => crate::mathx::log1p(x),
        7.0 => crate::mathx::tanh(x),
        8.0 => crate::mathx::sigmoid(x),
        f => {
            return Err(Error::range(
                "args[0]",
                format!("unknown function {}", crate::spec::num(f)),
            ))
        }
    };
    Ok(())
}

/// Which buffers an op uses, its scalar inputs and its outputs.
fn shape_of(op: u32) -> Option<(&'static [usize], usize, usize)> {
    Some(match op {
        DOT => (&[0, 1], 0, 1),
        AXPY => (&[0, 1], 1, 0),
        SCALE => (&[0], 1, 0),
        COPY => (&[0, 1], 0, 0),
        FILL => (&[0], 1, 0),
        LINCOMB => (&[0, 1, 2], 2, 0),
        LERP => (&[0, 1], 1, 0),
        SWAP => (&[0, 1], 0, 0),
        NORM => (&[0], 1, 1),
        CLIP_NORM => (&[0], 3, 2),
        CLIP_VALUE => (&[0], 1, 0),
        NONFINITE => (&[0], 0, 1),
        _ => return None,
    })
}

/// A checked segment: the ranges in buffers a, b, c.
#[derive(Clone)]
struct Seg {
    r: [Range<usize>; 3],
}

/// Checks the segment list at the front of `args` (every range of a used buffer in bounds) and
/// returns the segment count and where the scalars start. Decoding again with [`seg`] is then
/// infallible; nothing is allocated.
fn segments(args: &[f64], used: &[usize], lens: [usize; 3]) -> Result<(usize, usize)> {
    let bad = |i: usize, what: String| Error::range(format!("args[{i}]"), what);
    let count = *args
        .first()
        .ok_or_else(|| Error::type_("args", "missing the segment count"))?;
    // Segment s takes args[1 + 4s .. 5 + 4s]: the count must leave room for all of them.
    if !(count >= 0.0 && count.fract() == 0.0 && count <= ((args.len() - 1) / 4) as f64) {
        return Err(bad(
            0,
            format!(
                "segment count {} does not fit the {} numbers given",
                crate::spec::num(count),
                args.len()
            ),
        ));
    }
    let count = count as usize;
    for s in 0..count {
        let base = 1 + 4 * s;
        let num = |j: usize| -> Result<usize> {
            let v = args[base + j];
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= step::MAX_SAFE {
                Ok(v as usize)
            } else {
                Err(bad(
                    base + j,
                    format!(
                        "must be a non-negative integer, got {}",
                        crate::spec::num(v)
                    ),
                ))
            }
        };
        let len = num(3)?;
        for &b in used {
            let off = num(b)?;
            if off.checked_add(len).filter(|&e| e <= lens[b]).is_none() {
                return Err(bad(
                    base + b,
                    format!(
                        "segment {s}: range {off}..{off}+{len} exceeds {} of length {}",
                        BUF_NAMES[b], lens[b]
                    ),
                ));
            }
        }
    }
    Ok((count, 1 + 4 * count))
}

/// Segment `s` of a list [`segments`] has checked (unused buffers get empty ranges).
fn seg(args: &[f64], s: usize, used: &[usize]) -> Seg {
    let base = 1 + 4 * s;
    let len = args[base + 3] as usize;
    let mut r = [0..0, 0..0, 0..0];
    for &b in used {
        let off = args[base + b] as usize;
        r[b] = off..off + len;
    }
    Seg { r }
}

fn vector<T: Real>(op: u32, args: &mut [f64], v: &mut [&mut [T]; BUFFERS]) -> Result<()> {
    let (used, n_in, n_out) =
        shape_of(op).ok_or_else(|| Error::range("op", format!("unknown op code {op}")))?;
    let lens = [v[0].len(), v[1].len(), v[2].len()];
    let (count, at) = segments(args, used, lens)?;
    if args.len() != at + n_in + n_out {
        return Err(Error::type_(
            "args",
            format!(
                "length {} must be {} (segments, {n_in} scalars, {n_out} outputs)",
                args.len(),
                at + n_in + n_out
            ),
        ));
    }
    let (head, tail) = args.split_at_mut(at);
    let head: &[f64] = head;
    let segs = (0..count).map(|s| seg(head, s, used));
    let (inputs, out) = tail.split_at_mut(n_in);
    for (j, &x) in inputs.iter().enumerate() {
        if x.is_nan() && op != FILL {
            return Err(Error::range(format!("args[{}]", at + j), "must not be NaN"));
        }
    }
    let [a, b, c, ..] = v;
    let (a, b, c): (&mut [T], &mut [T], &mut [T]) = (a, b, c);
    let par = true;
    match op {
        DOT => {
            let mut total = 0.0;
            for s in segs.clone() {
                let (x, y) = (&a[s.r[0].clone()], &b[s.r[1].clone()]);
                let n = x.len();
                total = total
                    + par::sum(n, par, &|r: Range<usize>| {
                        [par::lane_sum2(&x[r.clone()], &y[r], |p, q| p * q)]
                    })[0];
            }
            out[0] = total;
        }
        AXPY => {
            let alpha = T::of(inputs[0]);
            for s in segs.clone() {
                let x = &a[s.r[0].clone()];
                par::for_chunks(
                    &mut b[s.r[1].clone()],
                    x,
                    &[],
                    par,
                    &|y: &mut [T], x: &[T], _: &[T]| {
                        for (y, &xi) in y.iter_mut().zip(x) {
                            *y = *y + alpha * xi;
                        }
                    },
                );
            }
        }
        SCALE => {
            let alpha = T::of(inputs[0]);
            for s in segs.clone() {
                par::for_chunks(
                    &mut a[s.r[0].clone()],
                    &[],
                    &[],
                    par,
                    &|x: &mut [T], _: &[T], _: &[T]| {
                        for x in x.iter_mut() {
                            *x = alpha * *x;
                        }
                    },
                );
            }
        }
        COPY => {
            for s in segs.clone() {
                b[s.r[1].clone()].copy_from_slice(&a[s.r[0].clone()]);
            }
        }
        FILL => {
            let value = T::of(inputs[0]);
            for s in segs.clone() {
                a[s.r[0].clone()].fill(value);
            }
        }
        LINCOMB => {
            let (alpha, beta) = (T::of(inputs[0]), T::of(inputs[1]));
            for s in segs.clone() {
                let (x, y) = (&a[s.r[0].clone()], &b[s.r[1].clone()]);
                par::for_chunks(
                    &mut c[s.r[2].clone()],
                    x,
                    y,
                    par,
                    &|z: &mut [T], x: &[T], y: &[T]| {
                        for ((z, &xi), &yi) in z.iter_mut().zip(x).zip(y) {
                            *z = alpha * xi + beta * yi;
                        }
                    },
                );
            }
        }
        LERP => {
            let w = T::of(inputs[0]);
            for s in segs.clone() {
                let y = &b[s.r[1].clone()];
                par::for_chunks(
                    &mut a[s.r[0].clone()],
                    y,
                    &[],
                    par,
                    &|x: &mut [T], y: &[T], _: &[T]| {
                        for (x, &yi) in x.iter_mut().zip(y) {
                            *x = *x + w * (yi - *x);
                        }
                    },
                );
            }
        }
        SWAP => {
            for s in segs.clone() {
                par::for_chunks2(
                    &mut a[s.r[0].clone()],
                    &mut b[s.r[1].clone()],
                    par,
                    &|x: &mut [T], y: &mut [T]| x.swap_with_slice(y),
                );
            }
        }
        NORM => {
            let p = check_norm_type(inputs[0], at)?;
            out[0] = norm(&a[..], segs, p, par);
        }
        CLIP_NORM => {
            let max_norm = inputs[0];
            if max_norm.is_nan() || max_norm < 0.0 {
                return Err(Error::range(
                    format!("args[{at}] (max_norm)"),
                    format!("must be >= 0, got {}", crate::spec::num(max_norm)),
                ));
            }
            let p = check_norm_type(inputs[1], at + 1)?;
            let total = norm(&a[..], segs.clone(), p, par);
            if inputs[2] != 0.0 && !total.is_finite() {
                return Err(Error::range(
                    "grads",
                    format!("the total norm of order {} is {}, so clipping cannot be done (error_if_nonfinite)", crate::spec::num(p), crate::spec::num(total)),
                ));
            }
            // A NaN norm gives a NaN coefficient, as in PyTorch (`f64::min` would drop the NaN).
            let c = max_norm / (total + 1e-6);
            let coef = if c > 1.0 { 1.0 } else { c };
            let k = T::of(coef);
            for s in segs.clone() {
                par::for_chunks(
                    &mut a[s.r[0].clone()],
                    &[],
                    &[],
                    par,
                    &|x: &mut [T], _: &[T], _: &[T]| {
                        for x in x.iter_mut() {
                            *x = *x * k;
                        }
                    },
                );
            }
            out[0] = total;
            out[1] = coef;
        }
        CLIP_VALUE => {
            let v = inputs[0];
            if v.is_nan() || v < 0.0 {
                return Err(Error::range(
                    format!("args[{at}] (clip_value)"),
                    format!("must be >= 0, got {}", crate::spec::num(v)),
                ));
            }
            let (hi, lo) = (T::of(v), T::of(-v));
            for s in segs.clone() {
                for x in &mut a[s.r[0].clone()] {
                    // NaN stays NaN, as torch.clamp does.
                    *x = if *x > hi {
                        hi
                    } else if *x < lo {
                        lo
                    } else {
                        *x
                    };
                }
            }
        }
        NONFINITE => {
            let mut count = 0usize;
            for s in segs.clone() {
                count += a[s.r[0].clone()].iter().filter(|x| !x.is_finite()).count();
            }
            out[0] = count as f64;
        }
        _ => unreachable!("shape_of covers every vector op"),
    }
    Ok(())
}

fn check_norm_type(p: f64, at: usize) -> Result<f64> {
    if p > 0.0 {
        Ok(p)
    } else {
        Err(Error::range(
            format!("args[{at}] (norm_type)"),
            format!("must be > 0 or inf, got {}", crate::spec::num(p)),
        ))
    }
}

/// The p-norm of every element of the segments' `a` ranges taken together.
fn norm<T: Real>(a: &[T], segs: impl Iterator<Item = Seg>, p: f64, parallel: bool) -> f64 {
    let mut acc = 0.0f64;
    for s in segs {
        let x = &a[s.r[0].clone()];
        let n = x.len();
        if p == f64::INFINITY {
            let m = par::reduce(
                n,
                parallel,
                [0.0],
                &|r: Range<usize>| [par::lane_max_abs(&x[r])],
                |m, b| {
                    [if b[0] > m[0] || b[0].is_nan() {
                        b[0]
                    } else {
                        m[0]
                    }]
                },
            )[0];
            acc = if m > acc || m.is_nan() { m } else { acc };
        } else if p == 1.0 {
            acc = acc
                + par::sum(n, parallel, &|r: Range<usize>| {
                    [par::lane_sum(&x[r], f64::abs)]
                })[0];
        } else if p == 2.0 {
            acc = acc
                + par::sum(n, parallel, &|r: Range<usize>| {
                    [par::lane_sum(&x[r], |v| v * v)]
                })[0];
        } else {
            acc = acc
                + par::sum(n, parallel, &|r: Range<usize>| {
                    [par::lane_sum(&x[r], |v| crate::mathx::pow(v.abs(), p))]
                })[0];
        }
    }
    if p == f64::INFINITY || p == 1.0 {
        acc
    } else if p == 2.0 {
        acc.sqrt()
    } else {
        crate::mathx::pow(acc, 1.0 / p)
    }
}
