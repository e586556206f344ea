/**
 * Optimizer-step benchmark suite: Adam and SGD(momentum 0.9) over n = 1e3..1e7 parameters on the
 * native, wasm, js and naive-js backends, the boundary cases (empty_step, grad_copy_in at 1e3 and
 * 1e6 on native and wasm), and an auto-vectorised C reference (bench/c/adam_ref.c) built with gcc
 * when it is available. The cases come from dist/benchmark.js (`makeCase`, shared with
 * `downhill bench`); benny runs them through bench/harness.mjs.
 *
 * Writes bench/results/latest.json ({machine, results:[{kernel, backend, n, nsPerParam,
 * nsPerStep}]}, the shape of `downhill bench --json`, plus rows with backend c-ref / c-ref-2t)
 * and bench/results/latest.md (the README table); benny's own files go to bench/results/benny/.
 *
 * Usage (after `npx tsc -p .` and the bindings are built; scripts/bench.sh does all of it):
 *   node bench/optimizers.bench.mjs [--sizes 1e3,1e4] [--backends native,wasm] [--kernels adam]
 *                                   [--no-boundary] [--no-c] [--out DIR]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_BACKENDS, BENCH_KERNELS, BENCH_SIZES, machine, makeCase } from '../dist/benchmark.js';
import { loadBackend } from '../dist/backend/select.js';
import { DEFAULT_FOLDER, runSuite } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) flags.set(k, inline);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(k, argv[++i]);
    else flags.set(k, true);
  }
  return flags;
}
const flags = parseArgs(process.argv.slice(2));
const listFlag = (k, dflt, allowed) => {
  const v = flags.get(k);
  if (v === undefined) return [...dflt];
  const items = String(v).split(',').filter(Boolean);
  for (const it of items)
    if (allowed && !allowed.includes(it)) throw new Error(`--${k}: unknown ${it} (expected ${allowed.join(', ')})`);
  return items;
};
const kernels = listFlag('kernels', BENCH_KERNELS, [...BENCH_KERNELS]);
const requestedBackends = listFlag('backends', BENCH_BACKENDS, [...BENCH_BACKENDS]);
const sizes = listFlag('sizes', BENCH_SIZES).map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: ${s} is not a positive integer`);
  return n;
});
const withBoundary = !flags.has('no-boundary');
const withC = !flags.has('no-c');
const outDir = flags.has('out') ? String(flags.get('out')) : join(here, 'results');
const bennyDir = flags.has('out') ? join(outDir, 'benny') : DEFAULT_FOLDER;

const BOUNDARY_KERNELS = ['empty_step', 'grad_copy_in'];
const BOUNDARY_SIZES = [1e3, 1e6];
const BOUNDARY_BACKENDS = ['native', 'wasm'];

const t0 = performance.now();
const log = (...a) => console.error(...a);

// ---------------------------------------------------------------- backends
const backends = [];
for (const b of requestedBackends) {
  if (b === 'naive-js') {
    backends.push(b);
    continue;
  }
  try {
    await loadBackend(b);
    backends.push(b);
  } catch (e) {
    log(`backend ${b} unavailable, skipped: ${e instanceof Error ? e.message : e}`);
  }
}

/** Samples per case: small, so that the whole suite takes a few minutes on a 2-core VM. */
function caseOptions(backend, n) {
  if (n >= 1e7) return { minSamples: backend === 'js' || backend === 'naive-js' ? 4 : 5, maxTime: 3 };
  if (n >= 1e6) return { minSamples: 5, maxTime: 2.5 };
  return { minSamples: 5, maxTime: 2 };
}

const short = (n) => {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `1e${e}` : String(n);
};

