/**
 * The learning-rate range test (L. N. Smith, "Cyclical Learning Rates for Training Neural
 * Networks", WACV 2017, §3.3): train for a few hundred steps while the lr grows exponentially
 * from `minLr` to `maxLr`, and read off where the loss falls fastest.
 *
 * ```
 * lr_i      = minLr · (maxLr / minLr)^(i / (steps − 1))          i = 0 … steps − 1
 * avg_i     = β · avg_{i−1} + (1 − β) · loss_i,  avg_{−1} = 0      (β = smoothing, default 0.98)
 * smooth_i  = avg_i / (1 − β^(i+1))                               (bias-corrected, as fastai)
 * stop when smooth_i > divergeFactor · min_j≤i smooth_j           (default 4: the loss diverged)
 * ```
 *
 * The suggestion is the lr of the steepest descent of the smoothed curve: the point before the
 * curve's minimum where d smooth / d ln(lr) (central differences) is most negative. When the
 * curve has too few points for that (fewer than 5 before its minimum) it is `minLossLr / 10`,
 * one decade below the lr of the lowest smoothed loss; `method` says which was used.
 *
 * Afterwards the model's parameters and gradients, and the optimizer's state, step counts and
 * group options (lr schedules included) are put back exactly as they were.
 */
import { rangeError, typeError } from '../errors.js';
import { checkDataFits, loadOptimizer, type TrainOptimizer } from './fit.js';
import { Rng } from '../random.js';
import { describeType } from '../spec.js';
import { checkBatchSize, Dataset, epochSeed, permutation, type DatasetInit } from './data.js';
import type { FitModel } from './types.js';

/** Options of `findLr` (the range test's sweep). */
export interface LrFinderOptions {
  /** The first lr of the sweep. Default 1e-7. */
  minLr?: number;
  /** The last lr (the sweep is geometric from minLr). Default 10. */
  maxLr?: number;
  /** Steps of the sweep. Default 100. */
  steps?: number;
  /** Rows per step. Default 32 (or all rows if fewer). */
  batchSize?: number;
  /** β of the loss's exponential moving average, in [0, 1). Default 0.98. */
  smoothing?: number;
  /** Stop when the smoothed loss exceeds this many times its best. Default 4. */
  divergeFactor?: number;
  /** Seeds the batches' order and dropout. Default 0. */
  seed?: number;
}

/** What `findLr` found; the model and optimizer are back as they were. */
export interface LrFinderResult {
  /** The lr of each step of the sweep. */
  lrs: number[];
  /** Each step's batch loss, per row. */
  losses: number[];
  /** The losses' exponential moving average, bias-corrected. */
  smoothed: number[];
  /** The lr to use: where the smoothed loss falls fastest (or a tenth of the lr of its minimum). */
  suggestedLr: number;
  /** How `suggestedLr` was chosen. */
  method: 'steepest' | 'minLoss/10';
  /** The lr of the lowest smoothed loss. */
  minLossLr: number;
  /** True when the divergence stop ended the sweep early. */
  diverged: boolean;
}

const KEYS = ['minLr', 'maxLr', 'steps', 'batchSize', 'smoothing', 'divergeFactor', 'seed'];

function num(v: unknown, arg: string, ok: (x: number) => boolean, rule: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!ok(v)) throw rangeError(arg, `must be ${rule}, got ${v}`);
  return v;
}

