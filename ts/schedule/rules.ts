/**
 * The one implementation of every learning-rate schedule: PyTorch's arithmetic
 * (`torch.optim.lr_scheduler`, 2.x) for one param group, as pure functions of the group's current
 * value and the scheduler's position. The schedule functions (`functions.ts`) fold a rule over the
 * steps; the scheduler objects (`schedulers.ts`) apply the same rule to an optimizer's live groups.
 *
 * Why rules and not closed forms: PyTorch's `scheduler.step()` uses the *chainable* form for most
 * schedulers (StepLR multiplies the current lr by gamma, CosineAnnealingLR rescales the current
 * distance to eta_min, ...). The two agree in exact arithmetic but not in rounding, and only the
 * chainable form composes the way ChainedScheduler and SequentialLR do (a member scales whatever
 * lr the previous one left, an lr changed by hand keeps being scaled). Each rule below is written
 * with PyTorch's operation order, so a standalone schedule reproduces PyTorch to the last bit
 * wherever `Math.cos`/`Math.pow` round like the C library.
 */
import { rangeError, typeError } from '../errors.js';
import * as check from './check.js';

/** PyTorch's arithmetic of one scheduler for one param group. */
export interface Rule {
  /** True when the value depends on the position only (the current lr is ignored). */
  readonly absolute: boolean;
  /**
   * The value the constructor sets (PyTorch's initial step, position 0), from the group's current
   * lr. `again` is true when SequentialLR re-runs that step on its first member.
   */
  first(lr: number, again: boolean): number;
  /** The value a SequentialLR hand-over sets (PyTorch's `_update_lr(0)`: the closed form at 0 where one exists). */
  restart(lr: number): number;
  /** The value at position `t >= 1` from the group's current lr (PyTorch's `get_lr()`). */
  next(lr: number, t: number): number;
  /** The momentum (SGD) or beta1 (Adam) set at position `t`, for rules that cycle it. */
  momentum?(t: number): number | undefined;
}

/** What a PyTorch constructor writes into a param group before it records `initial_lr`. */
export interface Preparation {
  lr?: number;
  initialLr?: number;
  momentum?: number;
}

/** A validated scheduler family, ready to make one rule per param group. */
export interface Family {
  /** The PyTorch class. */
  readonly name: string;
  /** The options after defaults (camelCase names), for reports and the CLI. */
  readonly options: Record<string, unknown>;
  /** True when the rules set a momentum/beta1 each step (CyclicLR, OneCycleLR with cycleMomentum). */
  readonly cyclesMomentum: boolean;
  prepare?(group: number): Preparation;
  /** The rule of param group `group`, whose PyTorch `base_lr` (the recorded initial lr) is `base`. */
  rule(base: number, group: number): Rule;
}

/** A factor as a function of the step (PyTorch's `lr_lambda`). */
export type LrLambda = (step: number) => number;

// ---------------------------------------------------------------------------------------------
// Options. Names are camelCase; each documents its PyTorch keyword.

/** Options of `StepLR` and `stepSchedule`. */
export interface StepOptions {
  /** `step_size`: decay every this many steps. */
  stepSize: number;
  /** `gamma`, default 0.1: the factor applied at each decay. */
  gamma?: number;
}

/** Options of `MultiStepLR` and `multiStep`. */
export interface MultiStepOptions {
  /** `milestones`: the steps at which to decay; a step listed k times decays by gamma^k. */
  milestones: readonly number[];
  /** `gamma`, default 0.1. */
  gamma?: number;
}

/** Options of `ExponentialLR` and `exponential`. */
export interface ExponentialOptions {
  /** `gamma`: the factor applied every step. */
  gamma: number;
}

/** Options of `ConstantLR` and `constantFactor`. */
export interface ConstantOptions {
  /** `factor`, default 1/3: the lr is multiplied by it until `totalIters`. In [0, 1]. */
  factor?: number;
  /** `total_iters`, default 5. */
  totalIters?: number;
}

