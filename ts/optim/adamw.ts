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
 * p ← p · (1 − lr · weightDecay)
 * then Adam's update with the undecayed gradient
 * ```
 *
 * Options (defaults): as {@link Adam}, but `weightDecay` 1e-2. State as Adam.
 *
 * @example
 * const opt = new AdamW(params, [
 *   { params: ['w1', 'w2'], weightDecay: 0.01 },
 *   { params: ['b1', 'b2'], weightDecay: 0 },
 * ], { lr: 1e-3 });
 *
 * Differences from PyTorch: as Adam. Optax's `adamw` defaults to weight decay 1e-4.
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
