/**
 * Typed helpers over the core's vector ops (crates/core/src/ops.rs): building their argument
 * arrays, and the ranges of a store's tensors. Everything here is one backend call per op over
 * any number of tensors.
 */
import type { Buffer } from './backend/types.js';
import { OP } from './generated/specs.js';
import type { ParamStore } from './params.js';
import { checkNames } from './validate.js';

/** One segment: the same length at offset `a` of buffer 0, `b` of buffer 1, `c` of buffer 2. */
export interface Segment {
  /** Offset in buffer 0. */
  a: number;
  /** Offset in buffer 1 (default 0). */
  b?: number;
  /** Offset in buffer 2 (default 0). */
  c?: number;
  /** Elements. */
  len: number;
}

/** `[count, (a, b, c, len)×count, scalars…, outputs…]`, outputs zeroed. */
export function vectorArgs(segs: readonly Segment[], scalars: readonly number[] = [], outputs = 0): Float64Array {
  const args = new Float64Array(1 + 4 * segs.length + scalars.length + outputs);
  args[0] = segs.length;
  segs.forEach((s, i) => {
    args.set([s.a, s.b ?? 0, s.c ?? 0, s.len], 1 + 4 * i);
  });
  args.set(scalars, 1 + 4 * segs.length);
  return args;
}

/**
 * The arena ranges of the named tensors (all by default), adjacent ones merged, in arena order.
 * `arg` names the list in errors.
 */
export function rangesOf(store: ParamStore, names?: readonly string[], arg = 'names'): Segment[] {
  const list = names === undefined ? store.names : checkNames(names, arg);
  const ts = list.map((n, i) => store.tensor(n, `${arg}[${i}]`));
  ts.sort((x, y) => x.offset - y.offset);
  const out: Segment[] = [];
  for (const t of ts) {
    if (t.size === 0) continue;
    const last = out[out.length - 1];
    if (last && last.a + last.len === t.offset) last.len += t.size;
    else if (!last || last.a + last.len < t.offset) out.push({ a: t.offset, b: t.offset, c: t.offset, len: t.size });
  }
  return out;
}

/** Runs a vector op on the store's heap and returns its outputs. */
export function runVector(
  store: ParamStore,
  op: number,
  buffers: readonly (Buffer | null)[],
  segs: readonly Segment[],
  scalars: readonly number[] = [],
  outputs = 0,
): number[] {
  const args = vectorArgs(segs, scalars, outputs);
  store.heap.run(op, store.dtype, args, buffers);
  return [...args.subarray(args.length - outputs)];
}

export { OP };
