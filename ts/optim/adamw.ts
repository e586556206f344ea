import { KERNEL } from '../backend/types.js';
import type { ParamStore } from '../params.js';
import { adamDef, type AdamOptions } from './adam.js';
import { Optimizer, type GroupSpec } from './optimizer.js';

const ADAMW_DEF = adamDef('AdamW', KERNEL.AdamW, 1e-2);

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019), with PyTorch's
 * semantics (`torch.optim.AdamW`).
 *
 * ```text
 * p ← p · (1 − lr · weightDecay)
 * then Adam's update (see {@link Adam}) without the L2 term
 * ```
 *
 * Options as {@link Adam}, but `weightDecay` defaults to 1e-2. With `weightDecay: 0` the result
 * is Adam's, bit for bit.
 *
 * @example
 * const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: ParamStore, options?: Partial<AdamOptions>);
  constructor(params: ParamStore, groups: readonly GroupSpec<AdamOptions>[], defaults?: Partial<AdamOptions>);
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<AdamOptions>[] | Partial<AdamOptions>,
    defaults?: Partial<AdamOptions>,
  ) {
    super(ADAMW_DEF, params, groupsOrOptions, defaults);
  }
}
