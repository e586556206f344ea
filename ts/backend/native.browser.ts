/**
 * The native backend in downhill's browser build: scripts/build-js.mjs bundles this file in place
 * of native.ts into dist/browser/index.js, so the browser entry carries no Node addon loader.
 * Backend selection then reports native as unavailable and goes on to WASM.
 */
import type { Backend } from './types.js';

/** Always rejects: a Node addon cannot load in a browser. */
export async function loadNative(): Promise<Backend> {
  throw new Error('the native addon needs Node.js; this is the browser build of downhill');
}
