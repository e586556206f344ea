/**
 * The schedule families the CLI can print and plot, with the options each takes (and their types,
 * for parsing command-line values) and the example settings the README's plots use.
 */
import { lineChart, type LineSeries } from '../plot/svg.js';
import {
  constantFactor,
  cosineAnnealing,
  cosineWarmRestarts,
  cyclic,
  cyclicMomentum,
  exponential,
  linear,
  multiStep,
  oneCycle,
  oneCycleMomentum,
  polynomial,
  stepSchedule,
  warmup,
  type Schedule,
} from './functions.js';
import {
  constantFamily,
  cosineAnnealingFamily,
  cosineWarmRestartsFamily,
  cyclicFamily,
  exponentialFamily,
  linearFamily,
  multiStepFamily,
  oneCycleFamily,
  polynomialFamily,
  stepFamily,
} from './rules.js';

export type OptionType = 'number' | 'numbers' | 'boolean' | 'string';

/** A schedule built from options: the lr, the momentum/beta1 when the family cycles one, the options after defaults. */
export interface Built {
  lr: Schedule;
  momentum?: Schedule;
  options: Record<string, unknown>;
}

export interface CatalogEntry {
  /** CLI name (kebab-case). */
  name: string;
  /** The PyTorch class, or what the family is in PyTorch terms. */
  pytorch: string;
  /** The schedule function that computes it. */
  fn: string;
  summary: string;
  /** Whether the family scales a base lr given as `lr`. */
  takesLr: boolean;
  options: Record<string, OptionType>;
  build(o: Record<string, unknown>): Built;
  /** Settings for the README plot: one line per example. */
  examples: { label: string; steps: number; options: Record<string, unknown> }[];
}

const withLr = (family: { options: Record<string, unknown> }, lr: unknown) => ({ lr, ...family.options });

