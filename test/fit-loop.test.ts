/**
 * The training loop on a small pure-TS stand-in model (test/fit-stub.ts): modes, metrics,
 * tolerance stop, early stopping with best-weights restore, callbacks, schedules, checkpoints and
 * bit-identical resume, the LR finder, and bad input refused before anything changes.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Adam } from '../ts/optim/adam.js';
import { SGD } from '../ts/optim/sgd.js';
import { cosineAnnealing } from '../ts/schedule/functions.js';
import { ReduceLROnPlateau } from '../ts/schedule/plateau.js';
import { StepLR } from '../ts/schedule/schedulers.js';
import { Dataset } from '../ts/train/data.js';
import { CheckpointError, DataError } from '../ts/train/errors.js';
import { evaluate, fit, predictClasses, type EpochLogs } from '../ts/train/fit.js';
import { findLr } from '../ts/train/lr-finder.js';
import { progressWanted } from '../ts/train/progress.js';
import { blobs, StubModel } from './fit-stub.js';

const SPEC = {
  inputs: 5,
  layers: [{ out: 8, activation: 'relu' }, { out: 3 }],
  loss: { name: 'softmax_cross_entropy' },
};
const { x, y } = blobs(120, 5, 3, 7);
const data = new Dataset({ x, y, features: 5, classes: 3 });
const tmp = () => mkdtempSync(join(tmpdir(), 'downhill-fit-'));
const bits = (a: ArrayLike<number>) => Buffer.from(new Float32Array(a).buffer).toString('hex');

describe('fit', () => {
  it('runs the three modes with the documented number of steps and learns', async () => {
    for (const [mode, perEpoch] of [
      ['batch', 1],
      ['sgd', 120],
      ['minibatch', 4],
    ] as const) {
      const model = await StubModel.create(SPEC);
      const opt = new SGD(model.params, { lr: mode === 'sgd' ? 0.01 : 0.3 });
      const r = await fit(model, opt, data, {
        mode,
        epochs: 3,
        ...(mode === 'minibatch' ? { batchSize: 32 } : {}),
        progress: false,
      });
      expect(r.steps).toBe(3 * perEpoch);
      expect(r.history).toHaveLength(3);
      expect(r.history[2].loss).toBeLessThan(r.history[0].loss);
      expect(r.history[2].accuracy).toBeGreaterThan(0.5);
      expect(r.stopReason).toBe('epochs');
    }
  });

  it('stops on the tolerance (|Δ loss| < tol), reports validation metrics, evaluates and predicts', async () => {
    const model = await StubModel.create(SPEC);
    const opt = new SGD(model.params, { lr: 0.1 });
    const r = await fit(model, opt, data, {
      mode: 'batch',
      epochs: 500,
      tol: 1e-3,
      validationSplit: 0.25,
      progress: false,
    });
    expect(r.stopReason).toBe('tol');
    expect(r.epochs).toBeLessThan(500);
    const last = r.history.at(-1) as EpochLogs;
    expect(Math.abs(last.loss - r.history.at(-2)!.loss)).toBeLessThan(1e-3);
    expect(last.valLoss).toBeTypeOf('number');
    expect(last.valAccuracy).toBeGreaterThan(0.8);
    const ev = evaluate(model, data);
    expect(ev.rows).toBe(120);
    expect(ev.accuracy).toBeGreaterThan(0.8);
    const cls = predictClasses(model, data);
    expect(cls.filter((c, i) => c === data.y[i]).length / 120).toBeCloseTo(ev.accuracy as number, 10);
  });

  it("early stopping stops after `patience` bad epochs and restores the best epoch's weights", async () => {
    const model = await StubModel.create(SPEC);
    const opt = new Adam(model.params, { lr: 0.05 });
    // Validation labels are shifted: the better the model learns, the worse validation gets.
    const bad = new Dataset({ x, y: y.map((v) => (v + 1) % 3), features: 5, classes: 3 });
    const snapshots: string[] = [];
    const r = await fit(model, opt, data, {
      epochs: 50,
      batchSize: 16,
      validationData: bad,
      earlyStopping: { patience: 3 },
      callbacks: { onEpochEnd: () => void snapshots.push(bits(model.params.data)) },
      progress: false,
    });
    expect(r.stopReason).toBe('earlyStopping');
    const best = r.best!;
    expect(best.monitor).toBe('valLoss');
    expect(r.epochs).toBe(best.epoch + 1 + 3);
    expect(best.value).toBe(Math.min(...r.history.map((h) => h.valLoss!)));
    expect(r.restoredBest).toBe(true);
    expect(bits(model.params.data)).toBe(snapshots[best.epoch]);
    expect(bits(model.params.data)).not.toBe(snapshots.at(-1));
  });

  it('callbacks see every batch and epoch and can stop training', async () => {
    const model = await StubModel.create(SPEC);
    const opt = new SGD(model.params, { lr: 0.1 });
    const seen: string[] = [];
    const r = await fit(model, opt, data, {
      epochs: 5,
      batchSize: 50,
      progress: false,
      callbacks: [
        {
          onTrainBegin: () => void seen.push('begin'),
          onEpochBegin: (e) => void seen.push(`e${e}`),
          onBatchEnd: async (b, ctx) => {
            seen.push(`b${b.step}`);
            await Promise.resolve();
            if (b.step === 4) ctx.stop('enough');
          },
          onEpochEnd: (l) => void seen.push(`end${l.epoch}`),
          onTrainEnd: (res) => void seen.push(`done:${res.stopReason}`),
        },
      ],
    });
    expect(seen).toEqual(['begin', 'e0', 'b1', 'b2', 'b3', 'end0', 'e1', 'b4', 'end1', 'done:callback']);
    expect(r.steps).toBe(4);
    expect(r.stopDetail).toBe('enough');
  });

  it('applies schedules: functions per step or epoch, scheduler objects, ReduceLROnPlateau', async () => {
    const lrs: number[] = [];
    const rec = {
      onBatchEnd: (_b: unknown, ctx: { optimizer: { paramGroups: readonly { lr: unknown }[] } }) =>
        void lrs.push(ctx.optimizer.paramGroups[0].lr as number),
    };
    let model = await StubModel.create(SPEC);
    let opt: SGD | Adam = new SGD(model.params, { lr: 1 });
    const f = cosineAnnealing({ lr: 0.2, tMax: 8 });
    await fit(model, opt, data, { epochs: 2, batchSize: 30, schedule: f, callbacks: rec, progress: false });
    expect(lrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(f));
    lrs.length = 0;
    model = await StubModel.create(SPEC);
    opt = new SGD(model.params, { lr: 1 });
    await fit(model, opt, data, {
      epochs: 2,
      batchSize: 60,
      schedule: f,
      scheduleEvery: 'epoch',
      callbacks: rec,
      progress: false,
    });
    expect(lrs).toEqual([f(0), f(0), f(1), f(1)]);
    model = await StubModel.create(SPEC);
    opt = new SGD(model.params, { lr: 0.1 });
    const r = await fit(model, opt, data, {
      epochs: 4,
      batchSize: 60,
      schedule: new StepLR(opt, { stepSize: 2, gamma: 0.5 }),
      progress: false,
    });
    expect(r.history.map((h) => h.lr)).toEqual([0.1, 0.05, 0.05, 0.025]);
    model = await StubModel.create(SPEC);
    opt = new Adam(model.params, { lr: 0.01 });
    const bad = new Dataset({ x, y: y.map((v) => (v + 1) % 3), features: 5, classes: 3 });
    const p = await fit(model, opt, data, {
      epochs: 6,
      batchSize: 30,
      validationData: bad,
      schedule: new ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 }),
      progress: false,
    });
    expect(p.history.at(-1)!.lr).toBeLessThan(0.01);
  });

  it('resumes from a checkpoint bit-identically to an uninterrupted run', async () => {
    const run = async (dir: string, resume?: string) => {
      const model = await StubModel.create(SPEC, 3);
      const opt = new Adam(model.params, { lr: 0.02 });
      const sched = new StepLR(opt, { stepSize: 2, gamma: 0.7 });
      const r = await fit(model, opt, data, {
        epochs: 6,
        batchSize: 16,
        seed: 11,
        validationSplit: 0.2,
        earlyStopping: { patience: 100 },
        schedule: sched,
        checkpoint: { dir, every: 2 },
        resume,
        progress: false,
      });
      return {
        r,
        params: bits(model.params.data),
        opt: JSON.stringify(opt.stateDict()),
        sched: JSON.stringify(sched.stateDict()),
      };
    };
    const dirA = tmp();
    const a = await run(dirA);
    expect(readdirSync(dirA).sort()).toEqual(['epoch-0002', 'epoch-0004', 'epoch-0006']);
    expect(readdirSync(join(dirA, 'epoch-0002')).sort()).toEqual([
      'best.safetensors',
      'checkpoint.json',
      'model.safetensors',
      'optimizer.json',
      'scheduler.json',
    ]);
    const b = await run(tmp(), join(dirA, 'epoch-0002'));
    expect(b.params).toBe(a.params);
    expect(b.opt).toBe(a.opt);
    expect(b.sched).toBe(a.sched);
    const strip = (h: EpochLogs[]) => h.map(({ seconds: _, ...rest }) => rest);
    expect(strip(b.r.history)).toEqual(strip(a.r.history));
    expect(b.r.steps).toBe(a.r.steps);
    // The parent folder resumes from its newest checkpoint (epoch 6 of 6: nothing left to do).
    const c = await run(tmp(), dirA);
    expect(c.params).toBe(a.params);
    expect(c.r.epochs).toBe(6);
  });

  it('refuses a checkpoint of another architecture or other fit settings before touching the model', async () => {
    const dir = tmp();
    const model = await StubModel.create(SPEC);
    await fit(model, new SGD(model.params, { lr: 0.1 }), data, { epochs: 1, checkpoint: { dir }, progress: false });
    const other = await StubModel.create({ ...SPEC, layers: [{ out: 4, activation: 'relu' }, { out: 3 }] });
    const before = bits(other.params.data);
    const opt = new SGD(other.params, { lr: 0.1 });
    await expect(fit(other, opt, data, { epochs: 2, resume: dir, progress: false })).rejects.toThrow(
      /another architecture: it holds 5 → 8 relu → 3/,
    );
    await expect(fit(other, opt, data, { epochs: 2, resume: dir, progress: false })).rejects.toBeInstanceOf(
      CheckpointError,
    );
    expect(bits(other.params.data)).toBe(before);
    const same = await StubModel.create(SPEC, 5);
    const before2 = bits(same.params.data);
    await expect(
      fit(same, new SGD(same.params, { lr: 0.1 }), data, { epochs: 2, seed: 9, resume: dir, progress: false }),
    ).rejects.toThrow(/saved with seed = 0, this run has 9/);
    await expect(fit(same, new Adam(same.params), data, { epochs: 2, resume: dir, progress: false })).rejects.toThrow(
      /optimizer is SGD, this one is Adam/,
    );
    expect(bits(same.params.data)).toBe(before2);
    expect(same.uploads).toBe(0);
  });

  it('refuses bad input with a typed error naming the problem, before any step', async () => {
    const model = await StubModel.create(SPEC);
    const opt = new SGD(model.params, { lr: 0.1 });
    const before = bits(model.params.data);
    const call = (d: unknown, o: object = {}) => fit(model, opt, d as Dataset, { progress: false, ...o });
    await expect(call(new Dataset({ x: [1, 2, 3, 4], y: [0], features: 4, classes: 1 }))).rejects.toThrow(
      /data: rows have 4 features, the model takes 5 inputs/,
    );
    await expect(
      call(new Dataset({ x, y: y.map((v, i) => (i === 7 ? 5 : v)), features: 5, classes: 6 })),
    ).rejects.toThrow(/data.y: row 7 has label 5, out of range for the model's 3 outputs/);
    await expect(call(new Dataset({ x, y, features: 5, classes: 3 }), { batchSize: 0 })).rejects.toThrow(
      /options.batchSize: must be a whole number >= 1, got 0/,
    );
    await expect(call(data, { batchSize: 121 })).rejects.toThrow(/options.batchSize: 121 is larger than the 120 rows/);
    await expect(call(data, { validationSplit: 0.5, batchSize: 61 })).rejects.toThrow(/61 is larger than the 60 rows/);
    await expect(call({ x: [], y: [], features: 5, classes: 3 })).rejects.toThrow(/empty/);
    await expect(call({ x: x.map((v, i) => (i === 12 ? NaN : v)), y, features: 5, classes: 3 })).rejects.toBeInstanceOf(
      DataError,
    );
    await expect(call({ x: x.map((v, i) => (i === 12 ? NaN : v)), y, features: 5, classes: 3 })).rejects.toThrow(
      /row 2, column 2 is NaN/,
    );
    await expect(call(new Dataset({ x, y, features: 5 }))).rejects.toThrow(/softmax cross-entropy needs class labels/);
    await expect(call(data, { epochs: 0 })).rejects.toThrow(/options.epochs/);
    await expect(call(data, { mode: 'sgd', batchSize: 4 })).rejects.toThrow(/options.batchSize: is set by mode 'sgd'/);
    await expect(call(data, { epoch: 3 })).rejects.toThrow(/options.epoch: is not an option of fit/);
    await expect(call(data, { earlyStopping: { monitor: 'valLoss' } })).rejects.toThrow(
      /valLoss needs validation data/,
    );
    const other = await StubModel.create(SPEC);
    await expect(fit(model, new SGD(other.params), data, { progress: false })).rejects.toThrow(
      /optimizer: must be built on this model's params/,
    );
    expect(bits(model.params.data)).toBe(before);
    expect(model.uploads).toBe(0);
  });

  it('the progress bar is quiet under CI and when stdout is not a terminal', () => {
    const ci = process.env.CI;
    process.env.CI = 'true';
    expect(progressWanted()).toBe(false);
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    if (!process.stdout.isTTY) expect(progressWanted()).toBe(false);
  });
});

describe('findLr', () => {
  it('sweeps exponentially, smooths, suggests an lr and restores model and optimizer exactly', async () => {
    const model = await StubModel.create(SPEC, 4);
    const opt = new Adam(model.params, { lr: 0.01 });
    // Some optimizer state first, so there is something to restore.
    await fit(model, opt, data, { epochs: 1, batchSize: 40, progress: false });
    const params = bits(model.params.data);
    const state = JSON.stringify(opt.stateDict());
    const res = findLr(model, opt, data, { minLr: 1e-5, maxLr: 10, steps: 60, batchSize: 20 });
    expect(res.lrs[0]).toBeCloseTo(1e-5, 15);
    expect(res.lrs.length).toBeGreaterThan(10);
    for (let i = 1; i < res.lrs.length; i++)
      expect(res.lrs[i] / res.lrs[i - 1]).toBeCloseTo((10 / 1e-5) ** (1 / 59), 10);
    expect(res.smoothed).toHaveLength(res.lrs.length);
    expect(res.suggestedLr).toBeGreaterThan(1e-5);
    expect(res.suggestedLr).toBeLessThan(10);
    expect(['steepest', 'minLoss/10']).toContain(res.method);
    expect(bits(model.params.data)).toBe(params);
    expect(JSON.stringify(opt.stateDict())).toBe(state);
    expect(opt.paramGroups[0].lr).toBe(0.01);
    // Training afterwards is exactly what it would have been without the sweep.
    const twin = await StubModel.create(SPEC, 4);
    const topt = new Adam(twin.params, { lr: 0.01 });
    await fit(twin, topt, data, { epochs: 1, batchSize: 40, progress: false });
    await fit(model, opt, data, { epochs: 1, batchSize: 40, seed: 2, progress: false });
    await fit(twin, topt, data, { epochs: 1, batchSize: 40, seed: 2, progress: false });
    expect(bits(model.params.data)).toBe(bits(twin.params.data));
  });

  it('stops when the loss diverges', async () => {
    const model = await StubModel.create(SPEC, 4);
    const opt = new SGD(model.params, { lr: 0.01 });
    const res = findLr(model, opt, data, { minLr: 1e-3, maxLr: 1e4, steps: 100, batchSize: 30 });
    expect(res.diverged).toBe(true);
    expect(res.lrs.length).toBeLessThan(100);
  });
});
