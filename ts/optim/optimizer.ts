/**
 * The machinery every optimizer class shares, driven by its spec (ts/generated/specs.ts): param
 * groups merged with defaults and validated with the core's rules, options that may be schedules,
 * lazily created state in one buffer laid out as the core lays it out, the step table that makes
 * one step one backend call, frozen tensors, and PyTorch-compatible state dicts.
 */
import type { Buffer, FloatArray } from '../backend/types.js';
import { BackendError, rangeError, typeError } from '../errors.js';
import { HEADER, OP, SPECS, TENSOR_STRIDE } from '../generated/specs.js';
import type { ParamStore } from '../params.js';
import {
  checkTorchFixed,
  defaultValue,
  describeType,
  hasSlot,
  initValue,
  shapeOf,
  stateLayout,
  suggest,
  toWire,
  type HParamData,
  type Layout,
  type Shape,
  type SpecData,
} from '../spec.js';
import {
  checkLoadOptions,
  checkStateNumber,
  checkStateVector,
  checkStepCount,
  encodeScalar,
  encodeTensor,
  isEncodedTensor,
} from '../state.js';
import { checkNames, checkObject, ownKeys } from '../validate.js';

/**
 * A value that changes with the step: `f(count)`, count = steps completed so far (Optax's convention).
 *
 * @inline
 */
export type Schedule = (count: number) => number;

/** Options where every number may also be a schedule. */
export type Scheduled<O> = { [K in keyof O]: O[K] extends number ? number | Schedule : O[K] };

/** A param group: the names of its tensors and its own options (missing ones take the defaults). */
export type GroupSpec<O> = {
  /** Names of the group's tensors in the store. */
  params: readonly string[];
} & Partial<Scheduled<O>>;

/** A live param group; its options may be changed between steps (schedulers set `lr`). */
export type ParamGroup<O> = Scheduled<O> & {
  /** Names of the group's tensors (fixed). */
  readonly params: readonly string[];
  /** The lr a scheduler started from (PyTorch's `initial_lr`), set by the first scheduler attached. */
  initialLr?: number;
};

/** PyTorch's `optimizer.state_dict()` layout: positional param indices, PyTorch key names. */
export interface StateDict {
  /** Per positional param index (tensors that took a step): `step` and the state slots by PyTorch's key. */
  state: Record<number, Record<string, number | FloatArray | number[]>>;
  /** Each group's options under PyTorch's keys, and its tensors as positional indices. */
  param_groups: Array<
    Record<string, unknown> & {
      /** Positional indices of the group's tensors (in group order). */
      params: number[];
    }
  >;
  /** downhill's own facts (PyTorch ignores it): the optimizer, the element type, steps taken. */
  downhill?: {
    /** The optimizer's class name. */
    optimizer: string;
    /** The element type of the store (`float32`, `float64`). */
    dtype: string;
    /** `step()` calls made (what schedules are evaluated at). */
    stepCalls: number;
    /** Positional indices of frozen tensors. */
    frozen?: number[];
  };
}

/** Options of `loadStateDict`. */
export interface LoadOptions {
  /**
   * Accept a diverged run's state: NaN, ±Infinity, and negative values in slots that are >= 0 in
   * a healthy run (second moments); rejected by default.
   */
  allowNonFinite?: boolean;
}

/** Keys of PyTorch param groups that describe its implementation, not the algorithm. */
const TORCH_IMPL_KEYS = new Set(['foreach', 'capturable', 'differentiable', 'fused', 'initial_lr', 'params']);

interface Entry {
  name: string;
  offset: number;
  size: number;
  shape: Shape;
  group: number;
}

/**
 * The base of every optimizer class (`SGD`, `Adam`, … each one spec of the core's registry). It
 * holds param groups (PyTorch's: each group's options merged with the defaults, live between
 * steps), the state (created at a tensor's first step, laid out in one buffer of the store's
 * heap), and makes each `step()` one call into the backend for all groups and tensors.
 *
 * `O` is the optimizer's options type (e.g. `AdamOptions`); every number in it may also be a
 * schedule `(count) => value`. State dicts use PyTorch's layout and keys, so they move between
 * backends and to and from PyTorch.
 */
export abstract class Optimizer<O extends object> {
  /** The parameter store this optimizer steps (tensors of other stores cannot join). */
  readonly params: ParamStore;
  /** The defaults groups were merged with. */
  readonly defaults: Readonly<Scheduled<O>>;
  readonly #spec: SpecData;
  readonly #groups: ParamGroup<O>[] = [];
  /**
   * Bumped whenever a group's options or the set of groups change. While it stands still and no
   * option is a schedule function, a step reuses the wire rows (and so the checked options and
   * the state layout) of the previous one: the per-step cost of the TS layer is then the table's
   * step counts alone.
   */
  #optionsVersion = 0;
  #rowsCache: { version: number; rows: Float64Array[] } | null = null;
  #groupsView: readonly ParamGroup<O>[] = Object.freeze([]);
  readonly #groupArgs: string[] = [];
  /** This optimizer's tensors in PyTorch's positional order (groups in order). */
  #entries: Entry[] = [];
  /** Positional indices sorted by arena offset: the order of the step table's rows. */
  #order: number[] = [];
  #index = new Map<string, number>();
  /** Steps taken per tensor (positional); 0 means no state yet, as in PyTorch. */
  #steps = new Float64Array(0);
  #frozen = new Uint8Array(0);
  #state: Buffer | null = null;
  #layout: Layout | null = null;
  /** Which slots each row has, as a string, to notice when the layout must change. */
  #layoutKey = '';
  #scratch: Buffer | null = null;
  #table = new Float64Array(0);
  #stepCalls = 0;
  #disposed = false;

