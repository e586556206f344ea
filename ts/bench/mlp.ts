/**
 * Training throughput: samples per second of one minibatch step (gather, forward, softmax
 * cross-entropy, backward, Adam) of the 784-256-10 MLP (ReLU) at batch 128, on downhill's three
 * backends and, measured in the same run, TensorFlow.js (tfjs-cpu, tfjs-wasm; dev dependencies)
 * and PyTorch (when a Python with torch is found: `DOWNHILL_TORCH_PYTHON`, else `python3`).
 *
 * Every configuration runs in its own child process (fresh thread pools and heaps; native's
 * thread count set by `RAYON_NUM_THREADS`, torch's by `torch.set_num_threads`), one after the
 * other, for several rounds in turn, so a busy machine slows all of them alike; a row reports the
 * median round. GFLOP/s counts one step as three forward passes (forward, and twice its work for
 * the backward pass): 6 · 128 · (784·256 + 256·10) ≈ 156 MFLOP, the convention.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBackend } from '../backend/select.js';
import type { BackendName } from '../backend/types.js';
import { Adam } from '../optim/adam.js';
import { Rng } from '../random.js';
import { Model } from '../train/model.js';

export const MLP_KERNEL = 'mlp_784_256_10';
export type MlpBackend = BackendName | 'tfjs-cpu' | 'tfjs-wasm' | 'torch';
export const MLP_BACKENDS: readonly MlpBackend[] = ['native', 'wasm', 'js', 'tfjs-cpu', 'tfjs-wasm', 'torch'];
export const MLP_BATCH = 128;
const INPUTS = 784;
const HIDDEN = 256;
const CLASSES = 10;
/** Rows of the synthetic dataset batches are drawn from. */
const ROWS = 8192;
/** FLOPs of one step (see the module comment). */
export const MLP_STEP_FLOPS = 6 * MLP_BATCH * (INPUTS * HIDDEN + HIDDEN * CLASSES);

/** One configuration's timings, per step, in milliseconds. */
export interface MlpTiming {
  steps: number;
  stepMs: number;
  forwardMs: number;
  backwardMs: number;
  optimizerMs: number;
  version?: string;
}

export interface MlpRow {
  kernel: typeof MLP_KERNEL;
  backend: MlpBackend;
  threads: number;
  batch: number;
  samplesPerSec: number;
  gflops: number;
  msPerStep: number;
  forwardMs: number;
  backwardMs: number;
  optimizerMs: number;
  /** samplesPerSec of every round, in order. */
  rounds: number[];
  version?: string;
}

/** A configuration that could not run, with the reason. */
export interface MlpSkip {
  kernel: typeof MLP_KERNEL;
  backend: MlpBackend;
  threads: number;
  skipped: string;
}

function data(): { x: Float32Array; y: Float32Array; batches: Int32Array[] } {
  const rng = new Rng(7);
  const x = new Float32Array(ROWS * INPUTS);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  const y = new Float32Array(ROWS);
  for (let i = 0; i < ROWS; i++) y[i] = i % CLASSES;
  const batches = Array.from({ length: 64 }, () => {
    const b = new Int32Array(MLP_BATCH);
    for (let i = 0; i < MLP_BATCH; i++) b[i] = Math.floor(rng.uniform() * ROWS);
    return b;
  });
  return { x, y, batches };
}

const now = () => performance.now();

/**
 * Runs `parts` (each returns nothing; timed one after the other) in a loop for `seconds` after a
 * warm-up, and returns the mean milliseconds of each part per step.
 */
function loop(seconds: number, parts: (() => void)[], minSteps = 3): { steps: number; ms: number[] } {
  const warm = now();
  do for (const p of parts) p();
  while (now() - warm < Math.min(500, seconds * 250));
  const ms = parts.map(() => 0);
  let steps = 0;
  const start = now();
  while (steps < minSteps || now() - start < seconds * 1000) {
    for (let k = 0; k < parts.length; k++) {
      const t = now();
      parts[k]();
      ms[k] += now() - t;
    }
    steps++;
  }
  return { steps, ms: ms.map((v) => v / steps) };
}

