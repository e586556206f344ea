/**
 * The training engine (Model, the MODEL_* ops) on every backend: central finite differences on
 * random models of every activation and loss (float64), agreement between backends within the
 * stated GEMM tolerance, bit-identical element-wise parts (models whose matrix products are
 * exact), identical dropout masks, no memory growth per step on WASM, typed errors for bad input,
 * and the initialisers.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType, FloatArray } from '../ts/backend/types.js';
import type { WasmHeap } from '../ts/backend/wasm.js';
import { OP } from '../ts/generated/specs.js';
import { Adam } from '../ts/optim/adam.js';
import { Rng } from '../ts/random.js';
import { initDense, InitRng, INIT_NAMES, type InitName } from '../ts/train/init.js';
import { Model, type Activation, type LossName, type ModelSpec } from '../ts/train/model.js';
import { backends } from './helpers.js';

/** Exact bits of each element, NaN canonical; zeros compare equal whatever their sign (a GEMM's
 * order of additions may turn 0·(−x) + 0 into −0 or +0, which no later operation tells apart). */
function bits(a: FloatArray): string[] {
  return Array.from(a, (x) => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : String(x)));
}

const { ready } = await backends();
const ACTS: Activation[] = ['identity', 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu'];
const LOSSES: LossName[] = ['mse', 'mae', 'huber', 'bce_with_logits', 'softmax_cross_entropy'];

function targets(loss: LossName, rows: number, outputs: number, rng: Rng): number[] {
  if (loss === 'softmax_cross_entropy') return Array.from({ length: rows }, () => Math.floor(rng.uniform() * outputs));
  if (loss === 'bce_with_logits') return Array.from({ length: rows * outputs }, () => (rng.uniform() < 0.5 ? 0 : 1));
  return Array.from({ length: rows * outputs }, () => rng.normal());
}

/** A model with random weights and biases (non-zero biases keep ReLU's kink away from exact zeros). */
function randomModel(backend: Backend, spec: ModelSpec, dtype: DType, seed: number): Model {
  const m = new Model(backend, spec, { dtype, init: 'xavier_normal', seed });
  const rng = new Rng(seed + 1000);
  for (const t of m.params.tensors) {
    if (t.name.endsWith('bias'))
      m.params.set(
        t.name,
        Array.from({ length: t.size }, () => 0.3 * rng.normal()),
      );
  }
  return m;
}

describe.each(ready.map((b) => [b.name, b] as const))('Model on %s', (_, backend) => {
  it('gradients match central finite differences for every activation and loss (float64)', () => {
    let seed = 1;
    for (const act of ACTS) {
      for (const loss of LOSSES) {
        const out = loss === 'softmax_cross_entropy' ? 3 : 2;
        const spec: ModelSpec = {
          inputs: 3,
          layers: [{ out: 4, activation: act }, { out: 3, activation: act }, { out }],
          loss: { name: loss, reduction: seed % 2 ? 'mean' : 'sum', delta: 0.5 },
        };
        const model = randomModel(backend, spec, 'float64', seed++);
        const rng = new Rng(seed);
        const x = Array.from({ length: 5 * 3 }, () => rng.normal());
        const y = targets(loss, 5, out, rng);
        const g = model.gradients(x, y);
        const all = [...Object.values(g.grads).flatMap((a) => [...a]), ...g.gradX];
        const scale = Math.max(1e-3, ...all.map(Math.abs));
        const h = 1e-6;
        for (const t of model.params.tensors) {
          for (let i = 0; i < t.size; i++) {
            const v = t.data[i];
            t.data[i] = v + h;
            const up = model.gradients(x, y).loss;
            t.data[i] = v - h;
            const down = model.gradients(x, y).loss;
            t.data[i] = v;
            const num = (up - down) / (2 * h);
            expect(Math.abs(num - g.grads[t.name][i]), `${act}/${loss} ${t.name}[${i}]`).toBeLessThan(1e-6 * scale);
          }
        }
        for (let i = 0; i < x.length; i++) {
          const xp = [...x];
          xp[i] += h;
          const xm = [...x];
          xm[i] -= h;
          const num = (model.gradients(xp, y).loss - model.gradients(xm, y).loss) / (2 * h);
          expect(Math.abs(num - g.gradX[i]), `${act}/${loss} x[${i}]`).toBeLessThan(1e-6 * scale);
        }
        model.dispose();
      }
    }
  });

  it('trains: the loss of a small classifier falls', () => {
    const model = new Model(
      backend,
      { inputs: 2, layers: [{ out: 16, activation: 'tanh' }, { out: 2 }], loss: { name: 'softmax_cross_entropy' } },
      { init: 'xavier_uniform', seed: 3 },
    );
    const rng = new Rng(5);
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 256; i++) {
      const a = rng.normal();
      const b = rng.normal();
      x.push(a, b);
      y.push(a * b > 0 ? 1 : 0);
    }
    const data = model.upload(x, y);
    const opt = new Adam(model.params, { lr: 0.05 });
    const first = model.evaluate(data);
    const rows = Int32Array.from({ length: 256 }, (_, i) => i);
    for (let i = 0; i < 200; i++) {
      model.trainStep(data, rows);
      opt.step();
    }
    const last = model.evaluate(data);
    expect(last.loss).toBeLessThan(first.loss * 0.5);
    expect(last.correct).toBeGreaterThan(230);
    model.dispose();
  });

  it('evaluate in chunks and predict agree with one whole-batch call', () => {
    const spec: ModelSpec = {
      inputs: 6,
      layers: [{ out: 5, activation: 'relu' }, { out: 4 }],
      loss: { name: 'softmax_cross_entropy' },
    };
    const model = randomModel(backend, spec, 'float64', 9);
    const rng = new Rng(2);
    const rows = 1100; // three chunks of evaluate
    const x = Array.from({ length: rows * 6 }, () => rng.normal());
    const y = targets('softmax_cross_entropy', rows, 4, rng);
    const whole = model.gradients(x, y).loss;
    const data = model.upload(x, y);
    const ev = model.evaluate(data);
    expect(Math.abs(ev.loss - whole)).toBeLessThan(1e-12 * whole);
    const logits = model.predict(x);
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const row = [...logits.subarray(r * 4, r * 4 + 4)];
      if (row.indexOf(Math.max(...row)) === y[r]) correct++;
    }
    expect(ev.correct).toBe(correct);
    const some = Int32Array.of(5, 3, 1099, 5);
    const sub = model.evaluate(data, some);
    const subX = [...some].flatMap((r) => x.slice(r * 6, r * 6 + 6));
    const subY = [...some].map((r) => y[r]);
    expect(Math.abs(sub.loss - model.gradients(subX, subY).loss)).toBeLessThan(1e-12 * sub.loss);
    // One row takes another path through the GEMM (a matrix-vector product): equal to rounding.
    const one = model.predict(x.slice(0, 6));
    for (let j = 0; j < 4; j++) expect(Math.abs(one[j] - logits[j])).toBeLessThan(1e-13 * (1 + Math.abs(logits[j])));
    model.dispose();
  });

  it('regression losses report correct = null; BCE counts outputs', () => {
    const m = new Model(backend, { inputs: 2, layers: [{ out: 1 }], loss: { name: 'mse' } });
    expect(m.evaluate(m.upload([1, 2], [3])).correct).toBeNull();
    m.dispose();
    const b = new Model(backend, { inputs: 2, layers: [{ out: 2 }], loss: { name: 'bce_with_logits' } });
    const c = b.evaluate(b.upload([1, 2, 3, 4], [0, 1, 1, 0])).correct;
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).toBeLessThanOrEqual(4);
    b.dispose();
  });

  it('bad input gets typed errors naming the problem, before anything runs', () => {
    const m = new Model(backend, {
      inputs: 3,
      layers: [{ out: 4, activation: 'relu' }, { out: 3 }],
      loss: { name: 'softmax_cross_entropy' },
    });
    const before = [...m.params.data];
    expect(() => m.upload([1, 2, 3, 4], [0])).toThrow(/^x: length 4 is not a whole number of rows of 3 features/);
    expect(() => m.upload([], [])).toThrow(new RangeError('x: the dataset is empty (no rows)'));
    expect(() => m.upload([1, NaN, 3], [0])).toThrow(/^x\[1\]: row 0, feature 1 is NaN/);
    expect(() => m.upload([1, 2, Infinity], [0])).toThrow(RangeError);
    expect(() => m.upload([1, 2, 3], [3])).toThrow(/^y\[0\]: class label 3 is out of range/);
    expect(() => m.upload([1, 2, 3], [0.5])).toThrow(/^y\[0\]: class label 0.5 is not an integer/);
    expect(() => m.upload([1, 2, 3, 4, 5, 6], [0])).toThrow(
      /^y: length 1 must be 2: 2 rows of x, one class index per row/,
    );
    expect(() => m.upload('abc' as unknown as number[], [0])).toThrow(TypeError);
    const data = m.upload([1, 2, 3, 4, 5, 6], [0, 2]);
    expect(() => m.trainStep(data, [])).toThrow(new RangeError('rows: the batch is empty (batch size 0)'));
    expect(() => m.trainStep(data, [0, 2])).toThrow(new RangeError('rows[1]: must be a row index in [0, 2), got 2'));
    expect(() => m.trainStep(data, [0.5])).toThrow(RangeError);
    expect(() => m.evaluate({ rows: 2, inputs: 3, targets: 1, dispose() {} })).toThrow(TypeError);
    expect([...m.params.data]).toEqual(before);
    data.dispose();
    expect(() => m.trainStep(data, [0])).toThrow(/data: has been disposed/);
    expect(() => new Model(backend, { inputs: 0, layers: [{ out: 1 }], loss: { name: 'mse' } })).toThrow(
      /^spec.inputs: must be a positive integer/,
    );
    expect(
      () =>
        new Model(backend, {
          inputs: 2,
          layers: [{ out: 1, activation: 'swish' as Activation }],
          loss: { name: 'mse' },
        }),
    ).toThrow(/^spec.layers\[0\].activation: must be one of identity, relu/);
    expect(() => new Model(backend, { inputs: 2, layers: [{ out: 1, dropout: 1 }], loss: { name: 'mse' } })).toThrow(
      /dropout: must be in \[0, 1\)/,
    );
    expect(() => new Model(backend, { inputs: 2, layers: [{ out: 1 }], loss: { name: 'huber', delta: 0 } })).toThrow(
      /^spec.loss.delta/,
    );
    expect(
      () => new Model(backend, { inputs: 2, layers: [{ out: 1 }], loss: { name: 'softmax_cross_entropy' } }),
    ).toThrow(/at least 2 outputs/);
    expect(() => new Model(backend, { inputs: 2, layers: [], loss: { name: 'mse' } })).toThrow(/at least one layer/);
    const bce = new Model(backend, { inputs: 1, layers: [{ out: 1 }], loss: { name: 'bce_with_logits' } });
    expect(() => bce.upload([1], [2])).toThrow(/outside \[0, 1\]/);
    bce.dispose();
    m.dispose();
    expect(() => m.upload([1, 2, 3], [0])).toThrow(/after dispose/);
  });

  it('the core checks the raw op arguments too (the same message on every backend)', () => {
    const heap = backend.createHeap();
    const p = heap.alloc('float32', 8);
    const g = heap.alloc('float32', 8);
    const x = heap.alloc('float32', 4);
    const y = heap.alloc('float32', 2);
    const ws = heap.alloc('float32', 100);
    // 2 inputs → 2 outputs (identity), softmax CE, 2 rows listed: 0 and 5.
    const args = Float64Array.of(1, 2, 4, 0, 1, 0, 0, 0, 2, 2, 0, 0, 0, 4, 0, 5, 0, 0, 0);
    expect(() => heap.run(OP.MODEL_TRAIN, 'float32', args, [p, g, x, y, ws, null])).toThrow(
      new RangeError('rows[1]: row 5 is out of range: x holds 2 rows'),
    );
    args[15] = 1;
    y.view()[1] = 7;
    expect(() => heap.run(OP.MODEL_TRAIN, 'float32', args, [p, g, x, y, ws, null])).toThrow(
      new RangeError('buffers[3] (y)[1]: class label must be an integer in [0, 2), got 7'),
    );
    args[10] = 9;
    expect(() => heap.run(OP.MODEL_TRAIN, 'float32', args, [p, g, x, y, ws, null])).toThrow(
      /^args\[10\] \(layers\[0\]\.activation\): must be an activation code 0\.\.5/,
    );
    heap.dispose();
  });
});

