/**
 * The threaded WebAssembly build (bindings/wasm-threads/: the core's rayon pool over atomics and
 * one shared memory, its threads Web Workers) and the choice between it and the single-threaded
 * build. ARCHITECTURE.md, "Threaded WASM", gives the reasons; in short:
 *
 * - It runs only where shared memory exists and the calling thread may block: a dedicated worker
 *   of a cross-origin isolated page. A parallel call hands work to the pool and waits on a latch
 *   (`memory.atomic.wait32`), which a page's main thread may not do. Everywhere else the
 *   single-threaded build runs, and `info().threading` says why.
 * - One instance, one memory and one pool serve every store of the context, instead of one
 *   instance per heap: a pool is a set of workers that start asynchronously, while `createHeap`
 *   is synchronous. So stores share the 4 GiB of one memory, a trap ends every threaded store of
 *   the context (later stores get the single-threaded build), and a store that is never disposed
 *   is freed by a `FinalizationRegistry`, i.e. only when the event loop turns.
 * - Results are the single-threaded build's, bit for bit: element loops and reductions split on
 *   fixed boundaries (crates/core/src/par.rs), and gemm splits a product's output, never its k sum.
 */
import { BackendError, fromCoreError, rangeError } from '../errors.js';
import type { DType } from '../spec.js';
import type { BackendInfo, Limits } from './types.js';
import { DTYPE_BYTES } from './types.js';
import { checkWasmSource, Instance, WasmBackend, WasmBuffer, WasmHeap } from './wasm.js';

/** The threaded module's exports beyond the single-threaded ones (crates/wasm/src/pool.rs). */
interface PoolExports {
  pool_start(threads: number): number;
}

/** A worker that has not said it is ready by then is taken as unable to start. */
const START_TIMEOUT_MS = 30_000;
const MAX_THREADS = 256;
const MAX_BLOCK_BYTES = 2 ** 31 - 8;
const MAX_HEAP_BYTES = 2 ** 32 - 2 ** 24;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Why the threaded build cannot run in this context, or `null` when it can. */
export function threadsBlocker(): string | null {
  if (typeof process !== 'undefined' && process.versions?.node) {
    return 'in Node the native addon is the threaded backend; WASM runs single-threaded there';
  }
  if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated !== true) {
    return (
      'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin ' +
      'and Cross-Origin-Embedder-Policy: require-corp)'
    );
  }
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this engine has no shared WebAssembly memory';
  }
  try {
    // Returns "not-equal" at once where the thread may block; throws on a page's main thread.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    return "this thread may not block (a page's main thread): run downhill in a dedicated Worker to use threads";
  }
  if (typeof Worker === 'undefined') return 'this context cannot start Web Workers';
  if ((globalThis.navigator?.hardwareConcurrency ?? 1) < 2) return 'navigator.hardwareConcurrency is 1';
  return null;
}

/**
 * Initial and maximum pages of the module's imported memory. The JS API does not expose an
 * import's limits, and a shared memory must be created with the declared maximum, so they are
 * read from the import section.
 */
export function memoryImportLimits(bytes: Uint8Array): { initial: number; maximum: number } {
  let p = 8; // magic and version
  const u32 = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      if (b === undefined) throw new Error('truncated module');
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return r;
    }
  };
  const skip = (n: number) => {
    p += n;
  };
  const limits = () => {
    const flags = u32();
    const initial = u32();
    const maximum = flags & 1 ? u32() : undefined;
    return { flags, initial, maximum };
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u32();
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    const count = u32();
    for (let i = 0; i < count; i++) {
      skip(u32()); // module name
      skip(u32()); // field name
      const kind = bytes[p++];
      if (kind === 0) u32();
      else if (kind === 1) {
        p++; // element type
        limits();
      } else if (kind === 2) {
        const l = limits();
        if (!(l.flags & 2) || l.maximum === undefined) throw new Error('the imported memory is not shared');
        return { initial: l.initial, maximum: l.maximum };
      } else if (kind === 3) skip(2);
      else throw new Error(`unknown import kind ${String(kind)}`);
    }
    break;
  }
  throw new Error('the module imports no memory (not a threaded build)');
}

/** A heap on the shared instance: also remembers its blocks, for the finalizer. */
class SharedHeap extends WasmHeap {
  /** Start of every live block of this heap (held by the finalizer, so it must not hold the heap). */
  readonly blocks = new Set<number>();

  constructor(
    backend: WasmThreadsBackend,
    inst: Instance,
    private readonly registry: FinalizationRegistry<Set<number>>,
  ) {
    super(backend, inst);
  }

  override alloc(dtype: DType, length: number, arg = 'length'): WasmBuffer {
    const b = super.alloc(dtype, length, arg) as WasmBuffer;
    if (b.ptr > 0) this.blocks.add(b.ptr);
    return b;
  }

