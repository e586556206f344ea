/**
 * The WebAssembly backend: the Rust core compiled to wasm32 + simd128 (crates/wasm, built by
 * wasm-pack into bindings/wasm/). Every export of the module takes and returns numbers, so this
 * file instantiates it directly, without wasm-bindgen's single-instance glue.
 *
 * One instance per heap. A `ParamStore` (and everything that steps it: optimizer state, scratch,
 * training buffers) lives in one heap, i.e. one instance with its own linear memory. So:
 * - one store running out of memory (allocation in the core is fallible: `alloc` returns 0, a
 *   `RangeError` here) or trapping (a bug) cannot touch any other store;
 * - a store that is never disposed is freed by the garbage collector as a whole (its instance and
 *   memory are ordinary GC objects), even inside a synchronous loop, with no finalizer involved;
 * - a trapped instance is dropped at once, and its memory is released with it;
 * - `dispose()` frees a heap's buffers and returns a small, healthy instance to a pool, so churn
 *   with `dispose()` does not pay for instantiation.
 * Buffers are blocks of the instance's memory; `view()` re-makes its typed array when the memory
 * has grown (growth detaches the old `ArrayBuffer`).
 *
 * The threaded build (wasm-threads.ts) reuses these classes with one shared instance for every
 * heap of a context: see ARCHITECTURE.md, "Threaded WASM".
 */
import { BackendError, fromCoreError, rangeError, typeError } from '../errors.js';
import { describeType } from '../validate.js';
import type { DType } from '../spec.js';
import { checkDType, checkLength, checkRun } from './heap.js';
import { importsFor, readText } from './wasm-imports.js';
import {
  DTYPE_BYTES,
  DTYPE_CODE,
  type Backend,
  type BackendInfo,
  type Buffer,
  type FloatArray,
  type Heap,
  type Limits,
} from './types.js';

declare global {
  // Empty or identical declarations that merge with the TypeScript libraries' own. They let the
  // package's .d.ts files compile in projects without `lib: ["dom"]` (Node) or without
  // `esnext.disposable` (browsers; `Symbol.dispose` is declared as @types/node declares it), as
  // @types/node does for other web types; there the two WebAssembly types stay opaque.
  namespace WebAssembly {
    interface Module {}
    interface Memory {}
  }
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** The module's exports (crates/wasm/src/lib.rs). */
interface Exports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): number;
  live_bytes(): number;
  call(op: number, dtype: number, argsPtr: number, nargs: number, ...ptrLen: number[]): number;
  error_ptr(): number;
  error_len(): number;
  specs(): number;
  info(): number;
  test_trap(): void;
  __wbindgen_start?: () => void;
}

/** Largest block: a Rust allocation on wasm32 holds at most `isize::MAX` bytes. */
const MAX_BLOCK_BYTES = 2 ** 31 - 8;
/** A wasm32 memory holds 4 GiB; a little goes to the stack and the allocator. */
const MAX_HEAP_BYTES = 2 ** 32 - 2 ** 24;
/** Instances whose memory grew beyond this are not pooled: their memory is returned to the system. */
const POOL_MAX_BYTES = 64 * 2 ** 20;
const POOL_SIZE = 4;

/** One instantiation of the module. */
export class Instance {
  readonly exports: Exports;
  argsPtr = 0;
  argsCap = 0;
  /** Set when the instance trapped: every heap on it is dead (the threaded build shares one). */
  death: string | null = null;

  /** `memory`: the shared memory the threaded build imports. */
  constructor(module: WebAssembly.Module, memory?: WebAssembly.Memory) {
    const holder: { exports: Exports | null } = { exports: null };
    const instance = new WebAssembly.Instance(module, importsFor(module, holder, memory));
    // The threaded build imports its memory instead of exporting it.
    this.exports = (memory ? { ...instance.exports, memory } : instance.exports) as unknown as Exports;
    holder.exports = this.exports;
    this.exports.__wbindgen_start?.();
  }

  text(packed: number): string {
    const ptr = Math.floor(packed / 2 ** 32);
    const len = packed % 2 ** 32;
    return readText(this.exports.memory, ptr, len);
  }

  lastError(): string {
    const e = this.exports;
    return readText(e.memory, e.error_ptr() >>> 0, e.error_len() >>> 0);
  }
}

