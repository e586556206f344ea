//! Inputs the fuzz targets (`fuzz/`, `cargo fuzz`) found that made the core panic, each kept as a
//! test: every one must now be an `Err` naming an argument, with the buffers untouched.

use downhill_core::ops::{self, BUFFERS};
use downhill_core::{call, ErrorKind};

fn run(op: u32, dtype: u32, args: &mut [f64], bufs: &mut [Vec<u8>]) -> downhill_core::Result<()> {
    let mut it = bufs.iter_mut();
    let mut next = || -> &mut [u8] {
        match it.next() {
            Some(b) => b.as_mut_slice(),
            None => &mut [],
        }
    };
    let b: [&mut [u8]; BUFFERS] = [next(), next(), next(), next(), next(), next()];
    call(op, dtype, args, b)
}

/// A vector op whose segment count fits `args.len() / 4` but not the count's own slot plus four
/// numbers per segment read one number past the end (`segments` in ops.rs).
#[test]
fn vector_op_segment_count_one_past_the_args() {
    for op in [ops::DOT, ops::FILL, ops::NORM, ops::NONFINITE, ops::COPY] {
        let mut args = vec![0.0; 48];
        args[0] = 12.0;
        let mut bufs = vec![vec![0u8; 64], vec![0u8; 64]];
        let err = run(op, 1, &mut args, &mut bufs).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Range);
        assert_eq!(err.arg, "args[0]");
        assert!(bufs.iter().all(|b| b.iter().all(|&x| x == 0)));
    }
}

/// OptaxMuon's `nsSteps` had the domain `>= 0`: 3.4e38 is an integer in it, and one step ran the
/// Newton–Schulz iteration that many times (the `step` target's timeout). It is now `< 100`, as
/// Muon's, and the table is refused before anything runs.
#[test]
fn optax_muon_ns_steps_is_bounded() {
    let spec = downhill_core::registry::spec(19).expect("OptaxMuon is registered");
    assert_eq!(spec.name, "OptaxMuon");
    let hp: Vec<f64> = spec
        .hparams
        .iter()
        .map(|h| match (h.name, h.default) {
            ("nsSteps", _) => 3.4028234663852886e38,
            (_, downhill_core::spec::Default::Value(v)) => v,
            (_, downhill_core::spec::Default::Null) => f64::NAN,
        })
        .collect();
    let mut args = vec![19.0, 1.0, 1.0, 0.0];
    args.extend_from_slice(&hp);
    args.extend_from_slice(&[0.0, 4.0, 2.0, 1.0, 2.0, 2.0, 0.0, 1.0, 0.0]);
    let mut bufs = vec![vec![0u8; 32], vec![0u8; 32], vec![0u8; 64], vec![0u8; 64]];
    let err = run(ops::STEP, 1, &mut args, &mut bufs).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Range);
    assert_eq!(err.arg, "groups[0].nsSteps");
}

/// A 2-D tensor row with batch 0 (numel 0 = 0 × 6 × 1) passed the table's consistency check, and
/// OptaxMuon's matrix branch then walked rows × cols elements of its empty momentum slot (an
/// index out of bounds: the `step` target's crash). A matrix row must have batch 1.
#[test]
fn matrix_row_with_batch_zero_is_refused() {
    let spec = downhill_core::registry::spec(19).expect("OptaxMuon is registered");
    let hp: Vec<f64> = spec
        .hparams
        .iter()
        .map(|h| match h.default {
            downhill_core::spec::Default::Value(v) => v,
            downhill_core::spec::Default::Null => f64::NAN,
        })
        .collect();
    let mut args = vec![19.0, 1.0, 2.0, 0.0];
    args.extend_from_slice(&hp);
    // A 4×4 matrix, then the empty "6×1" matrix with batch 0.
    args.extend_from_slice(&[0.0, 16.0, 2.0, 1.0, 4.0, 4.0, 0.0, 1.0, 0.0]);
    args.extend_from_slice(&[17.0, 0.0, 2.0, 0.0, 6.0, 1.0, 0.0, 1.0, 0.0]);
    let mut bufs = vec![
        vec![0u8; 17 * 8],
        vec![0u8; 17 * 8],
        vec![0u8; 32 * 8],
        vec![0u8; 64 * 8],
    ];
    let err = run(ops::STEP, 1, &mut args, &mut bufs).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Range);
    assert_eq!(err.arg, "tensors[1].numel");
    assert!(bufs.iter().all(|b| b.iter().all(|&x| x == 0)));
}
