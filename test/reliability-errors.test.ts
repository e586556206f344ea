/**
 * "14 kinds of error carry a V8 message instead of the argument's name" (issue 9): `BigInt64Array`
 * values in `setGrad`, `paramGroups[0] = null`, `clipGradNorm({})`, a string where tensor names
 * go, writes to read-only lists… and wrong types to the clip functions gave a `RangeError`
 * instead of a `TypeError`. This sweep calls every public entry of the optimizer layer with every
 * kind of wrong value in every argument, on every backend: each must throw a `TypeError` (wrong
 * type) or `RangeError` (wrong value) whose message starts with an argument path, and leave the
 * store's buffers and the optimizer's state bit-identical.
 */
import { describe, expect, it } from 'vitest';
import {
  accumulate,
  Adam,
  chain,
  clipByGlobalNorm,
  clipByValue,
  clipGradNorm,
  clipGradValue,
  createOptimizer,
  ema,
  fromJSON,
  gradNorm,
  groupsBy,
  ParamStore,
  SGD,
  swa,
  weightDecayGroups,
} from '../ts/index.js';
import { backends } from './helpers.js';
import { ARG_PATH, snapshot } from './reliability-helpers.js';

const { ready } = await backends();

/** One of each kind of wrong value a user (or a corrupted file) hands over. */
const WRONG: [string, unknown][] = [
  ['null', null],
  ['NaN', NaN],
  ['-1', -1],
  ['1.5', 1.5],
  ['-Infinity', -Infinity],
  ['1e300', 1e300],
  ['"1"', '1'],
  ['"w"', 'w'],
  ['true', true],
  ['1n', 1n],
  ['Symbol()', Symbol('bad')],
  ['{}', {}],
  ['[]', []],
  ['[null]', [null]],
  ['{ length: 2 }', { length: 2 }],
  ['BigInt64Array', new BigInt64Array(2)],
  ['a function', () => 1],
  ['a Map', new Map()],
  ['Object.create(null)', Object.create(null)],
];

type Case = [string, (v: unknown) => unknown];