/** `o` without `lr`, for the family builders that do not take one. */
function rest(o: Record<string, unknown>): Record<string, unknown> {
  const { lr: _lr, ...r } = o;
  return r;
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    name: 'step',
    pytorch: 'StepLR',
    fn: 'stepSchedule',
    summary: 'multiply by gamma every stepSize steps',
    takesLr: true,
    options: { stepSize: 'number', gamma: 'number' },
    build: (o) => ({ lr: stepSchedule(o as never), options: withLr(stepFamily(rest(o)), o.lr) }),
    examples: [
      { label: 'stepSize 30, gamma 0.5', steps: 100, options: { lr: 0.1, stepSize: 30, gamma: 0.5 } },
      { label: 'stepSize 10, gamma 0.8', steps: 100, options: { lr: 0.1, stepSize: 10, gamma: 0.8 } },
    ],
  },
  {
    name: 'multistep',
    pytorch: 'MultiStepLR',
    fn: 'multiStep',
    summary: 'multiply by gamma at each milestone',
    takesLr: true,
    options: { milestones: 'numbers', gamma: 'number' },
    build: (o) => ({ lr: multiStep(o as never), options: withLr(multiStepFamily(rest(o)), o.lr) }),
    examples: [
      {
        label: 'milestones 30,60,80, gamma 0.3',
        steps: 100,
        options: { lr: 0.1, milestones: [30, 60, 80], gamma: 0.3 },
      },
    ],
  },
  {
    name: 'exponential',
    pytorch: 'ExponentialLR',
    fn: 'exponential',
    summary: 'multiply by gamma every step',
    takesLr: true,
    options: { gamma: 'number' },
    build: (o) => ({ lr: exponential(o as never), options: withLr(exponentialFamily(rest(o)), o.lr) }),
    examples: [
      { label: 'gamma 0.97', steps: 100, options: { lr: 0.1, gamma: 0.97 } },
      { label: 'gamma 0.99', steps: 100, options: { lr: 0.1, gamma: 0.99 } },
    ],
  },
  {
    name: 'constant',
    pytorch: 'ConstantLR',
    fn: 'constantFactor',
    summary: 'lr · factor for totalIters steps, then lr (constant warmup)',
    takesLr: true,
    options: { factor: 'number', totalIters: 'number' },
    build: (o) => ({ lr: constantFactor(o as never), options: withLr(constantFamily(rest(o)), o.lr) }),
    examples: [{ label: 'factor 0.25, totalIters 20', steps: 100, options: { lr: 0.1, factor: 0.25, totalIters: 20 } }],
  },
  {
    name: 'linear',
    pytorch: 'LinearLR',
    fn: 'linear',
    summary: 'lr · a factor moving linearly from startFactor to endFactor over totalIters steps',
    takesLr: true,
    options: { startFactor: 'number', endFactor: 'number', totalIters: 'number' },
    build: (o) => ({ lr: linear(o as never), options: withLr(linearFamily(rest(o)), o.lr) }),
    examples: [
      {
        label: 'warmup 0.1 → 1 in 30',
        steps: 100,
        options: { lr: 0.1, startFactor: 0.1, endFactor: 1, totalIters: 30 },
      },
      {
        label: 'decay 1 → 0.2 in 80',
        steps: 100,
        options: { lr: 0.1, startFactor: 1, endFactor: 0.2, totalIters: 80 },
      },
    ],
  },
  {
    name: 'polynomial',
    pytorch: 'PolynomialLR',
    fn: 'polynomial',
    summary: 'lr · (1 − t/totalIters)^power, then 0',
    takesLr: true,
    options: { totalIters: 'number', power: 'number' },
    build: (o) => ({ lr: polynomial(o as never), options: withLr(polynomialFamily(rest(o)), o.lr) }),
    examples: [
      { label: 'power 1', steps: 100, options: { lr: 0.1, totalIters: 80, power: 1 } },
      { label: 'power 2', steps: 100, options: { lr: 0.1, totalIters: 80, power: 2 } },
      { label: 'power 0.5', steps: 100, options: { lr: 0.1, totalIters: 80, power: 0.5 } },
    ],
  },
  {
    name: 'cosine',
    pytorch: 'CosineAnnealingLR',
    fn: 'cosineAnnealing',
    summary: 'cosine from lr to etaMin over tMax steps (rising again after, as in PyTorch)',
    takesLr: true,
    options: { tMax: 'number', etaMin: 'number' },
    build: (o) => ({ lr: cosineAnnealing(o as never), options: withLr(cosineAnnealingFamily(rest(o)), o.lr) }),
    examples: [
      { label: 'tMax 100', steps: 100, options: { lr: 0.1, tMax: 100 } },
      { label: 'tMax 40, etaMin 0.01 (past tMax)', steps: 100, options: { lr: 0.1, tMax: 40, etaMin: 0.01 } },
    ],
  },
  {
    name: 'cosine-restarts',
    pytorch: 'CosineAnnealingWarmRestarts',
    fn: 'cosineWarmRestarts',
    summary: 'cosine annealing restarted after t0, t0·tMult, ... steps (SGDR)',
    takesLr: true,
    options: { t0: 'number', tMult: 'number', etaMin: 'number' },
    build: (o) => ({ lr: cosineWarmRestarts(o as never), options: withLr(cosineWarmRestartsFamily(rest(o)), o.lr) }),
    examples: [
      { label: 't0 10, tMult 2', steps: 150, options: { lr: 0.1, t0: 10, tMult: 2 } },
      { label: 't0 25, tMult 1, etaMin 0.02', steps: 150, options: { lr: 0.1, t0: 25, etaMin: 0.02 } },
    ],
  },
  {
    name: 'cyclic',
    pytorch: 'CyclicLR',
    fn: 'cyclic, cyclicMomentum',
    summary: 'cycles between baseLr and maxLr (triangular, triangular2, exp_range); momentum the other way',
    takesLr: false,
    options: {
      baseLr: 'number',
      maxLr: 'number',
      stepSizeUp: 'number',
      stepSizeDown: 'number',
      mode: 'string',
      gamma: 'number',
      scaleMode: 'string',
      cycleMomentum: 'boolean',
      baseMomentum: 'number',
      maxMomentum: 'number',
    },
    build: (o) => {
      const family = cyclicFamily(o);
      return {
        lr: cyclic(o as never),
        ...(family.cyclesMomentum ? { momentum: cyclicMomentum(o as never) } : {}),
        options: family.options,
      };
    },
    examples: [
      {
        label: 'triangular',
        steps: 100,
        options: { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10, stepSizeDown: 15, mode: 'triangular' },
      },
      {
        label: 'triangular2',
        steps: 100,
        options: { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10, stepSizeDown: 15, mode: 'triangular2' },
      },
      {
        label: 'exp_range, gamma 0.98',
        steps: 100,
        options: { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10, stepSizeDown: 15, mode: 'exp_range', gamma: 0.98 },
      },
    ],
  },
  {
    name: 'one-cycle',
    pytorch: 'OneCycleLR',
    fn: 'oneCycle, oneCycleMomentum',
    summary: 'up to maxLr, then down far below the start (super-convergence); momentum the other way',
    takesLr: false,
    options: {
      maxLr: 'number',
      totalSteps: 'number',
      epochs: 'number',
      stepsPerEpoch: 'number',
      pctStart: 'number',
      annealStrategy: 'string',
      cycleMomentum: 'boolean',
      baseMomentum: 'number',
      maxMomentum: 'number',
      divFactor: 'number',
      finalDivFactor: 'number',
      threePhase: 'boolean',
    },
    build: (o) => {
      const family = oneCycleFamily(o);
      return {
        lr: oneCycle(o as never),
        ...(family.cyclesMomentum ? { momentum: oneCycleMomentum(o as never) } : {}),
        options: family.options,
      };
    },
    examples: [
      { label: 'cos', steps: 100, options: { maxLr: 0.1, totalSteps: 100 } },
      { label: 'linear', steps: 100, options: { maxLr: 0.1, totalSteps: 100, annealStrategy: 'linear' } },
      { label: 'three-phase', steps: 100, options: { maxLr: 0.1, totalSteps: 100, threePhase: true } },
    ],
  },
  {
    name: 'warmup',
    pytorch: 'LinearLR or ConstantLR, then SequentialLR',
    fn: 'warmup',
    summary: 'linear or constant warmup to lr over warmupSteps, optionally followed by --then NAME',
    takesLr: true,
    options: { warmupSteps: 'number', mode: 'string', startFactor: 'number' },
    build: (o) => ({ lr: warmup(o as never), options: { ...o } }),
    examples: [
      {
        label: 'linear 10 steps, then cosine',
        steps: 100,
        options: {
          lr: 0.1,
          warmupSteps: 10,
          startFactor: 0.1,
          then: { name: 'cosine', options: { lr: 0.1, tMax: 90 } },
        },
      },
      {
        label: 'constant 10 steps, then step',
        steps: 100,
        options: {
          lr: 0.1,
          warmupSteps: 10,
          mode: 'constant',
          startFactor: 0.25,
          then: { name: 'step', options: { lr: 0.1, stepSize: 30, gamma: 0.5 } },
        },
      },
    ],
  },
];