  protected constructor(
    spec: SpecData,
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<O>[] | Partial<Scheduled<O>>,
    options?: Partial<Scheduled<O>>,
  ) {
    this.#spec = spec;
    if (!params || typeof params !== 'object' || typeof (params as ParamStore).tensor !== 'function') {
      throw typeError('params', `must be a ParamStore, got ${describeType(params)}`);
    }
    params.assertLive();
    this.params = params;
    const asGroups = Array.isArray(groupsOrOptions);
    if (groupsOrOptions !== undefined && (groupsOrOptions === null || typeof groupsOrOptions !== 'object')) {
      throw typeError(
        'options',
        `must be an object of options or an array of param groups, got ${describeType(groupsOrOptions)}` +
          (typeof groupsOrOptions === 'number' ? ` (for the learning rate write { lr: ${groupsOrOptions} })` : ''),
      );
    }
    if (options !== undefined && (!asGroups || options === null || typeof options !== 'object')) {
      throw typeError(
        'defaults',
        asGroups
          ? `must be an object of options, got ${describeType(options)}`
          : 'is only taken after an array of param groups',
      );
    }
    const given = (asGroups ? options : groupsOrOptions) ?? {};
    this.#checkKeys(given as object, asGroups ? 'defaults.' : 'options.', false);
    const defaults = Object.fromEntries(spec.hparams.map((h) => [h.name, defaultValue(h)])) as Scheduled<O>;
    for (const [k, v] of Object.entries(given)) if (v !== undefined) (defaults as Record<string, unknown>)[k] = v;
    this.#wireRow(defaults as Record<string, unknown>, asGroups ? 'defaults.' : 'options.');
    this.defaults = readOnly(
      Object.freeze(defaults),
      'defaults',
      'defaults are fixed at construction; set options on paramGroups',
    );
    const specs: readonly GroupSpec<O>[] = asGroups
      ? (groupsOrOptions as readonly GroupSpec<O>[])
      : [{ params: params.names } as GroupSpec<O>];
    if (specs.length === 0) throw rangeError('groups', 'optimizer got an empty list of param groups');
    specs.forEach((g, gi) => this.#addGroup(g, asGroups ? `groups[${gi}].` : 'options.'));
    if (this.#entries.length === 0) throw rangeError('params', 'optimizer got an empty parameter list');
  }

  /** The spec this optimizer follows. */
  get spec(): SpecData {
    return this.#spec;
  }

  /** The PyTorch-style class name. */
  get name(): string {
    return this.#spec.name;
  }

  /** The param groups (live: set options between steps; membership is fixed, see `addParamGroup`). */
  get paramGroups(): readonly ParamGroup<O>[] {
    return this.#groupsView;
  }

  /** Number of completed `step()` calls (the count schedules are evaluated at). */
  get stepCalls(): number {
    return this.#stepCalls;
  }

  /** Each group's learning rate for the next step (schedules evaluated). */
  get lrs(): number[] {
    return this.#groups.map((g) => {
      const v = (g as Record<string, unknown>).lr;
      return typeof v === 'function' ? (v as Schedule)(this.#stepCalls) : (v as number);
    });
  }

  /** Steps taken for `tensor` (0 before its first step). */
  stepCount(tensor: string): number {
    this.params.tensor(tensor, 'tensor');
    const i = this.#index.get(tensor);
    return i === undefined ? 0 : this.#steps[i];
  }

  /** Bytes of optimizer state for the current options (allocated at the first step). */
  stateBytes(): number {
    const layout = this.#computeLayout(this.#wireRows()).layout;
    return layout.total * (this.params.dtype === 'float32' ? 4 : 8);
  }

  /**
   * Adds a param group, as PyTorch's `add_param_group`: its tensors must not be in another group;
   * missing options take the defaults.
   */
  addParamGroup(group: GroupSpec<O>): void {
    this.#assertLive();
    this.#addGroup(group, `groups[${this.#groups.length}].`);
    // Existing state moves to the new layout now; without state yet, the first step lays it out.
    if (this.#state !== null) this.#relayout(this.#wireRows(), true);
  }

  /** Freezes tensors: they keep their state and take no steps until `unfreeze`. */
  freeze(names: readonly string[]): void {
    this.#setFrozen(names, 1);
  }

  /** Lets frozen tensors step again, continuing from the state they kept. */
  unfreeze(names: readonly string[]): void {
    this.#setFrozen(names, 0);
  }

  /** Names of the frozen tensors. */
  get frozen(): string[] {
    return this.#entries.filter((_, i) => this.#frozen[i] === 1).map((e) => e.name);
  }

  #setFrozen(names: readonly string[], v: number): void {
    this.#assertLive();
    const idx = checkNames(names, 'names').map((n, i) => {
      const j = this.#index.get(n as string);
      if (j === undefined) {
        throw rangeError(`names[${i}]`, `${JSON.stringify(n)} is not a tensor of this optimizer`);
      }
      return j;
    });
    for (const j of idx) this.#frozen[j] = v;
  }

  /**
   * One optimizer step over every group, as one backend call. With a `closure`, it is called
   * first and its loss returned (PyTorch's `step(closure)`). Options are checked before any
   * buffer is written; on error nothing changes.
   */
  step(closure?: () => number): number | undefined {
    this.#assertLive();
    if (closure !== undefined && typeof closure !== 'function') {
      throw typeError('closure', `must be a function returning the loss, got ${describeType(closure)}`);
    }
    const loss = closure ? closure() : undefined;
    this.#assertLive();
    const rows = this.#stepRows();
    const table = this.#buildTable(rows);
    const { params, grads } = this.params.buffers;
    const scratch = this.#ensureScratch(table);
    const b = this.#runBuffers;
    b[0] = params;
    b[1] = grads;
    b[2] = this.#state;
    b[3] = scratch;
    this.params.heap.run(OP.STEP, this.params.dtype, table, b);
    const steps = this.#steps;
    for (let i = 0; i < steps.length; i++) if (this.#frozen[i] === 0) steps[i] += 1;
    this.#stepCalls += 1;
    return loss;
  }

  /**
   * Forgets every tensor's state, as if no step had been taken (Optax's `init`): the next step
   * starts each slot from its initial value and counts from 1, and schedules restart at 0.
   * Options, param groups and frozen tensors stay.
   */
  resetState(): void {
    this.#assertLive();
    this.#steps.fill(0);
    this.#stepCalls = 0;
  }

  /**
   * For subclasses that run core ops over their own state: the state buffer and, for each
   * tensor that has taken a step and keeps slot `key`, its arena offset and the slot's place
   * in the buffer. Null before the first step.
   */
  protected slotRanges(key: string): {
    /** The optimizer's state buffer (in the store's heap). */
    buffer: Buffer;
    /** One entry per tensor that keeps the slot. */
    ranges: {
      /** The tensor's name. */
      name: string;
      /** The tensor's offset in the parameter arena. */
      offset: number;
      /** Where the tensor's slot starts in the state buffer. */
      at: number;
      /** The slot's length in elements. */
      len: number;
    }[];
  } | null {
    this.#assertLive();
    const k = this.#spec.state.findIndex((s) => s.key === key);
    const layout = this.#layout;
    if (k < 0 || !this.#state || !layout) return null;
    const ranges = this.#order.flatMap((pos, row) => {
      const at = layout.at[row][k];
      if (at < 0 || this.#steps[pos] === 0) return [];
      const e = this.#entries[pos];
      return [{ name: e.name, offset: e.offset, at, len: layout.len[row][k] }];
    });
    return { buffer: this.#state, ranges };
  }

  /** Zeroes the gradients of this optimizer's tensors. */
  zeroGrad(): void {
    this.#assertLive();
    const g = this.params.grads;
    for (const e of this.#entries) g.fill(0, e.offset, e.offset + e.size);
  }

  /**
   * PyTorch's `state_dict()`: `state[i]` holds `step` and this optimizer's buffers for the i-th
   * tensor (groups in order), as typed-array copies (scalar state as numbers); tensors without a
   * step yet have no entry. `param_groups` hold the options with PyTorch's names (schedules
   * evaluated at the current step) and the param indices. `JSON.stringify` of the result keeps
   * every bit (see `ts/state.ts`), and `loadStateDict` takes the parsed JSON back.
   */
  stateDict(): StateDict {
    this.#assertLive();
    const spec = this.#spec;
    const rows = this.#wireRows();
    const state: StateDict['state'] = {};
    const view = this.#state?.view();
    const layout = this.#layout;
    this.#order.forEach((pos, row) => {
      const steps = this.#steps[pos];
      if (steps === 0) return;
      const entry: Record<string, number | FloatArray> = { step: steps };
      spec.state.forEach((s, k) => {
        if (!view || !layout || layout.at[row][k] < 0) return;
        const at = layout.at[row][k];
        const chunk = view.slice(at, at + layout.len[row][k]);
        entry[s.key] = s.len === 'scalar' ? chunk[0] : chunk;
      });
      state[pos] = entry;
    });
    let next = 0;
    const param_groups = this.#groups.map((g, gi) => {
      const initial = (g as { initialLr?: number }).initialLr;
      return {
        ...this.#toTorch(rows[gi]),
        ...(typeof initial === 'number' ? { initial_lr: initial } : {}),
        params: g.params.map(() => next++),
      };
    });
    const frozen = [...this.#frozen].flatMap((f, i) => (f ? [i] : []));
    const dict: StateDict = {
      state,
      param_groups,
      downhill: { optimizer: spec.name, dtype: this.params.dtype, stepCalls: this.#stepCalls, frozen },
    };
    Object.defineProperty(dict, 'toJSON', { value: () => encodeStateDict(dict), enumerable: false });
    return dict;
  }

  /**
   * PyTorch's `load_state_dict()`: restores steps, buffers and group options. The whole dict is
   * checked against this optimizer (group count and sizes, option values, every state element's
   * type, finiteness and sign, step bounds) before anything is written; on error nothing changes.
   * Options that are schedules stay schedules (their position is the restored step count).
   */
  loadStateDict(dict: StateDict, opts: LoadOptions = {}): void {
    this.#assertLive();
    const spec = this.#spec;
    const { allowNonFinite } = checkLoadOptions(opts);
    if (!dict || typeof dict !== 'object') {
      throw typeError('stateDict', `must be an object with state and param_groups, got ${describeType(dict)}`);
    }
    const { state, param_groups } = dict;
    if (!Array.isArray(param_groups)) {
      throw typeError('stateDict.param_groups', `must be an array, got ${describeType(param_groups)}`);
    }
    if (!state || typeof state !== 'object' || Array.isArray(state)) {
      throw typeError('stateDict.state', `must be an object keyed by param index, got ${describeType(state)}`);
    }
    if (param_groups.length !== this.#groups.length) {
      throw rangeError(
        'stateDict.param_groups',
        `has ${param_groups.length} groups, this optimizer has ${this.#groups.length}`,
      );
    }
    const meta = dict.downhill;
    let stepCalls = this.#stepCalls;
    let frozen: number[] = [];
    if (meta !== undefined) {
      if (!meta || typeof meta !== 'object')
        throw typeError('stateDict.downhill', `must be an object, got ${describeType(meta)}`);
      if (meta.optimizer !== spec.name) {
        throw rangeError(
          'stateDict.downhill.optimizer',
          `is ${JSON.stringify(meta.optimizer)}, this optimizer is ${spec.name}`,
        );
      }
      stepCalls = checkStepCount(meta.stepCalls, 'stateDict.downhill.stepCalls');
      if (meta.frozen !== undefined) {
        if (!Array.isArray(meta.frozen))
          throw typeError('stateDict.downhill.frozen', 'must be an array of param indices');
        frozen = meta.frozen.map((i, j) => {
          if (!Number.isInteger(i) || i < 0 || i >= this.#entries.length) {
            throw rangeError(`stateDict.downhill.frozen[${j}]`, `no parameter with index ${String(i)}`);
          }
          return i;
        });
      }
    }
    // Options, as public values (schedules kept) and as wire rows for the layout.
    const options = param_groups.map((g, gi) => {
      const arg = `stateDict.param_groups[${gi}].`;
      checkObject(g, arg.slice(0, -1));
      if (!Array.isArray(g.params))
        throw typeError(`${arg}params`, `must be an array of param indices, got ${describeType(g.params)}`);
      const want = this.#groups[gi].params.length;
      if (g.params.length !== want) {
        throw rangeError(`${arg}params`, `has ${g.params.length} params, group ${gi} of this optimizer has ${want}`);
      }
      g.params.forEach((id: unknown, j: number) => {
        // PyTorch's ids are positions (or any ints it maps by position); anything else is a broken file.
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
          throw (typeof id === 'number' ? rangeError : typeError)(
            `${arg}params[${j}]`,
            `must be a param index (a non-negative integer), got ${typeof id === 'number' ? String(id) : describeType(id)}`,
          );
        }
      });
      return this.#fromTorch(g, gi, arg);
    });
    const rows = options.map((o, gi) => this.#wireRow(o, `stateDict.param_groups[${gi}].`));
    const { layout } = this.#computeLayout(rows);
    const steps = new Float64Array(this.#entries.length);
    const writes: { row: number; k: number; values: ArrayLike<number> }[] = [];
    const rowOf = new Map(this.#order.map((pos, row) => [pos, row]));
    for (const key of ownKeys(state, 'stateDict.state')) {
      const i = Number(key);
      const arg = `stateDict.state[${key}]`;
      // Canonical indices only: "01" and "1" would otherwise both load into tensor 1.
      if (!/^(0|[1-9]\d*)$/.test(key) || i >= this.#entries.length) {
        throw rangeError(arg, `no parameter with index ${key} (this optimizer has ${this.#entries.length})`);
      }
      const entry = (state as Record<string, unknown>)[key];
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
        throw typeError(arg, `must be an object of step and buffers, got ${describeType(entry)}`);
      }
      const e = entry as Record<string, unknown>;
      const count = checkStepCount(e.step, `${arg}.step`);
      steps[i] = count;
      const row = rowOf.get(i) as number;
      const known = new Set(['step', ...spec.state.map((s) => s.key)]);
      for (const k of ownKeys(e, arg)) {
        if (!known.has(k)) {
          throw typeError(`${arg}.${k}`, `is not a state key of ${spec.name} (known: ${[...known].join(', ')})`);
        }
      }
      spec.state.forEach((s, k) => {
        const v = e[s.key];
        const present = layout.at[row][k] >= 0;
        if (v === undefined || v === null) {
          if (present && count > 0) throw rangeError(`${arg}.${s.key}`, 'is missing');
          return;
        }
        if (!present) {
          throw rangeError(
            `${arg}.${s.key}`,
            `is given, but ${spec.name} with these options keeps no ${s.key} for this tensor`,
          );
        }
        const n = layout.len[row][k];
        const rules = { allowNonFinite, dtype: this.params.dtype, nonneg: s.nonneg, what: s.key };
        const values =
          s.len === 'scalar' && !isEncodedTensor(v) && !ArrayBuffer.isView(v) && !Array.isArray(v)
            ? [checkStateNumber(v, `${arg}.${s.key}`, rules)]
            : checkStateVector(v, n, `${arg}.${s.key}`, rules);
        writes.push({ row, k, values });
      });
    }
    // Everything checked. The new state buffer is allocated before anything is written, so running
    // out of memory (a RangeError) also leaves the optimizer as it was.
    const fresh = this.params.heap.alloc(this.params.dtype, layout.total, `${spec.name} state`);
    options.forEach((o, gi) => {
      const g = this.#groups[gi] as Record<string, unknown>;
      for (const h of spec.hparams) if (typeof g[h.name] !== 'function') g[h.name] = o[h.name];
      const initial = (param_groups[gi] as Record<string, unknown>).initial_lr;
      if (typeof initial === 'number') g.initialLr = initial;
    });
    this.#steps = steps;
    this.#stepCalls = stepCalls;
    this.#frozen.fill(0);
    for (const i of frozen) this.#frozen[i] = 1;
    this.#state?.dispose();
    this.#state = null;
    this.#layout = null;
    this.#layoutKey = '';
    this.#relayout(rows, false, fresh);
    const view = fresh.view();
    for (const w of writes) {
      const at = layout.at[w.row][w.k];
      for (let j = 0; j < layout.len[w.row][w.k]; j++) view[at + j] = w.values[j];
    }
  }

  /** Frees the state buffers; later use throws. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.params.heap.disposed) {
      this.#state?.dispose();
      this.#scratch?.dispose();
    }
    this.#state = null;
    this.#scratch = null;
  }

  /** `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** @internal for subclasses: throws a `BackendError` once this optimizer or its store is disposed. */
  protected assertUsable(): void {
    this.#assertLive();
  }

  #assertLive(): void {
    if (this.#disposed) throw new BackendError(this.params.backend.name, `${this.#spec.name} used after dispose()`);
    this.params.assertLive();
  }

  // ---- groups and options -------------------------------------------------------------------

  /** Unknown keys are a TypeError naming the key and what was probably meant. */
  #checkKeys(o: object, prefix: string, allowParams: boolean): void {
    for (const k of ownKeys(o, prefix.slice(0, -1))) {
      if (allowParams && k === 'params') continue;
      if (this.#spec.hparams.some((h) => h.name === k)) continue;
      const s = suggest(this.#spec, k);
      const hint =
        s.length > 0
          ? `; did you mean ${s.join(', ')}?`
          : `; ${this.#spec.name} options are ${this.#spec.hparams.map((h) => h.name).join(', ')}`;
      throw typeError(`${prefix}${k}`, `is not an option of ${this.#spec.name}${hint}`);
    }
  }

  #addGroup(g: GroupSpec<O>, arg: string): void {
    if (!g || typeof g !== 'object' || Array.isArray(g)) {
      throw typeError(arg.slice(0, -1), `must be an object with params, got ${describeType(g)}`);
    }
    if (!Array.isArray(g.params))
      throw typeError(`${arg}params`, `must be an array of tensor names, got ${describeType(g.params)}`);
    this.#checkKeys(g, arg, true);
    const gi = this.#groups.length;
    const seen = new Set<string>();
    g.params.forEach((name, pi) => {
      this.params.tensor(name, `${arg}params[${pi}]`);
      const prev = this.#index.get(name);
      if (prev !== undefined || seen.has(name)) {
        const where = prev !== undefined ? `groups[${this.#entries[prev].group}]` : 'this group already';
        throw rangeError(`${arg}params[${pi}]`, `tensor ${JSON.stringify(name)} is already in ${where}`);
      }
      seen.add(name);
    });
    const { params: names, ...rest } = g;
    const merged: Record<string, unknown> = { ...this.defaults };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) merged[k] = v;
    this.#wireRow(merged, arg);
    // Membership is fixed (the table is computed from it); options stay writable, keys fixed.
    Object.defineProperty(merged, 'params', {
      value: readOnly(
        Object.freeze([...names]),
        `paramGroups[${gi}].params`,
        'is fixed once the group exists (use addParamGroup for new tensors)',
      ),
      enumerable: true,
      writable: false,
    });
    // PyTorch's `initial_lr`: set by the first scheduler on this optimizer (not an option).
    Object.defineProperty(merged, 'initialLr', { value: undefined, enumerable: false, writable: true });
    const group = this.#guardGroup(Object.seal(merged), gi);
    for (const name of names) {
      const t = this.params.tensor(name);
      this.#index.set(name, this.#entries.length);
      this.#entries.push({ name, offset: t.offset, size: t.size, shape: shapeOf(t.shape), group: gi });
    }
    this.#groups.push(group);
    this.#groupArgs.push(arg);
    this.#optionsVersion += 1;
    this.#groupsView = guardList([...this.#groups], this.#spec.name);
    const steps = new Float64Array(this.#entries.length);
    steps.set(this.#steps);
    this.#steps = steps;
    const frozen = new Uint8Array(this.#entries.length);
    frozen.set(this.#frozen);
    this.#frozen = frozen;
    this.#order = this.#entries.map((_, i) => i).sort((a, b) => this.#entries[a].offset - this.#entries[b].offset);
  }

  /**
   * A live group that refuses what would desynchronise it from the optimizer, with errors that
   * name the key: new keys (`betas` → did you mean beta1, beta2?), a new `params` list, deleting
   * an option, and values of the wrong kind (checked when set; nothing is written on error).
   */
  #guardGroup(target: Record<string, unknown>, gi: number): ParamGroup<O> {
    const spec = this.#spec;
    const arg = (k: string) => `paramGroups[${gi}].${k}`;
    return new Proxy(target, {
      set: (t, key, value) => {
        if (typeof key !== 'string') throw typeError(`paramGroups[${gi}]`, 'takes only option names as keys');
        if (key === 'params')
          throw typeError(arg('params'), 'is fixed once the group exists (use addParamGroup for new tensors)');
        if (key === 'initialLr') {
          t.initialLr = value;
          return true;
        }
        const h = spec.hparams.find((x) => x.name === key);
        if (!h) {
          const s = suggest(spec, key);
          throw typeError(
            arg(key),
            `is not an option of ${spec.name}${s.length > 0 ? `; did you mean ${s.join(', ')}?` : ''}`,
          );
        }
        if (typeof value === 'function') {
          if (h.kind !== 'real') throw typeError(arg(key), 'only real-valued options may be schedules');
        } else toWire(h, value, arg(key), this.params.dtype);
        t[key] = value;
        this.#optionsVersion += 1;
        return true;
      },
      deleteProperty: (_t, key) => {
        throw typeError(arg(String(key)), 'options cannot be deleted from a param group');
      },
      defineProperty: (_t, key) => {
        throw typeError(arg(String(key)), 'set options by assignment');
      },
    }) as unknown as ParamGroup<O>;
  }

  /** One group's options as wire values (schedules evaluated), checked with the core's rules. */
  #wireRow(o: Record<string, unknown>, arg: string): Float64Array {
    const spec = this.#spec;
    const row = new Float64Array(spec.hparams.length);
    spec.hparams.forEach((h, j) => {
      let v = o[h.name];
      if (typeof v === 'function') {
        if (h.kind !== 'real') throw typeError(`${arg}${h.name}`, 'only real-valued options may be schedules');
        v = (v as Schedule)(this.#stepCalls ?? 0);
        if (typeof v !== 'number') {
          throw typeError(`${arg}${h.name}`, `schedule returned ${describeType(v)} at step ${this.#stepCalls}`);
        }
      }
      row[j] = toWire(h, v, `${arg}${h.name}`, this.params.dtype);
    });
    for (const r of spec.rules) {
      const flag = row[spec.hparams.findIndex((h) => h.name === r.flag)];
      const v = row[spec.hparams.findIndex((h) => h.name === r.hparam)];
      if (flag !== 0 && !(r.test === 'positive' ? v > 0 : v === 0)) {
        throw rangeError(`${arg}${r.flag}`, `requires ${r.hparam} ${r.test === 'positive' ? '> 0' : '= 0'}`);
      }
    }
    return row;
  }

  #wireRows(): Float64Array[] {
    return this.#groups.map((g, gi) => this.#wireRow(g as Record<string, unknown>, this.#groupArgs[gi]));
  }

  /** The rows of this step: re-read (and the state re-laid out) only when the options moved. */
  #stepRows(): Float64Array[] {
    const c = this.#rowsCache;
    if (c !== null && c.version === this.#optionsVersion && this.#state !== null) return c.rows;
    const rows = this.#wireRows();
    this.#relayout(rows, false);
    const scheduled = this.#groups.some((g) =>
      this.#spec.hparams.some((h) => typeof (g as Record<string, unknown>)[h.name] === 'function'),
    );
    // Schedule functions give new values every step: never cached.
    this.#rowsCache = scheduled ? null : { version: this.#optionsVersion, rows };
    return rows;
  }

  /** A group's options as a PyTorch param_group (PyTorch's keys; our name where PyTorch has none). */
  #toTorch(row: Float64Array): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#spec.hparams.forEach((h, j) => {
      const x = row[j];
      const v = h.kind === 'bool' ? x !== 0 : h.kind === 'choice' ? (h.choices ?? [])[x] : Number.isNaN(x) ? null : x;
      const key = h.torch ?? h.name;
      const dot = key.indexOf('.');
      if (dot < 0) out[key] = v;
      else {
        const arr = (out[key.slice(0, dot)] ??= []) as unknown[];
        arr[Number(key.slice(dot + 1))] = v;
      }
    });
    return out;
  }

