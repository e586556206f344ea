/** `downhill train` as a user runs it (the compiled dist/cli.js): one JSON document, the report folder, strict flags. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optimizerNames } from '../ts/index.js';
import { comparisonEntries } from '../ts/train/mainjob.js';
import { ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DOWNHILL_BACKEND: '', CI: 'true' },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('downhill train', () => {
  it('--json prints exactly one JSON document with the accuracy, backend and one row per optimizer, and writes the report', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'downhill-train-')), 'report');
    const r = run('train', '--epochs', '1', '--batch-size', '128', '--seed', '3', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(doc.testAccuracy).toBeGreaterThan(0.8);
    expect(doc.testLoss).toBeGreaterThan(0);
    expect(doc.seconds).toBeGreaterThan(0);
    expect(['native', 'wasm', 'js']).toContain(doc.backend);
    expect(doc).toMatchObject({ optimizer: 'Adam', epochs: 1, batchSize: 128, seed: 3, report: out });
    const labels = doc.comparison.map((c: { optimizer: string }) => c.optimizer);
    expect(labels).toEqual(comparisonEntries().map((e) => e.label));
    for (const need of ['SGD', 'SGD+momentum', 'Adam', 'AdamW', 'RMSprop']) expect(labels).toContain(need);
    expect(new Set(doc.comparison.map((c: { class: string }) => c.class))).toEqual(new Set(optimizerNames()));
    // Every optimizer trains this model (Muon paired with AdamW for the biases, L-BFGS with a closure).
    for (const c of doc.comparison) {
      expect(c.status, `${c.optimizer}: ${c.reason}`).toBe('ok');
      expect(c.testAccuracy, c.optimizer).toBeGreaterThan(0.5);
      expect(c.stateBytes, c.optimizer).toBeTypeOf('number');
    }
    // The human lines went to stderr.
    expect(r.stderr).toMatch(/test accuracy/);
    for (const f of ['metrics.json', 'report.md', 'loss.svg', 'accuracy.svg'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(
      /\| optimizer \| lr \| final train loss \| test loss \| test accuracy \| seconds \| state bytes \|/,
    );
    expect(md).toMatch(/\| SGD\+momentum \(momentum 0.9\) \|/);
    const svg = readFileSync(join(out, 'accuracy.svg'), 'utf8');
    for (const c of doc.comparison) expect(svg).toContain(`>${c.optimizer}<`);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.comparison).toHaveLength(labels.length);
  }, 300_000);

  it('keeps strict flag checking and names bad values (exit 2)', () => {
    for (const [args, msg] of [
      [['train', '--bogus'], /unknown flag --bogus for train/],
      [['train', '--epochs', '0'], /--epochs: 0 is not an integer >= 1/],
      [['train', '--lr', 'x'], /--lr: x is not a number > 0/],
      [['train', '--optimizer', 'nope'], /unknown optimizer "nope"/],
      [['train', '--backend', 'gpu'], /--backend: unknown "gpu"/],
      [['train', 'extra'], /train takes no arguments/],
      [['train', '--json=1'], /--json takes no value/],
    ] as const) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
    }
  });
});
