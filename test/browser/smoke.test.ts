// Browser smoke test: the package's browser entry and wasm module, loaded by a plain page in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), give bit-identical
// results to Node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWasm } from '../../ts/backend/wasm.js';
import { fileIn, hasChromium, launch, serve, type Served } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WASM_DIR = join(ROOT, 'bindings', 'wasm');
const DIST_DIR = join(ROOT, 'dist');
const PAGE = fileURLToPath(new URL('./page.html', import.meta.url));
const built = existsSync(join(WASM_DIR, 'downhill_wasm_bg.wasm'));
const run = (built && hasChromium) || process.env.CI === 'true';

describe.skipIf(!run)('wasm in headless Chromium', () => {
  let served: Served;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;

  beforeAll(async () => {
    // `/` the page, `/bindings/wasm/*` and the compiled package in `/dist/*`.
    served = await serve((path) => {
      if (path === '/' || path === '/index.html') return { file: PAGE };
      for (const [prefix, dir] of [
        ['/bindings/wasm/', WASM_DIR],
        ['/dist/', DIST_DIR],
      ] as const) {
        const file = path.startsWith(prefix) ? fileIn(dir, path.slice(prefix.length)) : null;
        if (file) return { file };
      }
      return null;
    });
    browser = await launch();
    context = browser.context;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  it('the browser entry (dist/browser/index.js, an ES module) picks wasm in the browser and matches Node', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`));
    await page.goto(`${served.origin}/`);
    // A string, so vitest's transform leaves the page's own `import()` alone.
    const got = (await page.evaluate(`(async () => {
      const m = await import('/dist/browser/index.js');
      const { report } = await m.selectBackend();
      const s = await m.ParamStore.create({ w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
      const opt = new m.AdamW(s, { lr: 0.01, amsgrad: true });
      for (let t = 0; t < 3; t++) {
        s.setGrad('w', [0.2 * t, -0.7, 1.5, -0.05, 0.4 / (t + 1)]);
        opt.step();
      }
      const d = await m.ParamStore.create({ v: { shape: [3], init: [1, 2, 3] } }, { dtype: 'float64' });
      const sgd = new m.SGD(d, { lr: 0.1, momentum: 0.9 });
      d.setGrad('v', [0.1, 0.2, 0.3]);
      sgd.step();
      sgd.step();
      return { active: report.active, native: report.backends.native, used: s.backend.name, w: Array.from(s.get('w')),
               v: Array.from(d.get('v')), info: s.backend.info() };
    })()`)) as {
      active: string;
      native: { available: boolean; reason: string };
      used: string;
      w: number[];
      v: number[];
      info: { simd: string };
    };
    expect(errors).toEqual([]);
    expect(got.info.simd).toBe('simd128');
    expect(got.active).toBe('wasm');
    expect(got.used).toBe('wasm');
    expect(got.native.available).toBe(false);
    expect(got.native.reason).toMatch(/needs Node\.js; this is the browser build/);

    const { ParamStore } = await import('../../ts/params.js');
    const { AdamW } = await import('../../ts/optim/adamw.js');
    const s = new ParamStore(await loadWasm(), { w: { shape: [5], init: [0.5, -1.25, 3, 0.1, -0.3] } });
    const opt = new AdamW(s, { lr: 0.01, amsgrad: true });
    for (let t = 0; t < 3; t++) {
      s.setGrad('w', [0.2 * t, -0.7, 1.5, -0.05, 0.4 / (t + 1)]);
      opt.step();
    }
    expect(got.w).toEqual(Array.from(s.get('w')));
    const d = new ParamStore(await loadWasm(), { v: { shape: [3], init: [1, 2, 3] } }, { dtype: 'float64' });
    const { SGD } = await import('../../ts/optim/sgd.js');
    const sgd = new SGD(d, { lr: 0.1, momentum: 0.9 });
    d.setGrad('v', [0.1, 0.2, 0.3]);
    sgd.step();
    sgd.step();
    expect(got.v).toEqual(Array.from(d.get('v')));
    await page.close();
  }, 60_000);
});
