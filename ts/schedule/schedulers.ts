/** PyTorch-style scheduler objects (`torch.optim.lr_scheduler`, 2.x semantics): see `LRScheduler`. */
import { rangeError, typeError } from '../errors.js';
import * as check from './check.js';
import {
  checkOptimizer,
  decodeList,
  encode,
  momentumKey,
  OrderCheck,
  stateObject,
  type Encoded,
  type MomentumKey,
  type SchedulableGroup,
  type SchedulableOptimizer,
} from './optimizer.js';
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
  swaFamily,
  type SwaOptions,
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

/** A scheduler's state: PyTorch's key names where PyTorch has the same quantity. */
export interface SchedulerStateDict {
  /** The PyTorch class, checked on load. */
  name: string;
  /** Steps taken since construction (the position of the current lr). */
  last_epoch: number;
  /** Each group's recorded initial lr (single schedulers). */
  base_lrs?: Encoded[];
  /** Each group's lr after the last step. */
  _last_lr: Encoded[];
  /** Each group's momentum/beta1 after the last step (schedulers that cycle it). */
  _last_momentum?: Encoded[];
  /** The members' states (SequentialLR, ChainedScheduler). */
  _schedulers?: SchedulerStateDict[];
}

/**
 * How a scheduler is built (internal: the classes below pass it).
 *
 * @inline
 */
export type Setup =
  | { kind: 'family'; make: (groups: number) => Family }
  | { kind: 'sequential'; members: unknown; milestones: unknown }
  | { kind: 'chained'; members: unknown };

/** What `loadStateDict` has checked and will apply. */
interface Loaded {
  t: number;
  bases: number[];
  lastLr: number[];
  momentum: number[] | null;
  members: Loaded[];
}

/**
 * The base of PyTorch-style scheduler objects (`torch.optim.lr_scheduler`, 2.x semantics) bound
 * to an optimizer's live param groups (every scheduler but `ReduceLROnPlateau`). A scheduler is a
 * rule per group (the same arithmetic the schedule functions fold) plus a position:
 *
 * - the constructor records each group's `initialLr` (PyTorch's `initial_lr`) unless an earlier
 *   scheduler did, and sets the lr for step 0;
 * - `step()` moves to the next position and writes the new lr (and momentum/beta1 for the cycling
 *   schedulers); call it after `optimizer.step()`;
 * - `getLastLr()` returns the lrs it last set; `stateDict()` / `loadStateDict()` save and restore
 *   the position and what the next step depends on (including the current lrs, which
 *   `loadStateDict` writes back into the groups), so a run resumes bit for bit, also on a fresh
 *   optimizer.
 *
 * Where we differ from PyTorch: no `last_epoch` constructor argument (resume with
 * `loadStateDict`); no deprecated `step(epoch)`; members of a SequentialLR/ChainedScheduler must be
 * fresh single schedulers built on the same optimizer (PyTorch accepts nested composites but
 * fails on them at a hand-over), and after composition only the composite's `step()` moves the lr.
 *
 * ```ts
 * const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
 * const sched = new CosineAnnealingLR(opt, { tMax: 100 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   train(opt); // your epoch: steps of opt
 *   sched.step();
 * }
 * ```
 */
export abstract class LRScheduler {
  /** The optimizer whose groups it sets. */
  readonly optimizer: SchedulableOptimizer;
  /** The PyTorch class this scheduler implements. */
  readonly name: string;
  readonly #groups: SchedulableGroup[];
  readonly #family: Family | null;
  readonly #members: readonly LRScheduler[];
  readonly #milestones: readonly number[] | null;
  readonly #momentumKey: MomentumKey | null;
  readonly #order = new OrderCheck();
  #bases: number[];
  #rules: Rule[];
  #t = 0;
  #lastLr: number[];

