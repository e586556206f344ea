/**
 * Runs PyTorch reference cases (the format of shared/conformance/README.md) against a backend.
 *
 * Tolerances (from that README): float32 cases run in f32 pass at relative error ≤ 1e-5
 * (absolute ≤ 1e-6 near zero). float64 cases are also run in f32 (every backend computes in
 * f32), at relative ≤ 1e-4 (absolute ≤ 1e-6 near zero) — checked at every step, not only the
 * last, and on the final optimizer state too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, BackendName } from './backend/types.js';
import { Adam } from './optim/adam.js';
import { AdamW } from './optim/adamw.js';
import type { BaseOptions, Optimizer } from './optim/optimizer.js';
import { SGD } from './optim/sgd.js';
import { ParamStore } from './params.js';
import { clipGradNorm, clipGradValue } from './clip.js';

export interface OptimizerCase {
  id: string;
  kind: 'optimizer';
  optimizer: string;
  hyperparameters: Record<string, unknown>;
  dtype: 'float32' | 'float64';
  shapes: number[][];
  initial_params: number[][];
  steps: { grads: number[][]; lr: number; params: number[][]; total_norm?: number; clipped_grads?: number[][] }[];
  final_state: Record<string, number | number[]>[];
  clip?: { kind: 'norm'; max_norm: number; norm_type: number } | { kind: 'value'; clip_value: number };
}

export type Case = OptimizerCase | { id: string; kind: string };

export interface CaseResult {
  case: string;
  backend: BackendName;
  status: 'pass' | 'fail' | 'skip';
  maxAbsErr: number | null;
  maxRelErr: number | null;
  /** Why it was skipped or where it failed. */
  detail?: string;
}

/** Parses a case file; Python writes `Infinity`/`NaN` as bare tokens, which JSON lacks. */
export function parseCase(text: string): Case {
  const fixed = text
    .replace(/-Infinity\b/g, '-1e999')
    .replace(/\bInfinity\b/g, '1e999')
    .replace(/\bNaN\b/g, 'null');
  return JSON.parse(fixed) as Case;
}

/** Every case file in `dir` (all `*.json` but index.json), sorted by name. */
export function loadCases(dir: string): Case[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => parseCase(readFileSync(join(dir, f), 'utf8')));
}

const SUPPORTED: Record<string, (s: ParamStore, o: Record<string, unknown>) => Optimizer<BaseOptions>> = {
  SGD: (s, o) => new SGD(s, o) as unknown as Optimizer<BaseOptions>,
  Adam: (s, o) => new Adam(s, o) as unknown as Optimizer<BaseOptions>,
  AdamW: (s, o) => new AdamW(s, o) as unknown as Optimizer<BaseOptions>,
};

/** PyTorch constructor keywords → downhill options. */
export function torchOptions(h: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === 'betas') [o.beta1, o.beta2] = v as number[];
    else if (k === 'weight_decay') o.weightDecay = v;
    else o[k] = v;
  }
  return o;
}

/** Why downhill cannot run this case yet, or null. */
export function unsupported(c: Case): string | null {
  if (c.kind !== 'optimizer') return `${c.kind} cases are not implemented yet`;
  const oc = c as OptimizerCase;
  if (!(oc.optimizer in SUPPORTED)) return `optimizer ${oc.optimizer} is not implemented yet`;
  if (oc.clip) {
    const k = (oc.clip as { kind?: string }).kind;
    if (k !== 'norm' && k !== 'value') return `clip kind ${String(k)} is not implemented`;
  }
  return null;
}

class ErrorMeter {
  maxAbs = 0;
  maxRel = 0;
  ok = true;
  firstBad: string | undefined;
  constructor(
    readonly rtol: number,
    readonly atol: number,
  ) {}
  compare(got: ArrayLike<number>, want: ArrayLike<number>, where: string): void {
    if (got.length !== want.length) {
      this.ok = false;
      this.firstBad ??= `${where}: length ${got.length} vs ${want.length}`;
      return;
    }
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      const g = got[i];
      const abs = Math.abs(g - w);
      const rel = Math.abs(w) > this.atol ? abs / Math.abs(w) : 0;
      if (!Number.isNaN(abs)) {
        this.maxAbs = Math.max(this.maxAbs, abs);
        this.maxRel = Math.max(this.maxRel, rel);
      }
      const good = abs <= this.atol || rel <= this.rtol;
      if (!good) {
        this.ok = false;
        this.firstBad ??= `${where}[${i}]: got ${g}, want ${w}`;
      }
    }
  }
}

/** Runs one case on one backend. */
export function runCase(c: Case, backend: Backend): CaseResult {
  const base = { case: c.id, backend: backend.name };
  const why = unsupported(c);
  if (why) return { ...base, status: 'skip', maxAbsErr: null, maxRelErr: null, detail: why };
  const oc = c as OptimizerCase;
  const meter = oc.dtype === 'float32' ? new ErrorMeter(1e-5, 1e-6) : new ErrorMeter(1e-4, 1e-6);
  const names = oc.shapes.map((_, i) => `p${i}`);
  const store = new ParamStore(
    backend,
    names.map((n, i) => [n, { shape: oc.shapes[i], init: oc.initial_params[i] }] as const),
  );
  const opt = SUPPORTED[oc.optimizer](store, torchOptions(oc.hyperparameters));
  try {
    oc.steps.forEach((s, t) => {
      names.forEach((n, i) => store.setGrad(n, s.grads[i]));
      if (oc.clip?.kind === 'norm') {
        const total = clipGradNorm(store, oc.clip.max_norm, { normType: oc.clip.norm_type });
        if (s.total_norm !== undefined) meter.compare([total], [s.total_norm], `steps[${t}].total_norm`);
      } else if (oc.clip?.kind === 'value') clipGradValue(store, oc.clip.clip_value);
      if (s.clipped_grads)
        names.forEach((n, i) =>
          meter.compare(store.tensor(n).grad, s.clipped_grads![i], `steps[${t}].clipped_grads[${i}]`),
        );
      opt.paramGroups[0].lr = s.lr;
      opt.step();
      names.forEach((n, i) => meter.compare(store.tensor(n).data, s.params[i], `steps[${t}].params[${i}]`));
    });
    const sd = opt.stateDict();
    oc.final_state.forEach((want, i) => {
      for (const [key, value] of Object.entries(want)) {
        const got = sd.state[i]?.[key];
        if (typeof value === 'number') {
          if (got !== value) {
            meter.ok = false;
            meter.firstBad ??= `final_state[${i}].${key}: got ${String(got)}, want ${value}`;
          }
        } else meter.compare((got as Float32Array | undefined) ?? [], value, `final_state[${i}].${key}`);
      }
    });
  } finally {
    opt.dispose();
    store.dispose();
  }
  return {
    ...base,
    status: meter.ok ? 'pass' : 'fail',
    maxAbsErr: meter.maxAbs,
    maxRelErr: meter.maxRel,
    ...(meter.ok ? {} : { detail: meter.firstBad }),
  };
}