  override release(b: WasmBuffer, ptr: number): void {
    this.blocks.delete(ptr);
    super.release(b, ptr);
  }

  override dispose(): void {
    this.registry.unregister(this);
    this.blocks.clear();
    super.dispose();
  }
}

/**
 * The WASM backend on the threaded build: one instance on a shared memory, with a rayon pool of
 * `poolThreads` Web Workers. `name` is `'wasm'`; `info().threads` is the pool's size.
 */
/**
 * What the backend keeps of a pool worker. Structural, so that the package's .d.ts files need no
 * DOM library in a Node project (the class is reached through the public exports).
 */
export interface PoolWorker {
  /** Receives a message the worker posts after start-up (only when its pool thread failed). */
  onmessage: ((ev: { data?: { error?: string } }) => unknown) | null;
  /** Ends the worker. */
  terminate(): void;
}

export class WasmThreadsBackend extends WasmBackend {
  readonly #shared: Instance;
  readonly #workers: PoolWorker[];
  readonly #fallback: WasmBackend | null;
  readonly #registry: FinalizationRegistry<Set<number>>;

  /** @internal use `loadWasmThreads` / `loadWasmThreadsFrom`. */
  constructor(
    module: WebAssembly.Module,
    shared: Instance,
    workers: PoolWorker[],
    /** Threads of the pool (Web Workers on the shared memory). */
    readonly poolThreads: number,
    fallback: WasmBackend | null,
  ) {
    super(module, shared);
    this.#shared = shared;
    this.#workers = workers;
    this.#fallback = fallback;
    // A forgotten store's blocks go back to the shared allocator when the store is collected.
    this.#registry = new FinalizationRegistry((blocks) => {
      if (shared.death !== null) return;
      for (const ptr of blocks) shared.exports.free(ptr);
    });
    this.threading =
      `threaded build: a pool of ${poolThreads} Web Workers; every store of this context ` +
      'shares one instance and its memory';
    for (const w of workers) {
      // After start-up a worker only speaks when its pool thread trapped (a bug in downhill).
      w.onmessage = (ev) => {
        shared.death ??= `a pool thread failed: ${ev.data?.error ?? 'unknown error'}`;
      };
    }
  }

  /** A heap on the shared instance; after a trap, one of the single-threaded build. */
  override createHeap(): WasmHeap {
    const death = this.#shared.death;
    if (death !== null) {
      this.#stopPool();
      if (this.#fallback === null) {
        throw new BackendError(
          'wasm',
          `the threaded instance trapped (${death}); load the backend again to get a new one`,
        );
      }
      return this.#fallback.createHeap();
    }
    const heap = new SharedHeap(this, this.#shared, this.#registry);
    this.#registry.register(heap, heap.blocks, heap);
    return heap;
  }

  /** Bytes in live blocks of the shared memory, over every store of this context (0 after a trap). */
  get liveBytes(): number {
    return this.#shared.death === null ? this.#shared.exports.live_bytes() : 0;
  }

  /** @internal a disposed heap has freed its blocks; the shared instance stays. */
  override recycle(): void {}

  #stopPool(): void {
    for (const w of this.#workers.splice(0)) w.terminate();
  }

  override limits(dtype: DType): Limits {
    return {
      bufferElements: Math.floor(MAX_BLOCK_BYTES / DTYPE_BYTES[dtype]),
      heapBytes: MAX_HEAP_BYTES,
      // Fallible allocation here too: what does not fit is a RangeError, never a trap.
      storeBytes: MAX_HEAP_BYTES,
      why: 'WebAssembly (threaded build): 2 GiB per buffer, 4 GiB for all stores of this context together',
    };
  }

  override info(): BackendInfo {
    const death = this.#shared.death;
    if (death !== null && this.#fallback !== null) {
      return {
        ...this.#fallback.info(),
        threading: `single-threaded build: the threaded instance trapped (${death})`,
      };
    }
    return super.info();
  }
}

/** Options of `loadWasmThreads` / `loadWasmThreadsFrom`. */
export interface WasmThreadsOptions {
  /** Threads of the pool (default `navigator.hardwareConcurrency`). */
  threads?: number;
  /** The backend that serves new stores after the threaded instance trapped (default none: an error). */
  fallback?: WasmBackend;
  /** The pool worker's script (default `wasm-threads-worker.js` beside this module). */
  workerUrl?: string | URL;
}

function newWorker(url: string | URL | undefined): Worker {
  // Written out, options and all, so bundlers see a static `new Worker(new URL(...,
  // import.meta.url), { type: 'module' })` and emit the script (Vite refuses non-static options).
  return url === undefined
    ? new Worker(new URL('./wasm-threads-worker.js', import.meta.url), { type: 'module' })
    : new Worker(url, { type: 'module' });
}

/**
 * Starts `threads` pool workers on `module` and `memory`; resolves once each has its instance
 * and is about to wait for a pool thread (`pool_worker`).
 */
