/**
 * Replays a PyTorch scheduler case (`"kind": "scheduler"`, shared/conformance/README.md "Scheduler
 * cases") through downhill's scheduler objects:
 *
 * ```
 * build the dummy optimizer's group, then the scheduler(s) (members first, in order)
 * for t in 0 .. num_steps-1:
 *     lr[t] = group lr (and momentum[t])
 *     optimizer step (counted), scheduler.step()   (ReduceLROnPlateau: step(metrics[t]))
 *     lr_after[t] = group lr (and momentum_after[t])
 * ```
 *
 * Every value must be within |actual − expected| <= 1e-15 + 1e-12·|expected| (the README's
 * tolerance). The runner depends only on the structural `SchedulableOptimizer`, not on the
 * optimizer classes: the dummy optimizer is a plain object with PyTorch's defaults filled in.
 */
import { ReduceLROnPlateau } from '../schedule/plateau.js';
import {
  ChainedScheduler,
  ConstantLR,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  CyclicLR,
  ExponentialLR,
  SWALR,
  LambdaLR,
  LinearLR,
  MultiplicativeLR,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  PolynomialLR,
  SequentialLR,
  StepLR,
} from '../schedule/schedulers.js';
import type { SchedulableGroup, SchedulableOptimizer } from '../schedule/optimizer.js';
import type { LrLambda } from '../schedule/rules.js';
import { camelCase } from '../schedule/check.js';

export { camelCase };

export const SCHEDULER_RTOL = 1e-12;
export const SCHEDULER_ATOL = 1e-15;

export interface SchedulerCaseResult {
  status: 'pass' | 'fail' | 'skip';
  /** Largest |actual − expected| over every compared value (null when the case did not run). */
  maxAbsErr: number | null;
  /** Largest |actual − expected| / |expected| over non-zero expected values. */
  maxRelErr: number | null;
  /** Why the case was skipped, or the first value out of tolerance, or the error thrown. */
  detail?: string;
}

interface Spec {
  name: string;
  args: Record<string, unknown>;
}

export interface SchedulerCaseOptions {
  /**
   * Functions for cases that name their `lr_lambda` (LambdaLR, MultiplicativeLR): a recorded case
   * cannot hold a function, so it holds a name the caller resolves here.
   */
  lambdas?: Record<string, LrLambda>;
}

/** Something the runner cannot replay, as opposed to a wrong value. */
class Unsupported extends Error {}

/** PyTorch arguments as downhill options: camelCase keys, `None` left out (it means the default). */
function options(args: Record<string, unknown>, drop: readonly string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v === null || drop.includes(k)) continue;
    o[camelCase(k)] = v;
  }
  return o;
}

type Build = (opt: SchedulableOptimizer, o: Record<string, unknown>) => LRScheduler;

function withLambda(o: Record<string, unknown>, ctx: SchedulerCaseOptions): Record<string, unknown> {
  const name = o.lrLambda;
  const f = typeof name === 'string' ? ctx.lambdas?.[name] : undefined;
  if (!f) throw new Unsupported(`lr_lambda ${JSON.stringify(name)} names no function the runner was given`);
  return { ...o, lrLambda: f };
}

const SINGLE: Record<string, Build> = {
  StepLR: (opt, o) => new StepLR(opt, o as never),
  MultiStepLR: (opt, o) => new MultiStepLR(opt, o as never),
  ExponentialLR: (opt, o) => new ExponentialLR(opt, o as never),
  ConstantLR: (opt, o) => new ConstantLR(opt, o as never),
  LinearLR: (opt, o) => new LinearLR(opt, o as never),
  PolynomialLR: (opt, o) => new PolynomialLR(opt, o as never),
  CosineAnnealingLR: (opt, o) => new CosineAnnealingLR(opt, o as never),
  CosineAnnealingWarmRestarts: (opt, o) => new CosineAnnealingWarmRestarts(opt, o as never),
  CyclicLR: (opt, o) => new CyclicLR(opt, o as never),
  OneCycleLR: (opt, o) => new OneCycleLR(opt, o as never),
  SWALR: (opt, o) => new SWALR(opt, o as never),
};

function checkArgs(spec: Spec): void {
  const lastEpoch = spec.args.last_epoch;
  if (lastEpoch !== undefined && lastEpoch !== -1)
    throw new Unsupported(`${spec.name} with last_epoch ${lastEpoch} (downhill resumes through loadStateDict)`);
  if (spec.args.scale_fn !== undefined && spec.args.scale_fn !== null)
    throw new Unsupported('a scale_fn recorded as data');
}

function single(spec: Spec, opt: SchedulableOptimizer, ctx: SchedulerCaseOptions): LRScheduler {
  checkArgs(spec);
  const o = options(spec.args, ['last_epoch']);
  if (spec.name === 'LambdaLR') return new LambdaLR(opt, withLambda(o, ctx) as never);
  if (spec.name === 'MultiplicativeLR') return new MultiplicativeLR(opt, withLambda(o, ctx) as never);
  const build = SINGLE[spec.name];
  if (!build) throw new Unsupported(`scheduler ${spec.name} is not one downhill implements`);
  return build(opt, o);
}