  /** @internal the scheduler classes build their setup. */
  protected constructor(optimizer: SchedulableOptimizer, setup: Setup) {
    if (setup.kind === 'family') {
      const groups = checkOptimizer(optimizer);
      const family = setup.make(groups.length);
      const key = family.cyclesMomentum ? momentumKey(groups, 'options.cycleMomentum') : null;
      // Everything is computed before anything is written, so a throw leaves the groups as they were.
      const prep = groups.map((_, i) => family.prepare?.(i) ?? {});
      const start = groups.map((g, i) => prep[i].lr ?? g.lr);
      const bases = groups.map(
        (g, i) => prep[i].initialLr ?? (typeof g.initialLr === 'number' ? g.initialLr : start[i]),
      );
      const rules = bases.map((b, i) => family.rule(b, i));
      const lrs = rules.map((r, i) => r.first(start[i], false));
      const ms = rules.map((r) => r.momentum?.(0));
      this.optimizer = optimizer;
      this.name = family.name;
      this.#groups = groups;
      this.#family = family;
      this.#members = [];
      this.#milestones = null;
      this.#momentumKey = key;
      this.#bases = bases;
      this.#rules = rules;
      groups.forEach((g, i) => {
        g.initialLr = bases[i];
        g.lr = lrs[i];
      });
      this.#writeMomentum(ms);
      this.#lastLr = lrs;
      return;
    }
    const name = setup.kind === 'sequential' ? 'SequentialLR' : 'ChainedScheduler';
    const members = LRScheduler.#checkMembers(setup.members, name, optimizer);
    optimizer ??= members[0].optimizer;
    const groups = members[0].#groups;
    const milestones =
      setup.kind === 'sequential' ? checkMilestones(setup.milestones, members.length, 'options.milestones') : null;
    this.optimizer = optimizer;
    this.name = name;
    this.#groups = groups;
    this.#family = null;
    this.#members = members;
    this.#milestones = milestones;
    this.#momentumKey = members.map((m) => m.#momentumKey).find((k) => k !== null) ?? null;
    this.#bases = groups.map((g) => g.initialLr as number);
    this.#rules = this.#compose();
    if (milestones) {
      // PyTorch's SequentialLR puts every group back at its initial lr, then re-runs the
      // constructor step of the member active at step 0.
      const lrs = this.#rules.map((r, i) => r.first(this.#bases[i], true));
      const ms = this.#rules.map((r) => r.momentum?.(0));
      groups.forEach((g, i) => (g.lr = lrs[i]));
      this.#writeMomentum(ms);
    }
    this.#lastLr = groups.map((g) => g.lr);
  }

