/**
 * Pure-TS mirror of crates/core/src/optim/lamb.rs (LAMB): the same per-tensor scalars, the same
 * element operations rounded after each one, and the norms summed in the core's blocked lane
 * order, so results equal the core's bit for bit.
 */
import { blockedSum, laneSum } from './par.js';
import { powiExact } from './pow.js';
import { registerKernel, type TensorwiseKernel } from './registry.js';

const [LR, BETA1, BETA2, EPS, EPS_ROOT, WD] = [0, 1, 2, 3, 4, 5];

const square = (x: number) => x * x;

/** `‖p‖ / ‖u‖`, or 1 when either norm is zero. */
export function trustRatio(pn: number, un: number): number {
  return pn === 0 || un === 0 ? 1 : pn / un;
}

export const LAMB_KERNEL: TensorwiseKernel = registerKernel({
  kind: 'tensorwise',
  spec: 'LAMB',
  scratchLen: (shape) => shape.numel,
  step(t, p, g, [m, v], scratch, r) {
    const [b1, b2] = [t.hp[BETA1], t.hp[BETA2]];
    const rb1 = r(b1);
    const omb1 = r(1 - b1);
    const rb2 = r(b2);
    const omb2 = r(1 - b2);
    const invBc1 = r(1 / (1 - powiExact(b1, t.step)));
    const invBc2 = r(1 / (1 - powiExact(b2, t.step)));
    const epsRoot = r(t.hp[EPS_ROOT]);
    const eps = r(t.hp[EPS]);
    const wd = r(t.hp[WD]);
    const n = p.length;
    const u = scratch;
    for (let j = 0; j < n; j++) {
      const gj = g[j];
      const mj = r(r(m[j] * rb1) + r(gj * omb1));
      const vj = r(r(v[j] * rb2) + r(r(gj * gj) * omb2));
      m[j] = mj;
      v[j] = vj;
      const denom = r(r(Math.sqrt(r(r(vj * invBc2) + epsRoot))) + eps);
      u[j] = r(r(r(mj * invBc1) / denom) + r(wd * p[j]));
    }
    const [pp, uu] = blockedSum(n, 2, (s, e) => [laneSum(p, s, e, square), laneSum(u, s, e, square)]);
    const neg = r(-(t.hp[LR] * trustRatio(Math.sqrt(pp), Math.sqrt(uu))));
    for (let j = 0; j < n; j++) p[j] = r(p[j] + r(neg * u[j]));
  },
});
