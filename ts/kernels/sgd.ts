/**
 * Pure-TS mirror of crates/core/src/optim/sgd.rs (SGD with momentum, dampening, Nesterov,
 * weight decay, maximize). Same scalars, same f32 operations in the same order: `Math.fround`
 * after every operation, so results equal the core's bit for bit. See the core file for the
 * update rule and references.
 */
import { rangeError } from '../errors.js';
import type { KernelSpec, Plan, Scalars } from './plan.js';
import { flag, nonNegative, type Segment } from './segment.js';

const f32 = Math.fround;
const WD = 1;
const MOM_FIRST = 2;
const MOM_RUNNING = 4;
const NESTEROV = 8;

function plan(seg: Segment, i: number): Plan {
  const name = (c: string) => () => `segments[${i}].${c}`;
  const momentum = nonNegative(seg.extra[0], name('momentum'));
  const dampening = nonNegative(seg.extra[1], name('dampening'));
  const nesterov = flag(seg.extra[2], name('nesterov'));
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw rangeError(name('nesterov')(), 'requires momentum > 0 and dampening = 0');
  }
  let mode = 0;
  if (seg.weightDecay !== 0) mode |= WD;
  if (momentum !== 0) {
    mode |= seg.step === 1 ? MOM_FIRST : MOM_RUNNING;
    if (nesterov) mode |= NESTEROV;
  }
  const f = [seg.maximize ? -1 : 1, f32(seg.weightDecay), f32(-seg.lr), f32(momentum), f32(1 - dampening)];
  return { scalars: { f, mode }, uses: [momentum !== 0, false, false], run };
}

function run(
  s: Scalars,
  p: Float32Array,
  g: Float32Array,
  state: readonly [Float32Array, Float32Array, Float32Array],
  offset: number,
  len: number,
): void {
  const [sign, wd, negLr, mom, omd] = s.f;
  const wdOn = (s.mode & WD) !== 0;
  const first = (s.mode & MOM_FIRST) !== 0;
  const running = (s.mode & MOM_RUNNING) !== 0;
  const nest = (s.mode & NESTEROV) !== 0;
  const buf = state[0];
  const end = offset + len;
  for (let i = offset; i < end; i++) {
    let d = f32(g[i] * sign);
    if (wdOn) d = f32(d + f32(wd * p[i]));
    if (first || running) {
      const v = first ? d : f32(f32(buf[i] * mom) + f32(d * omd));
      buf[i] = v;
      d = nest ? f32(d + f32(v * mom)) : v;
    }
    p[i] = f32(p[i] + f32(d * negLr));
  }
}

export const SGD_SPEC: KernelSpec = { id: 0, name: 'SGD', state: ['momentum_buffer'], plan };