/** One benny suite per (kernel, n): the backends side by side, set up only while they run. */
async function runGroup(kernel, n, groupBackends) {
  const cases = [];
  try {
    for (const backend of groupBackends) cases.push(await makeCase(kernel, backend, n));
    log(`\n${kernel} n=${short(n)}`);
    const res = await runSuite(
      `${kernel} n=${short(n)}`,
      cases.map((c) => ({
        name: `${kernel} ${c.backend} n=${short(n)}`,
        fn: c.run,
        options: caseOptions(c.backend, n),
      })),
      { folder: bennyDir, file: `${kernel}-n${short(n)}` },
    );
    return cases.map((c, i) => {
      const nsPerStep = 1e9 / res[i].medianOpsPerSec;
      return { kernel, backend: c.backend, n, nsPerParam: nsPerStep / n, nsPerStep };
    });
  } finally {
    for (const c of cases) c.dispose();
  }
}

// ---------------------------------------------------------------- JS-side suites
const rows = [];
for (const kernel of kernels) {
  for (const n of sizes) rows.push(...(await runGroup(kernel, n, backends)));
}
const boundaryRows = [];
if (withBoundary) {
  const bb = BOUNDARY_BACKENDS.filter((b) => backends.includes(b));
  if (bb.length > 0) {
    for (const kernel of BOUNDARY_KERNELS) {
      for (const n of BOUNDARY_SIZES) boundaryRows.push(...(await runGroup(kernel, n, bb)));
    }
  }
}

