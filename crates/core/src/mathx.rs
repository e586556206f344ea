//! Portable `exp`, `ln` and `pow` in f64, built from IEEE basic operations only.
//!
//! Per-step scalars sometimes need a non-integer power (NAdam's `0.96^(t·ψ)`, Adafactor's
//! `t^c`). `f64::powf` (the platform's libm) and JavaScript's `Math.pow` may round differently,
//! which would break bit-identical results across backends. These functions are written once
//! here and mirrored operation for operation in `ts/kernels/mathx.ts`, so every backend gets the
//! same bits. The algorithms are the classic ones (argument reduction by ln 2 and a minimax
//! polynomial), with the published coefficients of Sun Microsystems' fdlibm (`e_exp.c`,
//! `e_log.c`); accuracy is within 1 ulp for `exp` and `ln`, and `pow(x, y) = exp(y·ln x)` is
//! within about `|y·ln x| + 1` ulp (integer exponents use exact repeated squaring).

// The coefficients are written with fdlibm's published digits, more than an f64 holds.
#![allow(clippy::excessive_precision)]

use crate::pow::powi_exact;

const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INV_LN2: f64 = std::f64::consts::LOG2_E;
const P1: f64 = 1.666_666_666_666_660_190_37e-1;
const P2: f64 = -2.777_777_777_701_559_338_42e-3;
const P3: f64 = 6.613_756_321_437_934_361_17e-5;
const P4: f64 = -1.653_390_220_546_525_153_90e-6;
const P5: f64 = 4.138_136_797_057_238_460_39e-8;
const LG1: f64 = 6.666_666_666_666_735_130e-1;
const LG2: f64 = 3.999_999_999_940_941_908e-1;
const LG3: f64 = 2.857_142_874_366_239_149e-1;
const LG4: f64 = 2.222_219_843_214_978_396e-1;
const LG5: f64 = 1.818_357_216_161_805_012e-1;
const LG6: f64 = 1.531_383_769_920_937_332e-1;
const LG7: f64 = 1.479_819_860_511_658_591e-1;
const SQRT2: f64 = std::f64::consts::SQRT_2;

/// `2^k` for `-1022 <= k <= 1023`, exactly.
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `y · 2^k` for any integer `k` (two exact steps keep subnormal results correctly scaled).
fn scale(y: f64, k: i64) -> f64 {
    if k > 1023 {
        y * pow2(1023) * pow2(k - 1023)
    } else if k < -1022 {
        y * pow2(-1022) * pow2((k + 1022).max(-1022))
    } else {
        y * pow2(k)
    }
}

/// e^x.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.782_712_893_384 {
        return f64::INFINITY;
    }
    if x < -745.133_219_101_941_1 {
        return 0.0;
    }
    // x = k·ln2 + r with |r| <= ln2/2; ln2 in two parts so k·LN2_HI is exact.
    let k = (x * INV_LN2 + if x < 0.0 { -0.5 } else { 0.5 }).trunc();
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let z = r * r;
    let c = r - z * (P1 + z * (P2 + z * (P3 + z * (P4 + z * P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    scale(y, k as i64)
}

/// Natural logarithm.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut x, mut k) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x = x * pow2(54);
        k = -54;
    }
    let bits = x.to_bits();
    k += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > SQRT2 {
        m = m * 0.5;
        k += 1;
    }
    // ln(x) = k·ln2 + ln(1+f), ln(1+f) = f - f²/2 + s·(f²/2 + R(s²)), s = f/(2+f).
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let kf = k as f64;
    kf * LN2_HI - ((hfsq - (s * (hfsq + r) + kf * LN2_LO)) - f)
}

/// x^y for the cases optimizers need (see the module docs for accuracy).
pub fn pow(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return 1.0;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if y.fract() == 0.0 && y.abs() <= 2_147_483_648.0 {
        let p = powi_exact(x, y.abs() as u64);
        return if y < 0.0 { 1.0 / p } else { p };
    }
    if x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return if y > 0.0 { 0.0 } else { f64::INFINITY };
    }
    exp(y * ln(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_and_ln_are_within_an_ulp_of_libm() {
        let mut x = -700.0f64;
        while x < 700.0 {
            assert!(ulps(exp(x), x.exp()) <= 1, "exp({x})");
            x += 0.137_931;
        }
        let mut x = 1e-300f64;
        while x < 1e300 {
            assert!(ulps(ln(x), x.ln()) <= 1, "ln({x})");
            x *= 1.731;
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(ln(1.0), 0.0);
        assert!(ln(5e-324).is_finite());
        assert_eq!(exp(-746.0), 0.0);
    }

    #[test]
    fn pow_matches_libm_closely() {
        for &(x, y) in &[
            (0.96, 0.004),
            (0.96, 1.2),
            (3.0, -0.8),
            (1e6, -0.8),
            (2.0, 0.5),
            (0.9, 25.0),
        ] {
            let want = f64::powf(x, y);
            assert!((pow(x, y) - want).abs() <= 1e-14 * want.abs(), "{x}^{y}");
        }
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(2.0, -2.0), 0.25);
    }
}
