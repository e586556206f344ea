/**
 * Runs several optimizers on one 2-D function, one step at a time, so the page can animate them.
 * Each run owns a `ParamStore` holding the point (x, y) as one tensor of shape [2]; its optimizer
 * is built by name from the library (`createOptimizer`) and steps through the chosen backend. The
 * objective's value and gradient are the page's own plain TypeScript (functions.ts).
 */
import { createOptimizer, ParamStore, Rng, type AnyOptimizer, type BackendName, type DType } from 'downhill';
import type { Point, TestFunction } from './functions';
import type { OptionValue } from './optimizers';
import type { ScheduleChoice } from './schedules';

export interface RunConfig {
  optimizer: string;
  options: Readonly<Record<string, OptionValue>>;
  /** How the run is named in the legend and the results table. */
  label: string;
}

export interface RaceConfig {
  fn: TestFunction;
  /** The function's settings (conditioning, noise, seed, ...). */
  settings: Readonly<Record<string, number>>;
  start: Point;
  steps: number;
  backend: BackendName;
  dtype: DType;
  schedule: ScheduleChoice;
  scheduleParams: Readonly<Record<string, number>>;
}

export type RunStatus = 'running' | 'done' | 'diverged' | 'failed';

/** Where a run counts as diverged: far off any plot, or a non-finite value. */
const FAR = 1e6;

export class Run {
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  /** f at each point of the path (without noise). */
  readonly fs: number[] = [];
  status: RunStatus = 'running';
  /** Why a run failed (the library's error message) or diverged. */
  message = '';
  readonly #store: ParamStore | null;
  readonly #opt: AnyOptimizer | null;
  readonly #rng: Rng | null;

  constructor(
    readonly config: RunConfig,
    readonly race: RaceConfig,
    store: ParamStore | null,
    opt: AnyOptimizer | null,
    error: unknown,
  ) {
    this.#store = store;
    this.#opt = opt;
    this.#rng = race.fn.noisy ? new Rng(race.settings.seed ?? 1) : null;
    if (opt === null || store === null) {
      this.status = 'failed';
      this.message = error instanceof Error ? error.message : String(error);
      return;
    }
    this.#record();
  }

  get steps(): number {
    return Math.max(0, this.xs.length - 1);
  }

  /** The objective at the store's current point: writes the gradient (with noise, if any), returns f. */
  #closure = (): number => {
    const store = this.#store as ParamStore;
    const p = store.get('xy');
    const x = p[0];
    const y = p[1];
    const { fn, settings } = this.race;
    const g = fn.grad(x, y, settings);
    if (this.#rng !== null) {
      const sigma = settings.noise ?? 0;
      g[0] += sigma * this.#rng.normal();
      g[1] += sigma * this.#rng.normal();
    }
    store.setGrad('xy', g);
    return fn.value(x, y, settings);
  };

  /** The point the optimizer means for evaluation: schedule-free's average, else the params. */
  #point(): [number, number] {
    const opt = this.#opt as AnyOptimizer & { evalParams?: () => Record<string, ArrayLike<number>> };
    const p = typeof opt.evalParams === 'function' ? opt.evalParams().xy : (this.#store as ParamStore).get('xy');
    return [p[0], p[1]];
  }

  #record(): void {
    const [x, y] = this.#point();
    const f = this.race.fn.value(x, y, this.race.settings);
    this.xs.push(x);
    this.ys.push(y);
    this.fs.push(f);
    if (!Number.isFinite(f) || Math.abs(x) > FAR || Math.abs(y) > FAR) {
      this.status = 'diverged';
      this.message = `left the plot at step ${this.steps} (f = ${f.toPrecision(3)})`;
    } else if (this.steps >= this.race.steps) {
      this.status = 'done';
    }
  }

  /** One optimizer step (L-BFGS: one `step(closure)`, which may evaluate f several times). */
  step(): void {
    if (this.status !== 'running') return;
    const opt = this.#opt as AnyOptimizer & { closureRequired?: boolean };
    try {
      if (opt.closureRequired) opt.step(this.#closure);
      else {
        this.#closure();
        opt.step();
      }
    } catch (e) {
      this.status = 'failed';
      this.message = e instanceof Error ? e.message : String(e);
      return;
    }
    this.#record();
  }

  dispose(): void {
    this.#store?.dispose();
  }
}

/** The options a run's optimizer is built with: its lr replaced by the schedule, if one is chosen. */
export function optionsWithSchedule(run: RunConfig, race: RaceConfig): Record<string, unknown> {
  const options: Record<string, unknown> = { ...run.options };
  const lr = options.lr;
  if (typeof lr === 'number') {
    const s = race.schedule.build(lr, race.steps, race.scheduleParams);
    if (s !== null) options.lr = s;
  }
  return options;
}

/** One store and optimizer per run; a run whose options the library rejects is `failed` with its message. */
export async function createRuns(race: RaceConfig, runs: readonly RunConfig[]): Promise<Run[]> {
  const out: Run[] = [];
  for (const config of runs) {
    let store: ParamStore | null = null;
    try {
      store = await ParamStore.create(
        { xy: { shape: [2], init: [race.start[0], race.start[1]] } },
        { backend: race.backend, dtype: race.dtype },
      );
      const opt = createOptimizer(config.optimizer, store, optionsWithSchedule(config, race), 'optimizer');
      out.push(new Run(config, race, store, opt, null));
    } catch (e) {
      store?.dispose();
      out.push(new Run(config, race, null, null, e));
    }
  }
  return out;
}