/** The same model, parameters and data on every backend: loss, gradients and outputs. */
function runEverywhere(spec: ModelSpec, dtype: DType, seed: number, rows: number, setup?: (m: Model) => void) {
  const rng = new Rng(seed);
  const x = Array.from({ length: rows * spec.inputs }, () => rng.normal());
  const outputs = spec.layers[spec.layers.length - 1].out;
  const y = targets(spec.loss.name, rows, outputs, rng);
  return ready.map((b) => {
    const m = randomModel(b, spec, dtype, seed);
    setup?.(m);
    const g = m.gradients(x, y);
    const out = m.predict(x);
    const data = m.upload(x, y);
    const step = m.trainStep(
      data,
      Int32Array.from({ length: rows }, (_, i) => i),
      { seed: 77 },
    );
    const stepGrads = m.params.grads.slice();
    m.dispose();
    return { backend: b.name, ...g, out, step, stepGrads };
  });
}

function maxRel(a: FloatArray, b: FloatArray): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? m : m / s;
}

describe('backends agree', () => {
  it.each([
    ['float64', 1e-12],
    ['float32', 2e-5],
  ] as const)('within the GEMM tolerance (%s: %s of each tensor’s largest entry)', (dtype, tol) => {
    for (const [i, act] of ACTS.entries()) {
      const loss = LOSSES[i % LOSSES.length];
      const spec: ModelSpec = {
        inputs: 37,
        layers: [
          { out: 29, activation: act, dropout: 0.2 },
          { out: 17, activation: act },
          { out: loss === 'softmax_cross_entropy' ? 5 : 3 },
        ],
        loss: { name: loss },
      };
      const [ref, ...rest] = runEverywhere(spec, dtype, 10 + i, 33);
      for (const r of rest) {
        const where = `${dtype} ${act}/${loss} ${r.backend} vs ${ref.backend}`;
        expect(Math.abs(r.loss - ref.loss) / Math.abs(ref.loss), where).toBeLessThan(tol);
        expect(Math.abs(r.step.loss - ref.step.loss) / Math.abs(ref.step.loss), where).toBeLessThan(tol);
        for (const k of Object.keys(ref.grads))
          expect(maxRel(r.grads[k], ref.grads[k]), `${where} ${k}`).toBeLessThan(tol);
        expect(maxRel(r.gradX, ref.gradX), where).toBeLessThan(tol);
        expect(maxRel(r.out, ref.out), where).toBeLessThan(tol);
        expect(maxRel(r.stepGrads, ref.stepGrads), `${where} (dropout step)`).toBeLessThan(tol);
      }
    }
  });

  /**
   * Identity weights make every product exact (one non-zero term per sum; with one row also the
   * weight gradients), so whatever is left is element-wise: bias add, activations, their
   * derivatives, dropout masks, losses, bias gradients. Those must agree bit for bit.
   */
  it.each(['float32', 'float64'] as const)('bit for bit where the products are exact (%s)', (dtype) => {
    const n = 6;
    for (const act of ACTS) {
      for (const loss of LOSSES) {
        for (const rows of [1, 7]) {
          const spec: ModelSpec = {
            inputs: n,
            layers: [{ out: n, activation: act, dropout: 0.5 }, { out: n, activation: act }, { out: n }],
            loss: { name: loss, delta: 0.3 },
          };
          const eye = (m: Model) => {
            for (let l = 0; l < 3; l++)
              m.params.set(
                `layer${l}.weight`,
                Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)),
              );
          };
          const [ref, ...rest] = runEverywhere(spec, dtype, 3, rows, eye);
          for (const r of rest) {
            const where = `${dtype} ${act}/${loss} rows=${rows} ${r.backend} vs ${ref.backend}`;
            expect(Object.is(r.loss, ref.loss), `${where} loss ${r.loss} vs ${ref.loss}`).toBe(true);
            expect(Object.is(r.step.loss, ref.step.loss), `${where} dropout step loss`).toBe(true);
            expect(bits(r.out), where).toEqual(bits(ref.out));
            expect(bits(r.gradX), where).toEqual(bits(ref.gradX));
            for (const k of Object.keys(ref.grads)) {
              if (rows === 1 || k.endsWith('bias'))
                expect(bits(r.grads[k]), `${where} ${k}`).toEqual(bits(ref.grads[k]));
            }
            if (rows === 1) expect(bits(r.stepGrads), `${where} dropout step`).toEqual(bits(ref.stepGrads));
          }
        }
      }
    }
  });

  it('dropout drops about p of the units, by a mask that depends on the seed', () => {
    for (const b of ready) {
      const m = new Model(
        b,
        {
          inputs: 200,
          layers: [{ out: 200, activation: 'identity', dropout: 0.3 }, { out: 1 }],
          loss: { name: 'mse', reduction: 'sum' },
        },
        { dtype: 'float64' },
      );
      m.params.set(
        'layer0.weight',
        Array.from({ length: 200 * 200 }, (_, i) => (i % 201 === 0 ? 1 : 0)),
      );
      m.params.set('layer1.weight', new Array(200).fill(1));
      const data = m.upload(new Array(200).fill(1), [0]);
      const grad = (seed: number) => {
        m.trainStep(data, [0], { seed });
        return m.params.tensor('layer1.weight').grad.slice();
      };
      const g1 = grad(1);
      const kept = g1.filter((v) => v !== 0).length;
      expect(kept / 200).toBeGreaterThan(0.55);
      expect(kept / 200).toBeLessThan(0.85);
      expect(bits(grad(1))).toEqual(bits(g1));
      expect(bits(grad(2))).not.toEqual(bits(g1));
      m.dispose();
    }
  });
});

