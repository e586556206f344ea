/**
 * `fit()`: the study card's training loop (see the function), its options, logs and callbacks,
 * and `evaluate`/`predict`.
 */
import type { FloatArray } from '../backend/types.js';
import { rangeError, typeError } from '../errors.js';
import type { Combined } from '../optim/combine.js';
import type { AnyOptimizer } from '../optim/optimizer.js';
import type { Chain } from '../transform.js';
import { Rng } from '../random.js';
import type { Schedule } from '../schedule/functions.js';
import { ReduceLROnPlateau } from '../schedule/plateau.js';
import { describeType } from '../spec.js';
import type { Checkpoint, SavableScheduler } from './checkpoint.js';

type CheckpointModule = typeof import('./checkpoint.js');
import { checkBatchSize, Dataset, epochSeed, permutation, type DatasetInit } from './data.js';
import { CheckpointError, DataError } from './errors.js';
import { createProgress, progressWanted } from './progress.js';
import type { DeviceDataLike, FitModel, StepResult } from './types.js';

/** Salt that separates the dropout seeds from the shuffle seeds. */
const DROPOUT_SALT = 0x5bd1e995;

/** How many rows a step sees: all (`batch`), one (`sgd`) or `batchSize` (`minibatch`). */
export type FitMode = 'batch' | 'sgd' | 'minibatch';
/** A metric of the epoch logs that early stopping and `ReduceLROnPlateau` can watch. */
export type Metric = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

/** A PyTorch-style scheduler object (ts/schedule): `step()` after the optimizer, state dicts. */
export interface StepScheduler extends SavableScheduler {
  /** The optimizer it schedules (fit checks it is the one being trained). */
  readonly optimizer: unknown;
  /** Moves to the next lr. */
  step(): void;
}

/** When to stop a run that no longer improves (Keras's `EarlyStopping` rule). */
export interface EarlyStoppingOptions {
  /** Default `'valLoss'` when there is validation data, else `'loss'`. */
  monitor?: Metric;
  /** Stop after this many epochs in a row without improvement (Keras's rule: 0 acts as 1). Default 5. */
  patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** `'auto'` (default): `'max'` for accuracies, `'min'` for losses. */
  mode?: 'min' | 'max' | 'auto';
  /** Give the model the best epoch's weights when training ends. Default true. */
  restoreBestWeights?: boolean;
}

/** One epoch's metrics (`accuracy` only for classification losses, `val*` only with validation). */
export interface EpochLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** Mean training loss per row over the epoch (with dropout, as trained). */
  loss: number;
  /** Fraction of training rows classified right (as trained, with dropout). */
  accuracy?: number;
  /** Mean loss per row on the validation data (no dropout). */
  valLoss?: number;
  /** Fraction of validation rows classified right. */
  valAccuracy?: number;
  /** The first group's lr at the end of the epoch. */
  lr: number;
  /** Optimizer steps so far. */
  steps: number;
  /** Wall time of the epoch, seconds. */
  seconds: number;
}

/** One step's numbers, for `onBatchEnd`. */
export interface BatchLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** Batch index within the epoch. */
  batch: number;
  /** Optimizer steps so far (this one included). */
  step: number;
  /** The batch's loss as the model's loss reduction gives it. */
  loss: number;
  /** Rows in the batch. */
  rows: number;
  /** Rows classified right, or `null` for regression losses. */
  correct: number | null;
}

/** What fit() trains with: an optimizer, a chain of transformations around one, or a combination. */
export type TrainOptimizer = AnyOptimizer | Chain | Combined;

/** What callbacks see of the run, and how they end it. */
export interface FitContext {
  /** The model being trained. */
  readonly model: FitModel;
  /** Its optimizer. */
  readonly optimizer: TrainOptimizer;
  /** Epochs completed so far. */
  readonly epoch: number;
  /** Optimizer steps so far. */
  readonly step: number;
  /** The logs of the completed epochs. */
  readonly history: readonly EpochLogs[];
  /** Ends training after the current batch (from onBatchEnd) or epoch. */
  stop(reason?: string): void;
}

/**
 * A value or a promise of it (callbacks may be async; fit awaits them).
 *
 * @inline
 */
type Maybe<T> = T | Promise<T>;

/** Hooks into the loop (Keras's names); each may be async and may call `ctx.stop()`. */
export interface Callbacks {
  /** Before the first step (after all checks, and after a resume has restored the state). */
  onTrainBegin?(ctx: FitContext): Maybe<void>;
  /** Before each epoch's first step. */
  onEpochBegin?(epoch: number, ctx: FitContext): Maybe<void>;
  /** After each optimizer step. */
  onBatchEnd?(logs: BatchLogs, ctx: FitContext): Maybe<void>;
  /** After each epoch, with its metrics. */
  onEpochEnd?(logs: EpochLogs, ctx: FitContext): Maybe<void>;
  /** Once, with the result (also when training stopped early). */
  onTrainEnd?(result: FitResult, ctx: FitContext): Maybe<void>;
}

