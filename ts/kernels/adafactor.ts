/**
 * Pure-TS mirror of crates/core/src/optim/adafactor.rs (see there for the rule and references):
 * the same f64 reductions in the same order, the same scalars, and the same element operations,
 * each rounded to the element type, so results equal the core's bit for bit.
 */
import type { FloatArray } from '../backend/types.js';
import { pow } from './mathx.js';
import { blockedSum, laneSum } from './par.js';
import { registerKernel, type Round, type TensorwiseKernel } from './registry.js';

const [LR, BETA2_DECAY, EPS1, EPS2, D, WD, MAXIMIZE] = [0, 1, 2, 3, 4, 5, 6];

/** Machine epsilon of the element type (`torch.finfo(dtype).eps`). */
export function machineEps(p: FloatArray): number {
  return p instanceof Float32Array ? 1.1920928955078125e-7 : Number.EPSILON;
}

/** PyTorch's `lerp(a, b, w)` in the element type (both branches). */
export function lerp(a: number, b: number, w: number, r: Round): number {
  return Math.abs(w) < 0.5 ? r(a + r(w * r(b - a))) : r(b - r(r(b - a) * r(1 - w)));
}

/** `Σ x²` over `x[start..start+n)` in f64, in the core's blocked order. */
export function sumSq(x: FloatArray, start: number, n: number): number {
  return blockedSum(n, 1, (lo, hi) => [laneSum(x, start + lo, start + hi, (v) => v * v)])[0];
}

const COL_CHUNK = 32;

export const ADAFACTOR_KERNEL: TensorwiseKernel = registerKernel({
  kind: 'tensorwise',
  spec: 'Adafactor',
  scratchLen: (shape) => shape.numel,
  step(t, p, g, slots, scratch, r) {
    const n = p.length;
    if (n === 0) return;
    const lr = t.hp[LR];
    const eps1 = Number.isNaN(t.hp[EPS1]) ? machineEps(p) : t.hp[EPS1];
    const sign = t.hp[MAXIMIZE] !== 0 ? -1 : 1;
    const step = t.step;
    const w = r(pow(step, t.hp[BETA2_DECAY]));
    const invSqrtT = 1 / Math.sqrt(step);
    const rho = invSqrtT < lr ? invSqrtT : lr;
    const pNorm = r(Math.sqrt(sumSq(p, 0, n)));
    const rms = pNorm / Math.sqrt(n);
    const eps2 = t.hp[EPS2];
    const alpha = (rms > eps2 ? rms : eps2) * rho;
    const wd = t.hp[WD];
    if (wd !== 0) {
      const decay = r(1 - lr * wd);
      for (let i = 0; i < n; i++) p[i] = r(p[i] * decay);
    }
    const floor = r(eps1 * eps1);
    const u = scratch;
    const [rowVar, colVar, variance] = slots;
    if (t.shape.ndim >= 2) {
      const { rows: m, cols: k, batch } = t.shape;
      const eps1T = r(eps1);
      const acc = new Float64Array(COL_CHUNK);
      for (let b = 0; b < batch; b++) {
        const g0 = b * m * k;
        const r0 = b * m;
        const c0 = b * k;
        for (let i = 0; i < m; i++) {
          const norm = r(Math.sqrt(sumSq(g, g0 + i * k, k)));
          rowVar[r0 + i] = lerp(rowVar[r0 + i], r(r(norm * norm) / k), w, r);
        }
        for (let j0 = 0; j0 < k; j0 += COL_CHUNK) {
          const j1 = Math.min(j0 + COL_CHUNK, k);
          acc.fill(0);
          for (let i = 0; i < m; i++) {
            for (let j = j0; j < j1; j++) {
              const x = g[g0 + i * k + j];
              acc[j - j0] = acc[j - j0] + x * x;
            }
          }
          for (let j = j0; j < j1; j++) {
            const norm = r(Math.sqrt(acc[j - j0]));
            colVar[c0 + j] = lerp(colVar[c0 + j], r(r(norm * norm) / m), w, r);
          }
        }
        let sum = 0;
        for (let i = 0; i < m; i++) sum = sum + rowVar[r0 + i];
        const mean = r(r(sum) / m);
        const denom = mean < eps1T ? eps1T : mean;
        for (let i = 0; i < m; i++) {
          const ri = rowVar[r0 + i];
          for (let j = 0; j < k; j++) {
            let v = r(r(ri * colVar[c0 + j]) / denom);
            if (v < floor) v = floor;
            u[g0 + i * k + j] = r(r(1 / r(Math.sqrt(v))) * r(g[g0 + i * k + j] * sign));
          }
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const gi = r(g[i] * sign);
        const v = lerp(variance[i], r(gi * gi), w, r);
        variance[i] = v;
        const x = v < floor ? floor : v;
        u[i] = r(r(1 / r(Math.sqrt(x))) * gi);
      }
    }
    const uNorm = r(Math.sqrt(sumSq(u, 0, n)));
    const ratio = uNorm / (Math.sqrt(n) * t.hp[D]);
    const denom = ratio > 1 ? ratio : 1;
    const stepSize = r(-alpha / denom);
    for (let i = 0; i < n; i++) p[i] = r(p[i] + r(stepSize * u[i]));
  },
});