  /** Options (public values) from a PyTorch param_group; unknown keys are errors. */
  #fromTorch(g: Record<string, unknown>, gi: number, arg: string): Record<string, unknown> {
    const spec = this.#spec;
    const out: Record<string, unknown> = {};
    const used = new Set<string>();
    for (const h of spec.hparams) {
      const key = h.torch ?? h.name;
      const dot = key.indexOf('.');
      let v: unknown;
      if (dot < 0) v = g[key];
      else {
        const base = key.slice(0, dot);
        const arr = g[base];
        if (arr !== undefined && !Array.isArray(arr))
          throw typeError(`${arg}${base}`, `must be an array, got ${describeType(arr)}`);
        v = arr?.[Number(key.slice(dot + 1))];
      }
      used.add(dot < 0 ? key : key.slice(0, dot));
      out[h.name] = v === undefined ? (this.#groups[gi] as Record<string, unknown>)[h.name] : v;
    }
    for (const k of Object.keys(g)) {
      if (
        !used.has(k) &&
        !TORCH_IMPL_KEYS.has(k) &&
        !spec.hparams.some((h) => h.name === k) &&
        !checkTorchFixed(spec, k, g[k], `${arg}${k}`)
      ) {
        throw typeError(`${arg}${k}`, `is not an option of ${spec.name}`);
      }
    }
    return out;
  }