/** Where and how often `fit` saves checkpoint folders (Node only). */
export interface CheckpointOptions {
  /** Folder of the checkpoints: each save is `dir/epoch-NNNN/` (see checkpoint.ts). */
  dir: string;
  /** Save every this many epochs. Default 1. */
  every?: number;
  /** Keep the newest this many saves (default: all). */
  keep?: number;
}

/** Options of `fit` (defaults in each field). */
export interface FitOptions {
  /** Total epochs (a resumed run continues up to this many). Default 10. */
  epochs?: number;
  /** Default `'minibatch'`. */
  mode?: FitMode;
  /** Rows per step in minibatch mode. Default 32. */
  batchSize?: number;
  /** Shuffle rows every epoch (sgd and minibatch). Default true. */
  shuffle?: boolean;
  /** Seeds the shuffles, the validation split and dropout. Default 0. */
  seed?: number;
  /** Hold out this fraction of the rows (seeded, see `Dataset.split`) for validation. */
  validationSplit?: number;
  /** Validation rows given apart (instead of `validationSplit`). */
  validationData?: Dataset | DatasetInit;
  /** Stop when the epoch's training loss changed by less than `tol` (the study card's convergence test). */
  tol?: number;
  /** Stop when the monitored metric stops improving; `true` takes the defaults. */
  earlyStopping?: EarlyStoppingOptions | boolean;
  /** Hooks into the loop, called in order. */
  callbacks?: Callbacks | readonly Callbacks[];
  /**
   * A schedule function (ts/schedule, `f(t)` → lr, written into every group before each step),
   * a scheduler object (`step()` called after the optimizer's step or after each epoch), or a
   * `ReduceLROnPlateau` (stepped each epoch with `plateauMonitor`).
   */
  schedule?: Schedule | StepScheduler | ReduceLROnPlateau;
  /** Default `'step'` for schedule functions (t = optimizer steps so far), `'epoch'` for scheduler objects (PyTorch's convention). */
  scheduleEvery?: 'step' | 'epoch';
  /** The metric ReduceLROnPlateau watches. Default `'valLoss'` with validation data, else `'loss'`. */
  plateauMonitor?: Metric;
  /** `'auto'` (default): the bar when stdout is a terminal and `CI` is unset. */
  progress?: boolean | 'auto';
  /** Save checkpoint folders during the run (Node only). */
  checkpoint?: CheckpointOptions;
  /** A checkpoint folder (or a folder of `epoch-*` checkpoints: the newest) to continue from. */
  resume?: string;
}

/** Why training ended: all epochs ran, the loss converged, early stopping, a callback, or a NaN/∞ loss. */
export type StopReason = 'epochs' | 'tol' | 'earlyStopping' | 'callback' | 'diverged';

/** What `fit` returns. */
export interface FitResult {
  /** Every epoch's logs (a resumed run includes the earlier ones). */
  history: EpochLogs[];
  /** Epochs completed (a resumed run counts the ones before it). */
  epochs: number;
  /** Optimizer steps in all. */
  steps: number;
  /** Why training ended. */
  stopReason: StopReason;
  /** A callback's reason for stopping, or what diverged. */
  stopDetail: string | null;
  /** Early stopping's best epoch and value, when it ran. */
  best: {
    /** The best epoch (0-based). */
    epoch: number;
    /** Its value of the monitored metric. */
    value: number;
    /** The metric early stopping watched. */
    monitor: Metric;
  } | null;
  /** Whether the best epoch's weights were put back. */
  restoredBest: boolean;
  /** Wall time of this call, seconds. */
  seconds: number;
  /** The backend the model trained on. */
  backend: string;
}

/** The loop's own position, stored in checkpoints (numbers that may be ±Infinity as strings). */
export interface FitPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** The run's seed. */
  seed: number;
  /** The run's mode. */
  mode: FitMode;
  /** Its batch size. */
  batchSize: number;
  /** Whether it shuffles. */
  shuffle: boolean;
  /** Its validation split (a resume must use the same). */
  validationSplit: number | null;
  /** The per-epoch shuffle streams are `Rng(epochSeed(seed, e))`: the position is the RNG state. */
  rng: 'epochSeed(seed, epoch)';
  /** The logs so far. */
  history: EpochLogs[];
  /** Early stopping's counters, when it runs. */
  early: {
    /** The best value so far (±Infinity as a string). */
    best: number | string;
    /** Its epoch. */
    bestEpoch: number;
    /** Epochs without improvement. */
    wait: number;
    /** Whether best weights are held (saved as best.safetensors). */
    hasBest: boolean;
  } | null;
}

const OPTION_KEYS = new Set([
  'epochs',
  'mode',
  'batchSize',
  'shuffle',
  'seed',
  'validationSplit',
  'validationData',
  'tol',
  'earlyStopping',
  'callbacks',
  'schedule',
  'scheduleEvery',
  'plateauMonitor',
  'progress',
  'checkpoint',
  'resume',
]);

