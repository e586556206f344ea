import type { AdamOptions } from '../generated/specs.js';
import '../kernels/adam.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdamOptions };

/**
 * Adam (Kingma & Ba, ICLR 2015), with AMSGrad (Reddi et al., ICLR 2018), L2 weight decay or
 * decoupled weight decay (PyTorch 2.x `decoupled_weight_decay`), with PyTorch's semantics
 * (`torch.optim.Adam`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if decoupledWeightDecay: p ← p · (1 − lr · weightDecay)
 * else if weightDecay ≠ 0: g ← g + weightDecay · p
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²
 * v̂ ← amsgrad ? max(v̂, v) : v
 * p ← p − lr / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 *
 * Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
 * `amsgrad` false, `maximize` false, `decoupledWeightDecay` false. State: `exp_avg`,
 * `exp_avg_sq` (+ `max_exp_avg_sq` with amsgrad): 2 (3) elements per parameter.
 *
 * Differences from PyTorch: `betas` are the two options `beta1`/`beta2` (state dicts use
 * PyTorch's `betas`); the denominator is computed as `√v̂ · (1/√(1−β2^t)) + ε` (an ulp apart).
 *
 * @example
 * ```ts
 * import { ParamStore, Adam } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Adam(params, { lr: 0.05, amsgrad: true });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdamOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdamOptions>[],
    defaults?: Partial<Scheduled<AdamOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdamOptions>[] | Partial<Scheduled<AdamOptions>>,
    defaults?: Partial<Scheduled<AdamOptions>>,
  ) {
    super(specByName('Adam'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Adam', Adam as unknown as OptimizerClass);
