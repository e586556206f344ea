// Threaded WASM in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
// One server, two kinds of page: /iso/ is served with Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp (cross-origin isolated: SharedArrayBuffer and shared
// WebAssembly memory exist), /plain/ without them. Each test starts a dedicated worker
// (threads-worker.ts, transpiled here) that imports the compiled package from the page's origin:
// the threaded build runs only in such a worker, since its calls block while the pool works.
//
// Asserted: where the threaded build is chosen and where the single-threaded one is, with the
// reason; that both builds give the same bits for large optimizer steps with parallel reductions
// and for MLP training steps (and the same bits as Node's wasm backend); what a trap does. Timed,
// never asserted: single vs threaded, written to bench/results/wasm-threads.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWasm } from '../../ts/backend/wasm.js';
import * as lib from '../../ts/index.js';
import { CHROMIUM, contentType, fileIn, hasChromium, launch, serve, type Served } from './chromium.js';
import { hashOf, runMlp, runSteps, STEP_CASES } from './threads-cases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const built = ['wasm', 'wasm-threads'].every((d) => existsSync(join(ROOT, 'bindings', d, 'downhill_wasm_bg.wasm')));
const run = (built && hasChromium) || process.env.CI === 'true';
const RESULTS = join(ROOT, 'bench', 'results', 'wasm-threads.json');

// gc() in the pages and workers, for the test of forgotten stores.
const EXTRA_FLAGS = ['--js-flags=--expose-gc'];

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

const PAGE = '<!doctype html><meta charset="utf-8"><title>downhill threads</title><p>threads test</p>';

