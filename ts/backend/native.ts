/**
 * The native backend: the Rust core as a Node addon (crates/napi, built by
 * scripts/build-native.sh into bindings/native/downhill.node). Buffers are plain typed arrays
 * that the addon reads and writes in place, without copying: each call hands it the
 * `ArrayBuffer`s behind them (Node-API reads an `ArrayBuffer` for about half the cost of a typed
 * array).
 */
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromCoreError } from '../errors.js';
import { ArrayHeap, arrayLimits, loadPhysicalMemory } from './heap.js';
import { DTYPE_CODE, type Backend, type FloatArray } from './types.js';

/** The addon's exports (crates/napi/src/lib.rs). */
interface Addon {
  info(): { version: string; simd: string; threads: number };
  specs(): string;
  call(
    op: number,
    dtype: number,
    args: ArrayBuffer,
    b0: ArrayBuffer | null,
    b1: ArrayBuffer | null,
    b2: ArrayBuffer | null,
    b3: ArrayBuffer | null,
    b4: ArrayBuffer | null,
    b5: ArrayBuffer | null,
  ): void;
  testPanic(message: string): void;
}

/**
 * Where the addon lives. ts/backend/native.ts and dist/backend/native.js are both two levels
 * below the package root, so one relative path serves vitest and the compiled package.
 */
const ADDON_URL = new URL('../../bindings/native/downhill.node', import.meta.url);

let addon: Addon | null = null;

/** True when the file starts like a shared library (ELF, Mach-O or PE), not a script. */
function looksNative(path: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const magic = head.readUInt32BE(0);
  return (
    magic === 0x7f454c46 || // ELF
    magic === 0xcffaedfe ||
    magic === 0xcefaedfe || // Mach-O (little-endian 64/32)
    magic === 0xcafebabe || // Mach-O universal
    head.readUInt16BE(0) === 0x4d5a // PE ("MZ")
  );
}

function loadAddon(): Addon {
  if (addon) return addon;
  // DOWNHILL_NATIVE_ADDON points at another build (or at nothing, to test the fallback).
  const path = process.env.DOWNHILL_NATIVE_ADDON || fileURLToPath(ADDON_URL);
  if (!existsSync(path)) {
    throw new Error(`native addon not built: ${path} does not exist (run \`npm run build:native\`)`);
  }
  if (!path.endsWith('.node') || !looksNative(path)) {
    throw new Error(`${path} is not a native addon (.node shared library); refusing to load it`);
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
  const missing = (['info', 'specs', 'call', 'testPanic'] as const).filter((k) => typeof mod[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `native addon ${path} is stale: it lacks ${missing.join(', ')} (rebuild with \`npm run build:native\`)`,
    );
  }
  addon = mod as Addon;
  return addon;
}

export async function loadNative(): Promise<Backend> {
  const a = loadAddon();
  await loadPhysicalMemory();
  const call = (op: number, dtype: 'float32' | 'float64', args: Float64Array, v: (FloatArray | null)[]) => {
    try {
      a.call(
        op,
        DTYPE_CODE[dtype],
        args.buffer as ArrayBuffer,
        (v[0]?.buffer as ArrayBuffer) ?? null,
        (v[1]?.buffer as ArrayBuffer) ?? null,
        (v[2]?.buffer as ArrayBuffer) ?? null,
        (v[3]?.buffer as ArrayBuffer) ?? null,
        (v[4]?.buffer as ArrayBuffer) ?? null,
        (v[5]?.buffer as ArrayBuffer) ?? null,
      );
    } catch (err) {
      throw fromCoreError('native', err);
    }
  };
  let infoCache: ReturnType<Addon['info']> | null = null;
  const backend: Backend = {
    name: 'native',
    info() {
      infoCache ??= a.info();
      return { name: 'native', simd: infoCache.simd, threads: infoCache.threads };
    },
    limits: arrayLimits,
    specsJson: () => a.specs(),
    createHeap: () =>
      new ArrayHeap(backend, (op, dtype, args, views) => {
        // The addon reads whole ArrayBuffers; args must be one too (callers allocate it so).
        if (args.byteOffset !== 0 || args.byteLength !== args.buffer.byteLength) {
          const whole = new Float64Array(args);
          call(op, dtype, whole, views);
          args.set(whole);
        } else call(op, dtype, args, views);
      }),
  };
  return backend;
}

/** Makes the addon panic inside its guard (tests: a panic must surface as a JS error). */
export function nativeTestPanic(message: string): void {
  try {
    loadAddon().testPanic(message);
  } catch (err) {
    throw fromCoreError('native', err);
  }
}
