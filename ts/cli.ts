#!/usr/bin/env node
/**
 * The `downhill` command. With `--json` each command prints exactly one JSON document on stdout
 * (progress goes to stderr). Usage errors (unknown command or flag, missing or empty folder)
 * exit with 2, failures with 1.
 */
import { existsSync, statSync } from 'node:fs';
import { loadBackend, selectBackend, BACKEND_NAMES } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import {
  runBench,
  machine,
  BENCH_BACKENDS,
  BENCH_SIZES,
  EXTRA_KERNELS,
  optimizerKernels,
  type BenchBackend,
  type BenchKernel,
  type BenchSkip,
} from './benchmark.js';
import { MLP_BACKENDS, MLP_KERNEL, runMlpBench, type MlpBackend, type MlpRow, type MlpSkip } from './bench/mlp.js';
import { loadCases, runCase, type CaseResult, type Loaded } from './conformance/all.js';
import './index.js';
import { scheduleCommand } from './schedule/cli.js';
import { trainCommand, TrainUsageError, TRAIN_FLAGS, TRAIN_USAGE } from './train/cli.js';
import { VERSION } from './version.js';

const USAGE = `downhill ${VERSION}: gradient-descent optimizers on a Rust core (native addon, WASM, pure TS)

usage:
  ${TRAIN_USAGE}
  downhill info [--json]                      version, backends available and active, SIMD, threads
  downhill conformance DIR... [--backend native|wasm|js|all] [--json]
                                              run reference cases (*.json) found in each DIR
  downhill schedule NAME --steps N [--json | --svg FILE] [--OPTION VALUE ...]
                                              print or plot a learning-rate schedule
                                              (\`downhill schedule --help\` lists them)
  downhill bench [--json] [--kernels adam,sgd_momentum,lamb,clip_norm,ema,copy,empty_step,...]
                 [--backends native,wasm,js,naive-js] [--sizes 1e4,1e6,1e7]
                                              ns per parameter of one optimizer step (default:
                                              every optimizer, clip_norm and ema at 1e4, 1e6, 1e7;
                                              \`npm run bench\` adds the C reference and 1e5)
  downhill bench --kernels mlp_784_256_10 [--json] [--backends native,wasm,js,tfjs-cpu,tfjs-wasm,torch]
                 [--threads 1,2] [--rounds 3] [--seconds 2]
                                              training samples/s of the 784-256-10 MLP at batch 128
                                              (torch rows: DOWNHILL_TORCH_PYTHON or python3 with torch)

DOWNHILL_BACKEND=native|wasm|js forces the backend for everything but --backend.`;

class UsageError extends Error {}

/** Flags each command takes; `true` marks a boolean flag; `null`: the command checks its own. */
const FLAGS: Record<string, Record<string, boolean> | null> = {
  schedule: null,
  train: TRAIN_FLAGS,
  info: { json: true },
  conformance: { json: true, backend: false },
  bench: { json: true, kernels: false, backends: false, sizes: false, threads: false, rounds: false, seconds: false },
  help: {},
};

function parseArgs(argv: string[]): {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string | true>;
} {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const command = argv.find((a) => !a.startsWith('--'));
  const known = FLAGS[command ?? 'help'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help') {
      flags.set('help', true);
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const k = a.slice(2, eq < 0 ? undefined : eq);
    if (known === null) {
      // The command validates its own flags: `--key value`, `--key=value` or a lone `--key`.
      if (eq >= 0) flags.set(k, a.slice(eq + 1));
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags.set(k, argv[++i]);
      else flags.set(k, true);
      continue;
    }
    if (known === undefined || !(k in known))
      throw new UsageError(`unknown flag --${k}${command ? ` for ${command}` : ''}`);
    if (known[k]) {
      if (eq >= 0) throw new UsageError(`--${k} takes no value`);
      flags.set(k, true);
    } else if (eq >= 0) flags.set(k, a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags.set(k, argv[++i]);
    else throw new UsageError(`--${k} needs a value`);
  }
  return { command: positional[0], positional: positional.slice(1), flags };
}

function list<T extends string>(
  value: string | true | undefined,
  allowed: readonly T[],
  flag: string,
): T[] | undefined {
  if (value === undefined) return undefined;
  if (value === true) throw new UsageError(`--${flag} needs a value`);
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const it of items) {
    if (!allowed.includes(it))
      throw new UsageError(`--${flag}: unknown ${JSON.stringify(it)}; one of ${allowed.join(', ')}`);
  }
  return items;
}

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

