import { rangeError } from '../errors.js';
import type { MuonOptions } from '../generated/specs.js';
import '../kernels/muon.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { MuonOptions };

/**
 * Muon (Jordan et al. 2024) with PyTorch's semantics (`torch.optim.Muon`): the momentum of a
 * matrix's gradients, orthogonalized by a quintic Newton–Schulz iteration that runs in bfloat16
 * (as PyTorch's does, emulated exactly), scaled by the matrix's shape.
 *
 * ```text
 * B ← B + (1 − momentum)·(g − B)
 * u ← nesterov ? g + momentum·(B − g) : B
 * X ← bf16(u) (transposed when rows > cols);  X ← X / max(‖X‖_F, eps)
 * nsSteps times:  A ← X·Xᵀ;  X ← nsA·X + (nsB·A + nsC·A·A)·X      (bfloat16)
 * p ← p · (1 − lr · weightDecay) − lr · ratio · X
 * ratio: 'original' √max(1, rows/cols) · 'match_rms_adamw' 0.2·√max(rows, cols) · 'spectral_unclamped' √(rows/cols)
 * ```
 *
 * Options (defaults): `lr` 1e-3, `weightDecay` 0.1, `momentum` 0.95, `nesterov` true,
 * `nsA`/`nsB`/`nsC` 3.4445/−4.775/2.0315, `eps` 1e-7, `nsSteps` 5, `adjustLrFn` 'original'.
 * State: `momentum_buffer`. Only 2-D tensors: give biases, embeddings and other tensors to
 * another optimizer (such as AdamW), or use {@link OptaxMuon}, which has an Adam branch for them.
 *
 * Differences from PyTorch: `ns_coefficients` is the three options `nsA`/`nsB`/`nsC` (state dicts
 * use PyTorch's tuple); PyTorch's `adjust_lr_fn=None` is 'original'. The bfloat16 products
 * accumulate in f32 in a fixed order, which may differ from PyTorch's GEMM where a sum lands on
 * a bfloat16 rounding boundary.
 *
 * @example
 * ```ts
 * import { ParamStore, Muon, AdamW } from 'downhill';
 * const params = await ParamStore.create({ w1: { shape: [8, 4], init: (i) => Math.sin(i) }, b1: [4] });
 * // Muon for the matrix, AdamW for the bias (Muon takes 2-D tensors only).
 * const muon = new Muon(params, [{ params: ['w1'] }], { lr: 0.02 });
 * const adamw = new AdamW(params, [{ params: ['b1'] }], { lr: 3e-4 });
 * params.grads.fill(0.1);
 * muon.step();
 * adamw.step();
 * console.log(params.get('w1').length, muon.stateBytes()); // 32 128
 * ```
 */
export class Muon extends Optimizer<MuonOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<MuonOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<MuonOptions>[],
    defaults?: Partial<Scheduled<MuonOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<MuonOptions>[] | Partial<Scheduled<MuonOptions>>,
    defaults?: Partial<Scheduled<MuonOptions>>,
  ) {
    super(specByName('Muon'), params, groupsOrOptions, defaults);
    const asGroups = Array.isArray(groupsOrOptions);
    this.paramGroups.forEach((g, gi) => checkMatrices(params, g.params, asGroups ? `groups[${gi}].params` : 'params'));
  }

  override addParamGroup(group: GroupSpec<MuonOptions>): void {
    if (group && typeof group === 'object' && Array.isArray(group.params)) {
      checkMatrices(this.params, group.params, `groups[${this.paramGroups.length}].params`, true);
    }
    super.addParamGroup(group);
  }
}

/** Muon's tensors must be matrices: a `RangeError` naming the first that is not. */
function checkMatrices(store: ParamStore, names: readonly string[], arg: string, lenient = false): void {
  names.forEach((name, i) => {
    if (lenient && (typeof name !== 'string' || !store.has(name))) return;
    const shape = store.tensor(name).shape;
    if (shape.length !== 2) {
      throw rangeError(
        arg === 'params' ? 'params' : `${arg}[${i}]`,
        `Muon takes 2-D tensors (matrices) only; ${JSON.stringify(name)} has shape [${shape.join(', ')}]` +
          ' (give it to another optimizer, e.g. AdamW, or use OptaxMuon)',
      );
    }
  });
}

registerOptimizer('Muon', Muon as unknown as OptimizerClass);
