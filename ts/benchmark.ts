/**
 * Benchmark cases shared by `downhill bench` and the benny suites in bench/: one optimizer step
 * (Adam, SGD with momentum 0.9) over n parameters on a backend, plus the textbook single-loop
 * JavaScript a user would write (`naive-js`) as the baseline, and the boundary alone (an empty
 * step, a gradient copy-in) so marshalling costs show apart from the kernels.
 */
import { cpus, totalmem } from 'node:os';
import { loadBackend } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import { OP } from './generated/specs.js';
import { SPECS } from './generated/specs.js';
import { createOptimizer, type AnyOptimizer } from './optim/optimizer.js';
import { SGD } from './optim/sgd.js';
import { runVector } from './ops.js';
import { ParamStore } from './params.js';
import { Rng } from './random.js';

/**
 * `sgd_momentum` (SGD, momentum 0.9), every other optimizer by its lower-case name (`adam`,
 * `lamb`, ...; its default options), the transformations `clip_norm` (clip by global L2 norm, one
 * call) and `ema` (one EMA update of the parameters), the boundary alone (`empty_step`,
 * `grad_copy_in`) and `copy` (the core copying n elements: the memory-bandwidth probe the
 * bandwidth-bound columns use).
 */
export type BenchKernel = string;
export type BenchBackend = BackendName | 'naive-js';

export const BENCH_SIZES = [1e3, 1e4, 1e5, 1e6, 1e7] as const;
export const BENCH_KERNELS: readonly BenchKernel[] = ['adam', 'sgd_momentum'];

/** Kernels that are not optimizers. */
export const EXTRA_KERNELS: readonly string[] = ['clip_norm', 'ema', 'copy', 'empty_step', 'grad_copy_in'];

/** Every optimizer kernel the build has, by its benchmark name. */
export function optimizerKernels(): string[] {
  return SPECS.filter((s) => s.driver !== 'ts').map((s) => (s.name === 'SGD' ? 'sgd_momentum' : s.name.toLowerCase()));
}
export const BENCH_BACKENDS: readonly BenchBackend[] = ['native', 'wasm', 'js', 'naive-js'];

export interface BenchCase {
  kernel: BenchKernel;
  backend: BenchBackend;
  n: number;
  run(): void;
  dispose(): void;
}

function randomArray(n: number, seed: number, scale: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * scale;
  return a;
}