// ---------------------------------------------------------------- C reference
const CFLAGS = ['-O3', '-march=native', '-fno-math-errno', '-ffp-contract=off'];
const cRows = [];
let ccInfo = null;
let cNote = '';
if (withC && kernels.length > 0) {
  let gccVersion = null;
  try {
    gccVersion = execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim();
  } catch {
    cNote = 'gcc not found: the c-ref columns are empty.';
    log(`\n${cNote}`);
  }
  if (gccVersion) {
    const buildDir = mkdtempSync(join(tmpdir(), 'downhill-cref-'));
    try {
      const src = join(here, 'c', 'adam_ref.c');
      const single = join(buildDir, 'adam_ref');
      const omp = join(buildDir, 'adam_ref_omp');
      execFileSync('gcc', [...CFLAGS, src, '-o', single, '-lm'], { stdio: 'inherit' });
      let haveOmp = true;
      try {
        execFileSync('gcc', [...CFLAGS, '-fopenmp', src, '-o', omp, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch {
        haveOmp = false;
        cNote = 'gcc -fopenmp failed: the c-ref-2t column is empty.';
        log(cNote);
      }
      ccInfo = `gcc ${gccVersion} ${CFLAGS.join(' ')}`;
      log(`\nC reference (${ccInfo})`);
      const runC = (bin, kernel, n, env) => {
        const out = execFileSync(bin, [kernel, String(n), '7'], {
          encoding: 'utf8',
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const [, , threads, ns] = out.trim().split(/\s+/);
        return { threads: Number(threads), ns: Number(ns) };
      };
      for (const kernel of kernels) {
        for (const n of sizes) {
          const one = runC(single, kernel, n, {});
          cRows.push({ kernel, backend: 'c-ref', n, nsPerParam: one.ns, nsPerStep: one.ns * n });
          let line = `  ${kernel.padEnd(13)} c-ref    n=${short(n).padEnd(4)} ${one.ns.toFixed(4)} ns/param`;
          if (haveOmp) {
            const two = runC(omp, kernel, n, { OMP_NUM_THREADS: '2' });
            cRows.push({ kernel, backend: 'c-ref-2t', n, nsPerParam: two.ns, nsPerStep: two.ns * n });
            line += `   c-ref-2t ${two.ns.toFixed(4)} ns/param (${two.threads} thread${two.threads === 1 ? '' : 's'})`;
          }
          log(line);
        }
      }
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------- outputs
const m = { ...machine(), ...(ccInfo ? { cc: ccInfo } : {}) };
const all = [...rows, ...boundaryRows, ...cRows];
mkdirSync(outDir, { recursive: true });
const writeAtomic = (path, text) => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};
writeAtomic(join(outDir, 'latest.json'), `${JSON.stringify({ machine: m, results: all }, null, 2)}\n`);

const get = (kernel, backend, n) =>
  all.find((r) => r.kernel === kernel && r.backend === backend && r.n === n)?.nsPerParam;
const ns = (x) =>
  x === undefined ? '' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
const ratio = (a, b) => (a === undefined || b === undefined ? '' : `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×`);
const cols = ['native', 'wasm', 'js', 'naive-js'];
const pkg = JSON.parse(readFileSync(join(root, 'node_modules', 'benny', 'package.json'), 'utf8'));

const md = [];
md.push('<!-- generated by scripts/bench.sh (bench/optimizers.bench.mjs); edit those, not this -->');
md.push('**One optimizer step, nanoseconds per parameter** (lower is better)');
md.push('');
md.push('| kernel | n | native | wasm | js | naive-js | naive-js / native | naive-js / wasm | c-ref | c-ref-2t |');
md.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const kernel of kernels) {
  for (const n of sizes) {
    const v = Object.fromEntries(cols.map((b) => [b, get(kernel, b, n)]));
    md.push(
      `| ${kernel} | ${short(n)} | ${cols.map((b) => ns(v[b])).join(' | ')} | ${ratio(v['naive-js'], v.native)} | ${ratio(v['naive-js'], v.wasm)} | ${ns(get(kernel, 'c-ref', n))} | ${ns(get(kernel, 'c-ref-2t', n))} |`,
    );
  }
}
if (boundaryRows.length > 0) {
  const bb = [...new Set(boundaryRows.map((r) => r.backend))];
  md.push('');
  md.push('**The boundary alone** (one call with an empty segment table; copying the gradients in)');
  md.push('');
  md.push(`| case | n | ${bb.map((b) => `${b} µs/step | ${b} ns/param`).join(' | ')} |`);
  md.push(`|---|--:|${bb.map(() => '--:|--:').join('|')}|`);
  for (const kernel of BOUNDARY_KERNELS) {
    for (const n of BOUNDARY_SIZES) {
      const cells = bb.map((b) => {
        const r = boundaryRows.find((x) => x.kernel === kernel && x.backend === b && x.n === n);
        // An empty step does no per-parameter work: its ns/param is only the call spread over n.
        const perParam = kernel === 'empty_step' ? '—' : ns(r.nsPerParam);
        return r ? `${(r.nsPerStep / 1000).toFixed(r.nsPerStep >= 1e5 ? 0 : 2)} | ${perParam}` : ' | ';
      });
      md.push(`| ${kernel} | ${short(n)} | ${cells.join(' | ')} |`);
    }
  }
}
md.push('');
md.push(
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, ${m.platform}. ` +
    `Harness: benny ${pkg.version} (benchmark.js); each cell is the median time per step / n over the samples benchmark.js takes in 2–3 s per case (at least 4–5), so expect ±10–20% run to run on a noisy VM. ` +
    'native runs a segment on 2 threads from 2^18 parameters (here n ≥ 1e6); wasm and js are single-threaded. ' +
    'naive-js is the textbook one-loop JavaScript (double-precision temporaries), the baseline a user would write.',
);
md.push('');
md.push(
  ccInfo
    ? `c-ref: bench/c/adam_ref.c, the same float32 element math, auto-vectorised by ${ccInfo} (exact IEEE: no fast-math, no FMA contraction; -march=native may use AVX-512, while the portable native addon picks SSE2/AVX2 at run time), ` +
        'best of 7 batches on one thread; c-ref-2t: the same with OpenMP on 2 threads from 2^18 parameters (one thread below, like native). ' +
        'Best-of rather than median makes the C columns slightly optimistic.'
    : cNote || 'c-ref: not run.',
);
md.push('');
writeAtomic(join(outDir, 'latest.md'), md.join('\n'));

const secs = (performance.now() - t0) / 1000;
log(
  `\nwrote ${relative(process.cwd(), join(outDir, 'latest.json'))}, ${relative(process.cwd(), join(outDir, 'latest.md'))}, benny output in ${relative(process.cwd(), bennyDir)}/ (${secs.toFixed(0)} s)`,
);