  static #checkMembers(v: unknown, name: string, optimizer: SchedulableOptimizer | undefined): LRScheduler[] {
    const arg = name === 'SequentialLR' ? 'options.schedulers' : 'schedulers';
    if (!Array.isArray(v)) throw typeError(arg, `must be an array of schedulers, got ${check.typeName(v)}`);
    if (v.length === 0) throw rangeError(arg, 'needs at least one scheduler');
    const opt = optimizer ?? (v[0] instanceof LRScheduler ? v[0].optimizer : undefined);
    v.forEach((s, i) => {
      if (!(s instanceof LRScheduler))
        throw typeError(
          `${arg}[${i}]`,
          `must be a scheduler such as StepLR (ReduceLROnPlateau cannot be composed: its step needs a metric), got ${check.typeName(s)}`,
        );
      if (s.#family === null) throw typeError(`${arg}[${i}]`, `a ${s.name} cannot be a member of a ${name}`);
      if (s.optimizer !== opt) throw rangeError(`${arg}[${i}]`, `is bound to another optimizer than the ${name}`);
      if (s.#t !== 0)
        throw rangeError(`${arg}[${i}]`, `has already been stepped ${s.#t} times; compose fresh schedulers`);
    });
    return v as LRScheduler[];
  }

  #compose(): Rule[] {
    if (this.#family) return this.#bases.map((b, i) => this.#family!.rule(b, i));
    return this.#groups.map((_, i) => {
      const rules = this.#members.map((m) => m.#rules[i]);
      return this.#milestones ? sequentialRule(rules, this.#milestones) : chainRule(rules, this.#bases[i]);
    });
  }

  #writeMomentum(values: (number | undefined)[]): void {
    const key = this.#momentumKey;
    if (key === null) return;
    values.forEach((v, i) => {
      if (v !== undefined) this.#groups[i][key] = v;
    });
  }

  /** Steps taken since construction (PyTorch's `last_epoch`): the current lr is the schedule's value there. */
  get lastEpoch(): number {
    return this.#t;
  }

  /** Each group's recorded initial lr (PyTorch's `base_lrs`). */
  get baseLrs(): number[] {
    return [...this.#bases];
  }

  /** The lrs this scheduler last set, one per param group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** Moves to the next step and sets its lr (and momentum/beta1). Call it after `optimizer.step()`. */
  step(): void {
    this.#order.check(this.optimizer, this.name);
    const t = this.#t + 1;
    const lrs = this.#rules.map((r, i) => r.next(this.#groups[i].lr, t));
    const ms = this.#rules.map((r) => r.momentum?.(t));
    this.#t = t;
    this.#groups.forEach((g, i) => (g.lr = lrs[i]));
    this.#writeMomentum(ms);
    this.#lastLr = lrs;
  }

  /** The position and what the next step depends on, as plain JSON-safe data. */
  stateDict(): SchedulerStateDict {
    const s: SchedulerStateDict = { name: this.name, last_epoch: this.#t, _last_lr: this.#lastLr.map(encode) };
    if (this.#family) s.base_lrs = this.#bases.map(encode);
    const key = this.#momentumKey;
    if (key !== null) s._last_momentum = this.#groups.map((g) => encode(g[key] as number));
    if (this.#members.length > 0) s._schedulers = this.#members.map((m) => m.stateDict());
    return s;
  }

  /**
   * Restores a `stateDict()` (also after a JSON round trip) and writes its lrs (and momenta) into
   * the optimizer's groups. Everything is checked before anything changes.
   */
  loadStateDict(state: SchedulerStateDict): void {
    this.#apply(this.#check(state, 'stateDict'));
  }

  #check(state: unknown, arg: string): Loaded {
    const s = stateObject(state, arg, this.name);
    const n = this.#groups.length;
    const t = check.int(s.last_epoch, `${arg}.last_epoch`, 0);
    const bases = this.#family ? decodeList(s.base_lrs, `${arg}.base_lrs`, n) : this.#bases;
    const lastLr = decodeList(s._last_lr, `${arg}._last_lr`, n);
    const momentum = this.#momentumKey === null ? null : decodeList(s._last_momentum, `${arg}._last_momentum`, n);
    let members: Loaded[] = [];
    if (this.#members.length > 0) {
      const subs = s._schedulers;
      if (!Array.isArray(subs) || subs.length !== this.#members.length)
        throw typeError(`${arg}._schedulers`, `must hold the states of the ${this.#members.length} members`);
      members = this.#members.map((m, i) => m.#check(subs[i], `${arg}._schedulers[${i}]`));
    }
    return { t, bases, lastLr, momentum, members };
  }

  #apply(l: Loaded): void {
    this.#members.forEach((m, i) => m.#apply(l.members[i]));
    this.#t = l.t;
    this.#bases = [...l.bases];
    this.#rules = this.#compose();
    this.#lastLr = [...l.lastLr];
    this.#groups.forEach((g, i) => (g.lr = l.lastLr[i]));
    if (l.momentum) this.#writeMomentum(l.momentum);
  }

  /** @internal For the family classes below. */
  protected static family(make: (groups: number) => Family): Setup {
    return { kind: 'family', make };
  }
}

/**
 * PyTorch `StepLR`: multiplies the lr by `gamma` every `stepSize` steps.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, StepLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // [ 0.1, 0.1, 0.05, 0.05, 0.025 ]
 * ```
 */
export class StepLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: StepOptions) {
    super(
      optimizer,
      LRScheduler.family(() => stepFamily(options)),
    );
  }
}

/**
 * PyTorch `MultiStepLR`: multiplies the lr by `gamma` at each milestone.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, MultiStepLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new MultiStepLR(opt, { milestones: [1, 3], gamma: 0.5 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // [ 0.1, 0.05, 0.05, 0.025, 0.025 ]
 * ```
 */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: MultiStepOptions) {
    super(
      optimizer,
      LRScheduler.family(() => multiStepFamily(options)),
    );
  }
}

