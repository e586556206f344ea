/**
 * Several optimizers over disjoint tensors of one store, driven as one: what PyTorch users write
 * as two optimizers stepped together, and Optax as `optax.partition` / `multi_transform`. The
 * common case is Muon, which takes matrices only, with AdamW for biases and norm weights:
 *
 * ```ts
 * const matrices = params.names.filter((n) => params.tensor(n).shape.length === 2);
 * const others = params.names.filter((n) => !matrices.includes(n));
 * const opt = combine(
 *   new Muon(params, [{ params: matrices }], { lr: 0.02 }),
 *   new AdamW(params, [{ params: others }], { lr: 3e-4 }),
 * );
 * opt.step(); // Muon's update, then AdamW's
 * ```
 *
 * The combination has the optimizer interface that `fit()`, schedulers and `chain()` use: its
 * `paramGroups` are the members' groups in order (live: a scheduler scales each from its own
 * `initialLr`), `stateDict()` holds each member's state dict, `loadStateDict()` checks them all
 * before any member keeps a change.
 */
import { BackendError, rangeError, typeError } from '../errors.js';
import type { ParamStore } from '../params.js';
import { describeType } from '../spec.js';
import { Optimizer, type AnyOptimizer, type LoadOptions, type ParamGroup, type StateDict } from './optimizer.js';

/** What a combination's groups have in common whatever their optimizer. */
export interface CombinedOptions {
  /** The group's learning rate. */
  lr: number;
}

/** The state dict of a combination: one PyTorch-keyed state dict per member, in order. */
export interface CombinedStateDict {
  /** One state dict per member, in member order. */
  optimizers: StateDict[];
}

/**
 * Optimizers over disjoint tensors of one store, stepped together: Optax's `optax.partition`
 * (formerly `multi_transform`), or the two PyTorch optimizers stepped one after the other that
 * torch.optim.Muon's documentation asks for (Muon for 2-D weights, AdamW for the rest).
 *
 * ```text
 * step():  for each member m in order:  m.step()    (each over its own tensors only)
 * ```
 *
 * @example
 * ```ts
 * import { AdamW, Muon, ParamStore, combine } from 'downhill';
 * const params = await ParamStore.create({ w: [4, 3], b: [4] });
 * const opt = combine(new Muon(params, [{ params: ['w'] }], { lr: 0.02 }), new AdamW(params, [{ params: ['b'] }], { lr: 1e-3 }));
 * params.grads.fill(0.1);
 * opt.step();
 * console.log(opt.name, opt.lrs); // 'Muon+AdamW' [ 0.02, 0.001 ]
 * ```
 */
export class Combined {
  /** The members, in the order they step. */
  readonly optimizers: readonly AnyOptimizer[];
  #disposed = false;

  /**
   * Checks that every member is a live optimizer of the same store, that no tensor is stepped by
   * two members, and that none needs a closure (L-BFGS); a `TypeError`/`RangeError` names the
   * offending `optimizers[i]`.
   */
  constructor(optimizers: readonly AnyOptimizer[]) {
    if (!Array.isArray(optimizers) || optimizers.length === 0)
      throw typeError('optimizers', `must be a non-empty list of optimizers, got ${describeType(optimizers)}`);
    const owner = new Map<string, number>();
    optimizers.forEach((o: unknown, i: number) => {
      const arg = `optimizers[${i}]`;
      if (!(o instanceof Optimizer)) throw typeError(arg, `must be an optimizer, got ${describeType(o)}`);
      if (o.disposed) throw rangeError(arg, 'was disposed');
      if (o.params !== (optimizers[0] as AnyOptimizer).params)
        throw rangeError(arg, 'steps another store than optimizers[0]; a combination shares one store');
      if ((o as { closureRequired?: boolean }).closureRequired)
        throw rangeError(arg, `${o.name} evaluates the objective itself (step(closure)) and cannot be combined`);
      for (const name of o.paramGroups.flatMap((g) => [...g.params])) {
        const prev = owner.get(name);
        if (prev !== undefined)
          throw rangeError(arg, `tensor ${JSON.stringify(name)} is already stepped by optimizers[${prev}]`);
        owner.set(name, i);
      }
    });
    this.optimizers = [...optimizers];
  }

