import type { Buffer, FloatArray } from '../backend/types.js';
import { BackendError, rangeError, typeError } from '../errors.js';
import type { LBFGSOptions } from '../generated/specs.js';
import { OP, ownedVectorArgs, vectorArgs, type Segment } from '../ops.js';
import type { ParamStore } from '../params.js';
import { defaultValue, describeType, specByName, toWire } from '../spec.js';
import {
  checkLoadOptions,
  checkStateNumber,
  checkStateVector,
  checkStepCount,
  encodeScalar,
  encodeTensor,
} from '../state.js';
import { checkObject, ownKeys } from '../validate.js';
import {
  Optimizer,
  registerOptimizer,
  type GroupSpec,
  type LoadOptions,
  type OptimizerClass,
  type Scheduled,
  type StateDict,
} from './optimizer.js';

export type { LBFGSOptions };

/**
 * A scalar as PyTorch holds it in L-BFGS: a Python float (`tensor: false`, double arithmetic) or
 * a 0-dim tensor of the parameter dtype (`tensor: true`). In float32 the difference decides
 * rounding: an operation with a tensor operand converts the other operand to float32 and rounds
 * its result to float32, as PyTorch's type promotion does; comparisons likewise.
 */
interface Num {
  v: number;
  tensor: boolean;
}

type Round = (x: number) => number;

/** PyTorch's scalar arithmetic for one parameter dtype (see {@link Num}). */
class Scalars {
  constructor(readonly r: Round) {}
  py(v: number): Num {
    return { v, tensor: false };
  }
  ten(v: number): Num {
    return { v: this.r(v), tensor: true };
  }
  #bin(a: Num, b: Num, op: (x: number, y: number) => number): Num {
    const r = this.r;
    return a.tensor || b.tensor ? { v: r(op(r(a.v), r(b.v))), tensor: true } : { v: op(a.v, b.v), tensor: false };
  }
  #cmp(a: Num, b: Num): [number, number] {
    return a.tensor || b.tensor ? [this.r(a.v), this.r(b.v)] : [a.v, b.v];
  }
  add(a: Num, b: Num): Num {
    return this.#bin(a, b, (x, y) => x + y);
  }
  sub(a: Num, b: Num): Num {
    return this.#bin(a, b, (x, y) => x - y);
  }
  mul(a: Num, b: Num): Num {
    return this.#bin(a, b, (x, y) => x * y);
  }
  div(a: Num, b: Num): Num {
    return this.#bin(a, b, (x, y) => x / y);
  }
  abs(a: Num): Num {
    return { v: Math.abs(a.v), tensor: a.tensor };
  }
  sqrt(a: Num): Num {
    return a.tensor ? { v: this.r(Math.sqrt(a.v)), tensor: true } : { v: Math.sqrt(a.v), tensor: false };
  }
  lt(a: Num, b: Num): boolean {
    const [x, y] = this.#cmp(a, b);
    return x < y;
  }
  le(a: Num, b: Num): boolean {
    const [x, y] = this.#cmp(a, b);
    return x <= y;
  }
  gt(a: Num, b: Num): boolean {
    return this.lt(b, a);
  }
  ge(a: Num, b: Num): boolean {
    return this.le(b, a);
  }
  /** Python's `min(a, b)`: `b` only when `b < a`; the object keeps its type. */
  min(a: Num, b: Num): Num {
    return this.lt(b, a) ? b : a;
  }
  /** Python's `max(a, b)`: `b` only when `b > a`. */
  max(a: Num, b: Num): Num {
    return this.gt(b, a) ? b : a;
  }

  /**
   * Minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to the bounds (the
   * bracket by default); their midpoint when the cubic has no minimizer. PyTorch's
   * `_cubic_interpolate` (a port of minFunc's `polyinterp`), operation for operation.
   */
  cubic(x1: Num, f1: Num, g1: Num, x2: Num, f2: Num, g2: Num, bounds?: [Num, Num]): Num {
    const [lo, hi] = bounds ?? (this.le(x1, x2) ? [x1, x2] : [x2, x1]);
    const three = this.py(3);
    const d1 = this.sub(this.add(g1, g2), this.div(this.mul(three, this.sub(f1, f2)), this.sub(x1, x2)));
    const d2Square = this.sub(this.mul(d1, d1), this.mul(g1, g2));
    if (this.ge(d2Square, this.py(0))) {
      const d2 = this.sqrt(d2Square);
      const two = this.py(2);
      const minPos = this.le(x1, x2)
        ? this.sub(
            x2,
            this.mul(
              this.sub(x2, x1),
              this.div(this.sub(this.add(g2, d2), d1), this.add(this.sub(g2, g1), this.mul(two, d2))),
            ),
          )
        : this.sub(
            x1,
            this.mul(
              this.sub(x1, x2),
              this.div(this.sub(this.add(g1, d2), d1), this.add(this.sub(g1, g2), this.mul(two, d2))),
            ),
          );
      return this.min(this.max(minPos, lo), hi);
    }
    return this.div(this.add(lo, hi), this.py(2));
  }
}