function build(spec: Spec, opt: SchedulableOptimizer, ctx: SchedulerCaseOptions): LRScheduler | ReduceLROnPlateau {
  checkArgs(spec);
  const members = () => (spec.args.schedulers as Spec[]).map((m) => single(m, opt, ctx));
  switch (spec.name) {
    case 'SequentialLR':
      return new SequentialLR(opt, { schedulers: members(), milestones: spec.args.milestones as number[] });
    case 'ChainedScheduler':
      return new ChainedScheduler(members(), opt);
    case 'ReduceLROnPlateau':
      return new ReduceLROnPlateau(opt, options(spec.args, []));
    default:
      return single(spec, opt, ctx);
  }
}

/** A group of the dummy optimizer: PyTorch's hyperparameters under downhill's names. */
export type DummyGroup = SchedulableGroup & Record<string, unknown>;

/** The dummy optimizer of a case: one group with PyTorch's defaults for the momentum the scheduler may cycle. */
function dummyOptimizer(o: { name?: unknown; hyperparameters?: Record<string, unknown> } | undefined, lr0: unknown) {
  const h = o?.hyperparameters ?? {};
  const group: DummyGroup = { lr: (h.lr ?? lr0) as number };
  for (const [k, v] of Object.entries(h)) {
    if (k === 'betas') [group.beta1, group.beta2] = v as number[];
    else if (k !== 'lr') group[camelCase(k)] = v;
  }
  if (o?.name === 'SGD') group.momentum ??= 0;
  else if (o?.name === 'Adam' || o?.name === 'AdamW') {
    group.beta1 ??= 0.9;
    group.beta2 ??= 0.999;
  }
  if (typeof group.lr !== 'number') throw new Error('the case gives no lr for its optimizer');
  return { paramGroups: [group], stepCalls: 0 };
}

/** A case's optimizer and scheduler, built as the case says, with the loop's step. */
export interface SchedulerCaseRun {
  optimizer: { paramGroups: DummyGroup[]; stepCalls: number };
  scheduler: LRScheduler | ReduceLROnPlateau;
  /** The group key of the recorded momentum (`momentum`, `beta1`), or null. */
  momentumKey: string | null;
  /** Loop step t: one (counted) optimizer step, then `scheduler.step()` (or `step(metrics[t])`). */
  step(t: number): void;
}

/** Builds a fresh dummy optimizer and the case's scheduler(s) on it (also for resume tests). */
export function buildSchedulerCase(c: object, ctx: SchedulerCaseOptions = {}): SchedulerCaseRun {
  const k = c as Record<string, unknown>;
  const mk = k.momentum_key as string | undefined;
  const optimizer = dummyOptimizer(k.optimizer as never, k.initial_lr);
  const spec = { name: k.scheduler as string, args: (k.arguments ?? {}) as Record<string, unknown> };
  const scheduler = build(spec, optimizer, ctx);
  const metrics = k.metrics as number[] | undefined;
  if (scheduler instanceof ReduceLROnPlateau && !Array.isArray(metrics))
    throw new Error('a ReduceLROnPlateau case needs metrics');
  return {
    optimizer,
    scheduler,
    momentumKey: mk === undefined ? null : mk === 'betas[0]' ? 'beta1' : camelCase(mk),
    step: (t) => {
      optimizer.stepCalls += 1;
      if (scheduler instanceof ReduceLROnPlateau) scheduler.step((metrics as number[])[t]);
      else scheduler.step();
    },
  };
}

export function runSchedulerCase(c: object, ctx: SchedulerCaseOptions = {}): SchedulerCaseResult {
  const k = c as Record<string, unknown>;
  if (k.kind !== 'scheduler')
    return { status: 'skip', maxAbsErr: null, maxRelErr: null, detail: 'not a scheduler case' };
  const n = k.num_steps as number;
  const got: Record<string, number[]> = { lr: [], lr_after: [], momentum: [], momentum_after: [] };
  let key: string | null = null;
  try {
    const run = buildSchedulerCase(c, ctx);
    const group = run.optimizer.paramGroups[0];
    key = run.momentumKey;
    for (let t = 0; t < n; t++) {
      got.lr.push(group.lr);
      if (key) got.momentum.push(group[key] as number);
      run.step(t);
      got.lr_after.push(group.lr);
      if (key) got.momentum_after.push(group[key] as number);
    }
  } catch (e) {
    const status = e instanceof Unsupported ? 'skip' : 'fail';
    return { status, maxAbsErr: null, maxRelErr: null, detail: (e as Error).message };
  }
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let detail: string | undefined;
  const fields = key ? ['lr', 'lr_after', 'momentum', 'momentum_after'] : ['lr', 'lr_after'];
  for (const f of fields) {
    const want = k[f] as number[] | undefined;
    if (!Array.isArray(want) || want.length !== n) {
      detail ??= `${f}: the case has no ${n} recorded values`;
      continue;
    }
    want.forEach((e, i) => {
      const a = got[f][i];
      const err = Math.abs(a - e);
      if (!(err <= SCHEDULER_ATOL + SCHEDULER_RTOL * Math.abs(e))) detail ??= `${f}[${i}]: got ${a}, expected ${e}`;
      if (err > maxAbsErr || Number.isNaN(err)) maxAbsErr = err;
      if (e !== 0 && err / Math.abs(e) > maxRelErr) maxRelErr = err / Math.abs(e);
    });
  }
  return detail === undefined
    ? { status: 'pass', maxAbsErr, maxRelErr }
    : { status: 'fail', maxAbsErr, maxRelErr, detail };
}
