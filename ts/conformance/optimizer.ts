/**
 * The runner of optimizer cases, PyTorch's (`shared/conformance`) and Optax's
 * (`shared/conformance-next`): the case's optimizer and hyperparameters are mapped onto a downhill
 * optimizer through its spec alone (PyTorch keys, Optax argument names, Optax masks as param
 * groups), the recorded gradients are fed in, and every step's parameters and the final state are
 * compared at the shared READMEs' tolerances, computing in the case's dtype.
 */
import type { Backend, FloatArray } from '../backend/types.js';
import { clipGradNorm, clipGradValue } from '../clip.js';
import { createOptimizer, type AnyOptimizer } from '../optim/optimizer.js';
import { ParamStore } from '../params.js';
import { SPECS } from '../generated/specs.js';
import { checkTorchFixed, defaultValue, type DType, type HParamData, type SpecData } from '../spec.js';
import { meterFor, registerRunner, type Case, type Meter, type Runner } from './index.js';

export interface OptimizerCase extends Case {
  optimizer: string;
  reference?: string;
  hyperparameters: Record<string, unknown>;
  dtype: DType;
  shapes: number[][];
  initial_params: number[][];
  steps: Array<{
    grads: number[][];
    lr: number;
    params: number[][];
    total_norm?: number;
    clipped_grads?: number[][];
    [extra: string]: unknown;
  }>;
  final_state: Record<string, unknown>[];
  final_state_shared?: Record<string, unknown>;
  clip?: { kind: 'norm'; max_norm: number; norm_type: number | string } | { kind: 'value'; clip_value: number } | null;
  tolerance?: { params?: { rtol: number; atol: number }; final_state?: { rtol: number; atol: number } };
}

/** Hooks an optimizer may offer for what the generic mapping cannot see (wrappers, averaged points). */
export interface ConformanceHooks {
  /** Per-step tensors the reference records besides `params` (`eval_params`, `slow_params`), per param tensor. */
  conformanceStep?(): Record<string, ArrayLike<number>[]>;
  /** The final state in the reference's keys, replacing the generic mapping. */
  conformanceState?(reference: 'torch' | 'optax'): {
    perTensor: Record<string, number | ArrayLike<number>>[];
    shared: Record<string, number | ArrayLike<number>>;
  };
}

/** Implementation details of the reference libraries, not part of the algorithm. */
const IGNORED = new Set([
  'foreach',
  'capturable',
  'differentiable',
  'fused',
  'state_dtype',
  'mu_dtype',
  'accumulator_dtype',
]);

export function referenceOf(c: { reference?: string; optimizer?: string }): 'torch' | 'optax' {
  return (c.reference ?? '').startsWith('optax') || (c.optimizer ?? '').startsWith('optax.') ? 'optax' : 'torch';
}

/** The spec reproducing a reference optimizer name (`Adam`, `optax.lamb`). */
export function specFor(name: string, ref: 'torch' | 'optax'): SpecData | undefined {
  return SPECS.find((s) => (ref === 'torch' ? s.torch === `torch.optim.${name}` : s.optax === name));
}

function refName(h: HParamData, ref: 'torch' | 'optax'): string | null {
  return ref === 'torch' ? h.torch : h.optax;
}

/** A reference value as the public option value (null for a non-nullable option means its default). */
function optionValue(h: HParamData, v: unknown, key: string): unknown {
  if (v === null) return h.domain?.nullable ? null : defaultValue(h);
  if (h.kind === 'bool' && typeof v === 'number') return v !== 0;
  if ((h.kind === 'real' || h.kind === 'int') && typeof v !== 'number') {
    throw new Error(`hyperparameter ${key} = ${JSON.stringify(v)} is not a number`);
  }
  return v;
}

/** The option that turns a masked hyperparameter off. */
function offValue(h: HParamData): unknown {
  return h.kind === 'bool' ? false : 0;
}

export interface Mapped {
  options: Record<string, unknown>;
  /** Per-tensor overrides from Optax masks (empty objects when there are none). */
  perTensor: Record<string, unknown>[];
}

/**
 * A reference's hyperparameters as downhill options, derived from the spec: PyTorch keys and
 * tuple elements (`betas` → `beta1`, `beta2`), Optax argument names, and Optax masks as
 * per-tensor overrides. A key the spec does not know fails the case, so nothing is silently
 * ignored.
 */
