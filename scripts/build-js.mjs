// Builds the package's two other JavaScript forms from tsc's ES-module output in dist/:
//
// - dist/cjs/: CommonJS for `require('downhill')`, one file per ESM file (same tree, so module
//   identity and lazy loading stay as in ESM), with the same .d.ts files beside them; its
//   package.json says {"type":"commonjs"}, so Node and TypeScript read both as CommonJS.
//   esbuild converts each file on its own (no bundling); `import()` becomes `require()`.
//   `import.meta.url` does not exist in CommonJS: each file gets the URL of its ESM twin
//   (dist/cjs/backend/native.js -> dist/backend/native.js), so the relative URLs the sources use
//   (`../../bindings/...`, `createRequire`, `../../bench/...`) resolve to the same files in both.
// - dist/browser/index.js: the browser entry, dist/index.js bundled into one ES module with
//   `backend/native.js` replaced by `backend/native.browser.js` (no Node addon loader), and the
//   Node built-ins and Node-only packages that shared modules load with `import()` behind a
//   run-time "is this Node" check replaced by an empty module. A static import of a Node module
//   fails the build, so the browser entry can never come to depend on Node. It sits two levels
//   below the package root like dist/backend/wasm.js, so wasm.ts's
//   `new URL('../../bindings/wasm/downhill_wasm_bg.wasm', import.meta.url)` still points at the
//   .wasm file, and bundlers (Vite) see that pattern and emit the file as an asset.
//
//   node scripts/build-js.mjs
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const CJS = join(DIST, 'cjs');
const BROWSER = join(DIST, 'browser');
const t0 = Date.now();

/**
 * Programs, not library modules: they run as ES modules only (`downhill` is dist/cli.js; the MLP
 * benchmark spawns dist/bench/mlp-worker.js, which the CommonJS mlp.js finds as its twin does).
 * They use top-level await, which CommonJS has not.
 */
const PROGRAMS = new Set(['cli.js', 'bench/mlp-worker.js', 'bench/mlp-worker.d.ts', 'cli.d.ts']);

/** Files of tsc's output, relative to dist/ (the cjs/ and browser/ outputs left out). */
function esmFiles(dir = DIST, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== CJS && p !== BROWSER) esmFiles(p, out);
    } else if (e.name.endsWith('.js') || e.name.endsWith('.d.ts')) out.push(relative(DIST, p));
  }
  return out;
}

// ---- CommonJS ---------------------------------------------------------------------------------
rmSync(CJS, { recursive: true, force: true });
const files = esmFiles().filter((f) => !PROGRAMS.has(f.split(sep).join('/')));
let converted = 0;
for (const rel of files) {
  const out = join(CJS, rel);
  mkdirSync(dirname(out), { recursive: true });
  if (rel.endsWith('.d.ts')) {
    copyFileSync(join(DIST, rel), out);
    continue;
  }
  const code = readFileSync(join(DIST, rel), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  const usesMeta = code.includes('import.meta');
  const twin = relative(dirname(out), join(DIST, rel)).split(sep).join('/');
  const result = await esbuild.transform(code, {
    sourcefile: `dist/${rel.split(sep).join('/')}`,
    loader: 'js',
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    // require() keeps the ESM build's laziness (the native loader, checkpoint files) in CommonJS.
    supported: { 'dynamic-import': false },
    define: usesMeta ? { 'import.meta.url': '__importMetaUrl' } : {},
    banner: usesMeta
      ? `const __importMetaUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(twin)})).href;`
      : '',
    logLevel: 'error',
  });
  if (/\bimport\.meta\b/.test(result.code)) throw new Error(`dist/cjs/${rel}: import.meta left in CommonJS`);
  writeFileSync(out, result.code);
  converted++;
}
writeFileSync(join(CJS, 'package.json'), '{ "type": "commonjs" }\n');

// ---- browser bundle ---------------------------------------------------------------------------
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Packages that only Node code paths load (with `import()`, behind a run-time check). */
const NODE_ONLY_PACKAGES = new Set(['cli-progress']);
const swapped = [];
const stubbed = new Set();
const browserPlugin = {
  name: 'downhill-browser',
  setup(build) {
    build.onResolve({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith('.')) return undefined;
      const target = join(args.resolveDir, args.path);
      const twin = target.replace(/\.js$/, '.browser.js');
      try {
        readFileSync(twin);
      } catch {
        return undefined;
      }
      swapped.push(`${relative(DIST, target)} -> ${relative(DIST, twin)}`);
      return { path: twin };
    });
    build.onResolve({ filter: /.*/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path) && !NODE_ONLY_PACKAGES.has(args.path)) return undefined;
      if (args.kind !== 'dynamic-import') {
        return {
          errors: [
            {
              text: `${relative(ROOT, args.importer)} imports ${args.path} statically: the browser entry must not depend on Node (load it with import() behind a Node check, or give the file a .browser.ts twin)`,
            },
          ],
        };
      }
      stubbed.add(args.path);
      return { path: args.path, namespace: 'node-only' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      contents: `// ${args.path}: Node only; never loaded in a browser (the code that imports it checks for Node first).\nexport {};\n`,
      loader: 'js',
    }));
  },
};
rmSync(BROWSER, { recursive: true, force: true });
const bundle = await esbuild.build({
  entryPoints: [join(DIST, 'index.js')],
  outfile: join(BROWSER, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  metafile: true,
  legalComments: 'none',
  banner: { js: '// Generated by scripts/build-js.mjs from dist/index.js: the browser entry of downhill.' },
  plugins: [browserPlugin],
  logLevel: 'error',
});
// The threaded WASM backend's pool workers load `./wasm-threads-worker.js` beside the module
// that starts them: beside the bundle too.
await esbuild.build({
  entryPoints: [join(DIST, 'backend', 'wasm-threads-worker.js')],
  outfile: join(BROWSER, 'wasm-threads-worker.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  banner: { js: '// Generated by scripts/build-js.mjs: the threaded WASM pool worker of the browser entry.' },
  plugins: [browserPlugin],
  logLevel: 'error',
});
const inputs = Object.keys(bundle.metafile.inputs);
const native = inputs.filter((p) => /backend[\\/]native\.js$/.test(p));
if (native.length > 0) throw new Error(`the browser bundle contains the native loader: ${native.join(', ')}`);
if (swapped.length === 0)
  throw new Error('the browser bundle swapped no file: backend/native.js is no longer imported as expected');
writeFileSync(
  join(BROWSER, 'index.d.ts'),
  "// Generated by scripts/build-js.mjs: the browser entry exports what dist/index.js exports.\nexport * from '../index.js';\n",
);

const bytes = readFileSync(join(BROWSER, 'index.js')).length;
console.log(
  `==> dist/cjs: ${converted} CommonJS modules; dist/browser/index.js: ${inputs.length} modules, ${(bytes / 1024).toFixed(0)} KiB ` +
    `(swapped ${swapped.join(', ')}; empty for the browser: ${[...stubbed].sort().join(', ')}) in ${Date.now() - t0} ms`,
);
