import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../ts/train/mnist.js';

const hash = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex').slice(0, 16);

describe('loadMnist', () => {
  const m = loadMnist();
  it('reads the 10 000 digits of the npm package, split 8 004 / 1 996 (every fifth digit of a class is test)', () => {
    expect(m.train.rows).toBe(8004);
    expect(m.test.rows).toBe(1996);
    expect(m.train.features).toBe(784);
    expect(m.train.classes).toBe(10);
    const count = (y: Float32Array) => Array.from({ length: 10 }, (_, d) => y.filter((v) => v === d).length);
    // Per class: 1001 1127 991 1032 980 863 1014 1070 944 978 digits; test = floor(n / 5).
    expect(count(m.test.y)).toEqual([200, 225, 198, 206, 196, 172, 202, 214, 188, 195]);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of m.train.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect([lo, hi]).toEqual([0, 1]);
  });

  it('is deterministic: the same bytes on every load', () => {
    const again = loadMnist();
    expect(hash(again.train.x)).toBe(hash(m.train.x));
    expect(hash(again.test.x)).toBe(hash(m.test.x));
    expect(Array.from(again.test.y)).toEqual(Array.from(m.test.y));
  });

  it("the 'tail' split keeps the first 80 % of each class for training", () => {
    const t = loadMnist({ split: 'tail' });
    expect(t.train.rows).toBe(7996);
    expect(t.test.rows).toBe(2004);
    // The first training digit is the first digit of the package's 0.json in both splits.
    expect(Array.from(t.train.row(0))).toEqual(Array.from(m.train.row(0)));
  });

  it('standardises with the train set mean and std', () => {
    const s = loadMnist({ standardize: true });
    expect(s.standardization?.mean).toBeCloseTo(0.13, 1);
    expect(s.standardization?.std).toBeCloseTo(0.31, 1);
    const mean = s.train.x.reduce((a, v) => a + v, 0) / s.train.x.length;
    expect(Math.abs(mean)).toBeLessThan(1e-4);
  });

  it('rejects unknown options and missing files', () => {
    expect(() => loadMnist({ split: 'random' as never })).toThrow(/options.split/);
    expect(() => loadMnist({ dir: '/nonexistent' })).toThrow(/cannot read the digit file/);
    expect(() => loadMnist({ shuffle: true } as never)).toThrow(/options.shuffle: is not an option/);
  });
});
