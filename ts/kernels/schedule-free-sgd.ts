/** Pure-TS mirror of crates/core/src/optim/schedule_free_sgd.rs (schedule-free SGD). */
import { average, interpolate, type Average } from './schedule-free-adamw.js';
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [LR, WARMUP, BETA1, WD, POWER] = [0, 1, 2, 3, 4];

interface Plan {
  avg: Average;
  wd: number;
}

export const SCHEDULE_FREE_SGD_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'ScheduleFreeSGD',
  plan(t, scalars, r) {
    const wd = t.hp[WD];
    return {
      avg: average(t, scalars, r, t.hp[LR], t.hp[WARMUP], t.hp[BETA1], t.hp[POWER]),
      wd: r(Number.isNaN(wd) ? 0 : wd),
    };
  },
  apply(pl, p, g, [z], r) {
    const { avg, wd } = pl;
    if (avg.first) z.set(p);
    for (let i = 0; i < p.length; i++) {
      const y = p[i];
      const d = r(g[i] + r(wd * y));
      const [yn, zn] = interpolate(avg, y, z[i], d, r);
      z[i] = zn;
      p[i] = yn;
    }
  },
});
