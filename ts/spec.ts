/**
 * The TypeScript view of the core's optimizer specs (crates/core/src/spec.rs), rendered into
 * `ts/generated/specs.ts` by `downhill-specgen`. Everything the TS layer knows about an
 * optimizer's options and state comes from here: validation (with the core's messages), defaults,
 * state-dict keys and layout, PyTorch/Optax names, and suggestions for mistyped option names.
 */
import { rangeError, typeError } from './errors.js';
import { closeNames, describeType } from './validate.js';
import { SPECS } from './generated/specs.js';

/** The values a numeric option accepts: an interval, and whether `null` is allowed. */
export interface DomainData {
  /** Lower bound. Infinite bounds arrive as the strings `"Infinity"` / `"-Infinity"` (strict JSON). */
  lo: number | string;
  /** Whether the lower bound is excluded. */
  loOpen: boolean;
  /** Upper bound (same encoding as `lo`). */
  hi: number | string;
  /** Whether the upper bound is excluded. */
  hiOpen: boolean;
  /** Whether `null` is accepted (an option whose absence means something, e.g. Adafactor's `eps1`). */
  nullable: boolean;
}

/** One option (hyperparameter) of an optimizer spec. */
export interface HParamData {
  /** downhill's camelCase name (`beta1`). */
  name: string;
  /** PyTorch's param-group key (`betas.0` for an element of a tuple), or `null`. */
  torch: string | null;
  /** Optax's argument name, or `null`. */
  optax: string | null;
  /** Optax's per-tensor mask argument that turns this option off where false. */
  optaxMask: string | null;
  /** What values it takes: a real number, an integer, a flag or one of `choices`. */
  kind: 'real' | 'int' | 'bool' | 'choice';
  /** The accepted interval of a numeric option. */
  domain: DomainData | null;
  /** The accepted strings of a `choice` option. */
  choices: string[] | null;
  /** The default (flags as 0/1). */
  default: number | string | null;
  /** One line on what it does. */
  doc: string;
}

/** One state slot of an optimizer spec (PyTorch's `exp_avg`, `momentum_buffer`, ...). */
export interface SlotData {
  /** The state-dict key (PyTorch's name). */
  key: string;
  /** Optax's state path, or `null`. */
  optax: string | null;
  /** Its length per tensor: the tensor's size, its rows, its columns, or one number. */
  len: 'n' | 'rows' | 'cols' | 'scalar';
  /** When a tensor has the slot. */
  when: {
    /** Always, when a flag is set, when an option is non-zero, or by the tensor's shape. */
    kind: 'always' | 'flag' | 'nonzero' | 'factored' | 'notFactored' | 'matrix' | 'notMatrix';
    /** The option of `flag` and `nonzero`. */
    hparam?: string;
  };
  /** The slot's value at a tensor's first step: a constant, or an option's value. */
  init:
    | {
        /** A constant. */
        kind: 'value';
        /** The constant (±Infinity as a string). */
        value: number | string;
      }
    | {
        /** An option's value. */
        kind: 'hparam';
        /** The option. */
        hparam: string;
      };
  /** Values must stay >= 0 (second moments, accumulators). */
  nonneg: boolean;
}

/** A rule across options: when `flag` is set, `hparam` must pass `test` (SGD's Nesterov needs momentum > 0). */
export interface RuleData {
  /** The flag that triggers the rule. */
  flag: string;
  /** The option it constrains. */
  hparam: string;
  /** What the option must be. */
  test: 'positive' | 'zero';
}

/** An optimizer as the core's registry describes it (`SPECS` lists them all). */
export interface SpecData {
  /** Its wire id (position in the registry). */
  id: number;
  /** The class name (`Adam`). */
  name: string;
  /** One line on what it does. */
  summary: string;
  /** Papers and the implementations it follows. */
  reference: string;
  /** The PyTorch class it matches, or `null`. */
  torch: string | null;
  /** The Optax function it matches, or `null`. */
  optax: string | null;
  /** Optax state paths that count steps, with their offset from our step count. */
  optaxCounts: {
    /** The path in Optax's state. */
    path: string;
    /** Optax's count minus ours. */
    offset: number;
  }[];
  /**
   * PyTorch param-group keys that no option holds because this optimizer fixes their value
   * (AdamW's `decoupled_weight_decay: true` since PyTorch 2.x): accepted with that value only.
   */
  torchFixed: {
    /** The param-group key. */
    key: string;
    /** The only value it may have. */
    value: boolean;
  }[];
  /** Who runs the step: the core element by element, the core per tensor, or TypeScript over core ops. */
  driver: 'elementwise' | 'tensorwise' | 'ts';
  /** Its options. */
  hparams: HParamData[];
  /** Its state slots. */
  state: SlotData[];
  /** Rules across its options. */
  rules: RuleData[];
}

/** The element types: parameters, gradients and state are all one of them. */
export type DType = 'float32' | 'float64';

/** Largest finite value of each element type. */
export const DTYPE_MAX: Record<DType, number> = { float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };

