import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCases, runCase, unsupported } from '../ts/conformance.js';
import { backends, SHARED } from './helpers.js';

const cases = loadCases(join(SHARED, 'conformance'));
const { ready } = await backends();
const mustRun = ['SGD', 'Adam', 'AdamW'];

describe('PyTorch conformance cases', () => {
  it('finds the SGD/Adam/AdamW cases', () => {
    const ours = cases.filter(
      (c) => c.kind === 'optimizer' && mustRun.includes((c as { optimizer: string }).optimizer),
    );
    expect(ours.length).toBeGreaterThanOrEqual(15);
  });
  for (const backend of ready) {
    for (const c of cases) {
      const skip = unsupported(c);
      it.skipIf(skip !== null)(`${c.id} on ${backend.name}`, () => {
        const r = runCase(c, backend);
        expect(r.detail).toBeUndefined();
        expect(r.status).toBe('pass');
      });
    }
  }
});
