import type { OptaxMuonOptions } from '../generated/specs.js';
import '../kernels/optax_muon.js';
import type { ParamStore } from '../params.js';
import { specByName } from '../spec.js';
import { Optimizer, registerOptimizer, type GroupSpec, type OptimizerClass, type Scheduled } from './optimizer.js';

export type { OptaxMuonOptions };

/** Where Optax keeps the Newton–Schulz coefficients in contrib.muon's state. */
const NS_COEFFS_PATH = 'inner_states.muon.inner_state.0.ns_coeffs';

/**
 * Muon as Optax has it (`optax.contrib.muon`, Optax 0.2.8): tensors with exactly two dimensions
 * (read as JAX's [fan_in, fan_out]) take Newton–Schulz-orthogonalized, bias-corrected momentum;
 * every other tensor takes a built-in AdamW, with the same `nesterov` flag. Computes in the
 * parameter type throughout (no bfloat16; compare {@link Muon}).
 *
 * ```text
 * matrices:  m ← (1 − β)·g + β·m;  m̂ ← nesterov ? β·m/(1 − β^(t+1)) + (1 − β)·g/(1 − β^t) : m/(1 − β^t)
 *            X ← m̂/(‖m̂‖_F + eps) (transposed when rows > cols)
 *            nsSteps times:  A ← X·Xᵀ;  X ← nsA·X + (nsB·A + nsC·A·A)·X
 *            scale ← consistentRms = null ? √max(1, cols/rows) : √max(rows, cols)·consistentRms
 *            p ← p − lr·(scale·X + weightDecay·p)
 * others:    AdamW(adamLr ?? lr, adamBeta1, adamBeta2, eps, adamEpsRoot, adamWeightDecay, nesterov)
 * ```
 *
 * Options (defaults): `lr` 0.02, `nsA`/`nsB`/`nsC` 3.4445/−4.775/2.0315, `nsSteps` 5, `momentum`
 * (Optax `beta`) 0.95, `eps` 1e-8, `weightDecay` 0, `nesterov` true, `adaptive` false,
 * `preconditioning` 'frobenius' ('spectral', 'aol', 'schatten'), `adamBeta1` 0.9, `adamBeta2`
 * 0.999, `adamEpsRoot` 0, `adamWeightDecay` 0, `adamLr` null (= lr), `consistentRms` null,
 * `muonDimensionNumbers` 'matrices'. State: `momentum_buffer` (matrices), `exp_avg`,
 * `exp_avg_sq` (others).
 *
 * Differences from Optax: `ns_coeffs` is the three options `nsA`/`nsB`/`nsC` (one triple, no
 * per-iteration table or preset name); Optax's `weight_decay_mask` is a param group with
 * `weightDecay: 0`; `mu_dtype` is the parameter type; `muon_weight_dimension_numbers` other than
 * None is not supported. Matrix products and norms sum in double and round once.
 *
 * @example
 * ```ts
 * import { ParamStore, OptaxMuon } from 'downhill';
 * const params = await ParamStore.create({ w1: { shape: [6, 4], init: (i) => Math.cos(i) }, b1: [4] });
 * // w1 (2-D) takes the orthogonalized momentum, b1 the built-in AdamW.
 * const opt = new OptaxMuon(params, { lr: 0.02, consistentRms: 0.2 });
 * params.grads.fill(0.1);
 * opt.step();
 * console.log(params.get('b1')); // ≈ −0.03 each: the AdamW branch's first (Nesterov) step
 * ```
 */
export class OptaxMuon extends Optimizer<OptaxMuonOptions> {
  constructor(params: ParamStore, options?: Partial<Scheduled<OptaxMuonOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<OptaxMuonOptions>[],
    defaults?: Partial<Scheduled<OptaxMuonOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<OptaxMuonOptions>[] | Partial<Scheduled<OptaxMuonOptions>>,
    defaults?: Partial<Scheduled<OptaxMuonOptions>>,
  ) {
    super(specByName('OptaxMuon'), params, groupsOrOptions, defaults);
  }

  /**
   * The final state in Optax's paths (for the conformance runner): the per-tensor leaves and step
   * counts as the spec names them, and the Newton–Schulz coefficients, which Optax keeps in its
   * state and casts to the parameter type where it uses them.
   */
  conformanceState(): {
    /** Per tensor (positional), its state by Optax path. */
    perTensor: Record<string, number | ArrayLike<number>>[];
    /** State shared by all tensors, by Optax path. */
    shared: Record<string, number | ArrayLike<number>>;
  } {
    const sd = this.stateDict();
    const spec = this.spec;
    const round = this.params.dtype === 'float32' ? Math.fround : (x: number) => x;
    const shared: Record<string, number | ArrayLike<number>> = {};
    // State dicts are positional over the groups in order; the reference lists tensors in the
    // store's order.
    const position = new Map(this.paramGroups.flatMap((g) => g.params).map((name, i) => [name, i]));
    const perTensor = this.params.names.map((name) => {
      const i = position.get(name);
      const e = (i === undefined ? undefined : sd.state[i]) ?? {};
      const out: Record<string, number | ArrayLike<number>> = {};
      for (const s of spec.state) {
        const v = e[s.key];
        if (v !== undefined && s.optax !== null) out[s.optax] = v as ArrayLike<number>;
      }
      for (const c of spec.optaxCounts) shared[c.path] ??= ((e.step as number | undefined) ?? 0) + c.offset;
      return out;
    });
    const g = this.paramGroups[0] as unknown as Record<string, number>;
    shared[NS_COEFFS_PATH] = [round(g.nsA), round(g.nsB), round(g.nsC)];
    return { perTensor, shared };
  }
}

registerOptimizer('OptaxMuon', OptaxMuon as unknown as OptimizerClass);
