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
