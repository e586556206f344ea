/**
 * One backend of the benchmark in a process of its own, driven over stdin/stdout by
 * bench/harness.mjs with the same line protocol as the C reference (bench/c/kernels.c):
 *
 *   setup KERNEL N  ->  ok THREADS      the case is built, run twice, and a batch size found
 *                       skip REASON     the backend has no such case, or the core refused it
 *   time MS         ->  NS              ns per element of one batch lasting >= MS ms
 *                                       (the first call after setup sizes the batch)
 *   quit
 *
 * THREADS is the number of threads the backend may use for this case (native: the pool's size
 * when the loop is long enough to split, else 1; everything else 1).
 *
 *   node bench/worker.mjs native|wasm|js|naive-js
 * (for native on one thread, start it with RAYON_NUM_THREADS=1)
 */
import { createInterface } from 'node:readline';
import { calibrate, makeCase, timeBatch } from '../dist/benchmark.js';
import { loadBackend } from '../dist/backend/select.js';
import { PAR_MIN_LEN } from '../dist/generated/specs.js';
import '../dist/index.js';

const backend = process.argv[2];
let threads = 1;
if (backend !== 'naive-js') {
  try {
    threads = (await loadBackend(backend)).info().threads;
  } catch (e) {
    process.stdout.write(`unavailable ${String(e instanceof Error ? e.message : e).replace(/\s+/g, ' ')}\n`);
    process.exit(0);
  }
}
process.stdout.write('ready\n');

let c = null;
let reps = 0;
const reply = (s) => process.stdout.write(`${s}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, a, b] = line.trim().split(/\s+/);
  try {
    if (cmd === 'setup') {
      c?.dispose();
      c = null;
      reps = 0;
      const n = Number(b);
      try {
        c = await makeCase(a, backend, n);
      } catch (e) {
        reply(`skip ${String(e instanceof Error ? e.message : e).replace(/\s+/g, ' ')}`);
        continue;
      }
      reply(`ok ${backend === 'native' && n >= PAR_MIN_LEN ? threads : 1}`);
    } else if (cmd === 'time' && c) {
      if (reps === 0) reps = calibrate(c.run, Number(a));
      reply(timeBatch(c.run, reps, c.n).toFixed(6));
    } else if (cmd === 'quit') {
      break;
    } else {
      reply(`error unknown command ${line}`);
    }
  } catch (e) {
    reply(`error ${String(e instanceof Error ? e.message : e).replace(/\s+/g, ' ')}`);
  }
}
c?.dispose();
process.exit(0);
