/**
 * One table of every optimizer and option variant, run on every backend: convergence on a
 * parabola and on Rosenbrock, identities (AdamW with zero decay is Adam; SGD without momentum is
 * gradient descent), param groups, state dicts (round trip, cross-backend transfer, PyTorch keys)
 * and rejection of bad options.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Buffer } from '../ts/backend/types.js';
import { Adam, type AdamOptions } from '../ts/optim/adam.js';
import { AdamW } from '../ts/optim/adamw.js';
import type { BaseOptions, Optimizer } from '../ts/optim/optimizer.js';
import { SGD, type SGDOptions } from '../ts/optim/sgd.js';
import { ParamStore } from '../ts/params.js';
import { backends } from './helpers.js';

const { ready } = await backends();

type Make = (s: ParamStore) => Optimizer<BaseOptions>;
const as = (o: unknown) => o as Optimizer<BaseOptions>;

/** name → factory, with the lr each needs on the test problems. */
const TABLE: { name: string; make: Make; rosenbrockIters: number }[] = [
  { name: 'SGD', make: (s) => as(new SGD(s, { lr: 0.05 })), rosenbrockIters: 0 },
  { name: 'SGD momentum', make: (s) => as(new SGD(s, { lr: 0.02, momentum: 0.9 })), rosenbrockIters: 0 },
  {
    name: 'SGD nesterov',
    make: (s) => as(new SGD(s, { lr: 0.02, momentum: 0.9, nesterov: true })),
    rosenbrockIters: 0,
  },
  {
    name: 'SGD dampening+wd',
    make: (s) => as(new SGD(s, { lr: 0.05, momentum: 0.5, dampening: 0.5, weightDecay: 1e-4 })),
    rosenbrockIters: 0,
  },
  { name: 'Adam', make: (s) => as(new Adam(s, { lr: 0.05 })), rosenbrockIters: 3000 },
  { name: 'Adam amsgrad', make: (s) => as(new Adam(s, { lr: 0.05, amsgrad: true })), rosenbrockIters: 3000 },
  { name: 'Adam l2', make: (s) => as(new Adam(s, { lr: 0.05, weightDecay: 1e-4 })), rosenbrockIters: 3000 },
  { name: 'AdamW', make: (s) => as(new AdamW(s, { lr: 0.05, weightDecay: 1e-4 })), rosenbrockIters: 3000 },
  {
    name: 'AdamW amsgrad',
    make: (s) => as(new AdamW(s, { lr: 0.05, weightDecay: 1e-4, amsgrad: true })),
    rosenbrockIters: 3000,
  },
];

