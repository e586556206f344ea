import type { ScheduleFreeSGDOptions } from '../generated/specs.js';
import '../kernels/schedule-free-sgd.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { ScheduleFree } from './schedule-free.js';
import { registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { ScheduleFreeSGDOptions };

/**
 * Schedule-free SGD (Defazio et al., NeurIPS 2024): SGD without momentum whose iterates are
 * averaged on the fly, with Optax's semantics (`optax.contrib.schedule_free_sgd`). The params
 * are y; evaluate at the average x: `evalParams()`, or `eval()` … `train()`.
 *
 * ```text
 * d ← g + weightDecay · y                  (none when weightDecay is null)
 * z' ← z − γ · d                           (γ, γw and the warmup as ScheduleFreeAdamW)
 * lr_max ← max(lr_max, γw);  w ← lr_max^weightLrPower;  W ← W + w;  c ← w / W
 * x ← (1 − c) · (y − (1 − β1) · z) / β1 + c · z'
 * y ← β1 · x + (1 − β1) · z'
 * ```
 *
 * Options (defaults): `lr` 1, `warmupSteps` null, `beta1` 0.9, `weightDecay` null,
 * `weightLrPower` 2. State: `z`, and per tensor `weight_sum`, `lr_max`.
 *
 * @example
 * ```ts
 * import { ParamStore, ScheduleFreeSGD } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new ScheduleFreeSGD(params, { lr: 0.1, warmupSteps: 10 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(opt.evalParams().w); // the average x, without touching the params
 * ```
 */
export class ScheduleFreeSGD extends ScheduleFree<ScheduleFreeSGDOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<ScheduleFreeSGDOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<ScheduleFreeSGDOptions>[],
    defaults?: Partial<Scheduled<ScheduleFreeSGDOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<ScheduleFreeSGDOptions>[] | Partial<Scheduled<ScheduleFreeSGDOptions>>,
    defaults?: Partial<Scheduled<ScheduleFreeSGDOptions>>,
  ) {
    super(specByName('ScheduleFreeSGD'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('ScheduleFreeSGD', ScheduleFreeSGD as unknown as OptimizerClass);
