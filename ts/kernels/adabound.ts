/**
 * Pure-TS mirror of crates/core/src/optim/adabound.rs (AdaBound, AMSBound): the same scalars and
 * the same element operations in the same order, each rounded to the element type.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, FINAL_LR, GAMMA, EPS, WD, AMSBOUND, BASE_LR] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

interface Plan {
  wd: number;
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  eps: number;
  stepSize: number;
  lower: number;
  upper: number;
  l2: boolean;
  ams: boolean;
}

export const ADABOUND_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'AdaBound',
  plan(t, _s, r) {
    const [lr, b1, b2, gamma] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2], t.hp[GAMMA]];
    const bc1 = 1 - powiExact(b1, t.step);
    const bc2 = 1 - powiExact(b2, t.step);
    const base = t.hp[BASE_LR];
    const fin = Number.isNaN(base) ? t.hp[FINAL_LR] : (t.hp[FINAL_LR] * lr) / base;
    const gt = gamma * t.step;
    return {
      wd: r(t.hp[WD]),
      b1: r(b1),
      omb1: r(1 - b1),
      b2: r(b2),
      omb2: r(1 - b2),
      eps: r(t.hp[EPS]),
      stepSize: r((lr * Math.sqrt(bc2)) / bc1),
      lower: r(fin * (1 - 1 / (gt + 1))),
      upper: r(fin * (1 + 1 / gt)),
      l2: t.hp[WD] !== 0,
      ams: t.hp[AMSBOUND] !== 0,
    };
  },
  apply(pl, p, g, [m, v, vmax], r) {
    const { wd, b1, omb1, b2, omb2, eps, stepSize, lower, upper, l2, ams } = pl;
    for (let i = 0; i < p.length; i++) {
      const pi = p[i];
      let gi = g[i];
      if (l2) gi = r(gi + r(wd * pi));
      const mi = r(r(m[i] * b1) + r(gi * omb1));
      const vi = r(r(v[i] * b2) + r(r(gi * gi) * omb2));
      m[i] = mi;
      v[i] = vi;
      let vh = vi;
      if (ams) {
        const old = vmax[i];
        vh = r((vi > old || Number.isNaN(vi) ? vi : old) + 0);
        vmax[i] = vh;
      }
      let s = r(stepSize / r(r(Math.sqrt(vh)) + eps));
      if (s < lower) s = lower;
      else if (s > upper) s = upper;
      p[i] = r(pi - r(s * mi));
    }
  },
});
