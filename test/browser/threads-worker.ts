// The dedicated worker test/browser/threads.test.ts starts in its pages (served transpiled, at
// /<page kind>/test/threads-worker.js, beside the package at /<page kind>/dist/). It answers one
// task message with one result message ({ ok } or { error }).
import type * as Downhill from '../../ts/index.js';
import type * as WasmModule from '../../ts/backend/wasm.js';
import type { Backend } from '../../ts/backend/types.js';
import { compare, hashOf, runMlp, runSteps, STEP_CASES, timeAdam, timeMlp } from './threads-cases.js';

type Lib = typeof Downhill;

const base = new URL('../', import.meta.url);
const scope = globalThis as unknown as {
  onmessage: ((ev: MessageEvent<{ task: string; mlpSteps?: number; rounds?: number }>) => void) | null;
  postMessage(m: unknown): void;
};

async function libs(): Promise<{ lib: Lib; wasm: typeof WasmModule }> {
  const lib = (await import(new URL('dist/index.js', base).href)) as Lib;
  const wasm = (await import(new URL('dist/backend/wasm.js', base).href)) as typeof WasmModule;
  return { lib, wasm };
}

/** The auto choice of this context, and its wasm backend. */
async function context(lib: Lib) {
  const { backend, report } = await lib.selectBackend();
  return {
    isolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    active: report.active,
    wasm: report.backends.wasm,
    info: backend.info(),
    threadedClass: backend instanceof lib.WasmThreadsBackend,
    backend,
  };
}

/** The single-threaded build, loaded explicitly beside the context's choice. */
function single(lib: Lib): Promise<Backend> {
  return lib.loadWasmFrom(new URL('bindings/wasm/downhill_wasm_bg.wasm', base));
}

async function agree(lib: Lib, mlpSteps: number) {
  const ctx = await context(lib);
  if (!ctx.threadedClass) throw new Error(`expected the threaded build here: ${JSON.stringify(ctx.wasm)}`);
  const one = await single(lib);
  const steps = STEP_CASES.map((c) => {
    const a = runSteps(lib, one, c);
    const b = runSteps(lib, ctx.backend, c);
    return {
      name: c.name,
      ...compare(a.params, b.params),
      normsSingle: a.norms,
      normsThreaded: b.norms,
      hash: hashOf(a.params),
      // The parameters moved: a case that did nothing would agree trivially.
      moved: compare(a.params, runStepsInit(lib, one, c)).differing,
    };
  });
  const a = runMlp(lib, one, mlpSteps);
  const b = runMlp(lib, ctx.backend, mlpSteps);
  return {
    threads: ctx.info.threads,
    singleThreads: one.info().threads,
    steps,
    mlp: { ...compare(a.params, b.params), lossesSingle: a.losses, lossesThreaded: b.losses, hash: hashOf(a.params) },
  };
}

/** The initial parameters of a case (zero steps). */
function runStepsInit(lib: Lib, backend: Backend, c: (typeof STEP_CASES)[number]) {
  return runSteps(lib, backend, { ...c, steps: 0 }).params;
}

/** Busy work for `spin`: counts loop blocks between two absolute times (shared by every worker). */
const SPIN = `onmessage = (e) => {
  const now = () => performance.timeOrigin + performance.now();
  const [start, end] = e.data;
  let n = 0, x = 0;
  while (now() < start);
  while (now() < end) { for (let i = 0; i < 1000; i++) x += Math.sqrt(i + x); n++; }
  postMessage(x > 0 ? n : -n);
};`;

/**
 * Blocks of plain JavaScript busy work that `workers` workers get done together in `ms`: the ratio
 * for 2 workers over 1 is how much parallelism the machine offers the page at that moment (other
 * processes share the cores), the ceiling for the threaded build's speed-up.
 */
