/**
 * combine(): optimizers over disjoint tensors of one store stepped as one (Muon for matrices with
 * AdamW for the rest). It must equal stepping the members by hand, bit for bit, on every backend;
 * refuse what cannot be combined by name; and keep state dicts whole and atomic.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import { AdamW, LBFGS, Muon, ParamStore, SGD, combine, CosineAnnealingLR } from '../ts/index.js';
import { backends, bits, inputs } from './helpers.js';

const { ready } = await backends();

const SPECS = { w1: [6, 5], b1: [6], w2: [3, 6], b2: [3] } as const;
const MATRICES = ['w1', 'w2'];
const OTHERS = ['b1', 'b2'];

function store(backend: Backend): ParamStore {
  return new ParamStore(
    backend,
    Object.entries(SPECS).map(([name, shape], i) => {
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      return [name, { shape: [...shape], init: inputs(n, 10 + i, 0) }] as const;
    }),
  );
}

function members(s: ParamStore) {
  return [
    new Muon(s, [{ params: MATRICES }], { lr: 0.02 }),
    new AdamW(s, [{ params: OTHERS }], { lr: 3e-3, weightDecay: 0.01 }),
  ] as const;
}

const grads = (s: ParamStore, t: number) => s.grads.set(inputs(s.size, 500 + t, 0));

describe.each(ready.map((b) => [b.name, b] as const))('combine on %s', (_, backend) => {
  it('steps each member over its own tensors, equal to stepping them by hand', () => {
    const [a, b] = [store(backend), store(backend)];
    const opt = combine(...members(a));
    const [m, w] = members(b);
    for (let t = 0; t < 4; t++) {
      grads(a, t);
      grads(b, t);
      opt.step();
      m.step();
      w.step();
    }
    expect(bits(a.data)).toEqual(bits(b.data));
    expect(opt.stateBytes()).toBe(m.stateBytes() + w.stateBytes());
    expect(opt.paramGroups.map((g) => [...g.params])).toEqual([MATRICES, OTHERS]);
    expect(opt.lrs).toEqual([0.02, 3e-3]);
    a.dispose();
    b.dispose();
  });

  it('a state dict through JSON continues bit for bit; a refused part changes no member', () => {
    const [a, b] = [store(backend), store(backend)];
    const oa = combine(...members(a));
    const ob = combine(...members(b));
    for (let t = 0; t < 3; t++) {
      grads(a, t);
      oa.step();
    }
    const saved = JSON.parse(JSON.stringify(oa.stateDict()));
    b.data.set(a.data);
    ob.loadStateDict(saved);
    for (let t = 3; t < 6; t++) {
      grads(a, t);
      grads(b, t);
      oa.step();
      ob.step();
    }
    expect(bits(b.data)).toEqual(bits(a.data));

    const before = JSON.stringify(ob.stateDict());
    grads(a, 6);
    oa.step(); // so that the first part differs from what ob holds
    const bad = JSON.parse(JSON.stringify(oa.stateDict()));
    bad.optimizers[1].state[0].exp_avg_sq = 'not a tensor';
    expect(() => ob.loadStateDict(bad)).toThrow(/^stateDict\.optimizers\[1\]/);
    expect(JSON.stringify(ob.stateDict())).toBe(before);
    expect(() => ob.loadStateDict({ optimizers: [saved.optimizers[0]] } as never)).toThrow(RangeError);
    a.dispose();
    b.dispose();
  });

  it('a scheduler scales every member group from its own initial lr', () => {
    const s = store(backend);
    const opt = combine(...members(s));
    const sched = new CosineAnnealingLR(opt, { tMax: 4 });
    grads(s, 0);
    opt.step();
    sched.step();
    const f = (1 + Math.cos(Math.PI / 4)) / 2;
    expect(opt.lrs[0]).toBeCloseTo(0.02 * f, 15);
    expect(opt.lrs[1]).toBeCloseTo(3e-3 * f, 15);
    s.dispose();
  });

  it('refuses overlapping tensors, another store, closure optimizers and non-optimizers by name', () => {
    const [s, t] = [store(backend), store(backend)];
    const muon = new Muon(s, [{ params: MATRICES }]);
    expect(() => combine(muon, new SGD(s, [{ params: ['w1', 'b1'] }], { lr: 0.1 }))).toThrow(
      /^optimizers\[1\]: tensor "w1" is already stepped by optimizers\[0\]/,
    );
    expect(() => combine(muon, new SGD(t, [{ params: OTHERS }], { lr: 0.1 }))).toThrow(/^optimizers\[1\]: .*store/);
    expect(() => combine(new LBFGS(t, [{ params: OTHERS }]))).toThrow(/^optimizers\[0\]: LBFGS/);
    expect(() => combine(muon, {} as never)).toThrow(TypeError);
    expect(() => combine()).toThrow(/^optimizers: /);
    const c = combine(muon);
    c.dispose();
    expect(muon.disposed).toBe(true);
    expect(() => c.step()).toThrow(/after dispose/);
    s.dispose();
    t.dispose();
  });
});
