#!/usr/bin/env node
/**
 * The `downhill` command: `info`, `conformance DIR`, `bench`. With `--json` each prints exactly
 * one JSON document on stdout (progress goes to stderr).
 */
import { existsSync, statSync } from 'node:fs';
import { loadBackend, selectBackend, BACKEND_NAMES } from './backend/select.js';
import type { BackendName } from './backend/types.js';
import {
  runBench,
  machine,
  BENCH_BACKENDS,
  BENCH_KERNELS,
  BENCH_SIZES,
  type BenchBackend,
  type BenchKernel,
} from './benchmark.js';
import { loadCases, runCase, type CaseResult } from './conformance.js';
import { VERSION } from './version.js';

const USAGE = `downhill ${VERSION}: gradient-descent optimizers on a Rust core (native addon, WASM, pure TS)

usage:
  downhill info [--json]                      version, backends available and active, SIMD, threads
  downhill conformance DIR [--backend native|wasm|js|all] [--json]
                                              run PyTorch reference cases (*.json) found in DIR
  downhill bench [--json] [--kernels adam,sgd_momentum,empty_step,grad_copy_in]
                 [--backends native,wasm,js,naive-js] [--sizes 1e3,1e6]
                                              ns per parameter of one optimizer step

DOWNHILL_BACKEND=native|wasm|js forces the backend for everything but --backend.`;

class UsageError extends Error {}

function parseArgs(argv: string[]): { positional: string[]; flags: Map<string, string | true> } {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags.set(k, v);
      else if (k !== 'json' && k !== 'help' && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--'))
        flags.set(k, argv[++i]);
      else flags.set(k, true);
    } else positional.push(a);
  }
  return { positional, flags };
}

function list<T extends string>(
  value: string | true | undefined,
  allowed: readonly T[],
  flag: string,
): T[] | undefined {
  if (value === undefined) return undefined;
  if (value === true) throw new UsageError(`--${flag} needs a value`);
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const it of items)
    if (!allowed.includes(it))
      throw new UsageError(`--${flag}: unknown ${JSON.stringify(it)}; one of ${allowed.join(', ')}`);
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

async function conformance(
  dir: string | undefined,
  backendFlag: string | true | undefined,
  json: boolean,
): Promise<number> {
  if (!dir) throw new UsageError('conformance needs a directory of case files');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  let names: BackendName[];
  if (backendFlag === undefined) names = [(await selectBackend()).report.active];
  else if (backendFlag === 'all') names = [...BACKEND_NAMES];
  else names = list(backendFlag, BACKEND_NAMES, 'backend') as BackendName[];
  const cases = loadCases(dir);
  const results: CaseResult[] = [];
  for (const name of names) {
    const backend = await loadBackend(name); // a requested backend that cannot load is an error
    for (const c of cases) {
      let r: CaseResult;
      try {
        r = runCase(c, backend);
      } catch (e) {
        r = {
          case: c.id,
          backend: name,
          status: 'fail',
          maxAbsErr: null,
          maxRelErr: null,
          detail: (e as Error).message,
        };
      }
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
  if (json) out(JSON.stringify({ results }));
  else out(`${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  return count('fail') > 0 ? 1 : 0;
}

async function bench(flags: Map<string, string | true>, json: boolean): Promise<number> {
  const kernels = list<BenchKernel>(flags.get('kernels'), [...BENCH_KERNELS, 'empty_step', 'grad_copy_in'], 'kernels');
  const backends = list<BenchBackend>(flags.get('backends'), BENCH_BACKENDS, 'backends');
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
  const results = await runBench({
    kernels,
    backends,
    sizes,
    onRow: (r) =>
      err(
        `${r.kernel.padEnd(13)} ${r.backend.padEnd(8)} n=${String(r.n).padEnd(9)} ${r.nsPerParam.toFixed(4)} ns/param  ${(r.nsPerStep / 1000).toFixed(2)} µs/step`,
      ),
  });
  if (json) out(JSON.stringify({ machine: machine(), results }));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const json = flags.has('json');
  const [command, ...rest] = positional;
  try {
    switch (command) {
      case 'info':
        return await info(json);
      case 'conformance':
        return await conformance(rest[0], flags.get('backend'), json);
      case 'bench':
        return await bench(flags, json);
      case undefined:
      case 'help':
        out(USAGE);
        return command === undefined && !flags.has('help') ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`downhill: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`downhill: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
