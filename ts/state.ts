/**
 * Exact JSON for tensors: `JSON.stringify` turns a `Float32Array` into an object of decimal
 * strings and NaN into `null`, so a state dict would not survive a round trip. downhill writes a
 * tensor as `{"$tensor": "float32" | "float64", "data": "<base64 of the little-endian bytes>"}`,
 * which keeps every bit (NaN payloads, −0, subnormals) and is about 3× smaller than decimal text.
 *
 * ```ts
 * const text = JSON.stringify(opt.stateDict());   // the documented way to save to disk
 * opt.loadStateDict(JSON.parse(text));            // in a fresh process, on any backend
 * ```
 */
import { rangeError, typeError } from './errors.js';
import { checkBoolean, checkOptions, describeType } from './validate.js';
import type { FloatArray } from './backend/types.js';

export interface EncodedTensor {
  $tensor: 'float32' | 'float64';
  data: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(a: FloatArray): Uint8Array {
  const bytes = new Uint8Array(a.byteLength);
  bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  if (!littleEndian) {
    const w = a.BYTES_PER_ELEMENT;
    for (let i = 0; i < bytes.length; i += w) bytes.subarray(i, i + w).reverse();
  }
  return bytes;
}

function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : '=';
  }
  return out;
}

function unbase64(s: string, arg: string): Uint8Array {
  if (s.length % 4 !== 0) throw rangeError(arg, 'is not valid base64 (length not a multiple of 4)');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      const v = s[i + j] === '=' && i + j >= s.length - pad ? 0 : c < 128 ? LOOKUP[c] : -1;
      if (v < 0) throw rangeError(arg, `is not valid base64 (character ${JSON.stringify(s[i + j])})`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function encodeTensor(a: FloatArray): EncodedTensor {
  return { $tensor: a instanceof Float64Array ? 'float64' : 'float32', data: base64(bytesOf(a)) };
}

export function isEncodedTensor(v: unknown): v is EncodedTensor {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '$tensor');
}

/** Decodes `{"$tensor", "data"}` exactly; `arg` names it in errors. */
export function decodeTensor(v: EncodedTensor, arg: string): FloatArray {
  if (v.$tensor !== 'float32' && v.$tensor !== 'float64') {
    throw rangeError(`${arg}.$tensor`, `must be "float32" or "float64", got ${JSON.stringify(v.$tensor)}`);
  }
  if (typeof v.data !== 'string') throw typeError(`${arg}.data`, 'must be a base64 string');
  const bytes = unbase64(v.data, `${arg}.data`);
  const w = v.$tensor === 'float32' ? 4 : 8;
  if (bytes.length % w !== 0)
    throw rangeError(`${arg}.data`, `holds ${bytes.length} bytes, not whole ${v.$tensor} elements`);
  if (!littleEndian) for (let i = 0; i < bytes.length; i += w) bytes.subarray(i, i + w).reverse();
  return w === 4 ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
}

/** `JSON.stringify` with tensors (typed arrays) encoded exactly. */
export function toJSON(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (v instanceof Float32Array || v instanceof Float64Array ? encodeTensor(v) : v),
    space,
  );
}

/** `JSON.parse` that turns encoded tensors back into typed arrays. */
export function fromJSON(text: string): unknown {
  if (typeof text !== 'string') throw typeError('text', `must be a string of JSON, got ${describeType(text)}`);
  try {
    return JSON.parse(text, (k, v: unknown) => (isEncodedTensor(v) ? decodeTensor(v, k || 'value') : v));
  } catch (e) {
    if (e instanceof SyntaxError) throw new SyntaxError(`text: ${e.message}`, { cause: e });
    throw e;
  }
}

// ---- checks shared by every loadStateDict (optimizers, LBFGS, Lookahead, chain transforms) ----

/** How elements of a state dict are checked. */
export interface ElementRules {
  /** Accept NaN and ±Infinity (a diverged run). */
  allowNonFinite: boolean;
  /** The element type they are loaded into (float32 refuses values it would round to ±Infinity). */
  dtype: 'float32' | 'float64';
  /** The math needs them >= 0 (second moments, accumulators). */
  nonneg?: boolean;
  /** What they are, for the sign message (`exp_avg_sq`). */
  what?: string;
}

const F32_MAX = 3.4028234663852886e38;

