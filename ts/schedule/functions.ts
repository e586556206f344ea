/**
 * Learning-rate schedules as pure functions of the step (Optax's model): `schedule(t)` is the lr
 * (or momentum) the optimizer uses at its step `t`, counted from 0 (PyTorch's `last_epoch`: the
 * value after the scheduler was built and stepped `t` times). Each factory checks its options and
 * throws a `TypeError`/`RangeError` naming the option.
 *
 * ```ts
 * const lr = warmup({ lr: 0.1, warmupSteps: 5, startFactor: 0.1, then: cosineAnnealing({ lr: 0.1, tMax: 55 }) });
 * lr(0); // 0.1 · 0.1
 * lr(5); // 0.1, the cosine's step 0
 * ```
 *
 * The values are computed as PyTorch's schedulers compute them (see `rules.ts`), and are
 * identical to those of the scheduler objects: schedules that PyTorch computes step by step from
 * the previous lr (step, multi-step, exponential, constant, linear, polynomial, cosine annealing,
 * multiplicative) are evaluated the same way, walking forward from the last step asked for
 * (values every 1024 steps are kept, so going back is cheap). The others are closed forms.
 */
import { typeError, rangeError } from '../errors.js';
import * as check from './check.js';
import {
  chainRule,
  checkMilestones,
  constantFamily,
  cosineAnnealingFamily,
  cosineWarmRestartsFamily,
  cyclicFamily,
  exponentialFamily,
  lambdaFamily,
  linearFamily,
  multiplicativeFamily,
  multiStepFamily,
  oneCycleFamily,
  polynomialFamily,
  sequentialRule,
  stepFamily,
  type ConstantOptions,
  type CosineAnnealingOptions,
  type CosineWarmRestartsOptions,
  type CyclicOptions,
  type ExponentialOptions,
  type Family,
  type LambdaOptions,
  type LinearOptions,
  type MultiStepOptions,
  type OneCycleOptions,
  type PolynomialOptions,
  type Rule,
  type StepOptions,
} from './rules.js';

/** The value (lr, momentum or beta1) at optimizer step `step` = 0, 1, 2, ... */
export type Schedule = (step: number) => number;

/** The initial lr of a schedule that scales it (PyTorch: the optimizer's lr when the scheduler is built). */
export interface BaseLr {
  /** The lr at step 0 before any factor. */
  lr: number;
}

/** What composition needs to know of a schedule made here: its rule and the lr its group starts from. */
interface Made {
  rule: Rule;
  start: number;
}
const made = new WeakMap<Schedule, Made>();

/** Steps between remembered values of a step-by-step schedule. */
const CHECKPOINT = 1024;

function checkStep(step: unknown): number {
  if (typeof step !== 'number') throw typeError('step', `must be a number, got ${check.typeName(step)}`);
  if (!Number.isSafeInteger(step) || step < 0) throw rangeError('step', `must be a non-negative integer, got ${step}`);
  return step;
}

/** The schedule a rule gives from a group whose lr is `start` when the scheduler is built. */
function fromRule(rule: Rule, start: number): Schedule {
  const v0 = rule.first(start, false);
  let s: Schedule;
  if (rule.absolute) {
    s = (step) => {
      const t = checkStep(step);
      return t === 0 ? v0 : rule.next(v0, t);
    };
  } else {
    const marks = [v0];
    let t = 0;
    let lr = v0;
    s = (step) => {
      const target = checkStep(step);
      if (target < t) {
        const k = Math.min(Math.floor(target / CHECKPOINT), marks.length - 1);
        t = k * CHECKPOINT;
        lr = marks[k];
      }
      while (t < target) {
        const v = rule.next(lr, t + 1);
        t += 1;
        lr = v;
        if (t === marks.length * CHECKPOINT) marks.push(lr);
      }
      return lr;
    };
  }
  made.set(s, { rule, start });
  return s;
}

/** A family's schedule for a single group whose lr is `lr`, built as PyTorch's constructor builds it. */
function fromFamily(family: Family, lr: number): Schedule {
  const prep = family.prepare?.(0) ?? {};
  const start = prep.lr ?? lr;
  return fromRule(family.rule(prep.initialLr ?? start, 0), start);
}

/** Separates the base lr from a family's own options. */
function split(o: BaseLr | undefined): [Record<string, unknown>, number] {
  const { lr, ...rest } = check.options(o);
  return [rest, check.nonNegative(lr, 'options.lr')];
}

/**
 * Optax's `constant_schedule`: the same value at every step.
 *
 * @example
 * ```ts
 * import { constantSchedule } from 'downhill';
 * const lr = constantSchedule(0.01);
 * console.log(lr(0), lr(1000)); // 0.01 0.01
 * ```
 */