/** Everything L-BFGS keeps between `step()` calls (PyTorch's `state[params[0]]`). */
interface History {
  funcEvals: number;
  nIter: number;
  d: Buffer | null;
  t: Num | null;
  oldDirs: Buffer[];
  oldStps: Buffer[];
  ro: Num[];
  hDiag: Num | null;
  prevFlatGrad: Buffer | null;
  prevLoss: number | null;
}

/** Resolved options of one step. */
interface Settings {
  lr: number;
  maxIter: number;
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  strongWolfe: boolean;
  maximize: boolean;
}

const STATE_KEYS = [
  'func_evals',
  'n_iter',
  'd',
  't',
  'old_dirs',
  'old_stps',
  'ro',
  'H_diag',
  'prev_flat_grad',
  'prev_loss',
  'al',
];

/**
 * L-BFGS (Liu & Nocedal 1989) with PyTorch's semantics (`torch.optim.LBFGS`), including its
 * strong Wolfe line search (Mark Schmidt's minFunc, as PyTorch ports it) and, in float32, its
 * float32 scalar arithmetic. `step(closure)` evaluates the objective as often as it needs: the
 * closure computes the loss at the store's current parameters, writes their gradients into the
 * store, and returns the loss.
 *
 * ```text
 * f, g ← closure();  if max|g| ≤ toleranceGrad: return f
 * repeat at most maxIter times:
 *     d ← −H·g  (two-loop recursion over the last historySize pairs y = Δg, s = t·d with y·s > 1e-10;
 *               d ← −g at the very first iteration)
 *     t ← first iteration ever ? min(1, 1/‖g‖₁)·lr : lr
 *     stop if g·d > −toleranceChange
 *     lineSearchFn 'strong_wolfe': t, f, g ← line search along d;  else x ← x + t·d, f, g ← closure()
 *     stop after maxIter iterations or maxEval evaluations, or when max|g| ≤ toleranceGrad,
 *     max|t·d| ≤ toleranceChange or |f − f_prev| < toleranceChange
 * return the first f
 * ```
 *
 * Options (defaults): `lr` 1, `maxIter` 20, `maxEval` null (⌊maxIter·5/4⌋), `toleranceGrad`
 * 1e-7, `toleranceChange` 1e-9, `historySize` 100, `lineSearchFn` 'none' | 'strong_wolfe',
 * `maximize` false. One param group; its tensors are optimized as one vector. State (PyTorch's
 * keys): `func_evals`, `n_iter`, `d`, `t`, `old_dirs`, `old_stps`, `ro`, `H_diag`,
 * `prev_flat_grad`, `prev_loss`; the vectors live in the store's heap, up to
 * (2·historySize + 4)·numel elements.
 *
 * Differences from PyTorch: `line_search_fn=None` is 'none'; dot products and norms sum in double
 * (PyTorch sums float32 vectors in float32), then round to the parameter dtype where PyTorch
 * holds the result as a tensor. Freezing tensors is not supported.
 *
 * @example
 * ```ts
 * import { ParamStore, LBFGS } from 'downhill';
 * // Rosenbrock's function from (−1.2, 1); its minimum is at (1, 1).
 * const params = await ParamStore.create({ x: { shape: [2], init: [-1.2, 1] } }, { dtype: 'float64' });
 * const opt = new LBFGS(params, { lineSearchFn: 'strong_wolfe' });
 * const closure = () => {
 *   const [a, b] = params.get('x');
 *   params.setGrad('x', [-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)]);
 *   return 100 * (b - a * a) ** 2 + (1 - a) ** 2;
 * };
 * for (let i = 0; i < 10; i++) opt.step(closure);
 * console.log(params.get('x')); // ≈ Float64Array [ 1, 1 ]
 * ```
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  /** `minimize()` drives optimizers that have this with a closure (`step(closure)`). */
  readonly closureRequired = true;
  #history: History = LBFGS.#empty();
  #calls = 0;
  /** Work vectors, returned to `#free` when no longer referenced. */
  #free: Buffer[] = [];
  #xInit: Buffer | null = null;
  #tmp: Buffer | null = null;
  #n = 0;

  constructor(params: ParamStore, options?: Partial<Scheduled<LBFGSOptions>>);
  constructor(
    params: ParamStore,
    groups: readonly GroupSpec<LBFGSOptions>[],
    defaults?: Partial<Scheduled<LBFGSOptions>>,
  );
  constructor(
    params: ParamStore,
    groupsOrOptions?: readonly GroupSpec<LBFGSOptions>[] | Partial<Scheduled<LBFGSOptions>>,
    defaults?: Partial<Scheduled<LBFGSOptions>>,
  ) {
    super(specByName('LBFGS'), params, groupsOrOptions, defaults);
    if (this.paramGroups.length !== 1) {
      throw rangeError('groups', "LBFGS doesn't support per-parameter options (parameter groups): give it one group");
    }
    this.#n = this.#segments().reduce((k, s) => k + s.len, 0);
  }

  static #empty(): History {
    return {
      funcEvals: 0,
      nIter: 0,
      d: null,
      t: null,
      oldDirs: [],
      oldStps: [],
      ro: [],
      hDiag: null,
      prevFlatGrad: null,
      prevLoss: null,
    };
  }

  override addParamGroup(): void {
    throw rangeError('group', "LBFGS doesn't support per-parameter options (parameter groups)");
  }

  override freeze(): void {
    throw rangeError('names', 'LBFGS optimizes all its tensors as one vector; freezing is not supported');
  }

  override get stepCalls(): number {
    return this.#calls;
  }

  override get lrs(): number[] {
    const v = (this.paramGroups[0] as unknown as Record<string, unknown>).lr;
    return [typeof v === 'function' ? (v as (c: number) => number)(this.#calls) : (v as number)];
  }

  /** Elements of every tensor of the group, in the group's order: the layout of the flat vectors. */
  #segments(): { a: number; b: number; len: number }[] {
    let at = 0;
    return this.paramGroups[0].params.map((name) => {
      const t = this.params.tensor(name);
      const s = { a: t.offset, b: at, len: t.size };
      at += t.size;
      return s;
    });
  }

  /** The options as they stand (schedules evaluated), checked as the core checks them. */
  #settings(): Settings {
    const g = this.paramGroups[0] as unknown as Record<string, unknown>;
    const wire = this.spec.hparams.map((h) => {
      let v = g[h.name];
      if (typeof v === 'function') v = (v as (c: number) => number)(this.#calls);
      return toWire(h, v, `options.${h.name}`, this.params.dtype);
    });
    const [lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearch, maximize] = wire;
    return {
      lr,
      maxIter,
      maxEval: Number.isNaN(maxEval) ? Math.floor((maxIter * 5) / 4) : maxEval,
      toleranceGrad,
      toleranceChange,
      historySize,
      strongWolfe: lineSearch === 1,
      maximize: maximize !== 0,
    };
  }

  // ---- vectors in the heap --------------------------------------------------------------------

  #take(): Buffer {
    return this.#free.pop() ?? this.params.heap.alloc(this.params.dtype, this.#n, 'LBFGS state');
  }

  #give(b: Buffer | null): void {
    if (b) this.#free.push(b);
  }

  #run(op: number, buffers: (Buffer | null)[], segs: readonly Segment[], scalars: number[] = [], outputs = 0): number {
    const out = NAN_OUTPUT[op];
    if (out !== undefined && scalars.some(Number.isNaN)) {
      // The core refuses NaN scalars (in a caller they are almost always a bug). Here one comes
      // from a diverged line search, where PyTorch's arithmetic makes the result NaN element by
      // element (NaN·x is NaN for every x): do exactly that instead of throwing mid-step.
      const key = (['a', 'b', 'c'] as const)[out];
      const fill = segs.map((g) => ({ a: g[key] ?? 0, len: g.len }));
      this.params.heap.run(OP.FILL, this.params.dtype, vectorArgs(fill, [NaN]), [buffers[out]]);
      return 0;
    }
    const args = ownedVectorArgs(this.params, segs, scalars, outputs);
    this.params.heap.run(op, this.params.dtype, args, buffers);
    return outputs > 0 ? args[args.length - 1] : 0;
  }

  #whole(): Segment[] {
    return [{ a: 0, b: 0, c: 0, len: this.#n }];
  }

  #dot(x: Buffer, y: Buffer): number {
    if (x === y) {
      this.#tmp ??= this.params.heap.alloc(this.params.dtype, this.#n, 'LBFGS state');
      this.#run(OP.COPY, [x, this.#tmp], this.#whole());
      return this.#run(OP.DOT, [x, this.#tmp], this.#whole(), [], 1);
    }
    return this.#run(OP.DOT, [x, y], this.#whole(), [], 1);
  }

  #axpy(alpha: number, x: Buffer, y: Buffer): void {
    this.#run(OP.AXPY, [x, y], this.#whole(), [alpha]);
  }

  #scale(alpha: number, x: Buffer): void {
    this.#run(OP.SCALE, [x], this.#whole(), [alpha]);
  }

  #copy(src: Buffer, dst: Buffer): void {
    this.#run(OP.COPY, [src, dst], this.#whole());
  }

  #maxAbs(x: Buffer): number {
    return this.#run(OP.NORM, [x], this.#whole(), [Infinity], 1);
  }

  /** The store's gradients of the group's tensors into a fresh flat vector (negated to maximize). */
  #gather(maximize: boolean): Buffer {
    const flat = this.#take();
    this.#run(OP.COPY, [this.params.buffers.grads, flat], this.#segments());
    if (maximize) this.#scale(-1, flat);
    return flat;
  }

  /** params ← params + t·d. */
  #addGrad(t: number, d: Buffer): void {
    const segs = this.#segments().map((s) => ({ a: s.b, b: s.a, len: s.len }));
    this.#run(OP.AXPY, [d, this.params.buffers.params], segs, [t]);
  }

  #evaluate(closure: () => number, maximize: boolean): number {
    const v: unknown = closure();
    if (typeof v !== 'number') throw typeError('closure', `must return the loss as a number, got ${describeType(v)}`);
    return maximize ? -v : v;
  }

  // ---- the step -------------------------------------------------------------------------------

  /**
   * One L-BFGS step (up to `maxIter` iterations); returns the loss the closure gave at the
   * starting point, as PyTorch does.
   */
  override step(closure?: () => number): number {
    if (this.disposed) throw new BackendError(this.params.backend.name, 'LBFGS used after dispose()');
    if (typeof closure !== 'function') {
      throw typeError(
        'closure',
        `LBFGS needs a closure that evaluates the loss and writes the gradients, got ${describeType(closure)}`,
      );
    }
    this.params.assertLive();
    const o = this.#settings();
    const S = new Scalars(this.params.dtype === 'float32' ? Math.fround : (x) => x);
    const st = this.#history;
    this.#calls += 1;

    const origLoss = this.#evaluate(closure, false);
    let loss = o.maximize ? -origLoss : origLoss;
    let currentEvals = 1;
    st.funcEvals += 1;
    let flat = this.#gather(o.maximize);
    let optCond = S.le(S.ten(this.#maxAbs(flat)), S.py(o.toleranceGrad));
    if (optCond) {
      this.#give(flat);
      return origLoss;
    }
    let d = st.d;
    let t = st.t;
    let nIter = 0;
    while (nIter < o.maxIter) {
      nIter += 1;
      st.nIter += 1;
      if (st.nIter === 1) {
        d ??= this.#take();
        this.#copy(flat, d);
        this.#scale(-1, d);
        for (const b of [...st.oldDirs, ...st.oldStps]) this.#give(b);
        st.oldDirs = [];
        st.oldStps = [];
        st.ro = [];
        st.hDiag = S.py(1);
      } else {
        d = d as Buffer;
        const prev = st.prevFlatGrad as Buffer;
        const y = this.#take();
        this.#run(OP.LINCOMB, [flat, prev, y], this.#whole(), [1, -1]);
        const s = this.#take();
        this.#copy(d, s);
        this.#scale((t as Num).v, s);
        const ys = S.ten(this.#dot(y, s));
        if (S.gt(ys, S.py(1e-10))) {
          if (st.oldDirs.length === o.historySize) {
            this.#give(st.oldDirs.shift() as Buffer);
            this.#give(st.oldStps.shift() as Buffer);
            st.ro.shift();
          }
          st.oldDirs.push(y);
          st.oldStps.push(s);
          st.ro.push(S.div(S.py(1), ys));
          st.hDiag = S.div(ys, S.ten(this.#dot(y, y)));
        } else {
          this.#give(y);
          this.#give(s);
        }
        // Two-loop recursion, in the old direction's buffer (s holds what was needed of it).
        const num = st.oldDirs.length;
        const al: Num[] = new Array<Num>(num);
        this.#copy(flat, d);
        this.#scale(-1, d);
        for (let i = num - 1; i >= 0; i--) {
          al[i] = S.mul(S.ten(this.#dot(st.oldStps[i], d)), st.ro[i]);
          this.#axpy(-al[i].v, st.oldDirs[i], d);
        }
        this.#scale((st.hDiag as Num).v, d);
        for (let i = 0; i < num; i++) {
          const be = S.mul(S.ten(this.#dot(st.oldDirs[i], d)), st.ro[i]);
          this.#axpy(S.sub(al[i], be).v, st.oldStps[i], d);
        }
      }
      st.prevFlatGrad ??= this.#take();
      this.#copy(flat, st.prevFlatGrad);
      st.prevLoss = loss;
      if (st.nIter === 1) {
        const l1 = S.ten(this.#run(OP.NORM, [flat], this.#whole(), [1], 1));
        t = S.mul(S.min(S.py(1), S.div(S.py(1), l1)), S.py(o.lr));
      } else t = S.py(o.lr);
      const gtd = S.ten(this.#dot(flat, d));
      if (S.gt(gtd, S.py(-o.toleranceChange))) break;
      let lsFuncEvals = 0;
      if (o.strongWolfe) {
        const x = (this.#xInit ??= this.params.heap.alloc(this.params.dtype, this.#n, 'LBFGS state'));
        const segs = this.#segments();
        this.#run(OP.COPY, [this.params.buffers.params, x], segs);
        const r = this.#strongWolfe(S, closure, o, x, t, d, loss, flat, gtd, o.maxEval - currentEvals);
        loss = r.f;
        if (r.g !== flat) this.#give(flat);
        flat = r.g;
        t = r.t;
        lsFuncEvals = r.evals;
        this.#addGrad(t.v, d);
        optCond = S.le(S.ten(this.#maxAbs(flat)), S.py(o.toleranceGrad));
      } else {
        this.#addGrad(t.v, d);
        if (nIter !== o.maxIter) {
          loss = this.#evaluate(closure, o.maximize);
          this.#give(flat);
          flat = this.#gather(o.maximize);
          optCond = S.le(S.ten(this.#maxAbs(flat)), S.py(o.toleranceGrad));
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      st.funcEvals += lsFuncEvals;
      if (nIter === o.maxIter) break;
      if (currentEvals >= o.maxEval) break;
      if (optCond) break;
      // max|t·d|: rounding is monotone, so it is the rounded product of |t| and max|d|.
      const tv = S.r(t.v);
      if (S.le(S.ten(Math.abs(tv) * this.#maxAbs(d)), S.py(o.toleranceChange))) break;
      if (Math.abs(loss - (st.prevLoss as number)) < o.toleranceChange) break;
    }
    this.#give(flat);
    st.d = d;
    st.t = t;
    return origLoss;
  }

  /**
   * PyTorch's `_strong_wolfe` (minFunc's `WolfeLineSearch` with cubic interpolation): the point
   * along `d` from `x` it settles on, with its loss and gradient, and the evaluations it made.
   * Gradient vectors are never written after they are filled, so they are shared where PyTorch
   * clones them; those not returned go back to the pool.
   */
  #strongWolfe(
    S: Scalars,
    closure: () => number,
    o: Settings,
    x: Buffer,
    t0: Num,
    d: Buffer,
    f: number,
    g: Buffer,
    gtd: Num,
    maxLs: number,
  ): { f: number; g: Buffer; t: Num; evals: number } {
    const c1 = 1e-4;
    const c2 = 0.9;
    const tolChange = 1e-9;
    const made: Buffer[] = [];
    const segs = this.#segments();
    const back = segs.map((s) => ({ a: s.b, b: s.a, len: s.len }));
    const evaluate = (t: Num): [number, Buffer] => {
      this.#addGrad(t.v, d);
      const fv = this.#evaluate(closure, o.maximize);
      const gv = this.#gather(o.maximize);
      made.push(gv);
      this.#run(OP.COPY, [x, this.params.buffers.params], back);
      return [fv, gv];
    };
    const armijo = (t: Num) => S.add(S.py(f), S.mul(S.mul(S.py(c1), t), gtd));
    const curvature = (gtdNew: Num) => S.le(S.abs(gtdNew), S.mul(S.py(-c2), gtd));
    const dNorm = S.ten(this.#maxAbs(d));
    let t = t0;
    let [fNew, gNew] = evaluate(t);
    let evals = 1;
    let gtdNew = S.ten(this.#dot(gNew, d));
    let tPrev = S.py(0);
    let fPrev = f;
    let gPrev = g;
    let gtdPrev = gtd;
    let done = false;
    let lsIter = 0;
    let bracket: Num[] = [];
    let bracketF: number[] = [];
    let bracketG: Buffer[] = [];
    let bracketGtd: Num[] = [];
    while (lsIter < maxLs) {
      if (S.gt(S.py(fNew), armijo(t)) || (lsIter > 1 && fNew >= fPrev)) {
        [bracket, bracketF, bracketG, bracketGtd] = [
          [tPrev, t],
          [fPrev, fNew],
          [gPrev, gNew],
          [gtdPrev, gtdNew],
        ];
        break;
      }
      if (curvature(gtdNew)) {
        [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
        done = true;
        break;
      }
      if (S.ge(gtdNew, S.py(0))) {
        [bracket, bracketF, bracketG, bracketGtd] = [
          [tPrev, t],
          [fPrev, fNew],
          [gPrev, gNew],
          [gtdPrev, gtdNew],
        ];
        break;
      }
      const minStep = S.add(t, S.mul(S.py(0.01), S.sub(t, tPrev)));
      const maxStep = S.mul(t, S.py(10));
      const tmp = t;
      t = S.cubic(tPrev, S.py(fPrev), gtdPrev, t, S.py(fNew), gtdNew, [minStep, maxStep]);
      tPrev = tmp;
      fPrev = fNew;
      gPrev = gNew;
      gtdPrev = gtdNew;
      [fNew, gNew] = evaluate(t);
      evals += 1;
      gtdNew = S.ten(this.#dot(gNew, d));
      lsIter += 1;
    }
    if (lsIter === maxLs) {
      [bracket, bracketF, bracketG] = [
        [S.py(0), t],
        [f, fNew],
        [g, gNew],
      ];
    }
    let insufProgress = false;
    let [low, high] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
    while (!done && lsIter < maxLs) {
      if (S.lt(S.mul(S.abs(S.sub(bracket[1], bracket[0])), dNorm), S.py(tolChange))) break;
      t = S.cubic(bracket[0], S.py(bracketF[0]), bracketGtd[0], bracket[1], S.py(bracketF[1]), bracketGtd[1]);
      const bMax = S.max(bracket[0], bracket[1]);
      const bMin = S.min(bracket[0], bracket[1]);
      const eps = S.mul(S.py(0.1), S.sub(bMax, bMin));
      if (S.lt(S.min(S.sub(bMax, t), S.sub(t, bMin)), eps)) {
        if (insufProgress || S.ge(t, bMax) || S.le(t, bMin)) {
          t = S.lt(S.abs(S.sub(t, bMax)), S.abs(S.sub(t, bMin))) ? S.sub(bMax, eps) : S.add(bMin, eps);
          insufProgress = false;
        } else insufProgress = true;
      } else insufProgress = false;
      [fNew, gNew] = evaluate(t);
      evals += 1;
      gtdNew = S.ten(this.#dot(gNew, d));
      lsIter += 1;
      if (S.gt(S.py(fNew), armijo(t)) || fNew >= bracketF[low]) {
        bracket[high] = t;
        bracketF[high] = fNew;
        bracketG[high] = gNew;
        bracketGtd[high] = gtdNew;
        [low, high] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
      } else {
        if (curvature(gtdNew)) done = true;
        else if (S.ge(S.mul(gtdNew, S.sub(bracket[high], bracket[low])), S.py(0))) {
          bracket[high] = bracket[low];
          bracketF[high] = bracketF[low];
          bracketG[high] = bracketG[low];
          bracketGtd[high] = bracketGtd[low];
        }
        bracket[low] = t;
        bracketF[low] = fNew;
        bracketG[low] = gNew;
        bracketGtd[low] = gtdNew;
      }
    }
    const result = { f: bracketF[low], g: bracketG[low], t: bracket[low], evals };
    for (const b of made) if (b !== result.g) this.#give(b);
    return result;
  }

  // ---- state ----------------------------------------------------------------------------------

  /** Bytes L-BFGS may keep for the current options: d, the previous gradient and a full history. */
  override stateBytes(): number {
    return (2 * this.#settings().historySize + 2) * this.#n * (this.params.dtype === 'float32' ? 4 : 8);
  }

  /**
   * PyTorch's `state_dict()` of `torch.optim.LBFGS`: the state under the first parameter's index
   * (vectors as typed-array copies, the history as lists of them), the group with `max_eval`
   * resolved and `line_search_fn` null or 'strong_wolfe'.
   */
  override stateDict(): StateDict {
    this.assertUsable();
    const st = this.#history;
    const copy = (b: Buffer) => b.view().slice();
    const entry: Record<string, unknown> = {};
    if (st.funcEvals > 0 || st.nIter > 0) {
      entry.func_evals = st.funcEvals;
      entry.n_iter = st.nIter;
    }
    if (st.d) {
      entry.d = copy(st.d);
      entry.t = (st.t as Num).v;
      entry.old_dirs = st.oldDirs.map(copy);
      entry.old_stps = st.oldStps.map(copy);
      entry.ro = st.ro.map((x) => x.v);
      entry.H_diag = (st.hDiag as Num).v;
      entry.prev_flat_grad = copy(st.prevFlatGrad as Buffer);
      entry.prev_loss = st.prevLoss;
    }
    const o = this.#settings();
    const group = {
      lr: o.lr,
      max_iter: o.maxIter,
      max_eval: o.maxEval,
      tolerance_grad: o.toleranceGrad,
      tolerance_change: o.toleranceChange,
      history_size: o.historySize,
      line_search_fn: o.strongWolfe ? 'strong_wolfe' : null,
      maximize: o.maximize,
      params: this.paramGroups[0].params.map((_, i) => i),
    };
    const dict: StateDict = {
      state: Object.keys(entry).length > 0 ? { 0: entry as Record<string, number | FloatArray | number[]> } : {},
      param_groups: [group],
      downhill: { optimizer: 'LBFGS', dtype: this.params.dtype, stepCalls: this.#calls },
    };
    Object.defineProperty(dict, 'toJSON', {
      value: () => ({
        state: Object.fromEntries(
          Object.entries(dict.state).map(([k, e]) => [k, encodeEntry(e as Record<string, unknown>)]),
        ),
        param_groups: dict.param_groups,
        downhill: dict.downhill,
      }),
      enumerable: false,
    });
    return dict;
  }

  /** PyTorch's `load_state_dict()`: everything is checked before anything changes. */
  override loadStateDict(dict: StateDict, opts: LoadOptions = {}): void {
    this.assertUsable();
    const rules = { ...checkLoadOptions(opts), dtype: this.params.dtype };
    if (!dict || typeof dict !== 'object') {
      throw typeError('stateDict', `must be an object with state and param_groups, got ${describeType(dict)}`);
    }
    const { state, param_groups } = dict;
    if (!Array.isArray(param_groups) || param_groups.length !== 1) {
      throw rangeError('stateDict.param_groups', 'must hold exactly one group (LBFGS has one)');
    }
    if (!state || typeof state !== 'object' || Array.isArray(state)) {
      throw typeError('stateDict.state', `must be an object keyed by param index, got ${describeType(state)}`);
    }
    const g = checkObject(param_groups[0], 'stateDict.param_groups[0]');
    const arg = 'stateDict.param_groups[0].';
    const known = new Set([
      ...this.spec.hparams.map((h) => h.torch ?? h.name),
      'params',
      'foreach',
      'differentiable',
      'fused',
      'capturable',
    ]);
    for (const k of ownKeys(g, 'stateDict.param_groups[0]'))
      if (!known.has(k)) throw typeError(`${arg}${k}`, 'is not an option of LBFGS');
    if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[0].params.length) {
      throw rangeError(`${arg}params`, `must list the group's ${this.paramGroups[0].params.length} params`);
    }
    const options: Record<string, unknown> = {};
    for (const h of this.spec.hparams) {
      let v = g[h.torch ?? h.name];
      if (v === undefined) continue;
      if (h.name === 'lineSearchFn' && v === null) v = defaultValue(h);
      toWire(h, v, `${arg}${h.torch ?? h.name}`, this.params.dtype);
      options[h.name] = v;
    }
    const keys = ownKeys(state, 'stateDict.state');
    if (keys.some((k) => k !== '0')) throw rangeError('stateDict.state', 'LBFGS keeps its state under index 0 only');
    const e = checkObject((state as Record<string, unknown>)['0'] ?? {}, 'stateDict.state[0]');
    const at = 'stateDict.state[0]';
    for (const k of ownKeys(e, at))
      if (!STATE_KEYS.includes(k)) throw typeError(`${at}.${k}`, `is not a state key of LBFGS`);
    const count = (k: string) => checkStepCount(e[k] ?? 0, `${at}.${k}`);
    const num = (k: string, v: unknown) => checkStateNumber(v, `${at}.${k}`, rules);
    const vec = (k: string, v: unknown): ArrayLike<number> => checkStateVector(v, this.#n, `${at}.${k}`, rules);
    const list = (k: string): ArrayLike<number>[] => {
      const v = e[k];
      if (!Array.isArray(v)) throw typeError(`${at}.${k}`, `must be a list, got ${describeType(v)}`);
      return v.map((x, i) => vec(`${k}[${i}]`, x));
    };
    const funcEvals = count('func_evals');
    const nIter = count('n_iter');
    let full: null | {
      d: ArrayLike<number>;
      t: number;
      dirs: ArrayLike<number>[];
      stps: ArrayLike<number>[];
      ro: number[];
      h: number;
      prev: ArrayLike<number>;
      loss: number;
    } = null;
    if (e.d !== undefined) {
      const dirs = list('old_dirs');
      const stps = list('old_stps');
      if (!Array.isArray(e.ro)) throw typeError(`${at}.ro`, `must be a list of numbers, got ${describeType(e.ro)}`);
      const ro = e.ro.map((x: unknown, i: number) => num(`ro[${i}]`, x));
      if (stps.length !== dirs.length || ro.length !== dirs.length) {
        throw rangeError(`${at}.old_stps`, 'old_dirs, old_stps and ro must have the same length');
      }
      // A longer history than the group keeps would be memory the optimizer never frees.
      const size = (options.historySize ?? this.#settings().historySize) as number;
      if (dirs.length > size) {
        throw rangeError(`${at}.old_dirs`, `holds ${dirs.length} pairs, above history_size ${size}`);
      }
      full = {
        d: vec('d', e.d),
        t: num('t', e.t),
        dirs,
        stps,
        ro,
        h: num('H_diag', e.H_diag),
        prev: vec('prev_flat_grad', e.prev_flat_grad),
        loss: num('prev_loss', e.prev_loss),
      };
    }
    const meta = dict.downhill;
    let calls: number | null = null;
    if (meta !== undefined) {
      checkObject(meta, 'stateDict.downhill');
      if (meta.optimizer !== 'LBFGS') {
        throw rangeError(
          'stateDict.downhill.optimizer',
          `is ${JSON.stringify(meta.optimizer)}, this optimizer is LBFGS`,
        );
      }
      if (meta.stepCalls !== undefined) calls = checkStepCount(meta.stepCalls, 'stateDict.downhill.stepCalls');
    }
    // Everything checked. The vectors are taken before anything is written, so running out of
    // memory (a RangeError on WASM) leaves the optimizer as it was.
    const need = full ? 2 + 2 * full.dirs.length - this.#historyVectors() : 0;
    const spare: Buffer[] = [];
    try {
      for (let i = 0; i < need; i++) spare.push(this.#take());
    } finally {
      for (const b of spare) this.#give(b);
    }
    const group = this.paramGroups[0] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(options)) if (typeof group[k] !== 'function') group[k] = v;
    this.#release();
    const st = LBFGS.#empty();
    st.funcEvals = funcEvals;
    st.nIter = nIter;
    const tensor = this.params.dtype === 'float32';
    const fill = (values: ArrayLike<number>) => {
      const b = this.#take();
      const view = b.view();
      for (let i = 0; i < values.length; i++) view[i] = values[i];
      return b;
    };
    if (full) {
      st.d = fill(full.d);
      st.t = { v: full.t, tensor };
      st.oldDirs = full.dirs.map(fill);
      st.oldStps = full.stps.map(fill);
      st.ro = full.ro.map((v) => ({ v, tensor }));
      st.hDiag = { v: full.h, tensor: tensor && st.oldDirs.length > 0 };
      st.prevFlatGrad = fill(full.prev);
      st.prevLoss = full.loss;
    }
    this.#history = st;
    if (calls !== null) this.#calls = calls;
  }

  /** Vectors the history holds now (they return to the pool on a load). */
  #historyVectors(): number {
    const st = this.#history;
    return [st.d, st.prevFlatGrad, ...st.oldDirs, ...st.oldStps].filter((b) => b !== null).length;
  }

  /** Returns every vector of the history to the pool. */
  #release(): void {
    const st = this.#history;
    for (const b of [st.d, st.prevFlatGrad, ...st.oldDirs, ...st.oldStps]) this.#give(b);
    this.#history = LBFGS.#empty();
  }

  override dispose(): void {
    if (this.disposed) return;
    if (!this.params.heap.disposed) {
      this.#release();
      for (const b of [...this.#free, this.#xInit, this.#tmp]) b?.dispose();
    }
    this.#free = [];
    this.#xInit = null;
    this.#tmp = null;
    super.dispose();
  }
}

/** A state entry in JSON form: vectors (also inside lists) as exact base64 tensors. */
/** Which buffer (0 a, 1 b, 2 c) each arithmetic vector op writes: all NaN when a scalar is NaN. */
const NAN_OUTPUT: Record<number, number> = { [OP.AXPY]: 1, [OP.SCALE]: 0, [OP.LINCOMB]: 2, [OP.LERP]: 0 };

function encodeEntry(e: Record<string, unknown>): Record<string, unknown> {
  const enc = (v: unknown): unknown =>
    ArrayBuffer.isView(v)
      ? encodeTensor(v as FloatArray)
      : Array.isArray(v)
        ? v.map(enc)
        : typeof v === 'number'
          ? encodeScalar(v)
          : v;
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, enc(v)]));
}

registerOptimizer('LBFGS', LBFGS as unknown as OptimizerClass);
