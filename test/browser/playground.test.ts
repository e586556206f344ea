// The playground (playground/), built with Vite into a temporary folder, served by a tiny HTTP
// server and clicked through in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). What the page computes is checked against the same runs in Node through the
// library: the optimizer paths bit for bit on every backend built here (the page runs WASM),
// the MNIST training's batch losses, test accuracy and a prediction bit for bit on WASM. Any
// console error or uncaught page error fails the test. Screenshots (desktop and 375 px wide) go
// to test-artifacts/playground/ (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, functionById, settingsOf } from '../../playground/src/functions.js';
import type { Backend } from '../../ts/backend/types.js';
import {
  cosineAnnealing,
  createOptimizer,
  Model,
  ParamStore,
  predictClasses,
  warmup,
  type AnyOptimizer,
  type Schedule,
} from '../../ts/index.js';
import { loadMnist } from '../../ts/node.js';
import { backends, ROOT } from '../helpers.js';
import { hasChromium, launch, serveDir, type Served } from './chromium.js';

const built = existsSync(join(ROOT, 'bindings', 'wasm', 'downhill_wasm_bg.wasm'));
const run = (built && hasChromium) || process.env.CI === 'true';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'playground');

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 812 };

interface Row {
  optimizer: string;
  steps: number;
  x: number;
  y: number;
  status: string;
  options: Record<string, unknown>;
}

async function rows(page: Page): Promise<Row[]> {
  const raw = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
  return raw.map((d) => ({
    optimizer: d.optimizer as string,
    steps: Number(d.steps),
    x: Number(d.x),
    y: Number(d.y),
    status: d.status as string,
    options: JSON.parse(d.options as string) as Record<string, unknown>,
  }));
}

/** Every form control has a label (or an aria-label), every button a name. */
async function unlabelled(page: Page): Promise<string[]> {
  return page.$$eval('input, select, button', (els) =>
    els
      .filter((e) => {
        const named = (e.getAttribute('aria-label') ?? '').trim() !== '';
        if (e instanceof HTMLButtonElement) return !named && (e.textContent ?? '').trim() === '';
        return !named && ((e as HTMLInputElement).labels?.length ?? 0) === 0;
      })
      .map((e) => e.outerHTML.slice(0, 120)),
  );
}

/** The same run in Node: one store per optimizer, the page's gradient, `steps` steps. */
async function nodeRun(
  backend: Backend,
  o: { optimizer: string; options: Record<string, unknown>; start: [number, number]; steps: number },
  schedule: ((lr: number) => Schedule) | null,
): Promise<[number, number]> {
  const fn = functionById('rosenbrock');
  const settings = settingsOf(fn);
  const store = new ParamStore(backend, { xy: { shape: [2], init: o.start } });
  const options = { ...o.options };
  if (schedule && typeof options.lr === 'number') options.lr = schedule(options.lr);
  const opt: AnyOptimizer & { closureRequired?: boolean } = createOptimizer(o.optimizer, store, options);
  const closure = () => {
    const [x, y] = store.get('xy');
    store.setGrad('xy', fn.grad(x, y, settings));
    return fn.value(x, y, settings);
  };
  for (let t = 0; t < o.steps; t++) {
    if (opt.closureRequired) opt.step(closure);
    else {
      closure();
      opt.step();
    }
  }
  const [x, y] = store.get('xy');
  store.dispose();
  return [x, y];
}

