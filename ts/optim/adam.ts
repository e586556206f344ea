import { KERNEL } from '../backend/types.js';
import { rangeError, typeError } from '../errors.js';
import type { ParamStore } from '../params.js';
import {
  checkBool,
  checkNonNegative,
  Optimizer,
  torchBool,
  torchNumber,
  type BaseOptions,
  type GroupSpec,
  type OptimizerDef,
} from './optimizer.js';

export interface AdamOptions extends BaseOptions {
  beta1: number;
  beta2: number;
  eps: number;
  amsgrad: boolean;
}

function checkBeta(v: unknown, arg: string): void {
  if (typeof v !== 'number') throw typeError(arg, `must be a number, got ${typeof v}`);
  if (!(v >= 0 && v < 1)) throw rangeError(arg, `must be in [0, 1), got ${v}`);
}

/** The definition Adam and AdamW share; they differ in kernel, name and weight-decay default. */
export function adamDef(name: 'Adam' | 'AdamW', kernel: number, weightDecay: number): OptimizerDef<AdamOptions> {
  return {
    name,
    kernel,
    slots: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
    defaults: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, amsgrad: false, maximize: false },
    check(o, a) {
      checkNonNegative(o.lr, `${a}lr`);
      checkBeta(o.beta1, `${a}beta1`);
      checkBeta(o.beta2, `${a}beta2`);
      checkNonNegative(o.eps, `${a}eps`);
      checkNonNegative(o.weightDecay, `${a}weightDecay`);
      checkBool(o.amsgrad, `${a}amsgrad`);
      checkBool(o.maximize, `${a}maximize`);
    },
    extra: (o) => [o.beta1, o.beta2, o.eps, o.amsgrad ? 1 : 0],
    uses: (o) => [true, true, o.amsgrad],
    toTorch: (o) => ({
      lr: o.lr,
      betas: [o.beta1, o.beta2],
      eps: o.eps,
      weight_decay: o.weightDecay,
      amsgrad: o.amsgrad,
      maximize: o.maximize,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: false,
    }),
    fromTorch(g, a) {
      const betas = g.betas;
      if (!Array.isArray(betas) || betas.length !== 2) throw typeError(`${a}betas`, 'must be [beta1, beta2]');
      return {
        lr: torchNumber(g, 'lr', a),
        beta1: betas[0] as number,
        beta2: betas[1] as number,
        eps: torchNumber(g, 'eps', a),
        weightDecay: torchNumber(g, 'weight_decay', a),
        amsgrad: torchBool(g, 'amsgrad', a),
        maximize: torchBool(g, 'maximize', a),
      };
    },
  };
}

const ADAM_DEF = adamDef('Adam', KERNEL.Adam, 0);

/**
 * Adam (Kingma & Ba, ICLR 2015), with AMSGrad (Reddi et al., ICLR 2018) and L2 weight decay
 * added to the gradient, with PyTorch's semantics (`torch.optim.Adam`).
 *
 * ```text
 * g ← maximize ? -grad : grad;  if weightDecay ≠ 0: g ← g + weightDecay · p
 * m ← β1 · m + (1 − β1) · g
 * v ← β2 · v + (1 − β2) · g²
 * v̂ ← amsgrad ? max(v̂, v) : v
 * p ← p − lr / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 *
 * Options (defaults): `lr` 1e-3, `beta1` 0.9, `beta2` 0.999, `eps` 1e-8, `weightDecay` 0,
 * `amsgrad` false, `maximize` false. For decoupled decay use {@link AdamW}.
 *
 * @example
 * const params = await ParamStore.create({ w: [10] });
 * const opt = new Adam(params, { lr: 1e-2 });
 * params.setGrad('w', grad); opt.step();
 *
 * Differences from PyTorch: f32 storage; `betas` are the two options `beta1`/`beta2` (the state
 * dict uses PyTorch's `betas`).
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamStore, options?: Partial<AdamOptions>);
  constructor(params: ParamStore, groups: readonly GroupSpec<AdamOptions>[], defaults?: Partial<AdamOptions>);
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdamOptions>[] | Partial<AdamOptions>,
    defaults?: Partial<AdamOptions>,
  ) {
    super(ADAM_DEF, params, groupsOrOptions, defaults);
  }
}
