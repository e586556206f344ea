/**
 * The portable special functions behind the activations and losses (erf, erfc, expm1, log1p,
 * tanh, sigmoid; crates/core/src/mathx.rs, ts/kernels/mathx.ts) give the same bits on every
 * backend and are close to the platform's own.
 */
import { describe, expect, it } from 'vitest';
import { OP } from '../ts/generated/specs.js';
import { backends } from './helpers.js';

const { ready } = await backends();

const FUNCTIONS: [string, number, (x: number) => number, number][] = [
  ['erf', 3, () => NaN, 0],
  ['erfc', 4, () => NaN, 0],
  ['expm1', 5, Math.expm1, 4e-16],
  ['log1p', 6, Math.log1p, 4e-16],
  ['tanh', 7, Math.tanh, 1e-15],
  ['sigmoid', 8, (x) => 1 / (1 + Math.exp(-x)), 4e-16],
];

describe('special functions', () => {
  it.each(FUNCTIONS)('%s: the same bits on every backend, close to Math', (name, f, ref, tol) => {
    const xs: number[] = [
      0, -0, 1e-300, -1e-20, 3e-9, 0.1, -0.3, 0.84375, 0.9, -1.2, 1.25, 2, 2.857, 3.5, -4, 5.9, 6, 10, -27.9, 30, 50,
      -700, 710,
    ];
    for (let x = -8; x <= 8; x += 0.0173) xs.push(x);
    for (const x of xs) {
      if (name === 'log1p' && x <= -1) continue;
      const got = ready.map((b) => {
        const heap = b.createHeap();
        const args = Float64Array.of(f, x, 0, 0);
        heap.run(OP.MATH, 'float64', args, []);
        heap.dispose();
        return args[3];
      });
      for (const g of got) expect(Object.is(g, got[0]), `${name}(${x}): ${got.join(' ')}`).toBe(true);
      const want = ref(x);
      if (tol > 0 && Number.isFinite(want) && want !== 0) {
        expect(Math.abs(got[0] - want) / Math.abs(want), `${name}(${x})`).toBeLessThan(tol);
      }
    }
  });

  it('erf and erfc meet at known values', () => {
    const heap = ready[0].createHeap();
    const call = (f: number, x: number) => {
      const a = Float64Array.of(f, x, 0, 0);
      heap.run(OP.MATH, 'float64', a, []);
      return a[3];
    };
    // mpmath, 50 digits, rounded to double.
    expect(call(3, 0.5)).toBe(0.5204998778130465);
    expect(call(3, 2)).toBe(0.9953222650189527);
    expect(call(4, 3.5)).toBeCloseTo(7.430983723414128e-7, 21);
    expect(call(4, 10)).toBeCloseTo(2.088487583762545e-45, 58);
    expect(call(4, -1)).toBe(2 - call(4, 1));
    heap.dispose();
  });
});
