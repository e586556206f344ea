import type { SGDOptions } from '../generated/specs.js';
import '../kernels/sgd.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { SGDOptions };

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
 * with PyTorch's semantics (`torch.optim.SGD`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if weightDecay ≠ 0:  g ← g + weightDecay · p
 * if momentum ≠ 0:
 *     b ← (first step) ? g : momentum · b + (1 − dampening) · g
 *     g ← nesterov ? g + momentum · b : b
 * p ← p − lr · g
 * ```
 *
 * Options (defaults): `lr` 1e-3, `momentum` 0, `dampening` 0, `weightDecay` 0, `nesterov` false
 * (needs momentum > 0 and dampening = 0), `maximize` false. State: `momentum_buffer` (only with
 * momentum), one element per parameter.
 *
 * Reference: Sutskever et al., ICML 2013 (momentum form). Differences from PyTorch: none in the
 * update; the momentum buffer starts at a tensor's first step (PyTorch: whenever it is missing).
 *
 * @example
 * ```ts
 * import { ParamStore, SGD } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<SGDOptions>>);
  constructor(params: ParamStore, groups: readonly GroupSpec<SGDOptions>[], defaults?: Partial<Scheduled<SGDOptions>>);
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<SGDOptions>[] | Partial<Scheduled<SGDOptions>>,
    defaults?: Partial<Scheduled<SGDOptions>>,
  ) {
    super(specByName('SGD'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('SGD', SGD as unknown as OptimizerClass);
