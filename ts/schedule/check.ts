/** Argument checks shared by the schedule factories and scheduler classes. */
import { rangeError, typeError } from '../errors.js';

export function num(v: unknown, arg: string): number {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${typeName(v)}`);
  return v;
}

export function finite(v: unknown, arg: string): number {
  num(v, arg);
  if (!Number.isFinite(v)) throw rangeError(arg, `must be finite, got ${v}`);
  return v as number;
}

export function nonNegative(v: unknown, arg: string): number {
  finite(v, arg);
  if ((v as number) < 0) throw rangeError(arg, `must be >= 0, got ${v}`);
  return v as number;
}

export function positive(v: unknown, arg: string): number {
  finite(v, arg);
  if (!((v as number) > 0)) throw rangeError(arg, `must be > 0, got ${v}`);
  return v as number;
}

export function inRange(v: unknown, arg: string, lo: number, hi: number, loOpen = false): number {
  finite(v, arg);
  const x = v as number;
  if (!((loOpen ? x > lo : x >= lo) && x <= hi))
    throw rangeError(arg, `must be in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${x}`);
  return x;
}

export function int(v: unknown, arg: string, min: number): number {
  num(v, arg);
  if (!Number.isSafeInteger(v)) throw rangeError(arg, `must be an integer, got ${v}`);
  if ((v as number) < min) throw rangeError(arg, `must be >= ${min}, got ${v}`);
  return v as number;
}

export function bool(v: unknown, arg: string): boolean {
  if (typeof v !== 'boolean') throw typeError(arg, `must be a boolean, got ${typeName(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, arg: string, allowed: readonly T[]): T {
  if (typeof v !== 'string') throw typeError(arg, `must be a string, got ${typeName(v)}`);
  if (!allowed.includes(v as T))
    throw rangeError(arg, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function fn<F extends (...a: never[]) => unknown>(v: unknown, arg: string): F {
  if (typeof v !== 'function') throw typeError(arg, `must be a function, got ${typeName(v)}`);
  return v as F;
}

export function options(v: unknown, arg = 'options'): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw typeError(arg, `must be an object, got ${typeName(v)}`);
  return v as Record<string, unknown>;
}

/** Rejects option keys the factory does not know, so a misspelt option is not silently ignored. */
export function known(o: Record<string, unknown>, arg: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw rangeError(`${arg}.${k}`, `unknown option; expected one of ${keys.join(', ')}`);
  }
}

/**
 * A value that may be given once for all param groups or as one entry per group (PyTorch's
 * `_format_param`): returns one checked value per group.
 */
export function perGroup<T>(v: unknown, arg: string, groups: number, check: (x: unknown, arg: string) => T): T[] {
  if (!Array.isArray(v)) {
    const x = check(v, arg);
    return Array.from({ length: groups }, () => x);
  }
  if (v.length !== groups) throw rangeError(arg, `needs one value per param group (${groups}), got ${v.length}`);
  return v.map((x, i) => check(x, `${arg}[${i}]`));
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A PyTorch keyword as a downhill option name: `T_max` → `tMax`, `step_size_up` → `stepSizeUp`. */
export function camelCase(key: string): string {
  return key.replace(/^[A-Z]/, (c) => c.toLowerCase()).replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}
