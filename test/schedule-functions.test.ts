/**
 * Schedule functions: they give PyTorch's recorded values, agree bit for bit with the scheduler
 * objects, evaluate in any order, compose as SequentialLR/ChainedScheduler do, and reject bad
 * options with errors that name the option.
 */
import { describe, expect, it } from 'vitest';
import { buildSchedulerCase, camelCase } from '../ts/conformance/scheduler.js';
import {
  chainSchedules,
  constantFactor,
  constantSchedule,
  cosineAnnealing,
  cosineWarmRestarts,
  cyclic,
  cyclicMomentum,
  exponential,
  lambdaSchedule,
  linear,
  multiplicative,
  multiStep,
  oneCycle,
  oneCycleMomentum,
  polynomial,
  sequential,
  stepSchedule,
  warmup,
  type Schedule,
} from '../ts/schedule/index.js';
import { CASES, LAMBDAS, recorded } from './schedule-helpers.js';

type Spec = { name: string; args: Record<string, unknown> };

function opts(args: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args))
    if (v !== null && k !== 'last_epoch' && k !== 'optimizer')
      o[camelCase(k)] = k === 'lr_lambda' ? LAMBDAS[v as string] : v;
  return o;
}

/** The schedule function equivalent to a recorded scheduler, on a group whose initial lr is `lr`. */
function fnOf(spec: Spec, lr: number): Schedule | null {
  const o = opts(spec.args);
  const members = () => {
    const ms = spec.args.schedulers as Spec[];
    // A OneCycleLR member overwrites the group's initial lr, which the others then start from (PyTorch).
    const oneCycles = ms.filter((m) => m.name === 'OneCycleLR');
    const last = oneCycles[oneCycles.length - 1];
    const base = last ? (last.args.max_lr as number) / ((last.args.div_factor as number | undefined) ?? 25) : lr;
    return ms.map((m) => fnOf(m, base) as Schedule);
  };
  switch (spec.name) {
    case 'StepLR':
      return stepSchedule({ lr, ...o } as never);
    case 'MultiStepLR':
      return multiStep({ lr, ...o } as never);
    case 'ExponentialLR':
      return exponential({ lr, ...o } as never);
    case 'ConstantLR':
      return constantFactor({ lr, ...o } as never);
    case 'LinearLR':
      return linear({ lr, ...o } as never);
    case 'PolynomialLR':
      return polynomial({ lr, ...o } as never);
    case 'CosineAnnealingLR':
      return cosineAnnealing({ lr, ...o } as never);
    case 'CosineAnnealingWarmRestarts':
      return cosineWarmRestarts({ lr, ...o } as never);
    case 'CyclicLR':
      return cyclic(o as never);
    case 'OneCycleLR':
      return oneCycle(o as never);
    case 'LambdaLR':
      return lambdaSchedule({ lr, ...o } as never);
    case 'MultiplicativeLR':
      return multiplicative({ lr, ...o } as never);
    case 'SequentialLR':
      return sequential(members(), o.milestones as number[]);
    case 'ChainedScheduler':
      return chainSchedules(members());
    default:
      return null;
  }
}

function specOf(c: Record<string, unknown>): Spec {
  return { name: c.scheduler as string, args: c.arguments as Record<string, unknown> };
}

/**
 * PyTorch's CyclicLR computes its constructor step with the group's recorded initial lr (it sets
 * base_lrs only afterwards), so inside a ChainedScheduler behind another member its step-0 value
 * is that lr; a schedule function uses its own baseLr. From step 1 on they agree.
 */
function firstComparable(c: Record<string, unknown>): number {
  const s = specOf(c);
  if (s.name !== 'ChainedScheduler') return 0;
  return (s.args.schedulers as Spec[]).some((m, i) => i > 0 && m.name === 'CyclicLR') ? 1 : 0;
}

const close = (a: number, e: number) => Math.abs(a - e) <= 1e-15 + 1e-12 * Math.abs(e);

describe('schedule functions against the recorded PyTorch values', () => {
  for (const c of CASES) {
    const fn = fnOf(specOf(c.data), c.data.initial_lr as number);
    if (!fn) continue;
    it(c.id, () => {
      const want = recorded(c.data, 'lr');
      for (let t = firstComparable(c.data); t < want.length; t++)
        expect(close(fn(t), want[t]), `lr at step ${t}`).toBe(true);
      const s = specOf(c.data);
      if (c.data.momentum_key && (s.name === 'CyclicLR' || s.name === 'OneCycleLR')) {
        const m = (s.name === 'CyclicLR' ? cyclicMomentum : oneCycleMomentum)(opts(s.args) as never);
        recorded(c.data, 'momentum').forEach((v, t) => expect(close(m(t), v), `momentum at step ${t}`).toBe(true));
      }
    });
  }
});

