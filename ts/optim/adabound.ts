import type { AdaBoundOptions } from '../generated/specs.js';
import '../kernels/adabound.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdaBoundOptions };

/**
 * AdaBound and AMSBound (Luo et al., ICLR 2019): Adam whose per-element step size is clipped
 * into bounds that converge to a final SGD rate, as the authors' PyTorch release (`adabound`).
 *
 * ```text
 * g ← g + weightDecay · p
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²;   v̂ ← amsbound ? max(v̂, v) : v
 * final ← finalLr · lr / baseLr
 * η ← clip(lr · √(1 − β2^t) / (1 − β1^t) / (√v̂ + eps),  final · (1 − 1/(γt + 1)),  final · (1 + 1/(γt)))
 * p ← p − η · m
 * ```
 *
 * The bounds are the paper's η_l(t), η_u(t) (Section 4) with 0.1 and 1 − β2 as the options
 * `finalLr` and `gamma`. `baseLr` defaults to each group's lr at construction, so a learning-rate
 * schedule scales the bounds with it, as the release does.
 *
 * Options (defaults, the release's): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `finalLr` 0.1,
 * `gamma` 1e-3, `eps` 1e-8, `weightDecay` 0, `amsbound` false, `baseLr` (lr at construction).
 * State: `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq` with amsbound).
 *
 * Differences from the paper's Algorithm 2: bias corrections and eps, no 1/√t on the clipped step
 * (both as the release). Differences from the release: `baseLr` is kept in the param group (the
 * release keeps `base_lrs` outside the state dict, so a resumed run re-reads the current lr).
 *
 * @example
 * ```ts
 * import { ParamStore, AdaBound } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new AdaBound(params, { lr: 1e-2, finalLr: 0.1, amsbound: true });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class AdaBound extends Optimizer<AdaBoundOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdaBoundOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdaBoundOptions>[],
    defaults?: Partial<Scheduled<AdaBoundOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdaBoundOptions>[] | Partial<Scheduled<AdaBoundOptions>>,
    defaults?: Partial<Scheduled<AdaBoundOptions>>,
  ) {
    super(specByName('AdaBound'), params, groupsOrOptions, defaults);
    // The bounds scale with lr / baseLr; the release takes the lr at construction.
    for (const g of this.paramGroups) {
      const o = g as unknown as { lr: unknown; baseLr: number | null };
      const lr = typeof o.lr === 'function' ? (o.lr as (c: number) => number)(0) : (o.lr as number);
      if (o.baseLr === null && lr > 0) o.baseLr = lr;
    }
  }
}

registerOptimizer('AdaBound', AdaBound as unknown as OptimizerClass);
