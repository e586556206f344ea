//! The wire format of one step: a flat `f64` table with one row per parameter segment.
//!
//! A segment is a contiguous range of the parameter arena that shares hyperparameters (one param
//! group, or a piece of one). Passing every segment in one table is what makes a whole step a
//! single call across the JS boundary. Row layout (`SEG_STRIDE` numbers):
//!
//! | col | common            | SGD         | Adam / AdamW |
//! |-----|-------------------|-------------|--------------|
//! | 0   | offset            |             |              |
//! | 1   | len               |             |              |
//! | 2   | step (t, from 1)  |             |              |
//! | 3   | lr                |             |              |
//! | 4   | weight_decay      |             |              |
//! | 5   | maximize (0/1)    |             |              |
//! | 6   |                   | momentum    | beta1        |
//! | 7   |                   | dampening   | beta2        |
//! | 8   |                   | nesterov    | eps          |
//! | 9   |                   | (unused)    | amsgrad      |
//!
//! The TypeScript layer writes this table (`ts/optim/segments.ts`); both sides check it.

use crate::error::{Error, Result};

pub const SEG_STRIDE: usize = 10;

/// One decoded row. `extra` holds the kernel-specific columns 6..10.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub offset: usize,
    pub len: usize,
    pub step: u64,
    pub lr: f64,
    pub weight_decay: f64,
    pub maximize: bool,
    pub extra: [f64; 4],
}

/// Largest integer an `f64` (and a JS number) holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn index(v: f64, arg: impl FnOnce() -> String) -> Result<usize> {
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE) {
        return Err(Error::range(
            arg(),
            format!("must be a non-negative integer, got {v}"),
        ));
    }
    Ok(v as usize)
}

pub(crate) fn flag(v: f64, arg: impl FnOnce() -> String) -> Result<bool> {
    if v == 0.0 {
        Ok(false)
    } else if v == 1.0 {
        Ok(true)
    } else {
        Err(Error::range(arg(), format!("must be 0 or 1, got {v}")))
    }
}

/// Checks a number is finite and `>= 0`.
pub(crate) fn non_negative(v: f64, arg: impl FnOnce() -> String) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(Error::range(
            arg(),
            format!("must be finite and >= 0, got {v}"),
        ))
    }
}

/// Decodes and checks the table against an arena of `arena_len` elements: every row in bounds,
/// rows in increasing order and not overlapping (so no element is stepped twice).
pub fn decode(table: &[f64], arena_len: usize) -> Result<Vec<Segment>> {
    rows(table, arena_len)?.collect()
}

/// Like [`decode`], without allocating: yields each row in order, checked as it goes.
pub fn rows(table: &[f64], arena_len: usize) -> Result<Rows<'_>> {
    if table.len() % SEG_STRIDE != 0 {
        return Err(Error::type_(
            "segments",
            format!(
                "length must be a multiple of {SEG_STRIDE}, got {}",
                table.len()
            ),
        ));
    }
    Ok(Rows {
        rows: table.chunks_exact(SEG_STRIDE).enumerate(),
        arena_len,
        end_prev: 0,
    })
}

pub struct Rows<'a> {
    rows: std::iter::Enumerate<std::slice::ChunksExact<'a, f64>>,
    arena_len: usize,
    end_prev: usize,
}

impl Iterator for Rows<'_> {
    type Item = Result<Segment>;

    fn next(&mut self) -> Option<Result<Segment>> {
        let (i, row) = self.rows.next()?;
        Some(self.check(i, row))
    }
}

impl Rows<'_> {
    fn check(&mut self, i: usize, row: &[f64]) -> Result<Segment> {
        let name = |col: &str| format!("segments[{i}].{col}");
        let offset = index(row[0], || name("offset"))?;
        let len = index(row[1], || name("len"))?;
        let step = index(row[2], || name("step"))? as u64;
        if step == 0 {
            return Err(Error::range(
                name("step"),
                "must be >= 1 (the count after this step)",
            ));
        }
        if offset < self.end_prev {
            return Err(Error::range(
                name("offset"),
                format!(
                    "segments must be sorted and disjoint; {offset} overlaps the previous one ending at {}",
                    self.end_prev
                ),
            ));
        }
        let arena_len = self.arena_len;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= arena_len)
            .ok_or_else(|| {
                Error::range(
                    name("len"),
                    format!("range {offset}..{offset}+{len} exceeds params length {arena_len}"),
                )
            })?;
        self.end_prev = end;
        Ok(Segment {
            offset,
            len,
            step,
            lr: non_negative(row[3], || name("lr"))?,
            weight_decay: non_negative(row[4], || name("weight_decay"))?,
            maximize: flag(row[5], || name("maximize"))?,
            extra: [row[6], row[7], row[8], row[9]],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(offset: f64, len: f64) -> Vec<f64> {
        vec![offset, len, 1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    }

    #[test]
    fn decodes_rows() {
        let mut t = row(0.0, 3.0);
        t.extend(row(3.0, 2.0));
        let s = decode(&t, 5).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].offset, s[1].len, s[1].step), (3, 2, 1));
    }

    #[test]
    fn rejects_bad_rows_by_name() {
        assert_eq!(decode(&[0.0; 7], 5).unwrap_err().arg, "segments");
        assert_eq!(
            decode(&row(0.0, 6.0), 5).unwrap_err().arg,
            "segments[0].len"
        );
        assert_eq!(
            decode(&row(0.5, 1.0), 5).unwrap_err().arg,
            "segments[0].offset"
        );
        let mut t = row(0.0, 3.0);
        t.extend(row(2.0, 2.0));
        assert_eq!(decode(&t, 5).unwrap_err().arg, "segments[1].offset");
        let mut t = row(0.0, 3.0);
        t[3] = f64::NAN;
        assert_eq!(decode(&t, 5).unwrap_err().arg, "segments[0].lr");
        t[3] = 0.1;
        t[2] = 0.0;
        assert_eq!(decode(&t, 5).unwrap_err().arg, "segments[0].step");
        t[2] = 1.0;
        t[5] = 2.0;
        assert_eq!(decode(&t, 5).unwrap_err().arg, "segments[0].maximize");
    }
}
