/**
 * The gradient cases of shared/gradients (PyTorch autograd, float64) on every backend, through
 * the conformance runner: float64 at the README's 1e-10 relative / 1e-12 absolute, and the same
 * cases computed in float32 at its relative 1e-4. Every *.json of the folder is a case (it has no
 * index.json).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGradientCase } from '../ts/conformance/gradient.js';
import type { Case } from '../ts/conformance/index.js';
import { backends, SHARED } from './helpers.js';

const { ready } = await backends();
// DOWNHILL_SHARED points at shared/ when the project is not checked out beside it (a worktree).
const dir = join(process.env.DOWNHILL_SHARED ?? SHARED, 'gradients');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
if (files.length === 0) console.warn(`[skip] no gradient cases in ${dir}`);
const cases = files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case] as const);

describe.each(ready.map((b) => [b.name, b] as const))('gradient cases on %s', (_, backend) => {
  if (cases.length === 0) {
    it.skip('shared/gradients is not here', () => {});
    return;
  }
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
