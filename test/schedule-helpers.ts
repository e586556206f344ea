/** Where the scheduler reference cases are, and the lambdas the recorded LambdaLR cases name. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `../shared` beside the project root; from a git worktree under wt/, the one beside its parent. */
const SHARED = [join(ROOT, '..', 'shared'), join(ROOT, '..', '..', 'shared')].find((d) =>
  existsSync(join(d, 'conformance', 'index.json')),
);

export interface CaseFile {
  folder: string;
  id: string;
  data: Record<string, unknown>;
}

/** Every `"kind": "scheduler"` case listed in a folder's index.json. */
function casesOf(dir: string): CaseFile[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    cases: { id: string; file: string; kind: string }[];
  };
  return index.cases
    .filter((c) => c.kind === 'scheduler')
    .map((c) => ({ folder: dir, id: c.id, data: JSON.parse(readFileSync(join(dir, c.file), 'utf8')) }));
}

/** The folders with scheduler cases: the shared PyTorch recordings (when present) and ours. */
export const FOLDERS: string[] = [
  ...(SHARED ? [join(SHARED, 'conformance'), join(SHARED, 'conformance-next')] : []),
  join(ROOT, 'test', 'fixtures', 'schedulers'),
];
export const hasShared = SHARED !== undefined;
export const CASES: CaseFile[] = FOLDERS.flatMap(casesOf);

/** The functions behind the `lr_lambda` names of test/fixtures (scripts/gen-scheduler-cases.py). */
export const LAMBDAS: Record<string, (t: number) => number> = {
  'exp_0.97': (t) => 0.97 ** t,
  inv_sqrt: (t) => 1.0 / Math.sqrt(t + 1),
  'const_0.95': () => 0.95,
  'step_down_0.9_every_4': (t) => (t % 4 === 0 ? 0.9 : 1.0),
};

/** The recorded value of step t (0 .. num_steps): `lr[t]`, and `lr_after` for the step past the end. */
export function recorded(c: Record<string, unknown>, key: 'lr' | 'momentum'): number[] {
  const at = c[key] as number[];
  const after = c[`${key}_after`] as number[];
  return [...at, after[after.length - 1]];
}

/** A plain optimizer stand-in: one or more groups and a step counter. */
export function dummy(groups: Record<string, number>[], stepCalls = 0) {
  return { paramGroups: groups.map((g) => ({ ...g }) as { lr: number; [k: string]: unknown }), stepCalls };
}
