//! Portable `exp`, `ln`, `pow` and the special functions training needs (`expm1`, `log1p`,
//! `tanh`, `sigmoid`, `erf`, `erfc`), in f64, built from IEEE basic operations only.
//!
//! Per-step scalars sometimes need a non-integer power (NAdam's `0.96^(t·ψ)`, Adafactor's
//! `t^c`). `f64::powf` (the platform's libm) and JavaScript's `Math.pow` may round differently,
//! which would break bit-identical results across backends. These functions are written once
//! here and mirrored operation for operation in `ts/kernels/mathx.ts`, so every backend gets the
//! same bits. The algorithms are the classic ones (argument reduction by ln 2 and a minimax
//! polynomial), with the published coefficients of Sun Microsystems' fdlibm (`e_exp.c`,
//! `e_log.c`); accuracy is within 1 ulp for `exp` and `ln`, and `pow(x, y) = exp(y·ln x)` is
//! within about `|y·ln x| + 1` ulp (integer exponents use exact repeated squaring).
//!
//! The activations and losses of [`crate::model`] need more: `tanh`, the logistic sigmoid, the
//! error function (exact GELU), `log1p` (binary cross-entropy). They are built on `exp` and `ln`
//! the same way, so a float32 model computes them in f64 and rounds once, and every backend gets
//! the same bits. `erf`/`erfc` follow fdlibm's `s_erf.c` method (its published rational
//! approximations on five intervals; < 1 ulp there); `expm1` and `log1p` use Kahan's
//! correction `(e^x − 1)·x / ln(e^x)` and `x·ln(1+x)/((1+x) − 1)` (Goldberg, "What every computer
//! scientist should know about floating-point arithmetic", 1991, Theorem 4), within a few ulp.

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

/// e^x − 1, accurate near 0.
pub fn expm1(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return exp(x);
    }
    let u = exp(x);
    if u == 1.0 {
        return x;
    }
    let um1 = u - 1.0;
    if um1 == -1.0 {
        return -1.0;
    }
    // The rounding error of u cancels in (u − 1)/ln(u).
    um1 * x / ln(u)
}

/// ln(1 + x), accurate near 0 (x > −1).
pub fn log1p(x: f64) -> f64 {
    let w = 1.0 + x;
    if w == 1.0 {
        return x;
    }
    if w.is_infinite() || x.is_nan() {
        return ln(w);
    }
    ln(w) * x / (w - 1.0)
}

/// Hyperbolic tangent (within 1e-15 relative), as fdlibm's `s_tanh.c` splits it: `1 − 2/(expm1(2|x|) + 2)` for
/// |x| >= 1, `−expm1(−2|x|) / (2 + expm1(−2|x|))` below (no cancellation in either), ±1 beyond
/// |x| = 22 (where tanh rounds to ±1), with the sign of x.
pub fn tanh(x: f64) -> f64 {
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    let t = if a > 22.0 {
        1.0
    } else if a < TINY {
        a
    } else if a >= 1.0 {
        1.0 - 2.0 / (expm1(2.0 * a) + 2.0)
    } else {
        let e = expm1(-2.0 * a);
        -e / (2.0 + e)
    };
    if x < 0.0 {
        -t
    } else {
        t
    }
}

