/**
 * Pure-TS mirror of crates/core/src/optim/adagrad.rs (see there for the rule and references): the
 * same scalars and the same element operations in the same order, each rounded to the element
 * type, so results equal the core's bit for bit.
 */
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, LR_DECAY, WD, EPS, MAXIMIZE] = [0, 1, 2, 4, 5];

interface Plan {
  sign: number;
  wd: number;
  eps: number;
  negClr: number;
  l2: boolean;
}

export const ADAGRAD_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'Adagrad',
  plan(t, _scalars, r) {
    const clr = t.hp[LR] / (1 + (t.step - 1) * t.hp[LR_DECAY]);
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(t.hp[WD]),
      eps: r(t.hp[EPS]),
      negClr: r(-clr),
      l2: t.hp[WD] !== 0,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, eps, negClr, l2 } = pl;
    const sum = s[0];
    for (let i = 0; i < p.length; i++) {
      let gi = r(g[i] * sign);
      if (l2) gi = r(gi + r(wd * p[i]));
      const v = r(sum[i] + r(gi * gi));
      sum[i] = v;
      p[i] = r(p[i] + r(negClr * r(gi / r(r(Math.sqrt(v)) + eps))));
    }
  },
});
