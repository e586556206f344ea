// The work of test/browser/threads.test.ts, run in a dedicated worker of the test page: the test
// transpiles this file (type-only imports vanish) and serves it beside the compiled package, which
// it imports from the page's origin. Node imports it too, to run the same case on its own wasm
// backend. Every input comes from the package's seeded `Rng`, so both sides build the same data.
import type * as Downhill from '../../ts/index.js';
import type { Backend, FloatArray } from '../../ts/backend/types.js';

type Lib = typeof Downhill;

export interface StepCase {
  name: string;
  optimizer: 'adam' | 'lamb';
  dtype: 'float32' | 'float64';
  /** Tensor shapes; their sizes add up to the parameter count. */
  shapes: number[][];
  steps: number;
  /** Clip the gradient norm to this before each step (a parallel reduction); none if absent. */
  clip?: number;
}

/** Large enough that every element loop and reduction splits across the pool (par.rs: 2^16). */
export const STEP_CASES: StepCase[] = [
  { name: 'adam f32 1e6, clipped', optimizer: 'adam', dtype: 'float32', shapes: [[1_000_000]], steps: 3, clip: 50 },
  { name: 'adam f32 4e6', optimizer: 'adam', dtype: 'float32', shapes: [[4_000_000]], steps: 3 },
  {
    name: 'adam f64 1e6 in 3 tensors, clipped',
    optimizer: 'adam',
    dtype: 'float64',
    shapes: [[600_000], [300_000], [100_000]],
    steps: 3,
    clip: 10,
  },
  {
    name: 'lamb f32 1000x1000 + 4e5',
    optimizer: 'lamb',
    dtype: 'float32',
    shapes: [[1000, 1000], [400_000]],
    steps: 3,
  },
];

export const MLP_INPUTS = 784;
export const MLP_HIDDEN = 256;
export const MLP_CLASSES = 10;
export const MLP_BATCH = 128;
const MLP_ROWS = 2048;

function randomArray(lib: Lib, n: number, seed: number, scale: number): Float64Array {
  const rng = new lib.Rng(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() - 0.5) * scale;
  return a;
}

function specsOf(lib: Lib, c: StepCase): Record<string, { shape: number[]; init: Float64Array }> {
  const specs: Record<string, { shape: number[]; init: Float64Array }> = {};
  c.shapes.forEach((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    specs[`t${i}`] = { shape, init: randomArray(lib, n, 11 + i, 2) };
  });
  return specs;
}

/** Runs a step case on `backend`; the final parameters and the norm `clipGradNorm` saw at each step. */
export function runSteps(lib: Lib, backend: Backend, c: StepCase): { params: FloatArray; norms: number[] } {
  const specs = specsOf(lib, c);
  const store = new lib.ParamStore(backend, specs, { dtype: c.dtype });
  try {
    const opt =
      c.optimizer === 'adam'
        ? new lib.Adam(store, { lr: 1e-2, weightDecay: 1e-4 })
        : new lib.LAMB(store, { lr: 1e-2, weightDecay: 1e-2 });
    const grads = randomArray(lib, store.grads.length, 5, 1);
    const norms: number[] = [];
    for (let t = 0; t < c.steps; t++) {
      const g = store.grads;
      // A different gradient each step: the base field scaled and shifted by the step.
      for (let i = 0; i < g.length; i++) g[i] = grads[i] * (1 + 0.5 * t) + 1e-3 * t;
      if (c.clip !== undefined) norms.push(lib.clipGradNorm(store, c.clip));
      opt.step();
    }
    return { params: store.data.slice(), norms };
  } finally {
    store.dispose();
  }
}

interface MlpData {
  x: Float32Array;
  y: Float32Array;
  batches: Int32Array[];
}

function mlpData(lib: Lib): MlpData {
  const rng = new lib.Rng(7);
  const x = new Float32Array(MLP_ROWS * MLP_INPUTS);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  const y = new Float32Array(MLP_ROWS);
  for (let i = 0; i < MLP_ROWS; i++) y[i] = i % MLP_CLASSES;
  const batches = Array.from({ length: 16 }, () => {
    const b = new Int32Array(MLP_BATCH);
    for (let i = 0; i < MLP_BATCH; i++) b[i] = Math.floor(rng.uniform() * MLP_ROWS);
    return b;
  });
  return { x, y, batches };
}

function mlp(lib: Lib, backend: Backend): InstanceType<Lib['Model']> {
  return new lib.Model(
    backend,
    {
      inputs: MLP_INPUTS,
      layers: [{ out: MLP_HIDDEN, activation: 'relu' }, { out: MLP_CLASSES }],
      loss: { name: 'softmax_cross_entropy' },
    },
    { init: 'he_uniform', seed: 1 },
  );
}

/** `steps` training steps (784-256-10, batch 128, Adam) on `backend`: the losses and final parameters. */
export function runMlp(lib: Lib, backend: Backend, steps: number): { losses: number[]; params: FloatArray } {
  const model = mlp(lib, backend);
  try {
    const { x, y, batches } = mlpData(lib);
    const data = model.upload(x, y);
    const opt = new lib.Adam(model.params, { lr: 1e-3 });
    const losses: number[] = [];
    for (let t = 0; t < steps; t++) {
      losses.push(model.trainStep(data, batches[t % batches.length]).loss);
      opt.step();
    }
    return { losses, params: model.params.data.slice() };
  } finally {
    model.dispose();
  }
}

/** FNV-1a over the bytes of `a`: compares a browser result with Node's without sending it. */
export function hashOf(a: FloatArray): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** How two results differ: elements whose bits differ (NaN equals NaN), and the largest difference. */
export function compare(a: FloatArray, b: FloatArray): { differing: number; maxAbsDiff: number; maxAbs: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let differing = 0;
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const same = Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (!same) differing++;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  return { differing, maxAbsDiff, maxAbs };
}

/**
 * Milliseconds per call of `f`: calls for `warmMs` first (the engine tiers the module up and the
 * pool wakes), then times calls until `ms` have passed (at least 5 calls) and gives the mean.
 */
function msPer(f: () => void, warmMs: number, ms: number): number {
  const warm = performance.now();
  do f();
  while (performance.now() - warm < warmMs);
  let calls = 0;
  const t = performance.now();
  while (calls < 5 || performance.now() - t < ms) {
    f();
    calls++;
  }
  return (performance.now() - t) / calls;
}

/** One Adam step of `n` float32 parameters on `backend`, in ms, timed for about `ms` (the store is built outside). */
export function timeAdam(lib: Lib, backend: Backend, n: number, ms: number): number {
  const store = new lib.ParamStore(backend, { w: { shape: [n], init: randomArray(lib, n, 3, 2) } });
  try {
    store.grads.set(randomArray(lib, n, 4, 1));
    const opt = new lib.Adam(store, { lr: 1e-3 });
    return msPer(() => opt.step(), ms / 2, ms);
  } finally {
    store.dispose();
  }
}

/** One MLP training step (trainStep + Adam; 784-256-10, batch 128) on `backend`, in ms, timed for about `ms`. */
export function timeMlp(lib: Lib, backend: Backend, ms: number): number {
  const model = mlp(lib, backend);
  try {
    const { x, y, batches } = mlpData(lib);
    const data = model.upload(x, y);
    const opt = new lib.Adam(model.params, { lr: 1e-3 });
    let i = 0;
    return msPer(
      () => {
        model.trainStep(data, batches[i++ % batches.length]);
        opt.step();
      },
      ms / 2,
      ms,
    );
  } finally {
    model.dispose();
  }
}