/// The logistic function 1 / (1 + e^−x).
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// Below this |x| (2^-28), erf(x) = x·2/√π and tanh(x) = x to working precision.
const TINY: f64 = 3.725_290_298_461_914e-9;
/// erf(1) rounded to 24 bits: erf on [0.84375, 1.25) is this plus a small rational.
const ERX: f64 = 8.450_629_115_104_675_292_97e-1;
/// 2/√π − 1.
const EFX: f64 = 1.283_791_670_955_125_585_61e-1;
const PP: [f64; 5] = [
    1.283_791_670_955_125_585_61e-1,
    -3.250_421_072_470_014_993_70e-1,
    -2.848_174_957_559_851_047_66e-2,
    -5.770_270_296_489_441_591_57e-3,
    -2.376_301_665_665_016_260_84e-5,
];
const QQ: [f64; 5] = [
    3.979_172_239_591_553_528_19e-1,
    6.502_224_998_876_729_444_85e-2,
    5.081_306_281_875_765_627_76e-3,
    1.324_947_380_043_216_445_26e-4,
    -3.960_228_278_775_368_123_20e-6,
];
const PA: [f64; 7] = [
    -2.362_118_560_752_659_440_77e-3,
    4.148_561_186_837_483_316_66e-1,
    -3.722_078_760_357_013_238_47e-1,
    3.183_466_199_011_617_536_74e-1,
    -1.108_946_942_823_966_774_76e-1,
    3.547_830_432_561_823_593_71e-2,
    -2.166_375_594_868_790_843_00e-3,
];
const QA: [f64; 6] = [
    1.064_208_804_008_442_282_86e-1,
    5.403_979_177_021_710_489_37e-1,
    7.182_865_441_419_626_628_68e-2,
    1.261_712_198_087_616_421_12e-1,
    1.363_708_391_202_905_073_62e-2,
    1.198_449_984_679_910_741_70e-2,
];
const RA: [f64; 8] = [
    -9.864_944_034_847_148_227_05e-3,
    -6.938_585_727_071_817_643_72e-1,
    -1.055_862_622_532_329_098_14e1,
    -6.237_533_245_032_600_603_96e1,
    -1.623_966_694_625_734_703_55e2,
    -1.846_050_929_067_110_359_94e2,
    -8.128_743_550_630_659_342_46e1,
    -9.814_329_344_169_145_485_92,
];
const SA: [f64; 8] = [
    1.965_127_166_743_925_712_92e1,
    1.376_577_541_435_190_426_00e2,
    4.345_658_774_752_292_288_21e2,
    6.453_872_717_332_678_803_36e2,
    4.290_081_400_275_678_333_86e2,
    1.086_350_055_417_794_351_34e2,
    6.570_249_770_319_281_701_35,
    -6.042_441_521_485_809_874_38e-2,
];
const RB: [f64; 7] = [
    -9.864_942_924_700_099_285_97e-3,
    -7.992_832_376_805_230_065_74e-1,
    -1.775_795_491_775_475_198_89e1,
    -1.606_363_848_558_219_160_62e2,
    -6.375_664_433_683_896_277_22e2,
    -1.025_095_131_611_077_249_54e3,
    -4.835_191_916_086_513_970_19e2,
];
const SB: [f64; 7] = [
    3.033_806_074_348_245_829_24e1,
    3.257_925_129_965_739_188_26e2,
    1.536_729_586_084_436_959_94e3,
    3.199_858_219_508_595_539_08e3,
    2.553_050_406_433_164_425_83e3,
    4.745_285_412_069_553_672_15e2,
    -2.244_095_244_658_581_833_62e1,
];
/// Interval ends of fdlibm's method (|x|): each is a double with a zero low word.
const ERF_A: f64 = 0.843_75;
const ERF_B: f64 = 1.25;
const ERF_C: f64 = 2.857_141_494_750_976_6;
const ERF_D: f64 = 6.0;
const ERF_E: f64 = 28.0;

/// Horner's rule, highest coefficient last: c[0] + x·(c[1] + x·(…)).
#[inline(always)]
fn poly(x: f64, c: &[f64]) -> f64 {
    let mut acc = c[c.len() - 1];
    for &k in c[..c.len() - 1].iter().rev() {
        acc = k + x * acc;
    }
    acc
}

/// 1 + x·(c[0] + x·(c[1] + …)): the denominators, whose constant term is 1.
#[inline(always)]
fn poly1(x: f64, c: &[f64]) -> f64 {
    1.0 + x * poly(x, c)
}

