import type { ScheduleFreeAdamWOptions } from '../generated/specs.js';
import '../kernels/schedule-free-adamw.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { ScheduleFree } from './schedule-free.js';
import { registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { ScheduleFreeAdamWOptions };

/**
 * Schedule-free AdamW (Defazio et al., NeurIPS 2024): AdamW without momentum whose iterates are
 * averaged on the fly, so no decay schedule is needed, with Optax's semantics
 * (`optax.contrib.schedule_free_adamw`). The params are y, where gradients are taken;
 * evaluate (and ship) the average x: `evalParams()`, or `eval()` … `train()`.
 *
 * ```text
 * γ, γw ← warmupSteps ? (warm(t − 1), warm(t)) : (lr, lr)       warm(c) = lr · min(c, W) / W
 * v ← β2 · v + (1 − β2) · g²
 * d ← g / (√(v / (1 − β2^t)) + eps) + weightDecay · y
 * z' ← z − γ · d                                                 (z starts at the params)
 * lr_max ← max(lr_max, γw);  w ← lr_max^weightLrPower;  W ← W + w;  c ← w / W
 * x ← (1 − c) · (y − (1 − β1) · z) / β1 + c · z'
 * y ← β1 · x + (1 − β1) · z'
 * ```
 *
 * With warmup the inner step takes the rate at count t − 1 (0 at the first step) and the
 * averaging weight the rate at t, as Optax does; both are computed in float32 as Optax computes
 * them at its int32 count, also for float64 params.
 *
 * Options (defaults): `lr` 0.0025, `warmupSteps` null, `beta1` 0.9 (in (0, 1]), `beta2` 0.999,
 * `eps` 1e-8, `weightDecay` 0, `weightLrPower` 2. State: `z`, `exp_avg_sq` (Optax
 * `base_optimizer_state.0.nu`), and per tensor the scalars `weight_sum`, `lr_max` (Optax
 * `weight_sum`, `max_lr`).
 *
 * Differences from Optax: y is written directly (Optax adds y' − y to y), an ulp apart.
 *
 * @example
 * ```ts
 * import { ParamStore, ScheduleFreeAdamW } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new ScheduleFreeAdamW(params, { lr: 0.05, warmupSteps: 10 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * opt.eval(); // the params are now the average x, where the model is evaluated
 * console.log(params.get('w'));
 * opt.train(); // back to y, where gradients are taken
 * ```
 */
export class ScheduleFreeAdamW extends ScheduleFree<ScheduleFreeAdamWOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<ScheduleFreeAdamWOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<ScheduleFreeAdamWOptions>[],
    defaults?: Partial<Scheduled<ScheduleFreeAdamWOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<ScheduleFreeAdamWOptions>[] | Partial<Scheduled<ScheduleFreeAdamWOptions>>,
    defaults?: Partial<Scheduled<ScheduleFreeAdamWOptions>>,
  ) {
    super(specByName('ScheduleFreeAdamW'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('ScheduleFreeAdamW', ScheduleFreeAdamW as unknown as OptimizerClass);
