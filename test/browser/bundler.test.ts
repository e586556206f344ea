/**
 * The bundler check: a tiny page that imports `downhill` from the packed tarball (installed into a
 * temporary project by test/pack.ts, never from this repository's sources), built by Vite with
 * its defaults, served as static files and run in headless Chromium (Debian's /usr/bin/chromium
 * driven by playwright-core). Vite must take the browser entry, emit the .wasm file as an asset and
 * build without a warning; the page must fetch that file, pick WASM, and give the same bits as
 * Node for the same Adam run, with no console error and no failed request.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { build, createLogger, type Rollup } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../../ts/index.js';
import { CI, ROOT } from '../helpers.js';
import { ADAM_RUN, packAndInstall, type Installed } from '../pack.js';
import { hasChromium, launch, serveDir, type Served } from './chromium.js';

const built =
  existsSync(join(ROOT, 'dist', 'browser', 'index.js')) &&
  existsSync(join(ROOT, 'bindings', 'wasm', 'downhill_wasm_bg.wasm'));
const run = (built && hasChromium) || CI;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>downhill in a Vite build</title>
<link rel="icon" href="data:,">
<script type="module" src="/main.js"></script>
`;

const MAIN = `import * as downhill from 'downhill';
import { adamRun } from './run.js';

window.result = (async () => {
  const { report } = await downhill.selectBackend();
  const float32 = await adamRun(downhill, undefined, 'float32');
  const float64 = await adamRun(downhill, undefined, 'float64');
  const store = await downhill.ParamStore.create({ w: [1] });
  const info = store.backend.info();
  store.dispose();
  return { report, info, float32, float64 };
})().catch((e) => ({ error: String(e && e.stack) }));
`;

interface PageResult {
  error?: string;
  report: { active: string; backends: { native: { available: boolean; reason: string } } };
  info: { name: string; simd: string };
  float32: { used: string; hex: string };
  float64: { used: string; hex: string };
}

describe.skipIf(!run)('a Vite build of a page importing the packed package, in headless Chromium', () => {
  let inst: Installed;
  let out: string;
  let output: Rollup.RollupOutput;
  const warnings: string[] = [];
  let served: Served;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;

  beforeAll(async () => {
    inst = packAndInstall();
    const app = inst.app;
    writeFileSync(join(app, 'index.html'), PAGE);
    writeFileSync(join(app, 'main.js'), MAIN);
    writeFileSync(join(app, 'run.js'), ADAM_RUN);
    out = join(app, 'dist');

    // Vite's defaults (client build: the browser condition, asset handling of
    // new URL('…', import.meta.url)); every warning is recorded and fails the test below.
    const logger = createLogger('warn', { allowClearScreen: false });
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    logger.error = (msg) => void warnings.push(`error: ${msg}`);
    const t = Date.now();
    output = (await build({
      root: app,
      configFile: false,
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir: out, emptyOutDir: true },
    })) as Rollup.RollupOutput;
    console.log(
      `bundler check: pack + offline install ${inst.ms.pack + inst.ms.packDependencies + inst.ms.install} ms, vite build ${Date.now() - t} ms`,
    );

    served = await serveDir(out);
    browser = await launch();
    context = browser.context;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    inst?.dispose();
  });

  it('bundles the browser entry without a warning and emits the .wasm file as an asset', () => {
    expect(warnings).toEqual([]);
    const names = output.output.map((o) => o.fileName);
    // Two assets: the single-threaded build, and the threaded one (loaded only in a cross-origin
    // isolated worker), each byte for byte the package's file; the pool worker as a chunk.
    const wasm = names.filter((n) => n.endsWith('.wasm'));
    expect(wasm).toHaveLength(2);
    for (const w of wasm) expect(w).toMatch(/^assets\/downhill_wasm_bg-[\w-]+\.wasm$/);
    const shipped = (build: string) =>
      readFileSync(join(inst.app, 'node_modules', 'downhill', 'bindings', build, 'downhill_wasm_bg.wasm'));
    const emitted = wasm.map((w) => readFileSync(join(out, w)));
    const single = emitted.findIndex((b) => b.equals(shipped('wasm')));
    const threaded = emitted.findIndex((b) => b.equals(shipped('wasm-threads')));
    expect([single, threaded].sort()).toEqual([0, 1]);
    expect(names.some((n) => /wasm-threads-worker[\w-]*\.js$/.test(n))).toBe(true);
    const js = output.output
      .filter((o): o is Rollup.OutputChunk => o.type === 'chunk')
      .map((c) => c.code)
      .join('\n');
    for (const w of wasm) expect(js).toContain(w.slice('assets/'.length));
    // The browser entry, not the Node one: no addon loader, nothing imported from Node.
    const nodeish = js.match(
      /downhill\.[\w-]+\.node\b|createRequire|\brequire\(|(?:from|import\()\s*["'](?:node:|fs\b|os\b|path\b)|__vite-browser-external/g,
    );
    expect(nodeish).toBeNull();
    expect(readdirSync(out).sort()).toEqual(['assets', 'index.html']);
  });

  it('runs in the page on WASM, loads the .wasm, and gives the bits Node gives', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    const wasmResponses: { url: string; status: number; type: string | undefined }[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.url().endsWith('.wasm'))
        wasmResponses.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] });
      else if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(`${served.origin}/`);
    const got = (await page.evaluate('window.result')) as PageResult;
    await page.close();

    expect(got.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(wasmResponses).toHaveLength(1);
    expect(wasmResponses[0]).toMatchObject({ status: 200, type: 'application/wasm' });
    expect(wasmResponses[0].url).toMatch(/\/assets\/downhill_wasm_bg-[\w-]+\.wasm$/);
    expect(got.report.active).toBe('wasm');
    expect(got.report.backends.native.available).toBe(false);
    expect(got.info).toMatchObject({ name: 'wasm', simd: 'simd128' });

    // Node: the same run from this repository's sources, on WASM and on the pure-TS mirror.
    const { adamRun } = (await import(pathToFileURL(join(inst.app, 'run.js')).href)) as {
      adamRun: (d: unknown, backend: string | undefined, dtype: string) => Promise<{ used: string; hex: string }>;
    };
    for (const dtype of ['float32', 'float64'] as const) {
      const wasm = await adamRun(repo, 'wasm', dtype);
      const js = await adamRun(repo, 'js', dtype);
      expect(wasm.hex).toBe(js.hex);
      expect(got[dtype]).toEqual({ used: 'wasm', hex: wasm.hex });
    }
  }, 60_000);
});
