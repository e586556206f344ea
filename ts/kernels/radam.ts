/**
 * Pure-TS mirror of crates/core/src/optim/radam.rs (see there for the rule and references): the
 * same f64 scalars (ρ_t in PyTorch's order, so the rectification switches at the same step) and
 * the same element operations in the same order, each rounded to the element type, so results
 * equal the core's bit for bit.
 */
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS, WD, DECOUPLED, MAXIMIZE] = [0, 1, 2, 3, 4, 5, 6];

interface Plan {
  sign: number;
  wd: number;
  decay: number;
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  eps: number;
  negStep: number;
  l2: boolean;
  decoupled: boolean;
  rectified: boolean;
}

/** The rectification term at step t, or null when ρ_t ≤ 5 (`rectification` in the core). */
export function rectification(b2: number, t: number): number | null {
  const b2t = powiExact(b2, t);
  const bc2 = 1 - b2t;
  const rhoInf = 2 / (1 - b2) - 1;
  const rhoT = rhoInf - (2 * t * b2t) / bc2;
  if (!(rhoT > 5)) return null;
  return Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
}

export const RADAM_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'RAdam',
  plan(t, _scalars, r) {
    const [lr, b1, b2, wd] = [t.hp[LR], t.hp[BETA1], t.hp[BETA2], t.hp[WD]];
    const bc1 = 1 - powiExact(b1, t.step);
    const rect = rectification(b2, t.step);
    const negStep = rect === null ? -(lr / bc1) : -((lr * rect * Math.sqrt(1 - powiExact(b2, t.step))) / bc1);
    const decoupled = t.hp[DECOUPLED] !== 0;
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(wd),
      decay: r(1 - lr * wd),
      b1: r(b1),
      omb1: r(1 - b1),
      b2: r(b2),
      omb2: r(1 - b2),
      eps: r(t.hp[EPS]),
      negStep: r(negStep),
      l2: wd !== 0 && !decoupled,
      decoupled: wd !== 0 && decoupled,
      rectified: rect !== null,
    };
  },
  apply(pl, p, g, s, r) {
    const { sign, wd, decay, b1, omb1, b2, omb2, eps, negStep, l2, decoupled, rectified } = pl;
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
      p[i] = rectified ? r(pi + r(negStep * r(mi / r(r(Math.sqrt(vi)) + eps)))) : r(pi + r(negStep * mi));
    }
  },
});
