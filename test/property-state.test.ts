/**
 * Property tests of what comes from outside (fast-check, seeded and bounded; see
 * test/property-arbitraries.ts for a longer run), on every backend:
 *
 * - a malformed state dict (any one of a family of certain mistakes at a random place: a
 *   non-number element, a negative second moment, a non-finite value, a wrong length, a bad step,
 *   an unknown key, a bad option) always throws a typed error naming a `stateDict…` path, and
 *   every buffer and option stays bit-identical;
 * - a shape with one bad dimension always throws naming `specs.<name>.shape…`;
 * - the raw heap gives the same outcome on every backend for any op, dtype, args and buffers:
 *   the same error class and message, or the same bits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP } from '../ts/generated/specs.js';
import { ParamStore, type StateDict } from '../ts/index.js';
import { fromJSON, toJSON } from '../ts/state.js';
import type { Buffer, Heap } from '../ts/backend/types.js';
import { backends } from './helpers.js';
import {
  build,
  gradValue,
  MATRIX_ONLY,
  params,
  shapes,
  standaloneSpecs,
  stepWith,
  validOptions,
} from './property-arbitraries.js';
import { ARG_PATH, snapshot } from './reliability-helpers.js';

const { ready } = await backends();
const specs = standaloneSpecs(ready[0]).filter((s) => s.driver !== 'ts');

type Dict = StateDict & Record<string, unknown>;

/** Mistakes that are never a valid state dict, each applied at a place chosen by `pick`. */
const MISTAKES: { name: string; kind: typeof Error; apply: (d: Dict, pick: number, junk: unknown) => boolean }[] = [
  {
    name: 'a moment element that is not a number',
    kind: TypeError,
    apply: (d, pick, junk) => withSlot(d, pick, (a, j) => (a[j] = junk)),
  },
  {
    name: 'a negative value in a non-negative slot',
    kind: RangeError,
    apply: (d, pick) => withSlot(d, pick, (a, j, nonneg) => nonneg && ((a[j] = -1 - pick), true), true),
  },
  {
    name: 'a non-finite moment',
    kind: RangeError,
    apply: (d, pick) => withSlot(d, pick, (a, j) => (a[j] = [NaN, Infinity, -Infinity][pick % 3])),
  },
  {
    name: 'a moment of the wrong length',
    kind: RangeError,
    apply: (d, pick) =>
      withEntry(d, pick, (e, key) => {
        const a = e[key] as number[];
        if (!Array.isArray(a)) return false;
        e[key] = pick % 2 === 0 ? [...a, 0] : a.slice(1);
        return true;
      }),
  },
  {
    name: 'a moment that is not an array',
    kind: TypeError,
    apply: (d, pick, junk) =>
      withEntry(
        d,
        pick,
        (e, key) => Array.isArray(e[key]) && (junk === null || junk === undefined ? false : ((e[key] = junk), true)),
      ),
  },
  {
    name: 'a step out of bounds',
    kind: RangeError,
    apply: (d, pick) => withEntry(d, pick, (e) => ((e.step = [-1, 0.5, 2 ** 53, 1e300, NaN][pick % 5]), true)),
  },
  {
    name: 'an unknown state key',
    kind: TypeError,
    apply: (d, pick) => withEntry(d, pick, (e) => ((e[`bogus_${pick}`] = [0]), true)),
  },
  {
    name: 'an index that is no tensor',
    kind: RangeError,
    apply: (d, pick) => {
      const keys = Object.keys(d.state);
      if (keys.length === 0) return false;
      (d.state as Record<string, unknown>)[String(1000 + pick)] = d.state[Number(keys[0])];
      return true;
    },
  },
  {
    name: 'an option of the wrong type',
    kind: TypeError,
    apply: (d, pick, junk) => {
      const g = d.param_groups[0];
      const keys = Object.keys(g).filter((k) => k !== 'params' && typeof g[k] === 'number');
      if (keys.length === 0 || typeof junk === 'number' || junk === null || junk === undefined) return false;
      g[keys[pick % keys.length]] = junk;
      return true;
    },
  },
];

/** Calls `f` on one state entry (chosen by `pick`) and one of its array keys. */
function withEntry(d: Dict, pick: number, f: (e: Record<string, unknown>, key: string) => boolean): boolean {
  const entries = Object.values(d.state) as Record<string, unknown>[];
  if (entries.length === 0) return false;
  const e = entries[pick % entries.length];
  const keys = Object.keys(e).filter((k) => Array.isArray(e[k]) && (e[k] as unknown[]).length > 0);
  if (keys.length === 0) return false;
  return f(e, keys[pick % keys.length]);
}

/** Calls `f` on one element of one array slot; `nonnegOnly` restricts to slots that must be >= 0. */
function withSlot(
  d: Dict,
  pick: number,
  f: (a: unknown[], j: number, nonneg: boolean) => unknown,
  nonnegOnly = false,
): boolean {
  const nonneg = /sq|sum|square_avg|acc_delta|exp_inf|exp_avg_var|weight_sum|lr_max/;
  return withEntry(d, pick, (e, key) => {
    if (nonnegOnly && !nonneg.test(key)) return false;
    const a = e[key] as unknown[];
    return f(a, pick % a.length, nonneg.test(key)) !== false;
  });
}