export function constantSchedule(value: number): Schedule {
  const v = check.finite(value, 'value');
  return fromRule({ absolute: true, first: () => v, restart: () => v, next: () => v }, v);
}

/**
 * PyTorch `StepLR`: lr · gamma^⌊t / stepSize⌋.
 *
 * @example
 * ```ts
 * import { stepSchedule } from 'downhill';
 * const lr = stepSchedule({ lr: 0.1, stepSize: 2, gamma: 0.5 });
 * console.log([0, 1, 2, 3, 4].map(lr)); // [ 0.1, 0.1, 0.05, 0.05, 0.025 ]
 * ```
 */
export function stepSchedule(options: StepOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(stepFamily(o), lr);
}

/**
 * PyTorch `MultiStepLR`: lr · gamma^(number of milestones <= t).
 *
 * @example
 * ```ts
 * import { multiStep } from 'downhill';
 * const lr = multiStep({ lr: 1, milestones: [2, 4], gamma: 0.5 });
 * console.log([0, 1, 2, 3, 4, 5].map(lr)); // [ 1, 1, 0.5, 0.5, 0.25, 0.25 ]
 * ```
 */
export function multiStep(options: MultiStepOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(multiStepFamily(o), lr);
}

/**
 * PyTorch `ExponentialLR`: lr · gamma^t.
 *
 * @example
 * ```ts
 * import { exponential } from 'downhill';
 * const lr = exponential({ lr: 1, gamma: 0.5 });
 * console.log([0, 1, 2, 3].map(lr)); // [ 1, 0.5, 0.25, 0.125 ]
 * ```
 */
export function exponential(options: ExponentialOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(exponentialFamily(o), lr);
}

/**
 * PyTorch `ConstantLR`: lr · factor for t < totalIters, then lr (a constant warmup).
 *
 * @example
 * ```ts
 * import { constantFactor } from 'downhill';
 * const lr = constantFactor({ lr: 1, factor: 0.5, totalIters: 2 });
 * console.log([0, 1, 2, 3].map(lr)); // [ 0.5, 0.5, 1, 1 ]
 * ```
 */
export function constantFactor(options: ConstantOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(constantFamily(o), lr);
}

/**
 * PyTorch `LinearLR`: lr · (startFactor + (endFactor − startFactor) · min(t, totalIters) / totalIters).
 *
 * @example
 * ```ts
 * import { linear } from 'downhill';
 * const lr = linear({ lr: 1, startFactor: 0.25, endFactor: 1, totalIters: 3 });
 * console.log([0, 1, 2, 3, 4].map(lr)); // [ 0.25, 0.5, 0.75, 1, 1 ]
 * ```
 */
export function linear(options: LinearOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(linearFamily(o), lr);
}

/**
 * PyTorch `PolynomialLR`: lr · (1 − min(t, totalIters) / totalIters)^power.
 *
 * @example
 * ```ts
 * import { polynomial } from 'downhill';
 * const lr = polynomial({ lr: 1, totalIters: 4, power: 2 });
 * console.log([0, 1, 2, 3, 4, 5].map(lr)); // [ 1, 0.5625, 0.25, 0.0625, 0, 0 ]
 * ```
 */
export function polynomial(options: PolynomialOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(polynomialFamily(o), lr);
}

/**
 * PyTorch `CosineAnnealingLR` (Loshchilov & Hutter, SGDR, 2017, without restarts):
 * etaMin + (lr − etaMin) · (1 + cos(π t / tMax)) / 2. Past `tMax` it rises again (period 2·tMax), as PyTorch's does.
 *
 * @example
 * ```ts
 * import { cosineAnnealing } from 'downhill';
 * const lr = cosineAnnealing({ lr: 0.1, tMax: 4, etaMin: 0.01 });
 * console.log([0, 2, 4, 8].map(lr)); // ≈ [ 0.1, 0.055, 0.01, 0.1 ]: down to etaMin at tMax, back up by 2·tMax
 * ```
 */
export function cosineAnnealing(options: CosineAnnealingOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(cosineAnnealingFamily(o), lr);
}

/**
 * PyTorch `CosineAnnealingWarmRestarts` (SGDR): cosine annealing restarted after t0, t0·tMult, t0·tMult², ... steps.
 *
 * @example
 * ```ts
 * import { cosineWarmRestarts } from 'downhill';
 * const lr = cosineWarmRestarts({ lr: 1, t0: 2, tMult: 2 });
 * console.log([0, 1, 2, 3, 4, 5, 6].map(lr)); // ≈ [ 1, 0.5, 1, 0.85, 0.5, 0.15, 1 ]: restarts at 2 and 6
 * ```
 */
export function cosineWarmRestarts(options: CosineWarmRestartsOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(cosineWarmRestartsFamily(o), lr);
}

