/**
 * Pure-TS mirror of crates/core/src/optim/adam.rs (Adam with AMSGrad and L2 or decoupled weight
 * decay; the element loop AdamW uses). Same scalars (f64, then rounded to the element type) and
 * the same element operations in the same order, so results equal the core's bit for bit.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel, type Round, type Tensor } from './registry.js';

const [LR, BETA1, BETA2, EPS, WD, AMSGRAD, MAXIMIZE, DECOUPLED] = [0, 1, 2, 3, 4, 5, 6, 7];

export interface AdamPlan {
  sign: number;
  wd: number;
  decay: number;
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  invBc2Sqrt: number;
  eps: number;
  negStep: number;
  l2: boolean;
  decoupled: boolean;
  ams: boolean;
}

export function adamPlan(t: Tensor, r: Round, decoupled: boolean): AdamPlan {
  const [lr, b1, b2, wd] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2], t.hp[WD]];
  const bc1 = 1 - powiExact(b1, t.step);
  const bc2 = 1 - powiExact(b2, t.step);
  return {
    sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
    wd: r(wd),
    decay: r(1 - lr * wd),
    b1: r(b1),
    omb1: r(1 - b1),
    b2: r(b2),
    omb2: r(1 - b2),
    invBc2Sqrt: r(1 / Math.sqrt(bc2)),
    eps: r(t.hp[EPS]),
    negStep: r(-(lr / bc1)),
    l2: wd !== 0 && !decoupled,
    decoupled: wd !== 0 && decoupled,
    ams: t.hp[AMSGRAD] !== 0,
  };
}

export function adamApply(
  pl: AdamPlan,
  p: Float32Array | Float64Array,
  g: Float32Array | Float64Array,
  s: readonly (Float32Array | Float64Array)[],
  r: Round,
): void {
  const { sign, wd, decay, b1, omb1, b2, omb2, invBc2Sqrt, eps, negStep, l2, decoupled, ams } = pl;
  const [m, v, vmax] = s;
  for (let i = 0; i < p.length; i++) {
    let gi = r(g[i] * sign);
    let pi = p[i];
    if (decoupled) pi = r(pi * decay);
    if (l2) gi = r(gi + r(wd * pi));
    const mi = r(r(m[i] * b1) + r(gi * omb1));
    const vi = r(r(v[i] * b2) + r(r(gi * gi) * omb2));
    m[i] = mi;
    v[i] = vi;
    let vh = vi;
    if (ams) {
      const old = vmax[i];
      // NaN in `vi` propagates, as torch.maximum does; `+ 0` stores −0 as +0 (see the core).
      vh = r((vi > old || Number.isNaN(vi) ? vi : old) + 0);
      vmax[i] = vh;
    }
    const denom = r(r(r(Math.sqrt(vh)) * invBc2Sqrt) + eps);
    p[i] = r(pi + r(negStep * r(mi / denom)));
  }
}

export const ADAM_KERNEL: ElementwiseKernel<AdamPlan> = registerKernel({
  kind: 'elementwise',
  spec: 'Adam',
  plan: (t, _s, r) => adamPlan(t, r, t.hp[DECOUPLED] !== 0),
  apply: adamApply,
});
