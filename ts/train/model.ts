/** Dense models (`Model`): linear, logistic and softmax regression and multilayer perceptrons. */
import { getBackend, type BackendChoice } from '../backend/select.js';
import { checkDType } from '../backend/heap.js';
import type { Backend, Buffer, DType, FloatArray, Heap } from '../backend/types.js';
import { BackendError, rangeError, typeError } from '../errors.js';
import { OP } from '../generated/specs.js';
import { fmix32 } from '../kernels/model.js';
import { ParamStore } from '../params.js';
import { describeType } from '../spec.js';
import { INIT_NAMES, InitRng, initDense, type InitName } from './init.js';

export type { InitName } from './init.js';
export type { FloatArray } from '../backend/types.js';
/** A layer's activation (`leaky_relu` with slope 0.01, `gelu` the exact erf form, as PyTorch's defaults). */
export type Activation = 'identity' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'gelu';
/** The losses: mean squared and absolute error, Huber, binary cross-entropy on logits, softmax cross-entropy. */
export type LossName = 'mse' | 'mae' | 'huber' | 'bce_with_logits' | 'softmax_cross_entropy';

/** Huber's `delta` defaults to 1; `reduction` to `'mean'`. */
export interface LossSpec {
  /** Which loss. */
  name: LossName;
  /** Mean over the batch's rows (default) or their sum. */
  reduction?: 'mean' | 'sum';
  /** Huber's threshold between the quadratic and the linear part. */
  delta?: number;
}

/**
 * One dense layer. `activation` defaults to `'identity'`. `dropout` applies to the layer's
 * output (after the activation), in training steps only, with inverted scaling `1/(1 − p)`.
 */
export interface LayerSpec {
  /** Units (outputs) of the layer. */
  out: number;
  /** Applied to the layer's output. */
  activation?: Activation;
  /** Probability of zeroing each output in training, in [0, 1). */
  dropout?: number;
}

/** A model's architecture: inputs, layers in order, the loss. */
export interface ModelSpec {
  /** Features per row. */
  inputs: number;
  /** The layers, input side first; the last one's `out` is the model's outputs. */
  layers: LayerSpec[];
  /** The loss trained on. */
  loss: LossSpec;
}

/** Options of `Model.create`. */
export interface ModelOptions {
  /** The backend, as for `ParamStore.create`; default `'auto'`. */
  backend?: BackendChoice;
  /** Element type of parameters, gradients, data and activations. Default `'float32'`. */
  dtype?: DType;
  /** Initialisation of the weights (ts/train/init.ts). Default `'torch_default'`. */
  init?: InitName;
  /** Seed of the initialisation and of the default dropout seeds (an integer; default 0). */
  seed?: number;
}

/** Training data copied once into the model's heap (on WASM: its linear memory). */
export interface DeviceData {
  /** Rows uploaded. */
  readonly rows: number;
  /** Features per row. */
  readonly inputs: number;
  /** Columns of y: 1 for class labels (softmax cross-entropy), else the model's outputs. */
  readonly targets: number;
  /** Frees the uploaded copy. */
  dispose(): void;
}

/** The loss of a batch, and how many of its rows were classified right. */
export interface StepResult {
  /** The loss of the rows, reduced as the spec's `reduction` says. */
  loss: number;
  /** Correct predictions (argmax for softmax CE, logit > 0 per output for BCE), or `null` for regression. */
  correct: number | null;
}

