/**
 * Finds a Python that can import the given modules, for tests that check against maintained
 * Python implementations (safetensors, torch). Candidates in order: DOWNHILL_TORCH_PYTHON,
 * python3, /work/venv/bin/python. None found: the test is skipped by name.
 */
import { spawnSync } from 'node:child_process';

const cache = new Map<string, string | null>();

export function findPython(modules: readonly string[]): string | null {
  const key = modules.join(',');
  if (cache.has(key)) return cache.get(key) ?? null;
  const candidates = [process.env.DOWNHILL_TORCH_PYTHON, 'python3', '/work/venv/bin/python'].filter(
    (c): c is string => typeof c === 'string' && c !== '',
  );
  let found: string | null = null;
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === 0) {
      found = py;
      break;
    }
  }
  cache.set(key, found);
  return found;
}

export function runPython(
  py: string,
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(py, args, { encoding: 'utf8', input, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