/** test/browser/<name>.ts as a browser module (types stripped; its `./x.js` imports are served too). */
function transpiled(name: string): string | null {
  const file = join(HERE, `${name}.ts`);
  if (!/^threads-[a-z]+$/.test(name) || !existsSync(file)) return null;
  return ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/**
 * `/iso/…` and `/plain/…`: `/` the page, `/dist/*` the compiled package, `/bindings/wasm*` both
 * builds, `/test/threads-*.js` this folder's worker and cases.
 */
function serveTest(): Promise<Served> {
  const dirs: [string, string][] = [
    ['/dist/', join(ROOT, 'dist')],
    ['/bindings/wasm/', join(ROOT, 'bindings', 'wasm')],
    ['/bindings/wasm-threads/', join(ROOT, 'bindings', 'wasm-threads')],
  ];
  return serve((full) => {
    const m = /^\/(iso|plain)(\/.*)$/.exec(full);
    if (!m) return null;
    const headers: Record<string, string> = m[1] === 'iso' ? { ...ISOLATION } : {};
    const path = m[2];
    if (path === '/' || path === '/index.html') return { body: PAGE, type: contentType('page.html'), headers };
    if (path.startsWith('/test/') && path.endsWith('.js')) {
      const body = transpiled(path.slice('/test/'.length, -'.js'.length));
      return body === null ? null : { body, type: contentType('module.js'), headers };
    }
    for (const [prefix, dir] of dirs) {
      const file = path.startsWith(prefix) ? fileIn(dir, path.slice(prefix.length)) : null;
      if (file) return { file, headers };
    }
    return null;
  });
}

interface WasmStatus {
  available: boolean;
  reason: string | null;
  note?: string;
}

interface ContextResult {
  isolated: boolean;
  hardwareConcurrency: number;
  active: string;
  wasm: WasmStatus;
  info: { name: string; simd: string; threads: number; threading?: string };
  threadedClass: boolean;
}

interface Diff {
  differing: number;
  maxAbsDiff: number;
  maxAbs: number;
}

interface AgreeResult {
  threads: number;
  singleThreads: number;
  steps: (Diff & { name: string; normsSingle: number[]; normsThreaded: number[]; hash: string; moved: number })[];
  mlp: Diff & { lossesSingle: number[]; lossesThreaded: number[]; hash: string };
}

interface BenchResult {
  threads: number;
  hardwareConcurrency: number;
  /** Per round: plain-JS busy work done by 2 workers over 1, at the time (the ceiling). */
  parallelism: number[];
  rows: { case: string; build: string; round: number; ms: number }[];
}

interface TrapResult {
  trapError: string;
  otherStore: string;
  disposed: boolean;
  after: number[];
  info: ContextResult['info'];
}

const MLP_STEPS = 5;

describe.skipIf(!run)('threaded WASM in headless Chromium', () => {
  let served: Served;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;
  let origin: string;

  beforeAll(async () => {
    served = await serveTest();
    origin = served.origin;
    browser = await launch({ args: EXTRA_FLAGS });
    context = browser.context;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  async function open(kind: 'iso' | 'plain'): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/${kind}/`);
    return { page, errors };
  }

  /** Runs one task in a fresh dedicated worker of `page`; its pool workers end with it. */
  async function inWorker<T>(page: Page, kind: 'iso' | 'plain', message: object): Promise<T> {
    // A string, so vitest's transform leaves the page's own code alone.
    const got = (await page.evaluate(`new Promise((resolve) => {
      const w = new Worker('/${kind}/test/threads-worker.js', { type: 'module' });
      w.onmessage = (e) => { w.terminate(); resolve(e.data); };
      w.onerror = (e) => resolve({ error: 'worker failed: ' + (e.message || 'error event') });
      w.postMessage(${JSON.stringify(message)});
    })`)) as { ok?: T; error?: string };
    if (got.error !== undefined) throw new Error(got.error);
    return got.ok as T;
  }

  it('a cross-origin isolated worker gets the threaded build; the page itself and other pages the single one', async () => {
    const { page, errors } = await open('iso');
    expect(await page.evaluate('crossOriginIsolated')).toBe(true);
    const worker = await inWorker<ContextResult>(page, 'iso', { task: 'context' });
    expect(worker.isolated).toBe(true);
    expect(worker.active).toBe('wasm');
    expect(worker.threadedClass).toBe(true);
    expect(worker.info.threads).toBe(worker.hardwareConcurrency);
    expect(worker.info.threads).toBeGreaterThanOrEqual(2);
    expect(worker.wasm.note).toMatch(/^threaded build: a pool of \d+ Web Workers/);
    expect(worker.info.threading).toBe(worker.wasm.note);

    // The page's main thread may not block: single-threaded, and the report says why.
    const main = (await page.evaluate(`(async () => {
      const m = await import('/iso/dist/index.js');
      const { backend, report } = await m.selectBackend();
      return { active: report.active, wasm: report.backends.wasm, info: backend.info(),
               threadedClass: backend instanceof m.WasmThreadsBackend };
    })()`)) as { active: string; wasm: WasmStatus; info: ContextResult['info']; threadedClass: boolean };
    expect(main.active).toBe('wasm');
    expect(main.threadedClass).toBe(false);
    expect(main.info.threads).toBe(1);
    expect(main.wasm.note).toMatch(/^single-threaded build: this thread may not block/);
    expect(errors).toEqual([]);
    await page.close();

    // Without the two headers: not isolated, so the worker falls back to the single-threaded build.
    const plain = await open('plain');
    expect(await plain.page.evaluate('crossOriginIsolated')).toBe(false);
    const w = await inWorker<ContextResult>(plain.page, 'plain', { task: 'context' });
    expect(w.isolated).toBe(false);
    expect(w.active).toBe('wasm');
    expect(w.threadedClass).toBe(false);
    expect(w.info.threads).toBe(1);
    expect(w.wasm.note).toMatch(/^single-threaded build: the page is not cross-origin isolated/);
    expect(plain.errors).toEqual([]);
    await plain.page.close();
  }, 120_000);

  it('the threaded build gives the single build’s bits: large steps with parallel reductions, and MLP training', async () => {
    const { page, errors } = await open('iso');
    const got = await inWorker<AgreeResult>(page, 'iso', { task: 'agree', mlpSteps: MLP_STEPS });
    expect(got.threads).toBeGreaterThanOrEqual(2);
    expect(got.singleThreads).toBe(1);
    expect(got.steps.map((s) => s.name)).toEqual(STEP_CASES.map((c) => c.name));
    for (const s of got.steps) {
      expect(s.moved, s.name).toBeGreaterThan(0);
      expect(s.differing, s.name).toBe(0);
      expect(s.normsThreaded, s.name).toEqual(s.normsSingle);
    }
    // gemm splits a product's output between threads, never its k sum: the same bits too.
    expect(got.mlp.lossesThreaded).toEqual(got.mlp.lossesSingle);
    expect(got.mlp.differing).toBe(0);
    expect(got.mlp.lossesSingle.every(Number.isFinite)).toBe(true);
    expect(got.mlp.lossesSingle.at(-1)).toBeLessThan(got.mlp.lossesSingle[0]);
    expect(errors).toEqual([]);
    await page.close();

    // And Node's wasm backend (the single build, another engine instance) computes the same bits.
    const node = await loadWasm();
    const first = STEP_CASES[0];
    expect(hashOf(runSteps(lib, node, first).params)).toBe(got.steps[0].hash);
    expect(hashOf(runMlp(lib, node, MLP_STEPS).params)).toBe(got.mlp.hash);
  }, 180_000);

  it('a trap in the threaded instance ends its stores and later stores run single-threaded', async () => {
    const { page } = await open('iso');
    const got = await inWorker<TrapResult>(page, 'iso', { task: 'trap' });
    expect(got.trapError).toMatch(/^BackendError: wasm backend: the store's WebAssembly instance trapped/);
    expect(got.otherStore).toMatch(/^BackendError: wasm backend: .*trapped/);
    expect(got.disposed).toBe(true);
    expect(got.info.threads).toBe(1);
    expect(got.info.threading).toMatch(/^single-threaded build: the threaded instance trapped/);
    // The new store steps as the single build does in Node.
    const s = new lib.ParamStore(await loadWasm(), { w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
    const opt = new lib.Adam(s, { lr: 0.1 });
    s.setGrad('w', [1, -2, 3, -4, 5]);
    opt.step();
    expect(got.after).toEqual(Array.from(s.get('w')));
    await page.close();
  }, 120_000);

  it('loading errors are typed and name the cause; a plain page cannot load the threaded build', async () => {
    const { page } = await open('iso');
    const got = await inWorker<Record<string, string>>(page, 'iso', { task: 'failures' });
    expect(got.threads).toMatch(/^RangeError: options\.threads: must be an integer in \[1, 256\], got 0/);
    expect(got.workerScript).toMatch(
      /^BackendError: wasm backend: the threaded build's pool did not start: pool thread \d+ could not load its script/,
    );
    expect(got.singleModule).toMatch(
      /^BackendError: wasm backend: cannot compile the threaded module: the module imports no memory/,
    );
    await page.close();
    const plain = await open('plain');
    const p = await inWorker<Record<string, string>>(plain.page, 'plain', { task: 'failures' });
    expect(p.workerScript).toMatch(
      /^BackendError: wasm backend: the threaded build cannot run here: the page is not cross-origin isolated/,
    );
    await plain.page.close();
  }, 120_000);

  it('a store that is never disposed gives its memory back once collected', async () => {
    const { page } = await open('iso');
    const got = await inWorker<{ before: number; held: number; after: number }>(page, 'iso', { task: 'forgotten' });
    expect(got.held - got.before).toBeGreaterThanOrEqual(2 * 4 * 1_000_000); // params and grads
    expect(got.after).toBe(got.before);
    await page.close();
  }, 120_000);

  it('times single vs threaded (written to bench/results/wasm-threads.json, never asserted)', async () => {
    const { page } = await open('iso');
    const rounds = 5;
    const loadBefore = loadavg()[0];
    const got = await inWorker<BenchResult>(page, 'iso', { task: 'bench', rounds });
    await page.close();
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const cases = [...new Set(got.rows.map((r) => r.case))];
    const table = cases.map((c) => {
      const ms = (build: string) => median(got.rows.filter((r) => r.case === c && r.build === build).map((r) => r.ms));
      const single = ms('single');
      const threaded = ms('threaded');
      const pool1 = ms('threaded-1');
      return { case: c, singleMs: single, threadedMs: threaded, pool1Ms: pool1, speedup: single / threaded };
    });
    const out = {
      command: 'npx vitest run test/browser/threads.test.ts',
      date: new Date().toISOString(),
      browser: execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      poolThreads: got.threads,
      // Other processes compete for the cores: under load, more threads also means a larger share.
      loadAverage: { before: loadBefore, after: loadavg()[0] },
      // What 2 workers of plain JavaScript got done over 1 in the same rounds: the machine's offer.
      jsParallelism: median(got.parallelism),
      jsParallelismRounds: got.parallelism,
      rounds,
      note:
        'ms per step, median of the rounds; builds take turns within a round; speedup = single / threaded; ' +
        'threaded-1 is the threaded build on a pool of one thread; one run on a shared machine',
      cases: table,
      rows: got.rows,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wasm threads: plain JS busy work, 2 workers over 1: ${median(got.parallelism).toFixed(2)}x`);
    for (const r of table) {
      console.log(
        `wasm threads: ${r.case}: single ${r.singleMs.toFixed(2)} ms, threaded on ${got.threads} ` +
          `${r.threadedMs.toFixed(2)} ms (${r.speedup.toFixed(2)}x), threaded on 1 ${r.pool1Ms.toFixed(2)} ms`,
      );
    }
    expect(table.map((r) => r.case)).toEqual(['adam_1e6', 'adam_4e6', 'mlp_784_256_10']);
    expect(table.every((r) => r.singleMs > 0 && r.threadedMs > 0 && r.pool1Ms > 0)).toBe(true);
  }, 300_000);
});
