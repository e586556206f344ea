/**
 * Pure-TS mirror of crates/core/src/optim/adam.rs (Adam with AMSGrad and L2 weight decay; the
 * element loop AdamW reuses). Same scalars (f64, then rounded to f32) and the same f32
 * operations in the same order, so results equal the core's bit for bit. See the core file
 * for the update rule and references.
 */
import { rangeError } from '../errors.js';
import type { KernelSpec, Plan, Scalars } from './plan.js';
import { powiExact } from './pow.js';
import { flag, fmt, nonNegative, type Segment } from './segment.js';

const f32 = Math.fround;
const L2 = 1;
const DECAY = 2;
const AMS = 4;

function beta(v: number, arg: string): number {
  if (v >= 0 && v < 1) return v;
  throw rangeError(arg, `must be in [0, 1), got ${fmt(v)}`);
}

export function planWith(seg: Segment, i: number, decoupled: boolean): Plan {
  const name = (c: string) => `segments[${i}].${c}`;
  const b1 = beta(seg.extra[0], name('beta1'));
  const b2 = beta(seg.extra[1], name('beta2'));
  const eps = nonNegative(seg.extra[2], () => name('eps'));
  const amsgrad = flag(seg.extra[3], () => name('amsgrad'));
  const bc1 = 1 - powiExact(b1, seg.step);
  const bc2 = 1 - powiExact(b2, seg.step);
  let mode = 0;
  if (seg.weightDecay !== 0) mode |= decoupled ? DECAY : L2;
  if (amsgrad) mode |= AMS;
  const f = [
    seg.maximize ? -1 : 1,
    f32(seg.weightDecay),
    f32(1 - seg.lr * seg.weightDecay),
    f32(b1),
    f32(1 - b1),
    f32(b2),
    f32(1 - b2),
    f32(1 / Math.sqrt(bc2)),
    f32(eps),
    f32(-(seg.lr / bc1)),
  ];
  return { scalars: { f, mode }, uses: [true, true, amsgrad], run };
}

function run(
  s: Scalars,
  p: Float32Array,
  g: Float32Array,
  state: readonly [Float32Array, Float32Array, Float32Array],
  offset: number,
  len: number,
): void {
  const [sign, wd, decay, b1, omb1, b2, omb2, invBc2s, eps, negStep] = s.f;
  const l2 = (s.mode & L2) !== 0;
  const dec = (s.mode & DECAY) !== 0;
  const ams = (s.mode & AMS) !== 0;
  const [m, v, vmax] = state;
  const end = offset + len;
  for (let i = offset; i < end; i++) {
    let gi = f32(g[i] * sign);
    let pi = p[i];
    if (dec) pi = f32(pi * decay);
    if (l2) gi = f32(gi + f32(wd * pi));
    const mi = f32(f32(m[i] * b1) + f32(gi * omb1));
    const vi = f32(f32(v[i] * b2) + f32(f32(gi * gi) * omb2));
    m[i] = mi;
    v[i] = vi;
    let vh = vi;
    if (ams) {
      const old = vmax[i];
      // NaN in `vi` propagates, as torch.maximum does; `+ 0` stores -0 as +0 (see the core).
      vh = f32((old >= vi ? old : vi) + 0);
      vmax[i] = vh;
    }
    const denom = f32(f32(f32(Math.sqrt(vh)) * invBc2s) + eps);
    p[i] = f32(pi + f32(negStep * f32(mi / denom)));
  }
}

export const ADAM_SPEC: KernelSpec = {
  id: 1,
  name: 'Adam',
  state: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
  plan: (seg, i) => planWith(seg, i, false),
};