// f(x) = Σ a_i (x_i − c_i)², minimum 0 at c.
const A = [1, 2, 0.5, 3];
const C = [1, -2, 0.5, 3];
const parabola = (x: ArrayLike<number>) => A.reduce((s, a, i) => s + a * (x[i] - C[i]) ** 2, 0);
const parabolaGrad = (x: ArrayLike<number>) => A.map((a, i) => 2 * a * (x[i] - C[i]));
// Rosenbrock, minimum 0 at (1, 1).
const rosen = (x: ArrayLike<number>) => (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2;
const rosenGrad = (x: ArrayLike<number>) => [
  -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
  200 * (x[1] - x[0] ** 2),
];

function descend(
  b: Backend,
  make: Make,
  x0: number[],
  grad: (x: ArrayLike<number>) => number[],
  iters: number,
): Float32Array {
  const s = new ParamStore(b, { x: { shape: [x0.length], init: x0 } });
  const opt = make(s);
  for (let i = 0; i < iters; i++) {
    s.setGrad('x', grad(s.tensor('x').data));
    opt.step();
  }
  const x = s.get('x');
  opt.dispose();
  s.dispose();
  return x;
}

describe.each(ready.map((b) => [b.name, b] as const))('optimizers on %s', (_, backend) => {
  for (const row of TABLE) {
    it(`${row.name} converges on a parabola`, () => {
      const x0 = [0, 0, 0, 0];
      const x = descend(backend, row.make, x0, parabolaGrad, 600);
      expect(parabola(x0)).toBeGreaterThan(10);
      expect(parabola(x)).toBeLessThan(1e-3);
    });
    if (row.rosenbrockIters > 0) {
      it(`${row.name} converges on Rosenbrock`, () => {
        const x = descend(backend, row.make, [-1.5, 2], rosenGrad, row.rosenbrockIters);
        expect(rosen(x)).toBeLessThan(1e-2);
        expect(Math.abs(x[0] - 1)).toBeLessThan(0.1);
      });
    }
  }

  it('AdamW with zero weight decay equals Adam bit for bit', () => {
    const grad = (x: ArrayLike<number>) => rosenGrad(x);
    const a = descend(backend, (s) => as(new Adam(s, { lr: 0.01 })), [-1.5, 2], grad, 200);
    const w = descend(backend, (s) => as(new AdamW(s, { lr: 0.01, weightDecay: 0 })), [-1.5, 2], grad, 200);
    expect(Array.from(w)).toEqual(Array.from(a));
  });

  it('SGD without momentum is plain gradient descent (f64 reference)', () => {
    const x = descend(backend, (s) => as(new SGD(s, { lr: 0.1 })), [0, 0, 0, 0], parabolaGrad, 25);
    let ref = [0, 0, 0, 0];
    for (let i = 0; i < 25; i++) ref = ref.map((v, j) => v - 0.1 * parabolaGrad(ref)[j]);
    x.forEach((v, j) => expect(v).toBeCloseTo(ref[j], 5));
  });

  it('Adam first step moves every coordinate by lr against the gradient sign', () => {
    const s = new ParamStore(backend, { w: { shape: [4], init: [1, 1, 1, 1] } });
    const opt = new Adam(s, { lr: 0.1 });
    s.setGrad('w', [3, -0.001, 100, -7]);
    opt.step();
    expect(Array.from(s.get('w')).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([0.9, 1.1, 0.9, 1.1]);
    s.dispose();
  });

  it('param groups use their own lr and weight decay', () => {
    const init = { a: { shape: [2, 2], init: [1, 2, 3, 4] }, b: { shape: [3], init: [5, 6, 7] } };
    const s = new ParamStore(backend, init);
    const opt = new SGD(
      s,
      [
        { params: ['a'], lr: 0.1 },
        { params: ['b'], weightDecay: 0.5 },
      ],
      { lr: 0.01, momentum: 0.9 },
    );
    const sa = new ParamStore(backend, { a: init.a });
    const sb = new ParamStore(backend, { b: init.b });
    const oa = new SGD(sa, { lr: 0.1, momentum: 0.9 });
    const ob = new SGD(sb, { lr: 0.01, momentum: 0.9, weightDecay: 0.5 });
    for (let t = 0; t < 5; t++) {
      const ga = [t, -1, 2, 0.5];
      const gb = [1, t, -t];
      s.setGrad('a', ga);
      s.setGrad('b', gb);
      sa.setGrad('a', ga);
      sb.setGrad('b', gb);
      opt.step();
      oa.step();
      ob.step();
    }
    expect(Array.from(s.get('a'))).toEqual(Array.from(sa.get('a')));
    expect(Array.from(s.get('b'))).toEqual(Array.from(sb.get('b')));
    expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.momentum])).toEqual([
      [0.1, 0, 0.9],
      [0.01, 0.5, 0.9],
    ]);
  });

  it('a tensor outside every group is not stepped', () => {
    const s = new ParamStore(backend, { a: { shape: [2], init: 1 }, frozen: { shape: [2], init: 1 } });
    const opt = new Adam(s, [{ params: ['a'] }], { lr: 0.1 });
    s.grads.fill(1);
    opt.step();
    expect(Array.from(s.get('frozen'))).toEqual([1, 1]);
    expect(s.get('a')[0]).toBeLessThan(1);
  });

  it('step(closure) returns the closure loss and zeroGrad clears only its tensors', () => {
    const s = new ParamStore(backend, { a: [2], b: [2] });
    const opt = new SGD(s, [{ params: ['a'] }], { lr: 0.1 });
    s.grads.fill(3);
    expect(opt.step(() => 42)).toBe(42);
    opt.zeroGrad();
    expect(Array.from(s.grads)).toEqual([0, 0, 3, 3]);
  });
});

