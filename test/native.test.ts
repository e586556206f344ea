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
      /\[type\] buffers\[0\]: must be an ArrayBuffer/,
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
