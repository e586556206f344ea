/**
 * Mirror of crates/core/src/ops.rs: the one entry of the pure-TS backend, with the core's checks,
 * messages and results (element math rounded to the element type after every operation;
 * reductions in the core's blocked order, in f64).
 */
import { rangeError, typeError } from '../errors.js';
import type { FloatArray } from '../backend/types.js';
import { OP } from '../generated/specs.js';
import type { DType } from '../spec.js';
import { erf, erfc, exp, expm1, ln, log1p, pow, sigmoid, tanh } from './mathx.js';
import { blockedMax, blockedSum, laneMaxAbs, laneSum, laneSum2 } from './par.js';
import { ROUND } from './registry.js';
import { layoutLen, parseTable, runTable, scratchLen } from './step.js';
import { modelCall } from './model.js';

const NAMES = ['buffers[0]', 'buffers[1]', 'buffers[2]', 'buffers[3]', 'buffers[4]', 'buffers[5]'];
const EMPTY = new Float64Array(0);

/** Which buffers a vector op uses, its scalar inputs and outputs (`shape_of`). */
const SHAPES: Record<number, [number[], number, number]> = {
  [OP.DOT]: [[0, 1], 0, 1],
  [OP.AXPY]: [[0, 1], 1, 0],
  [OP.SCALE]: [[0], 1, 0],
  [OP.COPY]: [[0, 1], 0, 0],
  [OP.FILL]: [[0], 1, 0],
  [OP.LINCOMB]: [[0, 1, 2], 2, 0],
  [OP.LERP]: [[0, 1], 1, 0],
  [OP.SWAP]: [[0, 1], 0, 0],
  [OP.NORM]: [[0], 1, 1],
  [OP.CLIP_NORM]: [[0], 3, 2],
  [OP.CLIP_VALUE]: [[0], 1, 0],
  [OP.NONFINITE]: [[0], 0, 1],
};

/** `ops::call` for the js backend; `bufs[i]` is the i-th buffer's view or null. */
export function call(op: number, dtype: DType, args: Float64Array, bufs: readonly (FloatArray | null)[]): void {
  const v = [0, 1, 2, 3, 4, 5].map((i) => bufs[i] ?? EMPTY);
  switch (op) {
    case OP.STEP:
      return stepOp(dtype, args, v[0], v[1], v[2], v[3]);
    case OP.STEP_INFO: {
      const n = args.length;
      if (n < 2) throw typeError('args', 'STEP_INFO needs the table and two outputs');
      const t = parseTable(args.subarray(0, n - 2), v[0].length === 0 ? Infinity : v[0].length, dtype);
      args[n - 2] = layoutLen(t).total;
      args[n - 1] = scratchLen(t);
      return;
    }
    case OP.MATH:
      return math(args);
    case OP.MODEL_INFO:
      return modelCall('info', dtype, args, v);
    case OP.MODEL_TRAIN:
      return modelCall('train', dtype, args, v);
    case OP.MODEL_EVAL:
      return modelCall('eval', dtype, args, v);
    case OP.MODEL_PREDICT:
      return modelCall('predict', dtype, args, v);
    default:
      return vector(op, dtype, args, v);
  }
}

function stepOp(dtype: DType, args: Float64Array, p: FloatArray, g: FloatArray, s: FloatArray, scratch: FloatArray) {
  if (g.length !== p.length) throw rangeError('grads', `length ${g.length} must equal params length ${p.length}`);
  const t = parseTable(args, p.length, dtype);
  const { total } = layoutLen(t);
  if (s.length !== total) throw rangeError('state', `length ${s.length} must equal the state layout length ${total}`);
  const need = scratchLen(t);
  if (scratch.length < need) {
    throw rangeError('scratch', `length ${scratch.length} is below the ${need} elements this step needs`);
  }
  runTable(t, dtype, p, g, s, scratch);
}

