/**
 * The native backend: the Rust core as a Node addon (crates/napi, built by
 * scripts/build-native.sh into bindings/native/downhill.node). Buffers are plain `Float32Array`s
 * that the addon reads and writes in place, without copying.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BackendError, fromCoreError, typeError } from '../errors.js';
import { checkKernel, f32View, HeapBuffer, slotView } from './js.js';
import type { Backend, BoundStep, Buffer } from './types.js';

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
  /** `step` over whole `ArrayBuffer`s (cheaper to marshal than typed arrays). */
  stepBuffers(
    kernel: number,
    segments: ArrayBuffer,
    params: ArrayBuffer,
    grads: ArrayBuffer,
    s0: ArrayBuffer,
    s1: ArrayBuffer,
    s2: ArrayBuffer,
  ): void;
  testPanic(message: string): void;
}

/** True when the view covers its whole `ArrayBuffer`, so the buffer alone says the same. */
function whole(v: Float32Array | Float64Array): boolean {
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer;
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
  const missing = (['info', 'step', 'stepBuffers', 'testPanic'] as const).filter((k) => typeof mod[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `native addon ${path} is stale: it lacks ${missing.join(', ')} (rebuild with \`npm run build:native\`)`,
    );
  }
  addon = mod as Addon;
  return addon;
}

/**
 * Checks the buffers once and returns a step over them. Each call hands the addon the
 * ArrayBuffers behind the views when every view covers its whole buffer (`stepBuffers`, cheaper
 * to marshal), else the typed arrays (`step`).
 */
function bindNative(
  a: Addon,
  params: Buffer,
  grads: Buffer,
  state: readonly [Buffer | null, Buffer | null, Buffer | null],
): BoundStep {
  const views = [
    f32View(params, 'params'),
    f32View(grads, 'grads'),
    slotView(state[0], 0),
    slotView(state[1], 1),
    slotView(state[2], 2),
  ] as const;
  const buffers = views.every(whole) ? views.map((v) => v.buffer as ArrayBuffer) : null;
  const [s0, s1, s2] = state;
  return (kernel, segments) => {
    checkKernel(kernel);
    if (!(segments instanceof Float64Array)) throw typeError('segments', 'must be a Float64Array');
    if (params.disposed || grads.disposed || s0?.disposed || s1?.disposed || s2?.disposed) {
      throw new BackendError('native', 'buffer used after dispose()');
    }
    try {
      if (buffers && whole(segments)) {
        a.stepBuffers(
          kernel,
          segments.buffer as ArrayBuffer,
          buffers[0],
          buffers[1],
          buffers[2],
          buffers[3],
          buffers[4],
        );
      } else a.step(kernel, segments, views[0], views[1], views[2], views[3], views[4]);
    } catch (err) {
      throw fromCoreError('native', err);
    }
  };
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
    step: (kernel, segments, params, grads, state) => bindNative(a, params, grads, state)(kernel, segments),
    bind: (params, grads, state) => bindNative(a, params, grads, state),
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
