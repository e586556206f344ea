/** The `downhill` command as a user runs it (the compiled dist/cli.js). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, ROOT, SHARED } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const { ready } = await backends();

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DOWNHILL_BACKEND: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('downhill CLI', () => {
  it('info --json prints one JSON document with every backend', () => {
    const r = run('info', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(doc.version).toBe(pkg.version);
    expect(doc.active).toBe(ready[0].name);
    for (const b of ready) expect(doc.backends[b.name]).toMatchObject({ available: true, reason: null });
    if (doc.backends.native.available) expect(['avx2', 'sse2']).toContain(doc.backends.native.simd);
    if (doc.backends.wasm.available) expect(doc.backends.wasm.simd).toBe('simd128');
  });

  it('conformance DIR... --json reports one result per case listed in the folders and backends', () => {
    const dirs = [join(SHARED, 'conformance'), join(SHARED, 'conformance-next')];
    const r = run('conformance', ...dirs, '--backend', ready.map((b) => b.name).join(','), '--json');
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    const listed = dirs.flatMap(
      (d) => JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')).cases as { id: string }[],
    );
    expect(doc.results).toHaveLength(listed.length * ready.length);
    expect(new Set(doc.results.map((x: { case: string }) => x.case))).toEqual(new Set(listed.map((c) => c.id)));
    expect(doc.summary.passed + doc.summary.failed + doc.summary.skipped).toBe(doc.results.length);
    for (const x of doc.results) expect(Object.keys(x).slice(0, 4)).toEqual(['case', 'file', 'backend', 'status']);
    expect(r.code).toBe(doc.summary.failed > 0 ? 1 : 0);
  });

  it('a malformed case file is a failed case naming the file; the other cases still run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'downhill-case-'));
    writeFileSync(join(dir, 'broken.json'), '{ "id": "x", ');
    writeFileSync(join(dir, 'null.json'), 'null');
    const c = JSON.parse(readFileSync(join(SHARED, 'conformance', 'sgd-plain-f32.json'), 'utf8'));
    writeFileSync(join(dir, 'good.json'), JSON.stringify(c));
    delete c.shapes;
    c.id = 'no-shapes';
    writeFileSync(join(dir, 'no-shapes.json'), JSON.stringify(c));
    const r = run('conformance', dir, '--backend', 'js', '--json');
    expect(r.code).toBe(1);
    const { results, summary } = JSON.parse(r.stdout);
    expect(summary).toEqual({ passed: 1, failed: 3, skipped: 0 });
    const byFile = Object.fromEntries(results.map((x: { file: string }) => [x.file.split('/').pop(), x]));
    expect(byFile['broken.json'].detail).toMatch(/broken\.json: .*JSON/);
    expect(byFile['null.json'].detail).toMatch(/null\.json: is not a JSON object/);
    expect(byFile['no-shapes.json'].detail).toMatch(/no-shapes\.json: /);
    expect(byFile['good.json'].status).toBe('pass');
  });

  it('an empty folder and an unknown flag are usage errors', () => {
    const empty = mkdtempSync(join(tmpdir(), 'downhill-empty-'));
    const r = run('conformance', empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no case files/);
    expect(run('conformance', join(SHARED, 'conformance'), '--backnd', 'js').code).toBe(2);
    expect(run('info', '--verbose').stderr).toMatch(/unknown flag --verbose for info/);
  });

  it('conformance fails (exit 1) on a case whose reference is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'downhill-case-'));
    const c = JSON.parse(readFileSync(join(SHARED, 'conformance', 'sgd-plain-f32.json'), 'utf8'));
    c.id = 'tampered';
    c.steps[3].params[0][0] += 1e-3;
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(c));
    const r = run('conformance', dir, '--backend', 'js');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL js +tampered .*steps\[3\]\.params\[0\]\[0\]/m);
    expect(r.stdout).toMatch(/0 passed, 1 failed, 0 skipped/);
  });

  it('bench --json prints ns/param for each backend and size', () => {
    const r = run('bench', '--json', '--sizes', '1000,20000', '--kernels', 'adam,sgd_momentum');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.machine.cores).toBeGreaterThan(0);
    const names = [...ready.map((b) => b.name), 'naive-js'];
    expect(doc.results).toHaveLength(names.length * 2 * 2);
    for (const row of doc.results) {
      expect(names).toContain(row.backend);
      expect(['adam', 'sgd_momentum']).toContain(row.kernel);
      expect([1000, 20000]).toContain(row.n);
      expect(row.nsPerParam).toBeGreaterThan(0);
    }
  });

  it('usage errors exit 2 and say what is wrong', () => {
    expect(run('frobnicate').code).toBe(2);
    const r = run('conformance', '/nonexistent');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a directory: \/nonexistent/);
    expect(run('bench', '--backends', 'cuda').stderr).toMatch(/--backends: unknown "cuda"/);
  });
});
