/**
 * Every optimizer the benchmark runs (the list comes from the specs), stepped on a tensor long
 * enough for the native addon to split it across its team of threads and for the reductions
 * (LAMB, LARS) to span many blocks, gives the same bits as the pure-TS mirror, which runs on one
 * thread in plain element order. Also in a process whose native pool has one thread, and on WASM.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOptimizer, ParamStore } from '../ts/index.js';
import { optimizerKernels } from '../ts/benchmark.js';
import { backends, bits, ROOT } from './helpers.js';

const { ready } = await backends();
const js = ready.find((b) => b.name === 'js')!;
// Above the split threshold, an odd length (a tail after the last whole piece and block).
const N = 140_001;

function run(backend: (typeof ready)[number], kernel: string): { data: string[]; threw?: string } {
  const s = new ParamStore(backend, { w: { shape: [N], init: (i) => Math.sin(i * 0.01) } });
  try {
    const opt =
      kernel === 'sgd_momentum'
        ? createOptimizer('sgd', s, { lr: 1e-2, momentum: 0.9, nesterov: true })
        : createOptimizer(kernel === 'sgd' ? 'sgd' : kernel, s, {});
    try {
      for (let t = 0; t < 3; t++) {
        const g = s.grads;
        for (let i = 0; i < g.length; i++) g[i] = Math.cos(i * 0.37 + t) * (1 + (i % 7));
        opt.step();
      }
    } finally {
      opt.dispose();
    }
    return { data: bits(s.data) };
  } catch (e) {
    return { data: [], threw: e instanceof Error ? e.message : String(e) };
  } finally {
    s.dispose();
  }
}

describe('long steps on every backend equal the one-thread mirror bit for bit', () => {
  for (const kernel of optimizerKernels()) {
    it(kernel, () => {
      const want = run(js, kernel);
      for (const b of ready.filter((x) => x.name !== 'js')) {
        const got = run(b, kernel);
        // An optimizer that cannot step a vector (Muon: matrices only) refuses it everywhere.
        expect(got.threw, `${kernel} on ${b.name}`).toBe(want.threw);
        expect(got.data, `${kernel} on ${b.name}`).toEqual(want.data);
      }
    });
  }
});

describe.skipIf(!ready.some((b) => b.name === 'native'))('native with a one-thread pool', () => {
  it('gives the bits of the multi-threaded run (LAMB, Adam, clip)', () => {
    const script = `
      import { createOptimizer, ParamStore, clipGradNorm } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
      import { loadBackend } from ${JSON.stringify(join(ROOT, 'dist', 'backend', 'select.js'))};
      const b = await loadBackend('native');
      const out = [];
      for (const name of ['lamb', 'adam']) {
        const s = new ParamStore(b, { w: { shape: [${N}], init: (i) => Math.sin(i * 0.01) } });
        const o = createOptimizer(name, s, {});
        for (let t = 0; t < 2; t++) {
          for (let i = 0; i < s.grads.length; i++) s.grads[i] = Math.cos(i * 0.37 + t) * 50;
          out.push(clipGradNorm(s, 1));
          o.step();
        }
        let h = 0;
        for (const v of new Uint32Array(s.data.buffer, s.data.byteOffset, s.data.length)) h = (Math.imul(h, 31) + v) | 0;
        out.push(b.info().threads, h);
      }
      console.log(JSON.stringify(out));`;
    const runWith = (threads: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, RAYON_NUM_THREADS: threads },
          encoding: 'utf8',
        }),
      ) as number[];
    const one = runWith('1');
    const two = runWith('2');
    expect(one[2]).toBe(1);
    expect(two[2]).toBe(2);
    // Threads counts differ; norms and parameter hashes do not.
    expect(one.filter((_, i) => i % 4 !== 2)).toEqual(two.filter((_, i) => i % 4 !== 2));
  });
});