const ACT_CODE: Record<Activation, number> = {
  identity: 0,
  relu: 1,
  leaky_relu: 2,
  tanh: 3,
  sigmoid: 4,
  gelu: 5,
};
const LOSS_CODE: Record<LossName, number> = {
  mse: 0,
  mae: 1,
  huber: 2,
  bce_with_logits: 3,
  softmax_cross_entropy: 4,
};
const HEADER = 9;
const STRIDE = 5;
const FLAG_TRAINING = 1;
const FLAG_GRAD_X = 2;
const ROWS_LIST = 0;
const ROWS_RANGE = 1;
/** Rows per core call of `evaluate` and `predict`. */
const CHUNK = 512;

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function positiveInt(v: unknown, arg: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a positive integer, got ${describeType(v)}`);
  if (!Number.isSafeInteger(v) || v < 1) throw rangeError(arg, `must be a positive integer, got ${String(v)}`);
  return v;
}

function checkKeys(o: object, known: readonly string[], arg: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw typeError(`${arg}.${k}`, `is not an option (known: ${known.join(', ')})`);
  }
}

/** Checks a spec and returns it with every default filled in (a copy). */
export function normalizeSpec(spec: ModelSpec): Required<ModelSpec> & {
  layers: Required<LayerSpec>[];
  loss: Required<LossSpec>;
} {
  if (spec === null || typeof spec !== 'object')
    throw typeError('spec', `must be an object, got ${describeType(spec)}`);
  checkKeys(spec, ['inputs', 'layers', 'loss'], 'spec');
  const inputs = positiveInt(spec.inputs, 'spec.inputs');
  if (!Array.isArray(spec.layers)) {
    throw typeError('spec.layers', `must be an array of layers, got ${describeType(spec.layers)}`);
  }
  if (spec.layers.length === 0) throw rangeError('spec.layers', 'must hold at least one layer');
  const layers = spec.layers.map((l: LayerSpec, i: number) => {
    const arg = `spec.layers[${i}]`;
    if (l === null || typeof l !== 'object') throw typeError(arg, `must be an object, got ${describeType(l)}`);
    checkKeys(l, ['out', 'activation', 'dropout'], arg);
    const out = positiveInt(l.out, `${arg}.out`);
    const activation = l.activation ?? 'identity';
    if (!has(ACT_CODE, activation)) {
      throw rangeError(
        `${arg}.activation`,
        `must be one of ${Object.keys(ACT_CODE).join(', ')}, got ${JSON.stringify(activation)}`,
      );
    }
    const dropout = l.dropout ?? 0;
    if (typeof dropout !== 'number')
      throw typeError(`${arg}.dropout`, `must be a number, got ${describeType(dropout)}`);
    if (!(dropout >= 0 && dropout < 1)) throw rangeError(`${arg}.dropout`, `must be in [0, 1), got ${String(dropout)}`);
    return { out, activation, dropout };
  });
  const loss = spec.loss;
  if (loss === null || typeof loss !== 'object') {
    throw typeError('spec.loss', `must be an object { name, reduction?, delta? }, got ${describeType(loss)}`);
  }
  checkKeys(loss, ['name', 'reduction', 'delta'], 'spec.loss');
  if (!has(LOSS_CODE, loss.name)) {
    throw rangeError(
      'spec.loss.name',
      `must be one of ${Object.keys(LOSS_CODE).join(', ')}, got ${JSON.stringify(loss.name)}`,
    );
  }
  const reduction = loss.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw rangeError('spec.loss.reduction', `must be 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  }
  const delta = loss.delta ?? 1;
  if (typeof delta !== 'number' || !(delta > 0 && Number.isFinite(delta))) {
    throw rangeError('spec.loss.delta', `must be a finite number > 0, got ${String(delta)}`);
  }
  const outputs = layers[layers.length - 1].out;
  if (loss.name === 'softmax_cross_entropy' && outputs < 2) {
    throw rangeError(
      `spec.layers[${layers.length - 1}].out`,
      `softmax_cross_entropy needs at least 2 outputs (classes), got ${outputs}`,
    );
  }
  return { inputs, layers, loss: { name: loss.name, reduction, delta } };
}

