/**
 * One table of every optimizer the core registers, derived from the specs (ts/generated/specs.ts)
 * so a new optimizer is covered without editing this file: each option variant the spec
 * describes runs on every backend in float32 and float64 with bit-identical results, state dicts
 * round-trip exactly across backends, invalid options are rejected with the spec's domain, and
 * mistyped option names are suggested. Identities and group behaviour follow.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType } from '../ts/backend/types.js';
import { HEADER, OP, SPECS } from '../ts/generated/specs.js';
import { Adam, AdamW, ParamStore, SGD, createOptimizer, optimizerNames, type AnyOptimizer } from '../ts/index.js';
import { defaultValue, describeDomain, jsonNumber, type HParamData, type SpecData } from '../ts/spec.js';
import { backends, bits, DTYPES, inputs } from './helpers.js';

const { ready } = await backends();
const stepped = SPECS.filter((s) => s.driver !== 'ts');

/** Shapes each optimizer accepts (Muon steps matrices only). */
function shapesFor(spec: SpecData): number[][] {
  return spec.name === 'Muon'
    ? [
        [6, 5],
        [4, 8],
      ]
    : [[6, 5], [7], [2, 3, 4], [1]];
}

/** The option variants a spec describes: its defaults, then each feature switched on. */
function variants(spec: SpecData): { name: string; options: Record<string, unknown> }[] {
  const out: { name: string; options: Record<string, unknown> }[] = [{ name: 'defaults', options: {} }];
  const withRules = (flag: string, o: Record<string, unknown>) => {
    for (const r of spec.rules.filter((x) => x.flag === flag)) o[r.hparam] = r.test === 'positive' ? 0.5 : 0;
    return o;
  };
  for (const h of spec.hparams) {
    const d = defaultValue(h);
    if (h.kind === 'bool') out.push({ name: `${h.name}=${!d}`, options: withRules(h.name, { [h.name]: !d }) });
    else if (h.kind === 'choice') {
      for (const c of h.choices ?? []) if (c !== d) out.push({ name: `${h.name}=${c}`, options: { [h.name]: c } });
    } else if (d === null) {
      const v = h.kind === 'int' ? 3 : 1e-3;
      out.push({ name: `${h.name}=${v}`, options: { [h.name]: v } });
    } else if (d === 0 && h.kind === 'real' && h.domain && jsonNumber(h.domain.hi) >= 0.05) {
      out.push({ name: `${h.name}=0.05`, options: { [h.name]: 0.05 } });
    }
  }
  return out;
}

function build(backend: Backend, spec: SpecData, dtype: DType, options: Record<string, unknown>) {
  const shapes = shapesFor(spec);
  const store = new ParamStore(
    backend,
    shapes.map((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return [`t${i}`, { shape, init: inputs(n, 100 + i, 0) }] as const;
    }),
    { dtype },
  );
  return { store, opt: createOptimizer(spec.name, store, options) };
}

/** Sets the gradients of step `t` (some special values among them) and steps. */
function stepWith(store: ParamStore, opt: AnyOptimizer, t: number, special = 0.15): void {
  store.grads.set(inputs(store.size, 1000 + t, special));
  opt.step();
}

