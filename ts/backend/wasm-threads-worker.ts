/**
 * One thread of the threaded WASM build's pool (started by wasm-threads.ts). It is sent the
 * compiled module and the shared memory, instantiates the module on that memory (wasm-bindgen's
 * start function gives this instance its own stack and thread-locals), says it is ready, then
 * waits for one of the rayon pool's threads and runs it (`pool_worker`) for as long as the page
 * lives. It speaks again only if that fails (its pool thread trapped: a bug in downhill).
 */
import { importsFor } from './wasm-imports.js';

interface PoolThreadExports {
  memory: WebAssembly.Memory;
  __wbindgen_start(): void;
  pool_worker(): void;
}

interface Scope {
  onmessage: ((ev: MessageEvent<{ module: WebAssembly.Module; memory: WebAssembly.Memory }>) => void) | null;
  postMessage(message: { ready?: boolean; error?: string }): void;
}

const scope = globalThis as unknown as Scope;

scope.onmessage = (ev) => {
  scope.onmessage = null;
  const { module, memory } = ev.data;
  let exports: PoolThreadExports;
  try {
    const holder: { exports: PoolThreadExports | null } = { exports: null };
    exports = new WebAssembly.Instance(module, importsFor(module, holder, memory))
      .exports as unknown as PoolThreadExports;
    holder.exports = exports;
    exports.__wbindgen_start();
  } catch (e) {
    scope.postMessage({ error: `cannot instantiate the module: ${String(e)}` });
    return;
  }
  scope.postMessage({ ready: true });
  try {
    exports.pool_worker();
    scope.postMessage({ error: 'its pool thread ended' });
  } catch (e) {
    scope.postMessage({ error: `trapped: ${String(e)}` });
  }
};