describe('schedule functions and scheduler objects share one implementation', () => {
  for (const c of CASES) {
    const fn = fnOf(specOf(c.data), c.data.initial_lr as number);
    if (!fn) continue;
    it(`${c.id}: identical bits at every step`, () => {
      const run = buildSchedulerCase(c.data, { lambdas: LAMBDAS });
      const group = run.optimizer.paramGroups[0];
      const n = c.data.num_steps as number;
      for (let t = 0; t <= n; t++) {
        if (t >= firstComparable(c.data))
          expect(Object.is(group.lr, fn(t)), `step ${t}: ${group.lr} vs ${fn(t)}`).toBe(true);
        if (t < n) run.step(t);
      }
    });
  }
});

describe('evaluation order', () => {
  const make: [string, () => Schedule][] = [
    ['exponential', () => exponential({ lr: 0.1, gamma: 0.999 })],
    ['cosine annealing', () => cosineAnnealing({ lr: 0.1, tMax: 700, etaMin: 0.001 })],
    ['polynomial', () => polynomial({ lr: 0.1, totalIters: 2500, power: 0.9 })],
    ['multiplicative', () => multiplicative({ lr: 0.1, lrLambda: (t) => 1 - 1e-4 * (t % 7) })],
    ['warmup then cosine', () => warmup({ lr: 0.1, warmupSteps: 100, then: cosineAnnealing({ lr: 0.1, tMax: 2900 }) })],
  ];
  for (const [name, m] of make) {
    it(`${name}: any order gives the values of a forward walk`, () => {
      const forward = m();
      const expected = Array.from({ length: 3001 }, (_, t) => forward(t));
      const s = m();
      const order = [3000, 5, 2047, 1024, 0, 1023, 2999, 1, 4096 % 3001, 700, 701, 699];
      for (let i = 0; i < 200; i++) order.push((i * 7919) % 3001);
      for (const t of order) expect(Object.is(s(t), expected[t]), `step ${t}`).toBe(true);
    });
  }
  it('closed-form schedules answer any step directly', () => {
    const s = cosineWarmRestarts({ lr: 1, t0: 3, tMult: 2 });
    // Cycles of 3, 6, 12, ... steps start at 0, 3, 9, 21, 45, ...: every start is the full lr.
    for (const t of [0, 3, 9, 21, 45, 93, 3 * (2 ** 40 - 1)]) expect(s(t)).toBe(1);
  });
});

describe('composition', () => {
  it('sequential restarts each schedule at its own step 0, also before the previous one finished', () => {
    const s = sequential([constantSchedule(1), (t: number) => 10 + t, exponential({ lr: 0.5, gamma: 0.5 })], [3, 5]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(s)).toEqual([1, 1, 1, 10, 11, 0.5, 0.25, 0.125]);
  });
  it('chain multiplies the factors of scaling schedules (PyTorch ChainedScheduler docs)', () => {
    const s = chainSchedules([
      constantFactor({ lr: 0.05, factor: 0.1, totalIters: 20 }),
      exponential({ lr: 0.05, gamma: 0.9 }),
    ]);
    for (let t = 0; t < 40; t++) {
      const want = 0.05 * (t < 20 ? 0.1 : 1) * 0.9 ** t;
      expect(Math.abs(s(t) - want)).toBeLessThanOrEqual(1e-14 * want);
    }
  });
  it('warmup reaches lr at warmupSteps and hands over to `then` at its step 0', () => {
    const then = cosineAnnealing({ lr: 0.2, tMax: 10 });
    const lin = warmup({ lr: 0.2, warmupSteps: 4, startFactor: 0.25, then });
    expect(lin(0)).toBeCloseTo(0.05, 15);
    expect(lin(3)).toBeCloseTo(0.2 * (0.25 + 0.75 * 0.75), 15);
    for (let t = 4; t < 20; t++) expect(lin(t)).toBe(then(t - 4));
    const cst = warmup({ lr: 0.2, warmupSteps: 4, mode: 'constant', startFactor: 0.5 });
    expect([0, 3, 4, 50].map(cst)).toEqual([0.1, 0.1, 0.2, 0.2]);
  });
  it('a nested composition starts over at its own step 0', () => {
    const inner = chainSchedules([
      linear({ lr: 1, startFactor: 0.5, totalIters: 2 }),
      exponential({ lr: 1, gamma: 0.5 }),
    ]);
    const s = sequential([constantSchedule(3), inner], [2]);
    for (let t = 2; t < 8; t++) expect(s(t)).toBe(inner(t - 2));
  });
  it('functions made elsewhere compose as they are', () => {
    const s = chainSchedules([(t: number) => 1 / (t + 1), exponential({ lr: 1, gamma: 0.5 })]);
    // The user function sets the lr outright each step; the exponential scales it by one gamma.
    expect([0, 1, 3].map(s)).toEqual([1, 0.25, 0.125]);
  });
});

