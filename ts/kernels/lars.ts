/**
 * Pure-TS mirror of crates/core/src/optim/lars.rs (LARS): norms in the core's blocked lane
 * order, element operations rounded after each one, so results equal the core's bit for bit.
 */
import { blockedSum, laneSum, laneSum2 } from './par.js';
import { registerKernel, type TensorwiseKernel } from './registry.js';

const [LR, WD, TRUST_COEFFICIENT, EPS, TRUST_RATIO, MOMENTUM, NESTEROV] = [0, 1, 2, 3, 4, 5, 6];

export const LARS_KERNEL: TensorwiseKernel = registerKernel({
  kind: 'tensorwise',
  spec: 'LARS',
  step(t, p, g, [trace], _scratch, r) {
    const wd = r(t.hp[WD]);
    const n = p.length;
    let ratio = 1;
    if (t.hp[TRUST_RATIO] !== 0) {
      const [pp, uu] = blockedSum(n, 2, (s, e) => [
        laneSum(p, s, e, (x) => x * x),
        laneSum2(p, s, g, s, e - s, (pi, gi) => {
          const u = r(gi + r(wd * pi));
          return u * u;
        }),
      ]);
      const [pn, un] = [Math.sqrt(pp), Math.sqrt(uu)];
      if (pn !== 0 && un !== 0) ratio = (t.hp[TRUST_COEFFICIENT] * pn) / (un + t.hp[EPS]);
    }
    const neg = r(-(t.hp[LR] * ratio));
    const momentum = r(t.hp[MOMENTUM]);
    const nesterov = t.hp[NESTEROV] !== 0;
    for (let i = 0; i < n; i++) {
      const d = r(r(g[i] + r(wd * p[i])) * neg);
      const b = r(d + r(momentum * trace[i]));
      trace[i] = b;
      p[i] = r(p[i] + (nesterov ? r(d + r(momentum * b)) : b));
    }
  },
});
