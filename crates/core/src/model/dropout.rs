//! Dropout masks from a counter-based hash: whether unit `j` of batch row `r` of layer `l` is
//! kept is a pure function of `(seed, l, r, j)`, so the forward and backward passes recompute it
//! instead of storing it, and every backend (the TypeScript mirror uses `Math.imul`) draws the
//! same mask.
//!
//! The hash is MurmurHash3's 32-bit finaliser (`fmix32`, Austin Appleby, public domain), applied
//! once per row to mix seed, layer and row, and once per unit. Unit `j` is kept when the top 24
//! bits of its hash are at least `⌊p·2^24⌋`, i.e. with probability `1 − p` up to 2^-24; kept
//! values are scaled by `1/(1 − p)` (inverted dropout, as `torch.nn.Dropout` in training mode).

/// MurmurHash3's finaliser: a bijection of u32 with full avalanche.
#[inline(always)]
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The per-row key: seed, layer and batch row mixed.
#[inline(always)]
pub fn row_key(seed: u32, layer: u32, row: u32) -> u32 {
    fmix32(fmix32(seed ^ layer.wrapping_mul(0x9e37_79b9)) ^ row.wrapping_mul(0x85eb_ca6b))
}

/// Whether unit `unit` of the row with key `key` is kept at drop threshold `threshold`.
#[inline(always)]
pub fn keep(key: u32, unit: u32, threshold: u32) -> bool {
    (fmix32(key ^ unit.wrapping_mul(0xcc9e_2d51)) >> 8) >= threshold
}

/// `⌊p·2^24⌋` for a drop probability `p` in [0, 1).
pub fn threshold(p: f64) -> u32 {
    (p * 16_777_216.0).floor() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_about_one_minus_p() {
        let t = threshold(0.3);
        let mut kept = 0u32;
        for r in 0..200 {
            let key = row_key(7, 1, r);
            for j in 0..500 {
                kept += keep(key, j, t) as u32;
            }
        }
        let frac = kept as f64 / 100_000.0;
        assert!((frac - 0.7).abs() < 0.01, "{frac}");
        assert_eq!(threshold(0.0), 0);
        assert!(keep(row_key(1, 2, 3), 4, 0));
    }
}
