/**
 * A smoke test of `npm run bench`'s suite (bench/optimizers.bench.mjs): tiny sizes, one round,
 * 1 ms batches. It checks that every configuration reports, that the derived figures (native / C,
 * clip's memory bound) are computed and that the tables are written, not any timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, ROOT } from './helpers.js';

const { ready } = await backends();
const out = mkdtempSync(join(tmpdir(), 'downhill-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let gcc = true;
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  gcc = false;
}

describe('the benchmark suite', () => {
  it('measures every configuration, derives the ratios and writes both result files', () => {
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'bench', 'optimizers.bench.mjs'),
        '--kernels',
        'adam,muon,clip_norm',
        '--sizes',
        '3000,70000',
        '--rounds',
        '1',
        '--ms',
        '1',
        '--out',
        out,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 },
    );
    const doc = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      machine: { loadavg: { start: number[] } };
      results: { kernel: string; backend: string; n: number; nsPerParam: number; threads: number }[];
      skipped: { kernel: string; backend: string; skipped: string }[];
      derived: { kernel: string; n: number; nativeOverC?: number; boundBest?: number }[];
    };
    expect(doc.machine.loadavg.start).toHaveLength(3);
    const want = [...ready.map((b) => b.name), 'naive-js', ...(gcc ? ['c-1t'] : [])];
    if (ready.some((b) => b.name === 'native')) want.push('native-1t');
    for (const backend of want) {
      for (const n of [3000, 70000]) {
        const row = doc.results.find((r) => r.kernel === 'adam' && r.backend === backend && r.n === n);
        expect(row, `adam ${backend} ${n}`).toBeDefined();
        expect(row!.nsPerParam).toBeGreaterThan(0);
      }
    }
    // Muon steps matrices only: refused on every backend, with the core's reason.
    expect(doc.results.some((r) => r.kernel === 'muon')).toBe(false);
    expect(doc.skipped.find((s) => s.kernel === 'muon' && s.backend === 'js')?.skipped).toMatch(/2-D/);
    if (gcc && ready.some((b) => b.name === 'native')) {
      expect(doc.derived.find((d) => d.kernel === 'adam' && d.n === 70000)?.nativeOverC).toBeGreaterThan(0);
      expect(doc.derived.find((d) => d.kernel === 'clip_norm' && d.n === 70000)?.boundBest).toBeGreaterThan(0);
      expect(doc.results.some((r) => r.kernel === 'probe_sum')).toBe(true);
    }
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toMatch(/^\| adam \|/m);
    expect(md).toMatch(/Clip by global L2 norm/);
  }, 150_000);
});
