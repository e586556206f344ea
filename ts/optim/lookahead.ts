import { arrayFor, type Buffer, type FloatArray } from '../backend/types.js';
import { rangeError, typeError } from '../errors.js';
import type { LookaheadOptions } from '../generated/specs.js';
import { OP, runVector, type Segment } from '../ops.js';
import { describeType, hasSlot, initValue, shapeOf, slotLength, specByName, toWire } from '../spec.js';
import { checkLoadOptions, checkStateVector, checkStepCount, encodeTensor } from '../state.js';
import { checkObject, ownKeys } from '../validate.js';
import { Optimizer, type AnyOptimizer, type LoadOptions, type Scheduled, type StateDict } from './optimizer.js';

export type { LookaheadOptions };

/** Lookahead's state dict: the slow weights per tensor, the sync counter, and the inner optimizer's own dict. */
export interface LookaheadStateDict extends StateDict {
  /** The inner (fast) optimizer's state dict. */
  fast: StateDict;
  /** Steps since the last synchronization (Optax's `steps_since_sync`). */
  steps_since_sync: number;
}

/**
 * Lookahead (Zhang et al., NeurIPS 2019) around any downhill optimizer, with Optax's semantics
 * (`optax.lookahead`): the inner ("fast") optimizer steps on the params every time; every
 * `syncPeriod` steps the slow weights move part of the way towards the params, and the params
 * restart from the slow weights.
 *
 * ```text
 * inner.step()                                   (params are the fast weights)
 * if t mod syncPeriod = 0:
 *     slow ← slow + slowStepSize · (params − slow)
 *     params ← slow
 *     if resetState: the inner optimizer's state restarts (counts at 0, moments at 0)
 * ```
 *
 * Options (defaults): `syncPeriod` 5, `slowStepSize` 0.5 (may be a schedule), `resetState`
 * false. State: the inner optimizer's, the slow weights (one buffer as large as the store's
 * arena, in the store's heap, taken from the params at the first step) and the step counter.
 * The synchronization is two core ops (`LERP`, `COPY`). `stateDict()` holds all of it, with the
 * inner optimizer's dict under `fast`, so a resumed run is exact. Evaluate at the slow weights
 * (`slowParams()`) or the fast ones (the params) as you prefer; the paper reports both.
 *
 * Differences from Optax: after a synchronization the params equal the slow weights exactly
 * (Optax writes the sync as an update to the fast weights, equal only to rounding). `dispose()`
 * also disposes the inner optimizer. Param groups, freezing and options of the inner optimizer
 * are the inner optimizer's (`lookahead.inner`).
 *
 * @example
 * ```ts
 * import { ParamStore, Adam, Lookahead } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Lookahead(new Adam(params, { lr: 0.05 }), { syncPeriod: 5, slowStepSize: 0.5 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(opt.slowParams().w); // the slow weights
 * ```
 */
export class Lookahead extends Optimizer<LookaheadOptions> {
  /** The wrapped (fast) optimizer. */
  readonly inner: AnyOptimizer;
  #slow: Buffer | null = null;
  #count = 0;
  #sinceSync = 0;

  constructor(inner: AnyOptimizer, options?: Partial<Scheduled<LookaheadOptions>>) {
    if (!(inner instanceof Optimizer)) {
      throw typeError(
        'inner',
        `must be a downhill optimizer to wrap (new Lookahead(new Adam(params), options)), got ${describeType(inner)}`,
      );
    }
    if (inner instanceof Lookahead)
      throw typeError('inner', 'is a Lookahead already; wrap its inner optimizer instead');
    super(
      specByName('Lookahead'),
      inner.params,
      [{ params: inner.paramGroups.flatMap((g) => [...g.params]) }],
      options ?? {},
    );
    this.inner = inner;
  }

  /** Steps taken (the count schedules are evaluated at). */
  override get stepCalls(): number {
    return this.#count;
  }

  /** The inner optimizer's learning rates. */
  override get lrs(): number[] {
    return this.inner.lrs;
  }

