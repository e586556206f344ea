/** Datasets for training: `Dataset`, its seeded shuffles and splits, and the batch-size check. */
import { rangeError, typeError } from '../errors.js';
import { Rng } from '../random.js';
import { describeType } from '../spec.js';
import { DataError } from './errors.js';

/** What a `Dataset` is made from. */
export interface DatasetInit {
  /** Features, row-major (rows × features). Copied into a Float32Array unless it is one. */
  x: ArrayLike<number>;
  /** Targets, row-major (rows × targets), or one class index per row when `classes` is set. */
  y: ArrayLike<number>;
  /** Features per row. */
  features: number;
  /** Target columns per row (regression); default: y.length / rows. Must be 1 with `classes`. */
  targets?: number;
  /** Number of classes: y holds class indices 0 … classes − 1. */
  classes?: number;
  /** Names of the features (e.g. a CSV header). */
  featureNames?: readonly string[];
  /** Names of the target columns. */
  targetNames?: readonly string[];
  /** Names of the classes (index → name), e.g. read from a CSV file. */
  classNames?: readonly string[];
}

/** Mean and standard deviation used to standardise features: one number, or one per feature. */
export interface Standardization {
  /** The mean subtracted. */
  mean: number | Float32Array;
  /** The standard deviation divided by. */
  std: number | Float32Array;
}

/**
 * The seed of epoch `epoch`'s shuffle: every epoch draws its order from its own stream, so the
 * order of epoch e depends only on (seed, e) and a resumed run shuffles as the uninterrupted one.
 */
export function epochSeed(seed: number, epoch: number): number {
  // splitmix32-style mixing of the two words.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((epoch + 1) >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded permutation of 0 … n−1 (Fisher–Yates, drawing from `rng`). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function checkCount(v: unknown, arg: string, min: number): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!Number.isSafeInteger(v) || v < min) throw rangeError(arg, `must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function checkArray(v: unknown, arg: string): ArrayLike<number> {
  const typed = ArrayBuffer.isView(v) && !(v instanceof DataView);
  if (!Array.isArray(v) && !typed) {
    throw typeError(arg, `must be an array or typed array of numbers, got ${describeType(v)}`);
  }
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    throw typeError(arg, `must hold numbers, got a ${v.constructor.name}`);
  }
  return v as ArrayLike<number>;
}

/**
 * A dataset: rows of features in one `Float32Array` (row-major, rows × features) with their
 * targets: `targets` float columns per row (regression), or one class index per row
 * (classification, `classes` set). Every value is checked when the dataset is made, so a NaN or
 * a label out of range is reported with its row and column before any training starts.
 *
 * Shuffling and splitting are seeded with the project's RNG (`ts/random.ts`) and give the same
 * order on every machine:
 *
 * ```ts
 * const data = new Dataset({ x, y: labels, features: 784, classes: 10 });
 * const { train, validation } = data.split(0.1, { seed: 1 });
 * for (const batch of train.batches(64, { seed: 1, epoch: 0 })) model.trainStep(dev, batch);
 * ```
 */
export class Dataset {
  /** Features, rows × features. */
  readonly x: Float32Array;
  /** Targets, rows × targets, or class indices. */
  readonly y: Float32Array;
  /** Number of rows. */
  readonly rows: number;
  /** Features per row. */
  readonly features: number;
  /** Columns of `y` per row (1 for class labels). */
  readonly targets: number;
  /** Number of classes, or `null` for regression targets. */
  readonly classes: number | null;
  /** Names of the features, when known. */
  readonly featureNames: readonly string[] | null;
  /** Names of the target columns, when known. */
  readonly targetNames: readonly string[] | null;
  /** Names of the classes (index → name), when known. */
  readonly classNames: readonly string[] | null;