describe.each(stepped.map((s) => [s.name, s] as const))('%s', (_, spec) => {
  for (const v of variants(spec)) {
    for (const dtype of DTYPES) {
      it(`${v.name}, ${dtype}: every backend gives the same bits`, () => {
        const results = ready.map((b) => {
          const { store, opt } = build(b, spec, dtype, v.options);
          for (let t = 0; t < 3; t++) stepWith(store, opt, t);
          const sd = opt.stateDict();
          const out = { params: bits(store.data), state: JSON.stringify(sd) };
          store.dispose();
          return out;
        });
        for (const r of results.slice(1)) {
          expect(r.params).toEqual(results[0].params);
          expect(r.state).toEqual(results[0].state);
        }
      });
    }
  }

  it.each(DTYPES)('a state dict saved on one backend resumes exactly on every backend (%s)', (dtype) => {
    for (const from of ready) {
      const { store, opt } = build(from, spec, dtype, {});
      for (let t = 0; t < 2; t++) stepWith(store, opt, t, 0);
      const text = JSON.stringify(opt.stateDict());
      const params = Array.from(store.data);
      for (let t = 2; t < 4; t++) stepWith(store, opt, t, 0);
      const want = bits(store.data);
      store.dispose();
      for (const to of ready) {
        const fresh = build(to, spec, dtype, {});
        fresh.store.data.set(params);
        fresh.opt.loadStateDict(JSON.parse(text));
        for (let t = 2; t < 4; t++) stepWith(fresh.store, fresh.opt, t, 0);
        expect(bits(fresh.store.data), `${from.name} → ${to.name}`).toEqual(want);
        fresh.store.dispose();
      }
    }
  });

  it('out-of-domain options are RangeErrors naming the option, with the same message from the core', () => {
    for (const h of spec.hparams.filter(
      (x): x is HParamData & { domain: NonNullable<HParamData['domain']> } => x.kind === 'real' && x.domain !== null,
    )) {
      const lo = jsonNumber(h.domain.lo);
      if (!Number.isFinite(lo)) continue;
      const bad = h.domain.loOpen ? lo : lo - 1;
      const messages = ready.map((b) => {
        const store = new ParamStore(b, { w: [2, 2] });
        let classMessage = '';
        try {
          createOptimizer(spec.name, store, { [h.name]: bad });
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          classMessage = (e as Error).message;
        }
        // The same value straight into the core (the raw heap), bypassing the class's checks.
        const row = spec.hparams.map((x) => {
          const d = defaultValue(x);
          return x === h
            ? bad
            : typeof d === 'boolean'
              ? Number(d)
              : d === null
                ? NaN
                : typeof d === 'string'
                  ? (x.choices ?? []).indexOf(d)
                  : d;
        });
        const table = Float64Array.from([spec.id, 1, 1, 0, ...row, 0, 4, 2, 1, 2, 2, 0, 1, 0]);
        let coreMessage = '';
        try {
          store.heap.run(OP.STEP, 'float32', table, [store.buffers.params, store.buffers.grads, null, null]);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          coreMessage = (e as Error).message;
        }
        store.dispose();
        return { classMessage, coreMessage };
      });
      const expected = `must be ${describeDomain(h.domain)}, got ${bad}`;
      for (const m of messages) {
        expect(m.classMessage).toBe(`options.${h.name}: ${expected}`);
        expect(m.coreMessage).toBe(`groups[0].${h.name}: ${expected}`);
      }
    }
    expect(HEADER).toBe(4);
  });

  it('unknown option names are TypeErrors that suggest the right one', () => {
    const store = new ParamStore(ready[0], { w: [3] });
    const torchNamed = spec.hparams.find((h) => h.torch !== null && h.torch !== h.name && !h.torch.includes('.'));
    if (torchNamed) {
      expect(() => createOptimizer(spec.name, store, { [torchNamed.torch as string]: 0.1 })).toThrow(
        new TypeError(
          `options.${torchNamed.torch}: is not an option of ${spec.name}; did you mean ${torchNamed.name}?`,
        ),
      );
    }
    expect(() => createOptimizer(spec.name, store, { notAnOption: 1 })).toThrow(
      /^options\.notAnOption: is not an option of/,
    );
    store.dispose();
  });
});

describe('every registered spec has a class', () => {
  it('every spec has a class of its name: createOptimizer builds those that need nothing but options', async () => {
    const exported = (await import('../ts/index.js')) as Record<string, unknown>;
    const names = optimizerNames().map((n) => n.toLowerCase());
    for (const s of SPECS) {
      expect(typeof exported[s.name], s.name).toBe('function');
      // Wrappers (Lookahead wraps another optimizer) are built with `new`, not by name.
      if (s.driver !== 'ts' || s.name === 'LBFGS') expect(names, s.name).toContain(s.name.toLowerCase());
    }
  });
});

