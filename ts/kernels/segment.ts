/**
 * Mirror of crates/core/src/segment.rs: decodes and checks the per-step segment table with the
 * same rules and the same messages as the core.
 */
import { rangeError, typeError } from '../errors.js';
import { SEG_STRIDE } from '../backend/types.js';

export interface Segment {
  offset: number;
  len: number;
  step: number;
  lr: number;
  weightDecay: number;
  maximize: boolean;
  extra: [number, number, number, number];
}

/** Rust's `{}` formatting of an f64, for messages identical to the core's. */
export function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

function index(v: number, arg: () => string): number {
  if (!(Number.isFinite(v) && v >= 0 && Number.isInteger(v) && v <= Number.MAX_SAFE_INTEGER)) {
    throw rangeError(arg(), `must be a non-negative integer, got ${fmt(v)}`);
  }
  return v;
}

export function flag(v: number, arg: () => string): boolean {
  if (v === 0) return false;
  if (v === 1) return true;
  throw rangeError(arg(), `must be 0 or 1, got ${fmt(v)}`);
}

export function nonNegative(v: number, arg: () => string): number {
  if (Number.isFinite(v) && v >= 0) return v;
  throw rangeError(arg(), `must be finite and >= 0, got ${fmt(v)}`);
}

export function decode(table: Float64Array, arenaLen: number): Segment[] {
  if (table.length % SEG_STRIDE !== 0) {
    throw typeError('segments', `length must be a multiple of ${SEG_STRIDE}, got ${table.length}`);
  }
  const out: Segment[] = [];
  let endPrev = 0;
  for (let i = 0; i * SEG_STRIDE < table.length; i++) {
    const r = table.subarray(i * SEG_STRIDE, (i + 1) * SEG_STRIDE);
    const name = (c: string) => () => `segments[${i}].${c}`;
    const offset = index(r[0], name('offset'));
    const len = index(r[1], name('len'));
    const step = index(r[2], name('step'));
    if (step === 0) throw rangeError(name('step')(), 'must be >= 1 (the count after this step)');
    if (offset < endPrev) {
      throw rangeError(
        name('offset')(),
        `segments must be sorted and disjoint; ${offset} overlaps the previous one ending at ${endPrev}`,
      );
    }
    if (offset + len > arenaLen) {
      throw rangeError(name('len')(), `range ${offset}..${offset}+${len} exceeds params length ${arenaLen}`);
    }
    endPrev = offset + len;
    out.push({
      offset,
      len,
      step,
      lr: nonNegative(r[3], name('lr')),
      weightDecay: nonNegative(r[4], name('weight_decay')),
      maximize: flag(r[5], name('maximize')),
      extra: [r[6], r[7], r[8], r[9]],
    });
  }
  return out;
}