/** The Adam step as the textbook writes it (Kingma & Ba, Algorithm 1), one loop in plain JS. */
export function naiveAdam(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr = 1e-3,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
): void {
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const mHat = m[i] / bc1;
    const vHat = v[i] / bc2;
    p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

/** SGD with momentum as the textbook writes it. */
export function naiveSgdMomentum(p: Float32Array, g: Float32Array, buf: Float32Array, lr = 1e-3, momentum = 0.9): void {
  for (let i = 0; i < p.length; i++) {
    buf[i] = momentum * buf[i] + g[i];
    p[i] -= lr * buf[i];
  }
}

/** Clip by global L2 norm as the textbook writes it (two loops). */
export function naiveClipNorm(g: Float32Array, maxNorm = 1): void {
  let sq = 0;
  for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const k = Math.min(1, maxNorm / (Math.sqrt(sq) + 1e-6));
  for (let i = 0; i < g.length; i++) g[i] *= k;
}

/** One EMA update as the textbook writes it. */
export function naiveEma(avg: Float32Array, p: Float32Array, decay = 0.999): void {
  for (let i = 0; i < p.length; i++) avg[i] = decay * avg[i] + (1 - decay) * p[i];
}

/** A case exists for `kernel` on `backend` (naive-js has only the textbook kernels). */
export function hasCase(kernel: BenchKernel, backend: BenchBackend): boolean {
  if (backend === 'naive-js')
    return ['adam', 'sgd_momentum', 'clip_norm', 'ema', 'grad_copy_in', 'copy'].includes(kernel);
  return EXTRA_KERNELS.includes(kernel) || optimizerKernels().includes(kernel);
}

export async function makeCase(kernel: BenchKernel, backend: BenchBackend, n: number): Promise<BenchCase> {
  const grads = randomArray(n, 2, 1);
  if (backend === 'naive-js') {
    const p = randomArray(n, 1, 1);
    const s0 = new Float32Array(n);
    const s1 = new Float32Array(n);
    let t = 0;
    const run =
      kernel === 'adam'
        ? () => naiveAdam(p, grads, s0, s1, ++t)
        : kernel === 'sgd_momentum'
          ? () => naiveSgdMomentum(p, grads, s0)
          : kernel === 'clip_norm'
            ? () => naiveClipNorm(grads)
            : kernel === 'ema'
              ? () => naiveEma(s0, p)
              : kernel === 'grad_copy_in' || kernel === 'copy'
                ? () => s0.set(grads)
                : () => {};
    return { kernel, backend, n, run, dispose: () => {} };
  }
  const b = await loadBackend(backend);
  const store = new ParamStore(b, { w: { shape: [n], init: randomArray(n, 1, 1) } });
  store.grads.set(grads);
  let opt: AnyOptimizer | null = null;
  let run: () => void;
  const segs = [{ a: 0, b: 0, c: 0, len: n }];
  if (kernel === 'sgd_momentum') {
    const o = new SGD(store, { lr: 1e-3, momentum: 0.9 });
    opt = o;
    run = () => o.step();
  } else if (optimizerKernels().includes(kernel)) {
    const o = createOptimizer(kernel, store, {});
    opt = o;
    run = () => o.step();
  } else if (kernel === 'clip_norm') {
    // The norm is far above 1, so every call scales the gradients (and leaves them finite).
    run = () => runVector(store, OP.CLIP_NORM, [store.buffers.grads], segs, [1e30, 2, 0], 2);
  } else if (kernel === 'ema') {
    const avg = store.heap.alloc(store.dtype, n);
    run = () => runVector(store, OP.LERP, [avg, store.buffers.params], segs, [1 - 0.999]);
  } else if (kernel === 'copy') {
    const dst = store.heap.alloc(store.dtype, n);
    run = () => runVector(store, OP.COPY, [store.buffers.grads, dst], segs);
  } else if (kernel === 'grad_copy_in') {
    run = () => store.grads.set(grads);
  } else {
    // The boundary alone: one step call (the path optimizers take) with a table of no tensors.
    const { params, grads: g } = store.buffers;
    const empty = new Float64Array([1, 0, 0, 0]);
    run = () => store.heap.run(OP.STEP, store.dtype, empty, [params, g, null, null]);
  }
  return {
    kernel,
    backend,
    n,
    run,
    dispose: () => {
      opt?.dispose();
      store.dispose();
    },
  };
}

/**
 * Nanoseconds per parameter of `run`: the median of `rounds` timed batches, each long enough
 * (≥ `minBatchMs`) for the clock's resolution not to matter, after a warm-up.
 */
export function timeCase(c: BenchCase, { rounds = 7, minBatchMs = 20 } = {}): number {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) c.run();
    const ms = now() - t0;
    if (ms >= minBatchMs) break;
    reps = Math.min(reps * 2 * Math.ceil(minBatchMs / Math.max(ms, 0.001)), 1 << 22);
    if (reps >= 1 << 22) break;
  }
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) c.run();
    samples.push(((now() - t0) * 1e6) / (reps * Math.max(c.n, 1)));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

export interface BenchRow {
  kernel: BenchKernel;
  backend: BenchBackend;
  n: number;
  nsPerParam: number;
  /** Nanoseconds per step (nsPerParam × n). */
  nsPerStep: number;
}

export function machine(): Record<string, unknown> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Runs every (kernel, backend, size) case that can run here; unavailable backends are left out. */
export async function runBench(
  options: {
    kernels?: readonly BenchKernel[];
    backends?: readonly BenchBackend[];
    sizes?: readonly number[];
    onRow?: (r: BenchRow) => void;
  } = {},
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const backend of options.backends ?? BENCH_BACKENDS) {
    if (backend !== 'naive-js') {
      try {
        await loadBackend(backend);
      } catch {
        continue;
      }
    }
    for (const kernel of options.kernels ?? BENCH_KERNELS) {
      if (!hasCase(kernel, backend)) continue;
      for (const n of options.sizes ?? BENCH_SIZES) {
        const c = await makeCase(kernel, backend, n);
        try {
          const ns = timeCase(c, n >= 1e6 ? { rounds: 5, minBatchMs: 50 } : {});
          const row = { kernel, backend, n, nsPerParam: ns, nsPerStep: ns * n };
          rows.push(row);
          options.onRow?.(row);
        } finally {
          c.dispose();
        }
      }
    }
  }
  return rows;
}