  /** The store the members step. */
  get params(): ParamStore {
    return this.optimizers[0].params;
  }
  /** The members' names joined by `+` (`Muon+AdamW`). */
  get name(): string {
    return this.optimizers.map((o) => o.name).join('+');
  }
  /** Every member's groups, in member order. */
  get paramGroups(): ParamGroup<CombinedOptions>[] {
    return this.optimizers.flatMap((o) => [...o.paramGroups] as ParamGroup<CombinedOptions>[]);
  }
  /** `step()` calls made so far. */
  get stepCalls(): number {
    return this.optimizers[0].stepCalls;
  }
  /** Every member group's current lr, in `paramGroups` order. */
  get lrs(): number[] {
    return this.optimizers.flatMap((o) => o.lrs);
  }
  /** True after `dispose()`. */
  get disposed(): boolean {
    return this.#disposed;
  }
  /** Bytes of state of all members. */
  stateBytes(): number {
    return this.optimizers.reduce((n, o) => n + o.stateBytes(), 0);
  }
  /** Zeroes the gradients of every member's tensors. */
  zeroGrad(): void {
    this.#live();
    for (const o of this.optimizers) o.zeroGrad();
  }

  /** Calls `closure` once (if given), then steps every member in order; returns the closure's loss. */
  step(closure?: () => number): number | undefined {
    this.#live();
    const loss = closure ? closure() : undefined;
    for (const o of this.optimizers) o.step();
    return loss;
  }

  /** Members that evaluate on other parameters than they train on (schedule-free) switch to them. */
  eval(): void {
    for (const o of this.optimizers) (o as { eval?: () => void }).eval?.();
  }
  /** Switches schedule-free members back to their training parameters. */
  train(): void {
    for (const o of this.optimizers) (o as { train?: () => void }).train?.();
  }

  /** Every member's state dict (PyTorch's keys), in order; `JSON.stringify` keeps it exact. */
  stateDict(): CombinedStateDict {
    this.#live();
    return { optimizers: this.optimizers.map((o) => o.stateDict()) };
  }

  /**
   * Loads every member's state dict. Each member checks its own whole before writing; if a later
   * member refuses its part, the members already loaded are put back as they were, so a refused
   * load changes nothing.
   */
  loadStateDict(dict: CombinedStateDict, opts: LoadOptions = {}): void {
    this.#live();
    if (!dict || typeof dict !== 'object') throw typeError('stateDict', `must be an object, got ${describeType(dict)}`);
    const parts = (dict as { optimizers?: unknown }).optimizers;
    if (!Array.isArray(parts) || parts.length !== this.optimizers.length)
      throw rangeError(
        'stateDict.optimizers',
        `must hold the state dicts of the ${this.optimizers.length} combined optimizers, got ${describeType(parts)}`,
      );
    const before = this.optimizers.map((o) => o.stateDict());
    let done = 0;
    try {
      for (; done < parts.length; done++) this.optimizers[done].loadStateDict(parts[done] as StateDict, opts);
    } catch (e) {
      for (let i = 0; i < done; i++) this.optimizers[i].loadStateDict(before[i]);
      if (e instanceof Error && /^stateDict\b/.test(e.message))
        e.message = e.message.replace(/^stateDict/, `stateDict.optimizers[${done}]`);
      throw e;
    }
  }

  /** Disposes every member. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const o of this.optimizers) o.dispose();
  }
  /** `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(): void {
    if (this.#disposed) throw new BackendError(this.params.backend.name, 'combined optimizer used after dispose()');
  }
}

/** `new Combined([...optimizers])`: optimizers over disjoint tensors of one store, stepped as one. */
export function combine(...optimizers: AnyOptimizer[]): Combined {
  return new Combined(optimizers);
}