/** Runs the range test; see the module doc. */
export function findLr(
  model: FitModel,
  optimizer: TrainOptimizer,
  data: Dataset | DatasetInit,
  options: LrFinderOptions = {},
): LrFinderResult {
  if (options === null || typeof options !== 'object')
    throw typeError('options', `must be an object, got ${describeType(options)}`);
  for (const k of Object.keys(options))
    if (!KEYS.includes(k)) throw typeError(`options.${k}`, `is not an option of findLr (known: ${KEYS.join(', ')})`);
  if (!optimizer || optimizer.params !== model?.params)
    throw rangeError('optimizer', "must be built on this model's params");
  const d = data instanceof Dataset ? data : new Dataset(data);
  checkDataFits(model, d, 'data');
  const minLr = num(options.minLr ?? 1e-7, 'options.minLr', (x) => x > 0 && Number.isFinite(x), 'finite and > 0');
  const maxLr = num(
    options.maxLr ?? 10,
    'options.maxLr',
    (x) => x > minLr && Number.isFinite(x),
    `finite and > minLr (${minLr})`,
  );
  const steps = num(options.steps ?? 100, 'options.steps', (x) => Number.isSafeInteger(x) && x >= 2, 'an integer >= 2');
  const batchSize = checkBatchSize(options.batchSize ?? Math.min(32, d.rows), d.rows, 'options.batchSize');
  const beta = num(options.smoothing ?? 0.98, 'options.smoothing', (x) => x >= 0 && x < 1, 'in [0, 1)');
  const k = num(options.divergeFactor ?? 4, 'options.divergeFactor', (x) => x > 1, '> 1');
  const seed = num(options.seed ?? 0, 'options.seed', (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0');

  // What is put back afterwards.
  const params = model.params;
  const savedParams = params.data.slice();
  const savedGrads = params.grads.slice();
  const savedState = optimizer.stateDict();
  const savedGroups = optimizer.paramGroups.map((g) => {
    const o = g as unknown as Record<string, unknown>;
    return { lr: o.lr, initialLr: o.initialLr };
  });

  const dev = model.upload(d.x, d.y);
  const lrs: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let diverged = false;
  try {
    let epoch = 0;
    let order = permutation(d.rows, new Rng(epochSeed(seed, epoch)));
    let at = 0;
    let avg = 0;
    let best = Infinity;
    const sum = model.spec.loss.reduction === 'sum';
    for (let i = 0; i < steps; i++) {
      if (at + batchSize > d.rows) {
        epoch += 1;
        order = permutation(d.rows, new Rng(epochSeed(seed, epoch)));
        at = 0;
      }
      const rows = order.subarray(at, at + batchSize);
      at += batchSize;
      const lr = minLr * (maxLr / minLr) ** (i / (steps - 1));
      for (const g of optimizer.paramGroups) (g as unknown as { lr: number }).lr = lr;
      const r = model.trainStep(dev, rows, { seed: epochSeed(seed ^ 0x2545f491, i) });
      optimizer.step();
      const loss = sum ? r.loss / rows.length : r.loss;
      avg = beta * avg + (1 - beta) * loss;
      const s = avg / (1 - beta ** (i + 1));
      lrs.push(lr);
      losses.push(loss);
      smoothed.push(s);
      if (!Number.isFinite(s) || (i > 0 && s > k * best)) {
        diverged = true;
        break;
      }
      if (s < best) best = s;
    }
  } finally {
    dev.dispose();
    loadOptimizer(optimizer, savedState);
    optimizer.paramGroups.forEach((g, i) => {
      const o = g as unknown as Record<string, unknown>;
      o.lr = savedGroups[i].lr;
      o.initialLr = savedGroups[i].initialLr;
    });
    params.data.set(savedParams);
    params.grads.set(savedGrads);
  }

  let iMin = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] < smoothed[iMin]) iMin = i;
  const minLossLr = lrs[iMin];
  if (iMin >= 4) {
    let iSteep = 1;
    let g = Infinity;
    for (let i = 1; i <= Math.min(iMin, smoothed.length - 2); i++) {
      const slope = (smoothed[i + 1] - smoothed[i - 1]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i - 1]));
      if (slope < g) {
        g = slope;
        iSteep = i;
      }
    }
    return { lrs, losses, smoothed, suggestedLr: lrs[iSteep], method: 'steepest', minLossLr, diverged };
  }
  return { lrs, losses, smoothed, suggestedLr: minLossLr / 10, method: 'minLoss/10', minLossLr, diverged };
}
