/**
 * The pure-TS kernels, by spec: the mirror of crates/core/src/registry.rs. Each kernel file
 * registers itself when imported (its optimizer class imports it), so adding an optimizer never
 * edits a list here.
 */
import type { FloatArray } from '../backend/types.js';
import type { DType, Shape } from '../spec.js';

/** Rounds an f64 result to the element type: `Math.fround` for f32, nothing for f64. */
export type Round = (x: number) => number;

const identity: Round = (x) => x;
export const ROUND: Record<DType, Round> = { float32: Math.fround, float64: identity };

/** One tensor as a kernel sees it (`Tensor` in crates/core/src/step.rs). */
export interface Tensor {
  index: number;
  offset: number;
  shape: Shape;
  group: number;
  /** Step count after this step (t, from 1). */
  step: number;
  /** Frozen: keeps its state, takes no step. */
  skip: boolean;
  /** The group's hyperparameters in spec order (wire values). */
  hp: Float64Array;
}

/** Mirror of `Elementwise`: per-tensor scalars, then an element loop. */
export interface ElementwiseKernel<P = unknown> {
  kind: 'elementwise';
  /** Spec name. */
  spec: string;
  /** Per-step scalars, rounded with `r`; may update `scalars` (the tensor's scalar slots). */
  plan(t: Tensor, scalars: number[], r: Round): P;
  /** The element loop over views of one tensor's params, grads and `N` slots (absent: empty). */
  apply(pl: P, p: FloatArray, g: FloatArray, s: readonly FloatArray[], r: Round): void;
}

/** Mirror of `Tensorwise`. */
export interface TensorwiseKernel {
  kind: 'tensorwise';
  spec: string;
  scratchLen?(shape: Shape): number;
  /** Throws for a tensor this optimizer cannot step (`Tensorwise::check`); every row is checked first. */
  check?(t: Tensor): void;
  /** `slots[k]`: slot k of this tensor (empty when absent). */
  step(t: Tensor, p: FloatArray, g: FloatArray, slots: FloatArray[], scratch: FloatArray, r: Round): void;
}

export type Kernel = ElementwiseKernel | TensorwiseKernel;

const kernels = new Map<string, Kernel>();

/** Makes a kernel available to the js backend (called by each kernel module). */
export function registerKernel<K extends Kernel>(k: K): K {
  kernels.set(k.spec, k);
  return k;
}

export function kernelFor(spec: string): Kernel | undefined {
  return kernels.get(spec);
}
