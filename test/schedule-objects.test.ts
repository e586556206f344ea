/**
 * Scheduler objects: exact resume through a JSON state dict for every recorded case, the
 * ordering warning, several param groups, and checks that leave everything untouched on error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildSchedulerCase } from '../ts/conformance/scheduler.js';
import {
  ChainedScheduler,
  ConstantLR,
  CosineAnnealingLR,
  CyclicLR,
  cyclicMomentum,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  MultiStepLR,
  OneCycleLR,
  oneCycleMomentum,
  onWarning,
  ReduceLROnPlateau,
  SequentialLR,
  StepLR,
  type DownhillWarning,
} from '../ts/schedule/index.js';
import { CASES, dummy, LAMBDAS } from './schedule-helpers.js';
import { ParamStore } from '../ts/params.js';
import { SGD } from '../ts/optim/sgd.js';
import { Adam } from '../ts/optim/adam.js';

const ctx = { lambdas: LAMBDAS };

/** What a step leaves behind that must match bit for bit. */
function snapshot(run: ReturnType<typeof buildSchedulerCase>): unknown[] {
  const g = run.optimizer.paramGroups[0];
  const s = run.scheduler;
  const counters = s instanceof ReduceLROnPlateau ? [s.best, s.numBadEpochs, s.cooldownCounter] : [];
  return [g.lr, run.momentumKey ? g[run.momentumKey] : null, s.lastEpoch, ...s.getLastLr(), ...counters];
}

describe('exact resume from a JSON state dict, on a fresh optimizer and scheduler', () => {
  for (const c of CASES) {
    it(c.id, () => {
      const n = c.data.num_steps as number;
      const whole = buildSchedulerCase(c.data, ctx);
      const expected: unknown[][] = [];
      for (let t = 0; t < n; t++) {
        whole.step(t);
        expected.push(snapshot(whole));
      }
      // The fresh optimizer also starts from another lr, as one restored from a checkpoint would.
      const h = (c.data.optimizer as { hyperparameters: Record<string, unknown> }).hyperparameters;
      const elsewhere = {
        ...c.data,
        initial_lr: 0.777,
        optimizer: { ...(c.data.optimizer as object), hyperparameters: { ...h, lr: 0.777 } },
      };
      for (const k of [1, Math.floor(n / 3), n - 1]) {
        const first = buildSchedulerCase(c.data, ctx);
        for (let t = 0; t < k; t++) first.step(t);
        const saved = JSON.parse(JSON.stringify(first.scheduler.stateDict()));
        for (const fresh of [c.data, elsewhere]) {
          const second = buildSchedulerCase(fresh, ctx);
          second.scheduler.loadStateDict(saved);
          expect(snapshot(second).slice(0, 3)).toEqual(expected[k - 1].slice(0, 3));
          for (let t = k; t < n; t++) {
            second.step(t);
            expect(snapshot(second), `resumed at ${k}, step ${t}`).toEqual(expected[t]);
          }
        }
      }
    });
  }
});

