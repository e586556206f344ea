/**
 * Gradient transformations and parameter averaging, composed with an optimizer in one place, in
 * the spirit of Optax's `chain`:
 *
 * ```ts
 * const opt = chain(clipByGlobalNorm(1), accumulate(4), skipNonFinite(), new AdamW(store, { lr: 1e-3 }), ema(0.999));
 * opt.step();                 // clip → accumulate → check → AdamW update → EMA, each one core call
 * opt.withAveraged(() => evaluate());   // the EMA weights swapped in, then out again
 * const saved = JSON.stringify(opt.stateDict());   // the optimizer's and every transform's state
 * ```
 *
 * Transformations before the optimizer see (and may change) the gradients and may skip the update;
 * those after it see the updated parameters. Each acts on the optimizer's tensors over the whole
 * arena with one call into the core (a fixed-order reduction or an element loop), so results are
 * the same bits on every backend. The chain has the optimizer's interface (`step`, `zeroGrad`,
 * `paramGroups`, `stepCalls`, state dicts), so schedulers and `fit()` drive it as they drive a plain
 * optimizer.
 */
import type { Buffer } from './backend/types.js';
import { BackendError, rangeError, typeError } from './errors.js';
import { OP } from './generated/specs.js';
import { Optimizer, type AnyOptimizer, type LoadOptions, type StateDict } from './optim/optimizer.js';
import { rangesOf, runVector, type Segment } from './ops.js';
import type { ParamStore } from './params.js';
import { checkOptions, describeType, ownKeys } from './validate.js';
import {
  checkLoadOptions,
  checkStateVector,
  checkStepCount,
  decodeTensor,
  encodeTensor,
  isEncodedTensor,
  type ElementRules,
} from './state.js';

/** What a transformation sees: the store and the ranges of the optimizer's tensors. */
export interface TransformContext {
  /** The optimizer's parameter store. */
  store: ParamStore;
  /** The optimizer's tensors as arena ranges (adjacent ones merged). */
  segments: Segment[];
  /** Elements in those ranges. */
  size: number;
}

/**
 * A gradient or parameter transformation that `chain` runs before or after an optimizer's update
 * (Optax's `GradientTransformation`, with state that `stateDict` saves).
 */
export interface Transform {
  /** A name for state dicts and messages (`clipByGlobalNorm`). */
  readonly kind: string;
  /** Called once by `chain` with the optimizer's store and tensors. */
  bind(ctx: TransformContext): void;
  /** Before the update: may change the gradients; returns false to skip the update this step. */
  before?(): boolean;
  /** After the update. */
  after?(): void;
  /** The transformation's state (numbers and typed arrays). */
  state(): Record<string, unknown>;
  /** Checks a saved state (throws naming `arg`; elements as `rules` say), writing nothing. */
  check(s: Record<string, unknown>, arg: string, rules: ElementRules): void;
  /** Restores a state `check` accepted. */
  load(s: Record<string, unknown>): void;
  /** Frees buffers it keeps in the store's heap. */
  dispose(): void;
}

function positive(v: unknown, arg: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!(v > 0 && Number.isFinite(v))) throw rangeError(arg, `must be > 0 and finite, got ${String(v)}`);
  return v;
}

