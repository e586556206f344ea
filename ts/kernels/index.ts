/**
 * Mirror of crates/core/src/lib.rs `step` and registry.rs: the pure-TS backend's whole step,
 * with the core's checks in the core's order, so errors and results are the same.
 */
import { rangeError } from '../errors.js';
import { decode } from './segment.js';
import type { KernelSpec } from './plan.js';
import { SGD_SPEC } from './sgd.js';
import { ADAM_SPEC } from './adam.js';
import { ADAMW_SPEC } from './adamw.js';

export const SPECS: readonly KernelSpec[] = [SGD_SPEC, ADAM_SPEC, ADAMW_SPEC];

const EMPTY = new Float32Array(0);

export function step(
  kernel: number,
  segments: Float64Array,
  params: Float32Array,
  grads: Float32Array,
  state: readonly [Float32Array, Float32Array, Float32Array],
): void {
  const spec = SPECS.find((s) => s.id === kernel);
  if (!spec) throw rangeError('kernel', `unknown optimizer kernel id ${kernel}`);
  const n = params.length;
  if (grads.length !== n) throw rangeError('grads', `length ${grads.length} must equal params length ${n}`);
  const segs = decode(segments, n);
  const plans = segs.map((s, i) => spec.plan(s, i));
  state.forEach((slot, k) => {
    const used = plans.some((p) => p.uses[k]);
    const name = `state[${k}] (${spec.state[k] ?? 'unused'})`;
    if (used && slot.length !== n) throw rangeError(name, `length ${slot.length} must equal params length ${n}`);
    if (!used && slot.length !== 0 && slot.length !== n) {
      throw rangeError(name, `length ${slot.length} must be 0 or params length ${n}`);
    }
  });
  segs.forEach((seg, i) => {
    const plan = plans[i];
    const st = [0, 1, 2].map((k) => (plan.uses[k] ? state[k] : EMPTY)) as [Float32Array, Float32Array, Float32Array];
    plan.run(plan.scalars, params, grads, st, seg.offset, seg.len);
  });
}
