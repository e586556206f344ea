/** Pure-TS mirror of crates/core/src/optim/adamw.rs: Adam's loop with decoupled weight decay. */
import type { KernelSpec } from './plan.js';
import { planWith } from './adam.js';

export const ADAMW_SPEC: KernelSpec = {
  id: 2,
  name: 'AdamW',
  state: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
  plan: (seg, i) => planWith(seg, i, true),
};
