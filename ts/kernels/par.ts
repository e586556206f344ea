/**
 * Mirror of crates/core/src/par.rs: reductions in the core's fixed blocked order (block length a
 * function of n alone, 8 interleaved lanes per block combined by a fixed tree, blocks added in
 * order), in f64, so sums equal the core's bit for bit whatever its thread count.
 */
import { MAX_BLOCKS, MIN_BLOCK } from '../generated/specs.js';
import type { FloatArray } from '../backend/types.js';

export const LANES = 8;

export function blockLen(n: number): number {
  const per = Math.ceil(Math.ceil(n / MAX_BLOCKS) / 64) * 64;
  return Math.max(per, MIN_BLOCK);
}

function combine(a: Float64Array): number {
  return a[0] + a[1] + (a[2] + a[3]) + (a[4] + a[5] + (a[6] + a[7]));
}

const acc = new Float64Array(LANES);

/** `Σ f(x[i])` over `x[start..end)` as one block of the core computes it. */
export function laneSum(x: FloatArray, start: number, end: number, f: (v: number) => number): number {
  acc.fill(0);
  for (let i = start, l = 0; i < end; i++, l = (l + 1) & 7) acc[l] = acc[l] + f(x[i]);
  return combine(acc);
}

/** `Σ f(x[i], y[j])` over paired ranges of one block. */
export function laneSum2(
  x: FloatArray,
  xs: number,
  y: FloatArray,
  ys: number,
  n: number,
  f: (a: number, b: number) => number,
): number {
  acc.fill(0);
  for (let i = 0; i < n; i++) acc[i & 7] = acc[i & 7] + f(x[xs + i], y[ys + i]);
  return combine(acc);
}

/** `max |x[i]|` over one block, NaN if any element is NaN. */
export function laneMaxAbs(x: FloatArray, start: number, end: number): number {
  acc.fill(0);
  for (let i = start, l = 0; i < end; i++, l = (l + 1) & 7) {
    const v = Math.abs(x[i]);
    if (v > acc[l] || Number.isNaN(v)) acc[l] = v;
  }
  let m = 0;
  for (let l = 0; l < LANES; l++) if (acc[l] > m || Number.isNaN(acc[l])) m = acc[l];
  return m;
}

/**
 * Sums `K` quantities over `0..n` block by block: `block(start, end)` returns one block's
 * partial sums; totals start at 0 and add blocks in order.
 */
export function blockedSum(n: number, k: number, block: (start: number, end: number) => number[]): number[] {
  const b = blockLen(n);
  const total = new Array<number>(k).fill(0);
  for (let s = 0; s < n; s += b) {
    const part = block(s, Math.min(s + b, n));
    for (let j = 0; j < k; j++) total[j] = total[j] + part[j];
  }
  return total;
}

/** Max over blocks in order, NaN sticky (the core's `reduce` with a max merge). */
export function blockedMax(n: number, block: (start: number, end: number) => number): number {
  const b = blockLen(n);
  let m = 0;
  for (let s = 0; s < n; s += b) {
    const v = block(s, Math.min(s + b, n));
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}
