/**
 * Mirror of crates/core/src/step.rs: the step table's checks (same order, same messages), the
 * slot-major state layout, and the drivers. Results equal the core's bit for bit: element math
 * is rounded after every operation, and the per-tensor order is the same (the core's merging of
 * adjacent tensors into one loop changes nothing in the results, so it is not mirrored).
 */
import { rangeError, typeError } from '../errors.js';
import type { FloatArray } from '../backend/types.js';
import { HEADER, TENSOR_STRIDE } from '../generated/specs.js';
import { checkRules, checkWire, hasSlot, initValue, slotLength, specById, type DType, type SpecData } from '../spec.js';
import { kernelFor, ROUND, type Tensor } from './registry.js';

function whole(v: number, arg: () => string): number {
  if (Number.isFinite(v) && v >= 0 && Number.isInteger(v) && v <= Number.MAX_SAFE_INTEGER) return v;
  throw rangeError(arg(), `must be a non-negative integer, got ${String(v)}`);
}

export interface Table {
  spec: SpecData;
  rows: Tensor[];
  groups: number;
}

/** Decodes and checks a step table against an arena of `arenaLen` elements (`Table::parse`). */
export function parseTable(args: Float64Array, arenaLen: number, dtype: DType): Table {
  if (args.length < HEADER) {
    throw typeError('args', `a step table needs a ${HEADER}-number header, got ${args.length}`);
  }
  const id = whole(args[0], () => 'args[0] (spec id)');
  const spec = specById(id);
  if (!spec) throw rangeError('args[0] (spec id)', `unknown optimizer spec id ${id}`);
  if (spec.driver === 'ts') {
    throw rangeError('args[0] (spec id)', `${spec.name} runs in TypeScript over core ops; it has no core step`);
  }
  const g = whole(args[1], () => 'args[1] (groups)');
  const k = whole(args[2], () => 'args[2] (tensors)');
  whole(args[3], () => 'args[3] (flags)');
  const h = spec.hparams.length;
  if (HEADER + g * h + k * TENSOR_STRIDE !== args.length) {
    throw typeError(
      'args',
      `length ${args.length} does not hold ${g} groups of ${h} and ${k} tensors of ${TENSOR_STRIDE} after the header`,
    );
  }
  const groupHp: Float64Array[] = [];
  for (let gi = 0; gi < g; gi++) {
    const hp = args.subarray(HEADER + gi * h, HEADER + (gi + 1) * h);
    spec.hparams.forEach((p, j) => checkWire(p, hp[j], `groups[${gi}].${p.name}`, dtype));
    checkRules(spec, hp, `groups[${gi}].`);
    groupHp.push(hp);
  }
  const rows: Tensor[] = [];
  let endPrev = 0;
  const base = HEADER + g * h;
  for (let i = 0; i < k; i++) {
    const r = args.subarray(base + i * TENSOR_STRIDE, base + (i + 1) * TENSOR_STRIDE);
    const name = (c: string) => () => `tensors[${i}].${c}`;
    const offset = whole(r[0], name('offset'));
    const numel = whole(r[1], name('numel'));
    const ndim = whole(r[2], name('ndim'));
    const batch = whole(r[3], name('batch'));
    const rowsN = whole(r[4], name('rows'));
    const cols = whole(r[5], name('cols'));
    const group = whole(r[6], name('group'));
    const step = whole(r[7], name('step'));
    const flags = whole(r[8], name('flags'));
    if (flags > 1) throw rangeError(name('flags')(), `must be 0 or 1 (skip), got ${flags}`);
    if (step === 0) throw rangeError(name('step')(), 'must be >= 1 (the count after this step)');
    const consistent =
      ndim === 0
        ? batch === 1 && rowsN === 1 && cols === 1 && numel === 1
        : ndim === 1
          ? batch === 1 && rowsN === 1 && cols === numel
          : ndim === 2
            ? batch === 1 && rowsN * cols === numel // a matrix has no leading dimensions (as the core)
            : batch * rowsN * cols === numel;
    if (!consistent) {
      throw rangeError(
        name('numel')(),
        `${numel} does not match ndim ${ndim}, batch ${batch}, rows ${rowsN}, cols ${cols}`,
      );
    }
    if (group >= g) throw rangeError(name('group')(), `${group} is not below the group count ${g}`);
    if (offset < endPrev) {
      throw rangeError(
        name('offset')(),
        `tensors must be sorted by offset and disjoint; ${offset} overlaps the previous one ending at ${endPrev}`,
      );
    }
    endPrev = offset + numel;
    if (endPrev > arenaLen) {
      throw rangeError(name('numel')(), `range ${offset}..${endPrev} exceeds the params length ${arenaLen}`);
    }
    rows.push({
      index: i,
      offset,
      shape: { numel, ndim, batch, rows: rowsN, cols },
      group,
      step,
      skip: flags === 1,
      hp: groupHp[group],
    });
  }
  return { spec, rows, groups: g };
}