describe("the playground's 2-D functions (the page's own model)", () => {
  it('have the gradients of their values (central differences) and their minima where they say', () => {
    for (const fn of FUNCTIONS) {
      const p = settingsOf(fn);
      const [x0, x1, y0, y1] = fn.view;
      for (let i = 0; i < 25; i++) {
        // A fixed grid of points over the plotted square, off its symmetry lines.
        const x = x0 + ((i % 5) + 0.37) * ((x1 - x0) / 5);
        const y = y0 + (Math.floor(i / 5) + 0.61) * ((y1 - y0) / 5);
        const h = 1e-6;
        const fd = [
          (fn.value(x + h, y, p) - fn.value(x - h, y, p)) / (2 * h),
          (fn.value(x, y + h, p) - fn.value(x, y - h, p)) / (2 * h),
        ];
        const g = fn.grad(x, y, p);
        const scale = Math.max(1, Math.abs(fd[0]), Math.abs(fd[1]));
        expect(Math.abs(g[0] - fd[0]) / scale, `${fn.id} ∂x at (${x}, ${y})`).toBeLessThan(1e-6);
        expect(Math.abs(g[1] - fd[1]) / scale, `${fn.id} ∂y at (${x}, ${y})`).toBeLessThan(1e-6);
        expect(fn.value(x, y, p)).toBeGreaterThanOrEqual(fn.fmin);
      }
      for (const [mx, my] of fn.minima) {
        expect(fn.value(mx, my, p), `${fn.id} f at (${mx}, ${my})`).toBeCloseTo(fn.fmin, 9);
        const g = fn.grad(mx, my, p);
        expect(Math.hypot(g[0], g[1]), `${fn.id} gradient at (${mx}, ${my})`).toBeLessThan(1e-4);
      }
    }
  });
});

