/**
 * fit() with the real Model on every built backend: bit-identical resume (dropout, scheduler,
 * early stopping, Adam state), early stopping's best-weights restore, the LR finder's exact
 * restore, the model's own input checks, and the main job's accuracy.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import { Adam } from '../ts/optim/adam.js';
import { AdamW } from '../ts/optim/adamw.js';
import { combine } from '../ts/optim/combine.js';
import { LBFGS } from '../ts/optim/lbfgs.js';
import { Muon } from '../ts/optim/muon.js';
import type { ParamStore } from '../ts/params.js';
import { CosineAnnealingLR } from '../ts/schedule/schedulers.js';
import { Dataset } from '../ts/train/data.js';
import { DataError } from '../ts/train/errors.js';
import { fit, type EpochLogs, type TrainOptimizer } from '../ts/train/fit.js';
import { findLr } from '../ts/train/lr-finder.js';
import { runMainJob } from '../ts/train/mainjob.js';
import { Model, type ModelSpec } from '../ts/train/model.js';
import { blobs } from './fit-stub.js';
import { backends } from './helpers.js';

const SPEC: ModelSpec = {
  inputs: 6,
  layers: [{ out: 12, activation: 'relu', dropout: 0.25 }, { out: 4 }],
  loss: { name: 'softmax_cross_entropy' },
};
const { x, y } = blobs(160, 6, 4, 9);
const data = new Dataset({ x, y, features: 6, classes: 4 });
const bits = (a: ArrayLike<number>) => Buffer.from(Float32Array.from(a).buffer).toString('hex');
const strip = (h: EpochLogs[]) => h.map(({ seconds: _, ...rest }) => rest);

let ready: Backend[] = [];
beforeAll(async () => {
  ready = (await backends()).ready;
});

/** Optimizers fit() trains with: a plain one, a combination (Muon for matrices), a closure one. */
const OPTIMIZERS: Record<string, (p: ParamStore) => TrainOptimizer> = {
  Adam: (p) => new Adam(p, { lr: 0.01 }),
  'Muon+AdamW': (p) => {
    const mats = p.names.filter((n) => p.tensor(n).shape.length === 2);
    const others = p.names.filter((n) => !mats.includes(n));
    return combine(new Muon(p, [{ params: mats }], { lr: 0.02 }), new AdamW(p, [{ params: others }], { lr: 0.01 }));
  },
  LBFGS: (p) => new LBFGS(p, { lr: 0.5, maxIter: 2, historySize: 5, lineSearchFn: 'strong_wolfe' }),
};

describe('fit with Model', () => {
  it.each(Object.keys(OPTIMIZERS))(
    'resumes bit-identically on every backend (dropout, cosine scheduler, early stopping, %s)',
    async (name) => {
      for (const backend of ready) {
        const run = async (dir: string, resume?: string) => {
          const model = new Model(backend, SPEC, { seed: 4 });
          const opt = OPTIMIZERS[name](model.params);
          const sched = new CosineAnnealingLR(opt, { tMax: 7 });
          const r = await fit(model, opt, data, {
            epochs: 7,
            batchSize: 24,
            seed: 5,
            validationSplit: 0.25,
            earlyStopping: { patience: 50, restoreBestWeights: true },
            schedule: sched,
            checkpoint: { dir, every: 3 },
            resume,
            progress: false,
          });
          const out = { r, params: bits(model.params.data), opt: JSON.stringify(opt.stateDict()) };
          opt.dispose();
          model.dispose();
          return out;
        };
        const dir = mkdtempSync(join(tmpdir(), `downhill-resume-${backend.name}-`));
        const a = await run(dir);
        const b = await run(mkdtempSync(join(tmpdir(), 'downhill-resume-b-')), join(dir, 'epoch-0003'));
        const c = await run(mkdtempSync(join(tmpdir(), 'downhill-resume-c-')), join(dir, 'epoch-0006'));
        expect(b.params, backend.name).toBe(a.params);
        expect(c.params, backend.name).toBe(a.params);
        expect(b.opt).toBe(a.opt);
        expect(strip(b.r.history)).toEqual(strip(a.r.history));
        expect(b.r.best).toEqual(a.r.best);
        // It trained: the loss went down.
        expect(a.r.history.at(-1)!.loss).toBeLessThan(a.r.history[0].loss);
      }
    },
  );

  it('early stopping restores the best epoch on every backend', async () => {
    for (const backend of ready) {
      const model = new Model(backend, SPEC, { seed: 1 });
      const opt = new Adam(model.params, { lr: 0.02 });
      const shifted = new Dataset({ x, y: y.map((v) => (v + 1) % 4), features: 6, classes: 4 });
      const snaps: string[] = [];
      const r = await fit(model, opt, data, {
        epochs: 40,
        batchSize: 32,
        validationData: shifted,
        earlyStopping: { monitor: 'valLoss', patience: 2 },
        callbacks: { onEpochEnd: () => void snaps.push(bits(model.params.data)) },
        progress: false,
      });
      expect(r.stopReason).toBe('earlyStopping');
      expect(r.restoredBest).toBe(true);
      expect(bits(model.params.data)).toBe(snaps[r.best!.epoch]);
      model.dispose();
    }
  });

  it('the LR finder puts model and optimizer back exactly', async () => {
    for (const backend of ready) {
      const model = new Model(backend, SPEC, { seed: 3 });
      const opt = new Adam(model.params, { lr: 0.003 });
      await fit(model, opt, data, { epochs: 1, batchSize: 40, progress: false });
      const p = bits(model.params.data);
      const s = JSON.stringify(opt.stateDict());
      const res = findLr(model, opt, data, { steps: 80, batchSize: 16, minLr: 1e-6, maxLr: 3 });
      expect(res.lrs.length).toBeGreaterThan(20);
      expect(res.suggestedLr).toBeGreaterThan(1e-6);
      expect(bits(model.params.data)).toBe(p);
      expect(JSON.stringify(opt.stateDict())).toBe(s);
      model.dispose();
    }
  });

  it("bad input is refused before training: the model's own upload checks and fit's", async () => {
    const backend = ready[0];
    const model = new Model(backend, SPEC, { seed: 3 });
    const opt = new Adam(model.params);
    const before = bits(model.params.data);
    await expect(
      fit(model, opt, { x: x.slice(0, 10 * 7), y: y.slice(0, 10), features: 7, classes: 4 }, { progress: false }),
    ).rejects.toThrow(DataError);
    await expect(
      fit(model, opt, { x, y: y.map((v, i) => (i === 3 ? 4 : v)), features: 6, classes: 5 }, { progress: false }),
    ).rejects.toThrow(/row 3 has label 4, out of range for the model's 4 outputs/);
    await expect(fit(model, opt, data, { batchSize: 0, progress: false })).rejects.toThrow(/batchSize/);
    expect(bits(model.params.data)).toBe(before);
    expect(opt.stepCalls).toBe(0);
    model.dispose();
  });
});

describe('the main job', () => {
  it('reaches >= 95 % test accuracy on MNIST (Adam, 10 epochs, best backend)', async () => {
    const r = await runMainJob({ compare: false, out: '', progress: false });
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.main.history).toHaveLength(10);
  }, 300_000);
});
