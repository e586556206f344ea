/**
 * Soak benchmark (not a test): long runs that a leak, a slowdown or a trap would show, on every
 * backend, each scenario in its own Node process (`--expose-gc`) so they do not disturb each
 * other:
 *
 * - `steps`: 1e6 Adam steps on a store of 100 parameters;
 * - `churn`: 10 000 store + Adam pairs (create, gradient, one step), with and without `dispose()`,
 *   at 1e2 and 1e4 parameters;
 * - `traps` (WASM): 100 stores of 1e6 parameters, each stepped and then made to trap.
 *
 * Each reports RSS, V8 heap, array-buffer memory (WASM memories and typed arrays) and, on WASM,
 * the live store's WebAssembly memory, at the start and the end (after a full GC), the peak RSS,
 * and the time per iteration. Results: bench/results/soak.json and bench/results/soak.md.
 *
 *   npm run soak                                  # everything (minutes; run it niced)
 *   node bench/soak.mjs --backends wasm --scenarios churn --iterations 2000
 *   node bench/soak.mjs --render                  # soak.md again from soak.json
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The body of one scenario, run in a child process; prints one JSON line. */
async function child() {
  const m = await import(join(DIST, 'index.js'));
  const { loadBackend } = await import(join(DIST, 'backend', 'select.js'));
  const { wasmTestTrap } = await import(join(DIST, 'backend', 'wasm.js'));
  const backend = await loadBackend(arg('backend'));
  const scenario = arg('scenario');
  const n = Number(arg('n', '100'));
  const iterations = Number(arg('iterations'));
  const dispose = arg('dispose', 'yes') === 'yes';
  const mem = (wasmBytes = 0) => {
    globalThis.gc();
    globalThis.gc();
    const u = process.memoryUsage();
    return {
      rssMB: u.rss / 2 ** 20,
      heapMB: u.heapUsed / 2 ** 20,
      arrayBuffersMB: u.arrayBuffers / 2 ** 20,
      wasmMB: wasmBytes / 2 ** 20,
    };
  };
  const wasmOf = (store) => store?.heap?.memoryBytes ?? 0;
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20);
  };
  let start;
  let end;
  let t0;
  let t1;
  if (scenario === 'steps') {
    const store = new m.ParamStore(backend, { w: { shape: [n], init: (i) => Math.sin(i) } });
    const opt = new m.Adam(store, { lr: 1e-3 });
    const grads = store.grads;
    start = mem(wasmOf(store));
    t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      grads[i % n] = Math.cos(i);
      opt.step();
      if ((i & 0xffff) === 0) sample();
    }
    t1 = performance.now();
    end = mem(wasmOf(store));
    if (!store.data.every(Number.isFinite)) throw new Error('parameters became non-finite');
    store.dispose();
  } else if (scenario === 'churn') {
    start = mem();
    t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      const store = new m.ParamStore(backend, { w: [n] });
      const opt = new m.Adam(store);
      store.grads.fill(1);
      opt.step();
      if (dispose) store.dispose();
      if ((i & 255) === 0) sample();
    }
    t1 = performance.now();
    end = mem();
  } else if (scenario === 'traps') {
    start = mem();
    t0 = performance.now();
    const live = new m.ParamStore(backend, { w: { shape: [4], init: 1 } });
    const liveOpt = new m.Adam(live);
    for (let i = 0; i < iterations; i++) {
      const store = new m.ParamStore(backend, { w: [n] });
      const opt = new m.Adam(store);
      store.grads.fill(1);
      opt.step();
      try {
        wasmTestTrap(store.heap);
      } catch {
        // the trap is the point
      }
      live.grads.fill(1);
      liveOpt.step();
      sample();
    }
    t1 = performance.now();
    end = mem(wasmOf(live));
    live.dispose();
  } else throw new Error(`unknown scenario ${scenario}`);
  console.log(
    JSON.stringify({
      start,
      end,
      peakRssMB: Math.max(peak, end.rssMB),
      usPerIteration: ((t1 - t0) * 1000) / iterations,
    }),
  );
}

const FOLDER = join(ROOT, 'bench', 'results');