  // ---- state layout, table, scratch ---------------------------------------------------------

  #computeLayout(rows: Float64Array[]): { layout: Layout; key: string } {
    const spec = this.#spec;
    const rowsInOrder = this.#order.map((pos) => ({
      shape: this.#entries[pos].shape,
      hp: rows[this.#entries[pos].group],
    }));
    const layout = stateLayout(spec, rowsInOrder);
    const key = rowsInOrder
      .map((r) => spec.state.map((s) => (hasSlot(spec, s, r.hp, r.shape) ? 1 : 0)).join(''))
      .join('|');
    return { layout, key };
  }

  /**
   * Makes the state buffer match the layout the options give: allocated at the first step, and
   * re-laid out (existing slots copied, new ones set to their initial value) when an option
   * that decides a slot changes or a group is added.
   */
  #relayout(rows: Float64Array[], membershipChanged: boolean, given?: Buffer): void {
    const { layout, key } = this.#computeLayout(rows);
    if (key === this.#layoutKey && this.#state !== null && !membershipChanged) return;
    const heap = this.params.heap;
    const fresh = given ?? heap.alloc(this.params.dtype, layout.total, `${this.#spec.name} state`);
    const old = this.#state;
    const oldLayout = this.#layout;
    if (old && oldLayout) {
      const src = old.view();
      const dst = fresh.view();
      const oldRow = new Map<number, number>();
      // Rows of the old layout are the positional indices that existed then, in offset order.
      const oldOrder = this.#oldOrder ?? this.#order;
      oldOrder.forEach((pos, row) => oldRow.set(pos, row));
      this.#order.forEach((pos, row) => {
        const o = oldRow.get(pos);
        this.#spec.state.forEach((s, k) => {
          const at = layout.at[row][k];
          if (at < 0) return;
          const n = layout.len[row][k];
          if (o !== undefined && oldLayout.at[o][k] >= 0) {
            dst.set(src.subarray(oldLayout.at[o][k], oldLayout.at[o][k] + n), at);
          } else if (this.#steps[pos] > 0) {
            dst.fill(initValue(this.#spec, s, rows[this.#entries[pos].group]), at, at + n);
          }
        });
      });
      old.dispose();
    }
    this.#state = fresh;
    this.#layout = layout;
    this.#layoutKey = key;
    this.#oldOrder = [...this.#order];
    this.#scratchFor = null;
  }

  #oldOrder: number[] | null = null;
  #scratchFor: Float64Array | null = null;
  /** The step's buffer list, refilled every step (a step allocates nothing in steady state). */
  readonly #runBuffers: (Buffer | null)[] = [null, null, null, null];

  #buildTable(rows: Float64Array[]): Float64Array {
    const spec = this.#spec;
    const h = spec.hparams.length;
    const g = rows.length;
    const k = this.#order.length;
    const len = HEADER + g * h + k * TENSOR_STRIDE;
    if (this.#table.length !== len) this.#table = new Float64Array(len);
    const t = this.#table;
    t[0] = spec.id;
    t[1] = g;
    t[2] = k;
    t[3] = 1;
    for (let gi = 0; gi < g; gi++) t.set(rows[gi], HEADER + gi * h);
    let o = HEADER + g * h;
    for (const pos of this.#order) {
      const e = this.#entries[pos];
      t[o] = e.offset;
      t[o + 1] = e.size;
      t[o + 2] = e.shape.ndim;
      t[o + 3] = e.shape.batch;
      t[o + 4] = e.shape.rows;
      t[o + 5] = e.shape.cols;
      t[o + 6] = e.group;
      t[o + 7] = this.#steps[pos] + 1;
      t[o + 8] = this.#frozen[pos];
      o += TENSOR_STRIDE;
    }
    return t;
  }

  /** Scratch for tensor-wise specs, sized by the core (`STEP_INFO`) once per layout. */
  #ensureScratch(table: Float64Array): Buffer | null {
    if (this.#spec.driver !== 'tensorwise') return null;
    if (this.#scratchFor === null) {
      const info = new Float64Array(table.length + 2);
      info.set(table);
      this.params.heap.run(OP.STEP_INFO, this.params.dtype, info, [this.params.buffers.params]);
      const need = info[info.length - 1];
      if (!this.#scratch || this.#scratch.length < need) {
        this.#scratch?.dispose();
        this.#scratch = this.params.heap.alloc(this.params.dtype, need, `${this.#spec.name} scratch`);
      }
      this.#scratchFor = table;
    }
    return this.#scratch;
  }
}