/** Options of `LinearLR` and `linear`. */
export interface LinearOptions {
  /** `start_factor`, default 1/3, in (0, 1]. */
  startFactor?: number;
  /** `end_factor`, default 1, in [0, 1]. */
  endFactor?: number;
  /** `total_iters`, default 5: steps to go from start to end factor. */
  totalIters?: number;
}

/** Options of `PolynomialLR` and `polynomial`. */
export interface PolynomialOptions {
  /** `total_iters`, default 5: the lr reaches 0 at this step and stays there. */
  totalIters?: number;
  /** `power`, default 1. */
  power?: number;
}

/** Options of `CosineAnnealingLR` and `cosineAnnealing`. */
export interface CosineAnnealingOptions {
  /** `T_max`: half-period in steps; past it the lr rises again, as PyTorch's does. */
  tMax: number;
  /** `eta_min`, default 0: the lowest lr. */
  etaMin?: number;
}

/** Options of `CosineAnnealingWarmRestarts` and `cosineWarmRestarts`. */
export interface CosineWarmRestartsOptions {
  /** `T_0`: length of the first cycle in steps. */
  t0: number;
  /** `T_mult`, default 1: each cycle is this many times longer than the one before. */
  tMult?: number;
  /** `eta_min`, default 0. */
  etaMin?: number;
}

/**
 * Options of `CyclicLR`, `cyclic` and `cyclicMomentum`. `N` is `number` for schedule functions and
 * `number | number[]` (one per param group) for scheduler objects.
 */
export interface CyclicOptions<N = number | readonly number[]> {
  /** `base_lr`: the lower boundary of the cycle (the constructor sets the lr to it). */
  baseLr: N;
  /** `max_lr`: the upper boundary (reached only if the scale is 1). */
  maxLr: N;
  /** `step_size_up`, default 2000: steps in the increasing half of a cycle. */
  stepSizeUp?: number;
  /** `step_size_down`, default = `stepSizeUp`. */
  stepSizeDown?: number | null;
  /** `mode`, default `'triangular'`; `'triangular2'` halves the amplitude each cycle, `'exp_range'` scales it by gamma^step. */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** `gamma`, default 1: the `exp_range` base. */
  gamma?: number;
  /** `scale_fn`: a custom amplitude scale (overrides `mode`), of the cycle number or of the step per `scaleMode`. */
  scaleFn?: ((x: number) => number) | null;
  /** `scale_mode`, default `'cycle'`: what `scaleFn` is a function of (the built-in modes fix it). */
  scaleMode?: 'cycle' | 'iterations';
  /** `cycle_momentum`, default true: cycle momentum (SGD) or beta1 (Adam) inversely to the lr. */
  cycleMomentum?: boolean;
  /** `base_momentum`, default 0.8. */
  baseMomentum?: N;
  /** `max_momentum`, default 0.9. */
  maxMomentum?: N;
}

/** Options of `OneCycleLR`, `oneCycle` and `oneCycleMomentum` (`N` as in `CyclicOptions`). */
export interface OneCycleOptions<N = number | readonly number[]> {
  /** `max_lr`: the peak lr. */
  maxLr: N;
  /** `total_steps`; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number | null;
  /** `epochs`. */
  epochs?: number | null;
  /** `steps_per_epoch`. */
  stepsPerEpoch?: number | null;
  /** `pct_start`, default 0.3: the fraction of the steps spent increasing the lr. */
  pctStart?: number;
  /** `anneal_strategy`, default `'cos'`. */
  annealStrategy?: 'cos' | 'linear';
  /** `cycle_momentum`, default true. */
  cycleMomentum?: boolean;
  /** `base_momentum`, default 0.85. */
  baseMomentum?: N;
  /** `max_momentum`, default 0.95. */
  maxMomentum?: N;
  /** `div_factor`, default 25: the initial lr is maxLr / divFactor. */
  divFactor?: number;
  /** `final_div_factor`, default 1e4: the final lr is initial lr / finalDivFactor. */
  finalDivFactor?: number;
  /** `three_phase`, default false: up, down to the initial lr, then down to the final lr. */
  threePhase?: boolean;
}

