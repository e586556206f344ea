/**
 * The imports a downhill WebAssembly module asks for, supplied without wasm-bindgen's glue: both
 * builds (bindings/wasm, bindings/wasm-threads) export numbers-only functions, so none of the
 * imported functions is called except through a panic path, which traps anyway. The threaded
 * build also imports its shared memory. Its own module, so the threaded build's pool workers
 * (wasm-threads-worker.ts) can build the same imports without loading the rest of the backend.
 */
import { BackendError } from '../errors.js';

const decoder = new TextDecoder();

/**
 * UTF-8 text at `ptr` in `memory`. Copied first: browsers refuse to decode a view of a
 * `SharedArrayBuffer` (the threaded build's memory).
 */
export function readText(memory: WebAssembly.Memory, ptr: number, len: number): string {
  return decoder.decode(new Uint8Array(memory.buffer, ptr, len).slice());
}

/**
 * Imports for `module`. `holder.exports` is filled in after instantiation (the panic helpers
 * read the message from the instance's memory); `memory` is the threaded build's shared memory.
 */
export function importsFor(
  module: WebAssembly.Module,
  holder: { exports: { memory: WebAssembly.Memory } | null },
  memory?: WebAssembly.Memory,
): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  const mem = () => memory ?? holder.exports?.memory;
  const text = (ptr: number, len: number) => {
    const m = mem();
    return m ? readText(m, ptr, len) : '';
  };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'memory' && memory) {
      (imports[imp.module] ??= {})[imp.name] = memory;
      continue;
    }
    if (imp.kind !== 'function')
      throw new BackendError('wasm', `unexpected ${imp.kind} import ${imp.module}.${imp.name}`);
    let f: (...a: number[]) => unknown;
    if (imp.name.includes('init_externref_table')) {
      // Our exports pass no JS values, so the externref table is never used.
      f = () => undefined;
    } else if (imp.name.includes('wbindgen_throw')) {
      f = (ptr, len) => {
        throw new Error(text(ptr, len));
      };
    } else if (imp.name.includes('Error')) {
      f = (ptr, len) => new Error(text(ptr, len));
    } else {
      f = () => {
        throw new BackendError('wasm', `unexpected call of import ${imp.module}.${imp.name}`);
      };
    }
    (imports[imp.module] ??= {})[imp.name] = f;
  }
  return imports;
}