  constructor(init: DatasetInit) {
    if (init === null || typeof init !== 'object') {
      throw typeError('data', `must be an object { x, y, features, ... }, got ${describeType(init)}`);
    }
    const features = checkCount(init.features, 'data.features', 1);
    const x = checkArray(init.x, 'data.x');
    const y = checkArray(init.y, 'data.y');
    if (x.length === 0) throw new DataError('data: the dataset is empty (no rows)');
    if (x.length % features !== 0) {
      throw new DataError(
        `data.x: length ${x.length} is not a whole number of rows of ${features} features`,
        null,
        null,
      );
    }
    const rows = x.length / features;
    const classes = init.classes === undefined ? null : checkCount(init.classes, 'data.classes', 1);
    let targets: number;
    if (classes !== null) {
      targets = init.targets === undefined ? 1 : checkCount(init.targets, 'data.targets', 1);
      if (targets !== 1) throw rangeError('data.targets', `must be 1 with class labels, got ${targets}`);
    } else if (init.targets !== undefined) targets = checkCount(init.targets, 'data.targets', 1);
    else {
      if (y.length % rows !== 0 || y.length === 0) {
        throw new DataError(`data.y: length ${y.length} is not a whole number of target columns for ${rows} rows`);
      }
      targets = y.length / rows;
    }
    if (y.length !== rows * targets) {
      throw new DataError(
        `data.y: length ${y.length} does not match ${rows} rows × ${targets} target${targets === 1 ? '' : 's'}`,
      );
    }
    const fx = x instanceof Float32Array ? x : Float32Array.from(x as ArrayLike<number>);
    const fy = y instanceof Float32Array ? y : Float32Array.from(y as ArrayLike<number>);
    for (let i = 0; i < fx.length; i++) {
      if (!Number.isFinite(fx[i])) {
        const r = Math.floor(i / features);
        const c = i % features;
        const name = init.featureNames?.[c];
        throw new DataError(
          `data.x: row ${r}, column ${name ? JSON.stringify(name) : c} is ${String(fx[i])}; every feature must be finite`,
          r,
          name ?? c,
        );
      }
    }
    for (let i = 0; i < fy.length; i++) {
      const v = fy[i];
      if (classes !== null) {
        if (!Number.isInteger(v) || v < 0 || v >= classes) {
          throw new DataError(
            `data.y: row ${i} has label ${String(v)}; labels must be integers in [0, ${classes - 1}]`,
            i,
            0,
          );
        }
      } else if (!Number.isFinite(v)) {
        const r = Math.floor(i / targets);
        const c = i % targets;
        const name = init.targetNames?.[c];
        throw new DataError(
          `data.y: row ${r}, target ${name ? JSON.stringify(name) : c} is ${String(v)}; every target must be finite`,
          r,
          name ?? c,
        );
      }
    }
    const names = (v: readonly string[] | undefined, n: number, arg: string): readonly string[] | null => {
      if (v === undefined) return null;
      if (!Array.isArray(v) || v.length !== n) throw rangeError(arg, `must be an array of ${n} names`);
      return Object.freeze([...v]);
    };
    this.x = fx;
    this.y = fy;
    this.rows = rows;
    this.features = features;
    this.targets = targets;
    this.classes = classes;
    this.featureNames = names(init.featureNames, features, 'data.featureNames');
    this.targetNames = names(init.targetNames, targets, 'data.targetNames');
    this.classNames = classes === null ? null : names(init.classNames, classes, 'data.classNames');
  }

  /** Row `i`'s features (a view). */
  row(i: number): Float32Array {
    return this.x.subarray(i * this.features, (i + 1) * this.features);
  }

