/**
 * Benchmark cases shared by `downhill bench` and the suite in bench/ (`npm run bench`): one
 * optimizer step over n float32 parameters on a backend, the vector ops a training loop adds
 * (clip by global L2 norm, an EMA update), the textbook single loop a user would write
 * (`naive-js`, ts/bench/naive.ts) as the baseline, and the boundary alone (an empty step, a
 * gradient copy-in) so marshalling costs show apart from the kernels.
 *
 * The optimizer list comes from the specs: every optimizer with a core step is a kernel, so a new
 * one is benchmarked without editing anything here. One that cannot step a 1-D tensor (Muon takes
 * matrices) is reported as skipped, with the core's reason.
 */
import { cpus, totalmem } from 'node:os';
import { loadBackend } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import { NAIVE } from './bench/naive.js';
import { OP, SPECS } from './generated/specs.js';
import { createOptimizer, type AnyOptimizer } from './optim/optimizer.js';
import { runVector } from './ops.js';
import { ParamStore } from './params.js';
import { Rng } from './random.js';

/**
 * `sgd` (plain SGD), `sgd_momentum` (momentum 0.9), every other optimizer by its lower-case spec
 * name (`adam`, `lamb`, `schedulefreeadamw`, ...; default options), the transformations
 * `clip_norm` (clip by global L2 norm, one call) and `ema` (one EMA update of the parameters), the
 * boundary alone (`empty_step`, `grad_copy_in`) and `copy` (the core copying n elements).
 */
export type BenchKernel = string;
export type BenchBackend = BackendName | 'naive-js';

/** Sizes `downhill bench` runs by default (the suite in bench/ adds 1e5). */
export const BENCH_SIZES = [1e4, 1e6, 1e7] as const;

/** The vector ops of a training loop that the benchmark tables show beside the optimizers. */
export const TRANSFORM_KERNELS: readonly string[] = ['clip_norm', 'ema'];

/** Kernels that are not optimizers. */
export const EXTRA_KERNELS: readonly string[] = [...TRANSFORM_KERNELS, 'copy', 'empty_step', 'grad_copy_in'];

/** Every optimizer kernel the build has, by its benchmark name, in wire-id order. */
export function optimizerKernels(): string[] {
  return SPECS.filter((s) => s.driver !== 'ts').flatMap((s) =>
    s.name === 'SGD' ? ['sgd', 'sgd_momentum'] : [s.name.toLowerCase()],
  );
}

/** What `downhill bench` runs without `--kernels`: every optimizer and the transformations. */
export function defaultKernels(): string[] {
  return [...optimizerKernels(), ...TRANSFORM_KERNELS];
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

/** A case exists for `kernel` on `backend` (naive-js has only the textbook kernels). */
export function hasCase(kernel: BenchKernel, backend: BenchBackend): boolean {
  if (backend === 'naive-js') return kernel in NAIVE || kernel === 'grad_copy_in' || kernel === 'copy';
  return EXTRA_KERNELS.includes(kernel) || optimizerKernels().includes(kernel);
}

/**
 * Builds a case and runs it twice (so a kernel that cannot run here fails now, with the core's
 * message, rather than in the middle of a timing).
 */
export async function makeCase(kernel: BenchKernel, backend: BenchBackend, n: number): Promise<BenchCase> {
  if (!hasCase(kernel, backend)) throw new RangeError(`kernel: no ${kernel} case on ${backend}`);
  const grads = randomArray(n, 2, 1);
  if (backend === 'naive-js') {
    const p = randomArray(n, 1, 1);
    const copy = new Float32Array(n);
    let t = 0;
    const step = NAIVE[kernel]?.(n);
    const run = step ? () => step(p, grads, ++t) : () => copy.set(grads);
    run();
    run();
    return { kernel, backend, n, run, dispose: () => {} };
  }
  const b = await loadBackend(backend);
  const store = new ParamStore(b, { w: { shape: [n], init: randomArray(n, 1, 1) } });
  store.grads.set(grads);
  let opt: AnyOptimizer | null = null;
  let run: () => void;
  const segs = [{ a: 0, b: 0, c: 0, len: n }];
  try {
    if (kernel === 'sgd_momentum') {
      const o = createOptimizer('sgd', store, { lr: 1e-3, momentum: 0.9 });
      opt = o;
      run = () => o.step();
    } else if (kernel === 'sgd') {
      const o = createOptimizer('sgd', store, { lr: 1e-3 });
      opt = o;
      run = () => o.step();
    } else if (optimizerKernels().includes(kernel)) {
      const o = createOptimizer(kernel, store, {});
      opt = o;
      run = () => o.step();
    } else if (kernel === 'clip_norm') {
      // The bound is far above the norm, so every call computes the norm and scales the
      // gradients (by 1), which keep their values from call to call.
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
    run();
    run();
  } catch (e) {
    opt?.dispose();
    store.dispose();
    throw e;
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

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Calls of `run` per timed batch so that a batch lasts at least `minBatchMs` (a warm-up, too:
 * the JIT has compiled the loop by the end of it).
 */
export function calibrate(run: () => void, minBatchMs: number): number {
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) run();
    const ms = now() - t0;
    if (ms >= minBatchMs || reps >= 1 << 22) return reps;
    reps = Math.min(Math.max(reps * 2, Math.ceil((reps * minBatchMs * 1.2) / Math.max(ms, 0.001))), 1 << 22);
  }
}

/** Nanoseconds per element of one batch of `reps` calls. */
export function timeBatch(run: () => void, reps: number, n: number): number {
  const t0 = now();
  for (let i = 0; i < reps; i++) run();
  return ((now() - t0) * 1e6) / (reps * Math.max(n, 1));
}

/** Nanoseconds per parameter of a case: the median of `rounds` timed batches after a warm-up. */
export function timeCase(c: BenchCase, { rounds = 7, minBatchMs = 20 } = {}): number {
  const reps = calibrate(c.run, minBatchMs);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(timeBatch(c.run, reps, c.n));
  return median(samples);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? s[k] : (s[k - 1] + s[k]) / 2;
}

export interface BenchRow {
  kernel: BenchKernel;
  backend: BenchBackend;
  n: number;
  nsPerParam: number;
  /** Nanoseconds per step (nsPerParam × n). */
  nsPerStep: number;
}

export interface BenchSkip {
  kernel: BenchKernel;
  backend: BenchBackend;
  n: number;
  skipped: string;
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

/**
 * Runs every (kernel, backend, size) case that can run here, in this process; unavailable
 * backends are left out, and a kernel a backend cannot run is reported through `onSkip`. (The
 * suite in bench/ runs each backend in its own process with interleaved rounds and a C
 * reference; this is the quick in-process form.)
 */
export async function runBench(
  options: {
    kernels?: readonly BenchKernel[];
    backends?: readonly BenchBackend[];
    sizes?: readonly number[];
    onRow?: (r: BenchRow) => void;
    onSkip?: (s: BenchSkip) => void;
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
    for (const kernel of options.kernels ?? defaultKernels()) {
      if (!hasCase(kernel, backend)) continue;
      for (const n of options.sizes ?? BENCH_SIZES) {
        let c: BenchCase;
        try {
          c = await makeCase(kernel, backend, n);
        } catch (e) {
          options.onSkip?.({ kernel, backend, n, skipped: e instanceof Error ? e.message : String(e) });
          continue;
        }
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
