/**
 * Adagrad, RMSprop, Adadelta, Adamax, NAdam and RAdam (PyTorch semantics): every option path is
 * bit-identical on native, WASM and pure TS in float32 and float64 (including signed zeros,
 * subnormals, huge values and tensors long enough for the threaded path); PyTorch's validity
 * rules; NAdam's scalar `mu_product` survives a state-dict transfer between backends; and
 * float64 trajectories match references written here from the documented update rules.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType, FloatArray } from '../ts/backend/types.js';
import { Adadelta } from '../ts/optim/adadelta.js';
import { Adagrad } from '../ts/optim/adagrad.js';
import { Adamax } from '../ts/optim/adamax.js';
import { NAdam } from '../ts/optim/nadam.js';
import type { AnyOptimizer } from '../ts/optim/optimizer.js';
import { RAdam } from '../ts/optim/radam.js';
import { RMSprop } from '../ts/optim/rmsprop.js';
import { ParamStore } from '../ts/params.js';
import { Rng } from '../ts/random.js';
import { backends } from './helpers.js';

const { ready } = await backends();

type Options = Record<string, number | boolean>;
type Make = (s: ParamStore, o: Options) => AnyOptimizer;

const CLASSES: Record<string, Make> = {
  Adagrad: (s, o) => new Adagrad(s, o),
  RMSprop: (s, o) => new RMSprop(s, o),
  Adadelta: (s, o) => new Adadelta(s, o),
  Adamax: (s, o) => new Adamax(s, o),
  NAdam: (s, o) => new NAdam(s, o),
  RAdam: (s, o) => new RAdam(s, o),
};

/** Every element-loop variant of each optimizer (the mode bits of its plan). */
const VARIANTS: [string, Options][] = [
  ['Adagrad', {}],
  ['Adagrad', { lr: 0.1, lrDecay: 0.05, weightDecay: 0.02, initialAccumulatorValue: 0.3, maximize: true }],
  ['RMSprop', {}],
  ['RMSprop', { weightDecay: 0.01, maximize: true }],
  ['RMSprop', { centered: true }],
  ['RMSprop', { momentum: 0.9 }],
  ['RMSprop', { centered: true, momentum: 0.9, weightDecay: 0.01, alpha: 0.8 }],
  ['RMSprop', { centered: true, weightDecay: 0.01 }],
  ['RMSprop', { momentum: 0.5, weightDecay: 0.01 }],
  ['RMSprop', { centered: true, momentum: 0.5 }],
  ['Adadelta', {}],
  ['Adadelta', { lr: 0.5, rho: 0.8, weightDecay: 0.01, maximize: true }],
  ['Adamax', {}],
  ['Adamax', { weightDecay: 0.05, maximize: true, beta1: 0.5, beta2: 0.6 }],
  ['NAdam', {}],
  ['NAdam', { weightDecay: 0.01, momentumDecay: 0.5 }],
  ['NAdam', { weightDecay: 0.01, decoupledWeightDecay: true, maximize: true }],
  ['RAdam', {}],
  ['RAdam', { weightDecay: 0.01, beta2: 0.75 }],
  ['RAdam', { weightDecay: 0.01, decoupledWeightDecay: true, maximize: true, beta2: 0.6 }],
];

const SPECIAL = [0, -0, 1e-45, -1e-45, 1e-40, -2.5e-39, 1.1754942e-38, 1e-30, 1, -1, 1e30, -1e20, 65504];

function values(rng: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (u < 0.1) out.push(SPECIAL[Math.floor(rng.uniform() * SPECIAL.length)]);
    else if (u < 0.2) out.push((rng.uniform() - 0.5) * 2 ** (rng.uniform() * 200 - 100));
    else out.push(rng.normal());
  }
  return out;
}

/** Shapes: a long tensor (threaded, vectorised path), a matrix, a 0-d one, a 3-d one. */
const SHAPES: number[][] = [[70_000], [7, 9], [], [2, 3, 5]];
const STEPS = 6;

interface Run {
  params: FloatArray[];
  state: Record<string, number | FloatArray>[];
}

function run(b: Backend, dtype: DType, name: string, o: Options, seed: number): Run {
  const rng = new Rng(seed);
  const names = SHAPES.map((_, i) => `t${i}`);
  const size = (s: number[]) => s.reduce((a, x) => a * x, 1);
  const store = new ParamStore(
    b,
    SHAPES.map((s, i) => [names[i], { shape: s }] as const),
    { dtype },
  );
  names.forEach((n, i) => store.set(n, values(rng, size(SHAPES[i]))));
  const opt = CLASSES[name](store, o);
  for (let k = 0; k < STEPS; k++) {
    names.forEach((n, i) => store.setGrad(n, values(rng, size(SHAPES[i]))));
    opt.step();
  }
  const sd = opt.stateDict();
  const out = {
    params: names.map((n) => store.get(n)),
    state: names.map((_, i) => sd.state[i] as Record<string, number | FloatArray>),
  };
  opt.dispose();
  store.dispose();
  return out;
}

