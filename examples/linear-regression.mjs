#!/usr/bin/env node
// The study card's linear-regression example, through downhill's `minimize()`:
// y = 3x + 2 + noise (100 points), MSE loss, plain gradient descent with lr 0.1, 100 iterations.
// The card's own code fits only the slope although its comment expects slope ≈ 3 and
// intercept ≈ 2; here θ = [slope, intercept] and both are fitted.
//
//   node examples/linear-regression.mjs [--json] [--optimizer sgd|adam|adamw] [--backend native|wasm|js]
import { minimize, Rng } from '../dist/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const json = args.includes('--json');
const type = flag('optimizer', 'sgd');
const backend = flag('backend', undefined);

// Data: x ~ N(0, 1), y = 3x + 2 + 0.1·N(0, 1), from a fixed seed.
const rng = new Rng(42);
const N = 100;
const X = new Float64Array(N);
const Y = new Float64Array(N);
for (let i = 0; i < N; i++) {
  X[i] = rng.normal();
  Y[i] = 3 * X[i] + 2 + 0.1 * rng.normal();
}

// J(θ) = (1/N) Σ (y − (w·x + b))²
const loss = ([w, b]) => {
  let s = 0;
  for (let i = 0; i < N; i++) s += (Y[i] - (w * X[i] + b)) ** 2;
  return s / N;
};
// ∇J(θ) = −(2/N) Σ (y − ŷ)·[x, 1]
const grad = ([w, b]) => {
  let gw = 0;
  let gb = 0;
  for (let i = 0; i < N; i++) {
    const r = Y[i] - (w * X[i] + b);
    gw += r * X[i];
    gb += r;
  }
  return [(-2 / N) * gw, (-2 / N) * gb];
};

const lr = type === 'sgd' ? 0.1 : 0.3;
const result = await minimize({ loss, grad, x0: [0, 0], optimizer: { type, lr }, maxIters: 100, tol: 1e-6, backend });
const [w, b] = result.x;
const h = result.history;

if (json) {
  console.log(
    JSON.stringify({
      backend: result.backend,
      optimizer: type,
      slope: w,
      intercept: b,
      iterations: result.iterations,
      converged: result.converged,
      history: h,
    }),
  );
} else {
  console.log(`backend:        ${result.backend}`);
  console.log(`optimizer:      ${type} (lr ${lr})`);
  console.log(`fitted:         slope ${w.toFixed(4)}, intercept ${b.toFixed(4)}   (true: 3, 2)`);
  console.log(`iterations:     ${result.iterations}${result.converged ? ' (converged: step < 1e-6)' : ''}`);
  console.log(
    `loss curve:     ${h[0].toFixed(6)} → ${h[1].toFixed(6)} → ${h[2].toFixed(6)} … ${h[h.length - 2].toFixed(6)} → ${h[h.length - 1].toFixed(6)}`,
  );
}
