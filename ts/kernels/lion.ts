/**
 * Pure-TS mirror of crates/core/src/optim/lion.rs: the same scalars and element operations in the
 * same order, each rounded to the element type, so results equal the core's bit for bit.
 */
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, WD] = [0, 1, 2, 3];

interface Plan {
  negLr: number;
  wd: number;
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  decay: boolean;
}

/** sign(x) with sign(±0) = ±0 and NaN kept, as the core's `sign`. */
const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : x * 0);

export const LION_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'Lion',
  plan: (t, _s, r) => ({
    negLr: r(-t.hp[LR]),
    wd: r(t.hp[WD]),
    b1: r(t.hp[BETA1]),
    omb1: r(1 - t.hp[BETA1]),
    b2: r(t.hp[BETA2]),
    omb2: r(1 - t.hp[BETA2]),
    decay: t.hp[WD] !== 0,
  }),
  apply(pl, p, g, [m], r) {
    const { negLr, wd, b1, omb1, b2, omb2, decay } = pl;
    for (let i = 0; i < p.length; i++) {
      const c = r(r(m[i] * b1) + r(g[i] * omb1));
      let u = sign(c);
      if (decay) u = r(u + r(wd * p[i]));
      p[i] = r(p[i] + r(negLr * u));
      m[i] = r(r(m[i] * b2) + r(g[i] * omb2));
    }
  },
});
