/** `minimize()` and the study card's linear-regression example, against closed-form references. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimize } from '../ts/index.js';
import { Rng } from '../ts/random.js';
import { backends, ROOT } from './helpers.js';

const { ready } = await backends();

/** The example's data and its exact least-squares fit (normal equations), computed here. */
function reference(): { slope: number; intercept: number; mse: number } {
  const rng = new Rng(42);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 100; i++) {
    x.push(rng.normal());
    y.push(3 * x[i] + 2 + 0.1 * rng.normal());
  }
  const mx = x.reduce((a, b) => a + b) / 100;
  const my = y.reduce((a, b) => a + b) / 100;
  const sxy = x.reduce((s, xi, i) => s + (xi - mx) * (y[i] - my), 0);
  const sxx = x.reduce((s, xi) => s + (xi - mx) ** 2, 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const mse = x.reduce((s, xi, i) => s + (y[i] - slope * xi - intercept) ** 2, 0) / 100;
  return { slope, intercept, mse };
}

describe('the study card linear regression (examples/linear-regression.mjs)', () => {
  const ref = reference();
  it('the data are y = 3x + 2 + small noise', () => {
    expect(ref.slope).toBeCloseTo(3, 1);
    expect(ref.intercept).toBeCloseTo(2, 1);
  });
  for (const name of ready.map((b) => b.name)) {
    for (const optimizer of ['sgd', 'adam']) {
      it(`fits slope and intercept with ${optimizer} on ${name}`, () => {
        const out = execFileSync(
          process.execPath,
          [join(ROOT, 'examples', 'linear-regression.mjs'), '--json', '--backend', name, '--optimizer', optimizer],
          { encoding: 'utf8' },
        );
        const r = JSON.parse(out);
        expect(r.backend).toBe(name);
        const tol = optimizer === 'sgd' ? 1e-4 : 2e-2;
        expect(Math.abs(r.slope - ref.slope)).toBeLessThan(tol);
        expect(Math.abs(r.intercept - ref.intercept)).toBeLessThan(tol);
        expect(r.history[0]).toBeGreaterThan(10 * r.history[r.history.length - 1]);
        expect(r.history[r.history.length - 1]).toBeLessThan(ref.mse * (optimizer === 'sgd' ? 1.0001 : 1.05));
      });
    }
  }
});

describe('minimize', () => {
  it('stops on tol, returns the loss history, and uses the requested backend', async () => {
    for (const b of ready) {
      const r = await minimize({
        loss: (x) => (x[0] - 3) ** 2,
        grad: (x) => [2 * (x[0] - 3)],
        x0: [0],
        optimizer: { type: 'sgd', lr: 0.25 },
        maxIters: 1000,
        tol: 1e-6,
        backend: b.name,
      });
      expect(r.backend).toBe(b.name);
      expect(r.converged).toBe(true);
      expect(r.iterations).toBeLessThan(40);
      expect(r.history).toHaveLength(r.iterations + 1);
      expect(r.history[0]).toBe(9);
      expect(r.x[0]).toBeCloseTo(3, 5);
      // Each GD step on this parabola halves the distance: the loss falls by 4×.
      expect(r.history[1]).toBeCloseTo(9 / 4, 5);
    }
  });

  it('accepts an optimizer factory', async () => {
    const { SGD } = await import('../ts/optim/sgd.js');
    const r = await minimize({
      loss: (x) => x[0] ** 2 + x[1] ** 2,
      grad: (x) => [2 * x[0], 2 * x[1]],
      x0: [1, -1],
      optimizer: (p) => new SGD(p, { lr: 0.1, momentum: 0.5 }),
      maxIters: 200,
    });
    expect(Math.hypot(r.x[0], r.x[1])).toBeLessThan(1e-3);
  });

  it('rejects bad arguments by name', async () => {
    const base = { loss: () => 0, grad: () => [0], x0: [0] };
    await expect(minimize({ ...base, loss: 1 as never })).rejects.toThrow(/^loss: /);
    await expect(minimize({ ...base, maxIters: -1 })).rejects.toThrow(RangeError);
    await expect(minimize({ ...base, tol: NaN })).rejects.toThrow(/^tol: /);
    await expect(minimize({ ...base, x0: [Number('x') as number, 'a' as never] })).rejects.toThrow(
      /^x0\[0\]: must be finite, got NaN/,
    );
    await expect(minimize({ ...base, grad: () => [1, 2] })).rejects.toThrow(/^grad\(x\): length 2 must equal/);
    await expect(minimize({ ...base, optimizer: { type: 'nosuch' } })).rejects.toThrow(
      /^optimizer.type: unknown optimizer "nosuch"/,
    );
    await expect(minimize({ ...base, optimizer: { type: 'adam', betas: [0.9, 0.99] } })).rejects.toThrow(
      /^options\.betas: is not an option of Adam; did you mean beta1, beta2\?/,
    );
    await expect(minimize({ ...base, learningRate: 0.1 } as never)).rejects.toThrow(
      /^options\.learningRate: is not an option of minimize/,
    );
  });
});
