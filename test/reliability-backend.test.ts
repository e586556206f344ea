/**
 * Findings of the reliability battery about the raw `Backend`/`Heap` interface and sizes (issue
 * 9), on every backend: the exported interface must be as strict as the classes — js did not
 * check aliasing, native/js `alloc()` coerced `1.5`, `NaN`, `'10'`, `null`, native/js stepped
 * another backend's buffers — and a shape too large for the machine (`[1e9]` on native/js) must be
 * a `RangeError` naming `specs.<name>.shape` and the limit before anything is allocated, not an
 * out-of-memory kill at the first step or V8's "Invalid typed array length".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { OP } from '../ts/generated/specs.js';
import { Adam, BackendError, loadBackend, ParamStore } from '../ts/index.js';
import type { Buffer, Heap } from '../ts/backend/types.js';
import { backends, ROOT } from './helpers.js';
import { expectRefused } from './reliability-helpers.js';

const { ready } = await backends();

/** `[count, (a, b, c, len)…, scalars…, outputs…]` for a vector op. */
const vec = (...xs: number[]) => Float64Array.from(xs);

describe.each(ready.map((b) => [b.name, b] as const))('raw heap on %s', (name, backend) => {
  it('alloc() takes only a non-negative integer length and a known dtype: nothing is coerced', () => {
    const heap = backend.createHeap();
    for (const bad of [1.5, NaN, -1, Infinity, -0.5, 2 ** 53]) {
      expectRefused(() => heap.alloc('float32', bad, 'n'), RangeError, 'n');
    }
    for (const bad of ['10', null, undefined, 10n, {}, [10], Symbol('n'), true]) {
      expectRefused(() => heap.alloc('float32', bad as never, 'n'), TypeError, 'n');
    }
    expectRefused(() => heap.alloc('float16' as never, 4), RangeError, 'dtype');
    expectRefused(() => heap.alloc(32 as never, 4), TypeError, 'dtype');
    const b = heap.alloc('float64', 3, 'n');
    expect(b.length).toBe(3);
    expect(Array.from(b.view())).toEqual([0, 0, 0]);
    heap.dispose();
    expect(() => heap.alloc('float32', 1)).toThrow(BackendError);
  });

  it('run() refuses aliasing, buffers of another heap or backend, disposed buffers and malformed calls', () => {
    const heap = backend.createHeap();
    const a = heap.alloc('float32', 4);
    const b = heap.alloc('float32', 4);
    a.view().set([1, 2, 3, 4]);
    const copy = vec(1, 0, 0, 0, 4);
    const snap = () => `${Array.from(a.view())}|${Array.from(b.view())}`;
    // params === grads: the same buffer twice.
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, [a, a]), RangeError, 'buffers[1]', snap);
    // A buffer of another heap of this backend, and of every other backend.
    const other = backend.createHeap();
    const foreign = other.alloc('float32', 4);
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, [a, foreign]), TypeError, 'buffers[1]', snap);
    for (const ob of ready) {
      if (ob === backend) continue;
      const h = ob.createHeap();
      const f = h.alloc('float32', 4);
      expectRefused(() => heap.run(OP.COPY, 'float32', copy, [f, b]), TypeError, 'buffers[0]', snap);
      h.dispose();
    }
    // Look-alikes: a typed array, an object shaped like a buffer.
    const fake = { heap, dtype: 'float32', length: 4, view: () => new Float32Array(4), dispose() {}, disposed: false };
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, [a, fake as never]), TypeError, 'buffers[1]', snap);
    expectRefused(
      () => heap.run(OP.COPY, 'float32', copy, [new Float32Array(4) as never, b]),
      TypeError,
      'buffers[0]',
      snap,
    );
    // Element type, op code, args, buffer list.
    const d = heap.alloc('float64', 4);
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, [a, d]), TypeError, 'buffers[1]', snap);
    expectRefused(() => heap.run(OP.COPY, 'float16' as never, copy, [a, b]), RangeError, 'dtype', snap);
    expectRefused(() => heap.run(1.5, 'float32', copy, [a, b]), TypeError, 'op', snap);
    expectRefused(() => heap.run('13' as never, 'float32', copy, [a, b]), TypeError, 'op', snap);
    expectRefused(() => heap.run(999, 'float32', copy, [a, b]), RangeError, 'op', snap);
    expectRefused(() => heap.run(OP.COPY, 'float32', [1, 0, 0, 0, 4] as never, [a, b]), TypeError, 'args', snap);
    expectRefused(() => heap.run(OP.COPY, 'float32', Float32Array.of(1) as never, [a, b]), TypeError, 'args', snap);
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, {} as never), TypeError, 'buffers', snap);
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, new Array(7).fill(null)), RangeError, 'buffers', snap);
    // Ranges outside a buffer, and a segment count one past the args (the core read past them).
    expectRefused(() => heap.run(OP.COPY, 'float32', vec(1, 0, 1, 0, 4), [a, b]), RangeError, 'args[2]', snap);
    const tooMany = new Float64Array(48);
    tooMany[0] = 12;
    expectRefused(() => heap.run(OP.NORM, 'float32', tooMany, [a]), RangeError, 'args[0]', snap);
    // Disposed buffers and heaps.
    b.dispose();
    expectRefused(() => heap.run(OP.COPY, 'float32', copy, [a, b]), TypeError, 'buffers[1]');
    heap.run(OP.COPY, 'float32', copy, [a, heap.alloc('float32', 4)]);
    other.dispose();
    heap.dispose();
    expect(() => heap.run(OP.COPY, 'float32', copy, [a, b])).toThrow(BackendError);
    expect(() => a.view()).toThrow(BackendError);
  });

  it('a step of another store: every buffer must belong to the stepping store', () => {
    const s1 = new ParamStore(backend, { w: { shape: [4], init: 1 } });
    const s2 = new ParamStore(backend, { w: { shape: [4], init: 2 } });
    const opt = new Adam(s1);
    s1.grads.fill(1);
    opt.step();
    const table = Float64Array.from([1, 1, 1, 0, 0.001, 0.9, 0.999, 1e-8, 0, 0, 0, 0, 4, 1, 1, 1, 4, 0, 2, 0]);
    const before = `${Array.from(s2.data)}`;
    expectRefused(
      () => s1.heap.run(OP.STEP, 'float32', table, [s2.buffers.params, s2.buffers.grads, null, null]),
      TypeError,
      'buffers[0]',
    );
    expect(`${Array.from(s2.data)}`).toBe(before);
    s1.dispose();
    s2.dispose();
  });

  it('every buffer and heap can be disposed with `using` (Symbol.dispose)', () => {
    let escaped: Buffer | null = null;
    let heapOut: Heap | null = null;
    {
      using heap = backend.createHeap();
      using buf = heap.alloc('float32', 8);
      escaped = buf;
      heapOut = heap;
      expect(buf.view().length).toBe(8);
    }
    expect(escaped.disposed).toBe(true);
    expect(heapOut.disposed).toBe(true);
  });

  it(`shapes beyond ${name}'s limits are RangeErrors naming specs.<name>.shape and the limit, before any allocation`, () => {
    const lim = backend.limits('float32');
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    // [1e9] float32 with its gradients is 8 GB: more than a quarter of this machine (native, js)
    // and than a WebAssembly memory (wasm). On a machine with over 32 GB it fits native/js.
    if (8e9 > lim.storeBytes) {
      const err = expectRefused(() => new ParamStore(backend, { huge: [1e9] }), RangeError, 'specs.huge.shape');
      expect(err.message).toMatch(
        new RegExp(`above the (${gib(lim.storeBytes)} a store may hold|limit of ${lim.bufferElements}) \\(`),
      );
    }
    const tooMany = Math.floor(lim.bufferElements) + 1;
    const err = expectRefused(() => new ParamStore(backend, { big: [tooMany] }), RangeError, 'specs.big.shape');
    expect(err.message).toContain(`above the limit of ${lim.bufferElements}`);
    expectRefused(() => new ParamStore(backend, { m: [1e5, 1e5] }), RangeError, 'specs.m.shape');
    expectRefused(() => new ParamStore(backend, { m: [2 ** 40, 2 ** 40] }), RangeError, 'specs.m.shape');
    expectRefused(() => new ParamStore(backend, { m: [2 ** 53] }), RangeError, 'specs.m.shape[0]');
    expectRefused(() => new ParamStore(backend, { m: [2 ** 52, 2] }), RangeError, 'specs.m.shape');
    // Several tensors that fit alone but not together name the specs as a whole.
    const third = Math.floor(lim.storeBytes / 8 / 3) + 1;
    if (third <= lim.bufferElements) {
      expectRefused(
        () => new ParamStore(backend, { a: [third], b: [third], c: [third] }),
        RangeError,
        /^specs: the tensors hold \d+ elements/,
      );
    }
    // A heap refuses allocations past its limit (optimizer state that would not fit).
    const heap = backend.createHeap();
    expectRefused(() => heap.alloc('float64', Math.floor(lim.heapBytes / 8) + 1, 'state'), RangeError, 'state');
    heap.dispose();
  });
});

