/**
 * fast-check generators for the property tests, derived from the generated specs
 * (ts/generated/specs.ts): options inside each hyperparameter's domain (and the spec's cross-field
 * rules), values outside it or of the wrong type, stores, gradients. Runs are seeded and bounded
 * so `npm test` stays fast; `DOWNHILL_PROPERTY_RUNS=2000` (and `DOWNHILL_PROPERTY_SEED=n`) give a
 * longer run: `DOWNHILL_PROPERTY_RUNS=2000 npx vitest run test/property-`.
 */
import fc from 'fast-check';
import type { Backend } from '../ts/backend/types.js';
import { createOptimizer, optimizerNames, ParamStore, SPECS, type AnyOptimizer } from '../ts/index.js';
import { jsonNumber, type HParamData, type SpecData } from '../ts/spec.js';

/** Runs per property: small by default, scaled by DOWNHILL_PROPERTY_RUNS. */
export function runs(base: number): number {
  const env = Number(process.env.DOWNHILL_PROPERTY_RUNS);
  return Number.isFinite(env) && env > 0 ? Math.max(1, Math.round((base * env) / 100)) : base;
}

export const SEED = Number(process.env.DOWNHILL_PROPERTY_SEED ?? 20261205);

/** fast-check parameters of every property: seeded, bounded, stopping at the first failure. */
export function params(base: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: runs(base), endOnFailure: true };
}

/** Specs whose class `createOptimizer` builds from options alone (not the wrappers). */
export function standaloneSpecs(backend: Backend): SpecData[] {
  const probe = new ParamStore(backend, { w: [2, 2] });
  const out = optimizerNames().flatMap((name) => {
    try {
      createOptimizer(name, probe, {}).dispose();
    } catch {
      return [];
    }
    return [SPECS.find((s) => s.name === name) as SpecData];
  });
  probe.dispose();
  return out;
}

/** Specs that step matrices only. */
export const MATRIX_ONLY = new Set(['Muon']);

/** A value inside `h`'s domain (finite, within float32 range, sometimes at the bounds). */
export function validValue(h: HParamData): fc.Arbitrary<unknown> {
  if (h.kind === 'bool') return fc.boolean();
  if (h.kind === 'choice') return fc.constantFrom(...(h.choices ?? []));
  const d = h.domain!;
  const lo0 = jsonNumber(d.lo);
  const hi0 = jsonNumber(d.hi);
  const lo = Number.isFinite(lo0) ? lo0 : -10;
  const hi = Number.isFinite(hi0) ? hi0 : lo + 10;
  let v: fc.Arbitrary<number>;
  if (h.kind === 'int') {
    v = fc.integer({
      min: Math.ceil(d.loOpen ? lo + 1 : lo),
      max: Math.min(Math.floor(d.hiOpen ? hi - 1 : hi), lo + 20),
    });
  } else {
    const inner = fc.double({ min: lo, max: hi, noNaN: true, minExcluded: d.loOpen, maxExcluded: d.hiOpen });
    const edges = [lo, hi].filter((x, i) => (i === 0 ? !d.loOpen : !d.hiOpen) && Number.isFinite(x));
    v =
      edges.length > 0
        ? fc.oneof({ arbitrary: inner, weight: 4 }, { arbitrary: fc.constantFrom(...edges), weight: 1 })
        : inner;
  }
  return d.nullable ? fc.option(v, { nil: null, freq: 4 }) : v;
}

/** Options inside every domain, with the spec's rules respected (a flag whose rule fails is off). */
export function validOptions(spec: SpecData): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const h of spec.hparams) rec[h.name] = validValue(h);
  return fc.record(rec, { requiredKeys: [] }).map((o) => {
    for (const r of spec.rules) {
      if (o[r.flag] !== true) continue;
      const v = (o[r.hparam] ?? 0) as number;
      if (!(r.test === 'positive' ? v > 0 : v === 0)) o[r.flag] = false;
    }
    return o;
  });
}