const METRICS: readonly Metric[] = ['loss', 'accuracy', 'valLoss', 'valAccuracy'];

function int(v: unknown, arg: string, min: number): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!Number.isSafeInteger(v) || v < min) throw rangeError(arg, `must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function isClassification(model: FitModel): boolean {
  return model.spec.loss.name === 'softmax_cross_entropy';
}

function hasAccuracy(model: FitModel): boolean {
  return model.spec.loss.name === 'softmax_cross_entropy' || model.spec.loss.name === 'bce_with_logits';
}

function toDataset(d: Dataset | DatasetInit, arg: string): Dataset {
  if (d instanceof Dataset) return d;
  if (d === null || typeof d !== 'object') throw typeError(arg, `must be a Dataset, got ${describeType(d)}`);
  return new Dataset(d);
}

/**
 * Checks that `data` fits `model`: its features are the model's inputs, and its targets are what
 * the loss takes (class labels below the output count for softmax cross-entropy; `outputs`
 * columns otherwise, in [0, 1] for BCE).
 */
export function checkDataFits(model: FitModel, data: Dataset, arg = 'data'): void {
  if (data.rows === 0) throw new DataError(`${arg}: the dataset is empty (no rows)`);
  if (data.features !== model.inputs) {
    throw new DataError(
      `${arg}: rows have ${data.features} features, the model takes ${model.inputs} inputs`,
      null,
      null,
    );
  }
  if (isClassification(model)) {
    if (data.classes === null) {
      throw new DataError(
        `${arg}: softmax cross-entropy needs class labels (a Dataset with classes), got ${data.targets} regression target column(s)`,
      );
    }
    for (let i = 0; i < data.rows; i++) {
      if (data.y[i] >= model.outputs) {
        throw new DataError(
          `${arg}.y: row ${i} has label ${data.y[i]}, out of range for the model's ${model.outputs} outputs (labels 0 … ${model.outputs - 1})`,
          i,
          0,
        );
      }
    }
    return;
  }
  if (data.targets !== model.outputs) {
    throw new DataError(`${arg}: rows have ${data.targets} target column(s), the model has ${model.outputs} outputs`);
  }
  if (model.spec.loss.name === 'bce_with_logits') {
    for (let i = 0; i < data.y.length; i++) {
      const v = data.y[i];
      if (!(v >= 0 && v <= 1)) {
        throw new DataError(
          `${arg}.y: row ${Math.floor(i / data.targets)} has target ${v}; BCE targets must be in [0, 1]`,
          Math.floor(i / data.targets),
          i % data.targets,
        );
      }
    }
  }
}

function checkModel(model: unknown): FitModel {
  const m = model as FitModel;
  if (!m || typeof m !== 'object' || typeof m.trainStep !== 'function' || typeof m.upload !== 'function' || !m.params) {
    throw typeError('model', `must be a Model, got ${describeType(model)}`);
  }
  m.params.assertLive();
  return m;
}

function checkOptimizer(optimizer: unknown, model: FitModel): TrainOptimizer {
  const o = optimizer as TrainOptimizer;
  if (!o || typeof o !== 'object' || typeof o.step !== 'function' || typeof o.stateDict !== 'function') {
    throw typeError('optimizer', `must be an optimizer (new Adam(model.params, ...)), got ${describeType(optimizer)}`);
  }
  if (o.params !== model.params)
    throw rangeError('optimizer', "must be built on this model's params (new Adam(model.params, ...))");
  if ((o as { disposed?: boolean }).disposed) throw rangeError('optimizer', 'was disposed');
  return o;
}

/** Per-row mean of a loss the model reduced by its spec (`mean` or `sum`) over `rows` rows. */
function perRow(model: FitModel, loss: number, rows: number): number {
  return model.spec.loss.reduction === 'sum' ? loss / rows : loss;
}

