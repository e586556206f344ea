// Browser smoke test: the same wasm module, loaded by a plain page in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), gives bit-identical results to Node.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNEL, SEG_STRIDE } from '../../ts/backend/types.js';
import { loadWasm } from '../../ts/backend/wasm.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WASM_DIR = join(ROOT, 'bindings', 'wasm');
const PAGE = fileURLToPath(new URL('./page.html', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const built = existsSync(join(WASM_DIR, 'downhill_wasm_bg.wasm'));
const run = (built && existsSync(CHROMIUM)) || process.env.CI === 'true';

// Flags this closed network needs (without them Chromium keeps trying to reach Google's hosts).
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

const DIST_DIR = join(ROOT, 'dist');

/** Serves `/` (the page), `/bindings/wasm/*` and the compiled package in `/dist/*`. */
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file: string | null = null;
    if (path === '/' || path === '/index.html') file = PAGE;
    else {
      for (const [prefix, dir] of [
        ['/bindings/wasm/', WASM_DIR],
        ['/dist/', DIST_DIR],
      ] as const) {
        if (!path.startsWith(prefix)) continue;
        const f = normalize(join(dir, path.slice(prefix.length)));
        if (f.startsWith(dir + sep) && existsSync(f)) file = f;
      }
    }
    if (file === null) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const f32bits = (xs: number[]) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));

// One Adam step (AMSGrad on the first segment, L2 decay, maximize on the second).
const INPUT = {
  kernel: KERNEL.Adam,
  segments: [
    [0, 3, 4, 0.01, 0.1, 0, 0.9, 0.999, 1e-8, 1],
    [3, 2, 1, 0.001, 0, 1, 0.8, 0.99, 1e-6, 0],
  ].flat(),
  params: [0.5, -1.25, 3, 0.1, -0.3],
  grads: [0.2, -0.7, 1.5, -0.05, 0.4],
  state: [
    [0.01, -0.02, 0.3, 0, 0],
    [0.001, 0.002, 0.5, 0, 0],
    [0.002, 0.001, 0.6, 0, 0],
  ],
};

describe.skipIf(!run)('wasm in headless Chromium', () => {
  let server: Server;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    server = await serve();
    profile = mkdtempSync(join(tmpdir(), 'downhill-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('one Adam step in the browser equals the same step in Node, bit for bit', async () => {
    expect(INPUT.segments.length).toBe(2 * SEG_STRIDE);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { pageReady?: boolean }).pageReady === true);
    const arg = {
      kernel: INPUT.kernel,
      segments: INPUT.segments,
      params: f32bits(INPUT.params),
      grads: f32bits(INPUT.grads),
      state: INPUT.state.map(f32bits),
    };
    type Out = { info: { simd: string }; params: number[]; state: number[][] };
    const got = await page.evaluate(
      (a) => (window as unknown as { runStep(x: typeof a): Promise<Out> }).runStep(a),
      arg,
    );
    expect(errors).toEqual([]);
    expect(got.info.simd).toBe('simd128');

    // The same step in Node through the backend.
    const be = await loadWasm();
    const buf = (xs: number[]) => {
      const b = be.alloc(xs.length);
      b.view().set(xs);
      return b;
    };
    const p = buf(INPUT.params);
    const g = buf(INPUT.grads);
    const s = INPUT.state.map(buf);
    be.step(INPUT.kernel, Float64Array.from(INPUT.segments), p, g, [s[0], s[1], s[2]]);
    const bitsOf = (b: { view(): Float32Array }) => Array.from(new Uint32Array(Float32Array.from(b.view()).buffer));
    expect(got.params).toEqual(bitsOf(p));
    expect(got.state).toEqual(s.map(bitsOf));
    expect(got.params).not.toEqual(arg.params); // the step did move the parameters
    await page.close();
  }, 60_000);

  it('the public API (dist/index.js as ES modules) picks wasm in the browser and matches Node', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    // A string, so vitest's transform leaves the page's own `import()` alone.
    const got = (await page.evaluate(`(async () => {
      const m = await import('/dist/index.js');
      const { report } = await m.selectBackend();
      const s = await m.ParamStore.create({ w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
      const opt = new m.AdamW(s, { lr: 0.01, amsgrad: true });
      for (let t = 0; t < 3; t++) {
        s.setGrad('w', [0.2 * t, -0.7, 1.5, -0.05, 0.4 / (t + 1)]);
        opt.step();
      }
      return { active: report.active, native: report.backends.native, used: s.backend.name, w: Array.from(s.get('w')) };
    })()`)) as { active: string; native: { available: boolean }; used: string; w: number[] };
    expect(errors).toEqual([]);
    expect(got.active).toBe('wasm');
    expect(got.used).toBe('wasm');
    expect(got.native.available).toBe(false);

    const { ParamStore } = await import('../../ts/params.js');
    const { AdamW } = await import('../../ts/optim/adamw.js');
    const s = new ParamStore(await loadWasm(), { w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
    const opt = new AdamW(s, { lr: 0.01, amsgrad: true });
    for (let t = 0; t < 3; t++) {
      s.setGrad('w', [0.2 * t, -0.7, 1.5, -0.05, 0.4 / (t + 1)]);
      opt.step();
    }
    expect(got.w).toEqual(Array.from(s.get('w')));
    await page.close();
  }, 60_000);
});