describe.skipIf(!run)('the playground in headless Chromium', () => {
  let out: string;
  let served: Served;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;
  let url: string;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'downhill-playground-'));
    await build({
      configFile: join(ROOT, 'playground', 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir: out, emptyOutDir: true },
    });
    served = await serveDir(out);
    url = `${served.origin}/`;
    browser = await launch({ viewport: DESKTOP });
    context = browser.context;
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  /** A page whose console errors and uncaught errors are collected (each test expects none). */
  async function open(query = ''): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    await page.goto(url + query);
    return { page, errors };
  }

  async function phoneShot(page: Page, file: string): Promise<number> {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
    await page.setViewportSize(DESKTOP);
    return width;
  }

  it('runs Adam and SGD on Rosenbrock: the final points are the ones Node computes on every backend', async () => {
    const { page, errors } = await open();
    await page.waitForSelector('#backend[data-backend="wasm"]');
    expect(await page.textContent('#backend')).toMatch(/on WebAssembly \(simd128/);
    expect(await unlabelled(page)).toEqual([]);

    // The page as it opens, run once with its defaults: the README's screenshot (docs/playground.png).
    await page.setViewportSize({ width: DESKTOP.width, height: 1240 });
    await page.fill('#speed', '100');
    await page.click('#run');
    await page.waitForSelector('#paths-status[data-state="done"]', { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'paths-desktop.png') });
    await page.setViewportSize(DESKTOP);

    // Another function first, then back: the settings follow the choice.
    await page.selectOption('#fn', 'himmelblau');
    expect(await page.inputValue('#start-x')).toBe('-0.5');
    await page.selectOption('#fn', 'rosenbrock');
    while ((await page.locator('#runs .remove').count()) > 0) await page.locator('#runs .remove').first().click();
    expect(await rows(page)).toEqual([]);

    await page.selectOption('#add-optimizer', 'Adam');
    await page.click('#add-run');
    const adam = page.locator('#runs fieldset[data-optimizer="Adam"]');
    await adam.locator('input[data-option="lr"]').fill('0.05');
    await adam.locator('summary').click();
    await adam.locator('input[data-option="beta2"]').fill('0.99');
    await page.selectOption('#add-optimizer', 'SGD');
    await page.click('#add-run');
    const sgd = page.locator('#runs fieldset[data-optimizer="SGD"]');
    await sgd.locator('input[data-option="lr"]').fill('0.0008');
    await sgd.locator('input[data-option="momentum"]').fill('0.9');
    await sgd.locator('summary').click();
    await sgd.locator('input[data-option="nesterov"]').check();
    // An option out of its domain: the run fails with the library's message, naming the option.
    await adam.locator('input[data-option="lr"]').fill('-1');
    await page.fill('#steps', '5');
    await page.click('#run');
    await page.waitForSelector('#paths-status[data-state="done"]', { timeout: 30_000 });
    expect((await rows(page)).map((r) => r.status)).toEqual(['failed', 'done']);
    expect(await adam.locator('.error').textContent()).toMatch(/^options\.lr: must be >= 0, got -1/);
    await adam.locator('input[data-option="lr"]').fill('0.05');

    await page.fill('#start-x', '-1.2');
    await page.fill('#start-y', '1');
    await page.fill('#steps', '300');
    await page.selectOption('#dtype', 'float32');
    await page.selectOption('#schedule', 'warmup-cosine');
    await page.fill('#schedule-warmupSteps', '20');
    // Run from the keyboard.
    await page.focus('#run');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#paths-status[data-state="done"]', { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'paths-rosenbrock-adam-sgd.png') });
    const got = await rows(page);
    expect(got.map((r) => [r.optimizer, r.steps, r.status])).toEqual([
      ['Adam', 300, 'done'],
      ['SGD', 300, 'done'],
    ]);
    expect(got[0].options).toMatchObject({ lr: 0.05, beta2: 0.99 });
    expect(got[1].options).toMatchObject({ lr: 0.0008, momentum: 0.9, nesterov: true });

    const schedule = (lr: number) => warmup({ lr, warmupSteps: 20, then: cosineAnnealing({ lr, tMax: 280 }) });
    const { ready } = await backends();
    expect(ready.map((b) => b.name)).toContain('wasm');
    const rosen = functionById('rosenbrock');
    for (const r of got) {
      for (const b of ready) {
        const [x, y] = await nodeRun(
          b,
          { optimizer: r.optimizer, options: r.options, start: [-1.2, 1], steps: 300 },
          schedule,
        );
        // Bit for bit: the same element-wise float32 math on every backend, the same gradients.
        expect({ run: r.optimizer, backend: b.name, x: r.x, y: r.y }).toEqual({
          run: r.optimizer,
          backend: b.name,
          x,
          y,
        });
      }
      // And the runs went downhill: f(−1.2, 1) = 24.2 at the start.
      expect(rosen.value(r.x, r.y, settingsOf(rosen))).toBeLessThan(rosen.value(-1.2, 1, settingsOf(rosen)) / 4);
    }

    expect(await phoneShot(page, 'paths-phone.png')).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('trains an MLP on MNIST in the page: the same batch losses, test accuracy and prediction as Node', async () => {
    const { page, errors } = await open();
    await page.waitForSelector('#backend[data-backend="wasm"]');
    // The tablist from the keyboard: arrow right moves to (and focuses) the MNIST tab.
    await page.focus('#tab-paths');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('#tab-mnist', 'aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-mnist');
    expect(await page.isVisible('#panel-mnist')).toBe(true);
    expect(await page.isHidden('#panel-paths')).toBe(true);
    await page.waitForSelector('#mnist-status[data-state="ready"]', { timeout: 30_000 });
    expect(await unlabelled(page)).toEqual([]);

    const steps = 40;
    await page.selectOption('#mnist-optimizer', { label: 'Adam' });
    await page.fill('#mnist-lr', '0.004');
    await page.selectOption('#mnist-batch', '64');
    await page.fill('#mnist-steps', String(steps));
    await page.fill('#mnist-seed', '3');
    await page.click('#mnist-train');
    await page.waitForSelector('#mnist-result[data-state="done"]', { state: 'attached', timeout: 60_000 });
    const result = await page.$eval('#mnist-result', (e) => ({ ...(e as HTMLElement).dataset }));
    const losses = JSON.parse(result.losses as string) as number[];
    expect(losses).toHaveLength(steps);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.6 * mean(losses.slice(0, 10)));
    const accuracy = Number(result.testAccuracy);
    expect(accuracy).toBeGreaterThan(0.5);
    expect(accuracy).toBeLessThanOrEqual(1);

    // The same training in Node on WASM: the page's digits, batches, model and optimizer.
    const { train, test } = loadMnist({ standardize: true });
    const model = await Model.create(
      { inputs: 784, layers: [{ out: 64, activation: 'relu' }, { out: 10 }], loss: { name: 'softmax_cross_entropy' } },
      { backend: 'wasm', seed: 3 },
    );
    const opt = createOptimizer('Adam', model.params, { lr: 0.004 });
    const dev = model.upload(train.x, train.y);
    const batches = train.batches(64, { seed: 3, epoch: 0 });
    const node: number[] = [];
    for (let i = 0; i < steps; i++) {
      node.push(model.trainStep(dev, batches[i]).loss);
      opt.step();
    }
    expect(losses).toEqual(node);
    const testDev = model.upload(test.x, test.y);
    const ev = model.evaluate(testDev);
    expect(accuracy).toBe((ev.correct as number) / test.rows);
    expect(Number(result.testLoss)).toBe(ev.loss);

    // A stroke on the canvas gives a prediction: one digit, probabilities that sum to 1.
    const box = (await page.locator('#draw').boundingBox()) as { x: number; y: number; width: number; height: number };
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) {
      await page.mouse.move(box.x + box.width * (0.5 + 0.004 * i), box.y + box.height * (0.15 + 0.06 * i));
    }
    await page.mouse.up();
    await page.waitForFunction(() => (document.getElementById('prediction') as HTMLElement).dataset.digit !== '');
    const digit = Number(await page.getAttribute('#prediction', 'data-digit'));
    const p = (await page.$$eval('#probabilities li', (lis) => lis.map((li) => Number(li.getAttribute('data-p'))))).map(
      Number,
    );
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(p.indexOf(Math.max(...p))).toBe(digit);

    // "Show a test digit" (from the keyboard) shows test row 97; Node's model predicts the same class.
    await page.focus('#draw-sample');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /labelled/.test(document.getElementById('prediction')?.textContent ?? ''));
    const shown = Number(await page.getAttribute('#prediction', 'data-digit'));
    expect(shown).toBe(predictClasses(model, test.subset([97]))[0]);
    expect(await page.textContent('#prediction')).toContain(`labelled ${test.y[97]}`);
    model.dispose();

    await page.screenshot({ path: join(ARTIFACTS, 'mnist-desktop.png') });
    expect(await phoneShot(page, 'mnist-phone.png')).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('falls back to the pure-TypeScript backend when WebAssembly fails, says so, and gives the same points', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    // A module that does not compile: the page must carry on with the TypeScript mirror.
    await page.route('**/*.wasm', (route) =>
      route.fulfill({ status: 200, contentType: 'application/wasm', body: 'not a wasm module' }),
    );
    await page.goto(url);
    await page.waitForSelector('#backend[data-backend="js"]');
    expect(await page.textContent('#backend')).toMatch(/pure-TypeScript backend.*WebAssembly failed to load/);
    await page.fill('#steps', '60');
    await page.fill('#speed', '100');
    await page.click('#run');
    await page.waitForSelector('#paths-status[data-state="done"]', { timeout: 30_000 });
    expect(await page.textContent('#paths-status')).toContain('pure TypeScript');
    const got = await rows(page);
    expect(got.length).toBeGreaterThanOrEqual(2);
    const start: [number, number] = [
      Number(await page.inputValue('#start-x')),
      Number(await page.inputValue('#start-y')),
    ];
    const { ready } = await backends();
    for (const r of got) {
      expect(r.status).toBe('done');
      for (const b of ready) {
        const [x, y] = await nodeRun(b, { optimizer: r.optimizer, options: r.options, start, steps: 60 }, null);
        expect({ run: r.optimizer, backend: b.name, x: r.x, y: r.y }).toEqual({
          run: r.optimizer,
          backend: b.name,
          x,
          y,
        });
      }
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