async function spin(workers: number, ms: number): Promise<number> {
  const url = URL.createObjectURL(new Blob([SPIN], { type: 'text/javascript' }));
  const ws = Array.from({ length: workers }, () => new Worker(url));
  try {
    const start = performance.timeOrigin + performance.now() + 100; // after every worker has loaded
    const counts = await Promise.all(
      ws.map(
        (w) =>
          new Promise<number>((resolve) => {
            w.onmessage = (e: MessageEvent<number>) => resolve(Math.abs(e.data));
            w.postMessage([start, start + ms]);
          }),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    for (const w of ws) w.terminate();
    URL.revokeObjectURL(url);
  }
}

async function bench(lib: Lib, rounds: number) {
  const ctx = await context(lib);
  if (!ctx.threadedClass) throw new Error(`expected the threaded build here: ${JSON.stringify(ctx.wasm)}`);
  // The threaded build on a pool of one thread: what the build costs without the parallelism.
  const pool1 = await lib.loadWasmThreadsFrom(new URL('bindings/wasm-threads/downhill_wasm_bg.wasm', base), {
    threads: 1,
  });
  const backends = { single: await single(lib), threaded: ctx.backend, 'threaded-1': pool1 };
  const rows: { case: string; build: string; round: number; ms: number }[] = [];
  const parallelism: number[] = [];
  // Let the engine tier every build's hot code up first: V8 compiles its optimising tier in the
  // background, which takes seconds when the pool keeps every core busy (ARCHITECTURE.md,
  // "Threaded WASM"). These timings are dropped.
  for (const b of Object.values(backends)) {
    timeAdam(lib, b, 1_000_000, 500);
    timeMlp(lib, b, 3000);
  }
  for (let r = 0; r < rounds; r++) {
    parallelism.push((await spin(2, 250)) / (await spin(1, 250)));
    // Builds take turns within a round, so a busy machine slows both alike.
    for (const [build, b] of Object.entries(backends)) {
      rows.push({ case: 'adam_1e6', build, round: r, ms: timeAdam(lib, b, 1_000_000, 250) });
      rows.push({ case: 'adam_4e6', build, round: r, ms: timeAdam(lib, b, 4_000_000, 250) });
      rows.push({ case: 'mlp_784_256_10', build, round: r, ms: timeMlp(lib, b, 250) });
    }
  }
  return { threads: ctx.info.threads, hardwareConcurrency: ctx.hardwareConcurrency, parallelism, rows };
}

async function trap(lib: Lib, wasm: typeof WasmModule) {
  const ctx = await context(lib);
  if (!ctx.threadedClass) throw new Error(`expected the threaded build here: ${JSON.stringify(ctx.wasm)}`);
  const a = new lib.ParamStore(ctx.backend, { w: [4] });
  const b = new lib.ParamStore(ctx.backend, { v: { shape: [3], init: [1, 2, 3] } });
  let trapError = '';
  try {
    wasm.wasmTestTrap(a.heap);
  } catch (e) {
    trapError = `${(e as Error).name}: ${(e as Error).message}`;
  }
  let otherStore = '';
  try {
    b.get('v');
  } catch (e) {
    otherStore = `${(e as Error).name}: ${(e as Error).message}`;
  }
  // Disposing stores of the dead instance must not call into it (it may have died holding a lock).
  a.dispose();
  b.dispose();
  const disposed = a.heap.disposed && b.heap.disposed;
  // A new store after the trap: the single-threaded build, and it steps like the single build.
  const c = new lib.ParamStore(ctx.backend, { w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
  const opt = new lib.Adam(c, { lr: 0.1 });
  c.setGrad('w', [1, -2, 3, -4, 5]);
  opt.step();
  return { trapError, otherStore, disposed, after: Array.from(c.get('w')), info: ctx.backend.info() };
}

/** Loading errors: a bad thread count, a pool script that does not load, the wrong module. */
async function failures(lib: Lib) {
  const url = new URL('bindings/wasm-threads/downhill_wasm_bg.wasm', base);
  const caught = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return 'no error';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  return {
    threads: await caught(() => lib.loadWasmThreadsFrom(url, { threads: 0 })),
    workerScript: await caught(() => lib.loadWasmThreadsFrom(url, { workerUrl: new URL('missing.js', base) })),
    singleModule: await caught(() => lib.loadWasmThreadsFrom(new URL('bindings/wasm/downhill_wasm_bg.wasm', base))),
  };
}

/** A store that is never disposed: its blocks return to the shared memory once it is collected. */
async function forgotten(lib: Lib) {
  const ctx = await context(lib);
  if (!(ctx.backend instanceof lib.WasmThreadsBackend)) throw new Error('expected the threaded build here');
  const t = ctx.backend;
  const before = t.liveBytes;
  (() => {
    const s = new lib.ParamStore(t, { w: [1_000_000] });
    s.grads.fill(1);
  })();
  const held = t.liveBytes;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('gc() is not exposed (--js-flags=--expose-gc)');
  for (let i = 0; i < 100 && t.liveBytes > before; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  return { before, held, after: t.liveBytes };
}

scope.onmessage = (ev) => {
  void (async () => {
    try {
      const { lib, wasm } = await libs();
      const { task } = ev.data;
      let ok: unknown;
      if (task === 'context') {
        const { backend: _b, ...rest } = await context(lib);
        ok = rest;
      } else if (task === 'agree') ok = await agree(lib, ev.data.mlpSteps ?? 5);
      else if (task === 'bench') ok = await bench(lib, ev.data.rounds ?? 3);
      else if (task === 'trap') ok = await trap(lib, wasm);
      else if (task === 'failures') ok = await failures(lib);
      else if (task === 'forgotten') ok = await forgotten(lib);
      else throw new Error(`unknown task ${task}`);
      scope.postMessage({ ok });
    } catch (e) {
      scope.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) });
    }
  })();
};