describe('the ordering warning', () => {
  let seen: DownhillWarning[] = [];
  let off = onWarning((w) => seen.push(w));
  afterEach(() => {
    seen = [];
  });

  it('fires once per scheduler stepped before the first optimizer step', () => {
    const opt = dummy([{ lr: 0.1 }]);
    const s = new StepLR(opt, { stepSize: 2 });
    s.step();
    s.step();
    expect(seen.map((w) => w.code)).toEqual(['DOWNHILL_SCHEDULER_BEFORE_OPTIMIZER']);
    expect(seen[0].message).toMatch(/^StepLR\.step\(\) was called before the optimizer's first step\(\)/);
    new ExponentialLR(opt, { gamma: 0.9 }).step();
    expect(seen).toHaveLength(2);
    new ReduceLROnPlateau(opt).step(1);
    expect(seen).toHaveLength(3);
  });
  it('stays quiet in the right order, and when the optimizer does not count its steps', () => {
    const opt = dummy([{ lr: 0.1 }]);
    const s = new StepLR(opt, { stepSize: 2 });
    opt.stepCalls += 1;
    s.step();
    const uncounted = { paramGroups: [{ lr: 0.1 }] };
    new StepLR(uncounted, { stepSize: 2 }).step();
    expect(seen).toEqual([]);
  });
  it('a composite warns for itself, not for its members', () => {
    const opt = dummy([{ lr: 0.1 }]);
    const a = new LinearLR(opt, { totalIters: 3 });
    const b = new ExponentialLR(opt, { gamma: 0.9 });
    new SequentialLR(opt, { schedulers: [a, b], milestones: [3] }).step();
    expect(seen.map((w) => w.message.split('.')[0])).toEqual(['SequentialLR']);
  });
  it('goes to process.emitWarning when no handler is registered', () => {
    off();
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      new StepLR(dummy([{ lr: 0.1 }]), { stepSize: 2 }).step();
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][1]).toEqual({ type: 'DownhillWarning', code: 'DOWNHILL_SCHEDULER_BEFORE_OPTIMIZER' });
    } finally {
      spy.mockRestore();
      off = onWarning((w) => seen.push(w));
    }
  });
});

describe('param groups', () => {
  it('records initialLr once per group, so later schedulers scale the same base (PyTorch setdefault)', () => {
    const opt = dummy([{ lr: 0.1 }, { lr: 0.01 }]);
    const a = new ConstantLR(opt, { factor: 0.5, totalIters: 2 });
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.01]);
    const b = new CosineAnnealingLR(opt, { tMax: 10 });
    expect(b.baseLrs).toEqual([0.1, 0.01]);
    expect(a.getLastLr()).toEqual([0.05, 0.005]);
  });
  it('scales each group from its own lr and takes per-group options', () => {
    const opt = dummy([
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.3, momentum: 0.5 },
    ]);
    const s = new CyclicLR(opt, { baseLr: [0.01, 0.02], maxLr: [0.1, 0.2], stepSizeUp: 2, maxMomentum: [0.95, 0.9] });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([
      [0.01, 0.95],
      [0.02, 0.9],
    ]);
    opt.stepCalls++;
    s.step();
    s.step();
    expect(s.getLastLr()).toEqual([0.1, 0.2]);
    expect(opt.paramGroups.map((g) => g.momentum)).toEqual([0.8, 0.8]);
  });
  it("cycles Adam's beta1 where groups have one", () => {
    const opt = dummy([{ lr: 0.1, beta1: 0.9, beta2: 0.999 }]);
    new OneCycleLR(opt, { maxLr: 1, totalSteps: 10 });
    expect(opt.paramGroups[0].beta1).toBe(0.95);
    expect(opt.paramGroups[0].beta2).toBe(0.999);
    expect(opt.paramGroups[0].momentum).toBeUndefined();
  });
  it('gives LambdaLR one function per group', () => {
    const opt = dummy([{ lr: 1 }, { lr: 2 }]);
    const s = new LambdaLR(opt, { lrLambda: [(t) => t + 1, (t) => 1 / (t + 1)] });
    opt.stepCalls++;
    s.step();
    expect(s.getLastLr()).toEqual([2, 1]);
  });
  it('ReduceLROnPlateau keeps a min lr per group', () => {
    const opt = dummy([{ lr: 1 }, { lr: 1 }], 1);
    const p = new ReduceLROnPlateau(opt, { patience: 0, factor: 0.5, minLr: [0.6, 0.1] });
    for (const m of [1, 1, 1]) p.step(m);
    expect(p.getLastLr()).toEqual([0.6, 0.25]);
  });
});

