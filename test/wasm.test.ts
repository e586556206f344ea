/**
 * The WASM backend's memory model: one instance per heap (store), so running out of memory or a
 * trap in one store never reaches another; forgotten stores are freed by the garbage collector;
 * disposed ones recycle their instance.
 */
import { describe, expect, it } from 'vitest';
import { wasmTestTrap, WasmHeap } from '../ts/backend/wasm.js';
import { Adam, BackendError, ParamStore } from '../ts/index.js';
import { backends } from './helpers.js';

const { ready } = await backends();
const wasm = ready.find((b) => b.name === 'wasm');

describe.skipIf(!wasm)('WASM heaps', () => {
  it('a store that does not fit is a RangeError naming it, and other stores keep working', () => {
    const s = new ParamStore(wasm!, { w: { shape: [4], init: 1 } });
    const o = new Adam(s, { lr: 0.5 });
    expect(() => new ParamStore(wasm!, { huge: [536870000] })).toThrow(
      /^specs\.huge\.shape: \[536870000\] holds 536870000 elements: with gradients 4\.00 GiB, above the 3\.98 GiB a store may hold \(WebAssembly/,
    );
    // Past the pre-checks, the core's allocation is fallible: out of memory is an error, not a trap.
    const other = new ParamStore(wasm!, { v: [2] });
    const big = other.heap.alloc('float32', 2 ** 29 - 2, 'first');
    expect(() => other.heap.alloc('float32', 2 ** 29 - 2, 'second')).toThrow(
      /^second: 536870910 float32 elements \(2048\.0 MiB\) do not fit in this store's WebAssembly memory/,
    );
    big.dispose();
    other.set('v', [5, 6]);
    expect(Array.from(other.data)).toEqual([5, 6]);
    other.dispose();
    s.grads.fill(1);
    o.step();
    expect(Array.from(s.data)).toEqual([0.5, 0.5, 0.5, 0.5]);
    s.dispose();
  });

  it('a trap kills only its own store; the others and new ones work', () => {
    const a = new ParamStore(wasm!, { w: { shape: [2], init: 1 } });
    const b = new ParamStore(wasm!, { w: { shape: [2], init: 2 } });
    const oa = new Adam(a);
    expect(() => wasmTestTrap(a.heap)).toThrow(BackendError);
    expect(() => a.data).toThrow(/trapped/);
    expect(() => oa.step()).toThrow(BackendError);
    expect((a.heap as WasmHeap).memoryBytes).toBe(0); // its memory is released at once
    b.grads.fill(1);
    new Adam(b, { lr: 1 }).step();
    expect(Array.from(b.data)).toEqual([1, 1]);
    const c = new ParamStore(wasm!, { w: { shape: [2], init: 3 } });
    expect(Array.from(c.data)).toEqual([3, 3]);
    b.dispose();
    c.dispose();
  });

  it('a synchronous loop of stores that are never disposed stays bounded', () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 3000; i++) {
      const s = new ParamStore(wasm!, { w: [10_000] });
      const o = new Adam(s);
      s.grads.fill(1);
      o.step();
    }
    const grown = process.memoryUsage().rss - before;
    // 3000 stores hold 3000 × 160 KB = 480 MB if nothing is freed.
    expect(grown).toBeLessThan(300 * 2 ** 20);
  });

  it('disposing returns a store and everything in its heap; the instance is reused', () => {
    const s = new ParamStore(wasm!, { w: [1000] });
    const heap = s.heap;
    new Adam(s).step();
    s.dispose();
    expect(heap.disposed).toBe(true);
    expect(() => s.data).toThrow(/after dispose/);
    const t = new ParamStore(wasm!, { w: [10] });
    expect(t.data.length).toBe(10);
    t.dispose();
  });
});
