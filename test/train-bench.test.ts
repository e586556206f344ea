/**
 * `downhill bench --kernels mlp_784_256_10` (the compiled CLI): one row per configuration with
 * samples/s, GFLOP/s and the step's split; configurations that cannot run are skipped by name.
 * A smoke test of the harness, not a measurement (tiny time budget).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const { ready } = await backends();

describe('MLP throughput benchmark', () => {
  it.skipIf(!existsSync(join(ROOT, 'dist', 'bench', 'mlp-worker.js')))(
    'bench --kernels mlp_784_256_10 --json prints rows, and skips torch by name without it',
    () => {
      const names = ready.map((b) => b.name).filter((n) => n !== 'js');
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          'bench',
          '--kernels',
          'mlp_784_256_10',
          '--backends',
          [...names, 'torch'].join(','),
          '--threads',
          '1',
          '--rounds',
          '1',
          '--seconds',
          '0.2',
          '--json',
        ],
        { encoding: 'utf8', env: { ...process.env, DOWNHILL_TORCH_PYTHON: '/nonexistent/python' }, timeout: 120_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { results: Record<string, unknown>[] };
      for (const n of names) {
        const row = doc.results.find((x) => x.backend === n);
        expect(row).toMatchObject({ kernel: 'mlp_784_256_10', threads: 1, batch: 128 });
        expect(row?.samplesPerSec).toBeGreaterThan(0);
        expect(row?.gflops).toBeCloseTo(((row?.samplesPerSec as number) / 128) * 0.156106752, 3);
        for (const k of ['forwardMs', 'backwardMs', 'optimizerMs']) expect(typeof row?.[k]).toBe('number');
      }
      expect(doc.results.find((x) => x.backend === 'torch')).toMatchObject({
        skipped: expect.stringMatching(/\/nonexistent\/python not found/),
      });
    },
  );
});
