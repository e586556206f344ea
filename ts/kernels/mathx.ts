/**
 * Mirror of crates/core/src/mathx.rs: `exp`, `ln` and `pow` from IEEE basic operations only, the
 * same operations in the same order, so per-step scalars that need a non-integer power are the
 * same bits on every backend (`Math.pow` and the platform's libm may round differently).
 */
import { powiExact } from './pow.js';

const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = Math.LOG2E;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;
const LG1 = 6.66666666666673513e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Which 32-bit word holds the sign and exponent (little-endian everywhere we run, but checked).
const HI = (() => {
  f64[0] = 1;
  return u32[1] === 0x3ff00000 ? 1 : 0;
})();
const LO = 1 - HI;

/** `2^k` for -1022 <= k <= 1023, exactly. */
function pow2(k: number): number {
  u32[HI] = (k + 1023) << 20;
  u32[LO] = 0;
  return f64[0];
}

function scale(y: number, k: number): number {
  if (k > 1023) return y * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return y * pow2(-1022) * pow2(Math.max(k + 1022, -1022));
  return y * pow2(k);
}

export function exp(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019411) return 0;
  const k = Math.trunc(x * INV_LN2 + (x < 0 ? -0.5 : 0.5));
  const hi = x - k * LN2_HI;
  const lo = k * LN2_LO;
  const r = hi - lo;
  const z = r * r;
  const c = r - z * (P1 + z * (P2 + z * (P3 + z * (P4 + z * P5))));
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  return scale(y, k);
}

export function ln(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return x;
  let k = 0;
  if (x < 2.2250738585072014e-308) {
    x = x * pow2(54);
    k = -54;
  }
  f64[0] = x;
  const hi = u32[HI];
  k += ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x000fffff) | 0x3ff00000;
  let m = f64[0];
  if (m > Math.SQRT2) {
    m = m * 0.5;
    k += 1;
  }
  const f = m - 1;
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const r = t2 + t1;
  const hfsq = 0.5 * f * f;
  return k * LN2_HI - (hfsq - (s * (hfsq + r) + k * LN2_LO) - f);
}

export function pow(x: number, y: number): number {
  if (y === 0) return 1;
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (Number.isInteger(y) && Math.abs(y) <= 2147483648) {
    const p = powiExact(x, Math.abs(y));
    return y < 0 ? 1 / p : p;
  }
  if (x < 0) return NaN;
  if (x === 0) return y > 0 ? 0 : Infinity;
  return exp(y * ln(x));
}

/** e^x − 1, accurate near 0 (Kahan's correction; mirror of `mathx::expm1`). */
export function expm1(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x > 709) return exp(x);
  const u = exp(x);
  if (u === 1) return x;
  const um1 = u - 1;
  if (um1 === -1) return -1;
  return (um1 * x) / ln(u);
}

/** ln(1 + x), accurate near 0. */
export function log1p(x: number): number {
  const w = 1 + x;
  if (w === 1) return x;
  if (w === Infinity || w === -Infinity || Number.isNaN(x)) return ln(w);
  return (ln(w) * x) / (w - 1);
}

/** Below this |x| (2^-28), erf(x) = x·2/√π and tanh(x) = x to working precision. */
const TINY = 3.725290298461914e-9;

/** Hyperbolic tangent, split as fdlibm's `s_tanh.c` does (mirror of `mathx::tanh`). */
export function tanh(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(a)) return x;
  let t: number;
  if (a > 22) t = 1;
  else if (a < TINY) t = a;
  else if (a >= 1) t = 1 - 2 / (expm1(2 * a) + 2);
  else {
    const e = expm1(-2 * a);
    t = -e / (2 + e);
  }
  return x < 0 ? -t : t;
}

/** The logistic function 1 / (1 + e^−x). */
export function sigmoid(x: number): number {
  return 1 / (1 + exp(-x));
}

// fdlibm's s_erf.c coefficients (see crates/core/src/mathx.rs).
const ERX = 8.45062911510467529297e-1;
const EFX = 1.28379167095512558561e-1;
const PP = [
  1.28379167095512558561e-1, -3.2504210724700149937e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3,
  -2.37630166566501626084e-5,
];
const QQ = [
  3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4,
  -3.9602282787753681232e-6,
];
const PA = [
  -2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1,
  -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.166375594868790843e-3,
];
const QA = [
  1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1,
  1.36370839120290507362e-2, 1.1984499846799107417e-2,
];
const RA = [
  -9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1,
  -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592,
];
const SA = [
  1.96512716674392571292e1, 1.376577541435190426e2, 4.34565877475229228821e2, 6.45387271733267880336e2,
  4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2,
];
const RB = [
  -9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2,
  -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2,
];
const SB = [
  3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3,
  2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1,
];
const ERF_A = 0.84375;
const ERF_B = 1.25;
const ERF_C = 2.8571414947509766;
const ERF_D = 6;
const ERF_E = 28;

/** Horner's rule: c[0] + x·(c[1] + x·(…)). */
function poly(x: number, c: readonly number[]): number {
  let acc = c[c.length - 1];
  for (let i = c.length - 2; i >= 0; i--) acc = c[i] + x * acc;
  return acc;
}

function poly1(x: number, c: readonly number[]): number {
  return 1 + x * poly(x, c);
}

function erfSmall(x: number): number {
  const z = x * x;
  return poly(z, PP) / poly1(z, QQ);
}

function erfNearOne(a: number): number {
  const s = a - 1;
  return poly(s, PA) / poly1(s, QA);
}

function erfcTail(a: number): number {
  const s = 1 / (a * a);
  const [r, q] = a < ERF_C ? [poly(s, RA), poly1(s, SA)] : [poly(s, RB), poly1(s, SB)];
  f64[0] = a;
  u32[LO] = 0;
  const z = f64[0];
  return (exp(-z * z - 0.5625) * exp((z - a) * (z + a) + r / q)) / a;
}

/** The error function (mirror of `mathx::erf`). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(a)) return x;
  if (a < ERF_A) {
    if (a < TINY) return x + EFX * x;
    return x + x * erfSmall(x);
  }
  const y = a < ERF_B ? ERX + erfNearOne(a) : a < ERF_D ? 1 - erfcTail(a) : 1;
  return x < 0 ? -y : y;
}

/** The complementary error function 1 − erf(x) (mirror of `mathx::erfc`). */
export function erfc(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(a)) return x;
  if (a < ERF_A) {
    const y = erfSmall(x);
    if (x < 0.25) return 1 - (x + x * y);
    return 0.5 - (x - 0.5 + x * y);
  }
  const pos = a < ERF_B ? 1 - ERX - erfNearOne(a) : a < ERF_E ? erfcTail(a) : 0;
  return x < 0 ? 2 - pos : pos;
}
