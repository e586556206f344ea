import type { AdamaxOptions } from '../generated/specs.js';
import '../kernels/adamax.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdamaxOptions };

/**
 * Adamax (Kingma & Ba, ICLR 2015, section 7.1): Adam with an exponentially weighted infinity norm
 * in place of the second moment, with PyTorch's semantics (`torch.optim.Adamax`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if weightDecay ≠ 0: g ← g + weightDecay · p
 * m ← β1 · m + (1 − β1) · g
 * u ← max(β2 · u, |g| + ε)
 * p ← p − lr / (1 − β1^t) · m / u
 * ```
 *
 * Options (defaults): `lr` 2e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
 * `maximize` false. State: `exp_avg`, `exp_inf`: 2 elements per parameter.
 *
 * Differences from the paper: ε is added to |g| before the maximum (PyTorch's form; the paper
 * has no ε). `betas` are the two options `beta1`/`beta2`.
 *
 * @example
 * ```ts
 * import { ParamStore, Adamax } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Adamax(params, { lr: 0.05 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdamaxOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdamaxOptions>[],
    defaults?: Partial<Scheduled<AdamaxOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdamaxOptions>[] | Partial<Scheduled<AdamaxOptions>>,
    defaults?: Partial<Scheduled<AdamaxOptions>>,
  ) {
    super(specByName('Adamax'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Adamax', Adamax as unknown as OptimizerClass);
