/**
 * The gradient cases of shared/gradients and of test/fixtures/reference/gradients (ours, recorded
 * by scripts/reference/record.py grad: every activation with every loss and reduction, deeper
 * stacks, relu/leaky_relu at a pre-activation of exactly 0, mae at a zero difference, huber at
 * |d| = delta, large logits), PyTorch autograd in float64, on every backend through the
 * conformance runner: float64 at the README's 1e-10 relative / 1e-12 absolute, and the same cases
 * computed in float32 at its relative 1e-4. Every *.json of a folder but index.json is a case
 * (`loadCases`; the shared folder has no index.json).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGradientCase } from '../ts/conformance/gradient.js';
import { loadCases, type Case } from '../ts/conformance/index.js';
import { backends, ROOT, SHARED } from './helpers.js';

const { ready } = await backends();
// DOWNHILL_SHARED points at shared/ when the project is not checked out beside it (a worktree).
const dir = join(process.env.DOWNHILL_SHARED ?? SHARED, 'gradients');
const ours = join(ROOT, 'test', 'fixtures', 'reference', 'gradients');
if (!existsSync(dir)) console.warn(`[skip] no gradient cases in ${dir}`);
// Our folder's index.json is checked against its files by test/conformance.test.ts.
const loaded = [...(existsSync(dir) ? loadCases(dir) : []), ...loadCases(ours)];
const cases = loaded.map((l) => [l.file, l.case as Case] as const);

it('every gradient case file parses', () => {
  for (const l of loaded) expect(l.error, l.file).toBeUndefined();
  expect(cases.length).toBeGreaterThan(0);
});

describe.each(ready.map((b) => [b.name, b] as const))('gradient cases on %s', (_, backend) => {
  it.each(cases)('%s (float64)', (_f, c) => {
    const r = runGradientCase(c, backend);
    expect(r.status, r.detail).toBe('pass');
    expect(r.maxRelErr ?? 1).toBeLessThan(1e-10);
  });
  it.each(cases)('%s (float32)', (_f, c) => {
    const r = runGradientCase({ ...c, dtype: 'float32' }, backend);
    expect(r.status, r.detail).toBe('pass');
  });
});
