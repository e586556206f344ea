/** The pure-TypeScript backend: buffers are `Float32Array`s, kernels are the mirror in ts/kernels. */
import { BackendError, rangeError, typeError } from '../errors.js';
import { step } from '../kernels/index.js';
import type { Backend, Buffer } from './types.js';

const EMPTY = new Float32Array(0);

/** A buffer that is a plain JS `Float32Array` (shared by the js and native backends). */
export class HeapBuffer implements Buffer {
  #data: Float32Array | null;
  constructor(
    readonly backend: string,
    length: number,
  ) {
    this.#data = new Float32Array(length);
  }
  get length(): number {
    return this.#data?.length ?? 0;
  }
  get disposed(): boolean {
    return this.#data === null;
  }
  view(): Float32Array {
    if (!this.#data) throw new BackendError(this.backend, 'buffer used after dispose()');
    return this.#data;
  }
  dispose(): void {
    this.#data = null;
  }
}

/**
 * Checks a kernel id is a u32 before a binding sees it (the bindings would coerce it silently;
 * a u32 id truncates). Unknown ids of the right type are the core's to reject.
 */
export function checkKernel(kernel: number): void {
  if (!Number.isInteger(kernel) || kernel < 0 || kernel > 0xffffffff) {
    throw rangeError('kernel', `must be a non-negative integer kernel id, got ${String(kernel)}`);
  }
}

/** The array behind `b`, checked to be a `Float32Array` (the bindings read raw f32 memory). */
export function f32View(b: Buffer, arg: string): Float32Array {
  const v: unknown = b?.view?.();
  if (!(v instanceof Float32Array)) {
    throw typeError(
      arg,
      `must be a buffer of f32 values (Float32Array), got ${(v as object | undefined)?.constructor?.name ?? typeof v}`,
    );
  }
  return v;
}

/** The array behind state slot `k`, or a shared empty array for an unused slot. */
export function slotView(b: Buffer | null, k: number): Float32Array {
  return b ? f32View(b, `state[${k}]`) : EMPTY;
}

export function loadJs(): Backend {
  return {
    name: 'js',
    info: () => ({ name: 'js', simd: 'none', threads: 1 }),
    alloc: (length) => new HeapBuffer('js', length),
    step(kernel, segments, params, grads, state) {
      checkKernel(kernel);
      if (!(segments instanceof Float64Array)) throw typeError('segments', 'must be a Float64Array');
      step(kernel, segments, f32View(params, 'params'), f32View(grads, 'grads'), [
        slotView(state[0], 0),
        slotView(state[1], 1),
        slotView(state[2], 2),
      ]);
    },
  };
}
