/** PyTorch's `ReduceLROnPlateau`: the lr cut that follows a metric (see the class). */
import { rangeError } from '../errors.js';
import * as check from './check.js';
import {
  checkOptimizer,
  decode,
  decodeList,
  encode,
  OrderCheck,
  stateObject,
  type Encoded,
  type SchedulableGroup,
  type SchedulableOptimizer,
} from './optimizer.js';

/** Options of `ReduceLROnPlateau` (PyTorch's, in camelCase). */
export interface PlateauOptions {
  /** `mode`, default `'min'`: whether lower or higher metrics are better. */
  mode?: 'min' | 'max';
  /** `factor`, default 0.1: new lr = lr · factor. In [0, 1). */
  factor?: number;
  /** `patience`, default 10: bad steps tolerated before a cut (a cut happens at bad = patience + 1). */
  patience?: number;
  /** `threshold`, default 1e-4: how much better counts as better. */
  threshold?: number;
  /** `threshold_mode`, default `'rel'`: threshold relative to best (`'rel'`) or absolute (`'abs'`). */
  thresholdMode?: 'rel' | 'abs';
  /** `cooldown`, default 0: steps after a cut during which bad steps are not counted. */
  cooldown?: number;
  /** `min_lr`, default 0: the lowest lr, for all groups or one per group. */
  minLr?: number | readonly number[];
  /** `eps`, default 1e-8: a cut smaller than this is not applied. */
  eps?: number;
}

/** `ReduceLROnPlateau.stateDict()`: PyTorch's keys; ±Infinity and NaN as strings so JSON keeps them. */
export interface PlateauStateDict {
  /** The scheduler's class name. */
  name: 'ReduceLROnPlateau';
  /** `step()` calls so far. */
  last_epoch: number;
  /** The best metric so far. */
  best: Encoded;
  /** Bad steps since the last improvement or cut. */
  num_bad_epochs: number;
  /** Cooldown steps left. */
  cooldown_counter: number;
  /** The lowest lr of each group. */
  min_lrs: Encoded[];
  /** Each group's lr after the last step. */
  _last_lr: Encoded[];
}

/**
 * PyTorch `ReduceLROnPlateau` (2.x): cuts the lr by `factor` when a metric has stopped improving
 * for more than `patience` steps.
 *
 * Each `step(metric)`:
 *
 * ```
 * if better(metric, best):  best = metric; bad = 0      (min/rel: metric < best·(1 − threshold);
 * else:                     bad += 1                      min/abs: metric < best − threshold; max: mirrored)
 * if cooldown > 0:          cooldown −= 1; bad = 0
 * if bad > patience:        for each group: new = max(lr · factor, minLr); if lr − new > eps: lr = new
 *                           cooldown = options.cooldown; bad = 0     (also when no lr could move)
 * ```
 *
 * `best` moves only on a step that counts as better, so with `thresholdMode: 'abs'` small gains
 * add up until one clears the threshold.
 *
 * Options (PyTorch's defaults): `mode` 'min', `factor` 0.1, `patience` 10, `threshold` 1e-4,
 * `thresholdMode` 'rel', `cooldown` 0, `minLr` 0, `eps` 1e-8. State dicts use PyTorch's keys.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, ReduceLROnPlateau } from 'downhill';
 * const params = await ParamStore.create({ w: [4] });
 * const opt = new SGD(params, { lr: 0.1 });
 * const plateau = new ReduceLROnPlateau(opt, { mode: 'min', factor: 0.5, patience: 2 });
 * for (const valLoss of [1.0, 0.9, 0.9, 0.9, 0.9, 0.8]) {
 *   opt.step(); // after a real epoch of training
 *   plateau.step(valLoss);
 * }
 * console.log(opt.paramGroups[0].lr); // 0.05: three steps without improvement exceeded patience 2
 * ```
 */
export class ReduceLROnPlateau {
  /** The optimizer whose groups' lrs are cut. */
  readonly optimizer: SchedulableOptimizer;
  /** The class name (PyTorch's), as saved in state dicts and checkpoints. */
  readonly name = 'ReduceLROnPlateau';
  /** Whether lower (`'min'`) or higher (`'max'`) metrics are better. */
  readonly mode: 'min' | 'max';
  /** New lr = lr · factor at a cut. */
  readonly factor: number;
  /** Bad steps tolerated before a cut. */
  readonly patience: number;
  /** How much better counts as better (see `thresholdMode`). */
  readonly threshold: number;
  /** `threshold` relative to the best metric, or absolute. */
  readonly thresholdMode: 'rel' | 'abs';
  /** Steps after a cut during which bad steps are not counted. */
  readonly cooldown: number;
  /** A cut smaller than this is not applied. */
  readonly eps: number;
  readonly #groups: SchedulableGroup[];
  /** Set when min_lr was one number, so a group count that changed can be served (as PyTorch). */
  readonly #defaultMinLr: number | null;
  readonly #order = new OrderCheck();
  #minLrs: number[];
  #best: number;
  #bad = 0;
  #cooldownCounter = 0;
  #t = 0;
  #lastLr: number[];

