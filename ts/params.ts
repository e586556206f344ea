/**
 * The parameter arena: every tensor of a model is a named, shaped range of one flat buffer of
 * float32 (default) or float64 elements, with a gradient buffer of the same layout. A store owns
 * a heap on its backend (on WASM, one instance's memory) where optimizers over it keep their
 * state too; `dispose()` frees all of it.
 */
import { getBackend, type BackendChoice } from './backend/select.js';
import { checkDType } from './backend/heap.js';
import type { Backend, Buffer, DType, FloatArray, Heap } from './backend/types.js';
import { BackendError, rangeError, typeError } from './errors.js';
import { checkObject, checkOptions, checkValues, describeType, ownKeys } from './validate.js';

/** Initial values: a constant, an array of `numel` numbers, or a function of the flat index. */
export type Init = number | ArrayLike<number> | ((index: number) => number);

/** One tensor of a store: its shape and, optionally, its initial values (default 0). */
export interface TensorSpec {
  /** Dimensions, e.g. `[784, 128]`; `[]` is a scalar. */
  shape: readonly number[];
  /** Initial values; zeros when left out. */
  init?: Init;
}

/** `{ name: shape }`, `{ name: { shape, init } }`, or the same as `[name, spec]` pairs. */
export type ParamSpecs =
  Record<string, TensorSpec | readonly number[]> | ReadonlyArray<readonly [string, TensorSpec | readonly number[]]>;

/** Options of `ParamStore.create`. */
export interface StoreOptions {
  /** `'auto'` (default: native, then wasm, then js), or a backend name; env `DOWNHILL_BACKEND` does the same. */
  backend?: BackendChoice;
  /** Element type of parameters, gradients and optimizer state. Default `'float32'`. */
  dtype?: DType;
}

/** A named tensor: a view into the arena. `data` and `grad` are re-acquired on every access. */
export class Tensor {
  constructor(
    private readonly store: ParamStore,
    /** The tensor's name in the store. */
    readonly name: string,
    /** Its dimensions. */
    readonly shape: readonly number[],
    /** Position of element 0 in the arena. */
    readonly offset: number,
    /** Number of elements. */
    readonly size: number,
  ) {
    // Its place in the arena is fixed: a write to `offset` or `shape` would silently misplace views.
    Object.freeze(this);
  }
  /** The values (a live view; valid until the next call that may allocate WASM memory). */
  get data(): FloatArray {
    return this.store.data.subarray(this.offset, this.offset + this.size);
  }
  /** The gradient (a live view, same rule as `data`). */
  get grad(): FloatArray {
    return this.store.grads.subarray(this.offset, this.offset + this.size);
  }
}

function checkShape(shape: unknown, arg: string): number[] {
  if (!Array.isArray(shape)) {
    throw typeError(arg, `must be an array of non-negative integers, got ${describeType(shape)}`);
  }
  shape.forEach((d, i) => {
    if (typeof d !== 'number') throw typeError(`${arg}[${i}]`, `must be a number, got ${describeType(d)}`);
    if (!Number.isSafeInteger(d) || d < 0) {
      throw rangeError(`${arg}[${i}]`, `must be a non-negative integer, got ${String(d)}`);
    }
  });
  return [...(shape as number[])];
}

export { checkValues };

const SPEC_KEYS = new Set(['shape', 'init']);

interface Planned {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  init?: Init;
}

/**
 * The parameters of a model (and their gradients) in one flat arena on one backend; tensors are
 * named, shaped views into it. Optimizers over the store keep their state in its heap too, so one
 * `step()` is one call into the backend for every tensor.
 *
 * @example
 * ```ts
 * import { ParamStore } from 'downhill';
 * const params = await ParamStore.create({
 *   w: { shape: [2, 3], init: (i) => 0.1 * i },
 *   b: [3], // zeros
 * });
 * params.setGrad('w', [1, 2, 3, 4, 5, 6]);
 * console.log(params.names, params.size, params.backend.name); // [ 'w', 'b' ] 9 'native'
 * console.log(params.tensor('w').grad); // Float32Array(6) [ 1, 2, 3, 4, 5, 6 ]
 * params.dispose();
 * ```
 */
export class ParamStore {
  /** The backend the arena lives on. */
  readonly backend: Backend;
  /** The heap holding the arena and every optimizer's state over this store. */
  readonly heap: Heap;
  /** The element type of parameters, gradients and optimizer state. */
  readonly dtype: DType;
  readonly #tensors = new Map<string, Tensor>();
  readonly #params: Buffer;
  readonly #grads: Buffer;
  /** `buffers`, made once: a step reads it, and the pair never changes. */
  readonly #pair: { readonly params: Buffer; readonly grads: Buffer };
  /** Total number of elements. */
  readonly size: number;