describe('option checks name the option', () => {
  const lr = 0.1;
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['missing stepSize', () => stepSchedule({ lr } as never), TypeError, /^options\.stepSize: /],
    ['stepSize 0', () => stepSchedule({ lr, stepSize: 0 }), RangeError, /^options\.stepSize: /],
    ['fractional stepSize', () => stepSchedule({ lr, stepSize: 1.5 }), RangeError, /^options\.stepSize: /],
    ['negative lr', () => stepSchedule({ lr: -1, stepSize: 1 }), RangeError, /^options\.lr: /],
    ['lr not a number', () => exponential({ lr: '0.1', gamma: 0.9 } as never), TypeError, /^options\.lr: /],
    ['misspelt option', () => stepSchedule({ lr, stepSize: 1, gama: 0.5 } as never), RangeError, /^options\.gama: /],
    ['missing gamma', () => exponential({ lr } as never), TypeError, /^options\.gamma: /],
    ['milestones not a list', () => multiStep({ lr, milestones: 5 } as never), TypeError, /^options\.milestones: /],
    ['negative milestone', () => multiStep({ lr, milestones: [3, -1] }), RangeError, /^options\.milestones\[1\]: /],
    ['factor > 1', () => constantFactor({ lr, factor: 2 }), RangeError, /^options\.factor: /],
    ['startFactor 0', () => linear({ lr, startFactor: 0 }), RangeError, /^options\.startFactor: /],
    ['endFactor > 1', () => linear({ lr, endFactor: 1.5 }), RangeError, /^options\.endFactor: /],
    ['negative power', () => polynomial({ lr, power: -1 }), RangeError, /^options\.power: /],
    ['tMax 0', () => cosineAnnealing({ lr, tMax: 0 }), RangeError, /^options\.tMax: /],
    ['etaMin NaN', () => cosineAnnealing({ lr, tMax: 5, etaMin: NaN }), RangeError, /^options\.etaMin: /],
    ['t0 0', () => cosineWarmRestarts({ lr, t0: 0 }), RangeError, /^options\.t0: /],
    ['tMult 1.5', () => cosineWarmRestarts({ lr, t0: 2, tMult: 1.5 }), RangeError, /^options\.tMult: /],
    ['cyclic mode', () => cyclic({ baseLr: 0.01, maxLr: 0.1, mode: 'sine' as never }), RangeError, /^options\.mode: /],
    [
      'cyclic stepSizeUp 0',
      () => cyclic({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 0 }),
      RangeError,
      /^options\.stepSizeUp: /,
    ],
    ['cyclic maxLr missing', () => cyclic({ baseLr: 0.01 } as never), TypeError, /^options\.maxLr: /],
    ['one-cycle length', () => oneCycle({ maxLr: 1 }), TypeError, /^options\.totalSteps: /],
    ['one-cycle epochs 0', () => oneCycle({ maxLr: 1, epochs: 0, stepsPerEpoch: 3 }), RangeError, /^options\.epochs: /],
    [
      'one-cycle pctStart',
      () => oneCycle({ maxLr: 1, totalSteps: 9, pctStart: 1.5 }),
      RangeError,
      /^options\.pctStart: /,
    ],
    [
      'one-cycle zero phase',
      () => oneCycle({ maxLr: 1, totalSteps: 10, pctStart: 0.1 }),
      RangeError,
      /^options\.pctStart: /,
    ],
    [
      'anneal',
      () => oneCycle({ maxLr: 1, totalSteps: 9, annealStrategy: 'cosine' as never }),
      RangeError,
      /^options\.annealStrategy: /,
    ],
    ['lrLambda', () => lambdaSchedule({ lr, lrLambda: 0.9 as never }), TypeError, /^options\.lrLambda: /],
    ['warmupSteps', () => warmup({ lr, warmupSteps: -1 }), RangeError, /^options\.warmupSteps: /],
    ['warmup then', () => warmup({ lr, warmupSteps: 2, then: 3 as never }), TypeError, /^options\.then: /],
    ['constant value', () => constantSchedule(Infinity), RangeError, /^value: /],
    ['no schedules', () => sequential([], []), RangeError, /^schedules: /],
    ['not a schedule', () => chainSchedules([constantSchedule(1), 2 as never]), TypeError, /^schedules\[1\]: /],
    ['milestone count', () => sequential([constantSchedule(1), constantSchedule(2)], []), RangeError, /^milestones: /],
    [
      'milestones decreasing',
      () => sequential([constantSchedule(1), constantSchedule(2), constantSchedule(3)], [5, 3]),
      RangeError,
      /^milestones\[1\]: /,
    ],
  ];
  for (const [what, call, cls, msg] of cases)
    it(what, () => {
      expect(call).toThrow(cls);
      expect(call).toThrow(msg);
    });

  it('steps are non-negative integers, and one-cycle ends one step past totalSteps − 1', () => {
    const s = stepSchedule({ lr, stepSize: 3 });
    expect(() => s(-1)).toThrow(RangeError);
    expect(() => s(1.5)).toThrow(/^step: /);
    expect(() => s('1' as never)).toThrow(TypeError);
    const oc = oneCycle({ maxLr: 1, totalSteps: 10 });
    expect(Number.isFinite(oc(10))).toBe(true);
    expect(() => oc(11)).toThrow(/^step: 11 is past options\.totalSteps \(10\)/);
  });
  it('a lambda that returns something else than a number is named', () => {
    expect(() => lambdaSchedule({ lr, lrLambda: () => 'x' as never })(1)).toThrow(/^options\.lrLambda: /);
  });
});
