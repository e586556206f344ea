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
  return fillArgs(new Float64Array(argsLength(segs, scalars, outputs)), segs, scalars, outputs);
}

/**
 * The same as {@link vectorArgs}, in an array kept per `owner` (a store) and length and refilled
 * on every call: a vector op then allocates nothing. A fresh `Float64Array` per call cost 0.3–0.5
 * µs on this VM once a backend took its `ArrayBuffer` (one of 64 bytes or less lives inside V8's
 * heap, and `.buffer` has to move it out), which was most of an EMA update's fixed cost. The
 * array is the caller's until its next vector op on the same owner: read the outputs at once.
 */
export function ownedVectorArgs(
  owner: object,
  segs: readonly Segment[],
  scalars: readonly number[] = [],
  outputs = 0,
): Float64Array {
  const len = argsLength(segs, scalars, outputs);
  let byLength = OWNED.get(owner);
  if (byLength === undefined) {
    byLength = new Map();
    OWNED.set(owner, byLength);
  }
  let args = byLength.get(len);
  if (args === undefined) {
    args = new Float64Array(new ArrayBuffer(len * 8));
    byLength.set(len, args);
  }
  return fillArgs(args, segs, scalars, outputs);
}

const OWNED = new WeakMap<object, Map<number, Float64Array>>();

function argsLength(segs: readonly Segment[], scalars: readonly number[], outputs: number): number {
  return 1 + 4 * segs.length + scalars.length + outputs;
}

function fillArgs(
  args: Float64Array,
  segs: readonly Segment[],
  scalars: readonly number[],
  outputs: number,
): Float64Array {
  args[0] = segs.length;
  let o = 1;
  for (const s of segs) {
    args[o] = s.a;
    args[o + 1] = s.b ?? 0;
    args[o + 2] = s.c ?? 0;
    args[o + 3] = s.len;
    o += 4;
  }
  for (const x of scalars) args[o++] = x;
  args.fill(0, o, o + outputs);
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
  const args = ownedVectorArgs(store, segs, scalars, outputs);
  store.heap.run(op, store.dtype, args, buffers);
  return outputs === 0 ? [] : Array.from(args.subarray(args.length - outputs));
}

export { OP };
