/**
 * `minimize`: the study card's `GradientDescent.optimize(loss_fn, grad_fn, theta_init)` loop with
 * any downhill optimizer: evaluate the loss, take the gradient, step, stop when the step moved the
 * parameters by less than `tol` (Euclidean norm) or after `maxIters` steps.
 */
import type { BackendChoice } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import { rangeError, typeError } from './errors.js';
import { Adam, type AdamOptions } from './optim/adam.js';
import { AdamW } from './optim/adamw.js';
import type { Optimizer } from './optim/optimizer.js';
import { SGD, type SGDOptions } from './optim/sgd.js';
import { checkValues, ParamStore } from './params.js';

/** An optimizer by name with its options, or a factory over the store `minimize` builds. */
export type OptimizerChoice =
  | ({ type: 'sgd' } & Partial<SGDOptions>)
  | ({ type: 'adam' | 'adamw' } & Partial<AdamOptions>)
  | ((params: ParamStore) => Optimizer<never> | Optimizer<SGDOptions> | Optimizer<AdamOptions>);

export interface MinimizeOptions {
  /** J(x). Receives a read-only view of the current parameters. */
  loss: (x: Float32Array) => number;
  /** ∇J(x), an array of x's length. */
  grad: (x: Float32Array) => ArrayLike<number>;
  /** Starting point. */
  x0: ArrayLike<number>;
  /** Default `{ type: 'sgd', lr: 0.01 }`, the study card's plain gradient descent. */
  optimizer?: OptimizerChoice;
  /** Default 1000. */
  maxIters?: number;
  /** Stop when ‖x_{t+1} − x_t‖₂ < tol. Default 1e-6; 0 disables. */
  tol?: number;
  backend?: BackendChoice;
}

export interface MinimizeResult {
  x: Float32Array;
  /** J(x_t) before each step t, then J at the solution. */
  history: number[];
  iterations: number;
  converged: boolean;
  backend: BackendName;
}

function build(
  choice: OptimizerChoice,
  store: ParamStore,
): Optimizer<never> | Optimizer<SGDOptions> | Optimizer<AdamOptions> {
  if (typeof choice === 'function') return choice(store);
  if (!choice || typeof choice !== 'object') throw typeError('optimizer', 'must be { type, ...options } or a factory');
  const { type, ...options } = choice;
  switch (type) {
    case 'sgd':
      return new SGD(store, options as Partial<SGDOptions>);
    case 'adam':
      return new Adam(store, options as Partial<AdamOptions>);
    case 'adamw':
      return new AdamW(store, options as Partial<AdamOptions>);
    default:
      throw rangeError('optimizer.type', `must be sgd, adam or adamw, got ${JSON.stringify(type)}`);
  }
}

export async function minimize(options: MinimizeOptions): Promise<MinimizeResult> {
  if (!options || typeof options !== 'object') throw typeError('options', 'must be an object');
  const { loss, grad, x0, optimizer = { type: 'sgd', lr: 0.01 }, maxIters = 1000, tol = 1e-6 } = options;
  if (typeof loss !== 'function') throw typeError('loss', 'must be a function');
  if (typeof grad !== 'function') throw typeError('grad', 'must be a function');
  if (!x0 || typeof (x0 as ArrayLike<number>).length !== 'number') throw typeError('x0', 'must be an array of numbers');
  if (!Number.isInteger(maxIters) || maxIters < 0)
    throw rangeError('maxIters', `must be a non-negative integer, got ${maxIters}`);
  if (!(Number.isFinite(tol) && tol >= 0)) throw rangeError('tol', `must be finite and >= 0, got ${tol}`);
  const n = x0.length;
  checkValues(x0, n, 'x0');
  const store = await ParamStore.create({ x: { shape: [n], init: x0 } }, { backend: options.backend });
  const opt = build(optimizer, store);
  const x = store.tensor('x');
  const history: number[] = [];
  const before = new Float32Array(n);
  let converged = false;
  let iterations = 0;
  try {
    for (; iterations < maxIters && !converged; iterations++) {
      history.push(loss(x.data));
      const g = grad(x.data);
      store.setGrad('x', checkValues(g, n, 'grad(x)'));
      before.set(x.data);
      opt.step();
      const now = x.data;
      let sq = 0;
      for (let i = 0; i < n; i++) sq += (now[i] - before[i]) ** 2;
      converged = Math.sqrt(sq) < tol;
    }
    history.push(loss(x.data));
    return { x: store.get('x'), history, iterations, converged, backend: store.backend.name };
  } finally {
    opt.dispose();
    store.dispose();
  }
}
