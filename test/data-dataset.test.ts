import { describe, expect, it } from 'vitest';
import { Dataset, epochSeed, permutation } from '../ts/train/data.js';
import { DataError } from '../ts/train/errors.js';
import { Rng } from '../ts/random.js';

function grid(rows: number, features: number): Dataset {
  const x = Float32Array.from({ length: rows * features }, (_, i) => i);
  const y = Float32Array.from({ length: rows }, (_, i) => i % 3);
  return new Dataset({ x, y, features, classes: 3 });
}

describe('Dataset', () => {
  it('holds rows of features and labels', () => {
    const d = grid(10, 4);
    expect(d.rows).toBe(10);
    expect(d.targets).toBe(1);
    expect(d.classes).toBe(3);
    expect(Array.from(d.row(2))).toEqual([8, 9, 10, 11]);
    const r = new Dataset({ x: [1, 2, 3, 4], y: [1, 2, 3, 4], features: 2 });
    expect(r.targets).toBe(2);
    expect(r.classes).toBeNull();
  });

  it('rejects empty data, bad shapes, NaN and labels out of range with a DataError naming the place', () => {
    expect(() => new Dataset({ x: [], y: [], features: 3 })).toThrow(/empty/);
    expect(() => new Dataset({ x: [1, 2, 3], y: [0], features: 2 })).toThrow(/whole number of rows/);
    expect(() => new Dataset({ x: [1, 2, 3, 4], y: [0], features: 2, classes: 2 })).toThrow(/does not match 2 rows/);
    let e: unknown;
    try {
      new Dataset({ x: [1, 2, 3, NaN], y: [0, 1], features: 2, classes: 2, featureNames: ['a', 'b'] });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(DataError);
    expect(e).toBeInstanceOf(RangeError);
    expect((e as DataError).row).toBe(1);
    expect((e as DataError).column).toBe('b');
    expect((e as Error).message).toMatch(/row 1, column "b" is NaN/);
    expect(() => new Dataset({ x: [1, 2], y: [2], features: 2, classes: 2 })).toThrow(
      /label 2; labels must be integers in \[0, 1\]/,
    );
    expect(() => new Dataset({ x: [1, 2], y: [0.5], features: 2, classes: 2 })).toThrow(DataError);
    expect(() => new Dataset({ x: [1, 2], y: [Infinity], features: 2 })).toThrow(/target 0 is Infinity/);
  });

  it('shuffles with the seeded RNG: same seed, same order; epochs differ', () => {
    const d = grid(50, 2);
    const a = d.batches(8, { seed: 3, epoch: 0 });
    const b = d.batches(8, { seed: 3, epoch: 0 });
    const c = d.batches(8, { seed: 3, epoch: 1 });
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
    expect(a.map((x) => Array.from(x))).not.toEqual(c.map((x) => Array.from(x)));
    expect(a.length).toBe(7);
    expect(a[6].length).toBe(2);
    expect(d.batches(8, { seed: 3, dropLast: true }).length).toBe(6);
    const all = a.flatMap((x) => Array.from(x)).sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(d.batches(50, { shuffle: false })[0])).toEqual(all);
    // The permutation is the RNG's Fisher–Yates: pinned so it never changes silently.
    expect(Array.from(permutation(8, new Rng(epochSeed(1, 0))))).toEqual([0, 3, 4, 7, 6, 1, 5, 2]);
  });

  it('checks batch sizes', () => {
    const d = grid(5, 2);
    expect(() => d.batches(0)).toThrow(/batchSize: must be a whole number >= 1, got 0/);
    expect(() => d.batches(6)).toThrow(/batchSize: 6 is larger than the 5 rows/);
    expect(() => d.batches(1.5)).toThrow(RangeError);
  });

  it('splits deterministically and keeps row order within each part', () => {
    const d = grid(20, 1);
    const s1 = d.split(0.25, { seed: 7 });
    const s2 = d.split(0.25, { seed: 7 });
    expect(s1.validation.rows).toBe(5);
    expect(s1.train.rows).toBe(15);
    expect(Array.from(s1.validation.x)).toEqual(Array.from(s2.validation.x));
    const v = Array.from(s1.validation.x);
    expect(v).toEqual([...v].sort((p, q) => p - q));
    const union = [...Array.from(s1.train.x), ...v].sort((p, q) => p - q);
    expect(union).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Array.from(d.split(0.25, { shuffle: false }).validation.x)).toEqual([15, 16, 17, 18, 19]);
    expect(() => d.split(0)).toThrow(RangeError);
    expect(() => grid(1, 1).split(0.5)).toThrow(/both need at least one/);
  });

  it('standardises with given statistics', () => {
    const d = new Dataset({ x: [0, 10, 2, 10, 4, 10], y: [0, 0, 0], features: 2, classes: 1 });
    const s = d.stats('feature');
    expect(Array.from(s.mean as Float32Array)).toEqual([2, 10]);
    const z = d.standardize(s);
    expect(Array.from(z.x).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([-1.224745, 0, 0, 0, 1.224745, 0]);
    const g = d.stats('global');
    expect(typeof g.mean).toBe('number');
  });
});
