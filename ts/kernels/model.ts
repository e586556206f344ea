/**
 * Mirror of crates/core/src/model: the dense-model ops (MODEL_INFO, MODEL_TRAIN, MODEL_EVAL,
 * MODEL_PREDICT) for the pure-TS backend, with the core's argument checks, messages, workspace
 * layout and element math.
 *
 * Bit-identical to the core: bias add, activations and their derivatives, dropout masks, the
 * losses and their gradients, the bias gradients (f64 column sums in row order). Not
 * bit-identical: the three matrix products per layer. Here they are plain loops summing in f64
 * in index order and rounding once; the core's GEMM (the `gemm` crate) blocks the sum, uses FMA
 * on native and a different kernel on WASM. So backends agree on a model's results within a
 * GEMM tolerance (about `k·ε` relative to the sum of |terms|, k the inner dimension: ~1e-6 for
 * float32, ~1e-14 for float64), and exactly whenever the products are exact (test/train-*.test.ts).
 */
import { rangeError, typeError } from '../errors.js';
import type { FloatArray } from '../backend/types.js';
import type { DType } from '../spec.js';
import { erfc, exp, ln, log1p, sigmoid, tanh } from './mathx.js';
import { ROUND, type Round } from './registry.js';

export const MODEL_HEADER = 9;
export const LAYER_STRIDE = 5;
export const FLAG_TRAINING = 1;
export const FLAG_GRAD_X = 2;
export const ROWS_LIST = 0;
export const ROWS_RANGE = 1;
export const ACTIVATIONS = ['identity', 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu'] as const;
export const LOSSES = ['mse', 'mae', 'huber', 'bce_with_logits', 'softmax_cross_entropy'] as const;
export const LEAKY_SLOPE = 0.01;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const COLS = 64;
const IDENTITY = 0;
const RELU = 1;
const LEAKY = 2;
const TANH = 3;
const SIGMOID = 4;
const GELU = 5;
const CE = 4;
const BCE = 3;
const HUBER = 2;
const MAE = 1;

export type ModelKind = 'info' | 'train' | 'eval' | 'predict';
const KIND_NAME: Record<ModelKind, string> = {
  info: 'MODEL_INFO',
  train: 'MODEL_TRAIN',
  eval: 'MODEL_EVAL',
  predict: 'MODEL_PREDICT',
};
const OUTPUTS: Record<ModelKind, number> = { info: 1, train: 3, eval: 3, predict: 0 };

interface Layer {
  inp: number;
  out: number;
  act: number;
  dropout: number;
  w: number;
  b: number;
}

interface Desc {
  layers: Layer[];
  inputs: number;
  loss: number;
  sum: boolean;
  delta: number;
  seed: number;
  training: boolean;
  gradX: boolean;
  batch: number;
  /** Row indices (list mode) or null (range mode, from `first`). */
  list: Float64Array | null;
  first: number;
}

const bad = (i: number, name: string, what: string) => rangeError(`args[${i}] (${name})`, what);

function int(args: Float64Array, i: number, name: string, lo: number, hi: number): number {
  const v = args[i];
  if (Number.isFinite(v) && Number.isInteger(v) && v >= lo && v <= hi) return v;
  throw bad(i, name, `must be an integer in [${lo}, ${hi}], got ${String(v)}`);
}

function parse(args: Float64Array, kind: ModelKind): Desc {
  if (args.length < MODEL_HEADER) {
    throw typeError('args', `${KIND_NAME[kind]} needs a header of ${MODEL_HEADER} numbers, then the layer table`);
  }
  const nLayers = int(args, 0, 'layers', 1, MAX_SAFE);
  const inputs = int(args, 1, 'inputs', 1, MAX_SAFE);
  const loss = args[2];
  if (!(Number.isInteger(loss) && loss >= 0 && loss <= 4)) {
    throw bad(2, 'loss', `must be a loss code 0..4 (${LOSSES.join(', ')}), got ${String(loss)}`);
  }
  const red = args[3];
  if (red !== 0 && red !== 1) throw bad(3, 'reduction', `must be 0 (mean) or 1 (sum), got ${String(red)}`);
  const delta = args[4];
  if (loss === HUBER && !(delta > 0 && Number.isFinite(delta))) {
    throw bad(4, 'delta', `Huber's delta must be finite and > 0, got ${String(delta)}`);
  }
  const seed = int(args, 5, 'seed', 0, 4294967295);
  const flags = int(args, 6, 'flags', 0, 3);
  const mode = int(args, 7, 'rows mode', 0, 1);
  const batch = int(args, 8, 'batch', 1, MAX_SAFE);
  const tableEnd = MODEL_HEADER + Math.min(nLayers, args.length) * LAYER_STRIDE;
  const rowsLen = kind === 'info' ? 0 : mode === ROWS_LIST ? batch : 1;
  const want = tableEnd + rowsLen;
  const outs = OUTPUTS[kind];
  if (nLayers > args.length || args.length !== want) {
    throw typeError(
      'args',
      `length ${args.length + outs} must be ${want + outs} for ${KIND_NAME[kind]} (header ${MODEL_HEADER}, ${nLayers} layers × ${LAYER_STRIDE}, ${rowsLen} rows, ${outs} outputs)`,
    );
  }
  const layers: Layer[] = [];
  for (let l = 0; l < nLayers; l++) {
    const at = MODEL_HEADER + l * LAYER_STRIDE;
    const out = int(args, at, `layers[${l}].out`, 1, MAX_SAFE);
    const act = args[at + 1];
    if (!(Number.isInteger(act) && act >= 0 && act <= 5)) {
      throw bad(
        at + 1,
        `layers[${l}].activation`,
        `must be an activation code 0..5 (${ACTIVATIONS.join(', ')}), got ${String(act)}`,
      );
    }
    const p = args[at + 2];
    if (!(p >= 0 && p < 1)) throw bad(at + 2, `layers[${l}].dropout`, `must be in [0, 1), got ${String(p)}`);
    const w = int(args, at + 3, `layers[${l}].weight offset`, 0, MAX_SAFE);
    const b = int(args, at + 4, `layers[${l}].bias offset`, 0, MAX_SAFE);
    layers.push({ inp: l === 0 ? inputs : layers[l - 1].out, out, act, dropout: p, w, b });
  }
  let list: Float64Array | null = null;
  let first = 0;
  if (kind !== 'info') {
    if (mode === ROWS_LIST) {
      for (let i = tableEnd; i < want; i++) int(args, i, `rows[${i - tableEnd}]`, 0, MAX_SAFE);
      list = args.subarray(tableEnd, want);
    } else first = int(args, tableEnd, 'first row', 0, MAX_SAFE);
  }
  return {
    layers,
    inputs,
    loss,
    sum: red === 1,
    delta,
    seed,
    training: (flags & FLAG_TRAINING) !== 0,
    gradX: (flags & FLAG_GRAD_X) !== 0,
    batch,
    list,
    first,
  };
}

const needsZ = (y: Layer) => y.act === GELU;
const layerLen = (y: Layer, b: number) => b * y.out * (1 + (needsZ(y) ? 1 : 0) + (y.dropout > 0 ? 1 : 0));
const outputs = (d: Desc) => d.layers[d.layers.length - 1].out;
const maxWidth = (d: Desc) => d.layers.reduce((m, y) => Math.max(m, y.out), 0);
const rowOf = (d: Desc, r: number) => (d.list === null ? d.first + r : d.list[r]);
const drops = (d: Desc, l: number) => d.training && d.layers[l].dropout > 0;

function section(d: Desc, l: number): number {
  let off = d.batch * d.inputs;
  for (let i = 0; i < l; i++) off += layerLen(d.layers[i], d.batch);
  return off;
}

function frontLen(d: Desc): number {
  return section(d, d.layers.length);
}

/** Workspace elements (NaN when above 2^53, which the core reports as an overflow). */
function workspaceLen(d: Desc): number {
  const n = frontLen(d) + 2 * d.batch * maxWidth(d);
  return n <= MAX_SAFE ? n : NaN;
}

function outputOff(d: Desc, l: number): number {
  const y = d.layers[l];
  let off = section(d, l);
  if (drops(d, l)) off += d.batch * y.out * (1 + (needsZ(y) ? 1 : 0));
  return off;
}

function targetCols(d: Desc): number {
  return d.loss === CE ? 1 : outputs(d);
}

function scale(d: Desc): number {
  if (d.sum) return 1;
  return 1 / (d.loss === CE ? d.batch : d.batch * outputs(d));
}

const X = 'buffers[2] (x)';
const Y = 'buffers[3] (y)';

function check(d: Desc, kind: ModelKind, p: number, g: number, x: number, y: FloatArray, ws: number, out: number) {
  d.layers.forEach((ly, l) => {
    if (ly.w + ly.out * ly.inp > p || ly.b + ly.out > p) {
      throw rangeError(
        `layers[${l}]`,
        `weight [${ly.out}, ${ly.inp}] at ${ly.w} or bias [${ly.out}] at ${ly.b} exceeds buffers[0] (params) of length ${p}`,
      );
    }
  });
  if (kind === 'train' && g !== p) throw rangeError('buffers[1] (grads)', `length ${g} must equal params length ${p}`);
  if (x % d.inputs !== 0) {
    throw typeError(X, `length ${x} is not a whole number of rows of ${d.inputs} inputs`);
  }
  const rows = x / d.inputs;
  const n = outputs(d);
  if (kind !== 'predict') {
    const cols = targetCols(d);
    if (y.length !== rows * cols)
      throw rangeError(Y, `length ${y.length} must be ${rows} rows × ${cols} target columns`);
  }
  if (d.list !== null) {
    const list = d.list;
    const i = list.findIndex((r) => r >= rows);
    if (i >= 0) throw rangeError(`rows[${i}]`, `row ${list[i]} is out of range: x holds ${rows} rows`);
  } else if (d.first + d.batch > rows) {
    throw rangeError('rows', `rows ${d.first}..${d.first}+${d.batch} are out of range: x holds ${rows} rows`);
  }
  if (kind !== 'predict' && d.loss === CE) {
    for (let r = 0; r < d.batch; r++) {
      const row = rowOf(d, r);
      const c = y[row];
      if (!(c >= 0 && Number.isInteger(c) && c < n)) {
        throw rangeError(`${Y}[${row}]`, `class label must be an integer in [0, ${n}), got ${String(c)}`);
      }
    }
  }
  const need = workspaceLen(d);
  if (Number.isNaN(need)) throw rangeError('args[8] (batch)', 'the workspace size overflows');
  if (ws < need) {
    throw rangeError(
      'buffers[4] (workspace)',
      `length ${ws} is below the ${need} elements a batch of ${d.batch} needs (MODEL_INFO)`,
    );
  }
  const outNeed = kind === 'predict' ? d.batch * n : kind === 'train' && d.gradX ? d.batch * d.inputs : 0;
  if (out < outNeed) {
    throw rangeError('buffers[5] (out)', `length ${out} is below the ${outNeed} elements this call writes`);
  }
}

/** The model ops of the js backend (`bufs`: params, grads, x, y, workspace, out). */
export function modelCall(kind: ModelKind, dtype: DType, args: Float64Array, bufs: readonly FloatArray[]): void {
  const outs = OUTPUTS[kind];
  if (args.length < MODEL_HEADER + outs) {
    throw typeError(
      'args',
      `${KIND_NAME[kind]} needs a header of ${MODEL_HEADER} numbers, the layer table, the rows and ${outs} outputs`,
    );
  }
  const split = args.length - outs;
  const d = parse(args.subarray(0, split), kind);
  if (kind === 'info') {
    const n = workspaceLen(d);
    if (Number.isNaN(n)) throw rangeError('args[8] (batch)', 'the workspace size overflows');
    args[split] = n;
    return;
  }
  const [p, g, x, y, ws, out] = bufs;
  check(d, kind, p.length, g.length, x.length, y, ws.length, out.length);
  const r = ROUND[dtype];
  if (kind === 'predict') {
    forward(d, p, x, ws, r);
    const n = d.batch * outputs(d);
    const off = outputOff(d, d.layers.length - 1);
    out.set(ws.subarray(off, off + n));
    return;
  }
  forward(d, p, x, ws, r);
  const n = outputs(d);
  const oOff = outputOff(d, d.layers.length - 1);
  const train = kind === 'train';
  const gaOff = frontLen(d);
  const t = lossRun(d, ws, oOff, n, y, ws, gaOff, train, scale(d), r);
  if (train) backward(d, p, g, x, ws, out, r);
  args[split] = d.sum ? t.sum : t.sum * scale(d);
  args[split + 1] = t.sum;
  args[split + 2] = t.correct;
}

/** The batch's input rows: the gathered block at the workspace's front, or `x` in place. */
function input(d: Desc, x: FloatArray, ws: FloatArray): [FloatArray, number] {
  return d.list === null ? [x, d.first * d.inputs] : [ws, 0];
}

function forward(d: Desc, p: FloatArray, x: FloatArray, ws: FloatArray, r: Round): void {
  const b = d.batch;
  const inp = d.inputs;
  if (d.list !== null) {
    for (let i = 0; i < b; i++) {
      const row = d.list[i];
      ws.set(x.subarray(row * inp, (row + 1) * inp), i * inp);
    }
  }
  let off = b * inp;
  d.layers.forEach((y, l) => {
    const [a, aOff] = l === 0 ? input(d, x, ws) : [ws, outputOff(d, l - 1)];
    const h = off;
    xwt(ws, h, a, aOff, p, y.w, b, y.inp, y.out, r);
    biasForward(y.act, ws, h, needsZ(y) ? h + b * y.out : -1, p, y.b, b, y.out, r);
    if (drops(d, l)) {
      dropoutForward(d.seed, l, y.dropout, ws, h, h + b * y.out * (needsZ(y) ? 2 : 1), b, y.out, r);
    }
    off += layerLen(y, b);
  });
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

export function normalCdf(z: number): number {
  return 0.5 * erfc(-z * INV_SQRT2);
}
export function gelu(z: number): number {
  return z * normalCdf(z);
}
export function geluGrad(z: number): number {
  return normalCdf(z) + z * (exp(-0.5 * z * z) * INV_SQRT_2PI);
}

/** One element of an activation (mirror of `act::forward`). */
export function activate(act: number, z: number, r: Round): number {
  switch (act) {
    case IDENTITY:
      return z;
    case RELU:
      return z <= 0 ? 0 : z;
    case LEAKY:
      return z > 0 ? z : r(z * r(LEAKY_SLOPE));
    case TANH:
      return r(tanh(z));
    case SIGMOID:
      return r(sigmoid(z));
    default:
      return r(gelu(z));
  }
}

/** One element of an activation's backward pass (mirror of `act::backward`). */
export function activateBackward(act: number, g: number, h: number, z: number, r: Round): number {
  switch (act) {
    case IDENTITY:
      return g;
    case RELU:
      return h > 0 ? g : 0;
    case LEAKY:
      return h > 0 ? g : r(g * r(LEAKY_SLOPE));
    case TANH:
      return r(g * r(1 - r(h * h)));
    case SIGMOID:
      return r(g * r(r(1 - h) * h));
    default:
      return r(g * geluGrad(z));
  }
}

function biasForward(
  act: number,
  ws: FloatArray,
  h: number,
  z: number,
  p: FloatArray,
  bias: number,
  rows: number,
  width: number,
  r: Round,
): void {
  for (let i = 0; i < rows; i++) {
    const o = h + i * width;
    for (let j = 0; j < width; j++) {
      const v = r(ws[o + j] + p[bias + j]);
      if (z >= 0) ws[z + i * width + j] = v;
      ws[o + j] = activate(act, v, r);
    }
  }
}

/** MurmurHash3's 32-bit finaliser (mirror of `dropout::fmix32`). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
export function rowKey(seed: number, layer: number, row: number): number {
  return fmix32(fmix32(seed ^ Math.imul(layer, 0x9e3779b9)) ^ Math.imul(row, 0x85ebca6b));
}
export function keep(key: number, unit: number, threshold: number): boolean {
  return fmix32(key ^ Math.imul(unit, 0xcc9e2d51)) >>> 8 >= threshold;
}
export function dropThreshold(p: number): number {
  return Math.floor(p * 16777216);
}

function dropoutForward(
  seed: number,
  layer: number,
  p: number,
  ws: FloatArray,
  h: number,
  dst: number,
  rows: number,
  width: number,
  r: Round,
): void {
  const th = dropThreshold(p);
  const s = r(1 / (1 - p));
  for (let i = 0; i < rows; i++) {
    const key = rowKey(seed, layer, i);
    for (let j = 0; j < width; j++) {
      ws[dst + i * width + j] = keep(key, j, th) ? r(ws[h + i * width + j] * s) : 0;
    }
  }
}

interface Totals {
  sum: number;
  correct: number;
}

/** Mirror of `loss::run`: outputs at `o[oOff..]`, gradients to `g[gOff..]` when `grad`. */
function lossRun(
  d: Desc,
  o: FloatArray,
  oOff: number,
  n: number,
  y: FloatArray,
  g: FloatArray,
  gOff: number,
  grad: boolean,
  sc: number,
  r: Round,
): Totals {
  const rows = d.batch;
  let sum = 0;
  let correct = 0;
  if (d.loss === CE) {
    for (let i = 0; i < rows; i++) {
      const z = oOff + i * n;
      const label = y[rowOf(d, i)];
      let m = -Infinity;
      let arg = 0;
      for (let j = 0; j < n; j++) {
        if (o[z + j] > m) {
          m = o[z + j];
          arg = j;
        }
      }
      let s = 0;
      for (let j = 0; j < n; j++) s = s + exp(o[z + j] - m);
      sum = sum + (m + ln(s) - o[z + label]);
      if (arg === label) correct++;
      if (grad) {
        for (let j = 0; j < n; j++) {
          const pj = exp(o[z + j] - m) / s;
          g[gOff + i * n + j] = r((j === label ? pj - 1 : pj) * sc);
        }
      }
    }
  } else {
    const delta = d.delta;
    const loss = d.loss;
    for (let i = 0; i < rows; i++) {
      const t = rowOf(d, i) * n;
      const z = oOff + i * n;
      for (let j = 0; j < n; j++) {
        const zv = o[z + j];
        const tv = y[t + j];
        let l: number;
        let dv: number;
        if (loss === MAE) {
          const e = zv - tv;
          l = Math.abs(e);
          dv = e > 0 ? 1 : e < 0 ? -1 : 0;
        } else if (loss === HUBER) {
          const e = zv - tv;
          const a = Math.abs(e);
          if (a < delta) {
            l = 0.5 * e * e;
            dv = e;
          } else {
            l = delta * (a - 0.5 * delta);
            dv = delta * (e > 0 ? 1 : e < 0 ? -1 : 0);
          }
        } else if (loss === BCE) {
          l = (zv > 0 ? zv : 0) - zv * tv + log1p(exp(-Math.abs(zv)));
          dv = sigmoid(zv) - tv;
          if (zv > 0 === tv >= 0.5) correct++;
        } else {
          const e = zv - tv;
          l = e * e;
          dv = 2 * e;
        }
        sum = sum + l;
        if (grad) g[gOff + i * n + j] = r(dv * sc);
      }
    }
  }
  return { sum, correct: d.loss === CE || d.loss === BCE ? correct : NaN };
}

function backward(d: Desc, p: FloatArray, grads: FloatArray, x: FloatArray, ws: FloatArray, out: FloatArray, r: Round) {
  const b = d.batch;
  const mw = b * maxWidth(d);
  let ga = frontLen(d);
  let gb = ga + mw;
  for (let l = d.layers.length - 1; l >= 0; l--) {
    const y = d.layers[l];
    const sec = section(d, l);
    const z = needsZ(y) ? sec + b * y.out : sec;
    gradPass(d, l, ws, ga, sec, z, grads, r);
    const [a, aOff] = l === 0 ? input(d, x, ws) : [ws, outputOff(d, l - 1)];
    gtx(grads, y.w, ws, ga, a, aOff, b, y.inp, y.out, r);
    if (l > 0) {
      gw(ws, gb, ws, ga, p, y.w, b, y.inp, y.out, r);
      const t = ga;
      ga = gb;
      gb = t;
    } else if (d.gradX) {
      gw(out, 0, ws, ga, p, y.w, b, y.inp, y.out, r);
    }
  }
}

let acc64 = new Float64Array(1024);
function scratch(n: number): Float64Array {
  if (acc64.length < n) acc64 = new Float64Array(Math.max(n, acc64.length * 2));
  return acc64;
}

/** Mirror of `grad_pass`: dropout mask, activation derivative and bias gradient, in place. */
function gradPass(d: Desc, l: number, ws: FloatArray, g: number, h: number, z: number, grads: FloatArray, r: Round) {
  const y = d.layers[l];
  const width = y.out;
  const rows = d.batch;
  const drop = drops(d, l);
  const th = drop ? dropThreshold(y.dropout) : 0;
  const s = drop ? r(1 / (1 - y.dropout)) : 1;
  const acc = scratch(COLS);
  for (let c0 = 0; c0 < width; c0 += COLS) {
    const c1 = Math.min(c0 + COLS, width);
    acc.fill(0, 0, COLS);
    for (let i = 0; i < rows; i++) {
      const base = i * width;
      const key = drop ? rowKey(d.seed, l, i) : 0;
      for (let j = c0; j < c1; j++) {
        let v = ws[g + base + j];
        if (drop) v = keep(key, j, th) ? r(v * s) : 0;
        v = activateBackward(y.act, v, ws[h + base + j], ws[z + base + j], r);
        ws[g + base + j] = v;
        acc[j - c0] = acc[j - c0] + v;
      }
    }
    for (let j = c0; j < c1; j++) grads[y.b + j] = r(acc[j - c0]);
  }
}

/** `y[rows×out] = x[rows×inp]·wᵀ`: dot products in f64, in index order, rounded once. */
function xwt(
  y: FloatArray,
  yOff: number,
  x: FloatArray,
  xOff: number,
  w: FloatArray,
  wOff: number,
  rows: number,
  inp: number,
  out: number,
  r: Round,
): void {
  for (let i = 0; i < rows; i++) {
    const xi = xOff + i * inp;
    for (let j = 0; j < out; j++) {
      const wj = wOff + j * inp;
      let s = 0;
      for (let k = 0; k < inp; k++) s += x[xi + k] * w[wj + k];
      y[yOff + i * out + j] = r(s);
    }
  }
}

/** `dw[out×inp] = gᵀ·x`: each element summed in f64 over rows in order, rounded once. */
function gtx(
  dw: FloatArray,
  dwOff: number,
  g: FloatArray,
  gOff: number,
  x: FloatArray,
  xOff: number,
  rows: number,
  inp: number,
  out: number,
  r: Round,
): void {
  const acc = scratch(inp);
  for (let j = 0; j < out; j++) {
    acc.fill(0, 0, inp);
    for (let i = 0; i < rows; i++) {
      const gv = g[gOff + i * out + j];
      const xi = xOff + i * inp;
      for (let k = 0; k < inp; k++) acc[k] += gv * x[xi + k];
    }
    const o = dwOff + j * inp;
    for (let k = 0; k < inp; k++) dw[o + k] = r(acc[k]);
  }
}

/** `dx[rows×inp] = g·w`: each element summed in f64 over `out` in order, rounded once. */
function gw(
  dx: FloatArray,
  dxOff: number,
  g: FloatArray,
  gOff: number,
  w: FloatArray,
  wOff: number,
  rows: number,
  inp: number,
  out: number,
  r: Round,
): void {
  const acc = scratch(inp);
  for (let i = 0; i < rows; i++) {
    acc.fill(0, 0, inp);
    for (let j = 0; j < out; j++) {
      const gv = g[gOff + i * out + j];
      const wj = wOff + j * inp;
      for (let k = 0; k < inp; k++) acc[k] += gv * w[wj + k];
    }
    const o = dxOff + i * inp;
    for (let k = 0; k < inp; k++) dx[o + k] = r(acc[k]);
  }
}