  constructor(optimizer: SchedulableOptimizer, options: PlateauOptions = {}) {
    const groups = checkOptimizer(optimizer);
    const o = check.options(options);
    check.known(o, 'options', ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    const factor = check.finite(o.factor ?? 0.1, 'options.factor');
    if (!(factor >= 0 && factor < 1)) throw rangeError('options.factor', `must be in [0, 1), got ${factor}`);
    this.mode = check.oneOf(o.mode ?? 'min', 'options.mode', ['min', 'max'] as const);
    this.factor = factor;
    this.patience = check.int(o.patience ?? 10, 'options.patience', 0);
    this.threshold = check.nonNegative(o.threshold ?? 1e-4, 'options.threshold');
    this.thresholdMode = check.oneOf(o.thresholdMode ?? 'rel', 'options.thresholdMode', ['rel', 'abs'] as const);
    this.cooldown = check.int(o.cooldown ?? 0, 'options.cooldown', 0);
    this.#minLrs = check.perGroup(o.minLr ?? 0, 'options.minLr', groups.length, check.nonNegative);
    this.#defaultMinLr = Array.isArray(o.minLr) ? null : this.#minLrs[0];
    this.eps = check.nonNegative(o.eps ?? 1e-8, 'options.eps');
    this.optimizer = optimizer;
    this.#groups = groups;
    this.#best = this.#worst;
    this.#lastLr = groups.map((g) => g.lr);
  }

  get #worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  #isBetter(a: number, best: number): boolean {
    if (this.mode === 'min')
      return this.thresholdMode === 'rel' ? a < best * (1.0 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1.0) : a > best + this.threshold;
  }

  /** Records the metric of the step just taken and cuts the lr if it has plateaued. */
  step(metric: number): void {
    const current = check.num(metric, 'metric');
    const groups = this.#groups;
    if (groups.length !== this.#minLrs.length && this.#defaultMinLr === null)
      throw rangeError(
        'options.minLr',
        `has ${this.#minLrs.length} values but the optimizer now has ${groups.length} groups`,
      );
    this.#order.check(this.optimizer, this.name);
    if (groups.length !== this.#minLrs.length) this.#minLrs = groups.map(() => this.#defaultMinLr as number);
    this.#t += 1;
    if (this.#isBetter(current, this.#best)) {
      this.#best = current;
      this.#bad = 0;
    } else {
      this.#bad += 1;
    }
    if (this.#cooldownCounter > 0) {
      this.#cooldownCounter -= 1;
      this.#bad = 0;
    }
    if (this.#bad > this.patience) {
      groups.forEach((g, i) => {
        const old = g.lr;
        const lr = Math.max(old * this.factor, this.#minLrs[i]);
        if (old - lr > this.eps) g.lr = lr;
      });
      this.#cooldownCounter = this.cooldown;
      this.#bad = 0;
    }
    this.#lastLr = groups.map((g) => g.lr);
  }

  /** The best metric so far (±Infinity before the first step). */
  get best(): number {
    return this.#best;
  }

  /** Bad steps counted since the last improvement or cut (PyTorch's `num_bad_epochs`). */
  get numBadEpochs(): number {
    return this.#bad;
  }

  /** Steps of cooldown left (PyTorch's `cooldown_counter`). */
  get cooldownCounter(): number {
    return this.#cooldownCounter;
  }

  /** Whether a cooldown is running (bad steps are not counted). */
  get inCooldown(): boolean {
    return this.#cooldownCounter > 0;
  }

  /** `step()` calls so far (PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.#t;
  }

  /** Each group's lr after the last step (PyTorch's `get_last_lr()`). */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** The counters and lrs, for checkpoints (PyTorch's keys). */
  stateDict(): PlateauStateDict {
    return {
      name: this.name,
      last_epoch: this.#t,
      best: encode(this.#best),
      num_bad_epochs: this.#bad,
      cooldown_counter: this.#cooldownCounter,
      min_lrs: this.#minLrs.map(encode),
      _last_lr: this.#lastLr.map(encode),
    };
  }

  /** Restores the counters and writes the saved lrs into the optimizer's groups; checked before anything changes. */
  loadStateDict(state: PlateauStateDict): void {
    const s = stateObject(state, 'stateDict', this.name);
    const n = this.#groups.length;
    const t = check.int(s.last_epoch, 'stateDict.last_epoch', 0);
    const best = decode(s.best, 'stateDict.best');
    const bad = check.int(s.num_bad_epochs, 'stateDict.num_bad_epochs', 0);
    const cooldown = check.int(s.cooldown_counter, 'stateDict.cooldown_counter', 0);
    const minLrs = decodeList(s.min_lrs, 'stateDict.min_lrs', n);
    const lastLr = decodeList(s._last_lr, 'stateDict._last_lr', n);
    this.#t = t;
    this.#best = best;
    this.#bad = bad;
    this.#cooldownCounter = cooldown;
    this.#minLrs = minLrs;
    this.#lastLr = lastLr;
    this.#groups.forEach((g, i) => (g.lr = lastLr[i]));
  }
}
