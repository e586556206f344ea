//! The core's one entry with anything: any op code (biased to the real ones), any dtype code,
//! any args and up to six buffers of any length and alignment.
#![no_main]

use downhill_core::ops::OPS;
use downhill_fuzz::{block, call, number};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let op = if u.ratio(7u8, 8)? {
        OPS[u.choose_index(OPS.len())?].1
    } else {
        u.arbitrary()?
    };
    let dtype = if u.ratio(15u8, 16)? {
        u.int_in_range(0u32..=1)?
    } else {
        u.arbitrary()?
    };
    let nargs = u.int_in_range(0usize..=64)?;
    let mut args: Vec<f64> = (0..nargs).map(|_| number(u)).collect::<Result<_>>()?;
    let nbufs = u.int_in_range(0usize..=6)?;
    let mut blocks = (0..nbufs)
        .map(|_| block(u, dtype))
        .collect::<Result<Vec<_>>>()?;
    call(op, dtype, &mut args, &mut blocks);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
