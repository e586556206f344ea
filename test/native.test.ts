/** The native addon's boundary: zero-copy in place, panics as errors, aliasing refused, a bad addon path refused. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAddonLocation, nativeTestPanic } from '../ts/backend/native.js';
import { OP } from '../ts/generated/specs.js';
import { Adam, ParamStore } from '../ts/index.js';
import { loadBackend } from '../ts/backend/select.js';
import { backends, bits, ROOT } from './helpers.js';

const { ready } = await backends();
const native = ready.find((b) => b.name === 'native');

describe.skipIf(!native)('native addon', () => {
  it('turns a Rust panic into a JS Error and keeps working', () => {
    expect(() => nativeTestPanic('boom')).toThrow(/^native backend: panic: boom$/);
    const s = new ParamStore(native!, { w: { shape: [2], init: 1 } });
    const o = new Adam(s, { lr: 0.5 });
    s.grads.fill(1);
    o.step();
    expect(Array.from(s.data)).toEqual([0.5, 0.5]);
    s.dispose();
  });

  it("views each buffer from a cache line, and takes typed arrays at any offset as the core's buffers", () => {
    const addon = createRequire(import.meta.url)(nativeAddonLocation().path) as {
      align(b: ArrayBuffer): number;
      call(op: number, dtype: number, args: ArrayBuffer, ...b: (ArrayBufferView | ArrayBuffer | null)[]): void;
    };
    expect(() => addon.align(new Float32Array(4) as never)).toThrow(/^\[type\] buffer: must be an ArrayBuffer/);
    // The offset to the next cache line moves with the buffer's start: 16 bytes into a 64-byte
    // aligned block, the answer drops by 16 (mod 64). Seen through the core: COPY from a view at
    // byte offset k copies the elements from k on, whatever k.
    const ab = new ArrayBuffer(256);
    const at = addon.align(ab);
    expect(at % 4).toBe(0);
    expect(at).toBeLessThan(64);
    const src = new Float32Array(ab);
    src.forEach((_, i) => (src[i] = i));
    for (const k of [0, 1, 3, 7, at / 4]) {
      const from = new Float32Array(ab, 4 * k, 8);
      const to = new Float32Array(8);
      addon.call(OP.COPY, 0, Float64Array.from([1, 0, 0, 0, 8]).buffer, from, to);
      expect(Array.from(to)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => i + k));
    }
    // A store's buffers are such views; they read and write like any typed array, and a step
    // on them gives the js mirror's bits (the rest of the suite holds every op to that).
    const s = new ParamStore(native!, { w: { shape: [3 << 18], init: 2 } });
    expect(s.data.length).toBe(3 << 18);
    expect(s.data.byteOffset % 4).toBe(0);
    expect(s.data.every((x) => x === 2)).toBe(true);
    s.dispose();
  });

  it('refuses two arguments that share memory, before touching them', () => {
    const addon = createRequire(import.meta.url)(nativeAddonLocation().path) as {
      call(op: number, dtype: number, args: ArrayBuffer, ...b: (ArrayBuffer | null)[]): void;
    };
    const x = new Float32Array([1, 2, 3]);
    const args = Float64Array.from([1, 0, 0, 0, 3, 2]);
    expect(() => addon.call(OP.COPY, 0, args.buffer, x.buffer, x.buffer)).toThrow(
      /\[range\] buffers\[1\]: overlaps buffers\[0\]/,
    );
    expect(() => addon.call(OP.SCALE, 0, args.buffer, args.buffer)).toThrow(/\[range\] buffers\[0\]: overlaps args/);
    expect(() => addon.call(OP.SCALE, 0, args.buffer, 'x' as never)).toThrow(
      /\[type\] buffers\[0\]: must be a typed array, an ArrayBuffer, or null/,
    );
    expect(Array.from(x)).toEqual([1, 2, 3]);
  });

  it('a large threaded step equals the pure-TS mirror bit for bit', async () => {
    const js = await loadBackend('js');
    const out = [native!, js].map((b) => {
      const s = new ParamStore(b, { w: { shape: [1 << 19], init: (i) => Math.sin(i) } });
      const o = new Adam(s, { lr: 1e-2, weightDecay: 0.1, amsgrad: true });
      for (let t = 0; t < 3; t++) {
        const g = s.grads;
        for (let i = 0; i < g.length; i++) g[i] = Math.cos(i * 0.37 + t);
        o.step();
      }
      const r = bits(s.data);
      s.dispose();
      return r;
    });
    expect(out[0]).toEqual(out[1]);
  });

  it('DOWNHILL_NATIVE_ADDON pointing at a script is refused, not executed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'downhill-addon-'));
    const marker = join(dir, 'ran');
    for (const name of ['evil.node', 'evil.js']) {
      const path = join(dir, name);
      writeFileSync(path, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`);
      const out = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { selectBackend } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
           const { report } = await selectBackend(); console.log(report.backends.native.reason);`,
        ],
        { env: { ...process.env, DOWNHILL_NATIVE_ADDON: path, DOWNHILL_BACKEND: '' }, encoding: 'utf8' },
      );
      expect(out).toMatch(/is not a native addon/);
    }
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });
});
