//! The model ops' header and layer table: mostly consistent models (layer widths, parameter
//! offsets, rows inside the dataset, class labels) with buffers sized from `MODEL_INFO`, and
//! sometimes any number anywhere, so both the parser and the passes behind it are exercised.
#![no_main]

use downhill_core::ops::{MODEL_EVAL, MODEL_INFO, MODEL_PREDICT, MODEL_TRAIN};
use downhill_fuzz::{call, number, Block};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let dtype = u.int_in_range(0u32..=1)?;
    let layers = u.int_in_range(1usize..=3)?;
    let inputs = u.int_in_range(1usize..=9)?;
    let loss = u.int_in_range(0u8..=4)?;
    let mode = u.int_in_range(0u8..=1)?;
    let batch = u.int_in_range(1usize..=9)?;
    let rows = batch + u.int_in_range(0usize..=4)?;
    let mut args = vec![
        layers as f64,
        inputs as f64,
        loss as f64,
        u.int_in_range(0u8..=1)? as f64,
        f64::from(u.int_in_range(1u8..=20)?) / 10.0,
        u.int_in_range(0u32..=u32::MAX)? as f64,
        u.int_in_range(0u8..=3)? as f64,
        mode as f64,
        batch as f64,
    ];
    let mut width = inputs;
    let mut at = 0usize;
    let mut out = 1;
    for _ in 0..layers {
        out = u.int_in_range(1usize..=9)?;
        let dropout = if u.ratio(1u8, 3)? {
            f64::from(u.int_in_range(1u8..=9)?) / 10.0
        } else {
            0.0
        };
        let (w, b) = (at, at + out * width);
        args.extend_from_slice(&[
            out as f64,
            u.int_in_range(0u8..=5)? as f64,
            dropout,
            w as f64,
            b as f64,
        ]);
        at = b + out;
        width = out;
    }
    let classes = loss == 4;
    let start = args.len();
    if mode == 0 {
        for _ in 0..batch {
            args.push(u.int_in_range(0..=rows - 1)? as f64);
        }
    } else {
        args.push(u.int_in_range(0..=rows - batch)? as f64);
    }
    // Sometimes any number anywhere: the parser must reject it or the passes must cope.
    for _ in 0..u.int_in_range(0u8..=2)? {
        if u.ratio(1u8, 2)? {
            let i = u.choose_index(args.len())?;
            args[i] = number(u)?;
        }
    }
    let mut info = args[..start].to_vec();
    info.push(0.0);
    call(MODEL_INFO, dtype, &mut info, &mut []);
    let ws = *info.last().unwrap_or(&0.0);
    let ws = if ws.is_finite() && (0.0..=1e6).contains(&ws) && u.ratio(7u8, 8)? {
        ws as usize
    } else {
        u.int_in_range(0usize..=256)?
    };
    let fill: Vec<f64> = (0..u.int_in_range(1usize..=5)?)
        .map(|_| number(u))
        .collect::<Result<_>>()?;
    let labels: Vec<f64> = (0..rows)
        .map(|_| {
            if classes {
                u.int_in_range(0..=out - 1).map(|c| c as f64)
            } else {
                number(u)
            }
        })
        .collect::<Result<_>>()?;
    let op = [MODEL_TRAIN, MODEL_EVAL, MODEL_PREDICT][u.choose_index(3)?];
    let outputs = match op {
        MODEL_PREDICT => 0,
        _ => 3,
    };
    args.extend(std::iter::repeat_n(0.0, outputs));
    let y_len = if classes { rows } else { rows * out };
    let out_len = if op == MODEL_PREDICT {
        batch * out
    } else {
        batch * inputs
    };
    let mut blocks = [
        Block::elements(at, dtype, &fill),
        Block::elements(if op == MODEL_TRAIN { at } else { 0 }, dtype, &[0.0]),
        Block::elements(rows * inputs, dtype, &fill),
        Block::elements(if op == MODEL_PREDICT { 0 } else { y_len }, dtype, &labels),
        Block::elements(ws, dtype, &[0.0]),
        Block::elements(out_len, dtype, &[0.0]),
    ];
    call(op, dtype, &mut args, &mut blocks);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
