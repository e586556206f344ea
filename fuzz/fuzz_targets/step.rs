//! Step tables: a registered spec, its groups' hyperparameters (mostly in their domains, since a
//! table that fails the checks never reaches a kernel, sometimes not), tensor rows with shapes
//! that are mostly consistent, and buffers sized by `STEP_INFO` (or not). Runs `STEP_INFO` and
//! then `STEP` so the kernels themselves see the tables the parser lets through.
#![no_main]

use downhill_core::ops::{STEP, STEP_INFO};
use downhill_core::spec::Kind;
use downhill_core::step::{HEADER, TENSOR_STRIDE};
use downhill_core::ENTRIES;
use downhill_fuzz::{call, number, Block};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn hparam(u: &mut Unstructured<'_>, kind: &Kind, default: f64) -> Result<f64> {
    if u.ratio(1u8, 8)? {
        return number(u);
    }
    Ok(match kind {
        Kind::Bool => u.int_in_range(0u8..=1)? as f64,
        Kind::Choice(names) => u.int_in_range(0..=names.len().saturating_sub(1))? as f64,
        Kind::Int(d) | Kind::Real(d) => {
            let lo = if d.lo.is_finite() { d.lo } else { -10.0 };
            let hi = if d.hi.is_finite() {
                d.hi
            } else {
                lo.max(0.0) + 10.0
            };
            match u.int_in_range(0u8..=3)? {
                0 => default,
                1 if d.nullable => f64::NAN,
                _ => {
                    let t = f64::from(u.int_in_range(0u16..=1000)?) / 1000.0;
                    let x = lo + t * (hi - lo);
                    if matches!(kind, Kind::Int(_)) {
                        x.round()
                    } else {
                        x
                    }
                }
            }
        }
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let entry = &ENTRIES[u.choose_index(ENTRIES.len())?];
    let spec = entry.spec;
    let dtype = u.int_in_range(0u32..=1)?;
    let g = u.int_in_range(1usize..=3)?;
    let k = u.int_in_range(0usize..=5)?;
    let mut args = vec![
        spec.id as f64,
        g as f64,
        k as f64,
        u.int_in_range(0u8..=1)? as f64,
    ];
    for _ in 0..g {
        for h in spec.hparams {
            let default = match h.default {
                downhill_core::spec::Default::Value(v) => v,
                _ => f64::NAN,
            };
            args.push(hparam(u, &h.kind, default)?);
        }
    }
    let mut offset = 0usize;
    for _ in 0..k {
        let ndim = u.int_in_range(0usize..=4)?;
        let dims: Vec<usize> = (0..ndim)
            .map(|_| u.int_in_range(0usize..=12))
            .collect::<Result<_>>()?;
        let numel: usize = dims.iter().product();
        let (batch, rows, cols) = match ndim {
            0 => (1, 1, 1),
            1 => (1, 1, dims[0]),
            _ => (
                dims[..ndim - 2].iter().product(),
                dims[ndim - 2],
                dims[ndim - 1],
            ),
        };
        offset += u.int_in_range(0usize..=3)?;
        let mut row = [
            offset as f64,
            numel as f64,
            ndim as f64,
            batch as f64,
            rows as f64,
            cols as f64,
            u.int_in_range(0..=g - 1)? as f64,
            u.int_in_range(1u32..=5)? as f64,
            u.int_in_range(0u8..=1)? as f64,
        ];
        if u.ratio(1u8, 16)? {
            let i = u.choose_index(TENSOR_STRIDE)?;
            row[i] = number(u)?;
        }
        args.extend_from_slice(&row);
        offset += numel;
    }
    if u.ratio(1u8, 32)? && args.len() > HEADER {
        let i = u.choose_index(args.len())?;
        args[i] = number(u)?;
    }
    let arena = offset + u.int_in_range(0usize..=2)?;
    let fill: Vec<f64> = (0..u.int_in_range(1usize..=6)?)
        .map(|_| number(u))
        .collect::<Result<_>>()?;
    let mut info = args.clone();
    info.extend_from_slice(&[0.0, 0.0]);
    let mut p = Block::elements(arena, dtype, &fill);
    call(STEP_INFO, dtype, &mut info, std::slice::from_mut(&mut p));
    let n = info.len();
    let (state, scratch) = (info[n - 2], info[n - 1]);
    let fits = |x: f64| x.is_finite() && x >= 0.0 && x <= 1e6;
    let (state, scratch) = if fits(state) && fits(scratch) && u.ratio(7u8, 8)? {
        (state as usize, scratch as usize)
    } else {
        (u.int_in_range(0usize..=64)?, u.int_in_range(0usize..=64)?)
    };
    let g_fill: Vec<f64> = (0..u.int_in_range(1usize..=6)?)
        .map(|_| number(u))
        .collect::<Result<_>>()?;
    let mut blocks = [
        p,
        Block::elements(arena, dtype, &g_fill),
        Block::elements(state, dtype, &fill),
        Block::elements(scratch, dtype, &[0.0]),
    ];
    call(STEP, dtype, &mut args, &mut blocks);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