/** Options of `LambdaLR`, `MultiplicativeLR`, `lambdaSchedule` and `multiplicative`. */
export interface LambdaOptions {
  /** `lr_lambda`: a function of the step giving a factor, or one such function per param group. */
  lrLambda: LrLambda | readonly LrLambda[];
}

// ---------------------------------------------------------------------------------------------
// Families. `arg` prefixes messages (`options`), `extra` lists keys the caller handles itself.

function opts(o: unknown, arg: string, keys: readonly string[], extra: readonly string[]): Record<string, unknown> {
  const r = check.options(o, arg);
  check.known(r, arg, [...keys, ...extra]);
  return r;
}

/** Undefined and null (Python's None) both mean "the default". */
function given<T>(v: T | null | undefined, dflt: T): T {
  return v === undefined || v === null ? dflt : v;
}

function chainable(
  name: string,
  options: Record<string, unknown>,
  make: (base: number) => Omit<Rule, 'absolute'>,
): Family {
  return { name, options, cyclesMomentum: false, rule: (base) => ({ absolute: false, ...make(base) }) };
}

function closedForm(name: string, options: Record<string, unknown>, at: (base: number, t: number) => number): Family {
  return {
    name,
    options,
    cyclesMomentum: false,
    rule: (base) => ({
      absolute: true,
      first: () => at(base, 0),
      restart: () => at(base, 0),
      next: (_lr, t) => at(base, t),
    }),
  };
}

/** StepLR: lr · gamma every `stepSize` steps. */
export function stepFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['stepSize', 'gamma'], extra);
  const stepSize = check.int(r.stepSize, `${arg}.stepSize`, 1);
  const gamma = check.nonNegative(given(r.gamma, 0.1), `${arg}.gamma`);
  return chainable('StepLR', { stepSize, gamma }, (base) => ({
    first: (lr) => lr,
    restart: () => base,
    next: (lr, t) => (t % stepSize !== 0 ? lr : lr * gamma),
  }));
}

/** MultiStepLR: lr · gamma at each milestone. */
export function multiStepFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['milestones', 'gamma'], extra);
  if (!Array.isArray(r.milestones))
    throw typeError(`${arg}.milestones`, `must be an array of steps, got ${check.typeName(r.milestones)}`);
  const milestones = (r.milestones as unknown[]).map((m, i) => check.int(m, `${arg}.milestones[${i}]`, 0));
  const gamma = check.nonNegative(given(r.gamma, 0.1), `${arg}.gamma`);
  const count = new Map<number, number>();
  for (const m of milestones) count.set(m, (count.get(m) ?? 0) + 1);
  const at = (lr: number, t: number) => {
    const k = count.get(t);
    return k === undefined ? lr : lr * gamma ** k;
  };
  return chainable('MultiStepLR', { milestones: [...milestones], gamma }, (base) => ({
    first: (lr) => at(lr, 0),
    // The closed form counts the milestones <= 0, i.e. those at 0.
    restart: () => base * gamma ** (count.get(0) ?? 0),
    next: at,
  }));
}

/** ExponentialLR: lr · gamma every step. */
export function exponentialFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['gamma'], extra);
  const gamma = check.nonNegative(r.gamma, `${arg}.gamma`);
  return chainable('ExponentialLR', { gamma }, (base) => ({
    first: (lr) => lr,
    restart: () => base,
    next: (lr) => lr * gamma,
  }));
}

