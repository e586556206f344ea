/** Mirror of crates/core/src/optim/mod.rs: what a kernel will do to one segment. */

/** Per-step scalars of one segment, each already rounded to f32 (`Math.fround`). */
export interface Scalars {
  f: number[];
  mode: number;
}

/** The element loop over `[offset, offset + len)` of the arena buffers. */
export type Run = (
  s: Scalars,
  params: Float32Array,
  grads: Float32Array,
  state: readonly [Float32Array, Float32Array, Float32Array],
  offset: number,
  len: number,
) => void;

export interface Plan {
  scalars: Scalars;
  uses: [boolean, boolean, boolean];
  run: Run;
}

export interface KernelSpec {
  id: number;
  name: string;
  state: readonly string[];
  plan: (seg: import('./segment.js').Segment, index: number) => Plan;
}
