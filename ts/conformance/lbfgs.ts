/**
 * The runner of L-BFGS cases (`"kind": "lbfgs"`, shared/conformance-next/README.md): the case
 * names a deterministic objective that downhill evaluates itself (value and gradient, in the
 * case's dtype: float32 cases round after every operation, with the objective's parameters
 * rounded to float32), `step(closure)` runs `num_steps` times, and what the case's `tolerance`
 * says is reproducible is compared: evaluation and iteration counts (equal), params and the
 * returned loss within `atol[k] + rtol·|e|` over their prefixes of steps, and the final state
 * unit by unit.
 */
import type { Backend, FloatArray } from '../backend/types.js';
import { SPECS } from '../generated/specs.js';
import '../optim/lbfgs.js';
import { createOptimizer } from '../optim/optimizer.js';
import { ParamStore } from '../params.js';
import type { DType } from '../spec.js';
import { Meter, registerRunner, type Case, type Runner } from './index.js';
import { mapHyperparameters } from './optimizer.js';

interface Prefix {
  rtol: number;
  atol: number[];
}

export interface LbfgsCase extends Case {
  dtype: DType;
  hyperparameters: Record<string, unknown>;
  shapes: number[][];
  initial_params: number[][];
  objective_id: string;
  objective_params: Record<string, unknown>;
  steps: { step: number; loss: number; func_evals: number; n_iter: number; params: number[][] }[];
  final_state: Record<string, unknown>;
  tolerance: {
    counts_steps: number;
    params_steps: number;
    loss_steps: number;
    params: Prefix;
    loss: Prefix;
    final_state: null | { atol: number; rtol: Record<string, number> };
  };
}

/** Loss and gradients of the objective at the given tensors (in the parameter dtype). */
type Objective = (x: FloatArray[]) => { loss: number; grads: Float64Array[] };

type Round = (x: number) => number;

function numberList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number'))
    throw new Error(`objective_params.${what} must be a list of numbers`);
  return v as number[];
}

function matrix(v: unknown, what: string): number[][] {
  if (!Array.isArray(v)) throw new Error(`objective_params.${what} must be a nested list`);
  return v.map((row, i) => numberList(row, `${what}[${i}]`));
}

/**
 * Σ_{i<n−1} b·(x[i+1] − x[i]²)² + (a − x[i])², as torch writes it
 * (`(b*(x[1:] - x[:-1]**2)**2 + (a - x[:-1])**2).sum()`), gradient as autograd forms it.
 */
function rosenbrock(p: Record<string, unknown>, r: Round): Objective {
  const a = r(Number(p.a));
  const b = r(Number(p.b));
  return ([x]) => {
    const n = x.length;
    const g = new Float64Array(n);
    let loss = 0;
    for (let i = 0; i + 1 < n; i++) {
      const u = r(x[i + 1] - r(x[i] * x[i]));
      const v = r(a - x[i]);
      loss = r(loss + r(r(b * r(u * u)) + r(v * v)));
      const gu = r(b * r(2 * u));
      g[i + 1] = r(g[i + 1] + gu);
      g[i] = r(g[i] + r(r(-gu) * r(2 * x[i])));
      g[i] = r(g[i] - r(2 * v));
    }
    return { loss, grads: [g] };
  };
}

/** 0.5·Σ a·x² − Σ b·x (torch: `0.5*(a*x*x).sum() - (b*x).sum()`), gradient a·x − b. */
function diagQuadratic(p: Record<string, unknown>, r: Round): Objective {
  const a = numberList(p.a, 'a').map(r);
  const b = numberList(p.b, 'b').map(r);
  return ([x]) => {
    let q = 0;
    let l = 0;
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const ax = r(a[i] * x[i]);
      q = r(q + r(ax * x[i]));
      l = r(l + r(b[i] * x[i]));
      g[i] = r(ax - b[i]);
    }
    return { loss: r(r(0.5 * q) - l), grads: [g] };
  };
}

/** (1/(2N))·Σ (X·W + v − Y)² (torch: `((X @ W + v - Y)**2).sum() / (2*N)`), W: K×M, v: M. */
function lstsqAffine(p: Record<string, unknown>, r: Round): Objective {
  const X = matrix(p.X, 'X').map((row) => row.map(r));
  const Y = matrix(p.Y, 'Y').map((row) => row.map(r));
  const N = X.length;
  const K = X[0]?.length ?? 0;
  const M = Y[0]?.length ?? 0;
  return ([W, v]) => {
    const res = new Float64Array(N * M);
    let sum = 0;
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < M; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc = r(acc + r(X[n][k] * W[k * M + j]));
        const e = r(r(acc + v[j]) - Y[n][j]);
        res[n * M + j] = e;
        sum = r(sum + r(e * e));
      }
    }
    const scale = r(1 / (2 * N));
    const gW = new Float64Array(K * M);
    const gv = new Float64Array(M);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < M; j++) {
        const ge = r(scale * r(2 * res[n * M + j]));
        gv[j] = r(gv[j] + ge);
        for (let k = 0; k < K; k++) gW[k * M + j] = r(gW[k * M + j] + r(X[n][k] * ge));
      }
    }
    return { loss: r(sum / (2 * N)), grads: [gW, gv] };
  };
}