/** Index of the first element that differs (NaN equals NaN, +0 differs from −0), or −1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('bit-identical on every backend', () => {
  const base = ready.find((b) => b.name === 'js') ?? ready[0];
  const others = ready.filter((b) => b !== base);
  for (const dtype of ['float32', 'float64'] as const) {
    VARIANTS.forEach(([name, o], vi) => {
      it.runIf(others.length > 0)(`${name} ${JSON.stringify(o)} ${dtype}`, () => {
        const want = run(base, dtype, name, o, 100 + vi);
        for (const b of others) {
          const got = run(b, dtype, name, o, 100 + vi);
          got.params.forEach((p, i) => {
            const at = firstDiff(p, want.params[i]);
            expect(at, `${b.name} params[${i}][${at}]: ${p[at]} vs ${base.name} ${want.params[i][at]}`).toBe(-1);
          });
          got.state.forEach((s, i) => {
            expect(Object.keys(s).sort()).toEqual(Object.keys(want.state[i]).sort());
            for (const [k, v] of Object.entries(s)) {
              const w = want.state[i][k];
              const at = typeof v === 'number' ? (Object.is(v, w) ? -1 : 0) : firstDiff(v, w as FloatArray);
              expect(at, `${b.name} state[${i}].${k}[${at}]`).toBe(-1);
            }
          });
        }
      });
    });
  }
});

describe.each(ready.map((b) => [b.name, b] as const))('options on %s', (_, backend) => {
  const store = () => new ParamStore(backend, { w: { shape: [3] } });
  const rejects: [string, Options, RegExp][] = [
    ['Adagrad', { lr: -1 }, /lr: must be >= 0/],
    ['Adagrad', { lrDecay: -0.1 }, /lrDecay: must be >= 0/],
    ['Adagrad', { initialAccumulatorValue: -1 }, /initialAccumulatorValue: must be >= 0/],
    ['Adagrad', { eps: -1e-10 }, /eps: must be >= 0/],
    ['Adagrad', { weightDecay: -1 }, /weightDecay: must be >= 0/],
    ['RMSprop', { alpha: -0.1 }, /alpha: must be >= 0/],
    ['RMSprop', { momentum: -0.5 }, /momentum: must be >= 0/],
    ['RMSprop', { eps: -1 }, /eps: must be >= 0/],
    ['Adadelta', { rho: 1.01 }, /rho: must be in \[0, 1\]/],
    ['Adadelta', { rho: -0.01 }, /rho: must be in \[0, 1\]/],
    ['Adamax', { beta1: 1 }, /beta1: must be in \[0, 1\)/],
    ['Adamax', { beta2: -0.1 }, /beta2: must be in \[0, 1\)/],
    ['NAdam', { momentumDecay: -1e-3 }, /momentumDecay: must be >= 0/],
    ['NAdam', { beta2: 1 }, /beta2: must be in \[0, 1\)/],
    ['RAdam', { beta1: 1 }, /beta1: must be in \[0, 1\)/],
    ['RAdam', { weightDecay: -0.01 }, /weightDecay: must be >= 0/],
  ];
  for (const [name, o, msg] of rejects) {
    it(`${name} rejects ${JSON.stringify(o)}`, () => {
      const s = store();
      expect(() => CLASSES[name](s, o)).toThrow(msg);
      s.dispose();
    });
  }
  // PyTorch accepts these edges; so do we.
  const accepts: [string, Options][] = [
    ['Adadelta', { rho: 1 }],
    ['Adadelta', { rho: 0 }],
    ['RMSprop', { alpha: 1.5 }],
    ['RMSprop', { alpha: 0 }],
    ['Adagrad', { eps: 0, initialAccumulatorValue: 0.5 }],
    ['NAdam', { momentumDecay: 0 }],
    ['RAdam', { beta2: 0 }],
  ];
  for (const [name, o] of accepts) {
    it(`${name} accepts ${JSON.stringify(o)}`, () => {
      const s = store();
      s.setGrad('w', [0.5, -1, 2]);
      const opt = CLASSES[name](s, o);
      opt.step();
      opt.dispose();
      s.dispose();
    });
  }

  it('RMSprop keeps momentum_buffer and grad_avg only when asked, Adagrad starts sum at its option', () => {
    const s = store();
    s.setGrad('w', [1, 2, 3]);
    const plain = new RMSprop(s);
    plain.step();
    expect(Object.keys(plain.stateDict().state[0]).sort()).toEqual(['square_avg', 'step']);
    plain.dispose();
    const full = new RMSprop(s, { momentum: 0.9, centered: true });
    full.step();
    expect(Object.keys(full.stateDict().state[0]).sort()).toEqual([
      'grad_avg',
      'momentum_buffer',
      'square_avg',
      'step',
    ]);
    full.dispose();
    const ada = new Adagrad(s, { initialAccumulatorValue: 0.25 });
    ada.step();
    expect([...(ada.stateDict().state[0].sum as FloatArray)]).toEqual([1.25, 4.25, 9.25]);
    ada.dispose();
    s.dispose();
  });
});

describe('NAdam mu_product across a state-dict transfer', () => {
  it.runIf(ready.length > 1)('save on one backend, load on another, continue: same bits as one run', () => {
    const [a, b] = [ready[0], ready[ready.length - 1]];
    const grads = (k: number) => [Math.sin(k), Math.cos(3 * k), 0.1 * k - 0.5];
    const init = [0.3, -0.2, 0.7];
    const whole = new ParamStore(a, { w: { shape: [3], init } }, { dtype: 'float64' });
    const o1 = new NAdam(whole, { lr: 0.01, momentumDecay: 0.1 });
    for (let k = 0; k < 10; k++) {
      whole.setGrad('w', grads(k));
      o1.step();
    }
    const first = new ParamStore(a, { w: { shape: [3], init } }, { dtype: 'float64' });
    const o2 = new NAdam(first, { lr: 0.01, momentumDecay: 0.1 });
    for (let k = 0; k < 4; k++) {
      first.setGrad('w', grads(k));
      o2.step();
    }
    const saved = JSON.parse(JSON.stringify(o2.stateDict()));
    expect(typeof saved.state[0].mu_product).toBe('number');
    const second = new ParamStore(b, { w: { shape: [3], init: first.get('w') } }, { dtype: 'float64' });
    const o3 = new NAdam(second, { lr: 0.5 });
    o3.loadStateDict(saved);
    for (let k = 4; k < 10; k++) {
      second.setGrad('w', grads(k));
      o3.step();
    }
    expect(firstDiff(second.get('w'), whole.get('w'))).toBe(-1);
    expect(o3.stateDict().state[0].mu_product).toBe(o1.stateDict().state[0].mu_product);
    for (const x of [o1, o2, o3]) x.dispose();
    for (const x of [whole, first, second]) x.dispose();
  });
});

// ---- float64 references written from the documented rules (PyTorch's docs), one element ----

type Ref = (g: number[], opts: Options) => number[];

/** Runs a scalar rule over a gradient sequence; returns the parameter after each step. */
const REFS: Record<string, Ref> = {
  Adagrad(gs, o) {
    let p = 0.5;
    let sum = o.initialAccumulatorValue as number;
    return gs.map((g0, k) => {
      let g = o.maximize ? -g0 : g0;
      g += (o.weightDecay as number) * p;
      const clr = (o.lr as number) / (1 + k * (o.lrDecay as number));
      sum += g * g;
      p -= (clr * g) / (Math.sqrt(sum) + (o.eps as number));
      return p;
    });
  },
  RMSprop(gs, o) {
    let p = 0.5;
    let v = 0;
    let ga = 0;
    let buf = 0;
    const a = o.alpha as number;
    return gs.map((g0) => {
      let g = o.maximize ? -g0 : g0;
      g += (o.weightDecay as number) * p;
      v = a * v + (1 - a) * g * g;
      let avg: number;
      if (o.centered) {
        ga = a * ga + (1 - a) * g;
        avg = Math.sqrt(v - ga * ga) + (o.eps as number);
      } else avg = Math.sqrt(v) + (o.eps as number);
      if ((o.momentum as number) > 0) {
        buf = (o.momentum as number) * buf + g / avg;
        p -= (o.lr as number) * buf;
      } else p -= ((o.lr as number) * g) / avg;
      return p;
    });
  },
  Adadelta(gs, o) {
    let p = 0.5;
    let v = 0;
    let u = 0;
    const [rho, eps] = [o.rho as number, o.eps as number];
    return gs.map((g0) => {
      let g = o.maximize ? -g0 : g0;
      g += (o.weightDecay as number) * p;
      v = rho * v + (1 - rho) * g * g;
      const d = (Math.sqrt(u + eps) / Math.sqrt(v + eps)) * g;
      u = rho * u + (1 - rho) * d * d;
      p -= (o.lr as number) * d;
      return p;
    });
  },
  Adamax(gs, o) {
    let p = 0.5;
    let m = 0;
    let u = 0;
    const [b1, b2] = [o.beta1 as number, o.beta2 as number];
    return gs.map((g0, k) => {
      let g = o.maximize ? -g0 : g0;
      g += (o.weightDecay as number) * p;
      m = b1 * m + (1 - b1) * g;
      u = Math.max(b2 * u, Math.abs(g) + (o.eps as number));
      p -= ((o.lr as number) / (1 - b1 ** (k + 1))) * (m / u);
      return p;
    });
  },
  NAdam(gs, o) {
    let p = 0.5;
    let m = 0;
    let v = 0;
    let prod = 1;
    const [b1, b2, lr, wd, psi] = [o.beta1, o.beta2, o.lr, o.weightDecay, o.momentumDecay] as number[];
    return gs.map((g0, k) => {
      const t = k + 1;
      let g = o.maximize ? -g0 : g0;
      if (o.decoupledWeightDecay) p *= 1 - lr * wd;
      else g += wd * p;
      const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
      const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
      prod *= mu;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const d = Math.sqrt(v / (1 - b2 ** t)) + (o.eps as number);
      p -= (lr * (1 - mu) * g) / (1 - prod) / d + (lr * muNext * m) / (1 - prod * muNext) / d;
      return p;
    });
  },
  RAdam(gs, o) {
    let p = 0.5;
    let m = 0;
    let v = 0;
    const [b1, b2, lr, wd] = [o.beta1, o.beta2, o.lr, o.weightDecay] as number[];
    const rhoInf = 2 / (1 - b2) - 1;
    return gs.map((g0, k) => {
      const t = k + 1;
      let g = o.maximize ? -g0 : g0;
      if (o.decoupledWeightDecay) p *= 1 - lr * wd;
      else g += wd * p;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const mHat = m / (1 - b1 ** t);
      const rhoT = rhoInf - (2 * t * b2 ** t) / (1 - b2 ** t);
      if (rhoT > 5) {
        const r = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        p -= (lr * mHat * r * Math.sqrt(1 - b2 ** t)) / (Math.sqrt(v) + (o.eps as number));
      } else p -= lr * mHat;
      return p;
    });
  },
};

