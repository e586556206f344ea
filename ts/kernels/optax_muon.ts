/**
 * Pure-TS mirror of crates/core/src/optim/optax_muon.rs (optax.contrib.muon; see there for the
 * rule): the same f64 sums in the same order, the same scalars, the same element operations
 * rounded to the element type, so results equal the core's bit for bit.
 */
import type { FloatArray } from '../backend/types.js';
import type { Shape } from '../spec.js';
import { wide } from './muon.js';
import { blockedSum, laneSum } from './par.js';
import { powiExact } from './pow.js';
import { registerKernel, type Round, type Tensor, type TensorwiseKernel } from './registry.js';

const [LR, NS_A, NS_B, NS_C, NS_STEPS, MOMENTUM, EPS, WD, NESTEROV, ADAPTIVE, PRECONDITIONING] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
];
const [ADAM_B1, ADAM_B2, ADAM_EPS_ROOT, ADAM_WD, ADAM_LR, CONSISTENT_RMS] = [11, 12, 13, 14, 15, 16];
const [FROBENIUS, SPECTRAL, AOL, SCHATTEN] = [0, 1, 2, 3];
const PRECONDITION_FLOOR = 1e-8;

/** `Σ_k x[xo + k·xs]·y[yo + k·ys]` in f64, rounded with `r`. */
function dot(
  x: FloatArray,
  xo: number,
  xs: number,
  y: FloatArray,
  yo: number,
  ys: number,
  n: number,
  r: Round,
): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc = acc + x[xo + k * xs] * y[yo + k * ys];
  return r(acc);
}

function gram(x: FloatArray, rr: number, c: number, a: FloatArray, r: Round): void {
  for (let i = 0; i < rr; i++) for (let j = 0; j < rr; j++) a[i * rr + j] = dot(x, i * c, 1, x, j * c, 1, c, r);
}

function nsIteration(
  k: [number, number, number],
  rr: number,
  c: number,
  src: FloatArray,
  a: FloatArray,
  ca: FloatArray,
  b: FloatArray,
  dst: FloatArray,
  r: Round,
): void {
  for (let i = 0; i < rr * rr; i++) ca[i] = r(k[2] * a[i]);
  for (let i = 0; i < rr; i++) {
    for (let j = 0; j < rr; j++) b[i * rr + j] = r(r(k[1] * a[i * rr + j]) + dot(ca, i * rr, 1, a, j, rr, rr, r));
  }
  for (let i = 0; i < rr; i++) {
    for (let j = 0; j < c; j++) dst[i * c + j] = r(r(k[0] * src[i * c + j]) + dot(b, i * rr, 1, src, j, c, rr, r));
  }
}

/** Largest eigenvalue of a symmetric matrix by cyclic Jacobi rotations (the core's loop). */
function maxEigenvalue(a: Float64Array, n: number): number {
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag = diag + a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off = off + a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-36 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        let t: number;
        if (Math.abs(theta) > 1e150) t = 0.5 / theta;
        else {
          const s = Math.sqrt(theta * theta + 1);
          t = theta >= 0 ? 1 / (theta + s) : -1 / (-theta + s);
        }
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = cs * akp - sn * akq;
          a[k * n + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = cs * apk - sn * aqk;
          a[q * n + k] = sn * apk + cs * aqk;
        }
      }
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (a[i * n + i] > m) m = a[i * n + i];
  return m;
}

/** Optax's bias-corrected (Nesterov) momentum, per element. */
class Moment {
  readonly b: number;
  readonly omb: number;
  readonly bc: number;
  readonly bcNext: number;
  constructor(
    beta: number,
    step: number,
    readonly nesterov: boolean,
    readonly r: Round,
  ) {
    this.b = r(beta);
    this.omb = r(1 - beta);
    this.bc = r(1 - powiExact(beta, step));
    this.bcNext = r(1 - powiExact(beta, step + 1));
  }
  update(m: number, g: number): number {
    const r = this.r;
    return r(r(this.omb * g) + r(this.b * m));
  }
  hat(m: number, g: number): number {
    const r = this.r;
    return this.nesterov ? r(r(this.b * r(m / this.bcNext)) + r(this.omb * r(g / this.bc))) : r(m / this.bc);
  }
}

function adamBranch(t: Tensor, p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, r: Round): void {
  const mo = new Moment(t.hp[ADAM_B1], t.step, t.hp[NESTEROV] !== 0, r);
  const b2 = t.hp[ADAM_B2];
  const tb2 = r(b2);
  const omb2 = r(1 - b2);
  const bc2 = r(1 - powiExact(b2, t.step));
  const epsRoot = r(t.hp[ADAM_EPS_ROOT]);
  const eps = r(t.hp[EPS]);
  const wd = r(t.hp[ADAM_WD]);
  const lr = Number.isNaN(t.hp[ADAM_LR]) ? t.hp[LR] : t.hp[ADAM_LR];
  const negLr = r(-lr);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = mo.update(m[i], gi);
    const vi = r(r(omb2 * r(gi * gi)) + r(tb2 * v[i]));
    m[i] = mi;
    v[i] = vi;
    const u = r(mo.hat(mi, gi) / r(r(Math.sqrt(r(r(vi / bc2) + epsRoot))) + eps));
    p[i] = r(p[i] + r(r(u + r(wd * p[i])) * negLr));
  }
}