async function startPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  threads: number,
  url: string | URL | undefined,
): Promise<Worker[]> {
  const workers: Worker[] = [];
  try {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < threads; i++) {
      const w = newWorker(url);
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`pool thread ${i} did not start within ${START_TIMEOUT_MS / 1000} s`)),
            START_TIMEOUT_MS,
          );
          w.onmessage = (ev: MessageEvent<{ ready?: boolean; error?: string }>) => {
            clearTimeout(timer);
            if (ev.data?.ready) resolve();
            else reject(new Error(`pool thread ${i}: ${ev.data?.error ?? 'unexpected message'}`));
          };
          w.onerror = (ev: ErrorEvent) => {
            clearTimeout(timer);
            ev.preventDefault();
            reject(new Error(`pool thread ${i} could not load its script (${ev.message || 'error event'})`));
          };
        }),
      );
      w.postMessage({ module, memory });
    }
    await Promise.all(ready);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
  return workers;
}

async function fetchBytes(wasm: string | URL | ArrayBuffer | ArrayBufferView): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof wasm === 'string' || wasm instanceof URL) {
    const res = await fetch(wasm);
    if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${String(wasm)}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  if (ArrayBuffer.isView(wasm)) return new Uint8Array(wasm.buffer as ArrayBuffer, wasm.byteOffset, wasm.byteLength);
  return new Uint8Array(wasm);
}

/**
 * Loads the threaded build from its `.wasm` (a URL or the bytes) and starts its pool. Throws
 * `BackendError` where the context cannot run it (see `threadsBlocker`) or the pool does not
 * start; `RangeError` for a bad `options.threads`.
 */
export async function loadWasmThreadsFrom(
  wasm: string | URL | ArrayBuffer | ArrayBufferView,
  options: WasmThreadsOptions = {},
): Promise<WasmThreadsBackend> {
  checkWasmSource(wasm, false);
  const threads = options.threads ?? globalThis.navigator?.hardwareConcurrency ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw rangeError('options.threads', `must be an integer in [1, ${MAX_THREADS}], got ${String(threads)}`);
  }
  const blocker = threadsBlocker();
  if (blocker !== null) throw new BackendError('wasm', `the threaded build cannot run here: ${blocker}`);
  let module: WebAssembly.Module;
  let memory: WebAssembly.Memory;
  try {
    const bytes = await fetchBytes(wasm);
    const { initial, maximum } = memoryImportLimits(bytes);
    module = await WebAssembly.compile(bytes);
    memory = new WebAssembly.Memory({ initial, maximum, shared: true });
  } catch (e) {
    throw new BackendError('wasm', `cannot compile the threaded module: ${errorText(e)}`, { cause: e });
  }
  let shared: Instance;
  try {
    // The first instance on the memory initialises it and keeps the linker's stack; wasm-bindgen's
    // start function gives every later one (the pool threads) a stack and thread-locals of its own.
    shared = new Instance(module, memory);
  } catch (e) {
    throw new BackendError('wasm', `cannot instantiate the threaded module: ${errorText(e)}`, { cause: e });
  }
  // The workers first: rayon's pool start returns only once each of its threads runs on one.
  let workers: Worker[];
  try {
    workers = await startPool(module, memory, threads, options.workerUrl);
  } catch (e) {
    throw new BackendError('wasm', `the threaded build's pool did not start: ${errorText(e)}`, { cause: e });
  }
  try {
    if ((shared.exports as unknown as PoolExports).pool_start(threads) !== 0) {
      throw fromCoreError('wasm', new Error(shared.lastError()));
    }
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
  const backend = new WasmThreadsBackend(
    module,
    shared,
    workers as unknown as PoolWorker[],
    threads,
    options.fallback ?? null,
  );
  // Read both now, while the instance is surely alive (they are cached).
  backend.info();
  backend.specsJson();
  return backend;
}

/** Loads the threaded build from the package's `bindings/wasm-threads/` (see `loadWasmThreadsFrom`). */
export function loadWasmThreads(options: WasmThreadsOptions = {}): Promise<WasmThreadsBackend> {
  return loadWasmThreadsFrom(new URL('../../bindings/wasm-threads/downhill_wasm_bg.wasm', import.meta.url), options);
}

/**
 * The WASM backend for this context: the threaded build where it can run (then `single` serves
 * new stores after a trap), else `single`; `info().threading` says which and why.
 */
export async function upgradeWasm(single: WasmBackend): Promise<WasmBackend> {
  const blocker = threadsBlocker();
  if (blocker !== null) {
    single.threading = `single-threaded build: ${blocker}`;
    return single;
  }
  try {
    return await loadWasmThreads({ fallback: single });
  } catch (e) {
    single.threading = `single-threaded build: ${errorText(e)}`;
    return single;
  }
}
