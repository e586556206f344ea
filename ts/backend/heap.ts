/**
 * What every backend's heap checks before it calls its core, so the raw `Heap` interface is as
 * strict as the public classes: the op code, the element type, the args array, and that every
 * buffer is a live buffer of this very heap, of the call's element type, distinct from the
 * others. Also the heap the native and js backends share: buffers are plain typed arrays.
 */
import { BackendError, rangeError, typeError } from '../errors.js';
import { describeType, type DType } from '../spec.js';
import { BUFFERS } from '../generated/specs.js';
import { arrayFor, DTYPE_BYTES, type Backend, type Buffer, type FloatArray, type Heap, type Limits } from './types.js';

export function checkDType(dtype: unknown, arg = 'dtype'): DType {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw (typeof dtype === 'string' ? rangeError : typeError)(
      arg,
      `must be "float32" or "float64", got ${describeType(dtype)}`,
    );
  }
  return dtype;
}

/** Checks an allocation request: `length` an integer in `[0, max]` (a `RangeError` naming `arg` and the limit). */
export function checkLength(length: unknown, arg: string, max: number, why: string): number {
  if (typeof length !== 'number') throw typeError(arg, `must be a number of elements, got ${describeType(length)}`);
  if (!Number.isInteger(length) || length < 0) {
    throw rangeError(arg, `must be a non-negative integer number of elements, got ${String(length)}`);
  }
  if (length > max) throw rangeError(arg, `${length} elements exceed the limit of ${max} (${why})`);
  return length;
}

/**
 * Checks a `run` call and returns its buffers, typed as `B`, in `out` (`BUFFERS` entries, null
 * where none is given): a heap passes an array it reuses, so a step allocates nothing here.
 */
export function checkRun<B extends Buffer>(
  heap: Heap,
  op: unknown,
  dtype: unknown,
  args: unknown,
  buffers: unknown,
  own: (b: unknown) => b is B,
  out: (B | null)[] = new Array<B | null>(BUFFERS),
): (B | null)[] {
  if (heap.disposed) throw new BackendError(heap.backend.name, 'heap used after dispose()');
  if (typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 0xffffffff) {
    throw typeError('op', `must be an op code (a non-negative integer), got ${describeType(op)}`);
  }
  const dt = checkDType(dtype);
  if (!(args instanceof Float64Array)) throw typeError('args', `must be a Float64Array, got ${describeType(args)}`);
  if (!Array.isArray(buffers))
    throw typeError('buffers', `must be an array of buffers or nulls, got ${describeType(buffers)}`);
  if (buffers.length > BUFFERS) throw rangeError('buffers', `holds ${buffers.length} entries; at most ${BUFFERS}`);
  // A plain loop (no closure, no template strings unless it throws): this runs on every step.
  out.fill(null);
  for (let i = 0; i < buffers.length; i++) {
    const b: unknown = buffers[i];
    if (b === null || b === undefined) continue;
    if (!own(b))
      throw typeError(
        `buffers[${i}]`,
        `must be a buffer allocated by this ${heap.backend.name} heap, got ${describeType(b)}`,
      );
    if (b.heap !== heap)
      throw typeError(`buffers[${i}]`, 'belongs to another heap (buffers of one call must share a heap)');
    if (b.disposed) throw typeError(`buffers[${i}]`, 'buffer has been disposed');
    if (b.dtype !== dt) throw typeError(`buffers[${i}]`, `holds ${b.dtype} elements, the call is ${dt}`);
    for (let j = 0; j < i; j++) {
      if (out[j] === b) throw rangeError(`buffers[${i}]`, `must be a different buffer from buffers[${j}]`);
    }
    out[i] = b;
  }
  return out;
}

/** Largest typed array V8 makes (elements). */
const MAX_TYPED = 2 ** 32;

/**
 * Bytes of memory this process may use: the machine's memory, or the container's limit when it
 * is lower (`process.constrainedMemory`); Infinity where that is unknown (browsers).
 */
