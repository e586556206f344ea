import { KERNEL } from '../backend/types.js';
import { rangeError } from '../errors.js';
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

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

const SGD_DEF: OptimizerDef<SGDOptions> = {
  name: 'SGD',
  kernel: KERNEL.SGD,
  slots: ['momentum_buffer'],
  defaults: { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
  check(o, a) {
    checkNonNegative(o.lr, `${a}lr`);
    checkNonNegative(o.momentum, `${a}momentum`);
    checkNonNegative(o.dampening, `${a}dampening`);
    checkNonNegative(o.weightDecay, `${a}weightDecay`);
    checkBool(o.nesterov, `${a}nesterov`);
    checkBool(o.maximize, `${a}maximize`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw rangeError(`${a}nesterov`, 'requires momentum > 0 and dampening = 0');
    }
  },
  extra: (o) => [o.momentum, o.dampening, o.nesterov ? 1 : 0, 0],
  uses: (o) => [o.momentum !== 0, false, false],
  toTorch: (o) => ({
    lr: o.lr,
    momentum: o.momentum,
    dampening: o.dampening,
    weight_decay: o.weightDecay,
    nesterov: o.nesterov,
    maximize: o.maximize,
    foreach: null,
    differentiable: false,
  }),
  fromTorch: (g, a) => ({
    lr: torchNumber(g, 'lr', a),
    momentum: torchNumber(g, 'momentum', a),
    dampening: torchNumber(g, 'dampening', a),
    weightDecay: torchNumber(g, 'weight_decay', a),
    nesterov: torchBool(g, 'nesterov', a),
    maximize: torchBool(g, 'maximize', a),
  }),
};

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
 * with PyTorch's semantics (`torch.optim.SGD`).
 *
 * ```text
 * g ← maximize ? -grad : grad
 * if weightDecay ≠ 0:  g ← g + weightDecay · p
 * if momentum ≠ 0:
 *     b ← (first step) ? g : momentum · b + (1 − dampening) · g
 *     g ← nesterov ? g + momentum · b : b
 * p ← p − lr · g
 * ```
 *
 * Options (defaults): `lr` 1e-3, `momentum` 0, `dampening` 0, `weightDecay` 0, `nesterov` false
 * (needs momentum > 0 and dampening = 0), `maximize` false.
 *
 * @example
 * const params = await ParamStore.create({ w: { shape: [2], init: [1, 2] } });
 * const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
 * params.setGrad('w', [0.5, -1]);
 * opt.step();
 *
 * Reference: Sutskever et al. (ICML 2013). Differs from PyTorch only in that parameters are
 * stored in f32 (PyTorch follows the tensor dtype).
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamStore, options?: Partial<SGDOptions>);
  constructor(params: ParamStore, groups: readonly GroupSpec<SGDOptions>[], defaults?: Partial<SGDOptions>);
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<SGDOptions>[] | Partial<SGDOptions>,
    defaults?: Partial<SGDOptions>,
  ) {
    super(SGD_DEF, params, groupsOrOptions, defaults);
  }
}