/**
 * PyTorch `OneCycleLR` (Smith & Topin, "Super-Convergence", 2018): from maxLr/divFactor up to
 * maxLr over pctStart of the steps, then down to maxLr/(divFactor·finalDivFactor) (threePhase: back
 * to maxLr/divFactor first). Defined for steps 0..totalSteps; later steps throw, as PyTorch does.
 *
 * @example
 * ```ts
 * import { oneCycle } from 'downhill';
 * const lr = oneCycle({ maxLr: 0.1, totalSteps: 10 });
 * const lrs = Array.from({ length: 10 }, (_, t) => lr(t));
 * console.log(lrs[0], Math.max(...lrs), lrs[9]); // 0.004 0.1 4e-7: maxLr/25 up to maxLr, then down to maxLr/25/1e4
 * ```
 */
export function oneCycle(options: OneCycleOptions<number>): Schedule {
  return fromFamily(oneCycleFamily(options), NaN);
}

/**
 * The momentum (or beta1) `OneCycleLR` sets: maxMomentum → baseMomentum → maxMomentum, against the lr.
 *
 * @example
 * ```ts
 * import { oneCycleMomentum } from 'downhill';
 * const momentum = oneCycleMomentum({ maxLr: 0.1, totalSteps: 10 });
 * console.log(momentum(0), momentum(3), momentum(9)); // ≈ 0.95 0.855 0.95: down while the lr rises, back up as it falls
 * ```
 */
export function oneCycleMomentum(options: OneCycleOptions<number>): Schedule {
  return momentumOf(oneCycleFamily({ ...check.options(options), cycleMomentum: true }));
}

/**
 * PyTorch `CyclicLR` (Smith, "Cyclical Learning Rates", 2017): triangular, triangular2 or exp_range cycles.
 *
 * @example
 * ```ts
 * import { cyclic } from 'downhill';
 * const lr = cyclic({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 });
 * console.log([0, 1, 2, 3, 4].map(lr)); // ≈ [ 0.01, 0.055, 0.1, 0.055, 0.01 ]
 * ```
 */
export function cyclic(options: CyclicOptions<number>): Schedule {
  return fromFamily(cyclicFamily(options), NaN);
}

/**
 * The momentum (or beta1) `CyclicLR` sets: maxMomentum − (maxMomentum − baseMomentum) · the lr's phase.
 *
 * @example
 * ```ts
 * import { cyclicMomentum } from 'downhill';
 * const momentum = cyclicMomentum({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 });
 * console.log([0, 1, 2, 3, 4].map(momentum)); // ≈ [ 0.9, 0.85, 0.8, 0.85, 0.9 ]
 * ```
 */
export function cyclicMomentum(options: CyclicOptions<number>): Schedule {
  return momentumOf(cyclicFamily({ ...check.options(options), cycleMomentum: true }));
}

function momentumOf(family: Family): Schedule {
  const m = family.rule(NaN, 0).momentum as (t: number) => number;
  m(0); // invalid combinations fail here, at the factory, not at the first use
  return (step) => m(checkStep(step));
}

/**
 * PyTorch `LambdaLR`: lr · lrLambda(t).
 *
 * @example
 * ```ts
 * import { lambdaSchedule } from 'downhill';
 * // Inverse square-root decay after 4 steps of constant lr.
 * const lr = lambdaSchedule({ lr: 0.1, lrLambda: (t) => Math.min(1, 2 / Math.sqrt(t + 1)) });
 * console.log([0, 3, 15].map(lr)); // [ 0.1, 0.1, 0.05 ]
 * ```
 */
export function lambdaSchedule(options: LambdaOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(lambdaFamily(o), lr);
}

/**
 * PyTorch `MultiplicativeLR`: lr · lrLambda(1) · lrLambda(2) · ... · lrLambda(t).
 *
 * @example
 * ```ts
 * import { multiplicative } from 'downhill';
 * const lr = multiplicative({ lr: 1, lrLambda: () => 0.9 });
 * console.log([0, 1, 2].map(lr)); // ≈ [ 1, 0.9, 0.81 ]
 * ```
 */
export function multiplicative(options: LambdaOptions & BaseLr): Schedule {
  const [o, lr] = split(options);
  return fromFamily(multiplicativeFamily(o), lr);
}

export interface WarmupOptions extends BaseLr {
  /** Steps of warmup: the lr is `lr` from this step on. */
  warmupSteps: number;
  /** `'linear'` (PyTorch `LinearLR` to factor 1, the default) or `'constant'` (`ConstantLR`). */
  mode?: 'linear' | 'constant';
  /** The factor at step 0, default 1/3 (PyTorch's default for both). */
  startFactor?: number;
  /** The schedule to follow the warmup; it starts at its own step 0 at `warmupSteps` (PyTorch `SequentialLR`). */
  then?: Schedule;
}

