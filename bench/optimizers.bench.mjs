/**
 * The benchmark suite behind `npm run bench`: one step of every optimizer with a core step (the
 * list comes from the specs), clip by global L2 norm and an EMA update, at 1e4..1e7 float32
 * parameters, on
 *
 *   native      the addon on its thread pool (all cores)    native-1t  the same on one thread
 *   wasm, js    the WebAssembly build and the bit-exact TypeScript mirror (one thread)
 *   naive-js    the textbook loop a user would write (ts/bench/naive.ts), where there is one
 *   c-1t, c-2t  the same element math in exact-IEEE C (bench/c/kernels.c, gcc -O3 -march=native
 *               -fno-math-errno -ffp-contract=off), without OpenMP and with OpenMP on the pool's
 *               thread count, split from 4096 elements
 *
 * and, beside clip_norm, the memory probes (C: read-only sum, in-place scale, copy) that give
 * clip's memory-traffic bound. Each configuration is a process of its own; at each (kernel, n)
 * all of them are timed in interleaved rounds and the median round is reported (bench/harness.mjs).
 *
 * Writes bench/results/latest.json ({machine, results: [{kernel, backend, n, nsPerParam,
 * nsPerStep, threads, lo, hi}], skipped, derived}) and bench/results/latest.md (the README's
 * tables).
 *
 *   node bench/optimizers.bench.mjs [--kernels adam,lamb] [--sizes 1e5,1e6]
 *        [--backends native,native-1t,wasm,js,naive-js,c] [--rounds 5] [--ms 20]
 *        [--quick] [--no-c] [--out DIR]
 *
 * --quick: Adam, SGD with momentum, LAMB, clip_norm and EMA at 1e5, 1e6, 1e7, three rounds.
 * Run through scripts/bench.sh (`npm run bench`), which builds what is missing first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultKernels, machine } from '../dist/benchmark.js';
import { Worker, measure } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));

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
  const known = ['kernels', 'sizes', 'backends', 'rounds', 'ms', 'quick', 'no-c', 'out'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k} (${known.join(', ')})`);
  return flags;
}
const flags = parseArgs(process.argv.slice(2));
const quick = flags.has('quick');
const BACKENDS = ['native', 'native-1t', 'wasm', 'js', 'naive-js', 'c'];
const list = (k, dflt, allowed) => {
  const v = flags.get(k);
  if (v === undefined) return dflt;
  const items = String(v).split(',').filter(Boolean);
  for (const it of items)
    if (allowed && !allowed.includes(it)) throw new Error(`--${k}: unknown ${it} (one of ${allowed.join(', ')})`);
  return items;
};
const allKernels = defaultKernels();
const kernels = list('kernels', quick ? ['adam', 'sgd_momentum', 'lamb', 'clip_norm', 'ema'] : allKernels, allKernels);
const sizes = list('sizes', quick ? ['1e5', '1e6', '1e7'] : ['1e4', '1e5', '1e6', '1e7']).map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: ${s} is not a positive integer`);
  return n;
});
const backends = list('backends', BACKENDS, BACKENDS).filter((b) => b !== 'c' || !flags.has('no-c'));
const rounds = Number(flags.get('rounds') ?? (quick ? 3 : 5));
const ms = Number(flags.get('ms') ?? 20);
if (!(rounds >= 1 && ms > 0)) throw new Error('--rounds must be >= 1 and --ms > 0');
const outDir = flags.has('out') ? String(flags.get('out')) : join(here, 'results');

const t0 = performance.now();
const load0 = loadavg();
const log = (...a) => console.error(...a);

// ---------------------------------------------------------------- workers
const workers = [];
const unavailable = {};
const node = (label, backend, env = {}) =>
  Worker.start(label, [process.execPath, join(here, 'worker.mjs'), backend], {
    env,
    onUnavailable: (why) => (unavailable[label] = why),
  });
let poolThreads = 1;
for (const b of backends) {
  if (b === 'c') continue;
  const w = await (b === 'native-1t' ? node(b, 'native', { RAYON_NUM_THREADS: '1' }) : node(b, b));
  if (w) workers.push(w);
  else log(`${b}: unavailable (${unavailable[b]})`);
}
const nativeWorker = workers.find((w) => w.name === 'native');
if (nativeWorker) {
  // The pool's size, from a case long enough to split.
  const a = await nativeWorker.ask('setup copy 10000000');
  poolThreads = Number(a.split(' ')[1] ?? 1);
} else {
  poolThreads = Math.min(cpus().length, 2);
}

const CFLAGS = ['-O3', '-march=native', '-fno-math-errno', '-ffp-contract=off'];
let cc = null;
let buildDir = null;
const cWorkers = [];
const probeWorkers = [];
if (backends.includes('c')) {
  try {
    const version = execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim();
    buildDir = mkdtempSync(join(tmpdir(), 'downhill-cref-'));
    const src = join(here, 'c', 'kernels.c');
    const single = join(buildDir, 'kernels');
    const omp = join(buildDir, 'kernels_omp');
    execFileSync('gcc', [...CFLAGS, src, '-o', single, '-lm'], { stdio: 'inherit' });
    let haveOmp = true;
    try {
      execFileSync('gcc', [...CFLAGS, '-fopenmp', src, '-o', omp, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      haveOmp = false;
      log('gcc -fopenmp failed: no multi-threaded C columns');
    }
    cc = `gcc ${version} ${CFLAGS.join(' ')}`;
    const tn = `${poolThreads}t`;
    const cConfigs = [['1t', single, 1]];
    if (haveOmp && poolThreads > 1) cConfigs.push([tn, omp, poolThreads]);
    for (const [suffix, bin, threads] of cConfigs) {
      const w = await Worker.start(`c-${suffix}`, [bin, '--serve']);
      w.threads = threads;
      cWorkers.push(w);
      for (const probe of ['sum', 'scale', 'copy']) {
        const p = await Worker.start(`${probe}-${suffix}`, [bin, '--serve']);
        p.threads = threads;
        p.probe = probe;
        probeWorkers.push(p);
      }
    }
  } catch (e) {
    log(`C reference unavailable: ${e instanceof Error ? e.message : e}`);
  }
}

// ---------------------------------------------------------------- runs
const results = [];
const skipped = [];
const short = (n) => {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `1e${e}` : String(n);
};
try {
  for (const kernel of kernels) {
    for (const n of sizes) {
      const group = [...workers, ...cWorkers, ...(kernel === 'clip_norm' ? probeWorkers : [])];
      const res = await measure(
        group,
        (w) => (w.threads ? `setup ${w.probe ?? kernel} ${n} ${w.threads}` : `setup ${kernel} ${n}`),
        { rounds, ms },
      );
      const parts = [];
      for (const [w, r] of res) {
        const k = w.probe ? `probe_${w.probe}` : kernel;
        const backend = w.probe ? `c-${w.name.split('-')[1]}` : w.name;
        if ('skipped' in r) {
          skipped.push({ kernel: k, backend, n, skipped: r.skipped });
          continue;
        }
        results.push({
          kernel: k,
          backend,
          n,
          nsPerParam: r.ns,
          nsPerStep: r.ns * n,
          threads: r.threads,
          lo: r.lo,
          hi: r.hi,
        });
        parts.push(`${w.name} ${r.ns.toFixed(3)}`);
      }
      log(`${kernel.padEnd(17)} n=${short(n).padEnd(4)} ${parts.join('  ')}`);
    }
  }
} finally {
  for (const w of [...workers, ...cWorkers, ...probeWorkers]) w.stop();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- derived figures
const get = (kernel, backend, n) => results.find((r) => r.kernel === kernel && r.backend === backend && r.n === n);
const cLabels = cWorkers.map((w) => w.name);
const derived = [];
for (const kernel of kernels) {
  for (const n of sizes) {
    const nat = get(kernel, 'native', n);
    const cs = cLabels.map((l) => get(kernel, l, n)).filter(Boolean);
    const d = { kernel, n };
    if (nat && cs.length > 0) {
      const best = cs.reduce((a, b) => (b.nsPerParam < a.nsPerParam ? b : a));
      Object.assign(d, {
        cBest: best.nsPerParam,
        cBestThreads: best.threads,
        nativeOverC: nat.nsPerParam / best.nsPerParam,
      });
    }
    if (kernel === 'clip_norm' && nat) {
      // Bytes clip must move: read every gradient for the norm, then read and write it to scale:
      // the read-only probe plus the in-place scale probe. At native's thread count, as asked;
      // and the best over thread counts (stricter whenever another count moved the bytes
      // faster, e.g. when the machine's second core was busy during the 2-thread probes).
      const at = (t) => {
        const sum = get('probe_sum', `c-${t}t`, n);
        const scale = get('probe_scale', `c-${t}t`, n);
        return sum && scale ? sum.nsPerParam + scale.nsPerParam : undefined;
      };
      const same = at(nat.threads);
      const all = cWorkers.map((w) => at(w.threads)).filter((x) => x !== undefined);
      if (same !== undefined)
        Object.assign(d, { bound: same, boundThreads: nat.threads, nativeOverBound: nat.nsPerParam / same });
      if (all.length > 0) {
        const best = Math.min(...all);
        Object.assign(d, { boundBest: best, nativeOverBoundBest: nat.nsPerParam / best });
      }
    }
    if (Object.keys(d).length > 2) derived.push(d);
  }
}
const lamb = get('lamb', 'native', 1e6);
const adam = get('adam', 'native', 1e6);
const lambOverAdam = lamb && adam ? lamb.nsPerParam / adam.nsPerParam : undefined;

// ---------------------------------------------------------------- outputs
const secs = (performance.now() - t0) / 1000;
const m = {
  ...machine(),
  threads: poolThreads,
  ...(cc ? { cc } : {}),
  loadavg: { start: load0.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
  rounds,
  batchMs: ms,
  seconds: Math.round(secs),
  date: new Date().toISOString(),
};
mkdirSync(outDir, { recursive: true });
const writeAtomic = (path, text) => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};
writeAtomic(
  join(outDir, 'latest.json'),
  `${JSON.stringify({ machine: m, results, skipped, derived, lambOverAdam1e6: lambOverAdam, unavailable }, null, 2)}\n`,
);

const ns = (x) =>
  x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
const times = (x) => (x === undefined ? '—' : `${x.toFixed(x >= 10 ? 0 : 2)}×`);
const val = (kernel, backend, n) => get(kernel, backend, n)?.nsPerParam;
const sizeList = sizes.map(short).join(' · ');
const optKernels = kernels.filter((k) => k !== 'clip_norm' && k !== 'ema');
const transforms = kernels.filter((k) => k === 'clip_norm' || k === 'ema');
const md = [];
md.push('<!-- generated by scripts/bench.sh (bench/optimizers.bench.mjs); edit those, not this -->');
md.push(`**One optimizer step, ns per parameter** at n = ${sizeList} (float32; lower is better)`);
md.push('');
const cols = ['native', 'wasm', 'js', 'naive-js'].filter((b) => results.some((r) => r.backend === b));
md.push(`| kernel | ${cols.join(' | ')} | naive-js / native |`);
md.push(`|---|${cols.map(() => '--:').join('|')}|--:|`);
for (const k of [...optKernels, ...transforms]) {
  if (!results.some((r) => r.kernel === k)) continue;
  const cells = cols.map((b) => sizes.map((n) => ns(val(k, b, n))).join(' · '));
  const ratio = sizes
    .map((n) => {
      const a = val(k, 'naive-js', n);
      const b = val(k, 'native', n);
      return a && b ? times(a / b) : '—';
    })
    .join(' · ');
  md.push(`| ${k} | ${cells.join(' | ')} | ${ratio} |`);
}
const skippedKernels = [...new Set(skipped.filter((s) => s.backend === 'native').map((s) => s.kernel))];
if (skippedKernels.length > 0) {
  md.push('');
  md.push(
    `Not run: ${skippedKernels.map((k) => `${k} (${skipped.find((s) => s.kernel === k && s.backend === 'native').skipped})`).join('; ')}.`,
  );
}

if (cLabels.length > 0) {
  const cmpSizes = sizes.filter((n) => n >= 1e5);
  md.push('');
  md.push(
    `**Native against exact-IEEE C at C's best thread count**, ns per parameter: native · C best (its threads) · native / C`,
  );
  md.push('');
  md.push(`| kernel | ${cmpSizes.map((n) => `n = ${short(n)}`).join(' | ')} |`);
  md.push(`|---|${cmpSizes.map(() => '--:').join('|')}|`);
  for (const k of kernels) {
    const cells = cmpSizes.map((n) => {
      const d = derived.find((x) => x.kernel === k && x.n === n);
      return d?.cBest === undefined
        ? '—'
        : `${ns(val(k, 'native', n))} · ${ns(d.cBest)} (${d.cBestThreads}t) · **${times(d.nativeOverC)}**`;
    });
    if (cells.some((c) => c !== '—')) md.push(`| ${k} | ${cells.join(' | ')} |`);
  }
  const tl = `${poolThreads}t`;
  if (results.some((r) => r.backend === 'native-1t') && poolThreads > 1) {
    md.push('');
    md.push(
      `**Where threads pay**: time on one thread / time on ${poolThreads}, native · C (OpenMP), at n = ${sizeList}`,
    );
    md.push('');
    md.push('| kernel | native | C |');
    md.push('|---|--:|--:|');
    for (const k of kernels) {
      const sp = (one, many) =>
        sizes
          .map((n) => {
            const a = val(k, one, n);
            const b = val(k, many, n);
            return a && b ? (a / b).toFixed(2) : '—';
          })
          .join(' · ');
      if (val(k, `c-${tl}`, sizes[0]) !== undefined || val(k, 'native-1t', sizes[0]) !== undefined)
        md.push(`| ${k} | ${sp('native-1t', 'native')} | ${sp('c-1t', `c-${tl}`)} |`);
    }
  }
}

if (transforms.length > 0) {
  md.push('');
  md.push('**Clip by global L2 norm and EMA**, ns per parameter');
  md.push('');
  md.push(
    `| op | n | ${cols.join(' | ')} | C best | memory bound (native's threads) | native / bound | best bound | native / best bound |`,
  );
  md.push(`|---|--:|${cols.map(() => '--:').join('|')}|--:|--:|--:|--:|--:|`);
  for (const k of transforms) {
    for (const n of sizes.filter((x) => x >= 1e6)) {
      const d = derived.find((x) => x.kernel === k && x.n === n) ?? {};
      md.push(
        `| ${k} | ${short(n)} | ${cols.map((b) => ns(val(k, b, n))).join(' | ')} | ${ns(d.cBest)} | ${d.bound === undefined ? '—' : `${ns(d.bound)} (${d.boundThreads}t)`} | ${d.nativeOverBound === undefined ? '—' : times(d.nativeOverBound)} | ${ns(d.boundBest)} | ${d.nativeOverBoundBest === undefined ? '—' : `**${times(d.nativeOverBoundBest)}**`} |`,
      );
    }
  }
  if (sizes.some((n) => get('probe_sum', 'c-1t', n))) {
    md.push('');
    md.push(
      'Memory probes (C, ns per float): ' +
        sizes
          .map((n) => {
            const p = (probe) =>
              [1, poolThreads]
                .filter((t, i, a) => a.indexOf(t) === i)
                .map((t) => ns(val(`probe_${probe}`, `c-${t}t`, n)))
                .join('/');
            return `${short(n)}: sum ${p('sum')}, scale ${p('scale')}, copy ${p('copy')}`;
          })
          .join('; ') +
        ` (1 thread/${poolThreads} threads). The bound of clip is what it must move, a read of every gradient for the norm and a read and a write to scale, at the bandwidth the probes reach (sum + scale), on native's thread count and at the best thread count.`,
    );
  }
}

md.push('');
const la = (x) => x.map((v) => v.toFixed(2)).join(', ');
md.push(
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, ${m.platform}; native pool ${poolThreads} threads. ` +
    `Load average ${la(m.loadavg.start)} at the start, ${la(m.loadavg.end)} at the end. ` +
    `Each figure is the median of ${rounds} rounds; in every round each configuration (its own process) ran an untimed batch and then timed one batch of ≥ ${ms} ms, in rotating order. ${secs.toFixed(0)} s in all.` +
    (cc ? ` C: ${cc}, OpenMP from 4096 elements.` : ''),
);
if (lambOverAdam !== undefined) md.push('', `LAMB / Adam on native at 1e6: ${times(lambOverAdam)}.`);
md.push('');
writeAtomic(join(outDir, 'latest.md'), md.join('\n'));
log(
  `\nwrote ${relative(process.cwd(), join(outDir, 'latest.json'))} and ${relative(process.cwd(), join(outDir, 'latest.md'))} (${secs.toFixed(0)} s)`,
);