export function objectiveFor(id: string, params: Record<string, unknown>, dtype: DType): Objective {
  const r: Round = dtype === 'float32' ? Math.fround : (x) => x;
  if (id === 'rosenbrock') return rosenbrock(params, r);
  if (id === 'diag_quadratic') return diagQuadratic(params, r);
  if (id === 'lstsq_affine') return lstsqAffine(params, r);
  throw new Error(`objective ${JSON.stringify(id)} is not known`);
}

function numbers(v: unknown): number[] | null {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  if (ArrayBuffer.isView(v)) return [...(v as FloatArray)];
  return null;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** The final state, unit by unit (see the README): lengths and counts equal, values within atol + rtol·max|unit|. */
function compareFinal(
  meter: Meter,
  want: Record<string, unknown>,
  got: Record<string, unknown>,
  tol: { atol: number; rtol: Record<string, number> },
): void {
  for (const [key, w] of Object.entries(want)) {
    const g = got[key];
    const where = `final_state.${key}`;
    if (g === undefined) {
      meter.fail(`${where}: downhill has no such state`);
      continue;
    }
    if (key === 'func_evals' || key === 'n_iter') {
      if (g !== w) meter.fail(`${where}: got ${String(g)}, want ${String(w)}`);
      continue;
    }
    const rtol = tol.rtol[key] ?? meter.rtol;
    const units: [unknown, unknown][] =
      key === 'old_dirs' || key === 'old_stps' || key === 'ro'
        ? Array.isArray(w) && Array.isArray(g)
          ? w.length === g.length
            ? w.map((x, i) => [x, g[i]])
            : (meter.fail(`${where}: ${g.length} entries, want ${w.length}`), [])
          : (meter.fail(`${where}: not a list`), [])
        : [[w, g]];
    units.forEach(([wu, gu], i) => {
      const we = numbers(wu);
      const ge = numbers(gu);
      const at = units.length > 1 || Array.isArray(w) ? `${where}[${i}]` : where;
      if (we === null || ge === null) return meter.fail(`${at}: not numeric`);
      meter.compare(ge, we, at, 0, tol.atol + rtol * maxAbs(we));
    });
  }
}

export const runLbfgsCase: Runner = (c: Case, backend: Backend) => {
  const lc = c as LbfgsCase;
  const spec = SPECS.find((s) => s.torch === 'torch.optim.LBFGS');
  if (!spec) return { status: 'skip', maxAbsErr: null, maxRelErr: null, detail: 'LBFGS is not implemented' };
  const tol = lc.tolerance;
  const meter = new Meter(tol.params.rtol, 0);
  const names = lc.shapes.map((_, i) => `p${i}`);
  const store = new ParamStore(
    backend,
    names.map((n, i) => [n, { shape: lc.shapes[i], init: lc.initial_params[i] }] as const),
    { dtype: lc.dtype },
  );
  try {
    const objective = objectiveFor(lc.objective_id, lc.objective_params, lc.dtype);
    const { options } = mapHyperparameters(spec, lc.hyperparameters, 'torch', names.length);
    const opt = createOptimizer(spec.name, store, options);
    const closure = () => {
      const { loss, grads } = objective(names.map((n) => store.tensor(n).data));
      names.forEach((n, i) => store.setGrad(n, grads[i]));
      return loss;
    };
    lc.steps.forEach((s, k) => {
      const loss = opt.step(closure) as number;
      const st = (opt.stateDict().state[0] ?? {}) as Record<string, unknown>;
      if (k < tol.counts_steps) {
        if (st.func_evals !== s.func_evals || st.n_iter !== s.n_iter) {
          meter.fail(
            `steps[${k}]: func_evals/n_iter ${String(st.func_evals)}/${String(st.n_iter)}, want ${s.func_evals}/${s.n_iter}`,
          );
        }
      }
      if (k < tol.params_steps) {
        names.forEach((n, i) =>
          meter.compare(
            store.tensor(n).data,
            s.params[i],
            `steps[${k}].params[${i}]`,
            tol.params.rtol,
            tol.params.atol[k],
          ),
        );
      }
      if (k < tol.loss_steps) meter.compare([loss], [s.loss], `steps[${k}].loss`, tol.loss.rtol, tol.loss.atol[k]);
    });
    if (tol.final_state)
      compareFinal(meter, lc.final_state, (opt.stateDict().state[0] ?? {}) as Record<string, unknown>, tol.final_state);
    opt.dispose();
  } finally {
    store.dispose();
  }
  return meter.result();
};

registerRunner('lbfgs', runLbfgsCase);
