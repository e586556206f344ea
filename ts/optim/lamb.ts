import type { LAMBOptions } from '../generated/specs.js';
import '../kernels/lamb.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { LAMBOptions };

/**
 * LAMB (You et al., ICLR 2020): Adam's direction, plus weight decay, rescaled per tensor by the
 * trust ratio ‖p‖ / ‖u‖, with Optax's semantics (`optax.lamb`).
 *
 * ```text
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²
 * u ← (m / (1 − β1^t)) / (√(v / (1 − β2^t) + epsRoot) + eps) + weightDecay · p
 * r ← ‖p‖ / ‖u‖   (1 when ‖p‖ = 0 or ‖u‖ = 0: a zero tensor still moves)
 * p ← p − lr · r · u
 * ```
 *
 * Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-6, `epsRoot` 0,
 * `weightDecay` 0 (counted in ‖u‖; for Optax's `mask`, put the tensors without decay in a
 * group with `weightDecay: 0`). State: `exp_avg`, `exp_avg_sq` (Optax `0.mu`, `0.nu`), and a
 * scratch buffer as large as the largest tensor. Norms are fixed-order sums in float64: the same
 * bits on every backend and thread count.
 *
 * Differences from the paper: no clipping φ of ‖p‖ (Optax's identity); ratio 1 for zero norms.
 * Differences from Optax: bias corrections multiply by reciprocals (an ulp apart).
 *
 * @example
 * ```ts
 * import { ParamStore, LAMB } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [4, 3], init: (i) => 0.1 * i }, b: [3] });
 * // Weight decay on the matrix only (Optax's mask as param groups).
 * const opt = new LAMB(params, [{ params: ['w'], weightDecay: 0.01 }, { params: ['b'] }], { lr: 1e-3 });
 * params.grads.fill(0.5);
 * opt.step();
 * console.log(params.get('b')); // ≈ −lr each: a zero tensor takes a trust ratio of 1
 * ```
 */
export class LAMB extends Optimizer<LAMBOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<LAMBOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<LAMBOptions>[],
    defaults?: Partial<Scheduled<LAMBOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<LAMBOptions>[] | Partial<Scheduled<LAMBOptions>>,
    defaults?: Partial<Scheduled<LAMBOptions>>,
  ) {
    super(specByName('LAMB'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('LAMB', LAMB as unknown as OptimizerClass);
