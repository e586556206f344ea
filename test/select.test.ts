/** Backend selection: order, overrides, reports, and graceful fallback when native is missing. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestedBackend, selectBackend } from '../ts/backend/select.js';
import { BackendError } from '../ts/errors.js';
import { backends, ROOT } from './helpers.js';

const { ready } = await backends();
const names = ready.map((b) => b.name);

/** Runs a snippet in a fresh Node process (module caches and env are its own). */
function inChild(code: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('backend selection', () => {
  it('auto picks the first available of native, wasm, js and reports every backend', async () => {
    const { backend, report } = await selectBackend('auto');
    expect(backend.name).toBe(names[0]);
    expect(report.active).toBe(names[0]);
    for (const n of names) expect(report.backends[n]).toMatchObject({ available: true, reason: null });
    // Node runs the single-threaded WASM build (the threaded one is for browsers), and says so.
    if (names.includes('wasm')) expect(report.backends.wasm.note).toMatch(/^single-threaded build: in Node/);
  });

  it.each(names)('the backend option forces %s', async (n) => {
    const { backend, report } = await selectBackend(n);
    expect(backend.name).toBe(n);
    expect(report.why).toBe('requested by the backend option');
  });

  it('DOWNHILL_BACKEND is read when no option is given, and validated', () => {
    const old = process.env.DOWNHILL_BACKEND;
    try {
      process.env.DOWNHILL_BACKEND = 'js';
      expect(requestedBackend()).toEqual({ choice: 'js', source: 'DOWNHILL_BACKEND' });
      expect(requestedBackend('wasm').choice).toBe('wasm');
      process.env.DOWNHILL_BACKEND = 'cuda';
      expect(() => requestedBackend()).toThrow(/^DOWNHILL_BACKEND: must be one of auto, native, wasm, js/);
    } finally {
      if (old === undefined) delete process.env.DOWNHILL_BACKEND;
      else process.env.DOWNHILL_BACKEND = old;
    }
    expect(() => requestedBackend('gpu' as never)).toThrow(TypeError);
  });

  const dist = join(ROOT, 'dist', 'index.js');
  it('a missing native build degrades to the next backend and says why', () => {
    const out = inChild(
      `import { selectBackend } from ${JSON.stringify(dist)};
       const { report } = await selectBackend();
       console.log(JSON.stringify(report));`,
      { DOWNHILL_NATIVE_ADDON: '/nonexistent/downhill.node', DOWNHILL_BACKEND: '' },
    );
    const report = JSON.parse(out);
    expect(report.backends.native.available).toBe(false);
    expect(report.backends.native.reason).toMatch(/native addon not built: \/nonexistent\/downhill.node/);
    expect(report.active).not.toBe('native');
    expect(report.why).toMatch(/native skipped: native addon not built/);
  });

  it('forcing an unavailable backend is a BackendError, not a silent fallback', () => {
    const out = inChild(
      `import { selectBackend } from ${JSON.stringify(dist)};
       try { await selectBackend('native'); console.log('no error'); }
       catch (e) { console.log(e.name + ': ' + e.message); }`,
      { DOWNHILL_NATIVE_ADDON: '/nonexistent/downhill.node' },
    );
    expect(out.trim()).toMatch(
      /^BackendError: native backend: requested by the backend option but unavailable: native addon not built/,
    );
    expect(BackendError.name).toBe('BackendError');
  });
});