/** A value of the wrong type for `h` (a TypeError): strings, objects, bigints, symbols, … */
export function wrongType(h: HParamData): fc.Arbitrary<unknown> {
  const common: fc.Arbitrary<unknown>[] = [
    // A string is a choice's type: an unknown one is a RangeError (outOfDomain).
    ...(h.kind === 'choice' ? [] : [fc.string().map((s) => `x${s}`)]),
    fc.constant({}),
    fc.constant([1]),
    fc.bigInt({ min: -5n, max: 5n }),
    fc.constant(Symbol('bad')),
  ];
  if (h.kind !== 'real') common.push(fc.constant(() => 1)); // real options may be schedules
  if (h.kind !== 'bool') common.push(fc.boolean());
  if (h.kind === 'bool') common.push(fc.constantFrom(0, 1, 'true'));
  if (h.kind === 'choice') common.push(fc.integer());
  if (!h.domain?.nullable) common.push(fc.constant(null));
  return fc.oneof(...common);
}

/** A number outside `h`'s domain, or not finite, or not an integer where one is needed (a RangeError). */
export function outOfDomain(h: HParamData): fc.Arbitrary<unknown> | null {
  if (h.kind === 'bool') return null;
  if (h.kind === 'choice') return fc.string().map((s) => `no-such-${s}`);
  const d = h.domain!;
  const lo = jsonNumber(d.lo);
  const hi = jsonNumber(d.hi);
  const out: fc.Arbitrary<unknown>[] = [fc.constantFrom(NaN, Infinity, -Infinity)];
  if (Number.isFinite(lo)) {
    const below = fc.double({ min: lo - 1e6, max: lo, noNaN: true, maxExcluded: !d.loOpen });
    out.push(below.filter((x) => x < lo || (d.loOpen && x === lo))); // −0 is not below 0
  }
  if (Number.isFinite(hi)) {
    const above = fc.double({ min: hi, max: hi + 1e6, noNaN: true, minExcluded: !d.hiOpen });
    out.push(above.filter((x) => x > hi || (d.hiOpen && x === hi)));
  } else out.push(fc.double({ min: 3.5e38, max: 1e300, noNaN: true })); // above float32 (stores are float32)
  if (h.kind === 'int') out.push(fc.double({ min: Math.max(lo, -1e6) + 0.25, max: Math.max(lo, -1e6) + 0.75 }));
  return fc.oneof(...out);
}

/** Tensor shapes of rank 0–3 with small dimensions (matrices only for `matrixOnly`). */
export function shapes(matrixOnly: boolean): fc.Arbitrary<number[][]> {
  const dim = fc.integer({ min: 1, max: 4 });
  const shape = matrixOnly ? fc.tuple(dim, dim) : fc.array(dim, { minLength: 0, maxLength: 3 });
  return fc.array(shape, { minLength: 1, maxLength: 3 });
}

/** Gradient values: mostly moderate, sometimes the float32 edges (finite). */
export const gradValue: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.double({ min: -100, max: 100, noNaN: true }), weight: 8 },
  { arbitrary: fc.constantFrom(0, -0, 1e-45, -1e-40, 1e20, -3e38), weight: 1 },
);

/** Builds `spec`'s optimizer over a store of `shapes` (named t0, t1, …) with `options`. */
export function build(
  backend: Backend,
  spec: SpecData,
  dims: number[][],
  options: Record<string, unknown>,
  dtype: 'float32' | 'float64' = 'float32',
): { store: ParamStore; opt: AnyOptimizer } {
  const specs = Object.fromEntries(dims.map((s, i) => [`t${i}`, { shape: s, init: (j: number) => Math.sin(j + i) }]));
  const store = new ParamStore(backend, specs, { dtype });
  try {
    return { store, opt: createOptimizer(spec.name, store, options) };
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/** One step with the given gradients (a closure for optimizers that need one). */
export function stepWith(store: ParamStore, opt: AnyOptimizer, g: readonly number[]): void {
  const set = () => {
    const grads = store.grads;
    for (let i = 0; i < grads.length; i++) grads[i] = g[i % g.length];
  };
  if ((opt as { closureRequired?: boolean }).closureRequired) {
    opt.step(() => {
      set();
      let s = 0;
      for (const x of store.data) s += x * x;
      return s;
    });
  } else {
    set();
    opt.step();
  }
}