/** The entry a CLI name refers to: its kebab name, its PyTorch class or its function, in any case. */
export function findEntry(name: string): CatalogEntry | undefined {
  const key = name.toLowerCase().replace(/[-_]/g, '');
  return CATALOG.find(
    (e) =>
      e.name.replace(/-/g, '') === key ||
      e.pytorch.toLowerCase() === key ||
      e.fn
        .split(', ')
        .map((f) => f.toLowerCase())
        .includes(key),
  );
}

/** Builds an entry's schedule; a `then: { name, options }` (warmup) is built from the catalog first. */
export function buildEntry(entry: CatalogEntry, options: Record<string, unknown>): Built {
  const then = options.then as { name: string; options: Record<string, unknown> } | undefined;
  if (then === undefined) return entry.build(options);
  const next = findEntry(then.name);
  if (!next) throw new RangeError(`then: unknown schedule ${JSON.stringify(then.name)}`);
  const inner = buildEntry(next, then.options);
  const built = entry.build({ ...options, then: inner.lr });
  return { ...built, options: { ...options, then: { name: next.name, options: inner.options } } };
}

/** The lr (and momentum) of the first `steps` steps. */
export function tabulate(built: Built, steps: number): { step: number; lr: number; momentum?: number }[] {
  return Array.from({ length: steps }, (_, t) =>
    built.momentum ? { step: t, lr: built.lr(t), momentum: built.momentum(t) } : { step: t, lr: built.lr(t) },
  );
}

/** One chart of several schedules (momentum, when one cycles it, on the right axis). */
export function scheduleChart(
  title: string,
  lines: { label: string; built: Built; steps: number }[],
  logY = false,
): string {
  const series: LineSeries[] = [];
  for (const l of lines) series.push({ name: l.label, points: tabulate(l.built, l.steps).map((r) => [r.step, r.lr]) });
  const withMomentum = lines.find((l) => l.built.momentum);
  if (withMomentum)
    series.push({
      name: lines.length === 1 ? 'momentum' : `${withMomentum.label} (momentum)`,
      points: tabulate(withMomentum.built, withMomentum.steps).map((r) => [r.step, r.momentum as number]),
      axis: 'right',
    });
  return lineChart({
    title,
    xLabel: 'step',
    yLabel: 'learning rate',
    ...(withMomentum ? { y2Label: 'momentum / beta1' } : {}),
    series,
    logY,
  });
}
