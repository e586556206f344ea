import type { NAdamOptions } from '../generated/specs.js';
import '../kernels/nadam.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { NAdamOptions };

/**
 * NAdam (Dozat, ICLR 2016 workshop): Adam with Nesterov momentum and a momentum schedule, with
 * PyTorch 2.x's semantics (`torch.optim.NAdam`, including `decoupledWeightDecay` and `maximize`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if decoupledWeightDecay: p ← p · (1 − lr · weightDecay)
 * else if weightDecay ≠ 0: g ← g + weightDecay · p
 * μ_t ← β1 · (1 − ½ · 0.96^(t · momentumDecay)),  μ_{t+1} likewise
 * Π ← Π · μ_t                                       (mu_product, starts at 1)
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²
 * d ← √(v / (1 − β2^t)) + ε
 * p ← p − lr · (1 − μ_t) / (1 − Π) · g / d − lr · μ_{t+1} / (1 − Π · μ_{t+1}) · m / d
 * ```
 *
 * Options (defaults): `lr` 2e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
 * `momentumDecay` 4e-3, `decoupledWeightDecay` false, `maximize` false. State: `mu_product` (one
 * number per tensor), `exp_avg`, `exp_avg_sq`: 2 elements per parameter.
 *
 * Differences from PyTorch: none in the rule (PyTorch 1.13's default single-tensor NAdam had an
 * extra μ_t in the product, fixed in 2.0; this follows the documented algorithm). The two terms
 * share one division by d (PyTorch divides twice): an ulp or so apart.
 *
 * @example
 * ```ts
 * import { ParamStore, NAdam } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new NAdam(params, { lr: 0.05, weightDecay: 0.01, decoupledWeightDecay: true });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<NAdamOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<NAdamOptions>[],
    defaults?: Partial<Scheduled<NAdamOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<NAdamOptions>[] | Partial<Scheduled<NAdamOptions>>,
    defaults?: Partial<Scheduled<NAdamOptions>>,
  ) {
    super(specByName('NAdam'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('NAdam', NAdam as unknown as OptimizerClass);
