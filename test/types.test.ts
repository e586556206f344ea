/**
 * The public types as a user's strict TypeScript project sees them: test/fixtures/types/usage.ts
 * (the README's API: optimizers, param groups, state dicts, every kind of scheduler on every kind
 * of optimizer, chain, combine, minimize) must compile with `tsc --strict`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers.js';

it('the README API type-checks in a strict project', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const file = join(ROOT, 'test', 'fixtures', 'types', 'usage.ts');
  const args = ['--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'];
  const r = spawnSync(process.execPath, [tsc, ...args, '--skipLibCheck', '--types', 'node', file], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});