function trajectory(
  b: Backend,
  make: Make,
  steps: number,
  from?: ReturnType<Optimizer<BaseOptions>['stateDict']>,
  x0?: Float32Array,
) {
  const s = new ParamStore(b, {
    w: { shape: [3, 2], init: x0 ?? [0.5, -1, 2, 0, 1, -3] },
    b: { shape: [2], init: [0.1, 0.2] },
  });
  const opt = make(s);
  if (from) opt.loadStateDict(from);
  for (let t = 0; t < steps; t++) {
    const w = s.tensor('w').data;
    s.setGrad(
      'w',
      Array.from(w, (v, i) => Math.sin(v + i)),
    );
    s.setGrad('b', [Math.cos(t), -0.5]);
    opt.step();
  }
  return { s, opt };
}

const STATEFUL: { name: string; make: Make; keys: string[] }[] = [
  { name: 'SGD momentum', make: (s) => as(new SGD(s, { lr: 0.1, momentum: 0.9 })), keys: ['momentum_buffer', 'step'] },
  {
    name: 'Adam amsgrad',
    make: (s) => as(new Adam(s, { lr: 0.1, amsgrad: true })),
    keys: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'],
  },
  { name: 'AdamW', make: (s) => as(new AdamW(s, { lr: 0.1 })), keys: ['exp_avg', 'exp_avg_sq', 'step'] },
];

describe('state dicts', () => {
  for (const row of STATEFUL) {
    it(`${row.name}: PyTorch keys and layout`, () => {
      const { opt } = trajectory(ready[0], row.make, 3);
      const sd = opt.stateDict();
      expect(Object.keys(sd.state).map(Number)).toEqual([0, 1]);
      expect(Object.keys(sd.state[0]).sort()).toEqual(row.keys);
      expect(sd.state[0].step).toBe(3);
      expect((sd.state[0][row.keys[0]] as Float32Array).length).toBe(6);
      expect(sd.param_groups).toHaveLength(1);
      expect(sd.param_groups[0].params).toEqual([0, 1]);
      expect(sd.param_groups[0]).toHaveProperty('weight_decay');
      expect(sd.param_groups[0]).toHaveProperty('maximize', false);
    });

    it(`${row.name}: a state dict saved on one backend resumes exactly on every backend`, () => {
      for (const from of ready) {
        const full = trajectory(from, row.make, 7);
        const half = trajectory(from, row.make, 4);
        const saved = half.opt.stateDict();
        const x4 = half.s.get('w');
        for (const to of ready) {
          const resumed = trajectory(to, row.make, 3, saved, x4);
          // b restarts from its init in `trajectory`; copy it across too.
          expect(Array.from(resumed.s.get('w')), `${from.name} → ${to.name}`).toEqual(Array.from(full.s.get('w')));
          expect(resumed.opt.stepCount('w')).toBe(7);
        }
      }
    });

    it(`${row.name}: a state dict of another shape is rejected and nothing changes`, () => {
      const { opt, s } = trajectory(ready[0], row.make, 2);
      const before = opt.stateDict();
      const bad = opt.stateDict();
      const key = row.keys[0];
      bad.state[0][key] = new Float32Array(5);
      expect(() => opt.loadStateDict(bad)).toThrow(RangeError);
      expect(() => opt.loadStateDict(bad)).toThrow(`stateDict.state[0].${key}`);
      const other = new ParamStore(ready[0], { only: [3] });
      expect(() => row.make(other).loadStateDict(before)).toThrow(
        /stateDict.param_groups\[0\].params|stateDict.state\[1\]/,
      );
      expect(opt.stateDict()).toEqual(before);
      expect(s.get('w').length).toBe(6);
    });
  }
});

