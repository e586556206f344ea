/**
 * L-BFGS beyond the reference cases: the three backends give the same bits (its vector work is
 * the core's ops), it converges, its state dict has PyTorch's layout and continues a run on
 * another backend exactly, `minimize()` drives it, and what it cannot do is refused.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType, FloatArray } from '../ts/backend/types.js';
import { minimize } from '../ts/minimize.js';
import { LBFGS } from '../ts/optim/lbfgs.js';
import { ParamStore } from '../ts/params.js';
import { backends } from './helpers.js';

const { ready } = await backends();

function bytes(a: FloatArray): Buffer {
  return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
}

/** Chained Rosenbrock over two tensors taken as one vector, in the store's dtype. */
function closureFor(store: ParamStore): () => number {
  const r = store.dtype === 'float32' ? Math.fround : (x: number) => x;
  return () => {
    const x = [...store.tensor('a').data, ...store.tensor('b').data];
    const g = new Float64Array(x.length);
    let f = 0;
    for (let i = 0; i + 1 < x.length; i++) {
      const u = r(x[i + 1] - r(x[i] * x[i]));
      const v = r(1 - x[i]);
      f = r(f + r(r(100 * r(u * u)) + r(v * v)));
      g[i + 1] = r(g[i + 1] + r(200 * u));
      g[i] = r(g[i] - r(r(400 * x[i]) * u) - r(2 * v));
    }
    store.setGrad('a', g.subarray(0, 3));
    store.setGrad('b', g.subarray(3));
    return f;
  };
}

function storeOn(b: Backend, dtype: DType): ParamStore {
  return new ParamStore(
    b,
    { a: { shape: [3], init: [-1.2, 1, -1.2] }, b: { shape: [2, 2], init: [1, -1.2, 1, 0.5] } },
    { dtype },
  );
}

function run(b: Backend, dtype: DType, options: Record<string, unknown>, steps: number): Buffer[] {
  const store = storeOn(b, dtype);
  const opt = new LBFGS(store, options);
  const closure = closureFor(store);
  const losses: number[] = [];
  for (let k = 0; k < steps; k++) losses.push(opt.step(closure));
  const st = opt.stateDict().state[0] as Record<string, unknown>;
  const out = [
    bytes(store.data),
    bytes(new Float64Array(losses)),
    bytes(new Float64Array([st.func_evals as number, st.n_iter as number])),
  ];
  for (const k of ['d', 'prev_flat_grad']) out.push(bytes(st[k] as FloatArray));
  for (const k of ['old_dirs', 'old_stps']) for (const v of st[k] as FloatArray[]) out.push(bytes(v));
  out.push(
    bytes(new Float64Array([...(st.ro as number[]), st.t as number, st.H_diag as number, st.prev_loss as number])),
  );
  opt.dispose();
  store.dispose();
  return out;
}

describe('LBFGS', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['fixed steps', {}],
    ['strong Wolfe, short history', { lineSearchFn: 'strong_wolfe', historySize: 3 }],
    ['few iterations per call, lr 0.5', { maxIter: 4, lr: 0.5, historySize: 2 }],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, options] of variants) {
      it(`gives the same bits on every backend (${dtype}, ${name})`, () => {
        const runs = ready.map((b) => run(b, dtype, options, 4));
        for (const r of runs.slice(1)) {
          expect(r.length).toBe(runs[0].length);
          r.forEach((x, i) => expect(x.equals(runs[0][i])).toBe(true));
        }
      });
    }
  }

  it('converges on Rosenbrock with the strong Wolfe search', () => {
    const store = storeOn(ready[0], 'float64');
    const opt = new LBFGS(store, { lineSearchFn: 'strong_wolfe' });
    const closure = closureFor(store);
    for (let k = 0; k < 10; k++) opt.step(closure);
    expect(closure()).toBeLessThan(1e-10);
    for (const v of store.data) expect(Math.abs(v - 1)).toBeLessThan(1e-5);
    store.dispose();
  });

  it('has PyTorch state dict keys, and a saved state continues exactly on another backend', () => {
    const options = { lineSearchFn: 'strong_wolfe' as const, maxIter: 5 };
    for (const other of ready) {
      const s1 = storeOn(ready[0], 'float64');
      const o1 = new LBFGS(s1, options);
      const c1 = closureFor(s1);
      for (let k = 0; k < 2; k++) o1.step(c1);
      const saved = JSON.parse(JSON.stringify(o1.stateDict()));
      expect(Object.keys(saved.state[0]).sort()).toEqual(
        [
          'H_diag',
          'd',
          'func_evals',
          'n_iter',
          'old_dirs',
          'old_stps',
          'prev_flat_grad',
          'prev_loss',
          'ro',
          't',
        ].sort(),
      );
      expect(saved.param_groups[0]).toMatchObject({
        max_iter: 5,
        max_eval: 6,
        line_search_fn: 'strong_wolfe',
        history_size: 100,
      });
      const s2 = storeOn(other, 'float64');
      s2.data.set(s1.data);
      const o2 = new LBFGS(s2);
      o2.loadStateDict(saved);
      const c2 = closureFor(s2);
      for (let k = 0; k < 3; k++) expect(o2.step(c2)).toBe(o1.step(c1));
      expect(bytes(s2.data).equals(bytes(s1.data))).toBe(true);
      expect(o2.stateDict().state[0].n_iter).toBe(o1.stateDict().state[0].n_iter);
      s1.dispose();
      s2.dispose();
    }
  });

  it('is driven by minimize() with a closure over loss and grad', async () => {
    const result = await minimize({
      loss: ([a, b]) => 100 * (b - a * a) ** 2 + (1 - a) ** 2,
      grad: ([a, b]) => [-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)],
      x0: [-1.2, 1],
      optimizer: { type: 'lbfgs', lineSearchFn: 'strong_wolfe' },
      maxIters: 20,
      dtype: 'float64',
      backend: ready[0].name,
    });
    expect(result.converged).toBe(true);
    expect(result.history[0]).toBeCloseTo(24.2, 12);
    expect(Math.abs(result.x[0] - 1)).toBeLessThan(1e-4);
  });

  it('refuses param groups, freezing and a step without a closure', () => {
    const store = storeOn(ready[0], 'float32');
    expect(() => new LBFGS(store, [{ params: ['a'] }, { params: ['b'] }])).toThrow(RangeError);
    const opt = new LBFGS(store);
    expect(() => opt.addParamGroup()).toThrow(/parameter groups/);
    expect(() => opt.freeze()).toThrow(RangeError);
    expect(() => opt.step()).toThrow(TypeError);
    expect(() => opt.step(() => 'x' as unknown as number)).toThrow(/closure: must return the loss/);
    expect(() => new LBFGS(store, { historySize: 0 })).toThrow(RangeError);
    expect(() => new LBFGS(store, { lineSearchFn: 'backtracking' as 'none' })).toThrow(RangeError);
    store.dispose();
  });
});
