/**
 * Gradient transformations and averaging composed with an optimizer (`chain`), and exact resume:
 * a run saved mid-way (optimizer, schedule position, accumulation counter, EMA buffer, plateau
 * counters), serialised to JSON and loaded in a fresh process — on the same and on another
 * backend — continues bit-identically to the uninterrupted run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import {
  accumulate,
  Adam,
  AdamW,
  chain,
  clipByGlobalNorm,
  clipByValue,
  ema,
  ParamStore,
  ReduceLROnPlateau,
  SGD,
  skipNonFinite,
  swa,
} from '../ts/index.js';
import { backends, bits, inputs, ROOT } from './helpers.js';

const { ready } = await backends();

function grads(t: number, n: number): number[] {
  return inputs(n, 500 + t, 0).map((x) => x * 3);
}

describe.each(ready.map((b) => [b.name, b] as const))('transforms on %s', (_, backend) => {
  it('accumulate(k) updates every k-th step with the mean of the k gradients', () => {
    const n = 40;
    const a = new ParamStore(backend, { w: { shape: [n], init: inputs(n, 1, 0) } }, { dtype: 'float64' });
    const b = new ParamStore(backend, { w: { shape: [n], init: inputs(n, 1, 0) } }, { dtype: 'float64' });
    const ca = chain(accumulate(4), new SGD(a, { lr: 0.1, momentum: 0.9 }));
    const ob = new SGD(b, { lr: 0.1, momentum: 0.9 });
    for (let cycle = 0; cycle < 3; cycle++) {
      const mean = new Array<number>(n).fill(0);
      for (let i = 0; i < 4; i++) {
        const g = grads(cycle * 4 + i, n);
        a.grads.set(g);
        const before = Array.from(a.data);
        ca.step();
        if (i < 3) expect(Array.from(a.data)).toEqual(before);
        for (let j = 0; j < n; j++) mean[j] += g[j] / 4;
      }
      b.grads.set(mean);
      ob.step();
      for (let j = 0; j < n; j++) expect(a.data[j]).toBeCloseTo(b.data[j], 13);
    }
    expect(ca.stepCalls).toBe(3);
    a.dispose();
    b.dispose();
  });

  it('skipNonFinite skips the update, leaves the state alone and counts', () => {
    const s = new ParamStore(backend, { w: { shape: [5], init: 1 } });
    const skip = skipNonFinite();
    const c = chain(skip, new Adam(s, { lr: 0.1 }));
    s.grads.fill(1);
    c.step();
    const sd = JSON.stringify(c.stateDict());
    const p = Array.from(s.data);
    s.grads.set([1, NaN, 1, 1, 1]);
    c.step();
    s.grads.set([Infinity, 1, 1, 1, 1]);
    c.step();
    expect(Array.from(s.data)).toEqual(p);
    expect(skip.skipped).toBe(2);
    const after = JSON.parse(JSON.stringify(c.stateDict()));
    expect(after.state).toEqual(JSON.parse(sd).state);
    expect(after.chain[0]).toEqual({ kind: 'skipNonFinite', skipped: 2 });
    s.dispose();
  });

  it('clipByGlobalNorm and clipByValue act before the update, with PyTorch semantics', () => {
    const s = new ParamStore(backend, { w: { shape: [2], init: 0 }, b: { shape: [2], init: 0 } }, { dtype: 'float64' });
    const clip = clipByGlobalNorm(1);
    const c = chain(clip, clipByValue(0.5), new SGD(s, { lr: 1 }));
    s.grads.set([3, 4, 0, 0]);
    c.step();
    expect(clip.lastNorm).toBe(5);
    const k = 1 / (5 + 1e-6);
    expect(Array.from(s.data)).toEqual([-Math.min(0.5, 3 * k), -Math.min(0.5, 4 * k), 0, 0]);
    s.grads.set([NaN, 0, 0, 0]);
    expect(() => chain(clipByGlobalNorm(1, { errorIfNonfinite: true }), new SGD(s)).step()).toThrow(
      /total norm of order 2 is NaN/,
    );
    s.dispose();
  });

  it('ema() and swa() average the parameters after each update; swap in and out for evaluation', () => {
    const n = 6;
    const s = new ParamStore(backend, { w: { shape: [n], init: inputs(n, 9, 0) } }, { dtype: 'float64' });
    const avg = ema(0.9);
    const c = chain(new SGD(s, { lr: 0.05 }), avg);
    const ref = new Array<number>(n).fill(0);
    for (let t = 0; t < 5; t++) {
      s.grads.set(grads(t, n));
      c.step();
      for (let j = 0; j < n; j++) ref[j] = t === 0 ? s.data[j] : ref[j] + (1 - 0.9) * (s.data[j] - ref[j]);
    }
    const live = Array.from(s.data);
    expect(Array.from(avg.averaged())).toEqual(ref);
    const seen = c.withAveraged(() => Array.from(s.data));
    expect(seen).toEqual(ref);
    expect(Array.from(s.data)).toEqual(live);
    const w = new ParamStore(backend, { w: { shape: [n], init: 0 } }, { dtype: 'float64' });
    const sw = swa({ start: 2 });
    const cs = chain(new SGD(w, { lr: 1 }), sw);
    const mean = new Array<number>(n).fill(0);
    for (let t = 0; t < 5; t++) {
      w.grads.set(grads(t, n));
      cs.step();
      if (t >= 1) for (let j = 0; j < n; j++) mean[j] += w.data[j] / 4;
    }
    expect(sw.count).toBe(4);
    Array.from(sw.averaged()).forEach((x, j) => expect(x).toBeCloseTo(mean[j], 13));
    s.dispose();
    w.dispose();
  });
});

/** One run of the resume scenario, written to run in a child process too (dist build). */
const SCENARIO = `
export function build(m, backend) {
  const n = 300;
  const init = Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
  const s = new m.ParamStore(backend, { w: { shape: [20, 10], init: init.slice(0, 200) }, b: { shape: [100], init: init.slice(200) } });
  const opt = m.chain(m.clipByGlobalNorm(1), m.accumulate(3), m.skipNonFinite(),
    new m.AdamW(s, { lr: 0.05, weightDecay: 0.01 }), m.ema(0.95));
  const sched = new m.CosineAnnealingLR(opt, { tMax: 7, etaMin: 0.001 });
  const plateau = new m.ReduceLROnPlateau(opt, { factor: 0.5, patience: 1 });
  return { s, opt, sched, plateau };
}
export function run(r, from, to) {
  for (let t = from; t < to; t++) {
    const g = r.s.grads;
    for (let i = 0; i < g.length; i++) g[i] = t === 5 && i === 3 ? NaN : Math.cos(i * 0.37 + t) * (1 + (t % 3));
    r.opt.step();
    if (t % 3 === 2) { r.sched.step(); r.plateau.step(10 - (t % 4)); }
  }
}
export function save(r) {
  return JSON.stringify({ params: Array.from(r.s.data), opt: r.opt.stateDict(), sched: r.sched.stateDict(), plateau: r.plateau.stateDict() });
}
export function load(r, text) {
  const d = JSON.parse(text);
  r.s.data.set(d.params);
  r.opt.loadStateDict(d.opt);
  r.sched.loadStateDict(d.sched);
  r.plateau.loadStateDict(d.plateau);
}
`;