/** Data in a model's heap: `x` (`rows × inputs`) and `y` (`rows × targets`). */
class ModelData implements DeviceData {
  constructor(
    readonly model: Model,
    readonly x: Buffer,
    readonly y: Buffer,
    readonly rows: number,
    readonly inputs: number,
    readonly targets: number,
  ) {}
  get disposed(): boolean {
    return this.x.disposed;
  }
  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A dense model on any backend: linear, logistic and softmax regression and multilayer
 * perceptrons, trained one minibatch per core call.
 *
 * ```ts
 * const model = await Model.create({
 *   inputs: 784,
 *   layers: [{ out: 128, activation: 'relu' }, { out: 10 }],
 *   loss: { name: 'softmax_cross_entropy' },
 * }, { init: 'he_uniform', seed: 1 });
 * const opt = new Adam(model.params, { lr: 1e-3 });
 * const data = model.upload(images, labels);           // copied once into the backend's heap
 * for (const rows of batches) {                         // Int32Array of row indices
 *   const { loss } = model.trainStep(data, rows);      // forward, loss, backward: one call
 *   opt.step();
 * }
 * const { loss, correct } = model.evaluate(testData);
 * ```
 *
 * Parameters are tensors `layer{i}.weight` (`[out, in]`) and `layer{i}.bias` (`[out]`) of
 * `model.params`, a {@link ParamStore} in PyTorch's `nn.Linear` layout, so any optimizer steps
 * them and checkpoints map onto `torch.nn.Sequential`. The forward pass, the loss and the
 * backward pass run in the core (crates/core/src/model; mirrored in ts/kernels/model.ts for the
 * js backend), with activations in a workspace of the model's heap that is allocated once and
 * reused.
 *
 * Differences from PyTorch: float32 activations (tanh, sigmoid, GELU) and losses are computed in
 * float64 and rounded once, so they can be more accurate than PyTorch's float32 kernels; matrix
 * products differ in their summation order between backends (see ARCHITECTURE.md, "Training
 * engine", for the tolerance).
 */
export class Model {
  /** The architecture (defaults filled in). */
  readonly spec: ModelSpec;
  /** The weights and biases: `layer{i}.weight` `[out, in]` and `layer{i}.bias` `[out]`. */
  readonly params: ParamStore;
  /** Features per row. */
  readonly inputs: number;
  /** Outputs per row (the last layer's `out`). */
  readonly outputs: number;
  /** The element type of parameters, data and activations. */
  readonly dtype: DType;
  readonly #layers: Required<LayerSpec>[];
  readonly #loss: Required<LossSpec>;
  readonly #seed: number;
  #steps = 0;
  #ws: Buffer | null = null;
  /** Rows the workspace holds. */
  #capacity = 0;
  /** Args of the last train step, reused while the batch size stays the same. */
  #trainArgs: Float64Array | null = null;

  /** Loads the backend (`'auto'` by default) and builds the model. */
  static async create(spec: ModelSpec, options: ModelOptions = {}): Promise<Model> {
    if (options === null || typeof options !== 'object') {
      throw typeError('options', `must be an object, got ${describeType(options)}`);
    }
    const { backend, ...rest } = options;
    return new Model(await getBackend(backend), spec, rest);
  }

  constructor(backend: Backend, spec: ModelSpec, options: Omit<ModelOptions, 'backend'> = {}) {
    if (!backend || typeof backend !== 'object' || typeof backend.createHeap !== 'function') {
      throw typeError('backend', `must be a loaded backend, got ${describeType(backend)}`);
    }
    if (options === null || typeof options !== 'object') {
      throw typeError('options', `must be an object, got ${describeType(options)}`);
    }
    checkKeys(options, ['dtype', 'init', 'seed', 'backend'], 'options');
    const s = normalizeSpec(spec);
    const dtype = checkDType(options.dtype ?? 'float32', 'options.dtype');
    const init = options.init ?? 'torch_default';
    if (!INIT_NAMES.includes(init)) {
      throw rangeError('options.init', `must be one of ${INIT_NAMES.join(', ')}, got ${JSON.stringify(init)}`);
    }
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw typeError('options.seed', `must be an integer, got ${describeType(seed)}`);
    }
    this.spec = s;
    this.#layers = s.layers;
    this.#loss = s.loss;
    this.#seed = seed >>> 0;
    this.dtype = dtype;
    this.inputs = s.inputs;
    this.outputs = s.layers[s.layers.length - 1].out;
    const rng = new InitRng(seed);
    const tensors: [string, { shape: number[]; init: Float64Array }][] = [];
    let inp = s.inputs;
    s.layers.forEach((l, i) => {
      const w = new Float64Array(l.out * inp);
      const b = new Float64Array(l.out);
      initDense(init, rng, inp, l.out, w, b);
      tensors.push([`layer${i}.weight`, { shape: [l.out, inp], init: w }]);
      tensors.push([`layer${i}.bias`, { shape: [l.out], init: b }]);
      inp = l.out;
    });
    this.params = new ParamStore(backend, tensors, { dtype });
  }

  /** The backend the model runs on. */
  get backend(): Backend {
    return this.params.backend;
  }
  get #heap(): Heap {
    return this.params.heap;
  }
  /** Columns of the targets: 1 (a class index) for softmax cross-entropy, else `outputs`. */
  get targets(): number {
    return this.#loss.name === 'softmax_cross_entropy' ? 1 : this.outputs;
  }
  /** Multiply-adds of one sample's forward pass (a training step costs about 3× as many, ×2 FLOPs). */
  get macsPerSample(): number {
    let inp = this.inputs;
    let n = 0;
    for (const l of this.#layers) {
      n += inp * l.out;
      inp = l.out;
    }
    return n;
  }

