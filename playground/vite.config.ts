/**
 * The playground's Vite set-up. `npm run playground` serves it; `npm run playground:build` writes
 * static files to playground/dist (git-ignored), which any static file server can host under
 * any path (`base: './'`).
 *
 * The page imports the library as a user would (`from 'downhill'`), aliased here to its source.
 * Until the package has a browser entry of its own, the modules that only work in Node (the
 * native-addon loader and checkpoint files, and the terminal progress bar's dependency) are
 * replaced by modules that throw when imported: the library imports each of them lazily and
 * treats the failure as "not available here" (native is then reported as unavailable, and the
 * page runs on WebAssembly).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { mnistAsset } from './mnist-asset.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

const NODE_ONLY = [`${repo}ts/backend/native.ts`, `${repo}ts/train/checkpoint.ts`];

function nodeOnly(): Plugin {
  return {
    name: 'downhill-node-only',
    enforce: 'pre',
    // Node's built-in modules (imported lazily by the library, behind checks that it runs in Node).
    resolveId(source) {
      return source.startsWith('node:') ? `\0downhill-node-only:${source}` : null;
    },
    load(id) {
      if (id.startsWith('\0downhill-node-only:')) {
        const what = id.slice('\0downhill-node-only:'.length);
        return `throw new Error(${JSON.stringify(`${what} is part of Node.js, not of a browser`)});`;
      }
      const file = id.split('?')[0];
      if (!NODE_ONLY.includes(file) && !file.includes('/node_modules/cli-progress/')) return null;
      const what = file.slice(repo.length);
      return `throw new Error(${JSON.stringify(`${what} needs Node.js; in a browser downhill runs on WebAssembly or TypeScript`)});`;
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [nodeOnly(), mnistAsset()],
  resolve: { alias: { downhill: `${repo}ts/index.ts` } },
  server: { fs: { allow: [repo] } },
  build: {
    outDir: `${here}dist`,
    emptyOutDir: true,
    target: 'es2022',
    // The wasm module is ~700 kB; it is one file the page needs whole.
    chunkSizeWarningLimit: 1000,
  },
});
