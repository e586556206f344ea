import type { AdadeltaOptions } from '../generated/specs.js';
import '../kernels/adadelta.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdadeltaOptions };

/**
 * Adadelta (Zeiler, arXiv:1212.5701, 2012): steps scaled by the running RMS of past updates over
 * the running RMS of gradients, with PyTorch's semantics (`torch.optim.Adadelta`).
 *
 * ```text
 * g ← maximize ? −grad : grad
 * if weightDecay ≠ 0: g ← g + weightDecay · p
 * v ← ρ · v + (1 − ρ) · g²
 * Δ ← √(u + ε) / √(v + ε) · g
 * u ← ρ · u + (1 − ρ) · Δ²
 * p ← p − lr · Δ
 * ```
 *
 * Options (defaults): `lr` 1, `rho` 0.9 (in [0, 1]), `eps` 1e-6, `weightDecay` 0, `maximize`
 * false. State: `square_avg` (v), `acc_delta` (u): 2 elements per parameter.
 *
 * Differences from the paper: PyTorch's `lr` scales the update (the paper's rule is lr = 1).
 *
 * @example
 * ```ts
 * import { ParamStore, Adadelta } from 'downhill';
 * const params = await ParamStore.create({ w: { shape: [3], init: [1, -2, 0.5] } });
 * const opt = new Adadelta(params, { lr: 1, rho: 0.9 });
 * for (let t = 0; t < 200; t++) {
 *   params.setGrad('w', params.get('w').map((x) => 2 * x)); // the gradient of ‖w‖²
 *   opt.step();
 * }
 * console.log(params.get('w')); // each element well on its way to 0
 * ```
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdadeltaOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdadeltaOptions>[],
    defaults?: Partial<Scheduled<AdadeltaOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdadeltaOptions>[] | Partial<Scheduled<AdadeltaOptions>>,
    defaults?: Partial<Scheduled<AdadeltaOptions>>,
  ) {
    super(specByName('Adadelta'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Adadelta', Adadelta as unknown as OptimizerClass);