/** A JSON number that may be the string form of ±Infinity. */
export function jsonNumber(x: number | string): number {
  return typeof x === 'string' ? Number(x) : x;
}

export function specByName(name: string): SpecData {
  const s = SPECS.find((x) => x.name === name);
  if (!s) throw rangeError('spec', `no optimizer spec named ${JSON.stringify(name)}`);
  return s;
}

export function specById(id: number): SpecData | undefined {
  return SPECS.find((x) => x.id === id);
}

/** `>= 0`, `in [0, 1)`, ...: the phrase after "must be" (as `Domain::describe` in the core). */
export function describeDomain(d: DomainData): string {
  const lo = jsonNumber(d.lo);
  const hi = jsonNumber(d.hi);
  const loInf = lo === -Infinity;
  const hiInf = hi === Infinity;
  if (loInf && hiInf) return 'a finite number';
  if (hiInf) return `${d.loOpen ? '>' : '>='} ${String(lo)}`;
  if (loInf) return `${d.hiOpen ? '<' : '<='} ${String(hi)}`;
  return `in ${d.loOpen ? '(' : '['}${String(lo)}, ${String(hi)}${d.hiOpen ? ')' : ']'}`;
}

function inDomain(d: DomainData, x: number): boolean {
  const lo = jsonNumber(d.lo);
  const hi = jsonNumber(d.hi);
  return (d.loOpen ? x > lo : x >= lo) && (d.hiOpen ? x < hi : x <= hi);
}

/**
 * Checks one hyperparameter value as it goes on the wire (NaN for none, 0/1 for booleans, the
 * index for a choice), with the core's messages (`check_value` in crates/core/src/spec.rs).
 */
export function checkWire(h: HParamData, x: number, arg: string, dtype: DType): void {
  const fail = (what: string) => {
    throw rangeError(arg, `must be ${what}, got ${String(x)}`);
  };
  if (h.kind === 'bool') {
    if (x !== 0 && x !== 1) fail('a boolean (0 or 1 on the wire)');
    return;
  }
  if (h.kind === 'choice') {
    const names = h.choices ?? [];
    if (!(x >= 0 && Number.isInteger(x) && x < names.length)) fail(`the index of one of ${names.join(', ')}`);
    return;
  }
  const d = h.domain as DomainData;
  if (Number.isNaN(x) && d.nullable) return;
  if (!Number.isFinite(x)) fail(`a finite number (${describeDomain(d)})`);
  if (h.kind === 'int' && !Number.isInteger(x)) fail('an integer');
  if (!inDomain(d, x)) fail(describeDomain(d));
  const max = DTYPE_MAX[dtype];
  if (Math.abs(x) > max) fail(`within the ${dtype} range (|x| <= ${String(max)})`);
}

/** Checks the cross-field rules of one group (wire values in spec order). */
export function checkRules(spec: SpecData, hp: ArrayLike<number>, prefix: string): void {
  for (const r of spec.rules) {
    const flag = hp[hpIndex(spec, r.flag)];
    const v = hp[hpIndex(spec, r.hparam)];
    const ok = r.test === 'positive' ? v > 0 : v === 0;
    if (flag !== 0 && !ok)
      throw rangeError(`${prefix}${r.flag}`, `requires ${r.hparam} ${r.test === 'positive' ? '> 0' : '= 0'}`);
  }
}

export function hpIndex(spec: SpecData, name: string): number {
  const i = spec.hparams.findIndex((h) => h.name === name);
  if (i < 0) throw new Error(`${spec.name}: no hyperparameter ${name}`);
  return i;
}

/** The default value of a hyperparameter as the public API spells it. */
export function defaultValue(h: HParamData): number | boolean | string | null {
  if (h.default === null) return null;
  const v = jsonNumber(h.default);
  if (h.kind === 'bool') return v !== 0;
  if (h.kind === 'choice') return (h.choices ?? [])[v];
  return v;
}

/**
 * Checks an option's public value (a number, boolean, choice name or null) and converts it to
 * its wire number. Type mistakes are `TypeError`s; values outside the domain are `RangeError`s
 * with the core's messages.
 */
export function toWire(h: HParamData, value: unknown, arg: string, dtype: DType): number {
  let x: number;
  if (h.kind === 'bool') {
    if (typeof value !== 'boolean') throw typeError(arg, `must be a boolean, got ${describeType(value)}`);
    x = value ? 1 : 0;
  } else if (h.kind === 'choice') {
    const names = h.choices ?? [];
    const i = names.indexOf(value as string);
    if (typeof value !== 'string' || i < 0) {
      throw (typeof value === 'string' ? rangeError : typeError)(
        arg,
        `must be one of ${names.map((n) => JSON.stringify(n)).join(', ')}, got ${describeValue(value)}`,
      );
    }
    x = i;
  } else if (value === null && h.domain?.nullable) {
    x = NaN;
  } else {
    if (typeof value !== 'number') {
      throw typeError(arg, `must be a number${h.domain?.nullable ? ' or null' : ''}, got ${describeType(value)}`);
    }
    // NaN is "none" on the wire; a user's NaN is a mistake, named as the core names it.
    if (Number.isNaN(value))
      throw rangeError(arg, `must be a finite number (${describeDomain(h.domain as DomainData)}), got NaN`);
    x = value;
  }
  checkWire(h, x, arg, dtype);
  return x;
}