/** A state dict as plain JSON data (arrays of numbers), so mistakes can be written anywhere. */
function plain(d: StateDict): Dict {
  return JSON.parse(
    JSON.stringify(fromJSON(toJSON(d)), (_k, v: unknown) =>
      v instanceof Float32Array || v instanceof Float64Array ? Array.from(v) : v,
    ),
  ) as Dict;
}

const junk = fc.constantFrom<unknown>('1', 'x', true, {}, { length: 2 }, 1n, Symbol('j'), [[1]]);

describe('malformed state dicts always throw a typed error naming a path, with nothing changed', () => {
  for (const spec of specs) {
    it(`${spec.name}`, () => {
      fc.assert(
        fc.property(
          validOptions(spec),
          shapes(MATRIX_ONLY.has(spec.name)),
          fc.array(gradValue, { minLength: 1, maxLength: 8 }),
          fc.constantFrom(...MISTAKES),
          fc.nat(1000),
          junk,
          fc.constantFrom(...ready),
          (options, dims, g, mistake, pick, j, backend) => {
            const { store, opt } = build(backend, spec, dims, options);
            try {
              stepWith(store, opt, g);
              stepWith(store, opt, g);
              const d = plain(opt.stateDict());
              if (!mistake.apply(d, pick, j)) return; // no place for this mistake in this dict
              const before = snapshot(store, opt);
              let err: unknown = null;
              try {
                opt.loadStateDict(d);
              } catch (e) {
                err = e;
              }
              expect(err, mistake.name).toBeInstanceOf(Error);
              const e = err as Error;
              expect(e instanceof TypeError || e instanceof RangeError, `${mistake.name}: ${e.message}`).toBe(true);
              expect(e.message, mistake.name).toMatch(/^stateDict[.[]/);
              expect(e.message).toMatch(ARG_PATH);
              expect(snapshot(store, opt), mistake.name).toBe(before);
            } finally {
              store.dispose();
            }
          },
        ),
        params(25),
      );
    });
  }
});

describe('bad shapes', () => {
  it('a shape with one bad dimension throws naming specs.<name>.shape, on every backend', () => {
    const badDim = fc.constantFrom<unknown>(-1, 1.5, NaN, Infinity, 2 ** 53, '2', null, 2n, Symbol('d'), [2], {});
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
        badDim,
        fc.nat(3),
        fc.constantFrom(...ready),
        (good, bad, at, backend) => {
          const shape: unknown[] = [...good];
          shape.splice(at % (good.length + 1), 0, bad);
          let err: unknown = null;
          try {
            new ParamStore(backend, { t: shape as number[] }).dispose();
          } catch (e) {
            err = e;
          }
          expect(err instanceof TypeError || err instanceof RangeError).toBe(true);
          expect((err as Error).message).toMatch(/^specs\.t\.shape(\[\d+\])?: /);
        },
      ),
      params(60),
    );
  });
});

/** A call's outcome: the error's class and message, or the bits of args and every buffer. */
function outcome(
  heap: Heap,
  op: number,
  dtype: 'float32' | 'float64',
  args: number[],
  bufs: (Buffer | null)[],
): string {
  const a = Float64Array.from(args);
  try {
    heap.run(op, dtype, a, bufs);
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  const show = (x: ArrayLike<number>) =>
    Array.from(x, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)));
  return JSON.stringify({ args: show(a), bufs: bufs.map((b) => (b ? show(b.view()) : null)) });
}

describe.skipIf(ready.length < 2)('the raw heap agrees on every backend', () => {
  it('any op, dtype, args and buffers: the same error or the same bits everywhere', () => {
    const ops = Object.values(OP) as number[];
    const num = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 12 }), weight: 6 },
      { arbitrary: fc.constantFrom(-1, 0.5, NaN, Infinity, 2 ** 53, 1e300, -0), weight: 1 },
      { arbitrary: fc.double({ min: -3, max: 3, noNaN: true }), weight: 2 },
    );
    fc.assert(
      fc.property(
        fc.oneof({ arbitrary: fc.constantFrom(...ops), weight: 9 }, { arbitrary: fc.nat(100), weight: 1 }),
        fc.constantFrom('float32' as const, 'float64' as const),
        fc.array(num, { maxLength: 24 }),
        fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 4 }),
        fc.array(fc.option(fc.nat(3), { nil: null }), { maxLength: 6 }),
        fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 1, maxLength: 6 }),
        (op, dtype, args, lens, picks, fill) => {
          const results = ready.map((backend) => {
            const heap = backend.createHeap();
            try {
              const pool = lens.map((n) => {
                const b = heap.alloc(dtype, n);
                const v = b.view();
                for (let i = 0; i < n; i++) v[i] = fill[i % fill.length];
                return b;
              });
              const bufs = picks.map((p) => (p === null || pool.length === 0 ? null : pool[p % pool.length]));
              return outcome(heap, op, dtype, args, bufs);
            } finally {
              heap.dispose();
            }
          });
          // Model ops multiply matrices (a GEMM tolerance between backends): compare their errors only.
          const model = op >= OP.MODEL_INFO && op <= OP.MODEL_PREDICT;
          for (let i = 1; i < results.length; i++) {
            if (model && !results[0].includes(': ') && !results[i].includes(': ')) continue;
            expect(results[i], `${ready[i].name} vs ${ready[0].name}, op ${op}`).toBe(results[0]);
          }
        },
      ),
      params(300),
    );
  });
});
