/**
 * `minimize`: the study card's `GradientDescent.optimize(loss_fn, grad_fn, theta_init)` loop with
 * any downhill optimizer: evaluate the loss, take the gradient, step, stop when the step moved the
 * parameters by less than `tol` (Euclidean norm) or after `maxIters` steps. An optimizer that
 * evaluates the objective itself (L-BFGS, `closureRequired`) is stepped with a closure over `loss`
 * and `grad`; each of its steps may call them several times.
 */
import type { BackendChoice } from './backend/select.js';
import type { BackendName, DType, FloatArray } from './backend/types.js';
import { rangeError, typeError } from './errors.js';
import { createOptimizer, type AnyOptimizer } from './optim/optimizer.js';
import { ParamStore } from './params.js';
import { checkOptions, checkValues, describeType } from './validate.js';

/** An optimizer by name with its options (`{ type: 'adam', lr: 0.01 }`), or a factory over the store. */
export type OptimizerChoice =
  | ({
      /** The optimizer's name, any case (`'adam'`, `'AdamW'`, `'sgd'`; see `optimizerNames`). */
      type: string;
    } & Record<string, unknown>)
  | ((params: ParamStore) => AnyOptimizer);

/** What `minimize` minimizes, from where, with what, and when it stops. */
export interface MinimizeOptions {
  /** J(x). Receives a read-only view of the current parameters. */
  loss: (x: FloatArray) => number;
  /** ∇J(x), an array of x's length. */
  grad: (x: FloatArray) => ArrayLike<number>;
  /** Starting point. */
  x0: ArrayLike<number>;
  /** Default `{ type: 'sgd', lr: 0.01 }`, the study card's plain gradient descent. */
  optimizer?: OptimizerChoice;
  /** Default 1000. */
  maxIters?: number;
  /** Stop when ‖x_{t+1} − x_t‖₂ < tol. Default 1e-6; 0 disables. */
  tol?: number;
  /** The backend of the parameter store; default `'auto'` (or `DOWNHILL_BACKEND`). */
  backend?: BackendChoice;
  /** Default `'float32'`. */
  dtype?: DType;
}

/** Where `minimize` ended and how it got there. */
export interface MinimizeResult {
  /** The parameters at the end (a copy). */
  x: FloatArray;
  /** J(x_t) before each step t (L-BFGS: what each `step(closure)` returned), then J at the solution. */
  history: number[];
  /** Optimizer steps taken. */
  iterations: number;
  /** Whether a step moved the parameters by less than `tol` (false: `maxIters` ran out). */
  converged: boolean;
  /** The backend the steps ran on. */
  backend: BackendName;
}

const KEYS = ['loss', 'grad', 'x0', 'optimizer', 'maxIters', 'tol', 'backend', 'dtype'];

function build(choice: OptimizerChoice, store: ParamStore): AnyOptimizer {
  if (typeof choice === 'function') {
    const opt = choice(store);
    if (!opt || typeof (opt as AnyOptimizer).step !== 'function') {
      throw typeError(
        'optimizer',
        `factory must return an optimizer over the store it is given, got ${describeType(opt)}`,
      );
    }
    return opt;
  }
  if (!choice || typeof choice !== 'object') {
    throw typeError('optimizer', `must be { type, ...options } or a factory, got ${describeType(choice)}`);
  }
  const { type, ...options } = choice;
  return createOptimizer(type, store, options, 'optimizer.type');
}

/**
 * Minimizes `loss` from `x0` with any optimizer: the study card's gradient-descent loop (see the
 * module comment for the stopping rule). Options are checked before the first step.
 *
 * @example
 * ```ts
 * import { minimize } from 'downhill';
 * // J(x) = (x0 − 3)² + 10·(x1 + 1)², minimum at (3, −1)
 * const { x, converged } = await minimize({
 *   loss: (x) => (x[0] - 3) ** 2 + 10 * (x[1] + 1) ** 2,
 *   grad: (x) => [2 * (x[0] - 3), 20 * (x[1] + 1)],
 *   x0: [0, 0],
 *   optimizer: { type: 'adam', lr: 0.1 },
 *   maxIters: 2000,
 * });
 * console.log(Array.from(x), converged); // ≈ [3, -1] true
 * ```
 */
export async function minimize(options: MinimizeOptions): Promise<MinimizeResult> {
  checkOptions(options, 'options', KEYS, { of: 'minimize' });
  const { loss, grad, x0, optimizer = { type: 'sgd', lr: 0.01 }, maxIters = 1000, tol = 1e-6 } = options;
  if (typeof loss !== 'function') throw typeError('loss', `must be a function, got ${describeType(loss)}`);
  if (typeof grad !== 'function') throw typeError('grad', `must be a function, got ${describeType(grad)}`);
  if (!x0 || typeof (x0 as ArrayLike<number>).length !== 'number') {
    throw typeError('x0', `must be an array of numbers, got ${describeType(x0)}`);
  }
  if (typeof maxIters !== 'number') throw typeError('maxIters', `must be a number, got ${describeType(maxIters)}`);
  if (!Number.isInteger(maxIters) || maxIters < 0)
    throw rangeError('maxIters', `must be a non-negative integer, got ${maxIters}`);
  if (typeof tol !== 'number') throw typeError('tol', `must be a number, got ${describeType(tol)}`);
  if (!(Number.isFinite(tol) && tol >= 0)) throw rangeError('tol', `must be finite and >= 0, got ${tol}`);
  const n = x0.length;
  checkValues(x0, n, 'x0', true);
  const store = await ParamStore.create(
    { x: { shape: [n], init: x0 } },
    { backend: options.backend, dtype: options.dtype },
  );
  try {
    const opt = build(optimizer, store);
    const x = store.tensor('x');
    const history: number[] = [];
    const before = new Float64Array(n);
    let converged = false;
    let iterations = 0;
    // Optimizers that evaluate the objective themselves (L-BFGS) are stepped with a closure.
    const closure = (opt as { closureRequired?: boolean }).closureRequired
      ? () => {
          const value = loss(x.data);
          store.setGrad('x', checkValues(grad(x.data), n, 'grad(x)'));
          return value;
        }
      : null;
    for (; iterations < maxIters && !converged; iterations++) {
      if (closure) {
        before.set(x.data);
        history.push(opt.step(closure) as number);
      } else {
        history.push(loss(x.data));
        store.setGrad('x', checkValues(grad(x.data), n, 'grad(x)'));
        before.set(x.data);
        opt.step();
      }
      const now = x.data;
      let sq = 0;
      for (let i = 0; i < n; i++) sq += (now[i] - before[i]) ** 2;
      converged = Math.sqrt(sq) < tol;
    }
    history.push(loss(x.data));
    return { x: store.get('x'), history, iterations, converged, backend: store.backend.name };
  } finally {
    store.dispose();
  }
}
