/** What a scheduler needs of an optimizer, and the checks and state-dict encoding schedulers share. */
import { rangeError, typeError } from '../errors.js';
import { warn } from '../warnings.js';
import * as check from './check.js';

/**
 * A live param group: the scheduler reads and writes `lr`, `momentum` or `beta1` when it cycles
 * one, and records `initialLr` (PyTorch's `initial_lr`, the lr schedules scale). No index
 * signature, so that optimizer classes whose groups are declared interfaces fit it.
 */
export interface SchedulableGroup {
  /** The group's learning rate (written by the scheduler). */
  lr: number;
  /** SGD's momentum, when a scheduler cycles it. */
  momentum?: number;
  /** Adam's `beta1`, when a scheduler cycles it. */
  beta1?: number;
  /** The lr the first scheduler found (PyTorch's `initial_lr`). */
  initialLr?: number;
}

/**
 * Any optimizer with PyTorch-style live param groups (downhill's SGD, Adam, AdamW). `stepCalls`,
 * when present, is the number of `step()` calls the optimizer has made; it lets a scheduler warn
 * when it is stepped before the optimizer.
 */
export interface SchedulableOptimizer {
  /**
   * Live groups whose `lr` is a number when the scheduler is built (checked then: a group whose
   * lr is itself a schedule function cannot also follow a scheduler object). Typed loosely so
   * that every optimizer class, a `chain()` and a `combine()` fit.
   */
  readonly paramGroups: readonly object[];
  /** `step()` calls made so far, if the optimizer counts them. */
  readonly stepCalls?: number;
}

/** The group key a scheduler cycles: SGD's `momentum` or Adam's `beta1` (PyTorch's `betas[0]`). */
export type MomentumKey = 'momentum' | 'beta1';

export function checkOptimizer(optimizer: unknown, arg = 'optimizer'): SchedulableGroup[] {
  if (optimizer === null || typeof optimizer !== 'object')
    throw typeError(arg, `must be an optimizer with paramGroups, got ${check.typeName(optimizer)}`);
  const groups = (optimizer as { paramGroups?: unknown }).paramGroups;
  if (!Array.isArray(groups)) throw typeError(`${arg}.paramGroups`, `must be an array, got ${check.typeName(groups)}`);
  if (groups.length === 0) throw rangeError(`${arg}.paramGroups`, 'must not be empty');
  groups.forEach((g, i) => {
    if (g === null || typeof g !== 'object') throw typeError(`${arg}.paramGroups[${i}]`, 'must be an object');
    check.num((g as { lr?: unknown }).lr, `${arg}.paramGroups[${i}].lr`);
  });
  return groups as SchedulableGroup[];
}

/** Which key to cycle: beta1 where the groups have one (PyTorch checks `betas` first), else momentum. */
export function momentumKey(groups: SchedulableGroup[], arg: string): MomentumKey {
  if (groups.every((g) => typeof g.beta1 === 'number')) return 'beta1';
  if (groups.every((g) => typeof g.momentum === 'number')) return 'momentum';
  throw rangeError(arg, 'needs param groups with a momentum (SGD) or beta1 (Adam); pass cycleMomentum: false');
}

/** Warns once per scheduler when it is stepped before its optimizer ever was (PyTorch's check). */
export class OrderCheck {
  #warned = false;
  check(optimizer: SchedulableOptimizer, name: string): void {
    if (this.#warned || optimizer.stepCalls !== 0) return;
    this.#warned = true;
    warn(
      'DOWNHILL_SCHEDULER_BEFORE_OPTIMIZER',
      `${name}.step() was called before the optimizer's first step(). Call optimizer.step() first, then ` +
        'scheduler.step(), as in PyTorch >= 1.1; otherwise the first value of the schedule is skipped.',
    );
  }
}

/** A number in a state dict: JSON has no Infinity or NaN, so those travel as strings. */
export type Encoded = number | 'Infinity' | '-Infinity' | 'NaN';

export function encode(v: number): Encoded {
  return Number.isFinite(v) ? v : (String(v) as Encoded);
}

export function decode(v: unknown, arg: string): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
  throw typeError(arg, `must be a number, got ${check.typeName(v)}`);
}

export function decodeList(v: unknown, arg: string, length: number): number[] {
  if (!Array.isArray(v)) throw typeError(arg, `must be an array, got ${check.typeName(v)}`);
  if (v.length !== length) throw rangeError(arg, `needs one value per param group (${length}), got ${v.length}`);
  return v.map((x, i) => decode(x, `${arg}[${i}]`));
}

export function stateObject(v: unknown, arg: string, name: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw typeError(arg, `must be an object, got ${check.typeName(v)}`);
  const s = v as Record<string, unknown>;
  if (s.name !== name) throw rangeError(`${arg}.name`, `is the state of ${JSON.stringify(s.name)}, not of ${name}`);
  return s;
}
