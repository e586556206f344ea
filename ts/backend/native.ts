/**
 * The native backend: the Rust core as a Node addon (crates/napi, built by
 * scripts/build-native.sh into bindings/native/downhill.node). Buffers are plain `Float32Array`s
 * that the addon reads and writes in place, without copying.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromCoreError, rangeError, typeError } from '../errors.js';
import { f32View, HeapBuffer, slotView } from './js.js';
import type { Backend } from './types.js';

/** The addon's exports (crates/napi/src/lib.rs). */
interface Addon {
  info(): { version: string; simd: string; threads: number };
  step(
    kernel: number,
    segments: Float64Array,
    params: Float32Array,
    grads: Float32Array,
    s0: Float32Array,
    s1: Float32Array,
    s2: Float32Array,
  ): void;
  testPanic(message: string): void;
}

/**
 * Where the addon lives. ts/backend/native.ts and dist/backend/native.js are both two levels
 * below the package root, so one relative path serves vitest and the compiled package.
 */
const ADDON_URL = new URL('../../bindings/native/downhill.node', import.meta.url);

let addon: Addon | null = null;

function loadAddon(): Addon {
  if (addon) return addon;
  // DOWNHILL_NATIVE_ADDON points at another build (or at nothing, to test the fallback).
  const path = process.env.DOWNHILL_NATIVE_ADDON || fileURLToPath(ADDON_URL);
  if (!existsSync(path)) {
    throw new Error(`native addon not built: ${path} does not exist (run \`npm run build:native\`)`);
  }
  let mod: Partial<Addon>;
  try {
    mod = createRequire(import.meta.url)(path) as Partial<Addon>;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`native addon ${path} failed to load on ${process.platform}-${process.arch}: ${why}`, {
      cause: err,
    });
  }
  const missing = (['info', 'step', 'testPanic'] as const).filter((k) => typeof mod[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `native addon ${path} is stale: it lacks ${missing.join(', ')} (rebuild with \`npm run build:native\`)`,
    );
  }
  addon = mod as Addon;
  return addon;
}

export function loadNative(): Backend {
  const a = loadAddon();
  return {
    name: 'native',
    info() {
      const i = a.info();
      return { name: 'native', simd: i.simd, threads: i.threads };
    },
    alloc: (length) => new HeapBuffer('native', length),
    step(kernel, segments, params, grads, state) {
      // The addon would coerce these silently (a u32 kernel id truncates); say what is wrong instead.
      if (!Number.isInteger(kernel) || kernel < 0 || kernel > 0xffffffff) {
        throw rangeError('kernel', `must be a non-negative integer kernel id, got ${kernel}`);
      }
      if (!(segments instanceof Float64Array)) throw typeError('segments', 'must be a Float64Array');
      const p = f32View(params, 'params');
      const g = f32View(grads, 'grads');
      const s0 = slotView(state[0], 0);
      const s1 = slotView(state[1], 1);
      const s2 = slotView(state[2], 2);
      try {
        a.step(kernel, segments, p, g, s0, s1, s2);
      } catch (err) {
        throw fromCoreError('native', err);
      }
    },
  };
}

/** Makes the addon panic inside its guard (tests: a panic must surface as a JS error). */
export function nativeTestPanic(message: string): void {
  try {
    loadAddon().testPanic(message);
  } catch (err) {
    throw fromCoreError('native', err);
  }
}
