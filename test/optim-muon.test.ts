/**
 * Muon (torch.optim.Muon) and OptaxMuon (optax.contrib.muon) beyond the reference cases: the
 * three backends give the same bits on shapes and options the cases do not have, bfloat16
 * rounding ties to even, and Muon refuses tensors that are not matrices, with the same message on
 * every backend, before anything is written.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, DType, FloatArray } from '../ts/backend/types.js';
import { HEADER, OP, SPECS } from '../ts/generated/specs.js';
import { bf16 } from '../ts/kernels/muon.js';
import { Muon } from '../ts/optim/muon.js';
import type { AnyOptimizer } from '../ts/optim/optimizer.js';
import { OptaxMuon } from '../ts/optim/optax_muon.js';
import { ParamStore } from '../ts/params.js';
import { Rng } from '../ts/random.js';
import { backends } from './helpers.js';

const { ready } = await backends();

function bytes(a: FloatArray): Buffer {
  return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
}

/** Params and state after `steps` steps of seeded gradients, as bytes. */
function run(b: Backend, dtype: DType, shapes: number[][], make: (s: ParamStore) => AnyOptimizer, steps = 5): Buffer[] {
  const rng = new Rng(11);
  const store = new ParamStore(
    b,
    shapes.map((shape, i) => [`p${i}`, { shape, init: () => rng.normal() }] as const),
    { dtype },
  );
  const opt = make(store);
  for (let k = 0; k < steps; k++) {
    for (const t of store.tensors)
      store.setGrad(
        t.name,
        Array.from({ length: t.size }, () => rng.normal()),
      );
    opt.step();
  }
  const out = [bytes(store.data)];
  for (const e of Object.values(opt.stateDict().state)) {
    for (const v of Object.values(e)) if (typeof v !== 'number') out.push(bytes(v as FloatArray));
  }
  opt.dispose();
  store.dispose();
  return out;
}

function expectSameEverywhere(runs: Buffer[][]): void {
  for (const r of runs.slice(1)) {
    expect(r.length).toBe(runs[0].length);
    r.forEach((x, i) => expect(x.equals(runs[0][i])).toBe(true));
  }
}

const MATRICES = [
  [5, 3],
  [3, 5],
  [16, 16],
  [1, 7],
  [40, 70],
];
const MIXED = [[], [6], [3, 4], [4, 2], [2, 3, 2], [30, 50]];

describe('Muon', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['defaults', {}],
    [
      'no Nesterov, momentum 0.3, 3 steps, match_rms_adamw',
      { lr: 0.02, nesterov: false, momentum: 0.3, nsSteps: 3, adjustLrFn: 'match_rms_adamw' },
    ],
    [
      'spectral_unclamped, odd coefficients',
      { adjustLrFn: 'spectral_unclamped', nsA: 2, nsB: -1.5, nsC: 0.5, eps: 1e-3 },
    ],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, options] of variants) {
      it(`gives the same bits on every backend (${dtype}, ${name})`, () => {
        expectSameEverywhere(ready.map((b) => run(b, dtype, MATRICES, (s) => new Muon(s, options))));
      });
    }
  }

  it('rounds to bfloat16 to nearest, ties to even', () => {
    expect(bf16(1 + 2 ** -8)).toBe(1);
    expect(bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(bf16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
    expect(bf16(-(1 + 2 ** -8))).toBe(-1);
    expect(bf16(3.4e38)).toBe(Infinity);
    expect(Number.isNaN(bf16(NaN))).toBe(true);
  });

  it('refuses tensors that are not matrices when it is built', () => {
    const store = new ParamStore(ready[0], { w: [3, 4], b: [4], t: [2, 3, 2] });
    expect(() => new Muon(store)).toThrow(RangeError);
    expect(() => new Muon(store)).toThrow(/params: Muon takes 2-D tensors \(matrices\) only; "b" has shape \[4\]/);
    expect(() => new Muon(store, [{ params: ['w', 't'] }])).toThrow(
      /groups\[0\]\.params\[1\]: .*"t" has shape \[2, 3, 2\]/,
    );
    const opt = new Muon(store, [{ params: ['w'] }]);
    expect(() => opt.addParamGroup({ params: ['b'] })).toThrow(/groups\[1\]\.params\[0\]/);
    store.dispose();
  });

  it('refuses them in the core too, with one message on every backend, writing nothing', () => {
    const spec = SPECS.find((s) => s.name === 'Muon');
    if (!spec) throw new Error('no Muon spec');
    const messages = ready.map((b) => {
      const store = new ParamStore(b, { w: [3, 4], v: [4] }, { dtype: 'float64' });
      store.setGrad('w', new Array(12).fill(1));
      const before = store.data.slice();
      const hp = spec.hparams.map((h) => (h.kind === 'choice' ? 0 : h.kind === 'bool' ? 1 : Number(h.default)));
      const rows = [
        [0, 12, 2, 1, 3, 4, 0, 1, 0],
        [12, 4, 1, 1, 1, 4, 0, 1, 0],
      ];
      const table = new Float64Array([spec.id, 1, 2, 1, ...hp, ...rows.flat()]);
      expect(table.length).toBe(HEADER + hp.length + 18);
      const heap = store.heap;
      const state = heap.alloc('float64', 16);
      const scratch = heap.alloc('float64', 64);
      let message = '';
      try {
        heap.run(OP.STEP, 'float64', table, [store.buffers.params, store.buffers.grads, state, scratch]);
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        message = (e as Error).message;
      }
      expect([...store.data]).toEqual([...before]);
      expect([...state.view()].every((x) => x === 0)).toBe(true);
      store.dispose();
      return message;
    });
    expect(messages[0]).toBe('tensors[1]: Muon takes 2-D tensors (matrices) only; this one has 1 dimensions');
    for (const m of messages) expect(m).toBe(messages[0]);
  });
});

describe('OptaxMuon', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['defaults', {}],
    [
      'spectral, adaptive, no Nesterov, consistent RMS, decay',
      { preconditioning: 'spectral', adaptive: true, nesterov: false, consistentRms: 0.2, weightDecay: 0.1 },
    ],
    ['aol', { preconditioning: 'aol', adamWeightDecay: 0.01 }],
    [
      'schatten, Adam options',
      { preconditioning: 'schatten', nsSteps: 2, adamLr: 1e-3, adamEpsRoot: 1e-8, adamBeta1: 0.8 },
    ],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, options] of variants) {
      it(`gives the same bits on every backend (${dtype}, ${name})`, () => {
        expectSameEverywhere(ready.map((b) => run(b, dtype, MIXED, (s) => new OptaxMuon(s, options))));
      });
    }
  }

  it('keeps a momentum for matrices and Adam moments for the other tensors', () => {
    const store = new ParamStore(ready[0], { w: [3, 4], b: [4], t: [2, 3, 2] });
    const opt = new OptaxMuon(store);
    expect(opt.stateBytes()).toBe((12 + 2 * 4 + 2 * 12) * 4);
    store.setGrad('w', new Array(12).fill(0.5));
    store.setGrad('b', [1, 2, 3, 4]);
    store.setGrad('t', new Array(12).fill(-1));
    opt.step();
    const st = opt.stateDict().state;
    expect(Object.keys(st[0]).sort()).toEqual(['momentum_buffer', 'step']);
    expect(Object.keys(st[1]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    store.dispose();
  });
});
