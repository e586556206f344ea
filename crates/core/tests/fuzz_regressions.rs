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