/** Options of `SWALR`. */
export interface SwaOptions {
  /** `swa_lr`: the lr to anneal to (one number, or one per param group). */
  swaLr: number | readonly number[];
  /** `anneal_epochs`, default 10: steps of the annealing (0: jump to swaLr). */
  annealEpochs?: number;
  /** `anneal_strategy`, default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
}

/**
 * SWALR (torch.optim.swa_utils.SWALR): anneals each group's lr from its current value to `swaLr`
 * over `annealEpochs` steps, in PyTorch's chainable arithmetic (the previous lr is recovered from
 * the current one, then moved by the annealing factor), and holds it there.
 */
export function swaFamily(o: unknown, groups: number, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['swaLr', 'annealEpochs', 'annealStrategy'], extra);
  const swaLrs = check.perGroup(r.swaLr, `${arg}.swaLr`, groups, check.nonNegative);
  const annealEpochs = check.int(given(r.annealEpochs, 10), `${arg}.annealEpochs`, 0);
  const strategy = check.oneOf(given(r.annealStrategy, 'cos'), `${arg}.annealStrategy`, ['cos', 'linear'] as const);
  const anneal = strategy === 'cos' ? (t: number) => (1 - Math.cos(Math.PI * t)) / 2 : (t: number) => t;
  const clamp = (x: number) => Math.max(0, Math.min(1, x));
  const value = (swa: number, lr: number, step: number) => {
    const s = annealEpochs === 0 ? Math.max(1, step) : step;
    const prevAlpha = anneal(clamp((s - 1) / Math.max(1, annealEpochs)));
    const prev = prevAlpha === 1 ? swa : (lr - prevAlpha * swa) / (1 - prevAlpha);
    const alpha = anneal(clamp(s / Math.max(1, annealEpochs)));
    return swa * alpha + prev * (1 - alpha);
  };
  return {
    name: 'SWALR',
    options: { swaLr: swaLrs, annealEpochs, annealStrategy: strategy },
    cyclesMomentum: false,
    rule: (base, group) => ({
      absolute: false,
      first: (lr) => value(swaLrs[group], lr, 0),
      restart: () => value(swaLrs[group], base, 0),
      next: (lr, t) => value(swaLrs[group], lr, t),
    }),
  };
}

/** ConstantLR: lr · factor until `totalIters`, then lr. */
export function constantFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['factor', 'totalIters'], extra);
  const factor = check.inRange(given(r.factor, 1 / 3), `${arg}.factor`, 0, 1);
  const totalIters = check.int(given(r.totalIters, 5), `${arg}.totalIters`, 0);
  return chainable('ConstantLR', { factor, totalIters }, (base) => ({
    first: (lr) => lr * factor,
    restart: () => base * (factor + (0 >= totalIters ? 1 - factor : 0)),
    // PyTorch divides by zero here when factor is 0; the closed form's value (the base) is what it means.
    next: (lr, t) => (t !== totalIters ? lr : factor === 0 ? base : lr * (1.0 / factor)),
  }));
}

/** LinearLR: lr · a factor going linearly from `startFactor` to `endFactor` over `totalIters` steps. */
export function linearFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['startFactor', 'endFactor', 'totalIters'], extra);
  const s = check.inRange(given(r.startFactor, 1 / 3), `${arg}.startFactor`, 0, 1, true);
  const e = check.inRange(given(r.endFactor, 1.0), `${arg}.endFactor`, 0, 1);
  const T = check.int(given(r.totalIters, 5), `${arg}.totalIters`, 0);
  return chainable('LinearLR', { startFactor: s, endFactor: e, totalIters: T }, (base) => ({
    first: (lr) => lr * s,
    restart: () => (T === 0 ? base * s : base * (s + ((e - s) * Math.min(T, 0)) / T)),
    next: (lr, t) => (t > T ? lr : lr * (1.0 + (e - s) / (T * s + (t - 1) * (e - s)))),
  }));
}

/** PolynomialLR: lr · (1 − t/totalIters)^power, 0 from `totalIters` on. */
export function polynomialFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['totalIters', 'power'], extra);
  const T = check.int(given(r.totalIters, 5), `${arg}.totalIters`, 0);
  const power = check.nonNegative(given(r.power, 1.0), `${arg}.power`);
  return chainable('PolynomialLR', { totalIters: T, power }, (base) => ({
    first: (lr) => lr,
    restart: () => (T === 0 ? base : base * (1.0 - Math.min(T, 0) / T) ** power),
    next: (lr, t) => (t > T ? lr : lr * ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** power),
  }));
}

