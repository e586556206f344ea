import type { YogiOptions } from '../generated/specs.js';
import '../kernels/yogi.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { YogiOptions };

/**
 * Yogi (Zaheer et al., NeurIPS 2018): Adam whose second moment changes additively, with
 * Optax's semantics (`optax.yogi`).
 *
 * ```text
 * m ← β1 · m + (1 − β1) · g
 * v ← v − (1 − β2) · sign(v − g²) · g²
 * p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps)
 * ```
 *
 * m and v both start at `initialAccumulatorValue` (not 0); the bias corrections still divide by
 * 1 − β^t, as Optax does.
 *
 * Options (defaults): `lr` 1e-2, `beta1` 0.9, `beta2` 0.999, `eps` 1e-3,
 * `initialAccumulatorValue` 1e-6. State: `exp_avg`, `exp_avg_sq` (Optax `0.mu`, `0.nu`).
 *
 * Differences from the paper: bias corrections (Optax's).
 *
 * @example
 * ```ts
 * import { ParamStore, Yogi } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Yogi(params, { lr: 0.05 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class Yogi extends Optimizer<YogiOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<YogiOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<YogiOptions>[],
    defaults?: Partial<Scheduled<YogiOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<YogiOptions>[] | Partial<Scheduled<YogiOptions>>,
    defaults?: Partial<Scheduled<YogiOptions>>,
  ) {
    super(specByName('Yogi'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Yogi', Yogi as unknown as OptimizerClass);