let physical: number | null = null;
export async function loadPhysicalMemory(): Promise<void> {
  if (physical !== null) return;
  physical = Infinity;
  if (typeof process !== 'undefined' && process.versions?.node) {
    try {
      physical = (await import('node:os')).totalmem();
      const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
      if (typeof limit === 'number' && limit > 0 && limit < physical) physical = limit;
    } catch {
      // not Node after all
    }
  }
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * Limits of the typed-array backends (native, js). A heap (a store with its optimizer state) may
 * take half of this machine's memory, a store's parameters and gradients a quarter of it (an
 * Adam step then needs the other quarter for its two moments), and one buffer what V8 allows.
 * Past these a request is a `RangeError` up front, instead of an out-of-memory kill later.
 */
export function arrayLimits(dtype: DType): Limits {
  const mem = physical ?? Infinity;
  const heapBytes = mem / 2;
  const byMem = Math.floor(heapBytes / DTYPE_BYTES[dtype]);
  const bufferElements = Math.min(MAX_TYPED, byMem);
  const why =
    mem === Infinity
      ? 'the largest typed array'
      : `${gib(mem)} of memory on this machine: half of it per store with its optimizer state, ` +
        `a quarter for parameters and gradients; ${MAX_TYPED} elements per typed array`;
  return { bufferElements, heapBytes, storeBytes: mem / 4, why };
}

const isArrayHeapBuffer = (b: unknown): b is ArrayHeapBuffer => b instanceof ArrayHeapBuffer;

/** A buffer that is a plain JS typed array (the js and native backends). */
export class ArrayHeapBuffer implements Buffer {
  #data: FloatArray | null;
  constructor(
    readonly heap: ArrayHeap,
    readonly dtype: DType,
    readonly length: number,
    data: FloatArray,
  ) {
    this.#data = data;
  }
  get disposed(): boolean {
    return this.#data === null || this.heap.disposed;
  }
  view(): FloatArray {
    if (this.#data === null || this.heap.disposed) {
      throw new BackendError(this.heap.backend.name, 'buffer used after dispose()');
    }
    return this.#data;
  }
  dispose(): void {
    if (this.#data === null) return;
    this.#data = null;
    if (!this.heap.disposed) this.heap.released(this.length * DTYPE_BYTES[this.dtype]);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A heap of typed arrays; `call` is the backend's core, `make` makes a zeroed array (the native
 * backend's comes from the addon, aligned to a cache line).
 */
export class ArrayHeap implements Heap {
  #disposed = false;
  #bytes = 0;
  constructor(
    readonly backend: Backend,
    private readonly call: (op: number, dtype: DType, args: Float64Array, views: (FloatArray | null)[]) => void,
    private readonly make: (dtype: DType, length: number) => FloatArray = arrayFor,
  ) {}
  get disposed(): boolean {
    return this.#disposed;
  }
  alloc(dtype: DType, length: number, arg = 'length'): Buffer {
    if (this.#disposed) throw new BackendError(this.backend.name, 'heap used after dispose()');
    const dt = checkDType(dtype);
    const limits = arrayLimits(dt);
    const n = checkLength(length, arg, limits.bufferElements, limits.why);
    const bytes = n * DTYPE_BYTES[dt];
    if (this.#bytes + bytes > limits.heapBytes) {
      throw rangeError(
        arg,
        `${n} ${dt} elements (${gib(bytes)}) would bring this store's memory to ${gib(this.#bytes + bytes)}, ` +
          `above the ${gib(limits.heapBytes)} a store may use (${limits.why})`,
      );
    }
    const b = new ArrayHeapBuffer(this, dt, n, this.make(dt, n));
    this.#bytes += bytes;
    return b;
  }

  /** Bytes of the live buffers. */
  get liveBytes(): number {
    return this.#bytes;
  }

  /** @internal a buffer was disposed. */
  released(bytes: number): void {
    this.#bytes -= bytes;
  }
  // The checked buffers and their views, reused from call to call (a step allocates nothing);
  // a call made while another runs (none does today) gets arrays of its own.
  readonly #bufs: (ArrayHeapBuffer | null)[] = new Array<ArrayHeapBuffer | null>(BUFFERS).fill(null);
  readonly #views: (FloatArray | null)[] = new Array<FloatArray | null>(BUFFERS).fill(null);
  #running = false;
  run(op: number, dtype: DType, args: Float64Array, buffers: readonly (Buffer | null)[]): void {
    const nested = this.#running;
    try {
      const bufs = checkRun(this, op, dtype, args, buffers, isArrayHeapBuffer, nested ? undefined : this.#bufs);
      const views = nested ? new Array<FloatArray | null>(BUFFERS) : this.#views;
      for (let i = 0; i < BUFFERS; i++) views[i] = bufs[i]?.view() ?? null;
      this.#running = true;
      this.call(op, dtype, args, views);
    } finally {
      this.#running = nested;
      // Hold no buffer past the call (a disposed one's memory must be free to go).
      if (!nested) {
        this.#bufs.fill(null);
        this.#views.fill(null);
      }
    }
  }
  dispose(): void {
    this.#disposed = true;
    this.#bytes = 0;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
