import type { RAdamOptions } from '../generated/specs.js';
import '../kernels/radam.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { RAdamOptions };

/**
 * RAdam (Liu et al., ICLR 2020): Adam with the variance of its adaptive step rectified, and
 * bias-corrected momentum SGD while that variance is intractable, with PyTorch 2.x's semantics
 * (`torch.optim.RAdam`, including `decoupledWeightDecay` and `maximize`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if decoupledWeightDecay: p ← p · (1 − lr · weightDecay)
 * else if weightDecay ≠ 0: g ← g + weightDecay · p
 * m ← β1 · m + (1 − β1) · g;  v ← β2 · v + (1 − β2) · g²;  m̂ ← m / (1 − β1^t)
 * ρ∞ ← 2 / (1 − β2) − 1;  ρ_t ← ρ∞ − 2 · t · β2^t / (1 − β2^t)
 * if ρ_t > 5: r ← √((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
 *             p ← p − lr · m̂ · r · √(1 − β2^t) / (√v + ε)
 * else:       p ← p − lr · m̂
 * ```
 *
 * Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
 * `decoupledWeightDecay` false, `maximize` false. State: `exp_avg`, `exp_avg_sq`: 2 elements per
 * parameter. With the default betas, steps 1–5 are un-rectified.
 *
 * Differences from PyTorch: none in the rule; the step's scalars are folded into one coefficient
 * (an ulp or so apart). ε is added to √v before the bias correction, unlike Adam.
 *
 * @example
 * ```ts
 * import { ParamStore, RAdam } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new RAdam(params, { lr: 0.05 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<RAdamOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<RAdamOptions>[],
    defaults?: Partial<Scheduled<RAdamOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<RAdamOptions>[] | Partial<Scheduled<RAdamOptions>>,
    defaults?: Partial<Scheduled<RAdamOptions>>,
  ) {
    super(specByName('RAdam'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('RAdam', RAdam as unknown as OptimizerClass);
