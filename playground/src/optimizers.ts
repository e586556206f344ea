/**
 * The optimizers the paths tab offers, read from the core's specs (`SPECS`), so every name,
 * hyperparameter, default and domain in the controls is the one the library checks against.
 */
import { SPECS, type SpecData } from 'downhill';

export type HParam = SpecData['hparams'][number];
export type OptionValue = number | boolean | string | null;

/** Optimizers of the library that a single 2-D point cannot show, and why. */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  Muon: 'orthogonalises the update of a weight matrix; a 2-D point is one vector',
  OptaxMuon: 'orthogonalises the update of a weight matrix; a 2-D point is one vector',
  Lookahead: 'wraps another optimizer (not offered here)',
};

/** Options that are not shown: `maximize` would climb the hill. */
const HIDDEN = new Set(['maximize']);

/**
 * Starting settings for these small problems where the library's default (tuned for networks)
 * barely moves or diverges on the default function, Rosenbrock from (−1.5, 2.5) in 500 steps.
 * Everything else starts at the spec's default.
 */
const PLAYGROUND: Readonly<Record<string, Readonly<Record<string, OptionValue>>>> = {
  SGD: { lr: 0.001, momentum: 0.9 },
  Adam: { lr: 0.1 },
  AdamW: { lr: 0.1 },
  Adagrad: { lr: 1 },
  RMSprop: { lr: 0.01 },
  Adadelta: { lr: 10 },
  Adamax: { lr: 0.1 },
  NAdam: { lr: 0.1 },
  RAdam: { lr: 0.002 },
  LAMB: { lr: 0.05 },
  LARS: { lr: 10 },
  AdaBelief: { lr: 0.1 },
  Yogi: { lr: 0.1 },
  ScheduleFreeAdamW: { lr: 0.1 },
  ScheduleFreeSGD: { lr: 0.002 },
  AdaBound: { lr: 0.05 },
  Lion: { lr: 0.01 },
  Adafactor: { lr: 0.05 },
  // One L-BFGS iteration per step, so the path shows every iterate; the line search needs evaluations.
  LBFGS: { lineSearchFn: 'strong_wolfe', maxIter: 1, maxEval: 25 },
};

export interface OptimizerEntry {
  name: string;
  spec: SpecData;
  /** The controls, in the spec's order. */
  hparams: HParam[];
}

/** The spec's default of one option, as the public API takes it. */
export function specDefault(h: HParam): OptionValue {
  if (h.default === null) return null;
  const v = typeof h.default === 'string' ? Number(h.default) : h.default;
  if (h.kind === 'bool') return v !== 0;
  if (h.kind === 'choice') return (h.choices ?? [])[v] ?? null;
  return v;
}

/** The starting value of one option in this page. */
export function startValue(name: string, h: HParam): OptionValue {
  const own = PLAYGROUND[name];
  return own && h.name in own ? own[h.name] : specDefault(h);
}

export const OPTIMIZERS: readonly OptimizerEntry[] = SPECS.filter((s) => !(s.name in LEFT_OUT)).map((spec) => ({
  name: spec.name,
  spec,
  hparams: spec.hparams.filter((h) => !HIDDEN.has(h.name)),
}));

export function optimizerByName(name: string): OptimizerEntry {
  const o = OPTIMIZERS.find((e) => e.name === name);
  if (!o) throw new RangeError(`optimizer: ${JSON.stringify(name)} is not offered here`);
  return o;
}

/** The starting options of an optimizer in this page. */
export function startOptions(name: string): Record<string, OptionValue> {
  const o = optimizerByName(name);
  return Object.fromEntries(o.hparams.map((h) => [h.name, startValue(name, h)]));
}

/** Bounds of a real or integer option as text: `[0, 1)`, `>= 0`. */
export function describeDomain(h: HParam): string {
  const d = h.domain;
  if (!d) return '';
  const lo = Number(d.lo);
  const hi = Number(d.hi);
  const none = d.nullable ? '; empty: none' : '';
  if (lo === -Infinity && hi === Infinity) return `any number${none}`;
  if (hi === Infinity) return `${d.loOpen ? '>' : '≥'} ${lo}${none}`;
  if (lo === -Infinity) return `${d.hiOpen ? '<' : '≤'} ${hi}${none}`;
  return `in ${d.loOpen ? '(' : '['}${lo}, ${hi}${d.hiOpen ? ')' : ']'}${none}`;
}
