/**
 * What the training loop needs of a model: the part of `Model` (ts/train/model.ts) that `fit`,
 * `evaluate`, `predict`, the LR finder and checkpoints use. Written structurally so that the loop
 * works with any object of this shape (tests use small stand-ins).
 */
import type { FloatArray } from '../backend/types.js';
import type { ParamStore } from '../params.js';

export interface LayerSpecLike {
  out: number;
  activation?: string;
  dropout?: number;
}

export interface ModelSpecLike {
  inputs: number;
  layers: readonly LayerSpecLike[];
  loss: { name: string; reduction?: 'mean' | 'sum'; delta?: number };
}

/** Data copied once into the model's heap. */
export interface DeviceDataLike {
  readonly rows: number;
  readonly inputs: number;
  readonly targets: number;
  dispose(): void;
}

export interface StepResult {
  loss: number;
  correct: number | null;
}

export interface FitModel {
  readonly spec: ModelSpecLike;
  readonly params: ParamStore;
  readonly inputs: number;
  readonly outputs: number;
  upload(x: ArrayLike<number>, y: ArrayLike<number>): DeviceDataLike;
  trainStep(data: DeviceDataLike, rows: Int32Array | number[], options?: { seed?: number }): StepResult;
  evaluate(data: DeviceDataLike, rows?: Int32Array | number[]): StepResult;
  predict(x: ArrayLike<number>): FloatArray;
}