const REF_CASES: [string, Options][] = [
  ['Adagrad', { lr: 0.1, lrDecay: 0.2, weightDecay: 0.1, initialAccumulatorValue: 0.2, eps: 1e-10, maximize: true }],
  ['RMSprop', { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay: 0.1, momentum: 0.8, centered: true, maximize: true }],
  ['RMSprop', { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false }],
  ['Adadelta', { lr: 0.7, rho: 0.6, eps: 1e-6, weightDecay: 0.1, maximize: true }],
  ['Adamax', { lr: 0.01, beta1: 0.8, beta2: 0.7, eps: 1e-8, weightDecay: 0.1, maximize: true }],
  ['NAdam', { lr: 0.01, beta1: 0.8, beta2: 0.9, eps: 1e-8, weightDecay: 0.1, momentumDecay: 0.3, maximize: true }],
  [
    'NAdam',
    {
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.1,
      momentumDecay: 4e-3,
      decoupledWeightDecay: true,
    },
  ],
  ['RAdam', { lr: 0.01, beta1: 0.8, beta2: 0.75, eps: 1e-8, weightDecay: 0.1, maximize: true }],
  ['RAdam', { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupledWeightDecay: true }],
];

describe.each(ready.map((b) => [b.name, b] as const))('float64 references on %s', (_, backend) => {
  const gs = Array.from({ length: 30 }, (_, k) => Math.sin(1.7 * k + 0.3) * (1 + 0.1 * k));
  for (const [name, o] of REF_CASES) {
    it(`${name} ${JSON.stringify(o)}`, () => {
      const want = REFS[name](gs, o);
      const s = new ParamStore(backend, { w: { shape: [1], init: [0.5] } }, { dtype: 'float64' });
      const opt = CLASSES[name](s, o);
      gs.forEach((g, k) => {
        s.setGrad('w', [g]);
        opt.step();
        const got = s.get('w')[0];
        expect(Math.abs(got - want[k]), `step ${k + 1}: ${got} vs ${want[k]}`).toBeLessThanOrEqual(
          1e-12 + 1e-10 * Math.abs(want[k]),
        );
      });
      opt.dispose();
      s.dispose();
    });
  }
});
