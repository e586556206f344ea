import type { RMSpropOptions } from '../generated/specs.js';
import '../kernels/rmsprop.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { RMSpropOptions };

/**
 * RMSprop (Hinton, lecture 6e, 2012; centered form: Graves, 2013), with momentum, with PyTorch's
 * semantics (`torch.optim.RMSprop`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if weightDecay ≠ 0: g ← g + weightDecay · p
 * v ← α · v + (1 − α) · g²
 * if centered: ḡ ← α · ḡ + (1 − α) · g;  d ← √(v − ḡ²) + ε
 * else:        d ← √v + ε
 * if momentum > 0: b ← momentum · b + g / d;  p ← p − lr · b
 * else:            p ← p − lr · g / d
 * ```
 *
 * Options (defaults): `lr` 1e-2, `alpha` 0.99, `eps` 1e-8, `weightDecay` 0, `momentum` 0,
 * `centered` false, `maximize` false. State: `square_avg`, `momentum_buffer` (momentum > 0),
 * `grad_avg` (centered): 1 to 3 elements per parameter.
 *
 * Differences from PyTorch: none in the rule. `alpha` above 1 is accepted as PyTorch accepts it,
 * but the average can then turn negative and such a state is refused by `loadStateDict`. Optax's
 * `rmsprop` puts ε inside the square root and is not what this reproduces.
 *
 * @example
 * ```ts
 * import { ParamStore, RMSprop } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new RMSprop(params, { lr: 1e-2, momentum: 0.9, centered: true });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<RMSpropOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<RMSpropOptions>[],
    defaults?: Partial<Scheduled<RMSpropOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<RMSpropOptions>[] | Partial<Scheduled<RMSpropOptions>>,
    defaults?: Partial<Scheduled<RMSpropOptions>>,
  ) {
    super(specByName('RMSprop'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('RMSprop', RMSprop as unknown as OptimizerClass);