async function info(json: boolean): Promise<number> {
  const { report } = await selectBackend();
  const backends: Record<string, unknown> = {};
  for (const name of BACKEND_NAMES) {
    const st = report.backends[name];
    const detail = st.available ? (await loadBackend(name)).info() : null;
    backends[name] = {
      available: st.available,
      reason: st.reason,
      simd: detail?.simd ?? null,
      threads: detail?.threads ?? null,
    };
  }
  if (json) {
    out(JSON.stringify({ version: VERSION, active: report.active, why: report.why, backends }));
    return 0;
  }
  out(`downhill ${VERSION}`);
  out(`active backend: ${report.active} (${report.why})`);
  for (const name of BACKEND_NAMES) {
    const b = backends[name] as {
      available: boolean;
      reason: string | null;
      simd: string | null;
      threads: number | null;
    };
    out(
      `  ${name.padEnd(6)} ${b.available ? `available  simd=${b.simd} threads=${b.threads}` : `unavailable: ${b.reason}`}`,
    );
  }
  return 0;
}

async function conformance(dirs: string[], backendFlag: string | true | undefined, json: boolean): Promise<number> {
  if (dirs.length === 0) throw new UsageError('conformance needs at least one directory of case files');
  const loaded: Loaded[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
    const cases = loadCases(dir);
    if (cases.length === 0) throw new UsageError(`no case files (*.json) in ${dir}`);
    loaded.push(...cases);
  }
  let names: BackendName[];
  if (backendFlag === undefined) names = [(await selectBackend()).report.active];
  else if (backendFlag === 'all') names = [...BACKEND_NAMES];
  else names = list(backendFlag, BACKEND_NAMES, 'backend') as BackendName[];
  const results: CaseResult[] = [];
  for (const name of names) {
    const backend = await loadBackend(name); // a requested backend that cannot load is an error
    for (const l of loaded) {
      const r = runCase(l, backend);
      results.push(r);
      if (!json) {
        const errs =
          r.maxAbsErr === null
            ? ''
            : `  maxAbsErr=${r.maxAbsErr.toExponential(2)} maxRelErr=${(r.maxRelErr ?? 0).toExponential(2)}`;
        out(
          `${r.status.toUpperCase().padEnd(4)} ${name.padEnd(6)} ${r.case}${errs}${r.detail ? `  (${r.detail})` : ''}`,
        );
      }
    }
  }
  const count = (s: string) => results.filter((r) => r.status === s).length;
  const summary = { passed: count('pass'), failed: count('fail'), skipped: count('skip') };
  if (json) out(JSON.stringify({ summary, results }));
  else out(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  return summary.failed > 0 ? 1 : 0;
}

function numbers(value: string | true | undefined, flag: string, min: number): number[] | undefined {
  if (value === undefined) return undefined;
  if (value === true) throw new UsageError(`--${flag} needs a value`);
  return value.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${flag}: ${s} is not a number >= ${min}`);
    return n;
  });
}

async function bench(flags: Map<string, string | true>, json: boolean): Promise<number> {
  const allKernels = list<BenchKernel | typeof MLP_KERNEL>(
    flags.get('kernels'),
    [...optimizerKernels(), ...EXTRA_KERNELS, MLP_KERNEL],
    'kernels',
  );
  const allBackends = list<BenchBackend | MlpBackend>(
    flags.get('backends'),
    [...new Set<BenchBackend | MlpBackend>([...BENCH_BACKENDS, ...MLP_BACKENDS])],
    'backends',
  );
  const mlp: (MlpRow | MlpSkip)[] = [];
  if (allKernels?.includes(MLP_KERNEL)) {
    const backends = allBackends?.filter((b): b is MlpBackend => (MLP_BACKENDS as readonly string[]).includes(b));
    const threads = numbers(flags.get('threads'), 'threads', 1)?.map(Math.round);
    const [rounds] = numbers(flags.get('rounds'), 'rounds', 1) ?? [3];
    const [seconds] = numbers(flags.get('seconds'), 'seconds', 0.1) ?? [2];
    mlp.push(
      ...(await runMlpBench({
        backends,
        threads,
        rounds: Math.round(rounds),
        seconds,
        onRow: (r) =>
          err(
            'skipped' in r
              ? `${r.kernel} ${r.backend.padEnd(9)} t=${r.threads}  skipped: ${r.skipped}`
              : `${r.kernel} ${r.backend.padEnd(9)} t=${r.threads}  ${r.samplesPerSec.toFixed(0).padStart(7)} samples/s  ${r.gflops.toFixed(1).padStart(6)} GFLOP/s  step ${r.msPerStep.toFixed(3)} ms = forward ${r.forwardMs.toFixed(3)} + backward ${r.backwardMs.toFixed(3)} + optimizer ${r.optimizerMs.toFixed(3)}`,
          ),
      })),
    );
    if (allKernels.length === 1) {
      if (json) out(JSON.stringify({ machine: machine(), results: mlp }));
      return 0;
    }
  }
  const kernels = allKernels?.filter((k): k is BenchKernel => k !== MLP_KERNEL);
  const backends = allBackends?.filter((b): b is BenchBackend => (BENCH_BACKENDS as readonly string[]).includes(b));
  const sizesFlag = flags.get('sizes');
  const sizes =
    sizesFlag === undefined
      ? [...BENCH_SIZES]
      : String(sizesFlag)
          .split(',')
          .map((s) => {
            const n = Number(s);
            if (!Number.isInteger(n) || n < 1) throw new UsageError(`--sizes: ${s} is not a positive integer`);
            return n;
          });
  const skipped: BenchSkip[] = [];
  const results = await runBench({
    kernels,
    backends,
    sizes,
    onSkip: (s) => {
      skipped.push(s);
      err(`${s.kernel.padEnd(13)} ${s.backend.padEnd(8)} n=${String(s.n).padEnd(9)} skipped: ${s.skipped}`);
    },
    onRow: (r) =>
      err(
        `${r.kernel.padEnd(13)} ${r.backend.padEnd(8)} n=${String(r.n).padEnd(9)} ${r.nsPerParam.toFixed(4)} ns/param  ${(r.nsPerStep / 1000).toFixed(2)} µs/step`,
      ),
  });
  if (json) out(JSON.stringify({ machine: machine(), results: [...results, ...mlp], skipped }));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { command, positional, flags } = parseArgs(argv);
    const json = flags.has('json');
    if (command === 'schedule') return await scheduleCommand(positional, flags, out, err);
    if (flags.has('help') || command === 'help') {
      out(USAGE);
      return 0;
    }
    switch (command) {
      case 'info':
        if (positional.length > 0) throw new UsageError(`info takes no arguments, got ${positional.join(' ')}`);
        return await info(json);
      case 'conformance':
        return await conformance(positional, flags.get('backend'), json);
      case 'train':
        return await trainCommand(positional, flags, out, err);
      case 'bench':
        if (positional.length > 0) throw new UsageError(`bench takes no arguments, got ${positional.join(' ')}`);
        return await bench(flags, json);
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof TrainUsageError) {
      err(`downhill: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`downhill: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
