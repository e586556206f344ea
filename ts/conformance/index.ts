/**
 * Runs reference cases (the formats of shared/conformance/README.md and
 * shared/conformance-next/README.md) against a backend: every case kind downhill supports has a
 * runner; a case file that cannot be read or parsed is reported as a failed case naming the file,
 * and the others still run.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend, BackendName } from '../backend/types.js';

/** A parsed case file (the fields every format shares). */
export interface Case {
  id: string;
  kind: string;
  [key: string]: unknown;
}

export interface CaseResult {
  case: string;
  /** The case file, relative to its folder's parent. */
  file: string;
  backend: BackendName;
  status: 'pass' | 'fail' | 'skip';
  maxAbsErr: number | null;
  maxRelErr: number | null;
  /** Why it was skipped or where it failed. */
  detail?: string;
}

/** A runner for one case kind: compares one case on one backend. */
export type Runner = (c: Case, backend: Backend) => Omit<CaseResult, 'case' | 'file' | 'backend'>;

const RUNNERS = new Map<string, Runner>();

/** Registers the runner of a case kind (each kind's module does it when imported). */
export function registerRunner(kind: string, run: Runner): void {
  RUNNERS.set(kind, run);
}

/** A case file as loaded: the parsed case, or why it could not be. */
export interface Loaded {
  file: string;
  case: Case | null;
  error?: string;
}

/**
 * The case files of `dir`: those `index.json` lists (when there is one) and every other `*.json`
 * but `index.json`, each parsed on its own so one bad file does not stop the rest.
 */
export function loadCases(dir: string): Loaded[] {
  const files = new Set<string>();
  const index = join(dir, 'index.json');
  const out: Loaded[] = [];
  const rel = (f: string) => join(basename(dir), f);
  if (existsSync(index)) {
    try {
      const parsed = JSON.parse(readFileSync(index, 'utf8')) as { cases?: unknown };
      if (!Array.isArray(parsed.cases)) throw new Error('has no "cases" array');
      parsed.cases.forEach((c: unknown, i: number) => {
        const f = (c as { file?: unknown } | null)?.file;
        if (typeof f !== 'string')
          out.push({ file: rel('index.json'), case: null, error: `index.json: cases[${i}] has no file` });
        else files.add(f);
      });
    } catch (e) {
      out.push({ file: rel('index.json'), case: null, error: `index.json: ${(e as Error).message}` });
    }
  }
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && f !== 'index.json') files.add(f);
  for (const f of [...files].sort()) {
    const path = join(dir, f);
    try {
      if (!existsSync(path) || !statSync(path).isFile()) throw new Error('listed in index.json but missing');
      const c = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (!c || typeof c !== 'object' || Array.isArray(c)) throw new Error('is not a JSON object');
      const { id, kind } = c as { id?: unknown; kind?: unknown };
      if (typeof id !== 'string') throw new Error('has no string "id"');
      if (typeof kind !== 'string') throw new Error('has no string "kind"');
      out.push({ file: rel(f), case: c as Case });
    } catch (e) {
      out.push({ file: rel(f), case: null, error: (e as Error).message });
    }
  }
  return out;
}

/** Runs one loaded case on one backend; never throws (a throwing case is a failed case). */
export function runCase(l: Loaded, backend: Backend): CaseResult {
  const id = l.case?.id ?? basename(l.file, '.json');
  const base = { case: id, file: l.file, backend: backend.name };
  if (l.case === null) {
    return { ...base, status: 'fail', maxAbsErr: null, maxRelErr: null, detail: `${l.file}: ${l.error}` };
  }
  const run = RUNNERS.get(l.case.kind);
  if (!run) {
    return {
      ...base,
      status: 'skip',
      maxAbsErr: null,
      maxRelErr: null,
      detail: `case kind ${JSON.stringify(l.case.kind)} is not supported`,
    };
  }
  try {
    return { ...base, ...run(l.case, backend) };
  } catch (e) {
    return { ...base, status: 'fail', maxAbsErr: null, maxRelErr: null, detail: `${l.file}: ${(e as Error).message}` };
  }
}

/**
 * Element-wise comparison `|got − want| <= atol + rtol·|want|` (the shared READMEs' rule), with
 * the largest errors seen and the first failure.
 */
export class Meter {
  maxAbs = 0;
  maxRel = 0;
  ok = true;
  firstBad: string | undefined;
  constructor(
    readonly rtol: number,
    readonly atol: number,
  ) {}

  fail(where: string): void {
    this.ok = false;
    this.firstBad ??= where;
  }

  compare(
    got: ArrayLike<number> | undefined,
    want: ArrayLike<number>,
    where: string,
    rtol = this.rtol,
    atol = this.atol,
  ): void {
    if (got === undefined) return this.fail(`${where}: missing`);
    if (got.length !== want.length) return this.fail(`${where}: length ${got.length} vs ${want.length}`);
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      const g = got[i];
      const abs = Math.abs(g - w);
      if (Number.isNaN(abs) && !(Number.isNaN(g) && Number.isNaN(w))) {
        this.fail(`${where}[${i}]: got ${g}, want ${w}`);
        continue;
      }
      if (!Number.isNaN(abs)) {
        this.maxAbs = Math.max(this.maxAbs, abs);
        if (w !== 0) this.maxRel = Math.max(this.maxRel, abs / Math.abs(w));
      }
      if (abs > atol + rtol * Math.abs(w)) this.fail(`${where}[${i}]: got ${g}, want ${w}`);
    }
  }

  result(): Omit<CaseResult, 'case' | 'file' | 'backend'> {
    return {
      status: this.ok ? 'pass' : 'fail',
      maxAbsErr: this.maxAbs,
      maxRelErr: this.maxRel,
      ...(this.ok ? {} : { detail: this.firstBad }),
    };
  }
}

/** The shared READMEs' tolerances by dtype. */
export function meterFor(dtype: unknown): Meter {
  return dtype === 'float32' ? new Meter(1e-5, 1e-6) : new Meter(1e-10, 1e-12);
}
