/** The parameter arena: layout, initialisation, views that survive WASM memory growth, errors. */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../ts/errors.js';
import { Adam } from '../ts/optim/adam.js';
import { ParamStore } from '../ts/params.js';
import { backends } from './helpers.js';

const { ready } = await backends();

describe.each(ready.map((b) => [b.name, b] as const))('ParamStore on %s', (_, backend) => {
  it('lays tensors out back to back, with shapes, inits and gradient views', () => {
    const s = new ParamStore(backend, {
      w: { shape: [2, 3], init: (i) => i + 1 },
      b: { shape: [3], init: 0.5 },
      e: { shape: [0, 4] },
      c: { shape: [2], init: Float64Array.of(-1, -2) },
    });
    expect(s.names).toEqual(['w', 'b', 'e', 'c']);
    expect(s.size).toBe(11);
    expect([s.tensor('w').offset, s.tensor('b').offset, s.tensor('e').offset, s.tensor('c').offset]).toEqual([
      0, 6, 9, 9,
    ]);
    expect(Array.from(s.data)).toEqual([1, 2, 3, 4, 5, 6, 0.5, 0.5, 0.5, -1, -2]);
    s.tensor('b').grad.set([7, 8, 9]);
    s.setGrad('c', [1, 1]);
    expect(Array.from(s.grads)).toEqual([0, 0, 0, 0, 0, 0, 7, 8, 9, 1, 1]);
    s.zeroGrad(['b']);
    expect(Array.from(s.grads)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    const copy = s.get('w');
    copy[0] = 100;
    expect(s.tensor('w').data[0]).toBe(1);
    s.dispose();
  });

  it('rejects bad specs and values by name, writing nothing', () => {
    expect(() => new ParamStore(backend, { w: [2, -1] })).toThrow(/^specs\.w\.shape\[1\]: /);
    expect(() => new ParamStore(backend, { w: { shape: [2], init: [1, 2, 3] } })).toThrow(RangeError);
    expect(() => new ParamStore(backend, { w: { shape: [2], init: NaN } })).toThrow(/^specs\.w\.init: /);
    expect(() => new ParamStore(backend, { w: { shape: [2], init: () => 'x' as never } })).toThrow(
      new TypeError('specs.w.init: returned the string "x" for index 0; it must return numbers'),
    );
    expect(() => new ParamStore(backend, { w: { shape: [2], init: [1, null] as never } })).toThrow(
      /^specs\.w\.init\[1\]: must be a number/,
    );
    expect(() => new ParamStore(backend, { w: { shape: [2], bogus: 1 } as never })).toThrow(
      /^specs\.w\.bogus: is not a tensor option/,
    );
    expect(() => new ParamStore(backend, { w: [2] }, { dtype: 'float16' as never })).toThrow(/^options\.dtype: /);
    expect(
      () =>
        new ParamStore(backend, [
          ['w', [1]],
          ['w', [2]],
        ]),
    ).toThrow(/^specs\.w: duplicate/);
    expect(() => new ParamStore(backend, { w: 'big' as never })).toThrow(TypeError);
    const s = new ParamStore(backend, { w: { shape: [2], init: [1, 2] } });
    expect(() => s.set('w', [1, 2, 3])).toThrow(/^values: length 3 must equal the tensor size 2$/);
    expect(() => s.set('w', 'ab' as never)).toThrow(TypeError);
    expect(() => s.set('w', [1, 'x'] as never)).toThrow(/^values\[1\]: /);
    expect(() => s.setGrad('w', new BigInt64Array(2) as never)).toThrow(
      new TypeError('values: must hold numbers, got a BigInt64Array'),
    );
    expect(() => s.set('w', { length: 2 } as never)).toThrow(/^values: must be an array or typed array/);
    expect(() => s.setGrad('nope', [1])).toThrow(/^name: unknown parameter "nope"/);
    expect(() => s.zeroGrad(['w', 'x'])).toThrow(/^names\[1\]: /);
    expect(Array.from(s.data)).toEqual([1, 2]);
    s.dispose();
    expect(() => new Adam(s)).toThrow(BackendError);
  });
});

describe.each(ready.map((b) => [b.name, b] as const))('float64 stores on %s', (_, backend) => {
  it('hold doubles exactly and step in f64', () => {
    const s = new ParamStore(backend, { w: { shape: [2], init: [0.1, 1 / 3] } }, { dtype: 'float64' });
    expect(s.data).toBeInstanceOf(Float64Array);
    expect(Array.from(s.data)).toEqual([0.1, 1 / 3]);
    const opt = new Adam(s, { lr: 0.5 });
    s.grads.fill(1);
    opt.step();
    expect(s.data[0]).toBeCloseTo(0.1 - 0.5 / (1 + 1e-8), 15);
    s.dispose();
  });
});

describe.skipIf(!ready.some((b) => b.name === 'wasm'))('WASM views after memory growth', () => {
  it('tensor views are re-acquired, so data written before growth is read and written after it', () => {
    const wasm = ready.find((b) => b.name === 'wasm')!;
    const s = new ParamStore(wasm, { w: { shape: [4], init: [1, 2, 3, 4] } });
    const w = s.tensor('w');
    const stale = w.data;
    const opt = new Adam(s, { lr: 0.5 });
    s.grads.fill(1);
    opt.step(); // allocates Adam's state in the store's heap
    const grow = s.heap.alloc('float32', 16 * 1024 * 1024); // 64 MiB: this store's memory grows
    expect(stale.length).toBe(0); // the old view's buffer was detached by the growth
    expect(Array.from(w.data)).toEqual([0.5, 1.5, 2.5, 3.5]);
    w.data[0] = 10;
    opt.step();
    expect(Array.from(s.get('w'))).toEqual([9.5, 1, 2, 3]);
    grow.dispose();
    s.dispose();
  });
});