  /** Header and layer table of a call. */
  #args(batch: number, flags: number, mode: number, seed: number, tail: number): Float64Array {
    const a = new Float64Array(HEADER + STRIDE * this.#layers.length + tail);
    a.set([
      this.#layers.length,
      this.inputs,
      LOSS_CODE[this.#loss.name],
      this.#loss.reduction === 'sum' ? 1 : 0,
      this.#loss.delta,
      seed,
      flags,
      mode,
      batch,
    ]);
    this.#layers.forEach((l, i) => {
      const w = this.params.tensor(`layer${i}.weight`);
      const b = this.params.tensor(`layer${i}.bias`);
      a.set([l.out, ACT_CODE[l.activation], l.dropout, w.offset, b.offset], HEADER + STRIDE * i);
    });
    return a;
  }

  /** A workspace for at least `rows` rows (grown, never shrunk: allocation only when it grows). */
  #workspace(rows: number): Buffer {
    if (this.#ws !== null && this.#capacity >= rows && !this.#ws.disposed) return this.#ws;
    const info = this.#args(rows, 0, 0, 0, 1);
    this.#heap.run(OP.MODEL_INFO, this.dtype, info, []);
    const len = info[info.length - 1];
    this.#ws?.dispose();
    this.#ws = null;
    this.#ws = this.#heap.alloc(this.dtype, len, 'workspace');
    this.#capacity = rows;
    return this.#ws;
  }

  #live(): void {
    if (this.params.disposed) throw new BackendError(this.backend.name, 'Model used after dispose()');
  }

  /** Checks `x` (and `y`, unless null) and copies them into new buffers of the heap. */
  #copyIn(x: ArrayLike<number>, y: ArrayLike<number> | null): ModelData {
    this.#live();
    const xs = checkNumbers(x, 'x');
    if (xs.length === 0) throw rangeError('x', 'the dataset is empty (no rows)');
    if (xs.length % this.inputs !== 0) {
      throw rangeError(
        'x',
        `length ${xs.length} is not a whole number of rows of ${this.inputs} features (the model's inputs): wrong feature count?`,
      );
    }
    const rows = xs.length / this.inputs;
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i];
      if (!Number.isFinite(v)) {
        throw rangeError(
          `x[${i}]`,
          `row ${Math.floor(i / this.inputs)}, feature ${i % this.inputs} is ${String(v)}; data must be finite`,
        );
      }
    }
    const targets = y === null ? 0 : this.targets;
    let ys: ArrayLike<number> = new Float64Array(0);
    if (y !== null) {
      ys = checkNumbers(y, 'y');
      if (ys.length !== rows * targets) {
        const what =
          targets === 1 && this.#loss.name === 'softmax_cross_entropy'
            ? 'one class index per row'
            : `${targets} target${targets === 1 ? '' : 's'} per row`;
        throw rangeError('y', `length ${ys.length} must be ${rows * targets}: ${rows} rows of x, ${what}`);
      }
      checkTargets(ys, this.#loss.name, this.outputs);
    }
    const xb = this.#heap.alloc(this.dtype, xs.length, 'x');
    let yb: Buffer;
    try {
      yb = this.#heap.alloc(this.dtype, ys.length, 'y');
    } catch (e) {
      xb.dispose();
      throw e;
    }
    xb.view().set(xs);
    yb.view().set(ys);
    return new ModelData(this, xb, yb, rows, this.inputs, targets);
  }

  /**
   * Copies rows of `x` (row-major, rows × inputs) and `y` (rows × outputs floats, or one class
   * index per row for softmax cross-entropy) into the heap. Checks shapes, finiteness and the
   * label range first; errors name the problem (`RangeError`/`TypeError`).
   */
  upload(x: ArrayLike<number>, y: ArrayLike<number>): DeviceData {
    if (y === null || y === undefined) throw typeError('y', `must be an array of targets, got ${describeType(y)}`);
    return this.#copyIn(x, y);
  }

  #data(data: DeviceData, arg = 'data'): ModelData {
    this.#live();
    if (!(data instanceof ModelData) || data.model !== this) {
      throw typeError(arg, `must be data uploaded by this model (model.upload), got ${describeType(data)}`);
    }
    if (data.disposed) throw typeError(arg, 'has been disposed');
    return data;
  }

  #rows(rows: unknown, n: number): ArrayLike<number> {
    if (!(rows instanceof Int32Array) && !Array.isArray(rows)) {
      throw typeError('rows', `must be an Int32Array or an array of row indices, got ${describeType(rows)}`);
    }
    const r = rows as ArrayLike<number>;
    if (r.length === 0) throw rangeError('rows', 'the batch is empty (batch size 0)');
    for (let i = 0; i < r.length; i++) {
      const v = r[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
        throw rangeError(`rows[${i}]`, `must be a row index in [0, ${n}), got ${String(v)}`);
      }
    }
    return r;
  }

  /**
   * ONE core call: forward, loss and backward over `rows` of `data` (gathered in the core);
   * writes every gradient into `params.grads` (overwriting). `seed` fixes dropout's mask (a hash
   * of seed, layer, batch row and unit: the same on every backend); without it each step draws
   * a new one from the model's seed and its step count.
   */
  trainStep(data: DeviceData, rows: Int32Array | number[], options: { seed?: number } = {}): StepResult {
    const d = this.#data(data);
    const r = this.#rows(rows, d.rows);
    const seedOpt = options?.seed;
    if (seedOpt !== undefined && (typeof seedOpt !== 'number' || !Number.isSafeInteger(seedOpt))) {
      throw typeError('options.seed', `must be an integer, got ${describeType(seedOpt)}`);
    }
    const seed = seedOpt === undefined ? fmix32(this.#seed ^ fmix32(this.#steps)) : seedOpt >>> 0;
    this.#steps++;
    const b = r.length;
    const ws = this.#workspace(b);
    const rowsAt = HEADER + STRIDE * this.#layers.length;
    let args = this.#trainArgs;
    if (args === null || args.length !== rowsAt + b + 3) {
      args = this.#args(b, FLAG_TRAINING, ROWS_LIST, 0, b + 3);
      this.#trainArgs = args;
    }
    args[5] = seed;
    for (let i = 0; i < b; i++) args[rowsAt + i] = r[i];
    const { params, grads } = this.params.buffers;
    this.#heap.run(OP.MODEL_TRAIN, this.dtype, args, [params, grads, d.x, d.y, ws, null]);
    const n = args.length;
    return { loss: args[n - 3], correct: Number.isNaN(args[n - 1]) ? null : args[n - 1] };
  }

  /** Forward only (no dropout) over `rows` (default: all), in chunks; the loss and correct count. */
  evaluate(data: DeviceData, rows?: Int32Array | number[]): StepResult {
    const d = this.#data(data);
    const list = rows === undefined ? null : this.#rows(rows, d.rows);
    const total = list === null ? d.rows : list.length;
    const chunk = Math.min(CHUNK, total);
    const ws = this.#workspace(chunk);
    const { params } = this.params.buffers;
    let sum = 0;
    let correct = 0;
    for (let start = 0; start < total; start += chunk) {
      const b = Math.min(chunk, total - start);
      let args: Float64Array;
      if (list === null) {
        args = this.#args(b, 0, ROWS_RANGE, 0, 4);
        args[args.length - 4] = start;
      } else {
        args = this.#args(b, 0, ROWS_LIST, 0, b + 3);
        const at = args.length - b - 3;
        for (let i = 0; i < b; i++) args[at + i] = list[start + i];
      }
      this.#heap.run(OP.MODEL_EVAL, this.dtype, args, [params, null, d.x, d.y, ws, null]);
      sum += args[args.length - 2];
      correct += args[args.length - 1];
    }
    const terms = this.#loss.name === 'softmax_cross_entropy' ? total : total * this.outputs;
    return {
      loss: this.#loss.reduction === 'sum' ? sum : sum / terms,
      correct: Number.isNaN(correct) ? null : correct,
    };
  }

  /** Forward only (no dropout): the outputs (logits or predictions) of each row of `x`, rows × outputs. */
  predict(x: ArrayLike<number>): FloatArray {
    const d = this.#copyIn(x, null);
    try {
      const chunk = Math.min(CHUNK, d.rows);
      const ws = this.#workspace(chunk);
      const out = this.#heap.alloc(this.dtype, chunk * this.outputs, 'predict output');
      try {
        const res =
          this.dtype === 'float32' ? new Float32Array(d.rows * this.outputs) : new Float64Array(d.rows * this.outputs);
        const { params } = this.params.buffers;
        for (let start = 0; start < d.rows; start += chunk) {
          const b = Math.min(chunk, d.rows - start);
          const args = this.#args(b, 0, ROWS_RANGE, 0, 1);
          args[args.length - 1] = start;
          this.#heap.run(OP.MODEL_PREDICT, this.dtype, args, [params, null, d.x, null, ws, out]);
          res.set(out.view().subarray(0, b * this.outputs), start * this.outputs);
        }
        return res;
      } finally {
        out.dispose();
      }
    } finally {
      d.dispose();
    }
  }

  /**
   * The loss, every parameter gradient and the gradient with respect to the input of one batch
   * (`x`, `y` as for `upload`; no dropout). Also leaves the gradients in `params.grads`.
   */
  gradients(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
  ): {
    /** The batch's loss. */
    loss: number;
    /** Every parameter's gradient by tensor name (copies). */
    grads: Record<string, FloatArray>;
    /** The gradient with respect to the inputs, rows × inputs. */
    gradX: FloatArray;
  } {
    const d = this.upload(x, y) as ModelData;
    try {
      const b = d.rows;
      const ws = this.#workspace(b);
      const out = this.#heap.alloc(this.dtype, b * this.inputs, 'grad_x');
      try {
        const args = this.#args(b, FLAG_GRAD_X, ROWS_RANGE, 0, 4);
        args[args.length - 4] = 0;
        const { params, grads } = this.params.buffers;
        this.#heap.run(OP.MODEL_TRAIN, this.dtype, args, [params, grads, d.x, d.y, ws, out]);
        const g: Record<string, FloatArray> = {};
        for (const t of this.params.tensors) g[t.name] = t.grad.slice();
        return { loss: args[args.length - 3], grads: g, gradX: out.view().slice(0, b * this.inputs) };
      } finally {
        out.dispose();
      }
    } finally {
      d.dispose();
    }
  }

  /** Whether the model was disposed. */
  get disposed(): boolean {
    return this.params.disposed;
  }
  /** Frees the parameters, gradients, workspace, uploaded data and every optimizer's state in this model's heap. */
  dispose(): void {
    this.params.dispose();
    this.#ws = null;
  }
  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function checkNumbers(v: unknown, arg: string): ArrayLike<number> {
  const typed = ArrayBuffer.isView(v) && !(v instanceof DataView);
  if (!Array.isArray(v) && !typed) {
    throw typeError(arg, `must be an array or typed array of numbers, got ${describeType(v)}`);
  }
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    throw typeError(arg, `must hold numbers, got a ${v.constructor.name}`);
  }
  const a = v as ArrayLike<number>;
  if (!typed) {
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== 'number') throw typeError(`${arg}[${i}]`, `must be a number, got ${describeType(a[i])}`);
    }
  }
  return a;
}

function checkTargets(y: ArrayLike<number>, loss: LossName, outputs: number): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) throw rangeError(`y[${i}]`, `is ${String(v)}; targets must be finite`);
    if (loss === 'softmax_cross_entropy' && !(Number.isInteger(v) && v >= 0 && v < outputs)) {
      throw rangeError(
        `y[${i}]`,
        `class label ${String(v)} is ${Number.isInteger(v) ? 'out of range' : 'not an integer'}: labels must be integers in [0, ${outputs})`,
      );
    }
    if (loss === 'bce_with_logits' && !(v >= 0 && v <= 1)) {
      throw rangeError(`y[${i}]`, `target ${String(v)} is outside [0, 1] (binary cross-entropy)`);
    }
  }
}