if (process.argv.includes('--child')) {
  await child();
} else if (process.argv.includes('--render')) {
  render(JSON.parse(readFileSync(join(FOLDER, 'soak.json'), 'utf8')));
} else {
  const backends = arg('backends', 'native,wasm,js').split(',');
  const scenarios = arg('scenarios', 'steps,churn,traps').split(',');
  const scale = Number(arg('iterations', '0'));
  const plan = [];
  for (const backend of backends) {
    if (scenarios.includes('steps')) plan.push({ scenario: 'steps', backend, n: 100, iterations: scale || 1e6 });
    if (scenarios.includes('churn')) {
      for (const n of [100, 10_000]) {
        for (const dispose of ['yes', 'no'])
          plan.push({ scenario: 'churn', backend, n, dispose, iterations: scale || 10_000 });
      }
    }
    if (scenarios.includes('traps') && backend === 'wasm')
      plan.push({ scenario: 'traps', backend, n: 1e6, iterations: scale ? Math.min(scale, 100) : 100 });
  }
  const rows = [];
  for (const p of plan) {
    const args = [
      '--expose-gc',
      fileURLToPath(import.meta.url),
      '--child',
      '--backend',
      p.backend,
      '--scenario',
      p.scenario,
      '--n',
      String(p.n),
      '--iterations',
      String(p.iterations),
      '--dispose',
      p.dispose ?? 'yes',
    ];
    const label = `${p.backend} ${p.scenario}${p.dispose ? ` dispose=${p.dispose}` : ''} n=${p.n} ×${p.iterations}`;
    process.stderr.write(`${label} … `);
    let row;
    try {
      const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
      row = { ...p, ...JSON.parse(out.trim().split('\n').at(-1)) };
      process.stderr.write(
        `${row.usPerIteration.toFixed(2)} µs/iteration, RSS ${row.start.rssMB.toFixed(0)} → ${row.end.rssMB.toFixed(0)} MB (peak ${row.peakRssMB.toFixed(0)})\n`,
      );
    } catch (e) {
      row = {
        ...p,
        error: String(e.stderr || e.message)
          .trim()
          .split('\n')
          .slice(-3)
          .join(' '),
      };
      process.stderr.write(`failed: ${row.error}\n`);
    }
    rows.push(row);
  }
  const machine = {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    load: os.loadavg().map((x) => +x.toFixed(1)),
  };
  mkdirSync(FOLDER, { recursive: true });
  writeFileSync(
    join(FOLDER, 'soak.json'),
    JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2) + '\n',
  );
  render({ machine, rows });
}

/** bench/results/soak.md (the README table) from a run's results. */
function render({ machine, rows }) {
  const f = (x) => (x === undefined ? '—' : x.toFixed(x < 10 ? 1 : 0));
  const lines = [
    '| backend | scenario | params | iterations | µs/iteration | RSS start → end (peak), MB | V8 heap start → end, MB | WASM memory start → end, MB |',
    '|---|---|--:|--:|--:|---|---|---|',
    ...rows.map((r) => {
      const what =
        r.scenario === 'churn'
          ? `churn, ${r.dispose === 'yes' ? 'with' : 'without'} dispose()`
          : r.scenario === 'steps'
            ? 'Adam steps'
            : 'traps (a live store beside)';
      if (r.error) return `| ${r.backend} | ${what} | ${r.n} | ${r.iterations} | failed: ${r.error} | | | |`;
      const wasm = r.backend === 'wasm' && r.scenario !== 'churn' ? `${f(r.start.wasmMB)} → ${f(r.end.wasmMB)}` : '—';
      return `| ${r.backend} | ${what} | ${r.n} | ${r.iterations} | ${r.usPerIteration.toFixed(2)} | ${f(r.start.rssMB)} → ${f(r.end.rssMB)} (${f(r.peakRssMB)}) | ${f(r.start.heapMB)} → ${f(r.end.heapMB)} | ${wasm} |`;
    }),
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}; load average ${machine.load.join(' / ')} at the end of the run.`,
  ];
  writeFileSync(join(FOLDER, 'soak.md'), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}
