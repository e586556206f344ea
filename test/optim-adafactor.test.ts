/**
 * Adafactor beyond the reference cases: the three backends give the same bits on shapes the
 * cases do not have (0-D, column vectors, 4-D batches, a matrix large enough for the parallel
 * reductions, more columns than one pass accumulates), the factored state is what `stateBytes()`
 * reports, and state dicts move between backends.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType, FloatArray } from '../ts/backend/types.js';
import { Adafactor } from '../ts/optim/adafactor.js';
import { Adam } from '../ts/optim/adam.js';
import type { AnyOptimizer } from '../ts/optim/optimizer.js';
import { ParamStore } from '../ts/params.js';
import { Rng } from '../ts/random.js';
import { backends } from './helpers.js';

const { ready } = await backends();

const SHAPES: Record<string, number[]> = {
  s: [],
  v: [7],
  col: [3, 1],
  batch: [2, 3, 4, 5],
  big: [257, 256],
  wide: [5, 130],
};

function bytes(a: FloatArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

function same(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x).equals(Buffer.from(b[i])));
}

/** Params and state after `steps` steps of seeded gradients, as bytes. */
function run(b: Backend, dtype: DType, make: (s: ParamStore) => AnyOptimizer, steps = 5): Uint8Array[] {
  const rng = new Rng(7);
  const store = new ParamStore(
    b,
    Object.entries(SHAPES).map(([n, shape]) => [n, { shape, init: () => rng.normal() }] as const),
    { dtype },
  );
  const opt = make(store);
  for (let k = 0; k < steps; k++) {
    for (const t of store.tensors)
      store.setGrad(
        t.name,
        Array.from({ length: t.size }, () => rng.normal() * 0.1),
      );
    opt.step();
  }
  const out = [bytes(store.data)];
  for (const e of Object.values(opt.stateDict().state)) {
    for (const v of Object.values(e))
      out.push(typeof v === 'number' ? new Uint8Array(new Float64Array([v]).buffer) : bytes(v as FloatArray));
  }
  opt.dispose();
  store.dispose();
  return out;
}

const VARIANTS: [string, Record<string, unknown>][] = [
  ['defaults', {}],
  ['eps1, d, decay, maximize', { lr: 0.05, eps1: 1e-3, d: 1.2, weightDecay: 0.01, beta2Decay: -0.5, maximize: true }],
];

describe('Adafactor', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, options] of VARIANTS) {
      it(`gives the same bits on every backend (${dtype}, ${name})`, () => {
        const runs = ready.map((b) => run(b, dtype, (s) => new Adafactor(s, options)));
        for (const r of runs.slice(1)) expect(same(r, runs[0])).toBe(true);
      });
    }
  }

  it('keeps row and column statistics for matrices: stateBytes shows the saving', () => {
    const store = new ParamStore(ready[0], { w: [512, 256], b: [256], t: [4, 8, 16] });
    const opt = new Adafactor(store);
    expect(opt.stateBytes()).toBe((512 + 256 + 256 + 4 * 8 + 4 * 16) * 4);
    const adam = new Adam(store);
    expect(adam.stateBytes()).toBe(2 * (512 * 256 + 256 + 4 * 8 * 16) * 4);
    store.dispose();
  });

  it('uses PyTorch keys in state dicts, and a dict saved on one backend continues on another', () => {
    for (const other of ready) {
      const rng = new Rng(7);
      const make = (b: Backend) =>
        new ParamStore(
          b,
          Object.entries(SHAPES).map(([n, shape]) => [n, { shape, init: () => rng.normal() }] as const),
        );
      const s1 = make(ready[0]);
      const o1 = new Adafactor(s1, { lr: 0.02 });
      const grads: number[][][] = [];
      for (let k = 0; k < 6; k++)
        grads.push(s1.tensors.map((t) => Array.from({ length: t.size }, () => rng.normal() * 0.1)));
      const feed = (s: ParamStore, k: number) => s.tensors.forEach((t, i) => s.setGrad(t.name, grads[k][i]));
      for (let k = 0; k < 3; k++) {
        feed(s1, k);
        o1.step();
      }
      const saved = JSON.parse(JSON.stringify(o1.stateDict()));
      expect(Object.keys(saved.state[0]).sort()).toEqual(['step', 'variance']);
      expect(Object.keys(saved.state[4]).sort()).toEqual(['col_var', 'row_var', 'step']);
      expect(saved.param_groups[0].eps).toEqual([null, 0.001]);
      const s2 = new ParamStore(
        other,
        Object.entries(SHAPES).map(([n, shape]) => [n, { shape, init: 0 }] as const),
      );
      s2.data.set(s1.data);
      const o2 = new Adafactor(s2);
      o2.loadStateDict(saved);
      for (let k = 3; k < 6; k++) {
        feed(s1, k);
        o1.step();
        feed(s2, k);
        o2.step();
      }
      expect(Buffer.from(bytes(s2.data)).equals(Buffer.from(bytes(s1.data)))).toBe(true);
      s1.dispose();
      s2.dispose();
    }
  });

  it('rejects options outside PyTorch domains', () => {
    const store = new ParamStore(ready[0], { w: [2, 2] });
    expect(() => new Adafactor(store, { d: 0.5 })).toThrow(RangeError);
    expect(() => new Adafactor(store, { beta2Decay: 0.1 })).toThrow(/beta2Decay/);
    expect(() => new Adafactor(store, { eps1: -1 })).toThrow(RangeError);
    expect(() => new Adafactor(store, { eps1: null, eps2: 0 })).not.toThrow();
    store.dispose();
  });
});
