/**
 * The parameter arena: every tensor of a model is a named, shaped range of one flat f32 buffer,
 * with a gradient buffer of the same layout. Optimizers step the whole arena in one backend call.
 */
import { getBackend, type BackendChoice } from './backend/select.js';
import type { Backend, Buffer } from './backend/types.js';
import { BackendError, rangeError, typeError } from './errors.js';

/** Initial values: a constant, an array of `numel` numbers, or a function of the flat index. */
export type Init = number | ArrayLike<number> | ((index: number) => number);

export interface TensorSpec {
  shape: readonly number[];
  init?: Init;
}

/** `{ name: shape }`, `{ name: { shape, init } }`, or the same as `[name, spec]` pairs. */
export type ParamSpecs =
  Record<string, TensorSpec | readonly number[]> | ReadonlyArray<readonly [string, TensorSpec | readonly number[]]>;

/** A named tensor: a view into the arena. `data` and `grad` are re-acquired on every access. */
export class Tensor {
  constructor(
    private readonly store: ParamStore,
    readonly name: string,
    readonly shape: readonly number[],
    /** Position of element 0 in the arena. */
    readonly offset: number,
    /** Number of elements. */
    readonly size: number,
  ) {}
  /** The values (a live view; valid until the next call that may allocate WASM memory). */
  get data(): Float32Array {
    return this.store.data.subarray(this.offset, this.offset + this.size);
  }
  /** The gradient (a live view, same rule as `data`). */
  get grad(): Float32Array {
    return this.store.grads.subarray(this.offset, this.offset + this.size);
  }
}

function checkShape(shape: unknown, arg: string): number[] {
  if (!Array.isArray(shape)) throw typeError(arg, 'shape must be an array of non-negative integers');
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || (d as number) < 0) {
      throw rangeError(`${arg}[${i}]`, `must be a non-negative integer, got ${String(d)}`);
    }
  });
  return [...(shape as number[])];
}

/** Checks `values` is an array-like of `size` numbers (no copy). */
export function checkValues(values: unknown, size: number, arg: string): ArrayLike<number> {
  if (
    values === null ||
    typeof values !== 'object' ||
    typeof (values as ArrayLike<number>).length !== 'number' ||
    typeof values === 'string'
  ) {
    throw typeError(arg, 'must be an array or typed array of numbers');
  }
  const arr = values as ArrayLike<number>;
  if (arr.length !== size) throw rangeError(arg, `length ${arr.length} must equal the tensor size ${size}`);
  if (!ArrayBuffer.isView(arr)) {
    for (let i = 0; i < size; i++) {
      if (typeof arr[i] !== 'number') throw typeError(`${arg}[${i}]`, `must be a number, got ${typeof arr[i]}`);
    }
  }
  return arr;
}

export class ParamStore {
  readonly backend: Backend;
  readonly #tensors = new Map<string, Tensor>();
  readonly #params: Buffer;
  readonly #grads: Buffer;
  /** Total number of elements. */
  readonly size: number;

  /** Builds the arena on an already-loaded backend. See also {@link ParamStore.create}. */
  constructor(backend: Backend, specs: ParamSpecs) {
    if (specs === null || typeof specs !== 'object')
      throw typeError('specs', 'must be an object or array of [name, spec]');
    const entries: (readonly [string, TensorSpec | readonly number[]])[] = Array.isArray(specs)
      ? [...specs]
      : Object.entries(specs);
    let offset = 0;
    const layout: { name: string; shape: number[]; offset: number; size: number; init?: Init }[] = [];
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
      const [name, spec] = entry ?? [];
      if (typeof name !== 'string' || name === '') throw typeError(`specs[${i}]`, 'name must be a non-empty string');
      if (seen.has(name)) throw rangeError(`specs.${name}`, 'duplicate tensor name');
      seen.add(name);
      const isShape = Array.isArray(spec);
      const s = (isShape ? { shape: spec } : spec) as TensorSpec | undefined;
      if (!s || typeof s !== 'object') throw typeError(`specs.${name}`, 'must be a shape array or { shape, init }');
      const shape = checkShape(s.shape, `specs.${name}.shape`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (typeof s.init === 'number' && !Number.isFinite(s.init)) {
        throw rangeError(`specs.${name}.init`, `must be finite, got ${s.init}`);
      }
      if (s.init !== undefined && typeof s.init === 'object') checkValues(s.init, size, `specs.${name}.init`);
      if (s.init !== undefined && !['number', 'object', 'function'].includes(typeof s.init)) {
        throw typeError(`specs.${name}.init`, 'must be a number, an array of numbers or a function of the index');
      }
      layout.push({ name, shape, offset, size, init: s.init });
      offset += size;
    });
    this.backend = backend;
    this.size = offset;
    this.#params = backend.alloc(offset);
    this.#grads = backend.alloc(offset);
    const data = this.#params.view();
    for (const t of layout) {
      this.#tensors.set(t.name, new Tensor(this, t.name, t.shape, t.offset, t.size));
      const init = t.init;
      if (typeof init === 'number') data.fill(init, t.offset, t.offset + t.size);
      else if (typeof init === 'function') for (let i = 0; i < t.size; i++) data[t.offset + i] = init(i);
      else if (init) data.set(init, t.offset);
    }
  }

  /** Loads the backend (`'auto'` by default; see `selectBackend`) and builds the arena. */
  static async create(specs: ParamSpecs, options: { backend?: BackendChoice } = {}): Promise<ParamStore> {
    return new ParamStore(await getBackend(options.backend), specs);
  }

  /** Tensor names in arena order. */
  get names(): string[] {
    return [...this.#tensors.keys()];
  }
  /** The whole parameter arena (a live view). */
  get data(): Float32Array {
    return this.#params.view();
  }
  /** The whole gradient arena (a live view). */
  get grads(): Float32Array {
    return this.#grads.view();
  }
  /** @internal the backend buffers, for optimizers. */
  get buffers(): { params: Buffer; grads: Buffer } {
    return { params: this.#params, grads: this.#grads };
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }
  /** The tensor called `name`; throws a RangeError naming `arg` when there is none. */
  tensor(name: string, arg = 'name'): Tensor {
    const t = this.#tensors.get(name);
    if (!t) throw rangeError(arg, `unknown parameter ${JSON.stringify(name)}; known: ${this.names.join(', ')}`);
    return t;
  }
  /** A copy of a tensor's values. */
  get(name: string): Float32Array {
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
    if (!names) {
      this.grads.fill(0);
      return;
    }
    const ts = names.map((n, i) => this.tensor(n, `names[${i}]`));
    const g = this.grads;
    for (const t of ts) g.fill(0, t.offset, t.offset + t.size);
  }
  get disposed(): boolean {
    return this.#params.disposed;
  }
  /** Frees the arena (WASM memory); later use throws. */
  dispose(): void {
    this.#params.dispose();
    this.#grads.dispose();
  }
  /** @internal throws when disposed. */
  assertLive(): void {
    if (this.#params.disposed) throw new BackendError(this.backend.name, 'ParamStore used after dispose()');
  }
}