/// (erf(x) − x)/x for |x| < 0.84375.
fn erf_small(x: f64) -> f64 {
    let z = x * x;
    poly(z, &PP) / poly1(z, &QQ)
}

/// erf(a) − ERX for a in [0.84375, 1.25).
fn erf_near_one(a: f64) -> f64 {
    let s = a - 1.0;
    poly(s, &PA) / poly1(s, &QA)
}

/// erfc(a) for a in [1.25, 28): e^(−a² − 0.5625 + R/S) / a, with a² split exactly
/// (z = a with its low 32 bits cleared, so z·z is exact and −a² = −z² + (z − a)(z + a)).
fn erfc_tail(a: f64) -> f64 {
    let s = 1.0 / (a * a);
    let (r, q) = if a < ERF_C {
        (poly(s, &RA), poly1(s, &SA))
    } else {
        (poly(s, &RB), poly1(s, &SB))
    };
    let z = f64::from_bits(a.to_bits() & 0xffff_ffff_0000_0000);
    exp(-z * z - 0.5625) * exp((z - a) * (z + a) + r / q) / a
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    if a < ERF_A {
        if a < TINY {
            return x + EFX * x;
        }
        return x + x * erf_small(x);
    }
    let y = if a < ERF_B {
        ERX + erf_near_one(a)
    } else if a < ERF_D {
        1.0 - erfc_tail(a)
    } else {
        1.0
    };
    if x < 0.0 {
        -y
    } else {
        y
    }
}

/// The complementary error function 1 − erf(x), without cancellation for large x.
pub fn erfc(x: f64) -> f64 {
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    if a < ERF_A {
        let y = erf_small(x);
        if x < 0.25 {
            return 1.0 - (x + x * y);
        }
        return 0.5 - (x - 0.5 + x * y);
    }
    let pos = if a < ERF_B {
        1.0 - ERX - erf_near_one(a)
    } else if a < ERF_E {
        erfc_tail(a)
    } else {
        0.0
    };
    if x < 0.0 {
        2.0 - pos
    } else {
        pos
    }
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

    #[test]
    fn special_functions_match_references() {
        // erf/erfc against values from mpmath (50 digits, rounded to f64).
        for &(x, e, c) in &[
            (0.1, 0.112_462_916_018_284_9, 0.887_537_083_981_715_1),
            (0.5, 0.520_499_877_813_046_5, 0.479_500_122_186_953_5),
            (1.0, 0.842_700_792_949_714_9, 0.157_299_207_050_285_13),
            (2.0, 0.995_322_265_018_952_7, 0.004_677_734_981_047_266),
            (3.5, 0.999_999_256_901_627_7, 7.430_983_723_414_128e-7),
            (10.0, 1.0, 2.088_487_583_762_545e-45),
        ] {
            assert!((erf(x) - e).abs() <= 2e-16 * e, "erf({x})");
            assert!((erf(-x) + e).abs() <= 2e-16 * e, "erf(-{x})");
            assert!(
                (erfc(x) - c).abs() <= 4e-16 * c,
                "erfc({x}) = {} vs {c}",
                erfc(x)
            );
        }
        let mut x = -30.0;
        while x < 30.0 {
            assert!(
                (tanh(x) - x.tanh()).abs() <= 1e-15 * x.tanh().abs(),
                "tanh({x})"
            );
            let want = x.exp_m1();
            assert!((expm1(x) - want).abs() <= 4e-16 * want.abs(), "expm1({x})");
            if x > -1.0 {
                let want = x.ln_1p();
                assert!((log1p(x) - want).abs() <= 4e-16 * want.abs(), "log1p({x})");
            }
            x += 0.013_7;
        }
        assert_eq!(expm1(1e-300), 1e-300);
        assert_eq!(log1p(1e-300), 1e-300);
        assert_eq!(tanh(-1e-20), -1e-20);
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
