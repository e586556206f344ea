import type { LARSOptions } from '../generated/specs.js';
import '../kernels/lars.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { LARSOptions };

/**
 * LARS (You, Gitman & Ginsburg, 2017): momentum SGD whose step is rescaled per tensor by the
 * trust ratio η · ‖p‖ / (‖g + wd·p‖ + eps), with Optax's semantics (`optax.lars`).
 *
 * ```text
 * u ← g + weightDecay · p
 * r ← trustRatio ? trustCoefficient · ‖p‖ / (‖u‖ + eps) : 1     (1 when ‖p‖ = 0 or ‖u‖ = 0)
 * d ← −lr · r · u
 * trace ← d + momentum · trace
 * p ← p + (nesterov ? d + momentum · trace : trace)
 * ```
 *
 * Options (defaults): `lr` 1, `weightDecay` 0, `trustCoefficient` 0.001, `eps` 0,
 * `trustRatio` true, `momentum` 0.9, `nesterov` false. Optax's `weight_decay_mask` and
 * `trust_ratio_mask` are param groups with `weightDecay: 0` / `trustRatio: false` (biases and
 * norms, usually). State: `trace` (Optax's `3.trace`): the momentum of the *updates*, so it is
 * the negated PyTorch-style momentum buffer.
 *
 * Differences from the paper: the norm of the decayed gradient (not ‖g‖ + wd·‖p‖), and ratio 1
 * (not η) for zero norms, so a zero-initialized tensor first moves by a full lr·g (Optax's).
 *
 * @example
 * ```ts
 * import { ParamStore, LARS } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [4, 3], init: (i) => 0.1 * i }, b: [3] });
 * // No weight decay and no trust ratio for the bias, as is usual.
 * const opt = new LARS(params, [{ params: ['w'] }, { params: ['b'], weightDecay: 0, trustRatio: false }], {
 *   lr: 0.5,
 *   weightDecay: 1e-4,
 *   trustCoefficient: 0.02,
 * });
 * params.grads.fill(0.1);
 * opt.step();
 * console.log(params.get('b')); // [ -0.05, -0.05, -0.05 ]: lr · g without the ratio
 * ```
 */
export class LARS extends Optimizer<LARSOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<LARSOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<LARSOptions>[],
    defaults?: Partial<Scheduled<LARSOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<LARSOptions>[] | Partial<Scheduled<LARSOptions>>,
    defaults?: Partial<Scheduled<LARSOptions>>,
  ) {
    super(specByName('LARS'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('LARS', LARS as unknown as OptimizerClass);