function encodeNum(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function decodeNum(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function isThenable(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** Evaluates `rows` (default all) of uploaded data: per-row loss and accuracy (null for regression). */
function evalDevice(model: FitModel, dev: DeviceDataLike): { loss: number; accuracy: number | null } {
  const r = model.evaluate(dev);
  const loss = perRow(model, r.loss, dev.rows);
  const accuracy =
    r.correct === null ? null : r.correct / (dev.rows * (model.spec.loss.name === 'bce_with_logits' ? dev.targets : 1));
  return { loss, accuracy };
}

/**
 * Trains `model` with `optimizer` on `data`: the study card's loop. Per step: forward, loss and
 * backward in one core call (`model.trainStep`), then `optimizer.step()`; per epoch: metrics,
 * the convergence and early-stopping checks, schedules, callbacks and checkpoints. The three modes
 * of the study card:
 *
 * ```text
 * batch       θ ← θ − η ∇L(θ; all n rows)          one step per epoch, rows in order
 * sgd         θ ← θ − η ∇L(θ; row i)                n steps per epoch, rows shuffled
 * minibatch   θ ← θ − η ∇L(θ; rows i … i+b−1)       ⌈n/b⌉ steps per epoch, rows shuffled
 * ```
 *
 * Everything about the inputs is checked before the first step (a `TypeError`, `RangeError`,
 * `DataError` or `CheckpointError` naming the problem), so a bad call leaves the model and the
 * optimizer as they were.
 *
 * Determinism: epoch e's shuffle is drawn from `Rng(epochSeed(seed, e))` and step s's dropout
 * mask from `epochSeed(seed ^ DROPOUT_SALT, s)`, so the loop's random state is its position
 * (seed, epoch, step); with the model, optimizer and scheduler state a checkpoint holds everything
 * the rest of the run depends on, and `resume` continues bit for bit (same backend).
 *
 * @example
 * ```ts
 * import { Adam, Dataset, Model, cosineAnnealing, fit } from 'downhill';
 * // y = 3x + 2 (+ a little noise) on 200 rows; a linear model should find 3 and 2.
 * const x = Array.from({ length: 200 }, (_, i) => i / 100 - 1);
 * const y = x.map((v, i) => 3 * v + 2 + 0.01 * Math.sin(i));
 * const model = await Model.create({ inputs: 1, layers: [{ out: 1 }], loss: { name: 'mse' } }, { seed: 1 });
 * const opt = new Adam(model.params, { lr: 0.1 });
 * const result = await fit(model, opt, new Dataset({ x, y, features: 1 }), {
 *   epochs: 40,
 *   batchSize: 20, // 9 steps per epoch on the 180 training rows
 *   validationSplit: 0.1,
 *   earlyStopping: { monitor: 'valLoss', patience: 5 },
 *   schedule: cosineAnnealing({ lr: 0.1, tMax: 40 * 9 }), // per optimizer step
 *   callbacks: { onEpochEnd: (logs, ctx) => logs.loss < 1e-4 && ctx.stop('good enough') },
 * });
 * console.log(result.stopReason); // 'callback': the loss fell below 1e-4
 * console.log(model.params.get('layer0.weight'), model.params.get('layer0.bias')); // ≈ [3] [2]
 * ```
 */
export async function fit(
  model: FitModel,
  optimizer: TrainOptimizer,
  data: Dataset | DatasetInit,
  options: FitOptions = {},
): Promise<FitResult> {
  const t0 = performance.now();
  // ---- everything is checked before anything changes ------------------------------------
  model = checkModel(model);
  optimizer = checkOptimizer(optimizer, model);
  const closureRequired = (optimizer as { closureRequired?: boolean }).closureRequired === true;
  if (options === null || typeof options !== 'object')
    throw typeError('options', `must be an object, got ${describeType(options)}`);
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.has(k))
      throw typeError(`options.${k}`, `is not an option of fit (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  let all = toDataset(data, 'data');
  checkDataFits(model, all, 'data');
  const epochs = int(options.epochs ?? 10, 'options.epochs', 1);
  const mode = options.mode ?? 'minibatch';
  if (!['batch', 'sgd', 'minibatch'].includes(mode))
    throw rangeError('options.mode', `must be 'batch', 'sgd' or 'minibatch', got ${JSON.stringify(mode)}`);
  if (mode !== 'minibatch' && options.batchSize !== undefined) {
    throw rangeError(
      'options.batchSize',
      `is set by mode '${mode}' (${mode === 'sgd' ? '1' : 'all rows'}); leave it out or use mode 'minibatch'`,
    );
  }
  const seed = int(options.seed ?? 0, 'options.seed', 0);
  const shuffle = options.shuffle ?? true;
  if (typeof shuffle !== 'boolean')
    throw typeError('options.shuffle', `must be a boolean, got ${describeType(shuffle)}`);
  let validation: Dataset | null = null;
  const vSplit = options.validationSplit;
  if (vSplit !== undefined && options.validationData !== undefined) {
    throw rangeError('options.validationSplit', 'and options.validationData are alternatives; pass one');
  }
  if (vSplit !== undefined) {
    if (typeof vSplit !== 'number' || !(vSplit > 0 && vSplit < 1))
      throw rangeError('options.validationSplit', `must be in (0, 1), got ${String(vSplit)}`);
    const s = all.split(vSplit, { seed });
    all = s.train;
    validation = s.validation;
  } else if (options.validationData !== undefined) {
    validation = toDataset(options.validationData, 'options.validationData');
    checkDataFits(model, validation, 'options.validationData');
  }
  const train = all;
  const batchSize =
    mode === 'batch'
      ? train.rows
      : mode === 'sgd'
        ? 1
        : checkBatchSize(options.batchSize ?? Math.min(32, train.rows), train.rows, 'options.batchSize');
  if (mode === 'minibatch' && options.batchSize !== undefined)
    checkBatchSize(options.batchSize, train.rows, 'options.batchSize');
  const tol = options.tol;
  if (tol !== undefined && (typeof tol !== 'number' || !(tol >= 0)))
    throw rangeError('options.tol', `must be a number >= 0, got ${String(tol)}`);

  const defaultMonitor: Metric = validation ? 'valLoss' : 'loss';
  const checkMetric = (m: unknown, arg: string): Metric => {
    if (!METRICS.includes(m as Metric))
      throw rangeError(arg, `must be one of ${METRICS.join(', ')}, got ${JSON.stringify(m)}`);
    if ((m === 'valLoss' || m === 'valAccuracy') && !validation)
      throw rangeError(arg, `${m as string} needs validation data (validationSplit or validationData)`);
    if ((m === 'accuracy' || m === 'valAccuracy') && !hasAccuracy(model))
      throw rangeError(arg, `${m as string} needs a classification loss`);
    return m as Metric;
  };
  let early: Required<EarlyStoppingOptions> & { monitor: Metric; sign: number } = null as never;
  if (options.earlyStopping !== undefined && options.earlyStopping !== false) {
    const e = options.earlyStopping === true ? {} : options.earlyStopping;
    if (e === null || typeof e !== 'object')
      throw typeError('options.earlyStopping', `must be an object or a boolean, got ${describeType(e)}`);
    for (const k of Object.keys(e)) {
      if (!['monitor', 'patience', 'minDelta', 'mode', 'restoreBestWeights'].includes(k)) {
        throw typeError(
          `options.earlyStopping.${k}`,
          'is not an option (known: monitor, patience, minDelta, mode, restoreBestWeights)',
        );
      }
    }
    const monitor = checkMetric(e.monitor ?? defaultMonitor, 'options.earlyStopping.monitor');
    const m = e.mode ?? 'auto';
    if (!['min', 'max', 'auto'].includes(m))
      throw rangeError('options.earlyStopping.mode', `must be 'min', 'max' or 'auto', got ${JSON.stringify(m)}`);
    const resolved = m === 'auto' ? (monitor.toLowerCase().endsWith('accuracy') ? 'max' : 'min') : m;
    const minDelta = e.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !(minDelta >= 0))
      throw rangeError('options.earlyStopping.minDelta', `must be >= 0, got ${String(minDelta)}`);
    early = {
      monitor,
      patience: int(e.patience ?? 5, 'options.earlyStopping.patience', 0),
      minDelta,
      mode: resolved,
      restoreBestWeights: e.restoreBestWeights ?? true,
      sign: resolved === 'min' ? 1 : -1,
    };
  }
  const callbacks: Callbacks[] =
    options.callbacks === undefined
      ? []
      : Array.isArray(options.callbacks)
        ? [...options.callbacks]
        : [options.callbacks as Callbacks];
  callbacks.forEach((c, i) => {
    if (c === null || typeof c !== 'object')
      throw typeError(`options.callbacks[${i}]`, `must be an object of callbacks, got ${describeType(c)}`);
    for (const [k, f] of Object.entries(c)) {
      if (!['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'].includes(k)) {
        throw typeError(
          `options.callbacks[${i}].${k}`,
          'is not a callback (known: onTrainBegin, onEpochBegin, onBatchEnd, onEpochEnd, onTrainEnd)',
        );
      }
      if (typeof f !== 'function')
        throw typeError(`options.callbacks[${i}].${k}`, `must be a function, got ${describeType(f)}`);
    }
  });

  // Schedules.
  const sched = options.schedule;
  let scheduleFn: Schedule | null = null;
  let scheduler: StepScheduler | null = null;
  let plateau: ReduceLROnPlateau | null = null;
  if (typeof sched === 'function') scheduleFn = sched;
  else if (sched instanceof ReduceLROnPlateau) plateau = sched;
  else if (sched !== undefined) {
    if (
      sched === null ||
      typeof sched !== 'object' ||
      typeof (sched as StepScheduler).step !== 'function' ||
      typeof (sched as StepScheduler).stateDict !== 'function'
    ) {
      throw typeError(
        'options.schedule',
        `must be a schedule function, a scheduler object or a ReduceLROnPlateau, got ${describeType(sched)}`,
      );
    }
    scheduler = sched as StepScheduler;
  }
  for (const s of [scheduler, plateau]) {
    if (s && s.optimizer !== (optimizer as unknown))
      throw rangeError('options.schedule', 'is bound to another optimizer');
  }
  const every = options.scheduleEvery ?? (scheduleFn ? 'step' : 'epoch');
  if (every !== 'step' && every !== 'epoch')
    throw rangeError('options.scheduleEvery', `must be 'step' or 'epoch', got ${JSON.stringify(every)}`);
  if (plateau && options.scheduleEvery === 'step')
    throw rangeError('options.scheduleEvery', 'ReduceLROnPlateau steps once per epoch, on a metric');
  const plateauMonitor = plateau
    ? checkMetric(options.plateauMonitor ?? defaultMonitor, 'options.plateauMonitor')
    : null;
  if (!plateau && options.plateauMonitor !== undefined)
    throw rangeError('options.plateauMonitor', 'is only used with a ReduceLROnPlateau schedule');
  const savable: SavableScheduler | null = scheduler ?? plateau ?? null;

  const ck = options.checkpoint;
  if (ck !== undefined) {
    if (ck === null || typeof ck !== 'object' || typeof ck.dir !== 'string' || ck.dir === '') {
      throw typeError('options.checkpoint', 'must be { dir, every?, keep? } with a folder name');
    }
    int(ck.every ?? 1, 'options.checkpoint.every', 1);
    if (ck.keep !== undefined) int(ck.keep, 'options.checkpoint.keep', 1);
  }

  // Resume: read and check the checkpoint whole before anything is written.
  let resumed: FitPosition | null = null;
  let bestWeights: FloatArray | null = null;
  // Checkpoints need Node's file system: loaded only when used, so fit runs in browsers too.
  const cp = ck !== undefined || options.resume !== undefined ? await import('./checkpoint.js') : null;
  let ckpt: Checkpoint | null = null;
  if (options.resume !== undefined && cp) {
    if (typeof options.resume !== 'string')
      throw typeError('options.resume', `must be a checkpoint folder, got ${describeType(options.resume)}`);
    ckpt = cp.readCheckpoint(options.resume);
    cp.checkCheckpoint(ckpt, model, optimizer, savable);
    const pos = ckpt.meta.fit as FitPosition | null;
    if (!pos || typeof pos !== 'object')
      throw new CheckpointError(`${ckpt.dir}: the checkpoint was not saved by fit (no loop position)`, ckpt.dir);
    const same: [string, unknown, unknown][] = [
      ['seed', pos.seed, seed],
      ['mode', pos.mode, mode],
      ['batchSize', pos.batchSize, batchSize],
      ['shuffle', pos.shuffle, shuffle],
      ['validationSplit', pos.validationSplit, vSplit ?? null],
    ];
    for (const [k, a, b] of same) {
      if (a !== b)
        throw new CheckpointError(
          `${ckpt.dir}: saved with ${k} = ${JSON.stringify(a)}, this run has ${JSON.stringify(b)}; a resumed run must use the same`,
          ckpt.dir,
        );
    }
    if ((pos.early !== null) !== (early !== null)) {
      throw new CheckpointError(
        `${ckpt.dir}: saved ${pos.early ? 'with' : 'without'} early stopping, this run is ${early ? 'with' : 'without'}`,
        ckpt.dir,
      );
    }
    resumed = pos;
  }

  // Upload (checks shapes, finiteness and labels once more on the model's side).
  const devTrain = model.upload(train.x, train.y);
  let devVal: DeviceDataLike | null = null;
  try {
    devVal = validation ? model.upload(validation.x, validation.y) : null;
  } catch (e) {
    devTrain.dispose();
    throw e;
  }
  try {
    if (ckpt && cp) {
      cp.restoreCheckpoint(ckpt, model, optimizer, savable);
      if (ckpt.best) bestWeights = cp.arenaFrom(model, ckpt.best);
    }
    return await loop();
  } finally {
    devTrain.dispose();
    devVal?.dispose();
  }

  async function loop(): Promise<FitResult> {
    const history: EpochLogs[] = resumed ? resumed.history.map((h) => ({ ...h })) : [];
    for (const h of history)
      for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const)
        if (h[k] !== undefined) h[k] = decodeNum(h[k]);
    let epoch = resumed?.epoch ?? 0;
    let step = resumed?.step ?? 0;
    let best = early ? (resumed?.early ? decodeNum(resumed.early.best) : early.sign * Infinity) : NaN;
    let bestEpoch = resumed?.early?.bestEpoch ?? -1;
    let wait = resumed?.early?.wait ?? 0;
    let stopReason: StopReason = 'epochs';
    let stopDetail: string | null = null;
    let stopRequested = false;
    const ctx: FitContext = {
      model,
      optimizer,
      get epoch() {
        return epoch;
      },
      get step() {
        return step;
      },
      history,
      stop(reason?: string) {
        stopRequested = true;
        stopReason = 'callback';
        stopDetail = reason ?? null;
      },
    };
    const call = async (name: keyof Callbacks, ...args: unknown[]): Promise<void> => {
      for (const c of callbacks) {
        const f = c[name] as ((...a: unknown[]) => unknown) | undefined;
        if (!f) continue;
        const r = f.apply(c, [...args, ctx]);
        if (isThenable(r)) await r;
      }
    };
    const progress = await createProgress(
      options.progress === 'auto' || options.progress === undefined ? progressWanted() : options.progress === true,
    );
    const stepsPerEpoch = Math.ceil(train.rows / batchSize);
    const acc = hasAccuracy(model);
    const accDenominator = model.spec.loss.name === 'bce_with_logits' ? train.targets : 1;
    const allRows = Int32Array.from({ length: train.rows }, (_, i) => i);
    const setLr = (v: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw rangeError('options.schedule', `returned ${String(v)} at step ${step}; an lr must be finite and >= 0`);
      for (const g of optimizer.paramGroups) (g as unknown as { lr: number }).lr = v;
    };
    const fmt = (v: number | undefined) => (v === undefined ? '' : v.toFixed(4));
    progress.start(epochs * stepsPerEpoch, epoch * stepsPerEpoch, {
      epoch: Math.min(epoch + 1, epochs),
      epochs,
      loss: fmt(history.at(-1)?.loss) || '-',
      metric: '',
    });
    await call('onTrainBegin');
    try {
      while (epoch < epochs && !stopRequested) {
        const te = performance.now();
        await call('onEpochBegin', epoch);
        if (stopRequested) break;
        if (scheduleFn && every === 'epoch') setLr(scheduleFn(epoch));
        const order = mode === 'batch' || !shuffle ? allRows : permutation(train.rows, new Rng(epochSeed(seed, epoch)));
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        for (let b = 0; b < stepsPerEpoch; b++) {
          const rows = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, train.rows));
          if (scheduleFn && every === 'step') setLr(scheduleFn(step));
          const stepSeed = { seed: epochSeed(seed ^ DROPOUT_SALT, step) };
          let r: StepResult;
          if (closureRequired) {
            // L-BFGS evaluates the batch as often as its line search needs (the same dropout
            // masks each time, so it sees one function); the metrics are those of its first
            // evaluation, at the parameters the step started from.
            let first: StepResult | null = null;
            optimizer.step(() => {
              const x = model.trainStep(devTrain, rows, stepSeed);
              first ??= x;
              return x.loss;
            });
            r = first as unknown as StepResult;
          } else {
            r = model.trainStep(devTrain, rows, stepSeed);
            optimizer.step();
          }
          step += 1;
          if (scheduler && every === 'step') scheduler.step();
          lossSum += model.spec.loss.reduction === 'sum' ? r.loss : r.loss * rows.length;
          if (r.correct !== null) correct += r.correct;
          seen += rows.length;
          if (callbacks.length > 0) {
            await call('onBatchEnd', {
              epoch,
              batch: b,
              step,
              loss: r.loss,
              rows: rows.length,
              correct: r.correct,
            } satisfies BatchLogs);
            if (stopRequested) break;
          }
          if (progress.enabled) progress.update(epoch * stepsPerEpoch + b + 1, { loss: (lossSum / seen).toFixed(4) });
        }
        const logs: EpochLogs = { epoch, loss: lossSum / seen, lr: 0, steps: step, seconds: 0 };
        if (acc) logs.accuracy = correct / (seen * accDenominator);
        if (devVal) {
          const v = withEvalParams(optimizer, () => evalDevice(model, devVal as DeviceDataLike));
          logs.valLoss = v.loss;
          if (v.accuracy !== null) logs.valAccuracy = v.accuracy;
        }
        epoch += 1;
        if (!Number.isFinite(logs.loss)) {
          stopReason = 'diverged';
          stopDetail = `the training loss is ${logs.loss} in epoch ${logs.epoch}`;
          stopRequested = true;
        }
        if (scheduler && every === 'epoch') scheduler.step();
        if (plateau && plateauMonitor) plateau.step(logs[plateauMonitor] as number);
        logs.lr = optimizer.lrs[0];
        if (early) {
          const v = logs[early.monitor] as number;
          if (early.sign * (v - best) < -early.minDelta || (bestEpoch < 0 && Number.isFinite(v))) {
            best = v;
            bestEpoch = logs.epoch;
            wait = 0;
            if (early.restoreBestWeights) bestWeights = model.params.data.slice();
          } else {
            wait += 1;
            if (wait >= early.patience && !stopRequested) {
              stopReason = 'earlyStopping';
              stopRequested = true;
            }
          }
        }
        const prev = history.at(-1);
        if (tol !== undefined && prev && Math.abs(logs.loss - prev.loss) < tol && !stopRequested) {
          stopReason = 'tol';
          stopDetail = `|Δloss| = ${Math.abs(logs.loss - prev.loss)} < ${tol}`;
          stopRequested = true;
        }
        logs.seconds = (performance.now() - te) / 1000;
        history.push(logs);
        const metric =
          logs.valAccuracy !== undefined
            ? ` | val acc ${fmt(logs.valAccuracy)}`
            : logs.accuracy !== undefined
              ? ` | acc ${fmt(logs.accuracy)}`
              : '';
        progress.update(epoch * stepsPerEpoch, { epoch: Math.min(epoch + 1, epochs), loss: fmt(logs.loss), metric });
        await call('onEpochEnd', logs);
        if (ck && epoch % (ck.every ?? 1) === 0) saveEpoch();
        // Let timers (the progress bar's redraw) and I/O run between epochs.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      progress.stop();
    }
    let restoredBest = false;
    if (early && early.restoreBestWeights && bestWeights && bestEpoch >= 0 && bestEpoch !== history.at(-1)?.epoch) {
      model.params.data.set(bestWeights);
      restoredBest = true;
    }
    const result: FitResult = {
      history,
      epochs: epoch,
      steps: step,
      stopReason,
      stopDetail,
      best: early && bestEpoch >= 0 ? { epoch: bestEpoch, value: best, monitor: early.monitor } : null,
      restoredBest,
      seconds: (performance.now() - t0) / 1000,
      backend: model.params.backend.name,
    };
    await call('onTrainEnd', result);
    return result;

    function saveEpoch(): void {
      if (!ck) return;
      const position: FitPosition = {
        epoch,
        step,
        seed,
        mode,
        batchSize,
        shuffle,
        validationSplit: vSplit ?? null,
        rng: 'epochSeed(seed, epoch)',
        history: history.map((h) => {
          const o: Record<string, unknown> = { ...h };
          for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const)
            if (h[k] !== undefined) o[k] = encodeNum(h[k] as number);
          return o as unknown as EpochLogs;
        }),
        early: early ? { best: encodeNum(best), bestEpoch, wait, hasBest: bestWeights !== null } : null,
      };
      (cp as CheckpointModule).saveEpochCheckpoint(ck.dir, epoch, ck.keep, model, {
        optimizer,
        scheduler: savable,
        fit: position,
        best: early && early.restoreBestWeights ? bestWeights : null,
      });
    }
  }
}

/**
 * Runs `fn` with the parameters an optimizer means to be evaluated: schedule-free's average x
 * (`eval()`/`train()`), a chain's EMA/SWA weights; the live parameters otherwise.
 */
export function withEvalParams<T>(optimizer: unknown, fn: () => T): T {
  const o = optimizer as { eval?: unknown; train?: unknown; average?: unknown; withAveraged?: unknown };
  if (typeof o.eval === 'function' && typeof o.train === 'function') {
    (o.eval as () => void).call(o);
    try {
      return fn();
    } finally {
      (o.train as () => void).call(o);
    }
  }
  if (o.average && typeof o.withAveraged === 'function' && (o.average as { count: number }).count > 0) {
    return (o.withAveraged as (f: () => T) => T).call(o, fn);
  }
  return fn();
}

/** Loss and accuracy (null for regression) of `model` on `data`, forward only (no dropout). */
export function evaluate(
  model: FitModel,
  data: Dataset | DatasetInit,
): {
  /** Mean loss per row. */
  loss: number;
  /** Fraction of rows classified right, or `null` for regression. */
  accuracy: number | null;
  /** Rows evaluated. */
  rows: number;
} {
  model = checkModel(model);
  const d = toDataset(data, 'data');
  checkDataFits(model, d, 'data');
  const dev = model.upload(d.x, d.y);
  try {
    return { ...evalDevice(model, dev), rows: d.rows };
  } finally {
    dev.dispose();
  }
}

/** The model's outputs (logits or predictions), rows × outputs, for a Dataset or rows of features. */
export function predict(model: FitModel, x: Dataset | ArrayLike<number>): FloatArray {
  model = checkModel(model);
  const values = x instanceof Dataset ? x.x : x;
  const features = x instanceof Dataset ? x.features : model.inputs;
  if (features !== model.inputs)
    throw new DataError(`x: rows have ${features} features, the model takes ${model.inputs} inputs`);
  if (!values || typeof (values as ArrayLike<number>).length !== 'number')
    throw typeError('x', `must be a Dataset or an array of numbers, got ${describeType(x)}`);
  if (values.length === 0 || values.length % model.inputs !== 0) {
    throw new DataError(`x: length ${values.length} is not a whole, non-zero number of rows of ${model.inputs} inputs`);
  }
  return model.predict(values);
}

/** The predicted class of each row: argmax of the logits (softmax CE), or logit > 0 (one BCE output). */
export function predictClasses(model: FitModel, x: Dataset | ArrayLike<number>): Int32Array {
  const out = predict(model, x);
  const k = model.outputs;
  const rows = out.length / k;
  const cls = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (k === 1) {
      cls[r] = out[r] > 0 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let j = 1; j < k; j++) if (out[r * k + j] > out[r * k + best]) best = j;
    cls[r] = best;
  }
  return cls;
}

/** The optimizer's name in checkpoints: its class's spec name, or the wrapper's class name. */
export function optimizerName(o: TrainOptimizer): string {
  return (o as { name?: string }).name ?? o.constructor.name;
}

/** `loadStateDict` of any optimizer fit() trains with (each checks its own dict's shape). */
export function loadOptimizer(o: TrainOptimizer, dict: unknown): void {
  (o as { loadStateDict(d: unknown): void }).loadStateDict(dict);
}