describe('memory', () => {
  it.skipIf(!ready.some((b) => b.name === 'wasm'))('a WASM training step allocates nothing after the first', () => {
    const b = ready.find((r) => r.name === 'wasm') as Backend;
    const m = new Model(b, {
      inputs: 784,
      layers: [{ out: 256, activation: 'relu', dropout: 0.1 }, { out: 10 }],
      loss: { name: 'softmax_cross_entropy' },
    });
    const rng = new Rng(1);
    const x = Float32Array.from({ length: 2000 * 784 }, () => rng.uniform());
    const y = Float32Array.from({ length: 2000 }, (_, i) => i % 10);
    const data = m.upload(x, y);
    const opt = new Adam(m.params, { lr: 1e-3 });
    const rows = Int32Array.from({ length: 128 }, (_, i) => (i * 13) % 2000);
    m.trainStep(data, rows);
    opt.step();
    const heap = m.params.heap as WasmHeap;
    const bytes = heap.memoryBytes;
    const view = m.params.data;
    for (let i = 0; i < 30; i++) {
      m.trainStep(data, rows);
      opt.step();
    }
    expect(heap.memoryBytes).toBe(bytes);
    // The same ArrayBuffer: the memory never grew (growth detaches it).
    expect(m.params.data.buffer).toBe(view.buffer);
    m.dispose();
  });
});

