/**
 * One configuration of the MLP throughput benchmark in a process of its own (spawned by
 * ts/bench/mlp.ts): `node mlp-worker.js BACKEND SECONDS` prints one JSON line of timings.
 */
import type { BackendName } from '../backend/types.js';
import { measureDownhill, measureTfjs, type MlpTiming } from './mlp.js';

const [backend, seconds] = process.argv.slice(2);
const s = Number(seconds);
let t: MlpTiming;
if (backend === 'tfjs-cpu') t = await measureTfjs('cpu', s);
else if (backend === 'tfjs-wasm') t = await measureTfjs('wasm', s);
else t = await measureDownhill(backend as BackendName, s);
process.stdout.write(`\n${JSON.stringify(t)}\n`);