/** Optimizer classes by name (each class module registers itself), for `createOptimizer`. */
const CLASSES = new Map<string, OptimizerClass>();

// The class constructors differ in their option types; this is what they share.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
/** An optimizer of any class (what `createOptimizer` returns and what `fit` and schedulers take). */
export type AnyOptimizer = Optimizer<any>;
export type OptimizerClass = new (params: ParamStore, options?: Record<string, unknown>) => AnyOptimizer;
/** An optimizer class with both constructor forms: options, or param groups and defaults. */
export type GroupedOptimizerClass = OptimizerClass &
  (new (
    params: ParamStore,
    groups: readonly GroupSpec<Record<string, unknown>>[],
    defaults?: Record<string, unknown>,
  ) => AnyOptimizer);

/** Makes a class available to `createOptimizer` by its name (called by each class module). */
export function registerOptimizer(name: string, cls: OptimizerClass): void {
  CLASSES.set(name.toLowerCase(), cls);
}

/** Names of every registered optimizer class. */
export function optimizerNames(): string[] {
  // In wire-id order, whatever order the class modules happened to be imported in.
  const id = (name: string) => SPECS.find((s) => s.name.toLowerCase() === name.toLowerCase())?.id ?? Infinity;
  return [...CLASSES.values()].map((c) => c.name).sort((a, b) => id(a) - id(b));
}