export function mapHyperparameters(
  spec: SpecData,
  hp: Record<string, unknown>,
  ref: 'torch' | 'optax',
  tensors: number,
): Mapped {
  const options: Record<string, unknown> = {};
  const perTensor: Record<string, unknown>[] = Array.from({ length: tensors }, () => ({}));
  for (const [key, value] of Object.entries(hp)) {
    if (IGNORED.has(key)) continue;
    const direct = spec.hparams.filter((h) => refName(h, ref) === key);
    const parts = spec.hparams.filter((h) => refName(h, ref)?.startsWith(`${key}.`));
    const masked = ref === 'optax' ? spec.hparams.filter((h) => h.optaxMask === key) : [];
    if (direct.length > 0) {
      for (const h of direct) options[h.name] = optionValue(h, value, key);
    } else if (parts.length > 0) {
      if (!Array.isArray(value)) throw new Error(`hyperparameter ${key} must be a list`);
      for (const h of parts) {
        const i = Number((refName(h, ref) as string).slice(key.length + 1));
        options[h.name] = optionValue(h, value[i], `${key}[${i}]`);
      }
    } else if (ref === 'torch' && checkTorchFixed(spec, key, value, key)) {
      continue;
    } else if (masked.length > 0) {
      if (value === null || value === true) continue;
      const mask = value === false ? new Array<boolean>(tensors).fill(false) : value;
      if (!Array.isArray(mask) || mask.length !== tensors) {
        throw new Error(`mask ${key} must be true, false or one boolean per tensor`);
      }
      mask.forEach((on, i) => {
        if (!on) for (const h of masked) perTensor[i][h.name] = offValue(h);
      });
    } else {
      throw new Error(`${spec.name} has no option for the ${ref} hyperparameter ${JSON.stringify(key)}`);
    }
  }
  return { options, perTensor };
}

/** Builders for specs whose construction is not `new Class(store, options)` (wrappers). */
const BUILDERS = new Map<string, (store: ParamStore, c: OptimizerCase, mapped: Mapped) => AnyOptimizer>();
/** Hyperparameters a builder reads itself (a wrapper's inner optimizer), kept out of the generic mapping. */
const CONSUMED = new Map<string, readonly string[]>();

export function registerCaseBuilder(
  spec: string,
  build: (store: ParamStore, c: OptimizerCase, mapped: Mapped) => AnyOptimizer,
  consumes: readonly string[] = [],
): void {
  BUILDERS.set(spec, build);
  CONSUMED.set(spec, consumes);
}

/** The optimizer for a case: one group, or one group per distinct mask pattern. */
export function buildForCase(spec: SpecData, store: ParamStore, c: OptimizerCase, mapped: Mapped): AnyOptimizer {
  const custom = BUILDERS.get(spec.name);
  if (custom) return custom(store, c, mapped);
  const names = store.names;
  const patterns = new Map<string, { over: Record<string, unknown>; params: string[] }>();
  mapped.perTensor.forEach((over, i) => {
    const key = JSON.stringify(over);
    const g = patterns.get(key) ?? { over, params: [] };
    g.params.push(names[i]);
    patterns.set(key, g);
  });
  if (patterns.size <= 1) return createOptimizer(spec.name, store, { ...mapped.options, ...mapped.perTensor[0] });
  const groups = [...patterns.values()].map((g) => ({ params: g.params, ...g.over }));
  const Cls = createOptimizer(spec.name, store, mapped.options).constructor as new (
    s: ParamStore,
    g: unknown[],
    d: Record<string, unknown>,
  ) => AnyOptimizer;
  return new Cls(store, groups, mapped.options);
}

function numbers(v: unknown): number[] | null {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return null;
}

/** The generic final state in the reference's keys, from the state dict. */
function genericState(
  spec: SpecData,
  opt: AnyOptimizer,
  ref: 'torch' | 'optax',
  tensors: number,
): { perTensor: Record<string, number | ArrayLike<number>>[]; shared: Record<string, number | ArrayLike<number>> } {
  const sd = opt.stateDict();
  const perTensor: Record<string, number | ArrayLike<number>>[] = [];
  const shared: Record<string, number | ArrayLike<number>> = {};
  // State dicts are positional over the groups in order; a case's tensors are in store order
  // (they differ when masks split the tensors into groups).
  const position = new Map(opt.paramGroups.flatMap((g) => [...g.params]).map((n, i) => [n, i]));
  for (let i = 0; i < tensors; i++) {
    const e = sd.state[position.get(opt.params.names[i]) ?? -1] ?? {};
    const out: Record<string, number | ArrayLike<number>> = {};
    const step = (e.step as number | undefined) ?? 0;
    if (ref === 'torch') out.step = step;
    for (const s of spec.state) {
      const v = e[s.key] as number | FloatArray | undefined;
      if (v === undefined) continue;
      const key = ref === 'torch' ? s.key : s.optax;
      if (key === null) continue;
      if (ref === 'optax' && s.len === 'scalar') shared[key] ??= v as number;
      else out[key] = v;
    }
    if (ref === 'optax') for (const c of spec.optaxCounts) shared[c.path] ??= step + c.offset;
    perTensor.push(out);
  }
  if (ref === 'optax') {
    const round = opt.params.dtype === 'float32' ? Math.fround : (x: number) => x;
    const group = opt.paramGroups[0] as unknown as Record<string, unknown>;
    for (const h of spec.hparams) {
      if (h.optax === null || typeof group[h.name] !== 'number') continue;
      const dot = h.optax.indexOf('.');
      if (dot < 0) shared[h.optax] ??= round(group[h.name] as number);
      else {
        const base = h.optax.slice(0, dot);
        const arr = ((shared[base] as number[] | undefined) ?? []) as number[];
        arr[Number(h.optax.slice(dot + 1))] = round(group[h.name] as number);
        shared[base] = arr;
      }
    }
  }
  return { perTensor, shared };
}

