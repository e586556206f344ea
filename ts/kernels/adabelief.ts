/**
 * Pure-TS mirror of crates/core/src/optim/adabelief.rs (AdaBelief): the same scalars and the
 * same element operations in the same order, each rounded to the element type.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS, EPS_ROOT, NESTEROV] = [0, 1, 2, 3, 4, 5];

interface Plan {
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  epsRoot: number;
  invBc2Sqrt: number;
  eps: number;
  cm: number;
  cg: number;
  nesterov: boolean;
}

export const ADABELIEF_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'AdaBelief',
  plan(t, _s, r) {
    const [lr, b1, b2] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2]];
    const bc1 = 1 - powiExact(b1, t.step);
    const bc2 = 1 - powiExact(b2, t.step);
    const nesterov = t.hp[NESTEROV] !== 0;
    let cm = -(lr / bc1);
    let cg = 0;
    if (nesterov) {
      cm = -lr * (b1 / (1 - powiExact(b1, t.step + 1)));
      cg = -lr * ((1 - b1) / bc1);
    }
    return {
      b1: r(b1),
      omb1: r(1 - b1),
      b2: r(b2),
      omb2: r(1 - b2),
      epsRoot: r(t.hp[EPS_ROOT]),
      invBc2Sqrt: r(1 / Math.sqrt(bc2)),
      eps: r(t.hp[EPS]),
      cm: r(cm),
      cg: r(cg),
      nesterov,
    };
  },
  apply(pl, p, g, [m, s], r) {
    const { b1, omb1, b2, omb2, epsRoot, invBc2Sqrt, eps, cm, cg, nesterov } = pl;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = r(r(m[i] * b1) + r(gi * omb1));
      const e = r(gi - mi);
      const si = r(r(r(s[i] * b2) + r(r(e * e) * omb2)) + epsRoot);
      m[i] = mi;
      s[i] = si;
      const denom = r(r(r(Math.sqrt(si)) * invBc2Sqrt) + eps);
      const step = nesterov ? r(r(r(mi * cm) + r(gi * cg)) / denom) : r(cm * r(mi / denom));
      p[i] = r(p[i] + step);
    }
  },
});
