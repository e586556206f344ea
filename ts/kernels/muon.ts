/**
 * Pure-TS mirror of crates/core/src/optim/muon.rs (torch.optim.Muon; see there for the rule and
 * the bfloat16 emulation): the same loops in the same order, f32 operations rounded with
 * `Math.fround`, bfloat16 rounding on the bits, so results equal the core's bit for bit.
 */
import { rangeError } from '../errors.js';
import type { FloatArray } from '../backend/types.js';
import type { Shape } from '../spec.js';
import { lerp } from './adafactor.js';
import { blockedSum, laneSum } from './par.js';
import { registerKernel, type Tensor, type TensorwiseKernel } from './registry.js';

const [LR, WD, MOMENTUM, NESTEROV, NS_A, NS_B, NS_C, EPS, NS_STEPS, ADJUST_LR] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const f = Math.fround;
const bits32 = new Float32Array(1);
const word = new Uint32Array(bits32.buffer);

/** Rounds an f32 value to the nearest bfloat16 (ties to even), as the number it equals. */
export function bf16(x: number): number {
  if (Number.isNaN(x)) return x;
  bits32[0] = x;
  const b = word[0];
  word[0] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  return bits32[0];
}

/** The wide orientation `[r, c, transposed]` of a rows × cols matrix (r ≤ c). */
export function wide(rows: number, cols: number): [number, number, boolean] {
  return rows > cols ? [cols, rows, true] : [rows, cols, false];
}

/** Rejects anything but a matrix, with the core's message. */
export function checkMatrix(name: string, t: Tensor): void {
  if (t.shape.ndim !== 2) {
    throw rangeError(
      `tensors[${t.index}]`,
      `${name} takes 2-D tensors (matrices) only; this one has ${t.shape.ndim} dimensions`,
    );
  }
}

const next32 = new Float32Array(1);
const nextWord = new Uint32Array(next32.buffer);

/** The f32 next to `f`, upward or downward (`next_f32`). */
function nextF32(f: number, up: boolean): number {
  if (f === 0) return up ? 1.401298464324817e-45 : -1.401298464324817e-45;
  next32[0] = f;
  nextWord[0] = f > 0 === up ? nextWord[0] + 1 : nextWord[0] - 1;
  return next32[0];
}

/** `a·b + c` rounded once to f32 (the core's `fma32`: f64 sum, ties decided by its error). */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const fl = f(s);
  if (fl === s || !Number.isFinite(fl)) return fl;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0) return fl;
  const g = nextF32(fl, s > fl);
  if (s - fl === g - s) return err > 0 ? Math.max(fl, g) : Math.min(fl, g);
  return fl;
}

/** Dot product of bfloat16 values in f32, in `vdpbf16ps` order (`dot_bf16`). */
function dotBf16(x: FloatArray, xo: number, xs: number, y: FloatArray, yo: number, ys: number, n: number): number {
  let acc = 0;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    acc = f(acc + f(x[xo + (k + 1) * xs] * y[yo + (k + 1) * ys]));
    acc = f(acc + f(x[xo + k * xs] * y[yo + k * ys]));
  }
  if (k < n) {
    acc = f(acc + 0);
    acc = f(acc + f(x[xo + k * xs] * y[yo + k * ys]));
  }
  return acc;
}

/** Newton–Schulz in bfloat16 (see the core); returns whether the result is in `y`. */
function newtonSchulzBf16(
  coef: [number, number, number],
  steps: number,
  r: number,
  c: number,
  x: FloatArray,
  y: FloatArray,
  a: FloatArray,
  b: FloatArray,
): boolean {
  const [ca, cb, cc] = coef;
  let flipped = false;
  for (let s = 0; s < steps; s++) {
    const src = flipped ? y : x;
    const dst = flipped ? x : y;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) a[i * r + j] = bf16(dotBf16(src, i * c, 1, src, j * c, 1, c));
    }
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        const dot = dotBf16(a, i * r, 1, a, j, r, r);
        b[i * r + j] = bf16(fma32(cb, a[i * r + j], f(cc * dot)));
      }
    }
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const dot = dotBf16(b, i * r, 1, src, j, c, r);
        dst[i * c + j] = bf16(fma32(ca, src[i * c + j], dot));
      }
    }
    flipped = !flipped;
  }
  return flipped;
}

export const MUON_KERNEL: TensorwiseKernel = registerKernel({
  kind: 'tensorwise',
  spec: 'Muon',
  scratchLen(shape: Shape) {
    if (shape.ndim !== 2) return 0;
    const [r, c] = wide(shape.rows, shape.cols);
    return 2 * r * c + 2 * r * r;
  },
  check: (t) => checkMatrix('Muon', t),
  step(t, p, g, slots, scratch, rnd) {
    const { rows, cols } = t.shape;
    const [r, c, tr] = wide(rows, cols);
    if (r === 0) return;
    const buf = slots[0];
    const x = scratch.subarray(0, r * c);
    const y = scratch.subarray(r * c, 2 * r * c);
    const a = scratch.subarray(2 * r * c, 2 * r * c + r * r);
    const b = scratch.subarray(2 * r * c + r * r, 2 * r * c + 2 * r * r);
    const momentum = t.hp[MOMENTUM];
    const wBuf = rnd(1 - momentum);
    const wNest = rnd(momentum);
    const nesterov = t.hp[NESTEROV] !== 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const e = i * cols + j;
        const v = lerp(buf[e], g[e], wBuf, rnd);
        buf[e] = v;
        const u = nesterov ? lerp(g[e], v, wNest, rnd) : v;
        x[tr ? j * c + i : i * c + j] = bf16(f(u));
      }
    }
    const sq = blockedSum(r * c, 1, (lo, hi) => [laneSum(x, lo, hi, (v) => v * v)])[0];
    let norm = bf16(f(Math.sqrt(f(sq))));
    const floor = bf16(f(t.hp[EPS]));
    if (norm < floor) norm = floor;
    for (let i = 0; i < r * c; i++) x[i] = bf16(f(x[i] / norm));
    const coef: [number, number, number] = [f(t.hp[NS_A]), f(t.hp[NS_B]), f(t.hp[NS_C])];
    const o = newtonSchulzBf16(coef, t.hp[NS_STEPS], r, c, x, y, a, b) ? y : x;
    const lr = t.hp[LR];
    let ratio: number;
    if (t.hp[ADJUST_LR] === 0) ratio = Math.sqrt(rows / cols > 1 ? rows / cols : 1);
    else if (t.hp[ADJUST_LR] === 1) ratio = 0.2 * Math.sqrt(rows > cols ? rows : cols);
    else ratio = Math.sqrt(rows / cols);
    const decay = rnd(1 - lr * t.hp[WD]);
    const step = rnd(-(lr * ratio));
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const e = i * cols + j;
        p[e] = rnd(rnd(p[e] * decay) + rnd(step * o[tr ? j * c + i : i * c + j]));
      }
    }
  },
});
