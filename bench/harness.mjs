/**
 * The harness seam: the ONLY file in the project that imports benny (unmaintained), so replacing
 * it (tinybench, mitata, a hand-rolled loop) is a change to this file alone.
 *
 *   runSuite(name, cases, options) → Promise<CaseResult[]>
 *
 * runs the synchronous functions `cases[i].fn` as one benny suite, saves benny's own output
 * (`<file>.json`, and `<file>.chart.html` unless `chart: false`) under `options.folder`
 * (default bench/results/benny), and resolves to one result per case, in input order:
 *
 *   { name, opsPerSec, medianOpsPerSec, samples, rme }
 *
 * `opsPerSec` is benchmark.js's hz (1 / mean seconds per call); `medianOpsPerSec` is
 * 1 / median, which is steadier on a noisy machine. Both are unrounded (benny rounds the ops it
 * saves and shows, to as few decimals as keep the cases distinct).
 */
import benny from 'benny';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const { add, configure, cycle, save, suite } = benny;

export const DEFAULT_FOLDER = join(dirname(fileURLToPath(import.meta.url)), 'results', 'benny');

/**
 * @typedef {{ minSamples?: number, maxTime?: number, minTime?: number, delay?: number }} CaseOptions
 * @typedef {{ name: string, fn: () => void, options?: CaseOptions }} SuiteCase
 * @typedef {{ name: string, opsPerSec: number, medianOpsPerSec: number, samples: number, rme: number }} CaseResult
 */

/**
 * @param {string} name suite name (shown, and stored in benny's JSON)
 * @param {SuiteCase[]} cases synchronous functions; `options` overrides the suite defaults per case
 * @param {CaseOptions & { folder?: string, file?: string, chart?: boolean, quiet?: boolean }} [options]
 *   `minSamples` (default 5) and `maxTime` in seconds (default 2) per case; `file` is the saved
 *   file's base name (default: the suite name, made file-safe)
 * @returns {Promise<CaseResult[]>}
 */
export async function runSuite(name, cases, options = {}) {
  const { folder = DEFAULT_FOLDER, file = name.replace(/[^\w.-]+/g, '_'), chart = true, quiet = false } = options;
  const caseDefaults = {
    minSamples: options.minSamples ?? 5,
    maxTime: options.maxTime ?? 2,
    ...(options.minTime !== undefined ? { minTime: options.minTime } : {}),
    ...(options.delay !== undefined ? { delay: options.delay } : {}),
  };
  /** @type {Map<string, CaseResult>} */
  const byName = new Map();
  const names = new Set();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`runSuite(${name}): duplicate case name ${c.name}`);
    names.add(c.name);
  }

  await suite(
    name,
    configure({ cases: caseDefaults, minDisplayPrecision: 2 }),
    // benny calls a case function once up front to see what it returns: wrap so that it is
    // always `undefined` (a returned function or promise would change how benny runs it).
    ...cases.map((c) =>
      add(
        c.name,
        () => {
          c.fn();
        },
        c.options ?? {},
      ),
    ),
    cycle((r) => {
      const median = r.details.median;
      const res = {
        name: r.name,
        opsPerSec: r.ops,
        medianOpsPerSec: median > 0 ? 1 / median : r.ops,
        samples: r.samples,
        rme: r.details.relativeMarginOfError,
      };
      byName.set(r.name, res);
      if (!quiet) {
        console.error(
          `  ${r.name.padEnd(28)} ${fmt(res.medianOpsPerSec)} ops/s (median; mean ${fmt(res.opsPerSec)}, ±${res.rme.toFixed(1)}%, ${res.samples} samples)`,
        );
      }
      return undefined; // nothing for benny's log-update to redraw
    }),
    save({ file, folder, format: 'json', details: true }),
    ...(chart ? [save({ file, folder, format: 'chart.html' })] : []),
  );

  return cases.map((c) => {
    const r = byName.get(c.name);
    if (!r) throw new Error(`runSuite(${name}): no result for case ${c.name}`);
    return r;
  });
}

function fmt(x) {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(4);
}