describe('bad options are rejected with typed errors naming the argument', () => {
  const s = new ParamStore(ready[0], { w: [3] });
  const cases: [string, () => unknown, ErrorConstructor, string][] = [
    ['negative lr', () => new SGD(s, { lr: -1 }), RangeError, 'options.lr'],
    ['NaN lr', () => new Adam(s, { lr: NaN }), RangeError, 'options.lr'],
    ['beta1 = 1', () => new Adam(s, { beta1: 1 }), RangeError, 'options.beta1'],
    ['negative eps', () => new AdamW(s, { eps: -1e-8 }), RangeError, 'options.eps'],
    ['string momentum', () => new SGD(s, { momentum: '0.9' as unknown as number }), TypeError, 'options.momentum'],
    ['nesterov without momentum', () => new SGD(s, { nesterov: true }), RangeError, 'options.nesterov'],
    ['unknown param name', () => new SGD(s, [{ params: ['w', 'nope'] }]), RangeError, 'groups[0].params[1]'],
    [
      'tensor in two groups',
      () => new SGD(s, [{ params: ['w'] }, { params: ['w'] }]),
      RangeError,
      'groups[1].params[0]',
    ],
    ['negative group wd', () => new Adam(s, [{ params: ['w'], weightDecay: -1 }]), RangeError, 'groups[0].weightDecay'],
    ['not a store', () => new Adam({} as ParamStore), TypeError, 'params'],
  ];
  for (const [what, fn, cls, arg] of cases) {
    it(what, () => {
      expect(fn).toThrow(cls);
      expect(fn).toThrow(new RegExp(`^${arg.replace(/[[\].]/g, '\\$&')}: `));
    });
  }

  it('an option made invalid after construction is caught at step(), before any buffer changes', () => {
    for (const b of ready) {
      const st = new ParamStore(b, { w: { shape: [3], init: [1, 2, 3] } });
      const opt = new Adam(st, { lr: 0.1 });
      st.grads.fill(1);
      opt.paramGroups[0].lr = -0.5;
      expect(() => opt.step()).toThrow(/^options\.lr: must be finite and >= 0, got -0.5$/);
      expect(Array.from(st.get('w'))).toEqual([1, 2, 3]);
      expect(opt.stepCount('w')).toBe(0);
    }
  });

  it('a buffer that is not f32 is a TypeError naming it on every backend, and nothing changes', () => {
    for (const b of ready) {
      const p = b.alloc(2);
      p.view().set([1, 2]);
      const fake = { length: 2, disposed: false, view: () => new Float64Array(2), dispose() {} } as unknown as Buffer;
      const table = Float64Array.of(0, 2, 1, 0.1, 0, 0, 0, 0, 0, 0);
      expect(() => b.step(0, table, p, fake, [null, null, null]), b.name).toThrow(TypeError);
      expect(() => b.step(0, table, p, fake, [null, null, null]), b.name).toThrow(/^grads: /);
      expect(() => b.step(0, [0, 2] as unknown as Float64Array, p, p, [null, null, null]), b.name).toThrow(
        /^segments: /,
      );
      expect(Array.from(p.view())).toEqual([1, 2]);
    }
  });

  it('the core rejects a bad segment table with the same message on every backend', () => {
    const messages = ready.map((b) => {
      const p = b.alloc(4);
      const g = b.alloc(4);
      p.view().set([1, 2, 3, 4]);
      const table = Float64Array.of(0, 4, 1, NaN, 0, 0, 0.9, 0.999, 1e-8, 0);
      let msg = '';
      try {
        b.step(1, table, p, g, [b.alloc(4), b.alloc(4), null]);
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        msg = (e as Error).message;
      }
      expect(Array.from(p.view())).toEqual([1, 2, 3, 4]);
      return msg;
    });
    expect(messages[0]).toBe('segments[0].lr: must be finite and >= 0, got NaN');
    expect(new Set(messages).size).toBe(1);
    for (const kernel of [1.5, -1, 7]) {
      const msgs = ready.map((b) => {
        try {
          b.step(kernel, new Float64Array(0), b.alloc(1), b.alloc(1), [null, null, null]);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return (e as Error).message;
        }
        return 'no error';
      });
      expect(msgs[0]).toMatch(/^kernel: /);
      expect(new Set(msgs).size, `kernel ${kernel}: ${msgs.join(' | ')}`).toBe(1);
    }
  });
});

export type { AdamOptions, SGDOptions };
