/**
 * Pure-TS mirror of crates/core/src/optim/adadelta.rs (see there for the rule and references):
 * the same scalars and the same element operations in the same order, each rounded to the element
 * type, so results equal the core's bit for bit.
 */
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, RHO, EPS, WD, MAXIMIZE] = [0, 1, 2, 3, 4];

interface Plan {
  sign: number;
  wd: number;
  rho: number;
  omr: number;
  eps: number;
  negLr: number;
  l2: boolean;
}

export const ADADELTA_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'Adadelta',
  plan(t, _scalars, r) {
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(t.hp[WD]),
      rho: r(t.hp[RHO]),
      omr: r(1 - t.hp[RHO]),
      eps: r(t.hp[EPS]),
      negLr: r(-t.hp[LR]),
      l2: t.hp[WD] !== 0,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, rho, omr, eps, negLr, l2 } = pl;
    const [sq, acc] = s;
    for (let i = 0; i < p.length; i++) {
      let gi = r(g[i] * sign);
      if (l2) gi = r(gi + r(wd * p[i]));
      const v = r(r(sq[i] * rho) + r(r(gi * gi) * omr));
      sq[i] = v;
      const delta = r(r(r(Math.sqrt(r(acc[i] + eps))) / r(Math.sqrt(r(v + eps)))) * gi);
      acc[i] = r(r(acc[i] * rho) + r(r(delta * delta) * omr));
      p[i] = r(p[i] + r(negLr * delta));
    }
  },
});