describe('errors name the argument and change nothing', () => {
  const fresh = () => dummy([{ lr: 0.1, momentum: 0.9 }]);
  const construct: [string, (o: ReturnType<typeof fresh>) => unknown, ErrorConstructor, RegExp][] = [
    ['no optimizer', () => new StepLR(null as never, { stepSize: 1 }), TypeError, /^optimizer: /],
    ['no groups', () => new StepLR({ paramGroups: [] }, { stepSize: 1 }), RangeError, /^optimizer\.paramGroups: /],
    [
      'group without lr',
      () => new StepLR({ paramGroups: [{}] } as never, { stepSize: 1 }),
      TypeError,
      /^optimizer\.paramGroups\[0\]\.lr: /,
    ],
    ['bad option', (o) => new StepLR(o, { stepSize: 0 }), RangeError, /^options\.stepSize: /],
    [
      'unknown option',
      (o) => new ExponentialLR(o, { gamma: 0.9, step_size: 3 } as never),
      RangeError,
      /^options\.step_size: /,
    ],
    [
      'cyclic mode',
      (o) => new CyclicLR(o, { baseLr: 0.01, maxLr: 0.1, mode: 'x' as never }),
      RangeError,
      /^options\.mode: /,
    ],
    [
      'per-group length',
      (o) => new CyclicLR(o, { baseLr: [0.01, 0.02], maxLr: 0.1 }),
      RangeError,
      /^options\.baseLr: /,
    ],
    [
      'nothing to cycle',
      () => new CyclicLR(dummy([{ lr: 0.1 }]), { baseLr: 0.01, maxLr: 0.1 }),
      RangeError,
      /^options\.cycleMomentum: /,
    ],
    [
      'zero-length phase',
      (o) => new OneCycleLR(o, { maxLr: 1, totalSteps: 10, pctStart: 0.1 }),
      RangeError,
      /^options\.pctStart: /,
    ],
    ['plateau factor', (o) => new ReduceLROnPlateau(o, { factor: 1 }), RangeError, /^options\.factor: /],
    ['plateau mode', (o) => new ReduceLROnPlateau(o, { mode: 'down' as never }), RangeError, /^options\.mode: /],
    [
      'plateau thresholdMode',
      (o) => new ReduceLROnPlateau(o, { thresholdMode: 'x' as never }),
      RangeError,
      /^options\.thresholdMode: /,
    ],
    ['plateau minLr', (o) => new ReduceLROnPlateau(o, { minLr: [0, 0] }), RangeError, /^options\.minLr: /],
    ['plateau patience', (o) => new ReduceLROnPlateau(o, { patience: -1 }), RangeError, /^options\.patience: /],
  ];
  for (const [what, make, cls, msg] of construct)
    it(`construction: ${what}`, () => {
      const o = fresh();
      const before = JSON.stringify(o);
      expect(() => make(o)).toThrow(cls);
      expect(() => make(o)).toThrow(msg);
      expect(JSON.stringify(o)).toBe(before);
    });

  it('composition checks its members', () => {
    const o = fresh();
    const other = fresh();
    const a = new StepLR(o, { stepSize: 2 });
    const b = new ExponentialLR(o, { gamma: 0.9 });
    const foreign = new ExponentialLR(other, { gamma: 0.9 });
    const plateau = new ReduceLROnPlateau(o);
    expect(() => new SequentialLR(o, { schedulers: [a, b], milestones: [] })).toThrow(/^options\.milestones: /);
    expect(() => new SequentialLR(o, { schedulers: [a, b, b], milestones: [4, 2] })).toThrow(
      /^options\.milestones\[1\]: /,
    );
    expect(() => new SequentialLR(o, { schedulers: [a, foreign], milestones: [2] })).toThrow(
      /^options\.schedulers\[1\]: /,
    );
    expect(() => new SequentialLR(o, { schedulers: [plateau as never, b], milestones: [2] })).toThrow(TypeError);
    expect(() => new ChainedScheduler([a, foreign])).toThrow(/^schedulers\[1\]: /);
    expect(() => new ChainedScheduler([])).toThrow(/^schedulers: /);
    const chained = new ChainedScheduler([a, b]);
    expect(() => new SequentialLR(o, { schedulers: [chained, b], milestones: [2] })).toThrow(
      /^options\.schedulers\[0\]: /,
    );
    const stepped = new StepLR(o, { stepSize: 2 });
    o.stepCalls++;
    stepped.step();
    expect(() => new ChainedScheduler([stepped, b])).toThrow(/^schedulers\[0\]: has already been stepped/);
  });

  it('a step that cannot be taken leaves the lr and the position as they were', () => {
    const o = fresh();
    const s = new OneCycleLR(o, { maxLr: 1, totalSteps: 3 });
    o.stepCalls++;
    for (let t = 0; t < 3; t++) s.step();
    const lr = o.paramGroups[0].lr;
    expect(() => s.step()).toThrow(/^step: 4 is past options\.totalSteps \(3\)/);
    expect([o.paramGroups[0].lr, s.lastEpoch]).toEqual([lr, 3]);
    const p = new ReduceLROnPlateau(o);
    expect(() => p.step('0.5' as never)).toThrow(/^metric: /);
    expect(p.lastEpoch).toBe(0);
  });

  it('loadStateDict checks the whole state first', () => {
    const o = fresh();
    const a = new LinearLR(o, { totalIters: 4 });
    const b = new MultiStepLR(o, { milestones: [2, 3] });
    const s = new SequentialLR(o, { schedulers: [a, b], milestones: [4] });
    o.stepCalls++;
    s.step();
    const good = JSON.parse(JSON.stringify(s.stateDict()));
    const broken: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /^stateDict: /],
      [{ ...good, name: 'StepLR' }, RangeError, /^stateDict\.name: /],
      [{ ...good, last_epoch: -1 }, RangeError, /^stateDict\.last_epoch: /],
      [{ ...good, _last_lr: [] }, RangeError, /^stateDict\._last_lr: /],
      [{ ...good, _schedulers: [good._schedulers[0]] }, TypeError, /^stateDict\._schedulers: /],
      [
        { ...good, _schedulers: [good._schedulers[0], { ...good._schedulers[1], base_lrs: ['x'] }] },
        TypeError,
        /^stateDict\._schedulers\[1\]\.base_lrs\[0\]: /,
      ],
    ];
    const before = [JSON.stringify(s.stateDict()), JSON.stringify(o)];
    for (const [state, cls, msg] of broken) {
      expect(() => s.loadStateDict(state as never)).toThrow(cls);
      expect(() => s.loadStateDict(state as never)).toThrow(msg);
      expect([JSON.stringify(s.stateDict()), JSON.stringify(o)]).toEqual(before);
    }
    const p = new ReduceLROnPlateau(o);
    expect(() => p.loadStateDict({ ...p.stateDict(), best: null } as never)).toThrow(/^stateDict\.best: /);
    expect(() => p.loadStateDict(good)).toThrow(/^stateDict\.name: /);
  });

  it('a plateau state survives JSON with an infinite best', () => {
    const o = fresh();
    const p = new ReduceLROnPlateau(o, { mode: 'max' });
    const saved = JSON.parse(JSON.stringify(p.stateDict()));
    expect(saved.best).toBe('-Infinity');
    const q = new ReduceLROnPlateau(fresh(), { mode: 'max' });
    q.loadStateDict(saved);
    expect(q.best).toBe(-Infinity);
  });
});

describe("downhill's optimizers", () => {
  it('drive SGD and Adam param groups', async () => {
    const params = await ParamStore.create({ w: [3] }, { backend: 'js' });
    const sgd = new SGD(params, { lr: 0.1, momentum: 0.9 });
    const cyc = new CyclicLR(sgd, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 });
    const adam = new Adam(params, { lr: 0.01 });
    const one = new OneCycleLR(adam, { maxLr: 0.05, totalSteps: 6 });
    for (let t = 0; t < 5; t++) {
      params.setGrad('w', [1, -1, 0.5]);
      sgd.step();
      adam.step();
      cyc.step();
      one.step();
    }
    expect(sgd.paramGroups[0].lr).toBe(cyc.getLastLr()[0]);
    expect(sgd.paramGroups[0].momentum).toBe(cyclicMomentum({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 })(5));
    expect(adam.paramGroups[0].beta1).toBe(oneCycleMomentum({ maxLr: 0.05, totalSteps: 6 })(5));
    expect(adam.stateDict().param_groups[0].lr).toBe(one.getLastLr()[0]);
  });
});
