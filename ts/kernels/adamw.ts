/** Pure-TS mirror of crates/core/src/optim/adamw.rs: Adam's loop with decoupled decay. */
import { adamApply, adamPlan, type AdamPlan } from './adam.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

export const ADAMW_KERNEL: ElementwiseKernel<AdamPlan> = registerKernel({
  kind: 'elementwise',
  spec: 'AdamW',
  plan: (t, _s, r) => adamPlan(t, r, true),
  apply: adamApply,
});