function isTrap(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError || (e instanceof Error && e.constructor?.name === 'RuntimeError');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class WasmBuffer implements Buffer {
  #ptr: number;
  #cache: FloatArray | null = null;
  #cacheBuffer: ArrayBufferLike | null = null;

  constructor(
    readonly heap: WasmHeap,
    readonly dtype: DType,
    readonly length: number,
    ptr: number,
  ) {
    this.#ptr = ptr;
  }

  get ptr(): number {
    return this.#ptr;
  }
  get bytes(): number {
    return this.length * DTYPE_BYTES[this.dtype];
  }
  get disposed(): boolean {
    return this.#ptr < 0 || this.heap.disposed;
  }

  view(): FloatArray {
    const inst = this.heap.live('buffer');
    if (this.#ptr < 0) throw new BackendError('wasm', 'buffer used after dispose()');
    const buf = inst.exports.memory.buffer;
    if (this.#cache === null || this.#cacheBuffer !== buf) {
      this.#cache =
        this.dtype === 'float32'
          ? new Float32Array(buf, this.#ptr, this.length)
          : new Float64Array(buf, this.#ptr, this.length);
      this.#cacheBuffer = buf;
    }
    return this.#cache;
  }

  /**
   * @internal the heap's instance trapped: drop the cached view, which would otherwise keep the
   * dead instance's whole memory alive for as long as this buffer object lives.
   */
  forget(): void {
    this.#cache = null;
    this.#cacheBuffer = null;
  }

  /** Idempotent. On a dead heap it only forgets the block (the memory is gone already). */
  dispose(): void {
    if (this.#ptr < 0) return;
    const ptr = this.#ptr;
    this.#ptr = -1;
    this.#cache = null;
    this.#cacheBuffer = null;
    this.heap.release(this, ptr);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A heap: one instance of the module. */
export class WasmHeap implements Heap {
  #inst: Instance | null;
  #death: string | null = null;
  #disposed = false;
  readonly #buffers = new Set<WasmBuffer>();

  /** @internal heaps come from `WasmBackend.createHeap()`. */
  constructor(
    /** The backend whose module this heap instantiates. */
    readonly backend: WasmBackend,
    inst: Instance,
  ) {
    this.#inst = inst;
  }

  get disposed(): boolean {
    return this.#disposed || this.#death !== null || Boolean(this.#inst?.death);
  }

  /** Why the heap is dead when its instance trapped (null otherwise). */
  get failure(): string | null {
    return this.#death;
  }

  /** @internal the live instance, or a `BackendError` saying why there is none. */
  live(what: string): Instance {
    if (this.#death === null && this.#inst?.death) this.#trapped('another store', this.#inst.death);
    if (this.#death !== null) {
      throw new BackendError(
        'wasm',
        `${what}: its WebAssembly instance trapped (${this.#death}); the store's buffers are lost. ` +
          'Create a new store and restore parameters and optimizer state from a checkpoint.',
      );
    }
    if (this.#disposed || this.#inst === null) throw new BackendError('wasm', `${what} used after dispose()`);
    return this.#inst;
  }

  /** Kills the heap after a trap: its instance (and memory) is dropped at once. */
  #trapped(what: string, e: unknown): BackendError {
    this.#death = `${what}: ${errorText(e)}`;
    if (this.#inst) this.#inst.death ??= this.#death;
    this.#inst = null;
    for (const b of this.#buffers) b.forget();
    this.#buffers.clear();
    return new BackendError(
      'wasm',
      `the store's WebAssembly instance trapped in ${what} (${errorText(e)}); its buffers are lost. ` +
        'Other stores are unaffected. A trap is a bug in downhill: please report it.',
      { cause: e },
    );
  }

  alloc(dtype: DType, length: number, arg = 'length'): Buffer {
    const inst = this.live('heap');
    const dt = checkDType(dtype);
    const size = DTYPE_BYTES[dt];
    const max = Math.floor(MAX_BLOCK_BYTES / size);
    const n = checkLength(length, arg, max, 'the largest WebAssembly block, 2 GiB');
    if (n === 0) return this.#track(new WasmBuffer(this, dt, 0, 0));
    let ptr: number;
    try {
      // Raw exports return i32: a block above 2 GiB comes back negative unless read as unsigned.
      ptr = inst.exports.alloc(n * size) >>> 0;
    } catch (e) {
      if (isTrap(e)) throw this.#trapped(`alloc(${n})`, e);
      throw e;
    }
    if (ptr === 0) {
      const used = inst.exports.live_bytes();
      throw rangeError(
        arg,
        `${n} ${dt} elements (${((n * size) / 2 ** 20).toFixed(1)} MiB) do not fit in this store's WebAssembly ` +
          `memory (at most 4 GiB per store; ${(used / 2 ** 20).toFixed(1)} MiB already in use)`,
      );
    }
    return this.#track(new WasmBuffer(this, dt, n, ptr));
  }

  #track(b: WasmBuffer): WasmBuffer {
    this.#buffers.add(b);
    return b;
  }

  /** @internal frees a buffer's block. */
  release(b: WasmBuffer, ptr: number): void {
    this.#buffers.delete(b);
    // Never into a trapped instance: it may have died holding the allocator's lock.
    if (ptr === 0 || this.#inst === null || this.#inst.death !== null || this.#disposed) return;
    this.#inst.exports.free(ptr);
  }

  run(op: number, dtype: DType, args: Float64Array, buffers: readonly (Buffer | null)[]): void {
    const inst = this.live('heap');
    const bufs = checkRun(this, op, dtype, args, buffers, (b): b is WasmBuffer => b instanceof WasmBuffer);
    const e = inst.exports;
    const bytes = args.length * 8;
    try {
      if (bytes > inst.argsCap) {
        if (inst.argsPtr !== 0) e.free(inst.argsPtr);
        const cap = Math.max(256, bytes * 2);
        inst.argsPtr = e.alloc(cap) >>> 0;
        inst.argsCap = inst.argsPtr === 0 ? 0 : cap;
        if (inst.argsPtr === 0)
          throw rangeError('args', `${args.length} numbers do not fit in this store's WebAssembly memory`);
      }
      new Float64Array(e.memory.buffer, inst.argsPtr, args.length).set(args);
      const pl: number[] = [];
      for (const b of bufs) pl.push(b ? b.ptr : 0, b ? b.bytes : 0);
      const status = e.call(op, DTYPE_CODE[dtype], inst.argsPtr, args.length, ...pl) >>> 0;
      if (status !== 0) throw fromCoreError('wasm', new Error(inst.lastError()));
      args.set(new Float64Array(e.memory.buffer, inst.argsPtr, args.length));
    } catch (err) {
      if (isTrap(err)) throw this.#trapped(`op ${op}`, err);
      throw err;
    }
  }

  /** Panics inside this heap's instance on purpose (tests of trap recovery). Always throws. */
  testTrap(): never {
    const inst = this.live('heap');
    try {
      inst.exports.test_trap();
    } catch (e) {
      if (isTrap(e)) throw this.#trapped('test_trap', e);
      throw new BackendError('wasm', errorText(e), { cause: e });
    }
    throw new BackendError('wasm', 'test_trap returned without trapping');
  }

  /** Bytes of this heap's linear memory (0 once dead or disposed). */
  get memoryBytes(): number {
    return this.#inst?.exports.memory.buffer.byteLength ?? 0;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const inst = this.#inst;
    this.#inst = null;
    if (inst === null) return;
    // Never free into a trapped instance: the threaded build's shared one may have died holding
    // the allocator's lock.
    const dead = inst.death !== null;
    for (const b of this.#buffers) {
      if (!dead && b.ptr > 0) inst.exports.free(b.ptr);
      b.forget();
    }
    this.#buffers.clear();
    if (!dead) this.backend.recycle(inst);
  }

  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The WASM backend over one compiled module. */
export class WasmBackend implements Backend {
  /** Always `'wasm'`. */
  readonly name = 'wasm' as const;
  readonly #pool: Instance[] = [];
  #info: BackendInfo | null = null;
  #specs: string | null = null;
  /** Which build runs and why (`info().threading`): set by wasm-threads.ts. */
  threading: string | null = null;

  /** @internal use `loadWasm()` / `loadWasmFrom()`. */
  constructor(
    /** The compiled module; every heap is a fresh instance of it. */
    readonly module: WebAssembly.Module,
    /** An instance made already (the threaded build's shared one). */
    first?: Instance,
  ) {
    // Instantiate once now, so a module that cannot run here fails at load time.
    this.#pool.push(first ?? new Instance(module));
  }

  createHeap(): WasmHeap {
    let inst = this.#pool.pop();
    if (!inst) {
      try {
        inst = new Instance(this.module);
      } catch (e) {
        // V8 reserves address space per memory; with many live stores it can run out.
        throw new BackendError(
          'wasm',
          `cannot create a WebAssembly instance for a new store (${errorText(e)}); dispose() stores you no longer use`,
          { cause: e },
        );
      }
    }
    return new WasmHeap(this, inst);
  }

  /** @internal takes back a disposed heap's instance if it is small and holds nothing. */
  recycle(inst: Instance): void {
    try {
      const e = inst.exports;
      const argsBytes = inst.argsPtr === 0 ? 0 : inst.argsCap;
      if (
        this.#pool.length < POOL_SIZE &&
        e.memory.buffer.byteLength <= POOL_MAX_BYTES &&
        e.live_bytes() === argsBytes
      ) {
        this.#pool.push(inst);
      }
    } catch {
      // a trapped instance is not reused
    }
  }

  #any(): Instance {
    return this.#pool[0] ?? this.#pool[this.#pool.push(new Instance(this.module)) - 1];
  }

  limits(dtype: DType): Limits {
    return {
      bufferElements: Math.floor(MAX_BLOCK_BYTES / DTYPE_BYTES[dtype]),
      heapBytes: MAX_HEAP_BYTES,
      // Allocation in the instance is fallible, so a store may fill its memory: the optimizer
      // state that does not fit is a RangeError at the first step, never a trap.
      storeBytes: MAX_HEAP_BYTES,
      why: 'WebAssembly: 2 GiB per buffer, 4 GiB per store',
    };
  }

  info(): BackendInfo {
    if (this.#info === null) {
      const inst = this.#any();
      const raw = JSON.parse(inst.text(inst.exports.info())) as { simd: string; threads: number };
      this.#info = { name: 'wasm', simd: raw.simd, threads: raw.threads };
    }
    return this.threading === null ? { ...this.#info } : { ...this.#info, threading: this.threading };
  }

  specsJson(): string {
    if (this.#specs === null) {
      const inst = this.#any();
      this.#specs = inst.text(inst.exports.specs());
    }
    return this.#specs;
  }
}

/** Panics inside a heap's instance (tests of trap recovery); always throws a `BackendError`. */
export function wasmTestTrap(heap: Heap): never {
  if (!(heap instanceof WasmHeap)) throw new TypeError('heap: must be a wasm heap');
  return heap.testTrap();
}

/**
 * Loads the backend from the package's `bindings/wasm/` (read from disk in Node, fetched
 * elsewhere). Throws `BackendError` when the bindings are missing (run `npm run build:wasm`).
 */
export async function loadWasm(): Promise<WasmBackend> {
  const wasmUrl = new URL('../../bindings/wasm/downhill_wasm_bg.wasm', import.meta.url);
  // Outside Node (a browser importing the package as ES modules) the file is fetched instead.
  if (typeof process === 'undefined' || !process.versions?.node) return loadWasmFrom(wasmUrl);
  let bytes: Uint8Array;
  try {
    const fs = await import('node:fs/promises');
    bytes = await fs.readFile(wasmUrl);
  } catch (e) {
    throw new BackendError('wasm', `cannot read ${wasmUrl.href} (build it with npm run build:wasm): ${errorText(e)}`, {
      cause: e,
    });
  }
  return loadWasmFrom(bytes);
}

/**
 * @internal Throws a `TypeError` naming `wasm` unless it is a `.wasm` source the loaders take:
 * the file's URL (a string or a `URL`), its bytes, or (where `module`) a compiled module.
 */
export function checkWasmSource(wasm: unknown, module: boolean): void {
  const ok =
    typeof wasm === 'string' ||
    wasm instanceof URL ||
    wasm instanceof ArrayBuffer ||
    ArrayBuffer.isView(wasm) ||
    (module && wasm instanceof WebAssembly.Module);
  if (!ok) {
    const what = `the .wasm file's URL (a string or a URL), its bytes (an ArrayBuffer or a view)${module ? ' or a WebAssembly.Module' : ''}`;
    throw typeError('wasm', `must be ${what}, got ${describeType(wasm)}`);
  }
}

/**
 * Loads the backend from an explicit module (browsers, bundlers): the `.wasm` file's URL, its
 * bytes, or an already compiled module.
 */
export async function loadWasmFrom(
  wasm: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module,
): Promise<WasmBackend> {
  checkWasmSource(wasm, true);
  let module: WebAssembly.Module;
  try {
    if (wasm instanceof WebAssembly.Module) {
      module = wasm;
    } else if (typeof wasm === 'string' || wasm instanceof URL) {
      const res = await fetch(wasm);
      if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${String(wasm)}`);
      module = await WebAssembly.compile(await res.arrayBuffer());
    } else {
      // A view over a SharedArrayBuffer is fine too: compile copies the bytes.
      module = await WebAssembly.compile(wasm as BufferSource);
    }
  } catch (e) {
    throw new BackendError('wasm', `cannot compile the module: ${errorText(e)}`, { cause: e });
  }
  try {
    return new WasmBackend(module);
  } catch (e) {
    throw new BackendError('wasm', `cannot instantiate the module: ${errorText(e)}`, { cause: e });
  }
}
