/**
 * The one validation layer: every public entry (store, optimizers, clipping, transformations,
 * minimize, state dicts) and the raw backend heaps check their arguments with these functions,
 * so a class of bad input is handled once, in one way:
 *
 * - a wrong type is a `TypeError`, a value outside its domain a `RangeError`, and the message
 *   starts with the argument's path (`options.lr: …`, `stateDict.state[0].exp_avg[3]: …`);
 * - nothing is converted silently (no `'10'` → 10, no `null` → 0, no `{ length: n }` read as an
 *   array), symbol keys and unknown keys are refused (with the key's probable meaning);
 * - checks run before anything is written, so a rejected call leaves every buffer as it was.
 */
import { rangeError, typeError } from './errors.js';

/** `number`, `the string "0.1"`, `null`, `an array`: how a wrongly typed value is named in messages. */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  try {
    if (Array.isArray(v)) return 'an array';
  } catch {
    return 'a revoked proxy';
  }
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'object') {
    try {
      return (v as object).constructor?.name ?? 'object';
    } catch {
      return 'object';
    }
  }
  return typeof v;
}

/** A non-null object that is not an array (an options bag, a state-dict entry). */
export function checkObject(v: unknown, arg: string, what = 'an object'): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw typeError(arg, `must be ${what}, got ${describeType(v)}`);
  return v as Record<string, unknown>;
}

/**
 * The own string keys of `o`; a symbol key is a `TypeError` (nothing in downhill reads one, so it
 * would be silently ignored otherwise).
 */
export function ownKeys(o: object, arg: string): string[] {
  const keys = Reflect.ownKeys(o);
  for (const k of keys) {
    if (typeof k === 'symbol') throw typeError(arg, `has a symbol key (${String(k)}); only string keys are read`);
  }
  return keys.filter((k) => Object.prototype.propertyIsEnumerable.call(o, k)) as string[];
}

function normal(name: string): string {
  return name.toLowerCase().replace(/[_\-\s.[\]]/g, '');
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** Names in `known` spelled close to `key` (case, `_`/`-` and one or two letters aside). */
export function closeNames(key: string, known: readonly string[]): string[] {
  const k = normal(key);
  return known.filter((name) => {
    const n = normal(name);
    // A truncated or extended name (`moment` for momentum, `lrs` for lr) counts as close too.
    const prefix = Math.min(n.length, k.length) >= 2 && (n.startsWith(k) || k.startsWith(n));
    return n === k || prefix || editDistance(n, k) <= Math.max(1, Math.floor(k.length / 4));
  });
}

/**
 * An options object whose keys are all in `known`: `null`, arrays and non-objects are a
 * `TypeError` naming `arg`; an unknown key a `TypeError` naming `arg.key` with what it probably
 * meant (`suggest`, else close spellings of the known names).
 */
export function checkOptions(
  o: unknown,
  arg: string,
  known: readonly string[],
  how: { of?: string; suggest?: (key: string) => string[] } = {},
): Record<string, unknown> {
  const obj = checkObject(o, arg);
  for (const k of ownKeys(obj, arg)) {
    if (known.includes(k)) continue;
    const s = how.suggest ? how.suggest(k) : closeNames(k, known);
    const hint = s.length > 0 ? `; did you mean ${s.join(', ')}?` : ` (known: ${known.join(', ') || 'none'})`;
    throw typeError(`${arg}.${k}`, `is not an option${how.of ? ` of ${how.of}` : ''}${hint}`);
  }
  return obj;
}

/** A number (no string, bigint or boxed number); NaN passes here, domains are checked apart. */
export function checkNumber(v: unknown, arg: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  return v;
}

/** A finite number in `[lo, hi]`. */
export function checkFinite(v: unknown, arg: string, lo = -Infinity, hi = Infinity): number {
  const x = checkNumber(v, arg);
  if (!Number.isFinite(x)) throw rangeError(arg, `must be a finite number, got ${String(x)}`);
  if (x < lo || x > hi) throw rangeError(arg, `must be in [${lo}, ${hi}], got ${String(x)}`);
  return x;
}

/** A safe integer in `[lo, hi]`. */
export function checkInteger(v: unknown, arg: string, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
  const x = checkNumber(v, arg);
  if (!Number.isSafeInteger(x) || x < lo || x > hi) {
    throw rangeError(
      arg,
      `must be an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : hi}], got ${String(x)}`,
    );
  }
  return x;
}

export function checkBoolean(v: unknown, arg: string): boolean {
  if (typeof v !== 'boolean') throw typeError(arg, `must be a boolean, got ${describeType(v)}`);
  return v;
}

export function checkFunction<F>(v: unknown, arg: string, what = 'a function'): F {
  if (typeof v !== 'function') throw typeError(arg, `must be ${what}, got ${describeType(v)}`);
  return v as F;
}

/** An array of strings (tensor names); each wrong element is named `arg[i]`. */
export function checkNames(v: unknown, arg: string): string[] {
  if (!Array.isArray(v)) throw typeError(arg, `must be an array of tensor names, got ${describeType(v)}`);
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const n: unknown = v[i];
    if (typeof n !== 'string')
      throw typeError(`${arg}[${i}]`, `must be a tensor name (a string), got ${describeType(n)}`);
    out.push(n);
  }
  return out;
}

function isTyped(v: unknown): v is ArrayLike<number | bigint> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Checks `values` is an `Array` or a float/int typed array of `size` numbers (no copy): strings,
 * `{ length: n }`, BigInt arrays and array elements that are not numbers (`null`, `'1'`, a
 * symbol, a bigint) are refused by path. With `finite`, so are NaN and ±∞.
 */
export function checkValues(values: unknown, size: number, arg: string, finite = false): ArrayLike<number> {
  const typed = isTyped(values);
  if (!Array.isArray(values) && !typed) {
    throw typeError(arg, `must be an array or typed array of numbers, got ${describeType(values)}`);
  }
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    throw typeError(arg, `must hold numbers, got a ${values.constructor.name}`);
  }
  const arr = values as ArrayLike<number>;
  if (arr.length !== size) throw rangeError(arg, `length ${arr.length} must equal the tensor size ${size}`);
  if (!typed || finite) {
    for (let i = 0; i < size; i++) {
      const v = arr[i] as unknown;
      if (typeof v !== 'number') throw typeError(`${arg}[${i}]`, `must be a number, got ${describeType(v)}`);
      if (finite && !Number.isFinite(v)) throw rangeError(`${arg}[${i}]`, `must be finite, got ${String(v)}`);
    }
  }
  return arr;
}