/**
 * PyTorch `SWALR` (`torch.optim.swa_utils`): anneals the lr to `swaLr` over `annealEpochs` steps
 * (cosine or linear) and holds it, for stochastic weight averaging (`swa()` in the transforms).
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, SWALR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new SWALR(opt, { swaLr: 0.05, annealEpochs: 2, annealStrategy: 'linear' });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.075, 0.05, 0.05, 0.05 ]: annealed to swaLr, then held
 * ```
 */
export class SWALR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: SwaOptions) {
    super(
      optimizer,
      LRScheduler.family((groups) => swaFamily(options, groups)),
    );
  }
}

/**
 * PyTorch `ExponentialLR`: multiplies the lr by `gamma` every step.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, ExponentialLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new ExponentialLR(opt, { gamma: 0.5 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // [ 0.1, 0.05, 0.025, 0.0125, 0.00625 ]
 * ```
 */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: ExponentialOptions) {
    super(
      optimizer,
      LRScheduler.family(() => exponentialFamily(options)),
    );
  }
}

/**
 * PyTorch `ConstantLR`: the lr times `factor` until `totalIters`, then the lr.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, ConstantLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new ConstantLR(opt, { factor: 0.5, totalIters: 2 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // [ 0.05, 0.05, 0.1, 0.1, 0.1 ]
 * ```
 */
export class ConstantLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: ConstantOptions = {}) {
    super(
      optimizer,
      LRScheduler.family(() => constantFamily(options)),
    );
  }
}

/**
 * PyTorch `LinearLR`: the lr times a factor moving linearly from `startFactor` to `endFactor`.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, LinearLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new LinearLR(opt, { startFactor: 0.25, totalIters: 3 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.025, 0.05, 0.075, 0.1, 0.1 ]
 * ```
 */
export class LinearLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: LinearOptions = {}) {
    super(
      optimizer,
      LRScheduler.family(() => linearFamily(options)),
    );
  }
}

/**
 * PyTorch `PolynomialLR`: the lr times (1 − t/totalIters)^power.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, PolynomialLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new PolynomialLR(opt, { totalIters: 4, power: 1 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.075, 0.05, 0.025, 0 ]
 * ```
 */
export class PolynomialLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: PolynomialOptions = {}) {
    super(
      optimizer,
      LRScheduler.family(() => polynomialFamily(options)),
    );
  }
}

/**
 * PyTorch `CosineAnnealingLR`: cosine from the lr to `etaMin` over `tMax` steps, rising again after.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, CosineAnnealingLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new CosineAnnealingLR(opt, { tMax: 4, etaMin: 0.01 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.087, 0.055, 0.023, 0.01 ]
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: CosineAnnealingOptions) {
    super(
      optimizer,
      LRScheduler.family(() => cosineAnnealingFamily(options)),
    );
  }
}

/**
 * PyTorch `CosineAnnealingWarmRestarts`: cosine annealing restarted after `t0`, `t0·tMult`, ... steps.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, CosineAnnealingWarmRestarts } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new CosineAnnealingWarmRestarts(opt, { t0: 2 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.05, 0.1, 0.05, 0.1 ]: a restart every 2 steps
 * ```
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: CosineWarmRestartsOptions) {
    super(
      optimizer,
      LRScheduler.family(() => cosineWarmRestartsFamily(options)),
    );
  }
}

/**
 * PyTorch `CyclicLR`: sets the lr to `baseLr` and (with `cycleMomentum`, the default) the
 * momentum/beta1 to `maxMomentum` at construction, then cycles both.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, CyclicLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs, opt.paramGroups[0].momentum); // ≈ [ 0.01, 0.055, 0.1, 0.055, 0.01 ] 0.85: momentum against the lr
 * ```
 */
export class CyclicLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: CyclicOptions) {
    super(
      optimizer,
      LRScheduler.family((groups) => cyclicFamily(options, groups)),
    );
  }
}

