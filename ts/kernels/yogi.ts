/**
 * Pure-TS mirror of crates/core/src/optim/yogi.rs (Yogi): the same scalars and the same element
 * operations in the same order, each rounded to the element type.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS] = [0, 1, 2, 3];

interface Plan {
  b1: number;
  omb1: number;
  omb2: number;
  invBc2Sqrt: number;
  eps: number;
  negStep: number;
}

/** `sign(x)` with sign(±0) = 0 and NaN kept (the core's `real::sign`). */
function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x * 0;
}

export const YOGI_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'Yogi',
  plan(t, _s, r) {
    const [lr, b1, b2] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2]];
    const bc1 = 1 - powiExact(b1, t.step);
    const bc2 = 1 - powiExact(b2, t.step);
    return {
      b1: r(b1),
      omb1: r(1 - b1),
      omb2: r(1 - b2),
      invBc2Sqrt: r(1 / Math.sqrt(bc2)),
      eps: r(t.hp[EPS]),
      negStep: r(-(lr / bc1)),
    };
  },
  apply(pl, p, g, [m, v], r) {
    const { b1, omb1, omb2, invBc2Sqrt, eps, negStep } = pl;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = r(r(m[i] * b1) + r(gi * omb1));
      const g2 = r(gi * gi);
      const vo = v[i];
      const vi = r(vo - r(r(omb2 * sign(r(vo - g2))) * g2));
      m[i] = mi;
      v[i] = vi;
      const denom = r(r(r(Math.sqrt(vi)) * invBc2Sqrt) + eps);
      p[i] = r(p[i] + r(negStep * r(mi / denom)));
    }
  },
});