export { describeType };

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describeType(v);
}

/** Shape facts the state layout depends on (`Shape` in crates/core/src/spec.rs). */
export interface Shape {
  numel: number;
  ndim: number;
  batch: number;
  rows: number;
  cols: number;
}

export function shapeOf(dims: readonly number[]): Shape {
  const numel = dims.reduce((a, b) => a * b, 1);
  const nd = dims.length;
  if (nd === 0) return { numel, ndim: 0, batch: 1, rows: 1, cols: 1 };
  if (nd === 1) return { numel, ndim: 1, batch: 1, rows: 1, cols: dims[0] };
  return {
    numel,
    ndim: nd,
    batch: dims.slice(0, nd - 2).reduce((a, b) => a * b, 1),
    rows: dims[nd - 2],
    cols: dims[nd - 1],
  };
}

export function slotLength(s: SlotData, shape: Shape): number {
  switch (s.len) {
    case 'n':
      return shape.numel;
    case 'rows':
      return shape.batch * shape.rows;
    case 'cols':
      return shape.batch * shape.cols;
    case 'scalar':
      return 1;
  }
}

/** Whether a slot exists for a tensor (`Spec::has_slot`); `hp` holds wire values. */
export function hasSlot(spec: SpecData, s: SlotData, hp: ArrayLike<number>, shape: Shape): boolean {
  switch (s.when.kind) {
    case 'always':
      return true;
    case 'flag':
    case 'nonzero':
      return hp[hpIndex(spec, s.when.hparam as string)] !== 0;
    case 'factored':
      return shape.ndim >= 2;
    case 'notFactored':
      return shape.ndim < 2;
    case 'matrix':
      return shape.ndim === 2;
    case 'notMatrix':
      return shape.ndim !== 2;
  }
}

export function initValue(spec: SpecData, s: SlotData, hp: ArrayLike<number>): number {
  return s.init.kind === 'value' ? jsonNumber(s.init.value) : hp[hpIndex(spec, s.init.hparam)];
}

/** Where each slot of each tensor lives in an optimizer's state buffer. */
export interface Layout {
  /** `at[i][k]`: offset of slot k of tensor row i, or -1 when absent. */
  at: number[][];
  /** `len[i][k]`: its length (0 when absent). */
  len: number[][];
  total: number;
}

/**
 * The core's state layout (crates/core/src/step.rs): slot-major, then tensor rows in table
 * order, each present slot's elements back to back.
 */
export function stateLayout(spec: SpecData, rows: readonly { shape: Shape; hp: ArrayLike<number> }[]): Layout {
  const at = rows.map(() => spec.state.map(() => -1));
  const len = rows.map(() => spec.state.map(() => 0));
  let pos = 0;
  spec.state.forEach((s, k) => {
    rows.forEach((r, i) => {
      if (!hasSlot(spec, s, r.hp, r.shape)) return;
      const n = slotLength(s, r.shape);
      at[i][k] = pos;
      len[i][k] = n;
      pos += n;
    });
  });
  return { at, len, total: pos };
}

/** Every name a user might write for a hyperparameter, normalised for comparison. */
function normal(name: string): string {
  return name.toLowerCase().replace(/[_\-\s.[\]]/g, '');
}

/**
 * The option names a mistyped or foreign key probably meant: PyTorch/Optax names map to ours
 * (`betas` → `beta1, beta2`, `weight_decay` → `weightDecay`, `learning_rate` → `lr`), and close
 * spellings are suggested.
 */
export function suggest(spec: SpecData, key: string, extra: readonly string[] = []): string[] {
  const k = normal(key);
  const byRef = spec.hparams.filter((h) =>
    [h.torch, h.optax].some((n) => n !== null && (normal(n) === k || normal(n.split('.')[0]) === k)),
  );
  if (byRef.length > 0) return byRef.map((h) => h.name);
  return closeNames(key, [...spec.hparams.map((h) => h.name), ...extra]);
}

/**
 * Checks a PyTorch param-group key against the spec's fixed keys: false when the spec fixes no
 * such key; true when it does and `value` is that value (a bool, or 0/1 as PyTorch's state
 * dicts may hold it); throws a `TypeError` naming `arg` when the value differs.
 */
export function checkTorchFixed(spec: SpecData, key: string, value: unknown, arg: string): boolean {
  const f = spec.torchFixed.find((x) => x.key === key);
  if (!f) return false;
  if (value === f.value || value === (f.value ? 1 : 0)) return true;
  throw typeError(
    arg,
    `is always ${String(f.value)} for ${spec.name} (PyTorch's own value), got ${describeType(value)}`,
  );
}
