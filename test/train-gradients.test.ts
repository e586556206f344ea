/**
 * The gradient cases of shared/gradients and of test/fixtures/reference/gradients (ours, recorded
 * by scripts/reference/record.py grad: every activation with every loss and reduction, deeper
 * stacks, relu/leaky_relu at a pre-activation of exactly 0, mae at a zero difference, huber at
 * |d| = delta, large logits), PyTorch autograd in float64, on every backend through the
 * conformance runner: float64 at the README's 1e-10 relative / 1e-12 absolute, and the same cases
 * computed in float32 at its relative 1e-4. Every *.json of a folder but index.json is a case
 * (the shared folder has no index.json; ours must list every file).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGradientCase } from '../ts/conformance/gradient.js';
import type { Case } from '../ts/conformance/index.js';
import { backends, ROOT, SHARED } from './helpers.js';

const { ready } = await backends();
// DOWNHILL_SHARED points at shared/ when the project is not checked out beside it (a worktree).
const dir = join(process.env.DOWNHILL_SHARED ?? SHARED, 'gradients');
const ours = join(ROOT, 'test', 'fixtures', 'reference', 'gradients');
const jsonIn = (d: string) =>
  existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json') && f !== 'index.json') : [];
const files = jsonIn(dir);
if (files.length === 0) console.warn(`[skip] no gradient cases in ${dir}`);
const cases = [
  ...files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case] as const),
  ...jsonIn(ours).map((f) => [`reference/${f}`, JSON.parse(readFileSync(join(ours, f), 'utf8')) as Case] as const),
];

it('test/fixtures/reference/gradients: index.json lists every case file', () => {
  const listed = (JSON.parse(readFileSync(join(ours, 'index.json'), 'utf8')) as { cases: { file: string }[] }).cases;
  expect(listed.map((c) => c.file).sort()).toEqual(jsonIn(ours).sort());
  expect(listed.length).toBeGreaterThan(0);
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
