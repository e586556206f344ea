//! Integer powers in f64 by repeated squaring.
//!
//! Bias corrections need `beta^t`. `f64::powi`/`powf` and JavaScript's `Math.pow` are not
//! guaranteed to round the same way, so the core and its TypeScript mirror (`ts/kernels/pow.ts`)
//! both use this exact sequence of IEEE multiplications, which every platform rounds identically.

/// `base^exp` by binary exponentiation, least significant bit first.
pub fn powi_exact(base: f64, mut exp: u64) -> f64 {
    let mut result = 1.0f64;
    let mut b = base;
    while exp > 0 {
        if exp & 1 == 1 {
            result *= b;
        }
        exp >>= 1;
        if exp > 0 {
            b *= b;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::powi_exact;

    #[test]
    fn matches_powi_closely() {
        for &b in &[0.9f64, 0.999, 0.5, 1.0, 0.0, 1.5] {
            for e in 0..200u64 {
                let want = b.powi(e as i32);
                let got = powi_exact(b, e);
                assert!(
                    (got - want).abs() <= 1e-13 * want.abs().max(1e-300),
                    "{b}^{e}"
                );
            }
        }
        assert_eq!(powi_exact(0.9, 0), 1.0);
        assert_eq!(powi_exact(0.0, 3), 0.0);
    }
}
