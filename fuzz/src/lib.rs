//! Shared input decoding for the fuzz targets: numbers biased towards the values that matter to
//! the core's parsers (small integers, op codes, the edges of f32/f64 and of the safe-integer
//! range, NaN, ±∞, −0) and buffers of any length, including lengths and addresses that are not
//! whole, aligned elements. Every buffer is its own allocation, so no two alias (as the bindings
//! guarantee before they call the core).

use downhill_core::ops::BUFFERS;
use libfuzzer_sys::arbitrary::{Result, Unstructured};

/// Numbers a parser treats specially.
pub const EDGES: [f64; 28] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1.5,
    2.0,
    3.0,
    4.0,
    9.0,
    64.0,
    1e-45,
    1e-300,
    3.4028234663852886e38,
    3.5e38,
    f64::MAX,
    f64::MIN_POSITIVE,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    4294967295.0,
    4294967296.0,
    2147483648.0,
    9007199254740991.0,
    9007199254740992.0,
    1.8446744073709552e19,
    1e300,
    0.999,
];

/// One number: an edge value, a small integer, a short decimal or raw bits.
pub fn number(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 | 1 => EDGES[u.choose_index(EDGES.len())?],
        2..=4 => u.int_in_range(0u16..=40)? as f64,
        5 => u.int_in_range(0u32..=100_000)? as f64,
        6 => f64::from(u.int_in_range(-1000i32..=1000)?) / 1000.0,
        _ => f64::from_bits(u.arbitrary()?),
    })
}

/// Element bytes of one buffer: any content, `len` bytes starting `skew` bytes into an 8-aligned
/// allocation (skew ≠ 0 makes it misaligned for f32 or f64).
pub struct Block {
    words: Vec<u64>,
    skew: usize,
    len: usize,
}

impl Block {
    pub fn new(len: usize, skew: usize, fill: &[f64]) -> Block {
        let mut words = vec![0u64; (len + skew).div_ceil(8) + 1];
        for (w, x) in words.iter_mut().zip(fill.iter().cycle()) {
            *w = x.to_bits();
        }
        Block { words, skew, len }
    }
    /// Room for `n` elements of `dtype` (0 f32, else f64), aligned, filled with `fill`.
    pub fn elements(n: usize, dtype: u32, fill: &[f64]) -> Block {
        let size = if dtype == 0 { 4 } else { 8 };
        let mut b = Block::new(n * size, 0, &[0.0]);
        let bytes = b.bytes();
        for (i, x) in (0..n).zip(fill.iter().cycle()) {
            if dtype == 0 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&(*x as f32).to_le_bytes());
            } else {
                bytes[i * 8..i * 8 + 8].copy_from_slice(&x.to_le_bytes());
            }
        }
        b
    }
    pub fn bytes(&mut self) -> &mut [u8] {
        let all: &mut [u8] = bytemuck_bytes(&mut self.words);
        &mut all[self.skew..self.skew + self.len]
    }
}

fn bytemuck_bytes(w: &mut [u64]) -> &mut [u8] {
    let n = w.len() * 8;
    // SAFETY: u64 has no padding and any byte pattern is a valid u8; the slice covers exactly
    // the words' memory and borrows `w` mutably for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), n) }
}

/// A buffer of arbitrary length (mostly whole elements, sometimes not) and content.
pub fn block(u: &mut Unstructured<'_>, dtype: u32) -> Result<Block> {
    let size = if dtype == 0 { 4 } else { 8 };
    let n = match u.int_in_range(0u8..=3)? {
        0 => 0,
        1 => u.int_in_range(1usize..=16)?,
        2 => u.int_in_range(1usize..=300)?,
        _ => u.int_in_range(1usize..=5000)?,
    };
    let ragged = u.ratio(1u8, 16)?;
    let len = if ragged {
        n * size + u.int_in_range(1usize..=7)?
    } else {
        n * size
    };
    let skew = if u.ratio(1u8, 16)? {
        u.int_in_range(1usize..=7)?
    } else {
        0
    };
    let fill: Vec<f64> = (0..u.int_in_range(1usize..=4)?)
        .map(|_| number(u))
        .collect::<Result<_>>()?;
    Ok(Block::new(len, skew, &fill))
}

/// Calls the core with these buffers; any error is fine, a panic is the finding.
pub fn call(op: u32, dtype: u32, args: &mut [f64], blocks: &mut [Block]) {
    let mut it = blocks.iter_mut();
    let mut next = || -> &mut [u8] {
        match it.next() {
            Some(b) => b.bytes(),
            None => &mut [],
        }
    };
    let bufs: [&mut [u8]; BUFFERS] = [next(), next(), next(), next(), next(), next()];
    if std::env::var_os("DOWNHILL_FUZZ_TRACE").is_some() {
        // Reproducing a crash or a timeout: what the core is about to be called with.
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        eprintln!("call op {op} dtype {dtype} buffers {lens:?} args {args:?}");
    }
    let ok = downhill_core::call(op, dtype, args, bufs).is_ok();
    stats::count(op, ok);
}

/// With `DOWNHILL_FUZZ_STATS=1`, how many calls of each op succeeded (printed every 2^16 calls):
/// a target whose inputs never get past the parsers tests only the parsers.
mod stats {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    static COUNTS: Mutex<BTreeMap<u32, (u64, u64)>> = Mutex::new(BTreeMap::new());

    pub fn count(op: u32, ok: bool) {
        if std::env::var_os("DOWNHILL_FUZZ_STATS").is_none() {
            return;
        }
        let mut c = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let e = c.entry(op).or_default();
        e.0 += 1;
        e.1 += u64::from(ok);
        let total: u64 = c.values().map(|v| v.0).sum();
        if total % 65536 == 0 {
            let line: Vec<String> = c
                .iter()
                .map(|(op, (n, k))| format!("op {op}: {k}/{n} ok"))
                .collect();
            eprintln!("fuzz stats: {}", line.join(", "));
        }
    }
}
