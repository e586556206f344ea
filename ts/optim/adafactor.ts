import type { AdafactorOptions } from '../generated/specs.js';
import '../kernels/adafactor.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { AdafactorOptions };

/**
 * Adafactor (Shazeer & Stern, ICML 2018) with PyTorch's semantics (`torch.optim.Adafactor`):
 * second moments of tensors with two or more dimensions are kept as row and column statistics
 * over their last two dimensions, so the state of an m×n matrix is m + n numbers instead of m·n.
 *
 * ```text
 * g ← maximize ? −grad : grad
 * ρ ← min(lr, 1/√t);  α ← max(eps2, RMS(p)) · ρ;  w ← t^beta2Decay
 * p ← p · (1 − lr · weightDecay)
 * dim ≥ 2:  R ← R + w·(mean_j g² − R);  C ← C + w·(mean_i g² − C);  V ← R ⊗ C / max(mean R, eps1)
 * dim < 2:  v ← v + w·(g² − v);  V ← v
 * U ← g / √max(V, eps1²)
 * p ← p − α / max(1, RMS(U)/d) · U
 * ```
 *
 * Options (defaults): `lr` 1e-2, `beta2Decay` −0.8, `eps1` null (the element type's machine
 * epsilon), `eps2` 1e-3, `d` 1 (>= 1), `weightDecay` 0, `maximize` false. State: `row_var`,
 * `col_var` (factored tensors) or `variance` (vectors); `stateBytes()` shows the saving.
 *
 * Differences from PyTorch: PyTorch's `eps` tuple is the two options `eps1`/`eps2` (state dicts
 * use PyTorch's `eps`); norms are summed in double, where PyTorch sums float32 in float32.
 *
 * @example
 * ```ts
 * import { ParamStore, Adafactor, Adam } from 'downhill';
 * const params = await ParamStore.create({ w: [512, 256], b: [256] });
 * const opt = new Adafactor(params, { lr: 1e-2 });
 * const adam = new Adam(params);
 * params.grads.fill(0.01);
 * opt.step();
 * adam.step();
 * // Row and column statistics for w, a full second moment for b: (512 + 256 + 256) · 4 bytes,
 * // against Adam's two moments, 2 · (512·256 + 256) · 4 bytes.
 * console.log(opt.stateBytes(), adam.stateBytes()); // 4096 1050624
 * ```
 */
export class Adafactor extends Optimizer<AdafactorOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<AdafactorOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<AdafactorOptions>[],
    defaults?: Partial<Scheduled<AdafactorOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdafactorOptions>[] | Partial<Scheduled<AdafactorOptions>>,
    defaults?: Partial<Scheduled<AdafactorOptions>>,
  ) {
    super(specByName('Adafactor'), params, groupsOrOptions, defaults);
  }
}

registerOptimizer('Adafactor', Adafactor as unknown as OptimizerClass);
