/**
 * The native backend: the Rust core as a Node addon (crates/napi). Buffers are plain typed arrays
 * that the addon reads and writes in place, without copying. Each is a view that starts on a
 * cache line of an ArrayBuffer 64 bytes longer than it needs (see `aligned` below); each call
 * hands the addon the views themselves and the argument table's `ArrayBuffer`.
 *
 * Where the addon comes from, in napi-rs's per-platform layout (names as `napi build --platform`
 * gives them, e.g. `downhill.linux-x64-gnu.node`):
 * 1. `DOWNHILL_NATIVE_ADDON`, when set: that file and nothing else;
 * 2. `bindings/native/downhill.<triple>.node` in this package (the build of scripts/build-native.sh,
 *    and the addon the package's tarball carries for the platform it was packed on);
 * 3. the package `downhill-<triple>` (built in npm/<triple>/ by scripts/build.sh, published for
 *    other platforms as an optional dependency), at exactly this package's version.
 */
import { existsSync, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fromCoreError } from '../errors.js';
import { VERSION } from '../version.js';
import { ArrayHeap, arrayLimits, loadPhysicalMemory } from './heap.js';
import { DTYPE_BYTES, DTYPE_CODE, type Backend, type DType, type FloatArray } from './types.js';

/** Bytes a native buffer is allocated beyond its elements, to start them on a cache line. */
const ALIGN_PAD = 64;

/** The addon's exports (crates/napi/src/lib.rs). */
interface Addon {
  info(): { version: string; simd: string; threads: number };
  specs(): string;
  call(
    op: number,
    dtype: number,
    args: ArrayBuffer,
    b0: FloatArray | null,
    b1: FloatArray | null,
    b2: FloatArray | null,
    b3: FloatArray | null,
    b4: FloatArray | null,
    b5: FloatArray | null,
  ): void;
  /** Bytes from the start of `buffer`'s data to its first 64-byte boundary. */
  align(buffer: ArrayBuffer): number;
  testPanic(message: string): void;
}

/**
 * The package root. ts/backend/native.ts and dist/backend/native.js are both two levels below it;
 * the CommonJS copy in dist/cjs/ resolves `import.meta.url` as its ESM twin's URL
 * (scripts/build-js.mjs), so one relative path serves vitest and both builds.
 */
const PACKAGE_ROOT = new URL('../../', import.meta.url);

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

let muslCache: boolean | null = null;

/**
 * Whether this Linux runs on musl rather than glibc (an addon linked against one does not load on
 * the other). `ldd` is a script that names its libc, so reading it answers without starting a
 * process; where it is missing, Node's diagnostic report says whether glibc is loaded.
 */
function isMusl(): boolean {
  if (muslCache !== null) return muslCache;
  try {
    muslCache = readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    const report = (process.report?.getReport?.() ?? null) as {
      header?: { glibcVersionRuntime?: string };
      sharedObjects?: string[];
    } | null;
    muslCache =
      report !== null &&
      !report.header?.glibcVersionRuntime &&
      (report.sharedObjects ?? []).some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'));
  }
  return muslCache;
}

/**
 * The napi-rs platform names (`<platform>-<arch>[-<abi>]`) an addon for this process may carry,
 * most specific first; empty where napi-rs has no target. The ABI part is the C library on Linux
 * (`gnu`, `musl`; `gnueabihf` for 32-bit ARM) and the toolchain on Windows (`msvc`).
 */
export function platformTriples(
  platform: string = process.platform,
  arch: string = process.arch,
  musl: () => boolean = isMusl,
): string[] {
  switch (platform) {
    case 'linux': {
      const libc = musl() ? 'musl' : 'gnu';
      if (arch === 'arm') return [`linux-arm-${libc}eabihf`];
      if (['x64', 'arm64', 'riscv64', 'loong64'].includes(arch)) return [`linux-${arch}-${libc}`];
      if (['ppc64', 's390x'].includes(arch) && libc === 'gnu') return [`linux-${arch}-gnu`];
      return [];
    }
    case 'darwin':
      return ['x64', 'arm64'].includes(arch) ? [`darwin-${arch}`, 'darwin-universal'] : [];
    case 'win32':
      return ['x64', 'ia32', 'arm64'].includes(arch) ? [`win32-${arch}-msvc`] : [];
    case 'freebsd':
      return ['x64', 'arm64'].includes(arch) ? [`freebsd-${arch}`] : [];
    case 'android':
      return arch === 'arm64' ? ['android-arm64'] : arch === 'arm' ? ['android-arm-eabi'] : [];
    default:
      return [];
  }
}

