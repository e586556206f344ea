/**
 * Pure-TS mirror of crates/core/src/optim/nadam.rs (see there for the rule and references): the
 * same f64 scalars (the momentum schedule through the portable `pow` of ./mathx.ts) and the same
 * element operations in the same order, each rounded to the element type, so results equal the
 * core's bit for bit.
 */
import { pow } from './mathx.js';
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS, WD, MOMENTUM_DECAY, DECOUPLED, MAXIMIZE] = [0, 1, 2, 3, 4, 5, 6, 7];

interface Plan {
  sign: number;
  wd: number;
  decay: number;
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  invBc2Sqrt: number;
  eps: number;
  cg: number;
  cm: number;
  l2: boolean;
  decoupled: boolean;
}

function mu(b1: number, t: number, psi: number): number {
  return b1 * (1 - 0.5 * pow(0.96, t * psi));
}

export const NADAM_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'NAdam',
  plan(t, scalars, r) {
    const [lr, b1, b2, wd] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2], t.hp[WD]];
    const psi = t.hp[MOMENTUM_DECAY];
    const muT = mu(b1, t.step, psi);
    const muNext = mu(b1, t.step + 1, psi);
    // mu_product is kept in the element type; the step uses the stored value.
    const prod = r(scalars[0] * muT);
    scalars[0] = prod;
    const bc2 = 1 - powiExact(b2, t.step);
    const decoupled = t.hp[DECOUPLED] !== 0;
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
      cg: r((-lr * (1 - muT)) / (1 - prod)),
      cm: r((-lr * muNext) / (1 - prod * muNext)),
      l2: wd !== 0 && !decoupled,
      decoupled: wd !== 0 && decoupled,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, decay, b1, omb1, b2, omb2, invBc2Sqrt, eps, cg, cm, l2, decoupled } = pl;
    const [m, v] = s;
    for (let i = 0; i < p.length; i++) {
      let gi = r(g[i] * sign);
      let pi = p[i];
      if (decoupled) pi = r(pi * decay);
      if (l2) gi = r(gi + r(wd * pi));
      const mi = r(r(m[i] * b1) + r(gi * omb1));
      const vi = r(r(v[i] * b2) + r(r(gi * gi) * omb2));
      m[i] = mi;
      v[i] = vi;
      const d = r(r(r(Math.sqrt(vi)) * invBc2Sqrt) + eps);
      p[i] = r(pi + r(r(r(cg * gi) + r(cm * mi)) / d));
    }
  },
});
