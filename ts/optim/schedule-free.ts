/**
 * What the schedule-free optimizers share (ScheduleFreeAdamW, ScheduleFreeSGD): their params are
 * the gradient points y, their state holds the base sequence z, and the point to evaluate (or
 * ship) is the average x = (y − (1 − β1)·z) / β1, which is never stored. `evalParams()` computes
 * it; `eval()` / `train()` swap it into the params and back, as the PyTorch `schedulefree`
 * package's `optimizer.eval()` / `optimizer.train()` do.
 */
import type { Buffer, FloatArray } from '../backend/types.js';
import { OP } from '../generated/specs.js';
import { runVector, type Segment } from '../ops.js';
import { Optimizer } from './optimizer.js';

export abstract class ScheduleFree<O extends object> extends Optimizer<O> {
  /** y while the params hold x (between `eval()` and `train()`). */
  #saved: Buffer | null = null;
  #evaluating = false;

  /** True between `eval()` and `train()`: the params hold the average x, and `step()` throws. */
  get evaluating(): boolean {
    return this.#evaluating;
  }

  override step(closure?: () => number): number | undefined {
    if (this.#evaluating)
      throw new Error(`${this.name}: the params hold the evaluation point x; call train() before step()`);
    return super.step(closure);
  }

  /**
   * Puts the average x into the params (to evaluate or save the model), keeping y aside so
   * `train()` restores it bit for bit. Tensors that have not stepped yet have x = y.
   */
  eval(): void {
    if (this.#evaluating) return;
    const store = this.params;
    const { params } = store.buffers;
    this.#saved ??= store.heap.alloc(store.dtype, params.length, `${this.name} saved y`);
    const all = this.#ranges();
    if (all.length > 0) runVector(store, OP.COPY, [params, this.#saved], all);
    this.#average(this.#saved, params);
    this.#evaluating = true;
  }

  /** Puts y back into the params after `eval()` (exactly as it was). */
  train(): void {
    if (!this.#evaluating || !this.#saved) return;
    const all = this.#ranges();
    if (all.length > 0) runVector(this.params, OP.COPY, [this.#saved, this.params.buffers.params], all);
    this.#evaluating = false;
  }

  /** The average x of each of this optimizer's tensors, as copies, by name. */
  evalParams(): Record<string, FloatArray> {
    const store = this.params;
    store.assertLive();
    const names = this.paramGroups.flatMap((g) => [...g.params]);
    if (this.#evaluating) return Object.fromEntries(names.map((n) => [n, store.tensor(n).data.slice()]));
    const { params } = store.buffers;
    const tmp = store.heap.alloc(store.dtype, params.length, `${this.name} evalParams`);
    try {
      const done = this.#average(params, tmp);
      const view = tmp.view();
      return Object.fromEntries(
        names.map((n) => {
          const t = store.tensor(n);
          return [n, done.has(n) ? view.slice(t.offset, t.offset + t.size) : t.data.slice()];
        }),
      );
    } finally {
      tmp.dispose();
    }
  }

  /** Conformance hook: `eval_params` per tensor of the store, in store order. */
  conformanceStep(): Record<string, ArrayLike<number>[]> {
    const x = this.evalParams();
    return { eval_params: this.params.names.map((n) => x[n] ?? this.params.tensor(n).data.slice()) };
  }

  override loadStateDict(...args: Parameters<Optimizer<O>['loadStateDict']>): void {
    if (this.#evaluating) throw new Error(`${this.name}: call train() before loadStateDict()`);
    super.loadStateDict(...args);
  }

  override dispose(): void {
    if (!this.params.heap.disposed) this.#saved?.dispose();
    this.#saved = null;
    super.dispose();
  }

  /** Arena ranges of this optimizer's tensors. */
  #ranges(): Segment[] {
    return this.paramGroups.flatMap((g) =>
      g.params.map((n) => {
        const t = this.params.tensor(n);
        return { a: t.offset, b: t.offset, len: t.size };
      }),
    );
  }

  /**
   * `dst ← (y − (1 − β1)·z) / β1` from `y` and the state's z, one LINCOMB per distinct β1, for
   * the tensors that have a z; returns their names.
   */
  #average(y: Buffer, dst: Buffer): Set<string> {
    const z = this.slotRanges('z');
    const done = new Set<string>();
    if (!z) return done;
    const groupOf = new Map<string, number>();
    this.paramGroups.forEach((g, gi) => g.params.forEach((n) => groupOf.set(n, gi)));
    const byBeta = new Map<number, Segment[]>();
    for (const r of z.ranges) {
      const g = this.paramGroups[groupOf.get(r.name) as number] as unknown as {
        beta1: number | ((c: number) => number);
      };
      const b1 = typeof g.beta1 === 'function' ? g.beta1(this.stepCalls) : g.beta1;
      const segs = byBeta.get(b1) ?? [];
      segs.push({ a: r.offset, b: r.at, c: r.offset, len: r.len });
      byBeta.set(b1, segs);
      done.add(r.name);
    }
    for (const [b1, segs] of byBeta)
      runVector(this.params, OP.LINCOMB, [y, z.buffer, dst], segs, [1 / b1, -(1 - b1) / b1]);
    return done;
  }
}
