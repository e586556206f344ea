//! Helpers shared by the core's integration tests: a deterministic generator and step tables.
#![allow(dead_code)]

use downhill_core::{call, ops, Result};

/// A small deterministic generator (xorshift64*), so the tests need no crates.
pub struct Gen(pub u64);
impl Gen {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (x as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
    pub fn vec32(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next() as f32).collect()
    }
    pub fn vec64(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// A tensor for a step table: shape and step count after the step.
pub struct T {
    pub dims: Vec<usize>,
    pub group: usize,
    pub step: u64,
}

/// Builds a step table for `spec` with the given groups (hyperparameters in spec order) and
/// tensors laid out back to back from offset 0.
pub fn table(spec: u32, groups: &[Vec<f64>], tensors: &[T], parallel: bool) -> Vec<f64> {
    let mut a = vec![
        spec as f64,
        groups.len() as f64,
        tensors.len() as f64,
        if parallel { 1.0 } else { 0.0 },
    ];
    for g in groups {
        a.extend_from_slice(g);
    }
    let mut off = 0usize;
    for t in tensors {
        let s = downhill_core::spec::Shape::of(&t.dims);
        a.extend_from_slice(&[
            off as f64,
            s.numel as f64,
            s.ndim as f64,
            s.batch as f64,
            s.rows as f64,
            s.cols as f64,
            t.group as f64,
            t.step as f64,
            0.0,
        ]);
        off += s.numel;
    }
    a
}

/// A table of one group (`hp`) and one tensor of shape `dims` at step `step`.
pub fn table1(spec: u32, hp: &[f64], dims: &[usize], step: u64, parallel: bool) -> Vec<f64> {
    table(
        spec,
        &[hp.to_vec()],
        &[T {
            dims: dims.to_vec(),
            group: 0,
            step,
        }],
        parallel,
    )
}

pub fn bytes<X: bytemuck::Pod>(v: &mut [X]) -> &mut [u8] {
    bytemuck::cast_slice_mut(v)
}

/// State and scratch lengths of a table (`STEP_INFO`).
pub fn info(dtype: u32, table: &[f64], n: usize) -> Result<(usize, usize)> {
    let mut a = table.to_vec();
    a.extend_from_slice(&[0.0, 0.0]);
    let mut p = vec![0u8; n * if dtype == 0 { 4 } else { 8 }];
    call(
        ops::STEP_INFO,
        dtype,
        &mut a,
        [&mut p, &mut [], &mut [], &mut [], &mut [], &mut []],
    )?;
    Ok((a[a.len() - 2] as usize, a[a.len() - 1] as usize))
}

/// One f32 step.
pub fn step32(
    table: &[f64],
    p: &mut [f32],
    g: &mut [f32],
    s: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let mut a = table.to_vec();
    call(
        ops::STEP,
        0,
        &mut a,
        [
            bytes(p),
            bytes(g),
            bytes(s),
            bytes(scratch),
            &mut [],
            &mut [],
        ],
    )
}

/// One f64 step.
pub fn step64(
    table: &[f64],
    p: &mut [f64],
    g: &mut [f64],
    s: &mut [f64],
    scratch: &mut [f64],
) -> Result<()> {
    let mut a = table.to_vec();
    call(
        ops::STEP,
        1,
        &mut a,
        [
            bytes(p),
            bytes(g),
            bytes(s),
            bytes(scratch),
            &mut [],
            &mut [],
        ],
    )
}