  /** Steps taken since the last synchronization. */
  get stepsSinceSync(): number {
    return this.#sinceSync;
  }

  override stepCount(tensor: string): number {
    return this.inner.stepCount(tensor);
  }

  override stateBytes(): number {
    return this.inner.stateBytes() + this.params.buffers.params.length * (this.params.dtype === 'float32' ? 4 : 8);
  }

  override addParamGroup(): void {
    throw new Error('Lookahead: add param groups to the inner optimizer before wrapping it');
  }

  override freeze(names: readonly string[]): void {
    this.inner.freeze(names);
  }

  override unfreeze(names: readonly string[]): void {
    this.inner.unfreeze(names);
  }

  override get frozen(): string[] {
    return this.inner.frozen;
  }

  override zeroGrad(): void {
    this.inner.zeroGrad();
  }

  override resetState(): void {
    this.inner.resetState();
    this.#count = 0;
    this.#sinceSync = 0;
    this.#slow?.dispose();
    this.#slow = null;
  }

  /** The inner step, then a synchronization every `syncPeriod` steps (see the class docs). */
  override step(closure?: () => number): number | undefined {
    this.assertUsable();
    const { syncPeriod, slowStepSize, resetState } = this.#options();
    const segs = this.#segments();
    if (!this.#slow) {
      this.#slow = this.params.heap.alloc(
        this.params.dtype,
        this.params.buffers.params.length,
        'Lookahead slow weights',
      );
      if (segs.length > 0) runVector(this.params, OP.COPY, [this.params.buffers.params, this.#slow], segs);
    }
    const loss = this.inner.step(closure);
    this.#count += 1;
    this.#sinceSync += 1;
    if (this.#sinceSync >= syncPeriod) {
      const { params } = this.params.buffers;
      if (segs.length > 0) {
        runVector(this.params, OP.LERP, [this.#slow, params], segs, [slowStepSize]);
        runVector(this.params, OP.COPY, [this.#slow, params], segs);
      }
      this.#sinceSync = 0;
      if (resetState) this.inner.resetState();
    }
    return loss;
  }

  /** The slow weights of each tensor (copies; the params before the first step), by name. */
  slowParams(): Record<string, FloatArray> {
    this.params.assertLive();
    const view = this.#slow?.view();
    return Object.fromEntries(
      this.#names().map((n) => {
        const t = this.params.tensor(n);
        return [n, view ? view.slice(t.offset, t.offset + t.size) : t.data.slice()];
      }),
    );
  }

  /** Conformance hook: `slow_params` per tensor of the store, in store order. */
  conformanceStep(): Record<string, ArrayLike<number>[]> {
    const slow = this.slowParams();
    return { slow_params: this.params.names.map((n) => slow[n] ?? this.params.tensor(n).data.slice()) };
  }

  /**
   * Conformance hook: the inner optimizer's state under Optax's `fast_state.` paths (its slots'
   * Optax names and step counts), and `steps_since_sync`.
   */
  conformanceState(): {
    /** Per tensor (positional), its state by Optax path. */
    perTensor: Record<string, number | ArrayLike<number>>[];
    /** State shared by all tensors, by Optax path. */
    shared: Record<string, number | ArrayLike<number>>;
  } {
    const spec = this.inner.spec;
    const sd = this.inner.stateDict();
    const pos = new Map(this.inner.paramGroups.flatMap((g) => [...g.params]).map((n, i) => [n, i]));
    const shared: Record<string, number | ArrayLike<number>> = { steps_since_sync: this.#sinceSync };
    const perTensor = this.params.names.map((n) => {
      const out: Record<string, number | ArrayLike<number>> = {};
      const i = pos.get(n);
      const e = i === undefined ? undefined : sd.state[i];
      const step = (e?.step as number | undefined) ?? 0;
      // A tensor without state (never stepped, or reset at the last sync) holds Optax's init.
      const init = e === undefined && i !== undefined ? this.#initialState(n) : {};
      for (const s of spec.state) {
        const v = e?.[s.key] ?? init[s.key];
        if (v === undefined || s.optax === null) continue;
        if (s.len === 'scalar') shared[`fast_state.${s.optax}`] ??= v as number;
        else out[`fast_state.${s.optax}`] = v as FloatArray;
      }
      if (i !== undefined) for (const c of spec.optaxCounts) shared[`fast_state.${c.path}`] ??= step + c.offset;
      return out;
    });
    return { perTensor, shared };
  }

  /**
   * The inner optimizer's state dict under `fast`, the slow weights per tensor (`slow_params`,
   * positional like the inner's), the options in `param_groups[0]` and `steps_since_sync`.
   */
  override stateDict(): LookaheadStateDict {
    this.assertUsable();
    const fast = this.inner.stateDict();
    const names = this.#names();
    const state: StateDict['state'] = {};
    if (this.#slow) {
      const view = this.#slow.view();
      names.forEach((n, i) => {
        const t = this.params.tensor(n);
        state[i] = { slow_params: view.slice(t.offset, t.offset + t.size) };
      });
    }
    const group: Record<string, unknown> & { params: number[] } = { params: names.map((_, i) => i) };
    const o = this.#options();
    for (const h of this.spec.hparams) group[h.torch ?? h.name] = o[h.name as keyof LookaheadOptions];
    const dict: LookaheadStateDict = {
      state,
      param_groups: [group],
      downhill: { optimizer: 'Lookahead', dtype: this.params.dtype, stepCalls: this.#count },
      fast,
      steps_since_sync: this.#sinceSync,
    };
    Object.defineProperty(dict, 'toJSON', {
      enumerable: false,
      value: () => ({
        ...dict,
        state: Object.fromEntries(
          Object.entries(state).map(([i, e]) => [i, { slow_params: encodeTensor(e.slow_params as FloatArray) }]),
        ),
      }),
    });
    return dict;
  }

  /**
   * Restores a `stateDict()` (or its parsed JSON): everything is checked before anything is
   * written, then the inner optimizer loads `fast`.
   */
  override loadStateDict(dict: StateDict, opts: LoadOptions = {}): void {
    this.assertUsable();
    const rules = { ...checkLoadOptions(opts), dtype: this.params.dtype };
    const d = dict as Partial<LookaheadStateDict>;
    if (!d || typeof d !== 'object') throw typeError('stateDict', `must be an object, got ${describeType(d)}`);
    if (!d.fast || typeof d.fast !== 'object')
      throw typeError('stateDict.fast', "must be the inner optimizer's state dict");
    const meta = d.downhill;
    if (meta !== undefined) checkObject(meta, 'stateDict.downhill');
    if (meta !== undefined && meta?.optimizer !== 'Lookahead') {
      throw rangeError(
        'stateDict.downhill.optimizer',
        `is ${JSON.stringify(meta?.optimizer)}, this optimizer is Lookahead`,
      );
    }
    const count = checkStepCount(meta?.stepCalls ?? 0, 'stateDict.downhill.stepCalls');
    const since = checkStepCount(d.steps_since_sync, 'stateDict.steps_since_sync');
    if (!Array.isArray(d.param_groups) || d.param_groups.length !== 1) {
      throw rangeError('stateDict.param_groups', 'must hold the one Lookahead group');
    }
    const g = checkObject(d.param_groups[0], 'stateDict.param_groups[0]');
    const known = new Set(['params', ...this.spec.hparams.map((h) => h.torch ?? h.name)]);
    for (const k of ownKeys(g, 'stateDict.param_groups[0]')) {
      if (!known.has(k)) throw typeError(`stateDict.param_groups[0].${k}`, 'is not an option of Lookahead');
    }
    const options: Record<string, unknown> = {};
    for (const h of this.spec.hparams) {
      const v = g[h.torch ?? h.name];
      toWire(h, v, `stateDict.param_groups[0].${h.torch ?? h.name}`, this.params.dtype);
      options[h.name] = v;
    }
    const names = this.#names();
    const state = checkObject(d.state ?? {}, 'stateDict.state') as Record<string, Record<string, unknown>>;
    const keys = ownKeys(state, 'stateDict.state');
    if (keys.length !== 0 && keys.length !== names.length) {
      throw rangeError(
        'stateDict.state',
        `holds slow weights for ${keys.length} tensors, this optimizer has ${names.length}`,
      );
    }
    const slow = keys.map((key) => {
      const i = Number(key);
      const arg = `stateDict.state[${key}].slow_params`;
      if (!/^(0|[1-9]\d*)$/.test(key) || i >= names.length)
        throw rangeError(`stateDict.state[${key}]`, `no parameter with index ${key}`);
      const entry = checkObject(state[key], `stateDict.state[${key}]`);
      for (const k of ownKeys(entry, `stateDict.state[${key}]`)) {
        if (k !== 'slow_params') throw typeError(`stateDict.state[${key}].${k}`, 'is not a state key of Lookahead');
      }
      const t = this.params.tensor(names[i]);
      return { offset: t.offset, values: checkStateVector(entry.slow_params, t.size, arg, rules) };
    });
    // The slow weights' buffer is allocated before anything is written (out of memory changes nothing).
    const slowBuffer =
      slow.length === 0
        ? null
        : (this.#slow ??
          this.params.heap.alloc(this.params.dtype, this.params.buffers.params.length, 'Lookahead slow weights'));
    try {
      this.inner.loadStateDict(d.fast, opts);
    } catch (e) {
      if (slowBuffer !== this.#slow) slowBuffer?.dispose();
      throw e;
    }
    const group = this.paramGroups[0] as unknown as Record<string, unknown>;
    for (const h of this.spec.hparams) if (typeof group[h.name] !== 'function') group[h.name] = options[h.name];
    this.#count = count;
    this.#sinceSync = since;
    if (slow.length === 0) {
      this.#slow?.dispose();
      this.#slow = null;
      return;
    }
    this.#slow = slowBuffer as Buffer;
    const view = this.#slow.view();
    for (const s of slow) view.set(s.values, s.offset);
  }

  override dispose(): void {
    if (this.disposed) return;
    if (!this.params.heap.disposed) this.#slow?.dispose();
    this.#slow = null;
    this.inner.dispose();
    super.dispose();
  }

  /** The inner optimizer's fresh state for tensor `name`: each slot it keeps, at its initial value. */
  #initialState(name: string): Record<string, number | FloatArray> {
    const spec = this.inner.spec;
    const group = this.inner.paramGroups.find((g) => g.params.includes(name)) as unknown as Record<string, unknown>;
    const hp = spec.hparams.map((h) => {
      const v = group[h.name];
      return toWire(h, typeof v === 'function' ? (v as (c: number) => number)(0) : v, h.name, this.params.dtype);
    });
    const shape = shapeOf(this.params.tensor(name).shape);
    const out: Record<string, number | FloatArray> = {};
    for (const s of spec.state) {
      if (!hasSlot(spec, s, hp, shape)) continue;
      const v = initValue(spec, s, hp);
      out[s.key] = s.len === 'scalar' ? v : arrayFor(this.params.dtype, slotLength(s, shape)).fill(v);
    }
    return out;
  }

  /** The inner optimizer's tensors, in its positional order. */
  #names(): string[] {
    return this.inner.paramGroups.flatMap((g) => [...g.params]);
  }

  #segments(): Segment[] {
    return this.#names().map((n) => {
      const t = this.params.tensor(n);
      return { a: t.offset, b: t.offset, len: t.size };
    });
  }

  /** The options for this step (schedules evaluated), checked as the core checks them. */
  #options(): LookaheadOptions {
    const g = this.paramGroups[0] as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const h of this.spec.hparams) {
      let v = g[h.name];
      if (typeof v === 'function') v = (v as (c: number) => number)(this.#count);
      toWire(h, v, `groups[0].${h.name}`, this.params.dtype);
      out[h.name] = v;
    }
    return out as unknown as LookaheadOptions;
  }
}