describe('exact resume', () => {
  const dir = mkdtempSync(join(tmpdir(), 'downhill-resume-'));
  const scenario = join(dir, 'scenario.mjs');
  writeFileSync(scenario, SCENARIO);

  async function local(b: Backend) {
    const m = await import('../ts/index.js');
    const sc = (await import(scenario)) as {
      build(m: unknown, b: Backend): { s: ParamStore; opt: { average: { averaged(): Float32Array } } };
      run(r: unknown, from: number, to: number): void;
      save(r: unknown): string;
    };
    return { m, sc, r: sc.build(m, b) };
  }

  it('a state saved mid-run and loaded in a fresh process continues bit for bit, on every backend and across backends', async () => {
    for (const from of ready) {
      const { sc, r } = await local(from);
      sc.run(r, 0, 8);
      const saved = join(dir, `saved-${from.name}.json`);
      writeFileSync(saved, sc.save(r));
      sc.run(r, 8, 17);
      const want = { params: bits(r.s.data), ema: bits(r.opt.average.averaged()) };
      r.s.dispose();
      for (const to of ready) {
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import * as m from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
             import { loadBackend } from ${JSON.stringify(join(ROOT, 'dist', 'backend', 'select.js'))};
             import { readFileSync } from 'node:fs';
             import * as sc from ${JSON.stringify(scenario)};
             const r = sc.build(m, await loadBackend(${JSON.stringify(to.name)}));
             sc.load(r, readFileSync(${JSON.stringify(saved)}, 'utf8'));
             sc.run(r, 8, 17);
             const show = (a) => Array.from(a, (x) => (Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : String(x)));
             console.log(JSON.stringify({ params: show(r.s.data), ema: show(r.opt.average.averaged()) }));`,
          ],
          { encoding: 'utf8' },
        );
        expect(JSON.parse(out), `${from.name} → ${to.name}`).toEqual(want);
      }
    }
  });

  it('loading a chain state of another shape is rejected and nothing changes', () => {
    const b = ready[0];
    const s = new ParamStore(b, { w: [4] });
    const c = chain(accumulate(2), new Adam(s));
    s.grads.fill(1);
    c.step();
    const good = JSON.parse(JSON.stringify(c.stateDict()));
    const other = chain(accumulate(3), new AdamW(new ParamStore(b, { w: [4] })));
    expect(() => other.loadStateDict(good)).toThrow(
      /^stateDict\.chain\[0\]\.micro: must be below k = 3|^stateDict\.downhill\.optimizer/,
    );
    const bad = { ...good, chain: [{ kind: 'ema' }] };
    expect(() => c.loadStateDict(bad)).toThrow(
      /^stateDict\.chain\[0\]\.kind: is "ema", this chain has accumulate there/,
    );
    expect(() => new ReduceLROnPlateau(c, {}).step(NaN)).not.toThrow();
    s.dispose();
  });
});

describe('fit() with a chain and with schedule-free', () => {
  it('trains through chain(clip, AdamW, ema) and evaluates on the averaged weights; schedule-free evaluates x and keeps y', async () => {
    const { Model, fit, Dataset, ScheduleFreeAdamW } = await import('../ts/index.js');
    const rows = 256;
    const x = inputs(rows * 4, 77, 0);
    const y = Array.from({ length: rows }, (_, i) => (x[4 * i] + x[4 * i + 1] > 0 ? 1 : 0));
    const data = new Dataset({ x: Float32Array.from(x), y: Float32Array.from(y), features: 4, classes: 2 });
    const spec = {
      inputs: 4,
      layers: [{ out: 8, activation: 'relu' as const }, { out: 2 }],
      loss: { name: 'softmax_cross_entropy' as const },
    };
    const m1 = new Model(ready[0], spec, { seed: 1 });
    const c = chain(clipByGlobalNorm(1), new AdamW(m1.params, { lr: 0.02 }), ema(0.9));
    const r1 = await fit(m1, c as never, data, {
      epochs: 15,
      batchSize: 32,
      validationSplit: 0.25,
      seed: 1,
      progress: false,
    });
    expect(r1.history.at(-1)!.loss).toBeLessThan(r1.history[0].loss);
    expect(r1.history.at(-1)!.valAccuracy).toBeGreaterThan(0.8);
    const m2 = new Model(ready[0], spec, { seed: 1 });
    const sf = new ScheduleFreeAdamW(m2.params, { lr: 0.02 });
    const r2 = await fit(m2, sf, data, { epochs: 15, batchSize: 32, validationSplit: 0.25, seed: 1, progress: false });
    expect(r2.history.at(-1)!.valAccuracy).toBeGreaterThan(0.8);
    expect(() => sf.step()).not.toThrow(); // fit left the training point y in the params
    m1.dispose();
    m2.dispose();
  });
});

describe('chain() arguments', () => {
  it('names the item that is neither a transformation nor an optimizer, then asks for exactly one optimizer', () => {
    const store = new ParamStore(ready[0], { w: { shape: [3], init: 1 } });
    const opt = new SGD(store, { lr: 0.1 });
    const other = new SGD(store, { lr: 0.1 });
    const refused: [() => unknown, string][] = [
      [() => chain(1 as never, 2 as never), 'items[0]: must be a transformation or an optimizer, got number'],
      [() => chain(opt, 5 as never), 'items[1]: must be a transformation or an optimizer, got number'],
      [() => chain(clipByGlobalNorm(1)), 'items: chain needs exactly one optimizer among its transformations'],
      [() => chain(opt, ema(0.9), other), 'items: chain needs exactly one optimizer among its transformations'],
    ];
    for (const [run, message] of refused) expect(run).toThrow(new TypeError(message));
    store.dispose();
  });
});
