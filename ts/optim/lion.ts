import type { LionOptions } from '../generated/specs.js';
import '../kernels/lion.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { LionOptions };

/**
 * Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023), with Optax's
 * semantics (`optax.lion`): the update is the sign of an interpolation of momentum and gradient,
 * so every element moves by exactly `lr` (plus decoupled weight decay).
 *
 * ```text
 * c ← β1 · m + (1 − β1) · g
 * p ← p − lr · (sign(c) + weightDecay · p)
 * m ← β2 · m + (1 − β2) · g
 * ```
 *
 * Options (defaults): `lr` 1e-4, `beta1` 0.9, `beta2` 0.99, `weightDecay` 1e-3 (Optax's default).
 * State: `exp_avg`, one element per parameter — half of Adam's.
 *
 * Differences from Optax: Optax's `mask` is a param group with `weightDecay: 0`. The paper advises
 * an lr 3–10× below AdamW's and a weight decay 3–10× above.
 *
 * @example
 * ```ts
 * import { ParamStore, Lion } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Lion(params, { lr: 3e-3, weightDecay: 0.01 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // ≈ [0.4, -1.4, -0.1]: each step moves every element by lr (and the decay)
 * ```
 */
export class Lion extends Optimizer<LionOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<LionOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<LionOptions>[],
    defaults?: Partial<Scheduled<LionOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<LionOptions>[] | Partial<Scheduled<LionOptions>>,
    defaults?: Partial<Scheduled<LionOptions>>,
  ) {
    super(specByName('Lion'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Lion', Lion as unknown as OptimizerClass);