/** CosineAnnealingLR (SGDR without restarts): eta_min + (base − eta_min)(1 + cos(π t / T_max))/2, continued past T_max. */
export function cosineAnnealingFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['tMax', 'etaMin'], extra);
  const T = check.positive(r.tMax, `${arg}.tMax`);
  const eta = check.finite(given(r.etaMin, 0.0), `${arg}.etaMin`);
  return chainable('CosineAnnealingLR', { tMax: T, etaMin: eta }, (base) => ({
    first: (lr) => lr,
    // The closed form at 0 (cos 0 = 1), which need not round back to the base.
    restart: () => eta + ((base - eta) * 2) / 2,
    next: (lr, t) =>
      // One step past each minimum the ratio below would divide by 1 + cos(π) = 0; PyTorch adds the rise instead.
      (t - 1 - T) % (2 * T) === 0
        ? lr + ((base - eta) * (1 - Math.cos(Math.PI / T))) / 2
        : ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (lr - eta) + eta,
  }));
}

/** Position in the current cycle and that cycle's length, exactly as PyTorch's step-by-step update counts them. */
export function restartPosition(t: number, t0: number, tMult: number): [number, number] {
  if (tMult === 1) return [t % t0, t0];
  let cur = t;
  let len = t0;
  while (cur >= len) {
    cur -= len;
    len *= tMult;
  }
  return [cur, len];
}

/** CosineAnnealingWarmRestarts (SGDR): cosine from base to eta_min over cycles of T_0, T_0·T_mult, ... steps. */
export function cosineWarmRestartsFamily(o: unknown, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['t0', 'tMult', 'etaMin'], extra);
  const t0 = check.int(r.t0, `${arg}.t0`, 1);
  const tMult = check.int(given(r.tMult, 1), `${arg}.tMult`, 1);
  const eta = check.finite(given(r.etaMin, 0.0), `${arg}.etaMin`);
  return closedForm('CosineAnnealingWarmRestarts', { t0, tMult, etaMin: eta }, (base, t) => {
    const [cur, len] = restartPosition(t, t0, tMult);
    return eta + ((base - eta) * (1 + Math.cos((Math.PI * cur) / len))) / 2;
  });
}

