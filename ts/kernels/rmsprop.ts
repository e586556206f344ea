/**
 * Pure-TS mirror of crates/core/src/optim/rmsprop.rs (see there for the rule and references): the
 * same scalars and the same element operations in the same order, each rounded to the element
 * type, so results equal the core's bit for bit.
 */
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, ALPHA, EPS, WD, MOMENTUM, CENTERED, MAXIMIZE] = [0, 1, 2, 3, 4, 5, 6];

interface Plan {
  sign: number;
  wd: number;
  alpha: number;
  oma: number;
  eps: number;
  momentum: number;
  negLr: number;
  l2: boolean;
  centered: boolean;
  withMomentum: boolean;
}

export const RMSPROP_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'RMSprop',
  plan(t, _scalars, r) {
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(t.hp[WD]),
      alpha: r(t.hp[ALPHA]),
      oma: r(1 - t.hp[ALPHA]),
      eps: r(t.hp[EPS]),
      momentum: r(t.hp[MOMENTUM]),
      negLr: r(-t.hp[LR]),
      l2: t.hp[WD] !== 0,
      centered: t.hp[CENTERED] !== 0,
      withMomentum: t.hp[MOMENTUM] > 0,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, alpha, oma, eps, momentum, negLr, l2, centered, withMomentum } = pl;
    const [sq, buf, gavg] = s;
    for (let i = 0; i < p.length; i++) {
      let gi = r(g[i] * sign);
      if (l2) gi = r(gi + r(wd * p[i]));
      const v = r(r(sq[i] * alpha) + r(r(gi * gi) * oma));
      sq[i] = v;
      let d: number;
      if (centered) {
        const a = r(r(gavg[i] * alpha) + r(gi * oma));
        gavg[i] = a;
        d = r(r(Math.sqrt(r(v - r(a * a)))) + eps);
      } else {
        d = r(r(Math.sqrt(v)) + eps);
      }
      if (withMomentum) {
        const b = r(r(buf[i] * momentum) + r(gi / d));
        buf[i] = b;
        p[i] = r(p[i] + r(negLr * b));
      } else {
        p[i] = r(p[i] + r(negLr * r(gi / d)));
      }
    }
  },
});
