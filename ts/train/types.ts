/**
 * What the training loop needs of a model: the part of `Model` (ts/train/model.ts) that `fit`,
 * `evaluate`, `predict`, the LR finder and checkpoints use. Written structurally so that the loop
 * works with any object of this shape (tests use small stand-ins).
 */
import type { FloatArray } from '../backend/types.js';
import type { ParamStore } from '../params.js';

/** A layer as the training loop sees it (`LayerSpec` fits it). */
export interface LayerSpecLike {
  /** Units of the layer. */
  out: number;
  /** Its activation's name. */
  activation?: string;
  /** Its dropout probability. */
  dropout?: number;
}

/** A model's architecture as the training loop sees it (`ModelSpec` fits it). */
export interface ModelSpecLike {
  /** Features per row. */
  inputs: number;
  /** The layers, input side first. */
  layers: readonly LayerSpecLike[];
  /** The loss. */
  loss: {
    /** Its name (`LossName`). */
    name: string;
    /** Mean or sum over a batch's rows. */
    reduction?: 'mean' | 'sum';
    /** Huber's threshold. */
    delta?: number;
  };
}

/** Data copied once into the model's heap. */
export interface DeviceDataLike {
  /** Rows uploaded. */
  readonly rows: number;
  /** Features per row. */
  readonly inputs: number;
  /** Target columns per row. */
  readonly targets: number;
  /** Frees the uploaded copy. */
  dispose(): void;
}

/**
 * A batch's loss and correct predictions (the shape of `Model`'s `StepResult`).
 *
 * @inline
 */
export interface StepResult {
  /** The batch's loss, reduced as the loss spec says. */
  loss: number;
  /** Rows classified right, or `null` for regression. */
  correct: number | null;
}

/** What `fit`, `evaluate`, `predict`, `findLr` and checkpoints need of a model (`Model` is one). */
export interface FitModel {
  /** The architecture. */
  readonly spec: ModelSpecLike;
  /** The parameters the optimizer steps. */
  readonly params: ParamStore;
  /** Features per row. */
  readonly inputs: number;
  /** Outputs per row. */
  readonly outputs: number;
  /** Copies training data into the model's heap. */
  upload(x: ArrayLike<number>, y: ArrayLike<number>): DeviceDataLike;
  /** Forward, loss and backward of `rows` of `data`; writes the gradients into `params`. */
  trainStep(data: DeviceDataLike, rows: Int32Array | number[], options?: { seed?: number }): StepResult;
  /** Forward and loss only (no dropout). */
  evaluate(data: DeviceDataLike, rows?: Int32Array | number[]): StepResult;
  /** The outputs for rows of features. */
  predict(x: ArrayLike<number>): FloatArray;
}
