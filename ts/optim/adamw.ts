import type { AdamWOptions } from '../generated/specs.js';
import '../kernels/adamw.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdamWOptions };

/**
 * AdamW (Loshchilov & Hutter, ICLR 2019): Adam with decoupled weight decay, with PyTorch's
 * semantics (`torch.optim.AdamW`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * p ← p · (1 − lr · weightDecay)           (decoupled: the gradient stays undecayed)
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²
 * v̂ ← amsgrad ? max(v̂, v) : v
 * p ← p − lr / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 *
 * Options (defaults): as {@link Adam}, but `weightDecay` 1e-2. State as Adam.
 *
 * Differences from PyTorch: as Adam. Optax's `adamw` defaults to weight decay 1e-4.
 *
 * @example
 * ```ts
 * import { ParamStore, AdamW } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [2, 2], init: [1, -1, 0.5, 2] }, b: [2] });
 * // Decay the weights, not the bias (PyTorch's param groups).
 * const opt = new AdamW(params, [{ params: ['w'], weightDecay: 0.01 }, { params: ['b'], weightDecay: 0 }], { lr: 0.01 });
 * params.setGrad('w', [0.1, -0.2, 0.3, -0.4]);
 * params.setGrad('b', [1, -1]);
 * opt.step();
 * console.log(opt.stateDict().param_groups.map((g) => g.weight_decay)); // [ 0.01, 0 ]
 * ```
 */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdamWOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdamWOptions>[],
    defaults?: Partial<Scheduled<AdamWOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdamWOptions>[] | Partial<Scheduled<AdamWOptions>>,
    defaults?: Partial<Scheduled<AdamWOptions>>,
  ) {
    super(specByName('AdamW'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('AdamW', AdamW as unknown as OptimizerClass);