function math(args: Float64Array): void {
  if (args.length !== 4) throw typeError('args', 'MATH takes [f, x, y, out]');
  const [f, x, y] = args;
  if (f === 0) args[3] = exp(x);
  else if (f === 1) args[3] = ln(x);
  else if (f === 2) args[3] = pow(x, y);
  else if (f === 3) args[3] = erf(x);
  else if (f === 4) args[3] = erfc(x);
  else if (f === 5) args[3] = expm1(x);
  else if (f === 6) args[3] = log1p(x);
  else if (f === 7) args[3] = tanh(x);
  else if (f === 8) args[3] = sigmoid(x);
  else throw rangeError('args[0]', `unknown function ${String(f)}`);
}

interface Seg {
  a: number;
  b: number;
  c: number;
  len: number;
}

function segments(args: Float64Array, used: number[], lens: number[]): { segs: Seg[]; at: number } {
  if (args.length === 0) throw typeError('args', 'missing the segment count');
  const count = args[0];
  // Segment s takes args[1 + 4s .. 5 + 4s] (as the core's `segments`).
  if (!(count >= 0 && Number.isInteger(count) && count <= Math.floor((args.length - 1) / 4))) {
    throw rangeError('args[0]', `segment count ${String(count)} does not fit the ${args.length} numbers given`);
  }
  const segs: Seg[] = [];
  for (let s = 0; s < count; s++) {
    const base = 1 + 4 * s;
    const num = (j: number) => {
      const x = args[base + j];
      if (Number.isFinite(x) && x >= 0 && Number.isInteger(x) && x <= Number.MAX_SAFE_INTEGER) return x;
      throw rangeError(`args[${base + j}]`, `must be a non-negative integer, got ${String(x)}`);
    };
    const len = num(3);
    const off = [0, 0, 0];
    for (const b of used) {
      off[b] = num(b);
      if (off[b] + len > lens[b]) {
        throw rangeError(
          `args[${base + b}]`,
          `segment ${s}: range ${off[b]}..${off[b]}+${len} exceeds ${NAMES[b]} of length ${lens[b]}`,
        );
      }
    }
    segs.push({ a: off[0], b: off[1], c: off[2], len });
  }
  return { segs, at: 1 + 4 * count };
}

