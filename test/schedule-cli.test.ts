/** `downhill schedule`: its table, JSON and SVG give the schedule functions' values; misuse exits 2. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scheduleCommand, SCHEDULE_USAGE } from '../ts/schedule/cli.js';
import { CATALOG } from '../ts/schedule/catalog.js';
import { cosineAnnealing, multiStep, oneCycle, oneCycleMomentum, stepSchedule, warmup } from '../ts/schedule/index.js';

/** Parses argv the way ts/cli.ts does and runs the command, collecting both streams. */
async function run(...argv: string[]) {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) positional.push(a);
    else if (a !== '--json' && a !== '--help' && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--'))
      flags.set(a.slice(2), argv[++i]);
    else flags.set(a.slice(2), true);
  }
  const out: string[] = [];
  const err: string[] = [];
  const code = await scheduleCommand(
    positional,
    flags,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out, err: err.join('\n') };
}

describe('downhill schedule', () => {
  it('prints a table of the schedule function', async () => {
    const r = await run('step', '--steps', '25', '--stepSize', '10', '--gamma', '0.3', '--lr', '0.5');
    expect(r.code).toBe(0);
    const rows = r.out.slice(2).map((l) => l.split(/\s+/).map(Number));
    const s = stepSchedule({ lr: 0.5, stepSize: 10, gamma: 0.3 });
    expect(rows.map((x) => x[0])).toEqual(Array.from({ length: 25 }, (_, t) => t));
    for (const [t, lr] of rows) expect(lr).toBe(s(t));
  });

  it('prints one JSON document, with the momentum of a cycling schedule', async () => {
    const r = await run(
      'OneCycleLR',
      '--steps',
      '30',
      '--max-lr',
      '0.2',
      '--total_steps',
      '30',
      '--three-phase',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const doc = JSON.parse(r.out[0]);
    expect(doc.name).toBe('one-cycle');
    expect(doc.options).toMatchObject({ maxLr: 0.2, totalSteps: 30, threePhase: true, pctStart: 0.3 });
    const o = { maxLr: 0.2, totalSteps: 30, threePhase: true };
    expect(doc.steps).toEqual(
      Array.from({ length: 30 }, (_, t) => ({ step: t, lr: oneCycle(o)(t), momentum: oneCycleMomentum(o)(t) })),
    );
  });

  it('takes PyTorch names and lists, and warmup --then another schedule', async () => {
    const r = await run('warmup', '--steps', '40', '--warmupSteps', '5', '--then', 'cosine', '--T_max', '35', '--json');
    expect(r.code).toBe(0);
    const s = warmup({ lr: 0.1, warmupSteps: 5, then: cosineAnnealing({ lr: 0.1, tMax: 35 }) });
    expect(JSON.parse(r.out[0]).steps.map((x: { lr: number }) => x.lr)).toEqual(
      Array.from({ length: 40 }, (_, t) => s(t)),
    );
    const m = await run('multistep', '--steps', '5', '--milestones', '1,3', '--json');
    const ms = multiStep({ lr: 0.1, milestones: [1, 3] });
    expect(JSON.parse(m.out[0]).steps.map((x: { lr: number }) => x.lr)).toEqual([0, 1, 2, 3, 4].map(ms));
  });

  it('writes an SVG plot', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'downhill-')), 'c.svg');
    const r = await run(
      'cyclic',
      '--steps',
      '50',
      '--baseLr',
      '0.01',
      '--maxLr',
      '0.1',
      '--stepSizeUp',
      '5',
      '--svg',
      file,
    );
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`wrote ${file}`]);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('>momentum<');
  });

  it('can plot every catalog family with its documented example', async () => {
    for (const e of CATALOG) {
      const ex = e.examples[0];
      const args = [e.name, '--steps', String(ex.steps), '--json'];
      for (const [k, v] of Object.entries(ex.options)) {
        if (k === 'then') continue;
        args.push(`--${k}`, Array.isArray(v) ? v.join(',') : String(v));
      }
      const r = await run(...args);
      expect(r.err, e.name).toBe('');
      expect(r.code).toBe(0);
    }
  });

  const misuse: [string, string[], RegExp][] = [
    ['no name', ['--steps', '3'], /needs a NAME/],
    ['unknown name', ['sine', '--steps', '3'], /unknown schedule "sine"/],
    ['unknown flag', ['step', '--steps', '3', '--stepSize', '2', '--size', '3'], /unknown option --size for step/],
    ['no --steps', ['step', '--stepSize', '2'], /--steps N is required/],
    ['bad --steps', ['step', '--steps', '0', '--stepSize', '2'], /--steps must be/],
    ['json and svg', ['step', '--steps', '3', '--stepSize', '2', '--json', '--svg', 'x.svg'], /cannot be combined/],
    ['bad value', ['step', '--steps', '3', '--stepSize', 'two'], /--stepSize must be a number/],
    [
      'option out of range',
      ['step', '--steps', '3', '--stepSize', '0'],
      /^downhill schedule: --stepSize: must be >= 1/,
    ],
    ['missing option', ['cosine', '--steps', '3'], /--tMax: must be a number/],
    [
      '--lr where none applies',
      ['cyclic', '--steps', '3', '--lr', '1', '--baseLr', '0.1', '--maxLr', '1'],
      /--lr does not apply/,
    ],
    ['--then elsewhere', ['step', '--steps', '3', '--stepSize', '2', '--then', 'cosine'], /--then is only for warmup/],
  ];
  for (const [what, argv, msg] of misuse)
    it(`usage error: ${what}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toEqual([]);
      expect(r.err).toMatch(msg);
      expect(r.err).toContain(SCHEDULE_USAGE);
    });

  it('--help prints the usage', async () => {
    const r = await run('--help');
    expect([r.code, r.out]).toEqual([0, [SCHEDULE_USAGE]]);
  });
  it('an unwritable SVG path exits 1', async () => {
    const r = await run('step', '--steps', '3', '--stepSize', '2', '--svg', '/nonexistent-dir/x.svg');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot write/);
  });
});