  /** Builds the arena on an already-loaded backend. See also {@link ParamStore.create}. */
  constructor(backend: Backend, specs: ParamSpecs, options: { dtype?: DType } = {}) {
    if (!backend || typeof backend !== 'object' || typeof backend.createHeap !== 'function') {
      throw typeError('backend', `must be a loaded backend, got ${describeType(backend)}`);
    }
    checkOptions(options, 'options', ['backend', 'dtype']);
    const dtype = checkDType(options.dtype ?? 'float32', 'options.dtype');
    const limits = backend.limits(dtype);
    const layout = plan(specs, limits.bufferElements, limits.why);
    const size = layout.reduce((n, t) => n + t.size, 0);
    if (size > limits.bufferElements) {
      throw rangeError(
        'specs',
        `the tensors hold ${size} elements in all, above the limit of ${limits.bufferElements} (${limits.why})`,
      );
    }
    const elt = dtype === 'float32' ? 4 : 8;
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    if (2 * size * elt > limits.storeBytes) {
      // Name the tensor that alone does not fit, if one does not.
      const big = layout.reduce((a, t) => (t.size > a.size ? t : a), layout[0]);
      const arg = 2 * big.size * elt > limits.storeBytes ? `specs.${big.name}.shape` : 'specs';
      const what =
        arg === 'specs' ? `the tensors hold ${size} elements` : `[${big.shape.join(', ')}] holds ${big.size} elements`;
      throw rangeError(
        arg,
        `${what}: with gradients ${gib(2 * size * elt)}, above the ${gib(limits.storeBytes)} a store may hold (${limits.why})`,
      );
    }
    this.backend = backend;
    this.dtype = dtype;
    this.size = size;
    this.heap = backend.createHeap();
    try {
      this.#params = this.heap.alloc(dtype, size, 'specs (parameters)');
      this.#grads = this.heap.alloc(dtype, size, 'specs (gradients)');
      this.#pair = Object.freeze({ params: this.#params, grads: this.#grads });
      const data = this.#params.view();
      for (const t of layout) {
        this.#tensors.set(t.name, new Tensor(this, t.name, Object.freeze(t.shape), t.offset, t.size));
        const init = t.init;
        if (typeof init === 'number') data.fill(init, t.offset, t.offset + t.size);
        else if (typeof init === 'function') {
          for (let i = 0; i < t.size; i++) {
            const v: unknown = init(i);
            if (typeof v !== 'number') {
              throw typeError(
                `specs.${t.name}.init`,
                `returned ${describeType(v)} for index ${i}; it must return numbers`,
              );
            }
            if (!Number.isFinite(v)) throw rangeError(`specs.${t.name}.init`, `returned ${String(v)} for index ${i}`);
            data[t.offset + i] = v;
          }
        } else if (init) data.set(init, t.offset);
      }
    } catch (e) {
      this.heap.dispose();
      throw e;
    }
    // `size`, `dtype`, `backend` and `heap` describe the arena the optimizers were built on:
    // assigning them would corrupt every view silently, so the store refuses (a TypeError).
    Object.freeze(this);
  }

  /** Loads the backend (`'auto'` by default; see `selectBackend`) and builds the arena. */
  static async create(specs: ParamSpecs, options: StoreOptions = {}): Promise<ParamStore> {
    checkOptions(options, 'options', ['backend', 'dtype']);
    return new ParamStore(await getBackend(options.backend), specs, { dtype: options.dtype, ...options });
  }