function vector(op: number, dtype: DType, args: Float64Array, v: FloatArray[]): void {
  const shape = SHAPES[op];
  if (!shape) throw rangeError('op', `unknown op code ${op}`);
  const [used, nIn, nOut] = shape;
  const { segs, at } = segments(args, used, [v[0].length, v[1].length, v[2].length]);
  if (args.length !== at + nIn + nOut) {
    throw typeError(
      'args',
      `length ${args.length} must be ${at + nIn + nOut} (segments, ${nIn} scalars, ${nOut} outputs)`,
    );
  }
  for (let j = 0; j < nIn; j++) {
    if (Number.isNaN(args[at + j]) && op !== OP.FILL) throw rangeError(`args[${at + j}]`, 'must not be NaN');
  }
  const r = ROUND[dtype];
  const [a, b, c] = v;
  const x0 = args[at];
  const out = at + nIn;
  switch (op) {
    case OP.DOT: {
      let total = 0;
      for (const s of segs) {
        total =
          total + blockedSum(s.len, 1, (lo, hi) => [laneSum2(a, s.a + lo, b, s.b + lo, hi - lo, (p, q) => p * q)])[0];
      }
      args[out] = total;
      return;
    }
    case OP.AXPY: {
      const alpha = r(x0);
      for (const s of segs) for (let i = 0; i < s.len; i++) b[s.b + i] = r(b[s.b + i] + r(alpha * a[s.a + i]));
      return;
    }
    case OP.SCALE: {
      const alpha = r(x0);
      for (const s of segs) for (let i = 0; i < s.len; i++) a[s.a + i] = r(alpha * a[s.a + i]);
      return;
    }
    case OP.COPY:
      for (const s of segs) b.set(a.subarray(s.a, s.a + s.len), s.b);
      return;
    case OP.FILL:
      for (const s of segs) a.fill(r(x0), s.a, s.a + s.len);
      return;
    case OP.LINCOMB: {
      const alpha = r(x0);
      const beta = r(args[at + 1]);
      for (const s of segs) {
        for (let i = 0; i < s.len; i++) c[s.c + i] = r(r(alpha * a[s.a + i]) + r(beta * b[s.b + i]));
      }
      return;
    }
    case OP.LERP: {
      const w = r(x0);
      for (const s of segs) {
        for (let i = 0; i < s.len; i++) a[s.a + i] = r(a[s.a + i] + r(w * r(b[s.b + i] - a[s.a + i])));
      }
      return;
    }
    case OP.SWAP:
      for (const s of segs) {
        for (let i = 0; i < s.len; i++) {
          const t = a[s.a + i];
          a[s.a + i] = b[s.b + i];
          b[s.b + i] = t;
        }
      }
      return;
    case OP.NORM:
      args[out] = norm(a, segs, checkNormType(x0, at));
      return;
    case OP.CLIP_NORM: {
      const maxNorm = x0;
      if (Number.isNaN(maxNorm) || maxNorm < 0) {
        throw rangeError(`args[${at}] (max_norm)`, `must be >= 0, got ${String(maxNorm)}`);
      }
      const p = checkNormType(args[at + 1], at + 1);
      const total = norm(a, segs, p);
      if (args[at + 2] !== 0 && !Number.isFinite(total)) {
        throw rangeError(
          'grads',
          `the total norm of order ${String(p)} is ${String(total)}, so clipping cannot be done (error_if_nonfinite)`,
        );
      }
      const c = maxNorm / (total + 1e-6);
      const coef = c > 1 ? 1 : c;
      const k = r(coef);
      for (const s of segs) for (let i = 0; i < s.len; i++) a[s.a + i] = r(a[s.a + i] * k);
      args[out] = total;
      args[out + 1] = coef;
      return;
    }
    case OP.CLIP_VALUE: {
      if (Number.isNaN(x0) || x0 < 0) throw rangeError(`args[${at}] (clip_value)`, `must be >= 0, got ${String(x0)}`);
      const hi = r(x0);
      const lo = r(-x0);
      for (const s of segs) {
        for (let i = 0; i < s.len; i++) {
          const x = a[s.a + i];
          a[s.a + i] = x > hi ? hi : x < lo ? lo : x;
        }
      }
      return;
    }
    case OP.NONFINITE: {
      let count = 0;
      for (const s of segs) for (let i = 0; i < s.len; i++) if (!Number.isFinite(a[s.a + i])) count++;
      args[out] = count;
      return;
    }
  }
}

function checkNormType(p: number, at: number): number {
  if (p > 0) return p;
  throw rangeError(`args[${at}] (norm_type)`, `must be > 0 or inf, got ${String(p)}`);
}

function norm(a: FloatArray, segs: Seg[], p: number): number {
  let acc = 0;
  for (const s of segs) {
    if (p === Infinity) {
      const m = blockedMax(s.len, (lo, hi) => laneMaxAbs(a, s.a + lo, s.a + hi));
      if (m > acc || Number.isNaN(m)) acc = m;
    } else if (p === 1) {
      acc = acc + blockedSum(s.len, 1, (lo, hi) => [laneSum(a, s.a + lo, s.a + hi, Math.abs)])[0];
    } else if (p === 2) {
      acc = acc + blockedSum(s.len, 1, (lo, hi) => [laneSum(a, s.a + lo, s.a + hi, (x) => x * x)])[0];
    } else {
      acc = acc + blockedSum(s.len, 1, (lo, hi) => [laneSum(a, s.a + lo, s.a + hi, (x) => pow(Math.abs(x), p))])[0];
    }
  }
  if (p === Infinity || p === 1) return acc;
  if (p === 2) return Math.sqrt(acc);
  return pow(acc, 1 / p);
}
