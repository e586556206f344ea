/** Shared test helpers: where the shared reference material is, and which backends to run. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBackend } from '../ts/backend/select.js';
import type { Backend, BackendName } from '../ts/backend/types.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `../shared` beside the project root (read-only reference material). */
export const SHARED = join(ROOT, '..', 'shared');
export const CI = process.env.CI === 'true';

/**
 * Loads every backend that is built. In CI all three must load (a missing one fails the run);
 * locally an unbuilt backend is skipped by name.
 */
export async function backends(): Promise<{ ready: Backend[]; missing: { name: BackendName; reason: string }[] }> {
  const ready: Backend[] = [];
  const missing: { name: BackendName; reason: string }[] = [];
  for (const name of ['native', 'wasm', 'js'] as const) {
    try {
      ready.push(await loadBackend(name));
    } catch (err) {
      if (CI) throw err;
      missing.push({ name, reason: (err as Error).message });
    }
  }
  for (const m of missing) console.warn(`[skip] backend ${m.name}: ${m.reason}`);
  return { ready, missing };
}

export const hasShared = existsSync(join(SHARED, 'conformance'));