function count(v: unknown, arg: string, min = 0): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!Number.isSafeInteger(v) || v < min) throw rangeError(arg, `must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function options(o: unknown, known: string[], arg = 'options'): Record<string, unknown> {
  return checkOptions(o, arg, known);
}

function bufferState(
  b: Buffer | null,
  arg: string,
  s: Record<string, unknown>,
  key: string,
  n: number,
  rules: ElementRules,
): void {
  const v = s[key];
  if (v === undefined || v === null) return;
  checkStateVector(v, n, `${arg}.${key}`, rules);
  void b;
}

function asArray(v: unknown, arg: string): ArrayLike<number> {
  return (isEncodedTensor(v) ? decodeTensor(v, arg) : v) as ArrayLike<number>;
}

/** A compact buffer of the optimizer's parameters, in the store's heap. */
function compact(ctx: TransformContext, name: string): Buffer {
  return ctx.store.heap.alloc(ctx.store.dtype, ctx.size, name);
}

/** Segments pairing the arena ranges (a) with a compact buffer (b), back to back. */
function toCompact(segs: Segment[]): Segment[] {
  let at = 0;
  return segs.map((s) => {
    const out = { a: s.a, b: at, c: 0, len: s.len };
    at += s.len;
    return out;
  });
}

/**
 * PyTorch's `clip_grad_norm_`: scales the gradients so their total `normType`-norm is at most
 * `maxNorm`. `lastNorm` holds the norm before clipping; with `errorIfNonfinite`, a NaN or infinite
 * norm throws and the step does not happen.
 */
export function clipByGlobalNorm(
  maxNorm: number,
  opts: { normType?: number; errorIfNonfinite?: boolean } = {},
): Transform & {
  /** The gradients' global norm before the last clipping (NaN before the first step). */
  readonly lastNorm: number;
} {
  positive(maxNorm, 'maxNorm');
  const o = options(opts, ['normType', 'errorIfNonfinite']);
  const p = (o.normType ?? 2) as number;
  if (typeof p !== 'number' || !(p > 0))
    throw rangeError('options.normType', `must be > 0 or Infinity, got ${String(p)}`);
  const err = o.errorIfNonfinite ?? false;
  if (typeof err !== 'boolean')
    throw typeError('options.errorIfNonfinite', `must be a boolean, got ${describeType(err)}`);
  let ctx: TransformContext | null = null;
  let last = NaN;
  return {
    kind: 'clipByGlobalNorm',
    get lastNorm() {
      return last;
    },
    bind: (c) => void (ctx = c),
    before() {
      const c = ctx as TransformContext;
      [last] = runVector(c.store, OP.CLIP_NORM, [c.store.buffers.grads], c.segments, [maxNorm, p, err ? 1 : 0], 2);
      return true;
    },
    state: () => ({}),
    check: () => undefined,
    load: () => undefined,
    dispose: () => undefined,
  };
}

/** PyTorch's `clip_grad_value_`: clamps every gradient element into `[-value, value]`. */
export function clipByValue(value: number): Transform {
  if (typeof value !== 'number') throw typeError('value', `must be a number, got ${describeType(value)}`);
  if (!(value >= 0)) throw rangeError('value', `must be >= 0, got ${String(value)}`);
  let ctx: TransformContext | null = null;
  return {
    kind: 'clipByValue',
    bind: (c) => void (ctx = c),
    before() {
      const c = ctx as TransformContext;
      runVector(c.store, OP.CLIP_VALUE, [c.store.buffers.grads], c.segments, [value]);
      return true;
    },
    state: () => ({}),
    check: () => undefined,
    load: () => undefined,
    dispose: () => undefined,
  };
}

/**
 * Skips the update when any gradient is NaN or infinite (the optimizer's state is untouched) and
 * counts the skipped steps (`skipped`), as mixed-precision loss scalers do.
 */
export function skipNonFinite(): Transform & {
  /** Steps skipped so far. */
  readonly skipped: number;
} {
  let ctx: TransformContext | null = null;
  let skipped = 0;
  return {
    kind: 'skipNonFinite',
    get skipped() {
      return skipped;
    },
    bind: (c) => void (ctx = c),
    before() {
      const c = ctx as TransformContext;
      const [bad] = runVector(c.store, OP.NONFINITE, [c.store.buffers.grads], c.segments, [], 1);
      if (bad > 0) skipped += 1;
      return bad === 0;
    },
    state: () => ({ skipped }),
    check: (s, arg) => void checkStepCount(s.skipped ?? 0, `${arg}.skipped`),
    load: (s) => void (skipped = (s.skipped as number | undefined) ?? 0),
    dispose: () => undefined,
  };
}

/**
 * Gradient accumulation over `k` micro-batches (Optax's `MultiSteps`): each `step()` adds the
 * gradients to a running mean, and every k-th step the optimizer updates with the mean of the k
 * gradients. Steps in between leave the parameters and the optimizer's state alone.
 */
export function accumulate(k: number): Transform & {
  /** Micro-batches accumulated since the last update (0 … k − 1). */
  readonly micro: number;
} {
  count(k, 'k', 1);
  let ctx: TransformContext | null = null;
  let acc: Buffer | null = null;
  let pairs: Segment[] = [];
  let micro = 0;
  return {
    kind: 'accumulate',
    get micro() {
      return micro;
    },
    bind(c) {
      ctx = c;
      pairs = toCompact(c.segments);
      if (k > 1) acc = compact(c, 'accumulate buffer');
    },
    before() {
      if (k === 1) return true;
      const c = ctx as TransformContext;
      const grads = c.store.buffers.grads;
      micro += 1;
      if (micro === 1) runVector(c.store, OP.COPY, [grads, acc], pairs);
      else if (micro < k) {
        // acc ← acc + (g − acc)/micro: the running mean of the micro-batches so far.
        const back = pairs.map((s) => ({ a: s.b as number, b: s.a, len: s.len }));
        runVector(c.store, OP.LERP, [acc, grads], back, [1 / micro]);
      } else {
        // g ← g + (acc − g)·(k−1)/k: the mean of all k, straight into the gradients.
        runVector(c.store, OP.LERP, [grads, acc], pairs, [(k - 1) / k]);
        micro = 0;
        return true;
      }
      return false;
    },
    state: () => ({ micro, ...(acc && micro > 0 ? { acc: acc.view().slice() } : {}) }),
    check(s, arg, rules) {
      const m = checkStepCount(s.micro ?? 0, `${arg}.micro`);
      if (m >= k) throw rangeError(`${arg}.micro`, `must be below k = ${k}, got ${m}`);
      if (m > 0 && (s.acc === undefined || s.acc === null)) throw rangeError(`${arg}.acc`, 'is missing');
      bufferState(acc, arg, s, 'acc', (ctx as TransformContext).size, rules);
    },
    load(s) {
      micro = (s.micro as number | undefined) ?? 0;
      if (acc && s.acc !== undefined && s.acc !== null) acc.view().set(asArray(s.acc, 'acc'));
    },
    dispose() {
      if (!ctx?.store.disposed) acc?.dispose();
      acc = null;
    },
  };
}

/** Averaged parameters kept beside the live ones, with swap-in/out for evaluation. */
export interface Averaging extends Transform {
  /** Updates averaged so far. */
  readonly count: number;
  /** The averaged parameters (a copy, in arena order of the optimizer's tensors). */
  averaged(): Float32Array | Float64Array;
  /** Exchanges live and averaged parameters (call twice to swap back). */
  swap(): void;
  /** True while the averaged parameters are swapped in. */
  readonly swapped: boolean;
}

function averaging(kind: string, weight: (n: number) => number, startAt: number, every: number): Averaging {
  let ctx: TransformContext | null = null;
  let avg: Buffer | null = null;
  let pairs: Segment[] = [];
  let n = 0;
  let updates = 0;
  let swapped = false;
  const self: Averaging = {
    kind,
    get count() {
      return n;
    },
    get swapped() {
      return swapped;
    },
    bind(c) {
      ctx = c;
      pairs = toCompact(c.segments);
      avg = compact(c, `${kind} buffer`);
    },
    after() {
      const c = ctx as TransformContext;
      if (swapped)
        throw new BackendError(
          c.store.backend.name,
          `${kind}: step() while the averaged weights are swapped in; swap() back first`,
        );
      updates += 1;
      if (updates < startAt || (updates - startAt) % every !== 0) return;
      const params = c.store.buffers.params;
      if (n === 0) runVector(c.store, OP.COPY, [params, avg], pairs);
      else {
        const back = pairs.map((s) => ({ a: s.b as number, b: s.a, len: s.len }));
        runVector(c.store, OP.LERP, [avg, params], back, [weight(n)]);
      }
      n += 1;
    },
    averaged: () => (avg as Buffer).view().slice(),
    swap() {
      const c = ctx as TransformContext;
      if (n === 0) throw rangeError(kind, 'has no averaged parameters yet (no update was averaged)');
      runVector(c.store, OP.SWAP, [c.store.buffers.params, avg], pairs);
      swapped = !swapped;
    },
    state: () => ({ count: n, updates, swapped, ...(n > 0 ? { averaged: (avg as Buffer).view().slice() } : {}) }),
    check(s, arg, rules) {
      const m = checkStepCount(s.count ?? 0, `${arg}.count`);
      checkStepCount(s.updates ?? 0, `${arg}.updates`);
      if (s.swapped !== undefined && typeof s.swapped !== 'boolean')
        throw typeError(`${arg}.swapped`, 'must be a boolean');
      if (m > 0 && (s.averaged === undefined || s.averaged === null)) throw rangeError(`${arg}.averaged`, 'is missing');
      bufferState(avg, arg, s, 'averaged', (ctx as TransformContext).size, rules);
    },
    load(s) {
      n = (s.count as number | undefined) ?? 0;
      updates = (s.updates as number | undefined) ?? 0;
      swapped = (s.swapped as boolean | undefined) ?? false;
      if (avg && s.averaged !== undefined && s.averaged !== null) avg.view().set(asArray(s.averaged, 'averaged'));
    },
    dispose() {
      if (!ctx?.store.disposed) avg?.dispose();
      avg = null;
    },
  };
  return self;
}

/**
 * Exponential moving average of the parameters after each update (PyTorch's
 * `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`): the first update copies,
 * later ones `ema ← ema + (1 − decay)·(p − ema)`.
 */
export function ema(decay: number): Averaging {
  if (typeof decay !== 'number') throw typeError('decay', `must be a number, got ${describeType(decay)}`);
  if (!(decay >= 0 && decay <= 1)) throw rangeError('decay', `must be in [0, 1], got ${String(decay)}`);
  return averaging('ema', () => 1 - decay, 1, 1);
}

/**
 * Stochastic weight averaging (Izmailov et al., UAI 2018; PyTorch's `AveragedModel` default):
 * from the `start`-th update on, every `every` updates, `avg ← avg + (p − avg)/(n + 1)`. Pair it
 * with the `SWALR` scheduler.
 */
export function swa(opts: { start?: number; every?: number } = {}): Averaging {
  const o = options(opts, ['start', 'every']);
  const start = count(o.start ?? 1, 'options.start', 1);
  const every = count(o.every ?? 1, 'options.every', 1);
  return averaging('swa', (n) => 1 / (n + 1), start, every);
}

/** State keys each transformation may save (some only once it has state). */
const KNOWN_STATE: Record<string, string[]> = {
  accumulate: ['micro', 'acc'],
  ema: ['count', 'updates', 'swapped', 'averaged'],
  swa: ['count', 'updates', 'swapped', 'averaged'],
  skipNonFinite: ['skipped'],
};

/** An optimizer with transformations before and after its update. */
export class Chain {
  /** The optimizer whose update the transformations surround. */
  readonly optimizer: AnyOptimizer;
  /** Transformations run before the update, in order. */
  readonly before: readonly Transform[];
  /** Transformations run after the update, in order. */
  readonly after: readonly Transform[];
  #disposed = false;

  constructor(items: readonly (Transform | AnyOptimizer)[]) {
    items.forEach((x, i) => {
      const transform = !!x && typeof x === 'object' && typeof (x as Transform).bind === 'function';
      if (!transform && !(x instanceof Optimizer)) {
        throw typeError(`items[${i}]`, `must be a transformation or an optimizer, got ${describeType(x)}`);
      }
    });
    const at = items.findIndex((x) => x instanceof Optimizer);
    if (at < 0 || items.slice(at + 1).some((x) => x instanceof Optimizer)) {
      throw typeError('items', 'chain needs exactly one optimizer among its transformations');
    }
    const opt = items[at] as AnyOptimizer;
    const store = opt.params;
    const names = opt.paramGroups.flatMap((g) => [...g.params]);
    const segments = rangesOf(store, names);
    const ctx: TransformContext = { store, segments, size: segments.reduce((n, s) => n + s.len, 0) };
    this.before = items.slice(0, at) as Transform[];
    this.after = items.slice(at + 1) as Transform[];
    for (const t of [...this.before, ...this.after]) t.bind(ctx);
    this.optimizer = opt;
  }

  /** The optimizer's parameter store. */
  get params(): ParamStore {
    return this.optimizer.params;
  }
  /** The optimizer's param groups (live, as the optimizer's own). */
  get paramGroups(): AnyOptimizer['paramGroups'] {
    return this.optimizer.paramGroups;
  }
  /** The optimizer's `step()` calls (skipped steps do not count). */
  get stepCalls(): number {
    return this.optimizer.stepCalls;
  }
  /** Each group's lr for the next step. */
  get lrs(): number[] {
    return this.optimizer.lrs;
  }
  /** Bytes of state: the optimizer's and the transformations'. */
  stateBytes(): number {
    return this.optimizer.stateBytes();
  }
  /** Zeroes the gradients of the optimizer's tensors. */
  zeroGrad(): void {
    this.optimizer.zeroGrad();
  }

  /**
   * Runs the transformations before the update in order (any may skip it), the optimizer's
   * update, then the ones after it. Returns the closure's loss, as `Optimizer.step`.
   */
  step(closure?: () => number): number | undefined {
    this.#assertLive();
    if (closure !== undefined && typeof closure !== 'function') {
      throw typeError('closure', `must be a function returning the loss, got ${describeType(closure)}`);
    }
    const loss = closure ? closure() : undefined;
    for (const t of this.before) if (t.before && !t.before()) return loss;
    this.optimizer.step();
    for (const t of this.after) t.after?.();
    return loss;
  }

  /** The averaging transformation (ema or swa) after the optimizer, if any. */
  get average(): Averaging | null {
    return (this.after.find((t) => 'swap' in t) as Averaging | undefined) ?? null;
  }

  /** Runs `fn` with the averaged parameters swapped in, then swaps them back (also on throw). */
  withAveraged<T>(fn: () => T): T {
    const a = this.average;
    if (!a) throw rangeError('chain', 'has no ema() or swa() after its optimizer');
    a.swap();
    try {
      return fn();
    } finally {
      a.swap();
    }
  }

  /** The optimizer's state dict plus `chain`: one entry per transformation, in order. */
  stateDict(): StateDict & {
    /** Each transformation's state: those before the optimizer, then those after. */
    chain: Record<string, unknown>[];
  } {
    const sd = this.optimizer.stateDict();
    const chain = [...this.before, ...this.after].map((t) => ({ kind: t.kind, ...t.state() }));
    const out = { ...sd, chain };
    Object.defineProperty(out, 'toJSON', {
      value: () => ({
        ...(JSON.parse(JSON.stringify(sd)) as object),
        chain: chain.map((e) =>
          Object.fromEntries(
            Object.entries(e).map(([k, v]) => [
              k,
              ArrayBuffer.isView(v) ? encodeTensor(v as unknown as Float32Array | Float64Array) : v,
            ]),
          ),
        ),
      }),
      enumerable: false,
    });
    return out;
  }

  /** Checks the whole dict (optimizer and every transformation) before anything is written. */
  loadStateDict(dict: StateDict & { chain?: unknown }, opts: LoadOptions = {}): void {
    this.#assertLive();
    const rules: ElementRules = { ...checkLoadOptions(opts), dtype: this.params.dtype };
    if (!dict || typeof dict !== 'object') throw typeError('stateDict', `must be an object, got ${describeType(dict)}`);
    const all = [...this.before, ...this.after];
    const entries = dict.chain;
    if (!Array.isArray(entries) || entries.length !== all.length) {
      throw rangeError(
        'stateDict.chain',
        `must list the ${all.length} transformations of this chain (${all.map((t) => t.kind).join(', ')})`,
      );
    }
    entries.forEach((e: unknown, i: number) => {
      const arg = `stateDict.chain[${i}]`;
      if (!e || typeof e !== 'object') throw typeError(arg, `must be an object, got ${describeType(e)}`);
      if ((e as { kind?: unknown }).kind !== all[i].kind) {
        throw rangeError(
          `${arg}.kind`,
          `is ${JSON.stringify((e as { kind?: unknown }).kind)}, this chain has ${all[i].kind} there`,
        );
      }
      for (const k of ownKeys(e, arg)) {
        if (k !== 'kind' && !(k in all[i].state()) && !KNOWN_STATE[all[i].kind]?.includes(k)) {
          throw typeError(`${arg}.${k}`, `is not a state key of ${all[i].kind}`);
        }
      }
      all[i].check(e as Record<string, unknown>, arg, rules);
    });
    this.optimizer.loadStateDict(dict, opts);
    entries.forEach((e: unknown, i: number) => all[i].load(e as Record<string, unknown>));
  }

  #assertLive(): void {
    if (this.#disposed) throw new BackendError(this.params.backend.name, 'chain used after dispose()');
    this.params.assertLive();
  }

  /** True after `dispose()`. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Frees the optimizer's and the transformations' buffers. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of [...this.before, ...this.after]) t.dispose();
    this.optimizer.dispose();
  }
  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** `new Chain([...items])`: transformations, one optimizer, transformations. */
export function chain(...items: (Transform | AnyOptimizer)[]): Chain {
  return new Chain(items);
}