/** `new <name>(params, options)` by class name, case-insensitive (`'adamw'`, `'SGD'`). */
export function createOptimizer(
  name: string,
  params: ParamStore,
  options: Record<string, unknown> = {},
  arg = 'type',
): AnyOptimizer {
  return new (optimizerClass(name, arg))(params, options);
}

/** The class of an optimizer by name (case-insensitive), to build it with param groups. */
export function optimizerClass(name: string, arg = 'type'): GroupedOptimizerClass {
  if (typeof name !== 'string') throw typeError(arg, `must be an optimizer name, got ${describeType(name)}`);
  const cls = CLASSES.get(name.toLowerCase());
  if (!cls) throw rangeError(arg, `unknown optimizer ${JSON.stringify(name)}; one of ${optimizerNames().join(', ')}`);
  return cls as unknown as GroupedOptimizerClass;
}

/**
 * A frozen object or array behind a proxy whose writes throw a `TypeError` naming `arg` (a frozen
 * object alone throws V8's "Cannot assign to read only property", which names nothing of ours).
 */
function readOnly<T extends object>(target: T, arg: string, why: string): T {
  const refuse = (key: string | symbol): never => {
    throw typeError(typeof key === 'string' && !/^\d+$/.test(key) ? `${arg}.${key}` : arg, why);
  };
  return new Proxy(target, {
    set: (_t, key) => refuse(key),
    deleteProperty: (_t, key) => refuse(key),
    defineProperty: (_t, key) => refuse(key),
    setPrototypeOf: () => refuse('prototype'),
  });
}

