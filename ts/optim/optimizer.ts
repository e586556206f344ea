/**
 * The shared machinery of every optimizer class: param groups merged with defaults, lazily
 * created state in flat slots matching the arena, the segment table that makes one step one
 * backend call, and PyTorch-compatible state dicts.
 */
import type { BoundStep, Buffer } from '../backend/types.js';
import { bindStep, SEG_STRIDE } from '../backend/types.js';
import { rangeError, typeError } from '../errors.js';
import type { ParamStore } from '../params.js';

/** Options every optimizer has. */
export interface BaseOptions {
  lr: number;
  weightDecay: number;
  maximize: boolean;
}

/** A param group: the names of its tensors and its own options (missing ones take the defaults). */
export type GroupSpec<O> = { params: readonly string[] } & Partial<O>;

/** A live param group; its options may be changed between steps (schedulers set `lr`). */
export type ParamGroup<O> = O & { readonly params: readonly string[] };

/** PyTorch's `optimizer.state_dict()` layout: positional param indices, PyTorch key names. */
export interface StateDict {
  state: Record<number, Record<string, number | Float32Array | number[]>>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

/** How one optimizer maps its options onto the core's kernel. */
export interface OptimizerDef<O extends BaseOptions> {
  name: string;
  kernel: number;
  /** PyTorch state key of each slot. */
  slots: readonly string[];
  defaults: O;
  /** Checks a full set of options; `arg` prefixes messages (e.g. `groups[1].`). */
  check(o: O, arg: string): void;
  /** Columns 6..9 of a segment row. */
  extra(o: O): [number, number, number, number];
  /** Which state slots these options use. */
  uses(o: O): [boolean, boolean, boolean];
  /** Options as a PyTorch param_group (without `params`). */
  toTorch(o: O): Record<string, unknown>;
  /** Options from a PyTorch param_group. */
  fromTorch(g: Record<string, unknown>, arg: string): O;
}

export function checkNonNegative(v: unknown, arg: string): void {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${typeof v}`);
  if (!(Number.isFinite(v) && v >= 0)) throw rangeError(arg, `must be finite and >= 0, got ${v}`);
}

export function checkBool(v: unknown, arg: string): void {
  if (typeof v !== 'boolean') throw typeError(arg, `must be a boolean, got ${typeof v}`);
}

/** Reads a number from a PyTorch dict. */
export function torchNumber(g: Record<string, unknown>, key: string, arg: string): number {
  const v = g[key];
  if (typeof v !== 'number') throw typeError(`${arg}${key}`, `must be a number, got ${typeof v}`);
  return v;
}

export function torchBool(g: Record<string, unknown>, key: string, arg: string, fallback = false): boolean {
  const v = g[key] ?? fallback;
  if (typeof v !== 'boolean') throw typeError(`${arg}${key}`, `must be a boolean, got ${typeof v}`);
  return v;
}

export abstract class Optimizer<O extends BaseOptions> {
  readonly params: ParamStore;
  readonly paramGroups: ParamGroup<O>[];
  /** The defaults groups were merged with. */
  readonly defaults: O;
  readonly #def: OptimizerDef<O>;
  #slots: [Buffer | null, Buffer | null, Buffer | null] = [null, null, null];
  /** This optimizer's tensors in PyTorch's positional order (groups in order). */
  #tensors: { name: string; offset: number; size: number; group: number }[] = [];
  #index = new Map<string, number>();
  /** Steps taken per tensor (positional); 0 means no state yet, as in PyTorch. */
  #steps = new Float64Array(0);
  /** Maximal runs of arena-adjacent tensors of one group, sorted by offset. */
  #runs: { group: number; offset: number; len: number; members: number[] }[] = [];
  #table = new Float64Array(0);
  /** The backend step over this store's buffers and the current slots; null when slots change. */
  #bound: BoundStep | null = null;
  /** How messages name each group's options: `options.` or `groups[i].`. */
  readonly #groupArgs: string[] = [];

  protected constructor(
    def: OptimizerDef<O>,
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<O>[] | Partial<O>,
    options?: Partial<O>,
  ) {
    this.#def = def;
    if (!params || typeof params !== 'object' || typeof params.tensor !== 'function') {
      throw typeError('params', 'must be a ParamStore');
    }
    params.assertLive();
    this.params = params;
    const groupSpecs: readonly GroupSpec<O>[] = Array.isArray(groupsOrOptions)
      ? groupsOrOptions
      : [{ params: params.names, ...(groupsOrOptions as Partial<O> | undefined) } as unknown as GroupSpec<O>];
    const defaultsGiven = Array.isArray(groupsOrOptions) ? options : undefined;
    if (defaultsGiven !== undefined && (defaultsGiven === null || typeof defaultsGiven !== 'object')) {
      throw typeError('options', 'must be an object');
    }
    this.defaults = { ...def.defaults, ...stripUndefined(defaultsGiven ?? {}) };
    def.check(this.defaults, 'options.');
    if (groupSpecs.length === 0) throw rangeError('groups', 'optimizer got an empty list of param groups');
    const owner = new Map<string, number>();
    this.paramGroups = groupSpecs.map((g, gi) => {
      const arg = Array.isArray(groupsOrOptions) ? `groups[${gi}].` : 'options.';
      if (!g || typeof g !== 'object') throw typeError(`groups[${gi}]`, 'must be an object with params');
      if (!Array.isArray(g.params)) throw typeError(`${arg}params`, 'must be an array of tensor names');
      g.params.forEach((name, pi) => {
        params.tensor(name, `${arg}params[${pi}]`);
        const prev = owner.get(name);
        if (prev !== undefined) {
          throw rangeError(`${arg}params[${pi}]`, `tensor ${JSON.stringify(name)} is already in groups[${prev}]`);
        }
        owner.set(name, gi);
      });
      const { params: names, ...rest } = g;
      // Membership is fixed (the arena runs are computed from it); options stay writable.
      const group = { ...this.defaults, ...stripUndefined(rest), params: Object.freeze([...names]) } as ParamGroup<O>;
      this.#groupArgs.push(arg);
      def.check(group, arg);
      return group;
    });
    this.paramGroups.forEach((g, gi) =>
      g.params.forEach((name) => {
        const t = params.tensor(name);
        this.#index.set(name, this.#tensors.length);
        this.#tensors.push({ name, offset: t.offset, size: t.size, group: gi });
      }),
    );
    this.#steps = new Float64Array(this.#tensors.length);
    const byOffset = this.#tensors.map((_, i) => i).filter((i) => this.#tensors[i].size > 0);
    byOffset.sort((a, b) => this.#tensors[a].offset - this.#tensors[b].offset);
    for (const i of byOffset) {
      const t = this.#tensors[i];
      const last = this.#runs[this.#runs.length - 1];
      if (last && last.group === t.group && last.offset + last.len === t.offset) {
        last.len += t.size;
        last.members.push(i);
      } else this.#runs.push({ group: t.group, offset: t.offset, len: t.size, members: [i] });
    }
  }

  /** The PyTorch class name. */
  get name(): string {
    return this.#def.name;
  }

  /** Steps taken for `tensor` (0 before its first step). */
  stepCount(tensor: string): number {
    const i = this.#index.get(tensor);
    return i === undefined ? 0 : this.#steps[i];
  }

  /**
   * One optimizer step over every group, as one backend call. With a `closure`, it is called
   * first and its loss returned (PyTorch's `step(closure)`). Options are checked before any
   * buffer is written; on error nothing changes.
   */
  step(closure?: () => number): number | undefined {
    const loss = closure ? closure() : undefined;
    this.params.assertLive();
    const def = this.#def;
    const groups = this.paramGroups;
    let u0 = false;
    let u1 = false;
    let u2 = false;
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi];
      def.check(g, this.#groupArgs[gi]);
      const u = def.uses(g);
      u0 ||= u[0];
      u1 ||= u[1];
      u2 ||= u[2];
    }
    const table = this.#buildTable();
    const slots = this.#slots;
    if ((u0 && !slots[0]) || (u1 && !slots[1]) || (u2 && !slots[2])) {
      const backend = this.params.backend;
      if (u0 && !slots[0]) slots[0] = backend.alloc(this.params.size);
      if (u1 && !slots[1]) slots[1] = backend.alloc(this.params.size);
      if (u2 && !slots[2]) slots[2] = backend.alloc(this.params.size);
      this.#bound = null;
    }
    this.#bound ??= this.#bind();
    this.#bound(def.kernel, table);
    const steps = this.#steps;
    for (let i = 0; i < steps.length; i++) steps[i] += 1;
    return loss;
  }

  /**
   * The segment table: one row per run of neighbouring tensors of one group (precomputed in
   * `#runs`), or one row per tensor of a run whose tensors have different step counts (possible
   * after loading a state dict).
   */
  #buildTable(): Float64Array {
    const groups = this.paramGroups;
    const extra = groups.map((g) => this.#def.extra(g));
    const steps = this.#steps;
    let rows = 0;
    for (const r of this.#runs) rows += uniformStep(r.members, steps) ? 1 : r.members.length;
    if (this.#table.length !== rows * SEG_STRIDE) this.#table = new Float64Array(rows * SEG_STRIDE);
    const t = this.#table;
    let o = 0;
    const put = (offset: number, len: number, step: number, gi: number) => {
      const g = groups[gi];
      const e = extra[gi];
      t[o] = offset;
      t[o + 1] = len;
      t[o + 2] = step + 1;
      t[o + 3] = g.lr;
      t[o + 4] = g.weightDecay;
      t[o + 5] = g.maximize ? 1 : 0;
      t[o + 6] = e[0];
      t[o + 7] = e[1];
      t[o + 8] = e[2];
      t[o + 9] = e[3];
      o += SEG_STRIDE;
    };
    for (const r of this.#runs) {
      if (uniformStep(r.members, steps)) put(r.offset, r.len, steps[r.members[0]], r.group);
      else for (const i of r.members) put(this.#tensors[i].offset, this.#tensors[i].size, steps[i], r.group);
    }
    return t;
  }

  #bind(): BoundStep {
    const { params, grads } = this.params.buffers;
    return bindStep(this.params.backend, params, grads, this.#slots);
  }

  /** Zeroes the gradients of this optimizer's tensors. */
  zeroGrad(): void {
    const g = this.params.grads;
    for (const r of this.#runs) g.fill(0, r.offset, r.offset + r.len);
  }

  /**
   * PyTorch's `state_dict()`: `state[i]` holds `step` and this optimizer's buffers for the i-th
   * tensor (groups in order), as `Float32Array` copies; tensors without a step yet have no
   * entry. `param_groups` hold the options with PyTorch's names and the param indices.
   */
  stateDict(): StateDict {
    const def = this.#def;
    const state: StateDict['state'] = {};
    this.#tensors.forEach((t, i) => {
      const steps = this.#steps[i];
      if (steps === 0) return;
      const used = def.uses(this.paramGroups[t.group]);
      const entry: Record<string, number | Float32Array> = { step: steps };
      def.slots.forEach((key, k) => {
        const slot = this.#slots[k];
        if (used[k] && slot) entry[key] = slot.view().slice(t.offset, t.offset + t.size);
      });
      state[i] = entry;
    });
    let next = 0;
    const param_groups = this.paramGroups.map((g) => ({
      ...def.toTorch(g),
      params: g.params.map(() => next++),
    }));
    return { state, param_groups };
  }

  /**
   * PyTorch's `load_state_dict()`: restores steps, buffers and group options. The whole dict is
   * checked against this optimizer (group count and sizes, tensor lengths, option values) before
   * anything is written; on error nothing changes.
   */
  loadStateDict(dict: StateDict): void {
    const def = this.#def;
    if (!dict || typeof dict !== 'object')
      throw typeError('stateDict', 'must be an object with state and param_groups');
    const { state, param_groups } = dict;
    if (!Array.isArray(param_groups)) throw typeError('stateDict.param_groups', 'must be an array');
    if (!state || typeof state !== 'object') throw typeError('stateDict.state', 'must be an object');
    if (param_groups.length !== this.paramGroups.length) {
      throw rangeError(
        'stateDict.param_groups',
        `has ${param_groups.length} groups, this optimizer has ${this.paramGroups.length}`,
      );
    }
    const options = param_groups.map((g, gi) => {
      const arg = `stateDict.param_groups[${gi}].`;
      if (!g || typeof g !== 'object' || !Array.isArray(g.params)) throw typeError(`${arg}params`, 'must be an array');
      if (g.params.length !== this.paramGroups[gi].params.length) {
        throw rangeError(
          `${arg}params`,
          `has ${g.params.length} params, group ${gi} of this optimizer has ${this.paramGroups[gi].params.length}`,
        );
      }
      const o = def.fromTorch(g, arg);
      def.check(o, arg);
      return o;
    });
    const writes: { i: number; steps: number; bufs: [number, ArrayLike<number>][] }[] = [];
    for (const key of Object.keys(state)) {
      const i = Number(key);
      const arg = `stateDict.state[${key}]`;
      if (!Number.isInteger(i) || i < 0 || i >= this.#tensors.length) {
        throw rangeError(arg, `no parameter with index ${key} (this optimizer has ${this.#tensors.length})`);
      }
      const entry = state[i];
      if (!entry || typeof entry !== 'object') throw typeError(arg, 'must be an object');
      const steps = entry.step;
      if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 0) {
        throw rangeError(`${arg}.step`, `must be a non-negative integer, got ${String(steps)}`);
      }
      const t = this.#tensors[i];
      const used = def.uses(options[t.group]);
      const bufs: [number, ArrayLike<number>][] = [];
      def.slots.forEach((slotKey, k) => {
        const v = entry[slotKey];
        if (v === undefined || v === null) {
          if (used[k] && steps > 0) throw rangeError(`${arg}.${slotKey}`, 'is missing');
          return;
        }
        if (typeof v === 'number' || typeof (v as ArrayLike<number>).length !== 'number') {
          throw typeError(`${arg}.${slotKey}`, 'must be an array or Float32Array');
        }
        const arr = v as ArrayLike<number>;
        if (arr.length !== t.size) {
          throw rangeError(
            `${arg}.${slotKey}`,
            `length ${arr.length} does not match parameter ${JSON.stringify(t.name)} of size ${t.size}`,
          );
        }
        bufs.push([k, arr]);
      });
      writes.push({ i, steps, bufs });
    }
    // Everything checked: write.
    options.forEach((o, gi) => Object.assign(this.paramGroups[gi], o));
    this.#steps.fill(0);
    for (const s of this.#slots) s?.view().fill(0);
    for (const w of writes) {
      const t = this.#tensors[w.i];
      this.#steps[w.i] = w.steps;
      for (const [k, arr] of w.bufs) {
        if (!this.#slots[k]) {
          this.#slots[k] = this.params.backend.alloc(this.params.size);
          this.#bound = null;
        }
        (this.#slots[k] as Buffer).view().set(arr, t.offset);
      }
    }
  }

  /** Frees the state buffers (WASM memory). */
  dispose(): void {
    for (const s of this.#slots) s?.dispose();
    this.#slots = [null, null, null];
    this.#bound = null;
  }
}

function uniformStep(members: number[], steps: Float64Array): boolean {
  const s = steps[members[0]];
  for (let k = 1; k < members.length; k++) if (steps[members[k]] !== s) return false;
  return true;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
