/**
 * Backend selection: native if the addon loads, else WASM, else pure TS. The choice can be forced
 * with the `backend` option or `DOWNHILL_BACKEND=native|wasm|js`; a forced backend that cannot
 * load is an error (the caller asked for it), an automatic choice degrades and records why.
 */
import { BackendError, typeError } from '../errors.js';
import { loadJs } from './js.js';
import type { Backend, BackendName } from './types.js';

/** A backend by name, or `'auto'`: the first that loads in the order native, wasm, js. */
export type BackendChoice = BackendName | 'auto';

/** The backends in the order `'auto'` tries them. */
export const BACKEND_NAMES: readonly BackendName[] = ['native', 'wasm', 'js'];

/** Whether one backend loaded here, and why not. */
export interface BackendStatus {
  /** Whether it loaded. */
  available: boolean;
  /** Why it is unavailable, or `null`. */
  reason: string | null;
  /** wasm: which build runs, threaded or single-threaded, and why (`info().threading`). */
  note?: string;
}

/** Which backend `selectBackend()` chose and the state of every backend. */
export interface BackendReport {
  /** The backend in use. */
  active: BackendName;
  /** Why the active backend was chosen (auto order, option, or environment variable). */
  why: string;
  /** Every backend's availability. */
  backends: Record<BackendName, BackendStatus>;
}

const loaded = new Map<BackendName, Promise<Backend>>();

/**
 * Loads one backend by name (cached; a failed load is retried on the next call). A name that is
 * not `native`, `wasm` or `js` is a rejected `TypeError` naming `name`.
 */
export function loadBackend(name: BackendName): Promise<Backend> {
  if (!(BACKEND_NAMES as readonly unknown[]).includes(name)) {
    return Promise.reject(typeError('name', `must be one of ${BACKEND_NAMES.join(', ')}; got ${JSON.stringify(name)}`));
  }
  let p = loaded.get(name);
  if (!p) {
    p = (async () => {
      switch (name) {
        case 'native':
          return (await import('./native.js')).loadNative();
        case 'wasm':
          // The threaded build where the context allows it (ARCHITECTURE.md, "Threaded WASM").
          return (await import('./wasm-threads.js')).upgradeWasm(await (await import('./wasm.js')).loadWasm());
        case 'js':
          return loadJs();
      }
    })();
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

function parseChoice(value: unknown, arg: string): BackendChoice {
  if (value === 'auto' || (BACKEND_NAMES as readonly unknown[]).includes(value)) return value as BackendChoice;
  throw typeError(arg, `must be one of auto, native, wasm, js; got ${JSON.stringify(value)}`);
}

/** The choice in force: the option if given, else `DOWNHILL_BACKEND`, else auto. */
export function requestedBackend(option?: BackendChoice): {
  /** The backend asked for. */
  choice: BackendChoice;
  /** Who asked: `the backend option`, `DOWNHILL_BACKEND` or `auto`. */
  source: string;
} {
  if (option !== undefined) return { choice: parseChoice(option, 'backend'), source: 'the backend option' };
  const env = typeof process !== 'undefined' ? process.env.DOWNHILL_BACKEND : undefined;
  if (env) return { choice: parseChoice(env, 'DOWNHILL_BACKEND'), source: 'DOWNHILL_BACKEND' };
  return { choice: 'auto', source: 'auto' };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves the backend to use, with a report of every backend's availability. */
export async function selectBackend(option?: BackendChoice): Promise<{
  /** The backend chosen. */
  backend: Backend;
  /** Why, and the state of every backend. */
  report: BackendReport;
}> {
  const { choice, source } = requestedBackend(option);
  const backends = {} as Record<BackendName, BackendStatus>;
  const found = new Map<BackendName, Backend>();
  for (const name of BACKEND_NAMES) {
    try {
      const b = await loadBackend(name);
      found.set(name, b);
      const note = b.info().threading;
      backends[name] = note === undefined ? { available: true, reason: null } : { available: true, reason: null, note };
    } catch (err) {
      backends[name] = { available: false, reason: message(err) };
    }
  }
  if (choice !== 'auto') {
    const b = found.get(choice);
    if (!b) throw new BackendError(choice, `requested by ${source} but unavailable: ${backends[choice].reason}`);
    return { backend: b, report: { active: choice, why: `requested by ${source}`, backends } };
  }
  const name = BACKEND_NAMES.find((n) => found.has(n)) as BackendName;
  const skipped = BACKEND_NAMES.slice(0, BACKEND_NAMES.indexOf(name)).map((n) => `${n} skipped: ${backends[n].reason}`);
  const why = ['first available in the order native, wasm, js', ...skipped].join('; ');
  return { backend: found.get(name) as Backend, report: { active: name, why, backends } };
}

/** The backend for `option` (or the environment / auto choice). */
export async function getBackend(option?: BackendChoice): Promise<Backend> {
  return (await selectBackend(option)).backend;
}