describe.each(ready.map((b) => [b.name, b] as const))('argument errors on %s', (_, backend) => {
  it('every entry, every argument, every kind of wrong value: a named TypeError/RangeError and nothing changed', () => {
    const store = new ParamStore(backend, { w: { shape: [2, 2], init: 1 }, b: { shape: [2], init: 2 } });
    const opt = new Adam(store, { lr: 0.1 });
    const sgd = new SGD(store, [{ params: ['w'] }], { lr: 0.1, momentum: 0.9 });
    store.grads.fill(0.5);
    opt.step();
    sgd.step();
    const saved = opt.stateDict();
    const V = (v: unknown) => v as never;
    const cases: Case[] = [
      ['new ParamStore(backend, v)', (v) => new ParamStore(backend, V(v))],
      ['new ParamStore(backend, { w: v })', (v) => new ParamStore(backend, V({ w: v }))],
      ['new ParamStore(backend, { w: { shape: v } })', (v) => new ParamStore(backend, V({ w: { shape: v } }))],
      [
        'new ParamStore(backend, { w: { shape: [2], init: v } })',
        (v) => new ParamStore(backend, V({ w: { shape: [2], init: v } })),
      ],
      ['new ParamStore(backend, {}, v)', (v) => new ParamStore(backend, {}, V(v))],
      ['new ParamStore(v, {})', (v) => new ParamStore(V(v), {})],
      ['store.tensor(v)', (v) => store.tensor(V(v))],
      ['store.set("w", v)', (v) => store.set('w', V(v))],
      ['store.setGrad("w", v)', (v) => store.setGrad('w', V(v))],
      ['store.setGrad(v, [1, 1])', (v) => store.setGrad(V(v), [1, 1])],
      ['store.zeroGrad(v)', (v) => store.zeroGrad(V(v))],
      ['new Adam(store, v)', (v) => new Adam(store, V(v))],
      ['new Adam(v)', (v) => new Adam(V(v))],
      ['new Adam(store, { lr: v })', (v) => new Adam(store, V({ lr: v }))],
      ['new Adam(store, { amsgrad: v })', (v) => new Adam(store, V({ amsgrad: v }))],
      ['new Adam(store, [v])', (v) => new Adam(store, V([v]))],
      ['new Adam(store, [{ params: v }])', (v) => new Adam(store, V([{ params: v }]))],
      ['new Adam(store, [{ params: ["w"] }], v)', (v) => new Adam(store, [{ params: ['w'] }], V(v))],
      ['createOptimizer(v, store)', (v) => createOptimizer(V(v), store)],
      ['createOptimizer("adam", store, v)', (v) => createOptimizer('adam', store, V(v))],
      ['opt.step(v)', (v) => opt.step(V(v))],
      ['opt.freeze(v)', (v) => opt.freeze(V(v))],
      ['opt.unfreeze([v])', (v) => opt.unfreeze(V([v]))],
      ['opt.stepCount(v)', (v) => opt.stepCount(V(v))],
      ['sgd.addParamGroup(v)', (v) => sgd.addParamGroup(V(v))],
      ['sgd.addParamGroup({ params: ["b"], lr: v })', (v) => sgd.addParamGroup(V({ params: ['b'], lr: v }))],
      ['opt.paramGroups[0].lr = v', (v) => ((opt.paramGroups[0] as Record<string, unknown>).lr = v)],
      ['opt.paramGroups[0].amsgrad = v', (v) => ((opt.paramGroups[0] as Record<string, unknown>).amsgrad = v)],
      ['opt.paramGroups[0] = v', (v) => ((opt.paramGroups as unknown as unknown[])[0] = v)],
      ['opt.paramGroups[0].params = v', (v) => ((opt.paramGroups[0] as Record<string, unknown>).params = v)],
      ['opt.loadStateDict(v)', (v) => opt.loadStateDict(V(v))],
      ['opt.loadStateDict(saved, v)', (v) => opt.loadStateDict(saved, V(v))],
      ['opt.loadStateDict({ ...saved, state: v })', (v) => opt.loadStateDict(V({ ...saved, state: v }))],
      ['opt.loadStateDict({ ...saved, param_groups: v })', (v) => opt.loadStateDict(V({ ...saved, param_groups: v }))],
      ['opt.loadStateDict({ ...saved, downhill: v })', (v) => opt.loadStateDict(V({ ...saved, downhill: v }))],
      ['opt.loadStateDict(state[0] = v)', (v) => opt.loadStateDict(V({ ...saved, state: { ...saved.state, 0: v } }))],
      [
        'opt.loadStateDict(state[0].step = v)',
        (v) => opt.loadStateDict(V({ ...saved, state: { 0: { ...saved.state[0], step: v } } })),
      ],
      [
        'opt.loadStateDict(state[0].exp_avg = v)',
        (v) => opt.loadStateDict(V({ ...saved, state: { 0: { ...saved.state[0], exp_avg: v } } })),
      ],
      ['opt.loadStateDict(param_groups[0] = v)', (v) => opt.loadStateDict(V({ ...saved, param_groups: [v] }))],
      [
        'opt.loadStateDict(param_groups[0].lr = v)',
        (v) => opt.loadStateDict(V({ ...saved, param_groups: [{ ...saved.param_groups[0], lr: v }] })),
      ],
      [
        'opt.loadStateDict(param_groups[0].betas = v)',
        (v) => opt.loadStateDict(V({ ...saved, param_groups: [{ ...saved.param_groups[0], betas: v }] })),
      ],
      ['clipGradNorm(v, 1)', (v) => clipGradNorm(V(v), 1)],
      ['clipGradNorm(store, v)', (v) => clipGradNorm(store, V(v))],
      ['clipGradNorm(store, 1, v)', (v) => clipGradNorm(store, 1, V(v))],
      ['clipGradNorm(store, 1, { normType: v })', (v) => clipGradNorm(store, 1, V({ normType: v }))],
      ['clipGradNorm(store, 1, { names: v })', (v) => clipGradNorm(store, 1, V({ names: v }))],
      ['clipGradNorm(store, 1, { errorIfNonfinite: v })', (v) => clipGradNorm(store, 1, V({ errorIfNonfinite: v }))],
      ['gradNorm(v)', (v) => gradNorm(V(v))],
      ['gradNorm(store, v)', (v) => gradNorm(store, V(v))],
      ['gradNorm(store, 2, v)', (v) => gradNorm(store, 2, V(v))],
      ['clipGradValue(v, 1)', (v) => clipGradValue(V(v), 1)],
      ['clipGradValue(store, v)', (v) => clipGradValue(store, V(v))],
      ['clipGradValue(store, 1, v)', (v) => clipGradValue(store, 1, V(v))],
      ['clipByGlobalNorm(v)', (v) => clipByGlobalNorm(V(v))],
      ['clipByGlobalNorm(1, v)', (v) => clipByGlobalNorm(1, V(v))],
      ['clipByValue(v)', (v) => clipByValue(V(v))],
      ['accumulate(v)', (v) => accumulate(V(v))],
      ['ema(v)', (v) => ema(V(v))],
      ['swa(v)', (v) => swa(V(v))],
      ['chain(v, opt)', (v) => chain(V(v), opt)],
      ['weightDecayGroups(store, v)', (v) => weightDecayGroups(store, V(v))],
      ['weightDecayGroups(store, 0.1, v)', (v) => weightDecayGroups(store, 0.1, V(v))],
      ['groupsBy(store, v)', (v) => groupsBy(store, V(v))],
      ['groupsBy(store, [], v)', (v) => groupsBy(store, [], V(v))],
      ['fromJSON(v)', (v) => fromJSON(V(v))],
    ];
    const before = () => snapshot(store, opt, sgd);
    let snap = before();
    const problems: string[] = [];
    let refused = 0;
    for (const [call, f] of cases) {
      for (const [label, value] of WRONG) {
        let err: unknown = null;
        let result: unknown;
        try {
          result = f(value);
        } catch (e) {
          err = e;
        }
        const what = `${call.replace(/\bv\b/, label)}`;
        if (err === null) {
          // Accepted: a valid value for that argument (a function is a valid closure, -1 a valid
          // lr schedule position…). Free what it made; what it changed is the new reference.
          (result as { dispose?: () => void } | undefined)?.dispose?.();
          snap = before();
          continue;
        }
        refused += 1;
        const e = err as Error;
        // Text that is not JSON is JSON.parse's SyntaxError, named like every other error.
        const typed =
          e instanceof TypeError ||
          e instanceof RangeError ||
          (call.startsWith('fromJSON') && e instanceof SyntaxError);
        if (!typed) problems.push(`${what}: ${String(e)}`);
        else if (!ARG_PATH.test(e.message)) problems.push(`${what}: unnamed ${e.name}: ${e.message}`);
        else if (/^(clip|gradNorm|clipBy)/.test(call) && typeof value !== 'number' && e instanceof RangeError) {
          problems.push(`${what}: a wrong type must be a TypeError, got RangeError: ${e.message}`);
        }
        if (before() !== snap) {
          problems.push(`${what}: changed the store or an optimizer (${e.message})`);
          break;
        }
      }
    }
    expect(problems.join('\n')).toBe('');
    // Sanity: the sweep did refuse most of what it tried.
    expect(refused).toBeGreaterThan(cases.length * WRONG.length * 0.7);
    store.dispose();
  });

  it('wrong types to the clip functions are TypeErrors, wrong values RangeErrors', () => {
    const store = new ParamStore(backend, { w: { shape: [3], init: 1 } });
    for (const f of [
      (v: unknown) => clipGradNorm(store, v as never),
      (v: unknown) => clipGradValue(store, v as never),
      (v: unknown) => gradNorm(store, v as never),
      (v: unknown) => clipByGlobalNorm(v as never),
      (v: unknown) => clipByValue(v as never),
    ]) {
      for (const v of ['1', null, {}, [], 1n, true]) expect(() => f(v)).toThrow(TypeError);
      expect(() => f(-1)).toThrow(RangeError);
      expect(() => f(NaN)).toThrow(RangeError);
    }
    expect(() => clipGradNorm({} as never, 1)).toThrow(/^store: must be a ParamStore, got Object$/);
    store.dispose();
  });
});
