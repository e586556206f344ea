/**
 * AdaBound and AMSBound (Luo, Xiong, Liu & Sun, "Adaptive Gradient Methods with Dynamic Bound of
 * Learning Rate", ICLR 2019) have no recorded reference here, so this file holds one: the
 * algorithm written out in float64 below, from the paper and the authors' PyTorch release
 * (`adabound`, whose defaults the class uses). Every backend is held to it in float64 (to
 * rounding) and float32 (to float32 accuracy), and the three backends to each other bit for bit.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import { AdaBound } from '../ts/optim/adabound.js';
import { ParamStore } from '../ts/params.js';
import { Rng } from '../ts/random.js';
import { backends } from './helpers.js';

const { ready } = await backends();

interface Options {
  lr: number;
  beta1: number;
  beta2: number;
  finalLr: number;
  gamma: number;
  eps: number;
  weightDecay: number;
  amsbound: boolean;
}

/** The authors' release's defaults (adabound.AdaBound). */
const RELEASE: Options = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  finalLr: 0.1,
  gamma: 1e-3,
  eps: 1e-8,
  weightDecay: 0,
  amsbound: false,
};

/**
 * The reference, in float64, one tensor at a time. Paper, Algorithm 2 (AdaBound) / 3 (AMSBound):
 * m_t = β1 m + (1 − β1) g, v_t = β2 v + (1 − β2) g² (AMSBound: v̂ = max(v̂, v)), step size
 * η = Clip(α / √v, η_l(t), η_u(t)), x ← x − η ⊙ m. The bound functions of Section 4,
 * η_l(t) = 0.1 − 0.1 / ((1 − β2) t + 1) and η_u(t) = 0.1 + 0.1 / ((1 − β2) t), with the final
 * rate 0.1 as `finalLr` (scaled by lr / base lr, so a schedule on lr moves the bounds) and the
 * speed 1 − β2 as `gamma`, as the release parameterises them. Also as the release: L2 weight
 * decay added to the gradient, α bias-corrected (α √(1 − β2^t) / (1 − β1^t)), ε added to √v, and
 * no 1/√t factor on η.
 */
function reference(
  o: Options,
  params: number[][],
  grads: number[][][],
  baseLr: number,
  lrAt: (t: number) => number = () => o.lr,
): number[][][] {
  const p = params.map((x) => [...x]);
  const m = p.map((x) => x.map(() => 0));
  const v = p.map((x) => x.map(() => 0));
  const vmax = p.map((x) => x.map(() => 0));
  const out: number[][][] = [];
  grads.forEach((gs, k) => {
    const t = k + 1;
    const lr = lrAt(t);
    const bc1 = 1 - o.beta1 ** t;
    const bc2 = 1 - o.beta2 ** t;
    const stepSize = (lr * Math.sqrt(bc2)) / bc1;
    const fin = (o.finalLr * lr) / baseLr;
    const lower = fin * (1 - 1 / (o.gamma * t + 1));
    const upper = fin * (1 + 1 / (o.gamma * t));
    p.forEach((x, j) => {
      for (let i = 0; i < x.length; i++) {
        const g = gs[j][i] + o.weightDecay * x[i];
        m[j][i] = o.beta1 * m[j][i] + (1 - o.beta1) * g;
        v[j][i] = o.beta2 * v[j][i] + (1 - o.beta2) * g * g;
        let vh = v[j][i];
        if (o.amsbound) vh = vmax[j][i] = Math.max(vmax[j][i], v[j][i]);
        const eta = Math.min(Math.max(stepSize / (Math.sqrt(vh) + o.eps), lower), upper);
        x[i] -= eta * m[j][i];
      }
    });
    out.push(p.map((x) => [...x]));
  });
  return out;
}

const SHAPES = { w: [3, 4], b: [5] } as const;
const STEPS = 40;