  /** Tensor names in arena order. */
  get names(): string[] {
    return [...this.#tensors.keys()];
  }
  /** The tensors in arena order. */
  get tensors(): Tensor[] {
    return [...this.#tensors.values()];
  }
  /** The whole parameter arena (a live view). */
  get data(): FloatArray {
    return this.#params.view();
  }
  /** The whole gradient arena (a live view). */
  get grads(): FloatArray {
    return this.#grads.view();
  }
  /** @internal the backend buffers, for optimizers and ops. */
  get buffers(): { readonly params: Buffer; readonly grads: Buffer } {
    this.assertLive();
    return this.#pair;
  }

  /** Whether the store has a tensor called `name`. */
  has(name: string): boolean {
    return this.#tensors.has(name);
  }
  /** The tensor called `name`; throws naming `arg` when there is none. */
  tensor(name: string, arg = 'name'): Tensor {
    if (typeof name !== 'string') throw typeError(arg, `must be a tensor name (a string), got ${describeType(name)}`);
    const t = this.#tensors.get(name);
    if (!t) throw rangeError(arg, `unknown parameter ${JSON.stringify(name)}; known: ${this.names.join(', ')}`);
    return t;
  }
  /** A copy of a tensor's values. */
  get(name: string): FloatArray {
    return this.tensor(name).data.slice();
  }
  /** Copies `values` into a tensor (checked before anything is written). */
  set(name: string, values: ArrayLike<number>): void {
    const t = this.tensor(name);
    this.data.set(checkValues(values, t.size, 'values'), t.offset);
  }
  /** Copies `values` into a tensor's gradient. */
  setGrad(name: string, values: ArrayLike<number>): void {
    const t = this.tensor(name);
    this.grads.set(checkValues(values, t.size, 'values'), t.offset);
  }
  /** Sets the gradients of the named tensors (all by default) to zero. */
  zeroGrad(names?: readonly string[]): void {
    if (names === undefined) {
      this.grads.fill(0);
      return;
    }
    if (!Array.isArray(names)) throw typeError('names', `must be an array of tensor names, got ${describeType(names)}`);
    const ts = names.map((n, i) => this.tensor(n, `names[${i}]`));
    const g = this.grads;
    for (const t of ts) g.fill(0, t.offset, t.offset + t.size);
  }
  /** Whether the store was disposed (or, on WASM, its instance trapped). */
  get disposed(): boolean {
    return this.heap.disposed;
  }
  /** Frees the arena and everything optimizers keep in this store's heap; later use throws. */
  dispose(): void {
    this.heap.dispose();
  }
  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** @internal throws when disposed. */
  assertLive(): void {
    if (!this.heap.disposed) return;
    const failure = (this.heap as { failure?: string | null }).failure;
    if (failure) {
      throw new BackendError(
        this.backend.name,
        `ParamStore unusable: its WebAssembly instance trapped (${failure}); its buffers are lost`,
      );
    }
    throw new BackendError(this.backend.name, 'ParamStore used after dispose()');
  }
}

/** Checks the specs and lays the tensors out, before anything is allocated. */
function plan(specs: ParamSpecs, max: number, why: string): Planned[] {
  const proto = specs !== null && typeof specs === 'object' ? Object.getPrototypeOf(specs) : undefined;
  if (!Array.isArray(specs) && proto !== Object.prototype && proto !== null) {
    // A Map, a class instance or a primitive would otherwise read as a store without tensors.
    throw typeError('specs', `must be a plain object or an array of [name, spec], got ${describeType(specs)}`);
  }
  const entries: (readonly [string, TensorSpec | readonly number[]])[] = Array.isArray(specs)
    ? [...specs]
    : ownKeys(specs, 'specs').map((k) => [k, (specs as Record<string, TensorSpec>)[k]] as const);
  let offset = 0;
  const layout: Planned[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (!Array.isArray(entry) && Array.isArray(specs)) throw typeError(`specs[${i}]`, 'must be a [name, spec] pair');
    const [name, spec] = entry ?? [];
    if (typeof name !== 'string' || name === '') throw typeError(`specs[${i}]`, 'name must be a non-empty string');
    if (seen.has(name)) throw rangeError(`specs.${name}`, 'duplicate tensor name');
    seen.add(name);
    const isShape = Array.isArray(spec);
    if (!isShape && (spec === null || typeof spec !== 'object')) {
      throw typeError(`specs.${name}`, `must be a shape array or { shape, init }, got ${describeType(spec)}`);
    }
    const s = (isShape ? { shape: spec } : spec) as TensorSpec;
    if (!isShape) {
      for (const k of ownKeys(checkObject(s, `specs.${name}`), `specs.${name}`)) {
        if (!SPEC_KEYS.has(k)) throw typeError(`specs.${name}.${k}`, 'is not a tensor option (known: shape, init)');
      }
    }
    const shape = checkShape(s.shape, `specs.${name}.shape`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(size) || size > max) {
      throw rangeError(
        `specs.${name}.shape`,
        `[${shape.join(', ')}] holds ${size} elements, above the limit of ${max} (${why})`,
      );
    }
    const init = s.init;
    if (typeof init === 'number' && !Number.isFinite(init)) {
      throw rangeError(`specs.${name}.init`, `must be finite, got ${init}`);
    }
    if (init !== undefined && typeof init === 'object') checkValues(init, size, `specs.${name}.init`, true);
    if (init !== undefined && !['number', 'object', 'function'].includes(typeof init)) {
      throw typeError(
        `specs.${name}.init`,
        `must be a number, an array of numbers or a function of the index, got ${describeType(init)}`,
      );
    }
    if (init === null)
      throw typeError(
        `specs.${name}.init`,
        'must be a number, an array of numbers or a function of the index, got null',
      );
    layout.push({ name, shape, offset, size, init });
    offset += size;
  });
  return layout;
}