/** The options of `loadStateDict`: an object whose only key is a boolean `allowNonFinite`. */
export function checkLoadOptions(opts: unknown): { allowNonFinite: boolean } {
  const o = checkOptions(opts, 'options', ['allowNonFinite']);
  return {
    allowNonFinite: o.allowNonFinite === undefined ? false : checkBoolean(o.allowNonFinite, 'options.allowNonFinite'),
  };
}

/** Most steps a state dict may record: the next step's count (one more) must still be exact. */
export const MAX_STEPS = Number.MAX_SAFE_INTEGER - 1;

/** A count of steps (or calls, or micro-batches): an integer in `[0, 2^53 - 2]`. */
export function checkStepCount(v: unknown, arg: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${describeType(v)}`);
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_STEPS) {
    throw rangeError(arg, `must be a whole number of steps in [0, 2^53 - 2], got ${String(v)}`);
  }
  return v;
}

/**
 * A scalar as JSON keeps it: finite numbers as themselves, and what JSON has no number for as
 * `{"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}` (JSON.stringify would write null and 0).
 */
export function encodeScalar(x: number): number | { $number: string } {
  if (Number.isFinite(x) && !Object.is(x, -0)) return x;
  return { $number: Object.is(x, -0) ? '-0' : String(x) };
}

const SCALARS: Record<string, number> = { NaN, Infinity, '-Infinity': -Infinity, '-0': -0 };

/** The number an `encodeScalar` object stands for, or `v` itself. */
export function decodeScalar(v: unknown, arg: string): unknown {
  if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, '$number')) return v;
  const tag = (v as { $number: unknown }).$number;
  if (typeof tag !== 'string' || !(tag in SCALARS)) {
    throw rangeError(`${arg}.$number`, `must be "NaN", "Infinity", "-Infinity" or "-0", got ${describeType(tag)}`);
  }
  return SCALARS[tag];
}

/**
 * One state number: a number (or its `encodeScalar` form), finite unless allowed, of the right
 * sign, inside the element type. `allowNonFinite` (a diverged run) also lets second moments be
 * negative: an option such as RMSprop's alpha > 1 (which PyTorch accepts) drives them there.
 */
export function checkStateNumber(v: unknown, arg: string, r: ElementRules): number {
  const x = decodeScalar(v, arg);
  if (typeof x !== 'number') throw typeError(arg, `must be a number, got ${describeType(x)}`);
  if (!r.allowNonFinite && !Number.isFinite(x)) {
    throw rangeError(arg, `must be finite, got ${String(x)} (pass { allowNonFinite: true } to load a diverged state)`);
  }
  if (r.nonneg && x < 0 && !r.allowNonFinite) {
    throw rangeError(
      arg,
      `must be >= 0 (it is a ${r.what ?? 'non-negative quantity'}), got ${String(x)} (pass { allowNonFinite: true } to load a diverged state)`,
    );
  }
  if (!r.allowNonFinite && r.dtype === 'float32' && Math.abs(x) > F32_MAX) {
    throw rangeError(arg, `${String(x)} is outside the float32 range of this store (it would become ±Infinity)`);
  }
  return x;
}

/**
 * A state vector of `n` elements: a `Float32Array`/`Float64Array` (or another non-BigInt typed
 * array), a plain array of numbers, or the JSON encoding `{"$tensor", "data"}`; every element is
 * checked with `r` (elements named `arg[i]`). Strings, `{ length: n }` and BigInt arrays are
 * refused. Nothing is copied.
 */
export function checkStateVector(v: unknown, n: number, arg: string, r: ElementRules): ArrayLike<number> {
  let arr: unknown = v;
  if (isEncodedTensor(v)) arr = decodeTensor(v, arg);
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    throw typeError(arg, `must hold numbers, got a ${arr.constructor.name}`);
  }
  const typed = ArrayBuffer.isView(arr) && !(arr instanceof DataView);
  if (!Array.isArray(arr) && !typed) {
    throw typeError(arg, `must be a Float32Array, Float64Array or array of numbers, got ${describeType(v)}`);
  }
  const a = arr as ArrayLike<number>;
  if (a.length !== n) throw rangeError(arg, `length ${a.length} does not match the ${n} elements this slot holds`);
  for (let j = 0; j < n; j++) checkStateNumber(a[j], `${arg}[${j}]`, r);
  return a;
}
