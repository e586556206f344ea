/**
 * The contract every backend (native addon, WASM, pure TS) implements. The public optimizer
 * classes talk only to this interface; `select.ts` picks the implementation.
 */

export type BackendName = 'native' | 'wasm' | 'js';

/**
 * A zero-initialised f32 buffer owned by a backend: on native and js a plain `Float32Array`; on
 * WASM a block of the instance's linear memory.
 */
export interface Buffer {
  readonly length: number;
  /**
   * A view of the data. On WASM the view is re-acquired when memory has grown (an old view's
   * `ArrayBuffer` is detached), so call `view()` again after anything that may allocate rather
   * than keeping a view across calls.
   */
  view(): Float32Array;
  /** Frees backend memory (WASM); later use throws. Idempotent. */
  dispose(): void;
  readonly disposed: boolean;
}

export interface BackendInfo {
  name: BackendName;
  /** Widest vector instruction set the kernels use: `avx2`, `sse2`, `simd128`, `none`. */
  simd: string;
  /** Threads a large step may use. */
  threads: number;
}

export interface Backend {
  readonly name: BackendName;
  info(): BackendInfo;
  /** A zero-filled buffer of `length` f32 elements. */
  alloc(length: number): Buffer;
  /**
   * One optimizer step over the whole arena: `kernel` is the core's wire id (0 SGD, 1 Adam,
   * 2 AdamW), `segments` the row table of crates/core/src/segment.rs, `state[k]` the kernel's
   * k-th state slot or `null` when unused. One call across the boundary per step.
   * Argument errors surface as `TypeError`/`RangeError` (see `fromCoreError`), and leave every
   * buffer untouched.
   */
  step(
    kernel: number,
    segments: Float64Array,
    params: Buffer,
    grads: Buffer,
    state: readonly [Buffer | null, Buffer | null, Buffer | null],
  ): void;
  /**
   * Optional: checks the buffers once and returns a step over them. Same results and errors as
   * `step`; a backend without it is bound by `bindStep` below.
   */
  bind?(params: Buffer, grads: Buffer, state: readonly [Buffer | null, Buffer | null, Buffer | null]): BoundStep;
}

/** `backend.bind(...)`, or a closure over `backend.step` for backends that have no `bind`. */
export function bindStep(
  backend: Backend,
  params: Buffer,
  grads: Buffer,
  state: readonly [Buffer | null, Buffer | null, Buffer | null],
): BoundStep {
  if (backend.bind) return backend.bind(params, grads, state);
  const slots = [...state] as [Buffer | null, Buffer | null, Buffer | null];
  return (kernel, segments) => backend.step(kernel, segments, params, grads, slots);
}

/**
 * `step` with its buffers fixed: what `Backend.bind` returns. Optimizers bind once (and again
 * only when a state slot is added), so per-step work is the segment table alone.
 */
export type BoundStep = (kernel: number, segments: Float64Array) => void;

/** Kernel wire ids, as in crates/core/src/registry.rs. */
export const KERNEL = { SGD: 0, Adam: 1, AdamW: 2 } as const;
/** Numbers per row of the segment table (crates/core/src/segment.rs). */
export const SEG_STRIDE = 10;
