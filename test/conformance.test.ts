/**
 * Every reference case in the shared folders and in test/fixtures/reference passes on every
 * backend. What is expected comes from each folder's index.json (one test per listed case and
 * backend), never from a count written here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCases, runCase } from '../ts/conformance/all.js';
import '../ts/index.js';
import { backends, hasShared, ROOT, SHARED } from './helpers.js';

const { ready } = await backends();

const FOLDERS = [
  join(SHARED, 'conformance'),
  join(SHARED, 'conformance-next'),
  join(ROOT, 'test', 'fixtures', 'reference', 'torch'),
  join(ROOT, 'test', 'fixtures', 'reference', 'next'),
  join(ROOT, 'test', 'fixtures', 'reference', 'gradients'),
];
// test/fixtures/schedulers is run by test/schedule-conformance.test.ts, which also supplies the
// LambdaLR/MultiplicativeLR functions its cases name.

describe.each(FOLDERS.map((f) => [f.replace(`${ROOT}/`, '').replace(`${SHARED}/`, 'shared/'), f] as const))(
  '%s',
  (_, dir) => {
    const shared = dir.startsWith(SHARED);
    const listed: { id: string; file: string }[] =
      shared && !hasShared ? [] : JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).cases;
    const loaded = shared && !hasShared ? [] : loadCases(dir);

    it('index.json lists every case file, and each file parses', () => {
      if (shared && !hasShared) return;
      expect(loaded.map((l) => l.file.split('/').pop()).sort()).toEqual(listed.map((c) => c.file).sort());
      for (const l of loaded) expect(l.error, l.file).toBeUndefined();
    });

    for (const c of listed) {
      for (const b of ready) {
        it(`${c.id} passes on ${b.name}`, () => {
          const l = loaded.find((x) => x.file.endsWith(`/${c.file}`));
          expect(l, c.file).toBeDefined();
          const r = runCase(l!, b);
          expect(r.status, `${c.id} on ${b.name}: ${r.detail ?? ''}`).toBe('pass');
        });
      }
    }
  },
);