/** `Table::regions` and `Table::state_len` (step.rs): each slot's region length and the total. */
export function layoutLen(t: Table): { per: number[]; total: number } {
  const per = t.spec.state.map((s) =>
    t.rows.reduce((sum, r) => sum + (hasSlot(t.spec, s, r.hp, r.shape) ? slotLength(s, r.shape) : 0), 0),
  );
  return { per, total: per.reduce((a, b) => a + b, 0) };
}

export function scratchLen(t: Table): number {
  const k = kernelFor(t.spec.name);
  if (!k || k.kind !== 'tensorwise' || !k.scratchLen) return 0;
  return t.rows.reduce((m, r) => Math.max(m, (k.scratchLen as (s: typeof r.shape) => number)(r.shape)), 0);
}

const EMPTY32 = new Float32Array(0);
const EMPTY64 = new Float64Array(0);

/** Runs a checked table (`run_elementwise` / `run_tensorwise`). */
export function runTable(
  t: Table,
  dtype: DType,
  p: FloatArray,
  g: FloatArray,
  state: FloatArray,
  scratch: FloatArray,
): void {
  const { spec } = t;
  const kernel = kernelFor(spec.name);
  if (!kernel) {
    throw rangeError('args[0] (spec id)', `the pure-TS kernel of ${spec.name} is not loaded (import its class first)`);
  }
  const r = ROUND[dtype];
  const empty = dtype === 'float32' ? EMPTY32 : EMPTY64;
  if (kernel.kind === 'tensorwise' && kernel.check) for (const row of t.rows) kernel.check(row);
  const { per } = layoutLen(t);
  const cursor: number[] = [];
  per.reduce((at, n) => {
    cursor.push(at);
    return at + n;
  }, 0);
  for (const row of t.rows) {
    const views: FloatArray[] = spec.state.map((s, k) => {
      if (!hasSlot(spec, s, row.hp, row.shape)) return empty;
      const n = slotLength(s, row.shape);
      const v = state.subarray(cursor[k], cursor[k] + n);
      cursor[k] += n;
      if (row.step === 1 && !row.skip) v.fill(r(initValue(spec, s, row.hp)));
      return v;
    });
    if (row.skip) continue;
    const pv = p.subarray(row.offset, row.offset + row.shape.numel);
    const gv = g.subarray(row.offset, row.offset + row.shape.numel);
    if (kernel.kind === 'elementwise') {
      const scalarIdx = spec.state
        .map((s, k) => (s.len === 'scalar' && views[k].length === 1 ? k : -1))
        .filter((k) => k >= 0);
      const scalars = scalarIdx.map((k) => views[k][0]);
      const plan = kernel.plan(row, scalars, r);
      scalarIdx.forEach((k, j) => (views[k][0] = scalars[j]));
      const nslots = spec.state.map((s, k) => (s.len === 'scalar' ? null : views[k])).filter((v) => v !== null);
      while (nslots.length < 4) nslots.push(empty);
      kernel.apply(plan, pv, gv, nslots as FloatArray[], r);
    } else {
      kernel.step(row, pv, gv, views, scratch, r);
    }
  }
}
