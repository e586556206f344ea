/**
 * The hand-over to PyTorch: python/load_downhill.py loads a checkpoint written by fit() into
 * torch.nn.Sequential + torch.optim.AdamW and continues; the weights after a few steps match
 * downhill continuing from the same checkpoint. Runs when a Python with torch and safetensors is
 * found (DOWNHILL_TORCH_PYTHON, python3, /work/venv/bin/python); skipped by name otherwise.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../ts/optim/adamw.js';
import { Dataset } from '../ts/train/data.js';
import { fit } from '../ts/train/fit.js';
import { Model, type ModelSpec } from '../ts/train/model.js';
import { restoreCheckpoint } from '../ts/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../ts/train/safetensors.js';
import { blobs } from './fit-stub.js';
import { findPython, runPython } from './python.js';
import { ROOT } from './helpers.js';

const SCRIPT = join(ROOT, 'python', 'load_downhill.py');
const py = findPython(['torch', 'safetensors', 'numpy']);

const SPEC: ModelSpec = {
  inputs: 6,
  layers: [{ out: 16, activation: 'gelu' }, { out: 8, activation: 'leaky_relu' }, { out: 3 }],
  loss: { name: 'softmax_cross_entropy' },
};

describe('python/load_downhill.py', () => {
  if (!py) {
    it.skip('hands a checkpoint to torch.nn.Sequential + AdamW: skipped, no Python with torch and safetensors', () => {});
    return;
  }
  for (const dtype of ['float64', 'float32'] as const) {
    it(`continues a ${dtype} AdamW run in PyTorch as downhill continues it`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'downhill-torch-'));
      const { x, y } = blobs(48, 6, 3, 5);
      const data = new Dataset({ x, y, features: 6, classes: 3 });
      const model = await Model.create(SPEC, { seed: 2, dtype });
      const opt = new AdamW(model.params, { lr: 0.01, weightDecay: 0.05, beta2: 0.99 });
      await fit(model, opt, data, { epochs: 2, batchSize: 16, checkpoint: { dir }, progress: false });
      const ckpt = join(dir, 'epoch-0002');
      // The data file: x [48, 6] and y [48] as int64 class indices.
      const labels = BigInt64Array.from(Array.from(y, (v) => BigInt(v)));
      writeFileSync(
        join(dir, 'data.safetensors'),
        encodeSafetensors({
          x: { shape: [48, 6], data: Float32Array.from(x) },
          y: { shape: [48], data: new Uint8Array(labels.buffer), dtype: 'I64' },
        }),
      );
      const out = join(dir, 'torch.safetensors');
      const r = runPython(py, [
        SCRIPT,
        ckpt,
        '--data',
        join(dir, 'data.safetensors'),
        '--steps',
        '3',
        '--out',
        out,
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.optimizer).toBe('AdamW');
      expect(rep.param_groups[0]).toMatchObject({ lr: 0.01, betas: [0.9, 0.99], weight_decay: 0.05, amsgrad: false });
      expect(rep.model).toMatch(/GELU\(approximate='none'\)[\s\S]*LeakyReLU\(negative_slope=0.01\)/);

      // downhill continues from the same checkpoint with the same three full-batch steps.
      const twin = await Model.create(SPEC, { seed: 99, dtype });
      const topt = new AdamW(twin.params, { lr: 0.5 });
      restoreCheckpoint(ckpt, twin, topt);
      const dev = twin.upload(data.x, data.y);
      const rows = Int32Array.from({ length: 48 }, (_, i) => i);
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) {
        losses.push(twin.trainStep(dev, rows).loss);
        topt.step();
      }
      dev.dispose();
      const tol = dtype === 'float64' ? 1e-9 : 2e-5;
      rep.losses.forEach((l: number, i: number) =>
        expect(Math.abs(l - losses[i])).toBeLessThan(tol * Math.max(1, Math.abs(l))),
      );
      const theirs = decodeSafetensors(readFileSync(out)).tensors;
      for (const t of twin.params.tensors) {
        const a = t.data;
        const b = theirs.get(t.name)?.data as Float32Array | Float64Array;
        expect(b.length).toBe(a.length);
        let worst = 0;
        for (let i = 0; i < a.length; i++)
          worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i])));
        expect(worst, t.name).toBeLessThan(dtype === 'float64' ? 1e-9 : 1e-4);
      }
      model.dispose();
      twin.dispose();
    });
  }
});