/** The param-group list: readable like an array, but its entries cannot be replaced, added or removed. */
function guardList<T>(groups: T[], name: string): readonly T[] {
  Object.freeze(groups);
  const refuse = (what: string) => {
    throw typeError('paramGroups', `${what}: the groups of ${name} are fixed (use addParamGroup to add one)`);
  };
  return new Proxy(groups, {
    set: (_t, key) => refuse(`cannot set paramGroups[${String(key)}]`),
    deleteProperty: (_t, key) => refuse(`cannot delete paramGroups[${String(key)}]`),
    defineProperty: (_t, key) => refuse(`cannot define paramGroups[${String(key)}]`),
  });
}

/** The JSON form of a state dict: typed arrays as exact base64 (see ts/state.ts). */
function encodeStateDict(d: StateDict): unknown {
  const state: Record<string, Record<string, unknown>> = {};
  for (const [i, e] of Object.entries(d.state)) {
    state[i] = Object.fromEntries(
      Object.entries(e).map(([k, v]) => [
        k,
        ArrayBuffer.isView(v) ? encodeTensor(v as FloatArray) : typeof v === 'number' ? encodeScalar(v) : v,
      ]),
    );
  }
  return { state, param_groups: d.param_groups, downhill: d.downhill };
}

export type { HParamData };