/** CyclicLR (Smith 2017): triangular cycles between base_lr and max_lr, momentum cycling the other way. */
export function cyclicFamily(o: unknown, groups = 1, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(
    o,
    arg,
    [
      'baseLr',
      'maxLr',
      'stepSizeUp',
      'stepSizeDown',
      'mode',
      'gamma',
      'scaleFn',
      'scaleMode',
      'cycleMomentum',
      'baseMomentum',
      'maxMomentum',
    ],
    extra,
  );
  const baseLrs = check.perGroup(r.baseLr, `${arg}.baseLr`, groups, check.nonNegative);
  const maxLrs = check.perGroup(r.maxLr, `${arg}.maxLr`, groups, check.nonNegative);
  const up = check.positive(given(r.stepSizeUp, 2000), `${arg}.stepSizeUp`);
  const down = check.nonNegative(given(r.stepSizeDown, up), `${arg}.stepSizeDown`);
  const mode = check.oneOf(given(r.mode, 'triangular'), `${arg}.mode`, [
    'triangular',
    'triangular2',
    'exp_range',
  ] as const);
  const gamma = check.nonNegative(given(r.gamma, 1.0), `${arg}.gamma`);
  const custom =
    r.scaleFn === undefined || r.scaleFn === null ? null : check.fn<(x: number) => number>(r.scaleFn, `${arg}.scaleFn`);
  const givenScaleMode = check.oneOf(given(r.scaleMode, 'cycle'), `${arg}.scaleMode`, ['cycle', 'iterations'] as const);
  const cycleMomentum = check.bool(given(r.cycleMomentum, true), `${arg}.cycleMomentum`);
  const baseMs = check.perGroup(given(r.baseMomentum, 0.8), `${arg}.baseMomentum`, groups, check.finite);
  const maxMs = check.perGroup(given(r.maxMomentum, 0.9), `${arg}.maxMomentum`, groups, check.finite);

  const total = up + down;
  const ratio = up / total;
  // The built-in modes fix what the scale is a function of, whatever scaleMode says (as PyTorch).
  const scaleMode = custom ? givenScaleMode : mode === 'exp_range' ? 'iterations' : 'cycle';
  const scale: (x: number) => number =
    custom ??
    (mode === 'triangular' ? () => 1.0 : mode === 'triangular2' ? (x) => 1 / 2.0 ** (x - 1) : (x) => gamma ** x);
  const shape = (t: number): [number, number] => {
    const cycle = Math.floor(1 + t / total);
    const x = 1.0 + t / total - cycle;
    const height = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    const s = scale(scaleMode === 'cycle' ? cycle : t);
    if (typeof s !== 'number') throw typeError(`${arg}.scaleFn`, `must return a number, got ${check.typeName(s)}`);
    return [height, s];
  };
  const lrAt = (low: number, high: number, t: number) => {
    const [height, s] = shape(t);
    return low + (high - low) * height * s;
  };
  return {
    name: 'CyclicLR',
    options: {
      baseLr: r.baseLr,
      maxLr: r.maxLr,
      stepSizeUp: up,
      stepSizeDown: down,
      mode,
      gamma,
      scaleMode,
      cycleMomentum,
      baseMomentum: given(r.baseMomentum, 0.8),
      maxMomentum: given(r.maxMomentum, 0.9),
    },
    cyclesMomentum: cycleMomentum,
    prepare: (g) => ({ lr: baseLrs[g], ...(cycleMomentum ? { momentum: maxMs[g] } : {}) }),
    rule: (base, g) => ({
      absolute: true,
      // PyTorch's constructor step runs before it replaces base_lrs (the recorded initial lr) by base_lr.
      first: (_lr, again) => lrAt(again ? baseLrs[g] : base, maxLrs[g], 0),
      restart: () => lrAt(baseLrs[g], maxLrs[g], 0),
      next: (_lr, t) => lrAt(baseLrs[g], maxLrs[g], t),
      ...(cycleMomentum
        ? {
            momentum: (t: number) => {
              const [height, s] = shape(t);
              return maxMs[g] - (maxMs[g] - baseMs[g]) * height * s;
            },
          }
        : {}),
    }),
  };
}

interface Phase {
  end: number;
  lr: [number, number];
  momentum: [number, number];
}