/** Where the addon was found: its file and which of the three places it came from. */
export interface NativeAddonLocation {
  path: string;
  source: 'DOWNHILL_NATIVE_ADDON' | 'package' | 'platform package';
}

/**
 * Finds the addon for this platform without loading it (see the module comment for the order).
 * Throws an `Error` starting with `native addon not built` that says where it looked.
 */
export function nativeAddonLocation(): NativeAddonLocation {
  // DOWNHILL_NATIVE_ADDON points at another build (or at nothing, to test the fallback).
  const env = process.env.DOWNHILL_NATIVE_ADDON;
  if (env) {
    if (!existsSync(env)) throw new Error(`native addon not built: ${env} does not exist`);
    return { path: env, source: 'DOWNHILL_NATIVE_ADDON' };
  }
  const triples = platformTriples();
  const where = `${process.platform}-${process.arch}`;
  if (triples.length === 0) {
    throw new Error(`native addon not built: napi-rs has no target for ${where}`);
  }
  for (const t of triples) {
    const path = fileURLToPath(new URL(`bindings/native/downhill.${t}.node`, PACKAGE_ROOT));
    if (existsSync(path)) return { path, source: 'package' };
  }
  const require = createRequire(import.meta.url);
  const skipped: string[] = [];
  for (const t of triples) {
    const name = `downhill-${t}`;
    let manifest: string;
    try {
      manifest = require.resolve(`${name}/package.json`);
    } catch {
      continue; // not installed: the usual case on a platform whose addon is in the package
    }
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string };
    // The addon and this package speak one wire (op codes, table layout) only at one version.
    if (pkg.version !== VERSION) {
      skipped.push(`${name} is version ${pkg.version}, this package ${VERSION}`);
      continue;
    }
    return { path: require.resolve(name), source: 'platform package' };
  }
  const local = fileURLToPath(new URL(`bindings/native/downhill.${triples[0]}.node`, PACKAGE_ROOT));
  throw new Error(
    `native addon not built: no ${local} and no package ${triples.map((t) => `downhill-${t}`).join(' or ')}` +
      `${skipped.length > 0 ? ` at version ${VERSION} (${skipped.join('; ')})` : ' installed'}` +
      ' (run `npm run build:native`)',
  );
}

function loadAddon(): Addon {
  if (addon) return addon;
  const { path } = nativeAddonLocation();
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
  const missing = (['info', 'specs', 'call', 'align', 'testPanic'] as const).filter(
    (k) => typeof mod[k] !== 'function',
  );
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
        v[0] ?? null,
        v[1] ?? null,
        v[2] ?? null,
        v[3] ?? null,
        v[4] ?? null,
        v[5] ?? null,
      );
    } catch (err) {
      throw fromCoreError('native', err);
    }
  };
  // Each buffer is a view that starts on a cache line of an ArrayBuffer 64 bytes longer than it
  // needs, so the core's vector loops over params, grads and state are aligned together (an
  // ArrayBuffer's own data is 16-byte aligned); the addon says where the line starts.
  const aligned = (dtype: DType, length: number): FloatArray => {
    const size = DTYPE_BYTES[dtype];
    const ab = new ArrayBuffer(length * size + ALIGN_PAD);
    const at = a.align(ab);
    return dtype === 'float32' ? new Float32Array(ab, at, length) : new Float64Array(ab, at, length);
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
      new ArrayHeap(
        backend,
        (op, dtype, args, views) => {
          // The addon reads whole ArrayBuffers; args must be one too (callers allocate it so).
          if (args.byteOffset !== 0 || args.byteLength !== args.buffer.byteLength) {
            const whole = new Float64Array(args);
            call(op, dtype, whole, views);
            args.set(whole);
          } else call(op, dtype, args, views);
        },
        aligned,
      ),
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