function problem(seed: number): { init: number[][]; grads: number[][][] } {
  const rng = new Rng(seed);
  const init = [12, 5].map((n) => Array.from({ length: n }, () => rng.normal()));
  // Gradients of mixed scales, so some elements sit on the lower bound, some on the upper bound
  // and some in between; a few exact zeros.
  const grads = Array.from({ length: STEPS }, () =>
    [12, 5].map((n) =>
      Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : rng.normal() * 10 ** Math.floor(rng.uniform() * 5 - 3))),
    ),
  );
  return { init, grads };
}

function run(
  backend: Backend,
  dtype: 'float32' | 'float64',
  options: Partial<Options>,
  prob: { init: number[][]; grads: number[][][] },
  lrAt?: (t: number) => number,
): { traj: number[][][]; opt: AdaBound; store: ParamStore } {
  const store = new ParamStore(
    backend,
    { w: { shape: [...SHAPES.w], init: prob.init[0] }, b: { shape: [...SHAPES.b], init: prob.init[1] } },
    { dtype },
  );
  const opt = new AdaBound(store, options);
  const traj = prob.grads.map((g, k) => {
    if (lrAt) opt.paramGroups[0].lr = lrAt(k + 1);
    store.setGrad('w', g[0]);
    store.setGrad('b', g[1]);
    opt.step();
    return [[...store.get('w')], [...store.get('b')]];
  });
  return { traj, opt, store };
}

function maxRelErr(got: number[][][], want: number[][][], atol: number): number {
  let worst = 0;
  got.forEach((s, k) =>
    s.forEach((x, j) =>
      x.forEach((g, i) => {
        const w = want[k][j][i];
        worst = Math.max(worst, Math.abs(g - w) / (atol + Math.abs(w)));
      }),
    ),
  );
  return worst;
}

const VARIANTS: { name: string; options: Partial<Options> }[] = [
  { name: 'release defaults', options: {} },
  { name: 'AMSBound', options: { amsbound: true } },
  { name: 'fast bounds', options: { lr: 0.01, gamma: 0.2, finalLr: 0.05 } },
  {
    name: 'weight decay, betas, eps',
    options: { weightDecay: 5e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, amsbound: true },
  },
  { name: 'no upper bound (gamma 0)', options: { gamma: 0, lr: 0.02 } },
];

describe.each(ready.map((b) => [b.name, b] as const))('AdaBound on %s', (_name, backend) => {
  it.each(VARIANTS)('$name matches the float64 reference (float64: to rounding)', ({ options }) => {
    const prob = problem(11);
    const o = { ...RELEASE, ...options };
    const want = reference(o, prob.init, prob.grads, o.lr);
    const { traj, opt, store } = run(backend, 'float64', options, prob);
    expect(maxRelErr(traj, want, 1e-12)).toBeLessThan(1e-10);
    opt.dispose();
    store.dispose();
  });

  it.each(VARIANTS)('$name matches the float64 reference (float32: to float32 accuracy)', ({ options }) => {
    const prob = problem(12);
    const f32 = prob.init.map((x) => x.map(Math.fround));
    const g32 = prob.grads.map((s) => s.map((x) => x.map(Math.fround)));
    const o = { ...RELEASE, ...options };
    const want = reference(o, f32, g32, o.lr);
    const { traj, opt, store } = run(backend, 'float32', options, { init: f32, grads: g32 });
    expect(maxRelErr(traj, want, 1e-6)).toBeLessThan(2e-5);
    opt.dispose();
    store.dispose();
  });

  it('scales the bounds with lr / baseLr when lr changes (the release scales final_lr by lr / base_lr)', () => {
    const prob = problem(13);
    const lrAt = (t: number) => 0.01 * 0.9 ** t;
    const o = { ...RELEASE, lr: 0.01, gamma: 0.05 };
    const want = reference(o, prob.init, prob.grads, 0.01, lrAt);
    const { traj, opt, store } = run(backend, 'float64', { lr: 0.01, gamma: 0.05 }, prob, lrAt);
    expect(opt.paramGroups[0].baseLr).toBe(0.01);
    expect(maxRelErr(traj, want, 1e-12)).toBeLessThan(1e-10);
    opt.dispose();
    store.dispose();
  });

  it('clips each rate into [η_l(t), η_u(t)]: tiny gradients on the upper bound, huge ones on the lower', () => {
    const store = new ParamStore(backend, { x: { shape: [3], init: [1, -2, 3] } }, { dtype: 'float64' });
    const opt = new AdaBound(store, { lr: 1, finalLr: 0.01, gamma: 0.5 });
    const g = [1e-6, 2e3, -4];
    for (let k = 0; k < 5; k++) {
      store.setGrad('x', g);
      opt.step();
    }
    const before = [...store.get('x')];
    store.setGrad('x', g);
    opt.step();
    const m = opt.stateDict().state[0].exp_avg as Float64Array;
    const t = 6;
    const lower = 0.01 * (1 - 1 / (0.5 * t + 1));
    const upper = 0.01 * (1 + 1 / (0.5 * t));
    const eta = [...store.get('x')].map((x, i) => (before[i] - x) / m[i]);
    expect(eta[0] / upper).toBeCloseTo(1, 8);
    expect(eta[1] / lower).toBeCloseTo(1, 8);
    expect(eta[2]).toBeGreaterThan(lower);
    expect(eta[2]).toBeLessThan(upper);
    opt.dispose();
    store.dispose();
  });
});