/** downhill on one backend, in this process. */
export async function measureDownhill(name: BackendName, seconds: number): Promise<MlpTiming> {
  const backend = await loadBackend(name);
  const model = new Model(
    backend,
    {
      inputs: INPUTS,
      layers: [{ out: HIDDEN, activation: 'relu' }, { out: CLASSES }],
      loss: { name: 'softmax_cross_entropy' },
    },
    { init: 'he_uniform', seed: 1 },
  );
  try {
    const { x, y, batches } = data();
    const d = model.upload(x, y);
    const opt = new Adam(model.params, { lr: 1e-3 });
    let i = 0;
    const main = loop(seconds, [() => model.trainStep(d, batches[i++ & 63]), () => opt.step()]);
    const fwd = loop(seconds / 3, [() => model.evaluate(d, batches[i++ & 63])]);
    const [train, optimizer] = main.ms;
    return {
      steps: main.steps,
      stepMs: train + optimizer,
      forwardMs: fwd.ms[0],
      backwardMs: Math.max(0, train - fwd.ms[0]),
      optimizerMs: optimizer,
    };
  } finally {
    model.dispose();
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- TensorFlow.js is loaded untyped (a dev dependency). */
/** TensorFlow.js on its cpu or wasm backend, in this process. */
export async function measureTfjs(kind: 'cpu' | 'wasm', seconds: number): Promise<MlpTiming> {
  const require = createRequire(import.meta.url);
  const tf: any = require('@tensorflow/tfjs');
  if (kind === 'wasm') {
    const wasm: any = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  }
  if (!(await tf.setBackend(kind))) throw new Error(`tfjs backend ${kind} did not initialise`);
  await tf.ready();
  const { x, y, batches } = data();
  const xs = tf.tensor2d(x, [ROWS, INPUTS]);
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), CLASSES).toFloat();
  const glorot = (a: number, b: number) => tf.randomUniform([a, b], -Math.sqrt(6 / (a + b)), Math.sqrt(6 / (a + b)));
  const w1 = tf.variable(glorot(INPUTS, HIDDEN));
  const b1 = tf.variable(tf.zeros([HIDDEN]));
  const w2 = tf.variable(glorot(HIDDEN, CLASSES));
  const b2 = tf.variable(tf.zeros([CLASSES]));
  const opt = tf.train.adam(1e-3);
  const idx = batches.map((b) => tf.tensor1d(b, 'int32'));
  const lossOf = (i: any) => () => {
    const h = tf.relu(tf.add(tf.matMul(tf.gather(xs, i), w1), b1));
    return tf.losses.softmaxCrossEntropy(tf.gather(ys, i), tf.add(tf.matMul(h, w2), b2));
  };
  let i = 0;
  let grads: any = null;
  const main = loop(seconds, [
    () => {
      const r = tf.variableGrads(lossOf(idx[i++ & 63]));
      r.value.dataSync();
      r.value.dispose();
      grads = r.grads;
    },
    () => {
      opt.applyGradients(grads);
      for (const g of Object.values(grads)) (g as any).dispose();
    },
  ]);
  const fwd = loop(seconds / 3, [
    () => {
      const l = tf.tidy(lossOf(idx[i++ & 63]));
      l.dataSync();
      l.dispose();
    },
  ]);
  const [grad, apply] = main.ms;
  return {
    steps: main.steps,
    stepMs: grad + apply,
    forwardMs: fwd.ms[0],
    backwardMs: Math.max(0, grad - fwd.ms[0]),
    optimizerMs: apply,
    version: String(tf.version?.tfjs ?? ''),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const here = dirname(fileURLToPath(import.meta.url));

/** Runs `cmd args` and returns its last stdout line parsed as JSON, or throws with its stderr. */
function child(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<MlpTiming> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(last) as MlpTiming);
      } catch {
        reject(new Error((err.trim().split('\n').pop() ?? '') || `exit code ${code}: ${last}`));
      }
    });
  });
}

interface Config {
  backend: MlpBackend;
  threads: number;
  run(seconds: number): Promise<MlpTiming>;
}