  /** A new dataset of the given rows, in that order (copied). */
  subset(indices: ArrayLike<number>): Dataset {
    const idx = checkArray(indices, 'indices');
    const f = this.features;
    const t = this.targets;
    const x = new Float32Array(idx.length * f);
    const y = new Float32Array(idx.length * t);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.rows) {
        throw rangeError(`indices[${k}]`, `must be a row index in [0, ${this.rows - 1}], got ${String(i)}`);
      }
      x.set(this.x.subarray(i * f, (i + 1) * f), k * f);
      y.set(this.y.subarray(i * t, (i + 1) * t), k * t);
    }
    return this.#derive(x, y);
  }

  /**
   * Splits off a validation set of `round(rows × fraction)` rows. With a `seed` (default 0) the
   * rows are drawn by a seeded permutation (the last rows of the permutation are validation);
   * with `shuffle: false` the last rows of the dataset are (Keras's `validation_split`). Both
   * parts keep the dataset's row order.
   */
  split(
    fraction: number,
    options: { seed?: number; shuffle?: boolean } = {},
  ): {
    /** The rows kept for training. */
    train: Dataset;
    /** The held-out rows. */
    validation: Dataset;
  } {
    if (typeof fraction !== 'number') throw typeError('fraction', `must be a number, got ${describeType(fraction)}`);
    if (!(fraction > 0 && fraction < 1)) throw rangeError('fraction', `must be in (0, 1), got ${fraction}`);
    const nVal = Math.round(this.rows * fraction);
    if (nVal < 1 || nVal >= this.rows) {
      throw new DataError(
        `fraction: ${fraction} of ${this.rows} rows leaves ${nVal} validation and ${this.rows - nVal} training rows; both need at least one`,
      );
    }
    const seed = options.seed ?? 0;
    const order =
      options.shuffle === false
        ? Int32Array.from({ length: this.rows }, (_, i) => i)
        : permutation(this.rows, new Rng(seed));
    const isVal = new Uint8Array(this.rows);
    for (let k = this.rows - nVal; k < this.rows; k++) isVal[order[k]] = 1;
    const tr: number[] = [];
    const va: number[] = [];
    for (let i = 0; i < this.rows; i++) (isVal[i] ? va : tr).push(i);
    return { train: this.subset(tr), validation: this.subset(va) };
  }

  /**
   * Row indices in minibatches of `batchSize` (the last one smaller unless `dropLast`). With
   * `shuffle` (default true) the order is epoch `epoch`'s seeded permutation (see `epochSeed`).
   */
  batches(
    batchSize: number,
    options: { shuffle?: boolean; seed?: number; epoch?: number; dropLast?: boolean } = {},
  ): Int32Array[] {
    checkBatchSize(batchSize, this.rows);
    const order =
      options.shuffle === false
        ? Int32Array.from({ length: this.rows }, (_, i) => i)
        : permutation(this.rows, new Rng(epochSeed(options.seed ?? 0, options.epoch ?? 0)));
    const out: Int32Array[] = [];
    for (let i = 0; i < this.rows; i += batchSize) {
      if (options.dropLast && i + batchSize > this.rows) break;
      out.push(order.subarray(i, Math.min(i + batchSize, this.rows)));
    }
    return out;
  }

  /** Mean and standard deviation of the features: over all values (`'global'`) or per feature. */
  stats(per: 'global' | 'feature' = 'global'): Standardization {
    const f = this.features;
    if (per === 'global') {
      let s = 0;
      for (let i = 0; i < this.x.length; i++) s += this.x[i];
      const mean = s / this.x.length;
      let v = 0;
      for (let i = 0; i < this.x.length; i++) v += (this.x[i] - mean) ** 2;
      return { mean, std: Math.sqrt(v / this.x.length) };
    }
    if (per !== 'feature') throw rangeError('per', `must be 'global' or 'feature', got ${String(per)}`);
    const sum = new Float64Array(f);
    const sq = new Float64Array(f);
    for (let r = 0; r < this.rows; r++) for (let c = 0; c < f; c++) sum[c] += this.x[r * f + c];
    for (let c = 0; c < f; c++) sum[c] /= this.rows;
    for (let r = 0; r < this.rows; r++) for (let c = 0; c < f; c++) sq[c] += (this.x[r * f + c] - sum[c]) ** 2;
    return {
      mean: Float32Array.from(sum),
      std: Float32Array.from(sq, (v) => Math.sqrt(v / this.rows)),
    };
  }

  /**
   * `(x − mean) / std` with the given statistics (compute them on the training set and apply
   * the same to the test set). A standard deviation of 0 leaves that feature centred only.
   */
  standardize(s: Standardization = this.stats()): Dataset {
    const f = this.features;
    const at = (v: number | Float32Array, c: number, arg: string): number => {
      if (typeof v === 'number') return v;
      if (!(v instanceof Float32Array) || v.length !== f) throw rangeError(arg, `must be a number or ${f} values`);
      return v[c];
    };
    const mean = Float64Array.from({ length: f }, (_, c) => at(s.mean, c, 'stats.mean'));
    const std = Float64Array.from({ length: f }, (_, c) => at(s.std, c, 'stats.std'));
    const x = new Float32Array(this.x.length);
    for (let i = 0; i < x.length; i++) {
      const c = i % f;
      x[i] = (this.x[i] - mean[c]) / (std[c] > 0 ? std[c] : 1);
    }
    return this.#derive(x, this.y.slice());
  }

  #derive(x: Float32Array, y: Float32Array): Dataset {
    return new Dataset({
      x,
      y,
      features: this.features,
      targets: this.targets,
      classes: this.classes ?? undefined,
      featureNames: this.featureNames ?? undefined,
      targetNames: this.targetNames ?? undefined,
      classNames: this.classNames ?? undefined,
    });
  }
}

/** A batch size must be a whole number in [1, rows]. */
export function checkBatchSize(batchSize: unknown, rows: number, arg = 'batchSize'): number {
  if (typeof batchSize !== 'number') throw typeError(arg, `must be a number, got ${describeType(batchSize)}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw rangeError(arg, `must be a whole number >= 1, got ${String(batchSize)}`);
  }
  if (batchSize > rows) {
    throw rangeError(arg, `${batchSize} is larger than the ${rows} rows of the training data`);
  }
  return batchSize;
}
