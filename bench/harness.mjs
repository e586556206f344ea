/**
 * The harness seam: the only file that knows how a measurement is taken, so changing the method
 * (or putting a benchmark library back) is a change to this file alone. benny, the design card's
 * choice, ran each case's samples back to back in one process; the targets here are ratios
 * between backends and a C reference on a shared 2-core machine, which need the cases measured
 * side by side, so this is a small hand-rolled loop instead:
 *
 * - every configuration (a backend, a thread count, a C binary) is a long-lived process of its
 *   own (bench/worker.mjs, bench/c/kernels.c --serve) that holds one case at a time and answers
 *   `setup KERNEL N` and `time MS` (ns per element of one batch of >= MS ms);
 * - `measure` sets a case up in every process, then runs `rounds` rounds; each round times one
 *   batch in every process, one after the other, starting with a different process each round,
 *   so slow drifts of the machine hit every configuration alike;
 * - a result is the median of its rounds (with the lowest and highest, to show the spread).
 *
 *   const w = await Worker.start('native', ['node', 'bench/worker.mjs', 'native'])
 *   const res = await measure([w, ...], (w) => `setup adam 1000000`, { rounds: 5, ms: 20 })
 *   // res: Map(worker → { ns, lo, hi, threads } | { skipped })
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export class Worker {
  /** @param {string} name @param {import('node:child_process').ChildProcess} child */
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.exited = false;
    createInterface({ input: child.stdout }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w.resolve(l);
      else this.lines.push(l);
    });
    child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) {
        w.reject(new Error(`${name} exited (${signal ?? code}): ${this.stderr.trim().slice(-500)}`));
      }
    });
  }

  /**
   * Starts `argv` and waits for its `ready` line; resolves to null (with the reason in
   * `onUnavailable`) when the backend cannot run here.
   */
  static async start(name, argv, { env = {}, onUnavailable = () => {} } = {}) {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const w = new Worker(name, child);
    const first = await w.next();
    if (first === 'ready') return w;
    onUnavailable(first.replace(/^unavailable /, ''));
    w.stop();
    return null;
  }

  next() {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited: ${this.stderr.trim().slice(-500)}`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Sends one command and resolves to its one-line answer. */
  async ask(line) {
    this.child.stdin.write(`${line}\n`);
    return this.next();
  }

  stop() {
    if (!this.exited) {
      this.child.stdin.end('quit\n');
      setTimeout(() => this.exited || this.child.kill(), 2000).unref();
    }
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/**
 * Sets up a case in each worker (`setupLine(worker)`, e.g. `setup adam 1000000`) and times them
 * in interleaved rounds. Resolves to a Map from worker to `{ ns, lo, hi, threads, samples }`
 * (ns per element: median, lowest, highest round) or `{ skipped }`.
 *
 * @param {Worker[]} workers
 * @param {(w: Worker) => string} setupLine
 * @param {{ rounds?: number, ms?: number }} [options] `ms`: the least length of one batch
 */
export async function measure(workers, setupLine, { rounds = 5, ms = 20 } = {}) {
  const out = new Map();
  const live = [];
  for (const w of workers) {
    const a = await w.ask(setupLine(w));
    if (a.startsWith('ok')) {
      live.push(w);
      out.set(w, { threads: Number(a.split(' ')[1] ?? 1), samples: [] });
    } else {
      out.set(w, { skipped: a.replace(/^(skip|error) /, '') });
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < live.length; k++) {
      const w = live[(k + r) % live.length];
      // An untimed batch first, not kept: a worker's first one sizes its batches; and the
      // process was idle while the others ran, and on this VM a core that idled runs slowly
      // for a while (measured for C and native alike).
      await w.ask(`time ${ms}`);
      const a = await w.ask(`time ${ms}`);
      const ns = Number(a);
      if (!Number.isFinite(ns)) throw new Error(`${w.name}: ${a}`);
      out.get(w).samples.push(ns);
    }
  }
  for (const w of live) {
    const res = out.get(w);
    res.ns = median(res.samples);
    res.lo = Math.min(...res.samples);
    res.hi = Math.max(...res.samples);
  }
  return out;
}
