/**
 * Pure-TS mirror of crates/core/src/optim/adamax.rs (see there for the rule and references): the
 * same scalars and the same element operations in the same order, each rounded to the element
 * type, so results equal the core's bit for bit.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS, WD, MAXIMIZE] = [0, 1, 2, 3, 4, 5];

interface Plan {
  sign: number;
  wd: number;
  b1: number;
  omb1: number;
  b2: number;
  eps: number;
  negClr: number;
  l2: boolean;
}

export const ADAMAX_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'Adamax',
  plan(t, _scalars, r) {
    const b1 = t.hp[BETA1];
    const bc1 = 1 - powiExact(b1, t.step);
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(t.hp[WD]),
      b1: r(b1),
      omb1: r(1 - b1),
      b2: r(t.hp[BETA2]),
      eps: r(t.hp[EPS]),
      negClr: r(-(t.hp[LR] / bc1)),
      l2: t.hp[WD] !== 0,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, b1, omb1, b2, eps, negClr, l2 } = pl;
    const [m, u] = s;
    for (let i = 0; i < p.length; i++) {
      let gi = r(g[i] * sign);
      if (l2) gi = r(gi + r(wd * p[i]));
      const mi = r(r(m[i] * b1) + r(gi * omb1));
      m[i] = mi;
      const a = r(u[i] * b2);
      const b = r(Math.abs(gi) + eps);
      // NaN from either side propagates (torch.maximum); `+ 0` stores −0 as +0 (see the core).
      const ui = r((b > a || Number.isNaN(b) ? b : a) + 0);
      u[i] = ui;
      p[i] = r(p[i] + r(negClr * r(mi / ui)));
    }
  },
});