/** OneCycleLR (Smith & Topin 2018): warm up to max_lr, anneal to max_lr / (div_factor · final_div_factor). */
export function oneCycleFamily(o: unknown, groups = 1, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(
    o,
    arg,
    [
      'maxLr',
      'totalSteps',
      'epochs',
      'stepsPerEpoch',
      'pctStart',
      'annealStrategy',
      'cycleMomentum',
      'baseMomentum',
      'maxMomentum',
      'divFactor',
      'finalDivFactor',
      'threePhase',
    ],
    extra,
  );
  let total: number;
  if (r.totalSteps !== undefined && r.totalSteps !== null) total = check.int(r.totalSteps, `${arg}.totalSteps`, 1);
  else if (r.epochs !== undefined && r.epochs !== null && r.stepsPerEpoch !== undefined && r.stepsPerEpoch !== null)
    total = check.int(r.epochs, `${arg}.epochs`, 1) * check.int(r.stepsPerEpoch, `${arg}.stepsPerEpoch`, 1);
  else throw typeError(`${arg}.totalSteps`, 'is required (or give both epochs and stepsPerEpoch)');
  const maxLrs = check.perGroup(r.maxLr, `${arg}.maxLr`, groups, check.nonNegative);
  const pct = check.inRange(given(r.pctStart, 0.3), `${arg}.pctStart`, 0, 1);
  const anneal = check.oneOf(given(r.annealStrategy, 'cos'), `${arg}.annealStrategy`, ['cos', 'linear'] as const);
  const cycleMomentum = check.bool(given(r.cycleMomentum, true), `${arg}.cycleMomentum`);
  const baseMs = check.perGroup(given(r.baseMomentum, 0.85), `${arg}.baseMomentum`, groups, check.finite);
  const maxMs = check.perGroup(given(r.maxMomentum, 0.95), `${arg}.maxMomentum`, groups, check.finite);
  const div = check.positive(given(r.divFactor, 25.0), `${arg}.divFactor`);
  const finalDiv = check.positive(given(r.finalDivFactor, 1e4), `${arg}.finalDivFactor`);
  const threePhase = check.bool(given(r.threePhase, false), `${arg}.threePhase`);

  const ends = threePhase ? [pct * total - 1, 2 * pct * total - 2, total - 1] : [pct * total - 1, total - 1];

  const annealFn =
    anneal === 'cos'
      ? (start: number, end: number, p: number) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * p) + 1)
      : (start: number, end: number, p: number) => (end - start) * p + start;
  const phasesOf = (g: number): Phase[] => {
    const initial = maxLrs[g] / div;
    const min = initial / finalDiv;
    const [mx, bm] = [maxMs[g], baseMs[g]];
    return threePhase
      ? [
          { end: ends[0], lr: [initial, maxLrs[g]], momentum: [mx, bm] },
          { end: ends[1], lr: [maxLrs[g], initial], momentum: [bm, mx] },
          { end: ends[2], lr: [initial, min], momentum: [mx, mx] },
        ]
      : [
          { end: ends[0], lr: [initial, maxLrs[g]], momentum: [mx, bm] },
          { end: ends[1], lr: [maxLrs[g], min], momentum: [bm, mx] },
        ];
  };
  const at = (phases: Phase[], t: number, which: 'lr' | 'momentum') => {
    if (t > total) throw rangeError('step', `${t} is past ${arg}.totalSteps (${total})`);
    let start = 0.0;
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i];
      if (t <= p.end || i === phases.length - 1) {
        // PyTorch raises ZeroDivisionError here (e.g. pctStart · totalSteps = 1 at step 0).
        if (p.end === start) throw rangeError(`${arg}.pctStart`, `puts step ${t} in a phase of zero length`);
        return annealFn(p[which][0], p[which][1], (t - start) / (p.end - start));
      }
      start = p.end;
    }
    throw new Error('unreachable');
  };
  return {
    name: 'OneCycleLR',
    options: {
      maxLr: r.maxLr,
      totalSteps: total,
      pctStart: pct,
      annealStrategy: anneal,
      cycleMomentum,
      baseMomentum: given(r.baseMomentum, 0.85),
      maxMomentum: given(r.maxMomentum, 0.95),
      divFactor: div,
      finalDivFactor: finalDiv,
      threePhase,
    },
    cyclesMomentum: cycleMomentum,
    prepare: (g) => ({ initialLr: maxLrs[g] / div, ...(cycleMomentum ? { momentum: maxMs[g] } : {}) }),
    rule: (_base, g) => {
      const phases = phasesOf(g);
      return {
        absolute: true,
        first: () => at(phases, 0, 'lr'),
        restart: () => at(phases, 0, 'lr'),
        next: (_lr, t) => at(phases, t, 'lr'),
        ...(cycleMomentum ? { momentum: (t: number) => at(phases, t, 'momentum') } : {}),
      };
    },
  };
}

function lambdas(r: Record<string, unknown>, arg: string, groups: number): LrLambda[] {
  return check.perGroup(r.lrLambda, `${arg}.lrLambda`, groups, (f, a) => check.fn<LrLambda>(f, a));
}

function factor(f: LrLambda, t: number, arg: string): number {
  const v = f(t);
  if (typeof v !== 'number') throw typeError(`${arg}.lrLambda`, `must return a number, got ${check.typeName(v)}`);
  return v;
}