/** The Python to run the torch rows with, and why there is none. */
async function torchPython(): Promise<{ python: string | null; why: string }> {
  const python = process.env.DOWNHILL_TORCH_PYTHON || 'python3';
  return new Promise((resolve) => {
    const p = spawn(python, ['-c', 'import torch; print(torch.__version__)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.on('error', () => resolve({ python: null, why: `${python} not found (set DOWNHILL_TORCH_PYTHON)` }));
    p.on('close', (code) =>
      resolve(
        code === 0
          ? { python, why: '' }
          : { python: null, why: `${python} has no torch (set DOWNHILL_TORCH_PYTHON to a Python with torch)` },
      ),
    );
  });
}

/**
 * Measures every requested configuration (`threads` applies to native and torch; the others are
 * single-threaded) for `rounds` rounds of about `seconds` each; unavailable ones are skipped by
 * name with the reason.
 */
export async function runMlpBench(
  options: {
    backends?: readonly MlpBackend[];
    threads?: readonly number[];
    rounds?: number;
    seconds?: number;
    onRow?: (r: MlpRow | MlpSkip) => void;
  } = {},
): Promise<(MlpRow | MlpSkip)[]> {
  const backends = options.backends ?? MLP_BACKENDS;
  const threads = options.threads ?? [1, 2];
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 2;
  const worker = `${here}/mlp-worker.js`;
  const script = `${here}/../../bench/torch_mlp.py`;
  const configs: Config[] = [];
  const skipped: MlpSkip[] = [];
  const skip = (backend: MlpBackend, t: number, why: string) =>
    skipped.push({ kernel: MLP_KERNEL, backend, threads: t, skipped: why });
  const viaWorker = (backend: MlpBackend, t: number, env: Record<string, string> = {}) =>
    configs.push({
      backend,
      threads: t,
      run: (s) => child(process.execPath, [worker, backend, String(s)], env, 60_000 + s * 20_000),
    });
  for (const b of backends) {
    if (b === 'torch') {
      const { python, why } = await torchPython();
      for (const t of threads) {
        if (python === null) skip(b, t, why);
        else if (!existsSync(script)) skip(b, t, `${script} not found`);
        else
          configs.push({
            backend: b,
            threads: t,
            run: (s) => child(python, [script, String(t), String(s), String(MLP_BATCH)], {}, 60_000 + s * 20_000),
          });
      }
      continue;
    }
    if (!existsSync(worker)) {
      skip(b, 1, `${worker} not found (run the compiled CLI: npx tsc, node dist/cli.js bench)`);
      continue;
    }
    if (b === 'native') {
      try {
        await loadBackend('native');
      } catch (e) {
        for (const t of threads) skip(b, t, (e as Error).message);
        continue;
      }
      for (const t of threads) viaWorker(b, t, { RAYON_NUM_THREADS: String(t) });
    } else viaWorker(b, 1);
  }
  const samples = new Map<Config, MlpTiming[]>();
  const failed = new Map<Config, string>();
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      if (failed.has(c)) continue;
      // The slow baselines (pure JS) get enough time for a few steps, no more.
      const s = c.backend === 'js' || c.backend === 'tfjs-cpu' ? Math.max(seconds, 3) : seconds;
      try {
        const t = await c.run(s);
        samples.set(c, [...(samples.get(c) ?? []), t]);
      } catch (e) {
        failed.set(c, (e as Error).message);
      }
    }
  }
  const rows: (MlpRow | MlpSkip)[] = [...skipped];
  for (const c of configs) {
    const ts = samples.get(c);
    if (!ts || failed.has(c)) {
      rows.push({ kernel: MLP_KERNEL, backend: c.backend, threads: c.threads, skipped: failed.get(c) ?? 'no result' });
      continue;
    }
    const sps = ts.map((t) => (MLP_BATCH * 1000) / t.stepMs);
    const order = [...sps.keys()].sort((a, b) => sps[a] - sps[b]);
    const med = ts[order[Math.floor(order.length / 2)]];
    const row: MlpRow = {
      kernel: MLP_KERNEL,
      backend: c.backend,
      threads: c.threads,
      batch: MLP_BATCH,
      samplesPerSec: (MLP_BATCH * 1000) / med.stepMs,
      gflops: MLP_STEP_FLOPS / (med.stepMs * 1e6),
      msPerStep: med.stepMs,
      forwardMs: med.forwardMs,
      backwardMs: med.backwardMs,
      optimizerMs: med.optimizerMs,
      rounds: sps,
      ...(med.version ? { version: med.version } : {}),
    };
    rows.push(row);
  }
  for (const r of rows) options.onRow?.(r);
  return rows;
}
