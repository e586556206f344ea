/**
 * The three backends agree bit for bit on the element-wise kernels (shared/STYLE.md, "Numbers
 * are the same everywhere"): identical f32 inputs, including zeros of both signs, subnormals,
 * huge magnitudes, infinities and NaN, give identical f32 outputs on native, WASM and pure TS.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Buffer } from '../ts/backend/types.js';
import { KERNEL, SEG_STRIDE } from '../ts/backend/types.js';
import { Rng } from '../ts/random.js';
import { backends } from './helpers.js';

const { ready } = await backends();
const N = 5000;

/** Values chosen to hit the edges of f32: signed zeros, subnormals, huge values, inf, NaN. */
const SPECIAL = [
  0,
  -0,
  1e-45,
  -1e-45,
  1e-40,
  -2.5e-39,
  1.1754942e-38,
  1e-30,
  1,
  -1,
  3.4e38,
  -3.4e38,
  1e30,
  -1e20,
  65504,
  Infinity,
  -Infinity,
  NaN,
];

function inputs(seed: number, nonNegative = false): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const r = rng.uniform();
    let v: number;
    if (r < 0.15) v = SPECIAL[Math.floor(rng.uniform() * SPECIAL.length)];
    else if (r < 0.3)
      v = (rng.uniform() - 0.5) * 1e-38; // subnormal range
    else if (r < 0.4) v = (rng.uniform() - 0.5) * 2 ** (rng.uniform() * 250 - 125);
    else v = rng.normal();
    a[i] = nonNegative ? Math.abs(v) : v;
  }
  return a;
}

interface Variant {
  name: string;
  kernel: number;
  /** lr, weight_decay, maximize, extra[0..3] */
  row: [number, number, number, number, number, number, number];
  slots: [boolean, boolean, boolean];
}

const VARIANTS: Variant[] = [
  { name: 'sgd plain', kernel: KERNEL.SGD, row: [0.1, 0, 0, 0, 0, 0, 0], slots: [false, false, false] },
  {
    name: 'sgd weight decay, maximize',
    kernel: KERNEL.SGD,
    row: [0.05, 0.01, 1, 0, 0, 0, 0],
    slots: [false, false, false],
  },
  { name: 'sgd momentum', kernel: KERNEL.SGD, row: [0.01, 0, 0, 0.9, 0, 0, 0], slots: [true, false, false] },
  {
    name: 'sgd momentum dampening wd',
    kernel: KERNEL.SGD,
    row: [0.01, 1e-4, 0, 0.8, 0.3, 0, 0],
    slots: [true, false, false],
  },
  { name: 'sgd nesterov', kernel: KERNEL.SGD, row: [0.03, 0.001, 0, 0.9, 0, 1, 0], slots: [true, false, false] },
  { name: 'adam', kernel: KERNEL.Adam, row: [1e-3, 0, 0, 0.9, 0.999, 1e-8, 0], slots: [true, true, false] },
  {
    name: 'adam l2 maximize',
    kernel: KERNEL.Adam,
    row: [0.01, 0.1, 1, 0.8, 0.99, 1e-6, 0],
    slots: [true, true, false],
  },
  { name: 'adam amsgrad', kernel: KERNEL.Adam, row: [1e-3, 0, 0, 0.9, 0.999, 1e-8, 1], slots: [true, true, true] },
  { name: 'adamw', kernel: KERNEL.AdamW, row: [1e-3, 0.01, 0, 0.9, 0.999, 1e-8, 0], slots: [true, true, false] },
  {
    name: 'adamw amsgrad l2-free eps 0',
    kernel: KERNEL.AdamW,
    row: [0.1, 0.5, 0, 0.5, 0.9, 0, 1],
    slots: [true, true, true],
  },
];

/** f32 bit patterns with every NaN made one (NaN payloads are not part of the contract). */
function bits(a: Float32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number.isNaN(a[i]) ? 0x7fc00000 : u[i];
  return out;
}

function run(b: Backend, v: Variant, step: number, seed: number): Float32Array[] {
  // Two segments with the same options and one gap, so offsets are exercised too.
  const table = new Float64Array(2 * SEG_STRIDE);
  table.set([0, 2000, step, ...v.row], 0);
  table.set([2100, N - 2100, step, ...v.row], SEG_STRIDE);
  const fill = (buf: Buffer, data: Float32Array) => (buf.view().set(data), buf);
  const p = fill(b.alloc(N), inputs(seed));
  const g = fill(b.alloc(N), inputs(seed + 1));
  const slots = v.slots.map((used, k) => (used ? fill(b.alloc(N), inputs(seed + 2 + k, k > 0)) : null)) as [
    Buffer | null,
    Buffer | null,
    Buffer | null,
  ];
  b.step(v.kernel, table, p, g, slots);
  const out = [p, ...slots.filter((s): s is Buffer => s !== null)].map((x) => x.view().slice());
  [p, g, ...slots].forEach((x) => x?.dispose());
  return out;
}

describe.skipIf(ready.length < 2)('bit-for-bit parity across backends', () => {
  for (const v of VARIANTS) {
    for (const step of [1, 7]) {
      it(`${v.name}, step ${step}: ${ready.map((b) => b.name).join(' = ')}`, () => {
        const results = ready.map((b) => run(b, v, step, 1000 + step));
        const [ref, ...others] = results;
        // The reference run must actually have changed something, or the comparison proves nothing.
        expect(bits(ref[0])).not.toEqual(bits(inputs(1000 + step)));
        others.forEach((r, bi) => {
          r.forEach((arr, k) => {
            const a = bits(ref[k]);
            const b = bits(arr);
            const firstDiff = a.findIndex((x, i) => x !== b[i]);
            expect(firstDiff, `${ready[bi + 1].name} buffer ${k} differs at ${firstDiff}`).toBe(-1);
          });
        });
      });
    }
  }
});