describe('loadBackend', () => {
  it('rejects a name that is not a backend with a TypeError naming it (it resolved undefined)', async () => {
    for (const bad of [undefined, 'gpu', 'Native', 'auto', 1, null]) {
      await expect(loadBackend(bad as never)).rejects.toThrow(
        new TypeError(`name: must be one of native, wasm, js; got ${JSON.stringify(bad)}`),
      );
    }
  });
});

describe('worker threads', () => {
  it('every backend loads and steps in worker threads, concurrently with the main thread, to the same bits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'downhill-worker-'));
    const file = join(dir, 'worker.mjs');
    writeFileSync(
      file,
      `import { parentPort, workerData } from 'node:worker_threads';
       import * as m from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
       import { loadBackend } from ${JSON.stringify(join(ROOT, 'dist', 'backend', 'select.js'))};
       const s = new m.ParamStore(await loadBackend(workerData), { w: { shape: [1000], init: 1 } });
       const o = new m.Adam(s, { lr: 0.1 });
       for (let i = 0; i < 300; i++) { s.grads.fill(Math.sin(i)); o.step(); }
       parentPort.postMessage(Array.from(s.data.subarray(0, 4)));
       s.dispose();`,
    );
    for (const backend of ready) {
      const workers = [0, 1, 2].map(() => new Worker(file, { workerData: backend.name }));
      const here = new ParamStore(backend, { w: { shape: [1000], init: 1 } });
      const o = new Adam(here, { lr: 0.1 });
      for (let i = 0; i < 300; i++) {
        here.grads.fill(Math.sin(i));
        o.step();
      }
      const results = await Promise.all(
        workers.map(
          (w) =>
            new Promise<number[]>((resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
            }),
        ),
      );
      await Promise.all(workers.map((w) => w.terminate()));
      for (const r of results) expect(r, backend.name).toEqual(Array.from(here.data.subarray(0, 4)));
      here.dispose();
    }
  });
});