/**
 * PyTorch `OneCycleLR`: one warm-up/anneal cycle over `totalSteps`, momentum/beta1 cycled against it.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, OneCycleLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 9; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs[0], Math.max(...lrs)); // 0.004 0.1
 * ```
 */
export class OneCycleLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: OneCycleOptions) {
    super(
      optimizer,
      LRScheduler.family((groups) => oneCycleFamily(options, groups)),
    );
  }
}

/**
 * PyTorch `LambdaLR`: the initial lr times `lrLambda(t)`.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, LambdaLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new LambdaLR(opt, { lrLambda: (epoch) => 1 / (epoch + 1) });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.05, 0.033, 0.025, 0.02 ]
 * ```
 */
export class LambdaLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: LambdaOptions) {
    super(
      optimizer,
      LRScheduler.family((groups) => lambdaFamily(options, groups)),
    );
  }
}

/**
 * PyTorch `MultiplicativeLR`: the current lr times `lrLambda(t)` at every step.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, MultiplicativeLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * const sched = new MultiplicativeLR(opt, { lrLambda: () => 0.5 });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // [ 0.1, 0.05, 0.025, 0.0125, 0.00625 ]
 * ```
 */
export class MultiplicativeLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: LambdaOptions) {
    super(
      optimizer,
      LRScheduler.family((groups) => multiplicativeFamily(options, groups)),
    );
  }
}

/** Options of `SequentialLR`. */
export interface SequentialOptions {
  /** `schedulers`: fresh schedulers built on the optimizer, in order. */
  schedulers: readonly LRScheduler[];
  /** `milestones`: the steps at which the next scheduler takes over (one fewer than schedulers). */
  milestones: readonly number[];
}

/**
 * PyTorch `SequentialLR`: `schedulers[i]` runs from `milestones[i-1]` on. At a milestone the next
 * scheduler starts over at its own step 0 (its closed form there), whether or not the previous
 * one had finished.
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, SequentialLR, LinearLR, ExponentialLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * // Two steps of warmup, then a decay that starts over at its own step 0.
 * const sched = new SequentialLR(opt, {
 *   schedulers: [new LinearLR(opt, { startFactor: 0.5, totalIters: 2 }), new ExponentialLR(opt, { gamma: 0.5 })],
 *   milestones: [2],
 * });
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.05, 0.075, 0.1, 0.05, 0.025 ]
 * ```
 */
export class SequentialLR extends LRScheduler {
  constructor(optimizer: SchedulableOptimizer, options: SequentialOptions) {
    checkOptimizer(optimizer);
    const o = check.options(options);
    check.known(o, 'options', ['schedulers', 'milestones']);
    super(optimizer, { kind: 'sequential', members: o.schedulers, milestones: o.milestones });
  }
}

/**
 * PyTorch `ChainedScheduler`: each `step()` steps every member in order, each scaling the lr the
 * previous one left (for the scaling schedulers the factors multiply).
 *
 * @example
 * ```ts
 * import { ParamStore, SGD, ChainedScheduler, ExponentialLR, StepLR } from 'downhill';
 * const opt = new SGD(await ParamStore.create({ w: [2] }), { lr: 0.1, momentum: 0.9 });
 * // Both scale the lr every step: 0.9^t · 0.5^⌊t/2⌋.
 * const sched = new ChainedScheduler([new ExponentialLR(opt, { gamma: 0.9 }), new StepLR(opt, { stepSize: 2, gamma: 0.5 })]);
 * const lrs = [];
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   lrs.push(opt.paramGroups[0].lr);
 *   opt.step(); // after an epoch of training
 *   sched.step();
 * }
 * console.log(lrs); // ≈ [ 0.1, 0.09, 0.0405, 0.03645, 0.0164 ]
 * ```
 */
export class ChainedScheduler extends LRScheduler {
  constructor(schedulers: readonly LRScheduler[], optimizer?: SchedulableOptimizer) {
    if (optimizer !== undefined) checkOptimizer(optimizer);
    super(optimizer as SchedulableOptimizer, { kind: 'chained', members: schedulers });
  }
}
