import type { AdaBeliefOptions } from '../generated/specs.js';
import '../kernels/adabelief.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdaBeliefOptions };

/**
 * AdaBelief (Zhuang et al., NeurIPS 2020): Adam whose second moment tracks (g − m)², the
 * "belief" in the gradient, with Optax's semantics (`optax.adabelief`).
 *
 * ```text
 * m ← β1 · m + (1 − β1) · g
 * s ← β2 · s + (1 − β2) · (g − m)² + epsRoot
 * m̂ ← nesterov ? β1 · m / (1 − β1^(t+1)) + (1 − β1) · g / (1 − β1^t) : m / (1 − β1^t)
 * p ← p − lr · m̂ / (√(s / (1 − β2^t)) + eps)
 * ```
 *
 * Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-16, `epsRoot` 1e-16,
 * `nesterov` false. State: `exp_avg`, `exp_avg_var` (Optax `0.mu`, `0.nu`; `exp_avg_var`
 * includes the accumulated epsRoot).
 *
 * Differences from the paper: eps outside the square root and epsRoot stored in s (Optax's form).
 *
 * @example
 * ```ts
 * import { ParamStore, AdaBelief } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new AdaBelief(params, { lr: 0.05 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class AdaBelief extends Optimizer<AdaBeliefOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdaBeliefOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdaBeliefOptions>[],
    defaults?: Partial<Scheduled<AdaBeliefOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdaBeliefOptions>[] | Partial<Scheduled<AdaBeliefOptions>>,
    defaults?: Partial<Scheduled<AdaBeliefOptions>>,
  ) {
    super(specByName('AdaBelief'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('AdaBelief', AdaBelief as unknown as OptimizerClass);
