/** Shared test helpers: where the shared reference material is, which backends to run, inputs. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBackend } from '../ts/backend/select.js';
import type { Backend, BackendName, FloatArray } from '../ts/backend/types.js';
import { Rng } from '../ts/random.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `../shared` beside the project root (read-only reference material). */
export const SHARED = join(ROOT, '..', 'shared');
export const CI = process.env.CI === 'true';
export const DTYPES = ['float32', 'float64'] as const;

/**
 * Loads every backend that is built. In CI all three must load (a missing one fails the run);
 * locally an unbuilt backend is skipped by name.
 */
export async function backends(): Promise<{ ready: Backend[]; missing: { name: BackendName; reason: string }[] }> {
  const ready: Backend[] = [];
  const missing: { name: BackendName; reason: string }[] = [];
  for (const name of ['native', 'wasm', 'js'] as const) {
    try {
      ready.push(await loadBackend(name));
    } catch (err) {
      if (CI) throw err;
      missing.push({ name, reason: (err as Error).message });
    }
  }
  for (const m of missing) console.warn(`[skip] backend ${m.name}: ${m.reason}`);
  return { ready, missing };
}

export const hasShared = existsSync(join(SHARED, 'conformance'));

/** Values at the edges of f32: signed zeros, subnormals, huge values (no NaN/∞: those are tested apart). */
const SPECIAL = [0, -0, 1e-45, -1e-45, 1e-40, -2.5e-39, 1.1754942e-38, 1e-30, 1, -1, 1e30, -1e20, 65504];

const cache = new Map<string, number[]>();

/** Mostly normal values with some special ones, the same on every call with the same seed. */
export function inputs(n: number, seed: number, special = 0.15): number[] {
  const key = `${n},${seed},${special}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const rng = new Rng(seed);
  const a: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.uniform();
    if (r < special) a.push(SPECIAL[Math.floor(rng.uniform() * SPECIAL.length)]);
    else a.push(rng.normal());
  }
  if (n >= 10_000) cache.set(key, a);
  return a;
}

/**
 * A short fingerprint of an array's exact bits (NaN made canonical): equal arrays give equal
 * digests, and a different element changes it with overwhelming likelihood.
 */
export function digest(a: FloatArray): string {
  const copy = a instanceof Float32Array ? new Float32Array(a) : new Float64Array(a);
  for (let i = 0; i < copy.length; i++) if (Number.isNaN(copy[i])) copy[i] = NaN;
  const words = new Uint32Array(copy.buffer);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < words.length; i++) {
    h1 = Math.imul(h1 ^ words[i], 0x01000193) >>> 0;
    h2 = Math.imul(h2 + words[i] + i, 0x85ebca6b) >>> 0;
  }
  return `${copy.length}:${h1.toString(16)}:${h2.toString(16)}`;
}

/** The bits of a float array, NaN made canonical (WASM and x86 may give NaNs different payloads). */
export function bits(a: FloatArray): string[] {
  return Array.from(a, (x) => (Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : String(x)));
}