describe('AdaBound options and state', () => {
  const backend = ready[0];

  it('has the release defaults and takes baseLr from lr at construction', () => {
    const store = new ParamStore(backend, { x: [3] });
    const opt = new AdaBound(store);
    const { params: _p, ...g } = opt.paramGroups[0];
    expect(g).toEqual({ ...RELEASE, baseLr: 1e-3 });
    const sd = opt.stateDict();
    expect(sd.param_groups[0]).toMatchObject({
      lr: 1e-3,
      betas: [0.9, 0.999],
      final_lr: 0.1,
      gamma: 1e-3,
      amsbound: false,
    });
    opt.dispose();
    store.dispose();
  });

  it('rejects bad options with the domains of the release', () => {
    const store = new ParamStore(backend, { x: [3] });
    expect(() => new AdaBound(store, { gamma: 1 })).toThrow(/gamma: must be in \[0, 1\)/);
    expect(() => new AdaBound(store, { finalLr: -0.1 })).toThrow(/finalLr: must be >= 0/);
    expect(() => new AdaBound(store, { beta2: 1 })).toThrow(/beta2: must be in \[0, 1\)/);
    expect(() => new AdaBound(store, { lr: -1 })).toThrow(/lr: must be >= 0/);
    store.dispose();
  });

  it('gives the same bits on every backend, and resumes exactly from a state dict saved on another', () => {
    const prob = problem(14);
    const options = { lr: 0.01, amsbound: true, weightDecay: 1e-3 };
    const results = ready.map((b) => {
      const r = run(b, 'float32', options, prob);
      const bits = r.traj.flat(2).map((x) => x);
      const sd = JSON.parse(JSON.stringify(r.opt.stateDict())) as ReturnType<AdaBound['stateDict']>;
      r.opt.dispose();
      r.store.dispose();
      return { bits, sd };
    });
    for (const r of results) expect(r.bits).toEqual(results[0].bits);
    // Half the run on the first backend, the rest on each backend from its state dict.
    const half = { init: prob.init, grads: prob.grads.slice(0, STEPS / 2) };
    const first = run(ready[0], 'float32', options, half);
    const saved = JSON.parse(JSON.stringify(first.opt.stateDict()));
    const params = [[...first.store.get('w')], [...first.store.get('b')]];
    first.opt.dispose();
    first.store.dispose();
    for (const b of ready) {
      const store = new ParamStore(
        b,
        { w: { shape: [...SHAPES.w], init: params[0] }, b: { shape: [...SHAPES.b], init: params[1] } },
        { dtype: 'float32' },
      );
      const opt = new AdaBound(store, options);
      opt.loadStateDict(saved);
      for (const g of prob.grads.slice(STEPS / 2)) {
        store.setGrad('w', g[0]);
        store.setGrad('b', g[1]);
        opt.step();
      }
      expect([...store.get('w'), ...store.get('b')]).toEqual(results[0].bits.slice(-17));
      opt.dispose();
      store.dispose();
    }
  });
});
