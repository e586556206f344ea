/**
 * Pure-TS mirror of crates/core/src/optim/schedule_free_adamw.rs (schedule-free AdamW) and of
 * the averaging both schedule-free specs share: the same scalars (the warmup rates in float32
 * operations, as Optax computes them), the same element operations rounded after each one.
 */
import { pow } from './mathx.js';
import { powiExact } from './pow.js';
import { registerKernel, type ElementwiseKernel, type Round, type Tensor } from './registry.js';

const f32 = Math.fround;

/** Optax's linear warmup `lr · min(c, W) / W` at an int32 count, in float32 (`warmup` in the core). */
export function warmup(lr: number, steps: number, count: number): number {
  const q = f32(f32(Math.min(count, steps)) / f32(steps));
  const frac = f32(1 - q);
  return f32(f32(f32(-lr) * frac) + f32(lr));
}

export interface Average {
  negGamma: number;
  b1: number;
  omb1: number;
  c: number;
  omc: number;
  first: boolean;
}

/** The core's `average`: updates `scalars = [weight_sum, lr_max]` and returns the step's scalars. */
export function average(
  t: Tensor,
  scalars: number[],
  r: Round,
  lr: number,
  warm: number,
  b1: number,
  power: number,
): Average {
  const [gamma, gammaW] = Number.isNaN(warm) ? [lr, lr] : [warmup(lr, warm, t.step - 1), warmup(lr, warm, t.step)];
  const g = r(gammaW);
  const old = scalars[1];
  const lrMax = g > old || Number.isNaN(g) ? g : old;
  const w = r(pow(lrMax, power));
  const sum = r(scalars[0] + w);
  let c: number;
  if (Number.isNaN(w) || Number.isNaN(sum)) c = NaN;
  else {
    const q = w / sum;
    c = Number.isNaN(q) ? 0 : q;
  }
  c = r(c);
  scalars[0] = sum;
  scalars[1] = lrMax;
  return { negGamma: r(-gamma), b1: r(b1), omb1: r(1 - b1), c, omc: r(1 - c), first: t.step === 1 };
}

/** The shared tail for one element: `[y', z']` from y, z and the direction d. */
export function interpolate(a: Average, y: number, z: number, d: number, r: Round): [number, number] {
  const zn = r(z + r(a.negGamma * d));
  let x = r(r(y - r(a.omb1 * z)) / a.b1);
  x = r(r(a.omc * x) + r(a.c * zn));
  return [r(r(a.b1 * x) + r(a.omb1 * zn)), zn];
}

const [LR, WARMUP, BETA1, BETA2, EPS, WD, POWER] = [0, 1, 2, 3, 4, 5, 6];

interface Plan {
  avg: Average;
  b2: number;
  omb2: number;
  invBc2Sqrt: number;
  eps: number;
  wd: number;
}

export const SCHEDULE_FREE_ADAMW_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'ScheduleFreeAdamW',
  plan(t, scalars, r) {
    const b2 = t.hp[BETA2];
    return {
      avg: average(t, scalars, r, t.hp[LR], t.hp[WARMUP], t.hp[BETA1], t.hp[POWER]),
      b2: r(b2),
      omb2: r(1 - b2),
      invBc2Sqrt: r(1 / Math.sqrt(1 - powiExact(b2, t.step))),
      eps: r(t.hp[EPS]),
      wd: r(t.hp[WD]),
    };
  },
  apply(pl, p, g, [z, v], r) {
    const { avg, b2, omb2, invBc2Sqrt, eps, wd } = pl;
    if (avg.first) z.set(p);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const y = p[i];
      const vi = r(r(v[i] * b2) + r(r(gi * gi) * omb2));
      v[i] = vi;
      const d = r(r(gi / r(r(r(Math.sqrt(vi)) * invBc2Sqrt) + eps)) + r(wd * y));
      const [yn, zn] = interpolate(avg, y, z[i], d, r);
      z[i] = zn;
      p[i] = yn;
    }
  },
});