/** LambdaLR: base · lrLambda(t). */
export function lambdaFamily(o: unknown, groups = 1, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['lrLambda'], extra);
  const fs = lambdas(r, arg, groups);
  return {
    name: 'LambdaLR',
    options: {},
    cyclesMomentum: false,
    rule: (base, g) => {
      const at = (t: number) => base * factor(fs[g], t, arg);
      return { absolute: true, first: () => at(0), restart: () => at(0), next: (_lr, t) => at(t) };
    },
  };
}

/** MultiplicativeLR: lr · lrLambda(t) every step after the first. */
export function multiplicativeFamily(o: unknown, groups = 1, arg = 'options', extra: readonly string[] = []): Family {
  const r = opts(o, arg, ['lrLambda'], extra);
  const fs = lambdas(r, arg, groups);
  return {
    name: 'MultiplicativeLR',
    options: {},
    cyclesMomentum: false,
    rule: (_base, g) => ({
      absolute: false,
      first: (lr) => lr,
      restart: (lr) => lr * factor(fs[g], 0, arg),
      next: (lr, t) => lr * factor(fs[g], t, arg),
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Composition.

/** Number of milestones <= t (Python's `bisect_right`). */
function passed(milestones: readonly number[], t: number): number {
  let n = 0;
  while (n < milestones.length && milestones[n] <= t) n++;
  return n;
}

/**
 * SequentialLR: member i runs from milestone i−1 on, restarted at its own step 0 at the
 * hand-over (its closed form at 0, or for MultiplicativeLR its factor at 0 on the current lr).
 */
export function sequentialRule(members: readonly Rule[], milestones: readonly number[]): Rule {
  const offset = (i: number) => (i === 0 ? 0 : milestones[i - 1]);
  const first = members[passed(milestones, 0)];
  return {
    absolute: members.every((m) => m.absolute),
    first: (lr) => first.first(lr, true),
    // Only schedule functions nest (PyTorch cannot): a nested sequence starts over at its own step 0.
    restart: (lr) => first.restart(lr),
    next: (lr, t) => {
      const i = passed(milestones, t);
      return i > 0 && milestones[i - 1] === t ? members[i].restart(lr) : members[i].next(lr, t - offset(i));
    },
    momentum: (t) => {
      const i = passed(milestones, t);
      return members[i].momentum?.(t - offset(i));
    },
  };
}

/**
 * ChainedScheduler: every member's step applied in order to the lr the previous one left. `start`
 * is the lr the first member was built on.
 */
export function chainRule(members: readonly Rule[], start: number): Rule {
  const first = (lr: number) => members.reduce((v, m) => m.first(v, false), lr);
  return {
    // The last member decides: an absolute one ignores whatever lr the others left.
    absolute: members[members.length - 1].absolute,
    first,
    // Only schedule functions nest (PyTorch cannot): a nested chain starts over at its own step 0.
    restart: () => first(start),
    next: (lr, t) => members.reduce((v, m) => m.next(v, t), lr),
    momentum: (t) => {
      let v: number | undefined;
      for (const m of members) v = m.momentum?.(t) ?? v;
      return v;
    },
  };
}

/** Checks SequentialLR's milestones against its member count. */
export function checkMilestones(v: unknown, members: number, arg: string): number[] {
  if (!Array.isArray(v)) throw typeError(arg, `must be an array of steps, got ${check.typeName(v)}`);
  if (v.length !== members - 1)
    throw rangeError(arg, `needs one milestone fewer than schedulers (${members - 1}), got ${v.length}`);
  const ms = v.map((m, i) => check.int(m, `${arg}[${i}]`, 0));
  ms.forEach((m, i) => {
    if (i > 0 && m < ms[i - 1])
      throw rangeError(`${arg}[${i}]`, `must be >= the milestone before (${ms[i - 1]}), got ${m}`);
  });
  return ms;
}
