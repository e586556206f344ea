/**
 * The contract every backend (native addon, WASM, pure TS) implements. The public classes talk
 * only to this interface; `select.ts` picks the implementation.
 *
 * Memory is organised in heaps: a `Heap` is a set of buffers that one call may use together.
 * On WASM a heap is one instance of the module with its own linear memory, so one parameter
 * store's out-of-memory or trap cannot reach another store, and a store that is forgotten without
 * `dispose()` is freed by the garbage collector as a whole. On native and js a heap is a tag on
 * plain typed arrays.
 */
import type { DType } from '../spec.js';

export type { DType } from '../spec.js';
/**
 * The three backends: the Rust core as a Node addon, the core compiled to WebAssembly, and its
 * pure-TypeScript mirror.
 */
export type BackendName = 'native' | 'wasm' | 'js';
/** The element arrays of the two element types (`float32`, `float64`). */
export type FloatArray = Float32Array | Float64Array;

/** A zero-initialised buffer of `dtype` elements owned by a heap. */
export interface Buffer {
  /** The heap the buffer belongs to (a call may only combine buffers of one heap). */
  readonly heap: Heap;
  /** The element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly length: number;
  /**
   * A view of the data. On WASM the view is re-made when memory has grown (an old view's
   * `ArrayBuffer` is detached), so call `view()` again after anything that may allocate rather
   * than keeping a view across calls.
   */
  view(): FloatArray;
  /** Frees the memory; later use throws. Idempotent. */
  dispose(): void;
  /** Whether `dispose()` was called (or the heap is gone). */
  readonly disposed: boolean;
  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}

/**
 * A set of buffers one call may use together: on WASM one instance of the module with its own
 * memory, on native and js a tag on typed arrays. Every `ParamStore` owns one.
 */
export interface Heap {
  /** The backend the heap belongs to. */
  readonly backend: Backend;
  /**
   * A zero-filled buffer of `length` elements. `arg` names the request in errors (a
   * `RangeError` when it cannot fit, naming `arg` and the limit).
   */
  alloc(dtype: DType, length: number, arg?: string): Buffer;
  /**
   * The core's one entry (crates/core/src/ops.rs): op `op` over `buffers` (at most 6; `null`
   * for none) with `args` (inputs, then outputs the op writes back). All buffers must belong to
   * this heap and be distinct. Argument errors are `TypeError`/`RangeError` and leave every
   * buffer untouched.
   */
  run(op: number, dtype: DType, args: Float64Array, buffers: readonly (Buffer | null)[]): void;
  /** Frees every buffer of the heap (on WASM, the instance's memory). Idempotent. */
  dispose(): void;
  /** Whether the heap was disposed, or (WASM) its instance trapped. */
  readonly disposed: boolean;
  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}

/** What a backend reports about itself (`downhill info` prints it). */
export interface BackendInfo {
  /** Which backend. */
  name: BackendName;
  /** Widest vector instruction set the kernels use: `avx2`, `sse2`, `simd128`, `none`. */
  simd: string;
  /** Threads a large step may use. */
  threads: number;
  /** wasm: which build runs (threaded or single-threaded) and why (ARCHITECTURE.md, "Threaded WASM"). */
  threading?: string;
}

/** How much one buffer and one heap may hold on a backend, with the reason for each limit. */
export interface Limits {
  /** Most elements of one buffer. */
  bufferElements: number;
  /** Most bytes of one heap (all buffers of one store together: parameters, gradients, optimizer state). */
  heapBytes: number;
  /**
   * Most bytes a store's parameters and gradients may take when it is created, so that the
   * optimizer state that comes with the first step still fits in the heap.
   */
  storeBytes: number;
  /** Why the limits are what they are (for error messages). */
  why: string;
}

/** A loaded backend: what `selectBackend()` returns and a `ParamStore` is built on. */
export interface Backend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** SIMD level and threads. */
  info(): BackendInfo;
  /** Largest buffer and heap for an element type. */
  limits(dtype: DType): Limits;
  /** The optimizer specs this backend's core registers, as JSON (the js backend: the generated ones). */
  specsJson(): string;
  /** A new heap. */
  createHeap(): Heap;
}

/** Element size in bytes. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, float64: 8 };
/** Wire code of an element type. */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1 };

export function arrayFor(dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}
