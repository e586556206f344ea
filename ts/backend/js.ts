/** The pure-TypeScript backend: buffers are `Float32Array`s, kernels are the mirror in ts/kernels. */
import { BackendError } from '../errors.js';
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

/** The array behind a state slot, or a shared empty array for an unused slot. */
export function slotView(b: Buffer | null): Float32Array {
  return b ? b.view() : EMPTY;
}

export function loadJs(): Backend {
  return {
    name: 'js',
    info: () => ({ name: 'js', simd: 'none', threads: 1 }),
    alloc: (length) => new HeapBuffer('js', length),
    step(kernel, segments, params, grads, state) {
      step(kernel, segments, params.view(), grads.view(), [slotView(state[0]), slotView(state[1]), slotView(state[2])]);
    },
  };
}