/**
 * Linear or constant warmup to `lr` over `warmupSteps`, optionally followed by another schedule.
 *
 * @example
 * ```ts
 * import { warmup, cosineAnnealing } from 'downhill';
 * // 5 steps of linear warmup from 0.1·lr, then a cosine over 55 steps.
 * const lr = warmup({ lr: 0.1, warmupSteps: 5, startFactor: 0.1, then: cosineAnnealing({ lr: 0.1, tMax: 55 }) });
 * console.log(lr(0), lr(5), lr(60)); // ≈ 0.01 0.1 0: the cosine starts at its own step 0 at step 5
 * ```
 */
export function warmup(options: WarmupOptions): Schedule {
  const r = check.options(options);
  check.known(r, 'options', ['lr', 'warmupSteps', 'mode', 'startFactor', 'then']);
  const lr = check.nonNegative(r.lr, 'options.lr');
  const steps = check.int(r.warmupSteps, 'options.warmupSteps', 0);
  const mode = check.oneOf(r.mode ?? 'linear', 'options.mode', ['linear', 'constant'] as const);
  const factor = r.startFactor ?? 1 / 3;
  const family =
    mode === 'linear'
      ? linearFamily({ startFactor: factor, endFactor: 1, totalIters: steps }, 'options')
      : constantFamily({ factor, totalIters: steps }, 'options');
  const warm = fromFamily(family, lr);
  if (r.then === undefined) return warm;
  check.fn(r.then, 'options.then');
  return sequential([warm, r.then as Schedule], [steps]);
}

function member(s: unknown, arg: string): Made {
  const m = made.get(s as Schedule);
  if (m) return m;
  const f = check.fn<Schedule>(s, arg);
  // A function made elsewhere is taken as it is: its value at the member's own step.
  const at = (t: number) => {
    const v = f(t);
    if (typeof v !== 'number') throw typeError(arg, `must return a number, got ${check.typeName(v)}`);
    return v;
  };
  return {
    rule: { absolute: true, first: () => at(0), restart: () => at(0), next: (_lr, t) => at(t) },
    start: NaN,
  };
}

function members(schedules: unknown): Made[] {
  if (!Array.isArray(schedules))
    throw typeError('schedules', `must be an array of schedules, got ${check.typeName(schedules)}`);
  if (schedules.length === 0) throw rangeError('schedules', 'needs at least one schedule');
  return schedules.map((s, i) => member(s, `schedules[${i}]`));
}

/**
 * PyTorch `SequentialLR`: `schedules[i]` runs from `milestones[i-1]` on, starting over at its own
 * step 0 there (whether or not the previous one had finished).
 *
 * @example
 * ```ts
 * import { sequential, constantSchedule, exponential } from 'downhill';
 * // 0.1 for three steps, then a decay starting over at its own step 0.
 * const lr = sequential([constantSchedule(0.1), exponential({ lr: 0.05, gamma: 0.5 })], [3]);
 * console.log([0, 1, 2, 3, 4, 5].map(lr)); // [ 0.1, 0.1, 0.1, 0.05, 0.025, 0.0125 ]
 * ```
 */
export function sequential(schedules: readonly Schedule[], milestones: readonly number[]): Schedule {
  const ms = members(schedules);
  const points = checkMilestones(milestones, ms.length, 'milestones');
  const first = ms[points.filter((p) => p <= 0).length];
  return fromRule(
    sequentialRule(
      ms.map((m) => m.rule),
      points,
    ),
    first.start,
  );
}

/**
 * PyTorch `ChainedScheduler`: every step, each schedule's PyTorch update is applied in order to the
 * lr the previous one left, starting from the first one's lr. For the scaling families (step,
 * multi-step, exponential, constant, linear, polynomial, multiplicative, cosine with etaMin 0
 * before tMax) the factors multiply; a closed-form member (lambda, warm restarts, cyclic, one-cycle)
 * sets the lr outright, and the members after it scale that value by their own step's factor only.
 *
 * @example
 * ```ts
 * import { chainSchedules, exponential, stepSchedule } from 'downhill';
 * // The factors of the two schedules multiply: 0.9^t · 0.5^⌊t/2⌋.
 * const lr = chainSchedules([exponential({ lr: 1, gamma: 0.9 }), stepSchedule({ lr: 1, stepSize: 2, gamma: 0.5 })]);
 * console.log([0, 1, 2].map(lr)); // ≈ [ 1, 0.9, 0.405 ]
 * ```
 */
export function chainSchedules(schedules: readonly Schedule[]): Schedule {
  const ms = members(schedules);
  return fromRule(
    chainRule(
      ms.map((m) => m.rule),
      ms[0].start,
    ),
    ms[0].start,
  );
}