function compareState(
  meter: Meter,
  want: Record<string, unknown>,
  got: Record<string, number | ArrayLike<number>>,
  where: string,
  rtol: number,
  atol: number,
): void {
  for (const [key, value] of Object.entries(want)) {
    const w = numbers(value);
    if (w === null) {
      meter.fail(`${where}.${key}: reference value is not numeric`);
      continue;
    }
    const g = got[key];
    if (g === undefined) {
      meter.fail(`${where}.${key}: downhill has no such state`);
      continue;
    }
    meter.compare(typeof g === 'number' ? [g] : g, w, `${where}.${key}`, rtol, atol);
  }
}

export const runOptimizerCase: Runner = (c: Case, backend: Backend) => {
  const oc = c as OptimizerCase;
  const ref = referenceOf(oc);
  const spec = specFor(oc.optimizer, ref);
  if (!spec)
    return { status: 'skip', maxAbsErr: null, maxRelErr: null, detail: `optimizer ${oc.optimizer} is not implemented` };
  const meter = meterFor(oc.dtype);
  const paramTol = oc.tolerance?.params;
  const stateTol = oc.tolerance?.final_state ?? { rtol: meter.rtol, atol: meter.atol };
  const names = oc.shapes.map((_, i) => `p${i}`);
  const store = new ParamStore(
    backend,
    names.map((n, i) => [n, { shape: oc.shapes[i], init: oc.initial_params[i] }] as const),
    { dtype: oc.dtype },
  );
  try {
    const consumed = CONSUMED.get(spec.name) ?? [];
    const hp = Object.fromEntries(Object.entries(oc.hyperparameters).filter(([k]) => !consumed.includes(k)));
    const mapped = mapHyperparameters(spec, hp, ref, names.length);
    const opt = buildForCase(spec, store, oc, mapped);
    const hooks = opt as unknown as ConformanceHooks;
    oc.steps.forEach((s, t) => {
      names.forEach((n, i) => store.setGrad(n, s.grads[i]));
      const clip = oc.clip;
      if (clip?.kind === 'norm') {
        const p = clip.norm_type === 'inf' ? Infinity : Number(clip.norm_type);
        const total = clipGradNorm(store, clip.max_norm, { normType: p });
        if (s.total_norm !== undefined) meter.compare([total], [s.total_norm], `steps[${t}].total_norm`);
      } else if (clip?.kind === 'value') clipGradValue(store, clip.clip_value);
      else if (clip) throw new Error(`clip kind ${JSON.stringify((clip as { kind: unknown }).kind)} is not supported`);
      if (s.clipped_grads) {
        names.forEach((n, i) =>
          meter.compare(store.tensor(n).grad, (s.clipped_grads as number[][])[i], `steps[${t}].clipped_grads[${i}]`),
        );
      }
      if (ref === 'torch') for (const g of opt.paramGroups) (g as unknown as { lr: number }).lr = s.lr;
      opt.step();
      names.forEach((n, i) =>
        meter.compare(store.tensor(n).data, s.params[i], `steps[${t}].params[${i}]`, paramTol?.rtol, paramTol?.atol),
      );
      const extra = hooks.conformanceStep?.() ?? {};
      for (const [key, want] of Object.entries(s)) {
        if (
          ['step', 'lr', 'loss', 'grads', 'params', 'total_norm', 'clipped_grads', 'synced', 'lr_weight'].includes(key)
        )
          continue;
        const got = extra[key];
        if (!got) {
          meter.fail(`steps[${t}].${key}: downhill records no such value`);
          continue;
        }
        (want as number[][]).forEach((w, i) => meter.compare(got[i], w, `steps[${t}].${key}[${i}]`));
      }
    });
    const state = hooks.conformanceState?.(ref) ?? genericState(spec, opt, ref, names.length);
    oc.final_state.forEach((want, i) =>
      compareState(meter, want, state.perTensor[i] ?? {}, `final_state[${i}]`, stateTol.rtol, stateTol.atol),
    );
    if (oc.final_state_shared)
      compareState(meter, oc.final_state_shared, state.shared, 'final_state_shared', stateTol.rtol, stateTol.atol);
    opt.dispose();
  } finally {
    store.dispose();
  }
  return meter.result();
};

registerRunner('optimizer', runOptimizerCase);