function muonBranch(t: Tensor, p: FloatArray, g: FloatArray, mu: FloatArray, scratch: FloatArray, r: Round): void {
  const { rows, cols } = t.shape;
  const [rr, c, tr] = wide(rows, cols);
  if (rr === 0) return;
  let x = scratch.subarray(0, rr * c);
  let y = scratch.subarray(rr * c, 2 * rr * c);
  const base = 2 * rr * c;
  const a = scratch.subarray(base, base + rr * rr);
  const ca = scratch.subarray(base + rr * rr, base + 2 * rr * rr);
  const b = scratch.subarray(base + 2 * rr * rr, base + 3 * rr * rr);
  const mo = new Moment(t.hp[MOMENTUM], t.step, t.hp[NESTEROV] !== 0, r);
  const wi = (i: number, j: number) => (tr ? j * c + i : i * c + j);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const e = i * cols + j;
      const m = mo.update(mu[e], g[e]);
      mu[e] = m;
      x[wi(i, j)] = mo.hat(m, g[e]);
    }
  }
  const eps = r(t.hp[EPS]);
  const kind = t.hp[PRECONDITIONING];
  if (kind === FROBENIUS || kind === SPECTRAL) {
    let norm: number;
    if (kind === FROBENIUS) {
      const sq = blockedSum(rr * c, 1, (lo, hi) => [laneSum(x, lo, hi, (v) => v * v)])[0];
      norm = r(Math.sqrt(sq));
    } else {
      const a64 = new Float64Array(rr * rr);
      for (let i = 0; i < rr; i++) {
        for (let j = 0; j < rr; j++) {
          let acc = 0;
          for (let k = 0; k < c; k++) acc = acc + x[i * c + k] * x[j * c + k];
          a64[i * rr + j] = acc;
        }
      }
      norm = r(Math.sqrt(maxEigenvalue(a64, rr)));
    }
    const den = r(norm + eps);
    for (let i = 0; i < rr * c; i++) x[i] = r(x[i] / den);
  }
  const k: [number, number, number] = [r(t.hp[NS_A]), r(t.hp[NS_B]), r(t.hp[NS_C])];
  const steps = t.hp[NS_STEPS];
  for (let s = 0; s < steps; s++) {
    gram(x, rr, c, a, r);
    if (s === 0 && kind === AOL) {
      const floor = r(PRECONDITION_FLOOR);
      for (let i = 0; i < rr; i++) {
        let acc = 0;
        for (let j = 0; j < rr; j++) acc = acc + Math.abs(a[i * rr + j]);
        const sum = r(acc);
        ca[i] = r(1 / r(Math.sqrt(sum < floor ? floor : sum)));
      }
      for (let i = 0; i < rr; i++) {
        for (let j = 0; j < c; j++) x[i * c + j] = r(x[i * c + j] * ca[i]);
        for (let j = 0; j < rr; j++) a[i * rr + j] = r(r(a[i * rr + j] * ca[i]) * ca[j]);
      }
    } else if (s === 0 && kind === SCHATTEN) {
      const sq = blockedSum(rr * rr, 1, (lo, hi) => [laneSum(a, lo, hi, (v) => v * v)])[0];
      const floor = r(PRECONDITION_FLOOR);
      const norm = r(Math.sqrt(sq));
      const sv = r(1 / r(Math.sqrt(norm < floor ? floor : norm)));
      const sv2 = r(sv * sv);
      for (let i = 0; i < rr * c; i++) x[i] = r(x[i] * sv);
      for (let i = 0; i < rr * rr; i++) a[i] = r(a[i] * sv2);
    }
    nsIteration(k, rr, c, x, a, ca, b, y, r);
    [x, y] = [y, x];
  }
  const o = x;
  if (t.hp[ADAPTIVE] !== 0) {
    let acc = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const e = i * cols + j;
        acc = acc + mo.hat(mu[e], g[e]) * o[wi(i, j)];
      }
    }
    const sc = r(acc);
    for (let i = 0; i < rr * c; i++) o[i] = r(sc * o[i]);
  }
  const crms = t.hp[CONSISTENT_RMS];
  let scale: number;
  if (Number.isNaN(crms)) {
    const q = cols / rows;
    scale = Math.sqrt(q > 1 ? q : 1);
  } else scale = Math.sqrt(rows > cols ? rows : cols) * crms;
  const sc = r(scale);
  const wd = r(t.hp[WD]);
  const negLr = r(-t.hp[LR]);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const e = i * cols + j;
      const u = r(r(sc * o[wi(i, j)]) + r(wd * p[e]));
      p[e] = r(p[e] + r(u * negLr));
    }
  }
}

export const OPTAX_MUON_KERNEL: TensorwiseKernel = registerKernel({
  kind: 'tensorwise',
  spec: 'OptaxMuon',
  scratchLen(shape: Shape) {
    if (shape.ndim !== 2) return 0;
    const [rr, c] = wide(shape.rows, shape.cols);
    return 2 * rr * c + 3 * rr * rr;
  },
  step(t, p, g, slots, scratch, r) {
    if (t.shape.ndim === 2) muonBranch(t, p, g, slots[0], scratch, r);
    else adamBranch(t, p, g, slots[1], slots[2], r);
  },
});