describe('initialisers', () => {
  it('the generator is pinned: the same numbers on every engine', () => {
    const r = new InitRng(42);
    expect([r.next32(), r.next32(), r.next32()]).toMatchInlineSnapshot(`
      [
        2837322924,
        544945897,
        479756282,
      ]
    `);
    const u = new InitRng(1);
    const n = Array.from({ length: 4 }, () => u.normal());
    expect(n.map((v) => v.toFixed(12))).toMatchInlineSnapshot(`
      [
        "0.168132112096",
        "-0.430600111004",
        "-2.113726393040",
        "0.700754311024",
      ]
    `);
  });

  it.each(INIT_NAMES.map((n) => [n]))(
    '%s has the documented scale, and every backend holds the same values',
    (name: InitName) => {
      const spec: ModelSpec = { inputs: 400, layers: [{ out: 300 }], loss: { name: 'mse' } };
      const models = ready.map((b) => new Model(b, spec, { init: name, seed: 5 }));
      const w = models[0].params.get('layer0.weight');
      for (const m of models.slice(1)) expect(bits(m.params.get('layer0.weight'))).toEqual(bits(w));
      const mean = w.reduce((a, v) => a + v, 0) / w.length;
      const std = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
      const want: Record<InitName, number> = {
        xavier_uniform: Math.sqrt(2 / 700),
        xavier_normal: Math.sqrt(2 / 700),
        he_uniform: Math.sqrt(2 / 400),
        he_normal: Math.sqrt(2 / 400),
        lecun_uniform: Math.sqrt(1 / 400),
        lecun_normal: Math.sqrt(1 / 400),
        torch_default: Math.sqrt(1 / 1200),
      };
      expect(Math.abs(mean)).toBeLessThan(want[name] * 0.02);
      expect(Math.abs(std / want[name] - 1)).toBeLessThan(0.02);
      const bias = models[0].params.get('layer0.bias');
      if (name === 'torch_default') expect(Math.max(...bias.map(Math.abs))).toBeLessThanOrEqual(1 / 20);
      else expect([...bias].every((v) => v === 0)).toBe(true);
      const again = new Model(ready[0], spec, { init: name, seed: 5 });
      expect(bits(again.params.get('layer0.weight'))).toEqual(bits(w));
      const other = new Model(ready[0], spec, { init: name, seed: 6 });
      expect(bits(other.params.get('layer0.weight'))).not.toEqual(bits(w));
      for (const m of [...models, again, other]) m.dispose();
    },
  );
});