describe.each(ready.map((b) => [b.name, b] as const))('identities and groups on %s', (_, backend) => {
  it('AdamW with zero weight decay equals Adam bit for bit', () => {
    const a = new ParamStore(backend, { w: { shape: [50], init: inputs(50, 1, 0) } });
    const b = new ParamStore(backend, { w: { shape: [50], init: inputs(50, 1, 0) } });
    const oa = new Adam(a, { lr: 0.01 });
    const ob = new AdamW(b, { lr: 0.01, weightDecay: 0 });
    for (let t = 0; t < 5; t++) {
      stepWith(a, oa, t);
      stepWith(b, ob, t);
    }
    expect(bits(a.data)).toEqual(bits(b.data));
    a.dispose();
    b.dispose();
  });

  it('SGD without momentum is plain gradient descent (an f64 reference)', () => {
    const s = new ParamStore(backend, { w: { shape: [20], init: inputs(20, 3, 0) } }, { dtype: 'float64' });
    const o = new SGD(s, { lr: 0.1 });
    const ref = Array.from(s.data);
    for (let t = 0; t < 4; t++) {
      const g = inputs(20, 50 + t, 0);
      s.grads.set(g);
      o.step();
      for (let i = 0; i < 20; i++) ref[i] = ref[i] - 0.1 * g[i];
    }
    expect(Array.from(s.data)).toEqual(ref);
    s.dispose();
  });

  it('param groups keep their own options; frozen tensors and tensors outside every group do not move', () => {
    const s = new ParamStore(backend, {
      w: { shape: [3], init: 1 },
      b: { shape: [2], init: 1 },
      c: { shape: [2], init: 1 },
    });
    const o = new SGD(s, [{ params: ['w'], lr: 0.5 }, { params: ['b'] }], { lr: 0.1, weightDecay: 0 });
    expect(o.paramGroups.map((g) => g.lr)).toEqual([0.5, 0.1]);
    s.grads.fill(1);
    o.step();
    expect(Array.from(s.data)).toEqual([0.5, 0.5, 0.5, 0.9, 0.9, 1, 1].map(Math.fround));
    o.freeze(['w']);
    o.step();
    expect(Array.from(s.get('w'))).toEqual([0.5, 0.5, 0.5]);
    expect(o.stepCount('w')).toBe(1);
    expect(o.stepCount('b')).toBe(2);
    o.unfreeze(['w']);
    o.addParamGroup({ params: ['c'], lr: 1 });
    o.step();
    // b took three f32 steps of −0.1: 1 → 0.9 → 0.8 → 0.7, each rounded to f32.
    const b3 = [0, 0, 0].reduce((p) => Math.fround(p + Math.fround(-0.1)), 1);
    expect(Array.from(s.data)).toEqual([0, 0, 0, b3, b3, 0, 0]);
    expect(o.lrs).toEqual([0.5, 0.1, 1]);
    expect(() => o.addParamGroup({ params: ['w'] })).toThrow(
      /^groups\[3\]\.params\[0\]: tensor "w" is already in groups\[0\]/,
    );
    expect(() => (o.paramGroups as unknown as unknown[]).push({})).toThrow(TypeError);
    expect(() => ((o.paramGroups[0] as unknown as { params: string[] }).params = [])).toThrow(TypeError);
    expect(() => ((o.paramGroups[0] as unknown as Record<string, number>).betas = 1)).toThrow(TypeError);
    s.dispose();
  });

  it('options may be schedules of the step count', () => {
    const s = new ParamStore(backend, { w: { shape: [1], init: 0 } }, { dtype: 'float64' });
    const o = new SGD(s, { lr: (t) => 1 / (t + 1) });
    const seen: number[] = [];
    for (let t = 0; t < 3; t++) {
      seen.push(o.lrs[0]);
      s.grads.fill(-1);
      o.step();
    }
    expect(seen).toEqual([1, 0.5, 1 / 3]);
    expect(s.data[0]).toBeCloseTo(1 + 0.5 + 1 / 3, 12);
    expect(o.stepCalls).toBe(3);
    s.dispose();
  });

  it('an option changed between steps takes effect at the next step, as a schedule of it would', () => {
    // Steps reuse the previous step's checked options while none changed; every change must
    // reach the core: lr, a flag that adds a slot, and a second group's options.
    const run = (live: boolean) => {
      const s = new ParamStore(backend, { a: { shape: [5], init: inputs(5, 7, 0) }, b: { shape: [3], init: 1 } });
      const lr = (t: number) => (t < 2 ? 0.1 : t < 4 ? 0.05 : 0.02);
      const o = new Adam(s, [{ params: ['a'] }, { params: ['b'], weightDecay: 0 }], { lr: live ? 0.1 : lr });
      for (let t = 0; t < 6; t++) {
        if (live && (t === 2 || t === 4)) {
          o.paramGroups[0].lr = lr(t);
          o.paramGroups[1].lr = lr(t);
        }
        if (t === 3) {
          o.paramGroups[0].amsgrad = true;
          o.paramGroups[1].weightDecay = 0.5;
        }
        s.grads.set(inputs(8, 40 + t, 0));
        o.step();
      }
      const out = { params: bits(s.data), state: JSON.stringify(o.stateDict().state) };
      s.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('stateBytes shows SGD with momentum keeping half of what Adam keeps', () => {
    const s = new ParamStore(backend, { w: [1000], b: [24] });
    expect(new SGD(s, { momentum: 0 }).stateBytes()).toBe(0);
    expect(new SGD(s, { momentum: 0.9 }).stateBytes()).toBe(1024 * 4);
    expect(new Adam(s).stateBytes()).toBe(2 * 1024 * 4);
    expect(new Adam(s, { amsgrad: true }).stateBytes()).toBe(3 * 1024 * 4);
    s.dispose();
  });

  it('turning on an option that adds a slot keeps the existing state', () => {
    const s = new ParamStore(backend, { w: { shape: [4], init: 1 } });
    const o = new Adam(s, { lr: 0.1 });
    s.grads.fill(1);
    o.step();
    const m = Array.from(o.stateDict().state[0].exp_avg as Float32Array);
    o.paramGroups[0].amsgrad = true;
    o.step();
    const st = o.stateDict().state[0];
    expect(st.max_exp_avg_sq).toBeDefined();
    expect(Array.from(st.exp_avg as Float32Array)[0]).toBeCloseTo(0.9 * m[0] + 0.1, 6);
    s.dispose();
  });

  it('step(closure) returns the closure loss; zeroGrad clears only its tensors; use after dispose throws', () => {
    const s = new ParamStore(backend, { w: [2], other: [2] });
    const o = new SGD(s, [{ params: ['w'] }]);
    s.grads.fill(3);
    expect(o.step(() => 42)).toBe(42);
    o.zeroGrad();
    expect(Array.from(s.grads)).toEqual([0, 0, 3, 3]);
    o.dispose();
    expect(() => o.step()).toThrow(/used after dispose/);
    s.dispose();
  });
});

describe('param groups from names', () => {
  it('weightDecayGroups leaves biases, norm weights and 1-D tensors out of weight decay', async () => {
    const { weightDecayGroups, groupsBy } = await import('../ts/index.js');
    const s = new ParamStore(ready[0], {
      'layer0.weight': [4, 3],
      'layer0.bias': [4],
      'ln.weight': [4],
      'layer1.weight': [2, 4],
      'layer1.bias': [2],
      emb: [5, 2],
    });
    const g = weightDecayGroups(s, 0.01);
    expect(g).toEqual([
      { params: ['layer0.weight', 'layer1.weight', 'emb'], weightDecay: 0.01 },
      { params: ['layer0.bias', 'ln.weight', 'layer1.bias'], weightDecay: 0 },
    ]);
    const opt = new AdamW(s, g, { lr: 1e-3 });
    expect(opt.paramGroups.map((x) => x.weightDecay)).toEqual([0.01, 0]);
    expect(groupsBy(s, [{ match: /^layer1/, options: { lr: 0.1 } }])).toEqual([
      { params: ['layer1.weight', 'layer1.bias'], lr: 0.1 },
      { params: ['layer0.weight', 'layer0.bias', 'ln.weight', 'emb'] },
    ]);
    expect(() => weightDecayGroups(s, -1)).toThrow(/^weightDecay: must be finite and >= 0/);
    s.dispose();
  });
});
