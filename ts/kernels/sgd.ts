/**
 * Pure-TS mirror of crates/core/src/optim/sgd.rs (see there for the rule and references): the
 * same scalars and the same element operations in the same order, each rounded to the element
 * type, so results equal the core's bit for bit.
 */
import { registerKernel, type ElementwiseKernel } from './registry.js';

const [MOMENTUM, DAMPENING, WD, NESTEROV, MAXIMIZE] = [1, 2, 3, 4, 5];

interface Plan {
  sign: number;
  wd: number;
  negLr: number;
  momentum: number;
  omd: number;
  wdOn: boolean;
  first: boolean;
  running: boolean;
  nesterov: boolean;
}

export const SGD_KERNEL: ElementwiseKernel<Plan> = registerKernel({
  kind: 'elementwise',
  spec: 'SGD',
  plan(t, _scalars, r) {
    const momentum = t.hp[MOMENTUM];
    return {
      sign: t.hp[MAXIMIZE] !== 0 ? -1 : 1,
      wd: r(t.hp[WD]),
      negLr: r(-t.hp[0]),
      momentum: r(momentum),
      omd: r(1 - t.hp[DAMPENING]),
      wdOn: t.hp[WD] !== 0,
      first: momentum !== 0 && t.step === 1,
      running: momentum !== 0 && t.step !== 1,
      nesterov: momentum !== 0 && t.hp[NESTEROV] !== 0,
    };
  },
  apply(pl, p, g, [buf], r) {
    const { sign, wd, negLr, momentum, omd, wdOn, first, running, nesterov } = pl;
    for (let i = 0; i < p.length; i++) {
      let d = r(g[i] * sign);
      if (wdOn) d = r(d + r(wd * p[i]));
      if (first || running) {
        const v = first ? d : r(r(buf[i] * momentum) + r(d * omd));
        buf[i] = v;
        d = nesterov ? r(d + r(v * momentum)) : v;
      }
      p[i] = r(p[i] + r(d * negLr));
    }
  },
});
