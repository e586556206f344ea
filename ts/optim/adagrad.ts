import type { AdagradOptions } from '../generated/specs.js';
import '../kernels/adagrad.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdagradOptions };

/**
 * Adagrad (Duchi, Hazan & Singer, JMLR 2011): per-element step sizes from the running sum of
 * squared gradients, with PyTorch's semantics (`torch.optim.Adagrad`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if weightDecay ≠ 0: g ← g + weightDecay · p
 * clr ← lr / (1 + (t − 1) · lrDecay)
 * sum ← sum + g²                        (sum starts at initialAccumulatorValue)
 * p ← p − clr · g / (√sum + ε)
 * ```
 *
 * Options (defaults): `lr` 1e-2, `lrDecay` 0, `weightDecay` 0, `initialAccumulatorValue` 0,
 * `eps` 1e-10, `maximize` false. State: `sum` (1 element per parameter).
 *
 * Differences from PyTorch: `sum` is created at a tensor's first step, not at construction (a
 * state dict lists a tensor once it has stepped); no sparse gradients. Optax's `adagrad` is a
 * different rule (ε inside the root, accumulator 0.1 by default).
 *
 * @example
 * ```ts
 * import { ParamStore, Adagrad } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Adagrad(params, { lr: 0.5, lrDecay: 1e-3 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdagradOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdagradOptions>[],
    defaults?: Partial<Scheduled<AdagradOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdagradOptions>[] | Partial<Scheduled<AdagradOptions>>,
    defaults?: Partial<Scheduled<AdagradOptions>>,
  ) {
    super(specByName('Adagrad'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Adagrad', Adagrad as unknown as OptimizerClass);
