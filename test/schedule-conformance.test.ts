/**
 * Every recorded PyTorch scheduler case (shared/conformance, shared/conformance-next and our own
 * recordings in test/fixtures/schedulers, all discovered from index.json) passes through
 * runSchedulerCase at the README's tolerance (rtol 1e-12, atol 1e-15).
 */
import { describe, expect, it } from 'vitest';
import { runSchedulerCase } from '../ts/conformance/scheduler.js';
import { CASES, FOLDERS, hasShared, LAMBDAS } from './schedule-helpers.js';

describe('PyTorch scheduler cases', () => {
  it('finds scheduler cases in every folder', () => {
    if (!hasShared) console.warn('[skip] ../shared not found: only test/fixtures/schedulers is run');
    for (const dir of FOLDERS) expect(CASES.some((c) => c.folder === dir)).toBe(true);
  });
  for (const c of CASES) {
    it(`${c.id}`, () => {
      const r = runSchedulerCase(c.data, { lambdas: LAMBDAS });
      expect(r.detail).toBeUndefined();
      expect(r.status).toBe('pass');
      expect(r.maxRelErr).toBeLessThanOrEqual(1e-12);
    });
  }
  it('skips what is not a scheduler case and reports unknown classes as skipped, not passed', () => {
    expect(runSchedulerCase({ kind: 'optimizer' }).status).toBe('skip');
    const unknown = { ...CASES[0].data, scheduler: 'NoSuchLR', arguments: {} };
    expect(runSchedulerCase(unknown).status).toBe('skip');
  });
  it('fails a case whose recorded values are off', () => {
    const c = CASES.find((x) => x.data.scheduler === 'StepLR') ?? CASES[0];
    const lr = [...(c.data.lr as number[])];
    lr[3] *= 1 + 1e-9;
    const r = runSchedulerCase({ ...c.data, lr }, { lambdas: LAMBDAS });
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/^lr\[3\]: /);
  });
  it('fails a case with an argument downhill does not know', () => {
    const c = CASES.find((x) => x.data.scheduler === 'StepLR') ?? CASES[0];
    const r = runSchedulerCase({ ...c.data, arguments: { ...(c.data.arguments as object), bogus: 1 } });
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/^options\.bogus: /);
  });
});