describe('initDense', () => {
  it('refuses every bad argument by name before writing (an unknown name left the weights as they were)', () => {
    const w = new Float64Array(6).fill(7);
    const b = new Float64Array(2).fill(7);
    const rng = new InitRng(1);
    const cases: [() => void, ErrorConstructor, string][] = [
      [() => initDense('nope' as InitName, rng, 3, 2, w, b), RangeError, 'name'],
      [() => initDense('he_normal', {} as InitRng, 3, 2, w, b), TypeError, 'rng'],
      [() => initDense('he_normal', rng, 0, 2, w, b), RangeError, 'inp'],
      [() => initDense('he_normal', rng, 3, 1.5, w, b), RangeError, 'out'],
      [() => initDense('he_normal', rng, 3, 2, new Float32Array(6) as never, b), TypeError, 'weight'],
      [() => initDense('he_normal', rng, 3, 2, new Float64Array(5), b), RangeError, 'weight'],
      [() => initDense('he_normal', rng, 3, 2, w, new Float64Array(3)), RangeError, 'bias'],
    ];
    for (const [run, type, arg] of cases) {
      expect(run).toThrow(type);
      expect(run).toThrow(new RegExp(`^${arg}: `));
    }
    expect([...w, ...b].every((x) => x === 7)).toBe(true);
    initDense('he_normal', rng, 3, 2, w, b);
    expect(b.every((x) => x === 0) && w.every((x) => x !== 7)).toBe(true);
  });
});
