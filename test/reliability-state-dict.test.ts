/**
 * Findings of the reliability battery about state dicts (issue 9), on every backend and dtype:
 * `loadStateDict` checks every element (type, finiteness, sign, the element type's range, step
 * bounds) and every key before anything is written — a bad entry in the *second* tensor used to
 * be found after the first tensor's moments and `lr` were already replaced — and a state dict
 * survives `JSON.stringify` → `JSON.parse` bit for bit (NaN, −0, subnormals), also across
 * backends.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import {
  Adam,
  AdamW,
  BackendError,
  fromJSON,
  LBFGS,
  ParamStore,
  ScheduleFreeAdamW,
  SGD,
  toJSON,
  type StateDict,
} from '../ts/index.js';
import { backends, DTYPES } from './helpers.js';
import { expectRefused, snapshot } from './reliability-helpers.js';

const { ready } = await backends();

/** A store of two tensors and an Adam that has taken two steps (both tensors have state). */
function trained(backend: Backend, dtype: (typeof DTYPES)[number]) {
  const store = new ParamStore(
    backend,
    { w: { shape: [3], init: [1, -2, 3] }, b: { shape: [2], init: [0.5, -0.25] } },
    { dtype },
  );
  const opt = new Adam(store, { lr: 0.05, amsgrad: true });
  store.grads.set([0.1, -0.2, 0.3, 0.4, -0.5]);
  opt.step();
  store.grads.set([0.2, 0.1, -0.3, 0.05, 0.5]);
  opt.step();
  return { store, opt };
}

/** The saved dict with `edit` applied to a deep copy (typed arrays copied as typed arrays). */
function edited(opt: Adam, edit: (d: StateDict & Record<string, unknown>) => void): StateDict {
  const d = fromJSON(toJSON(opt.stateDict())) as StateDict & Record<string, unknown>;
  edit(d);
  return d;
}

const set = (key: string, v: unknown) => (d: StateDict) => {
  (d.state[1] as Record<string, unknown>)[key] = v;
};

/** [finding, edit, error class, argument path]: each must be refused with nothing written. */
const BAD: [string, (d: StateDict & Record<string, unknown>) => void, typeof TypeError, string][] = [
  ['a right-length string as a moment', set('exp_avg', 'ab'), TypeError, 'stateDict.state[1].exp_avg'],
  ['{ length: n } as a moment', set('exp_avg', { length: 2 }), TypeError, 'stateDict.state[1].exp_avg'],
  ['an array of null', set('exp_avg', [null, null]), TypeError, 'stateDict.state[1].exp_avg[0]'],
  ['an array of numeric strings', set('exp_avg_sq', ['1', '2']), TypeError, 'stateDict.state[1].exp_avg_sq[0]'],
  ['a BigInt64Array', set('exp_avg', new BigInt64Array(2)), TypeError, 'stateDict.state[1].exp_avg'],
  ['a Symbol element', set('exp_avg', [0, Symbol('x')]), TypeError, 'stateDict.state[1].exp_avg[1]'],
  ['a bigint element', set('exp_avg', [0, 1n]), TypeError, 'stateDict.state[1].exp_avg[1]'],
  ['a wrong length', set('exp_avg', [0, 0, 0]), RangeError, 'stateDict.state[1].exp_avg'],
  ['a negative exp_avg_sq', set('exp_avg_sq', [0.1, -1e-30]), RangeError, 'stateDict.state[1].exp_avg_sq[1]'],
  ['a negative max_exp_avg_sq', set('max_exp_avg_sq', [-0.5, 0]), RangeError, 'stateDict.state[1].max_exp_avg_sq[0]'],
  ['a NaN moment', set('exp_avg', [NaN, 0]), RangeError, 'stateDict.state[1].exp_avg[0]'],
  ['an infinite moment', set('exp_avg', [0, -Infinity]), RangeError, 'stateDict.state[1].exp_avg[1]'],
  ['step 1e300', set('step', 1e300), RangeError, 'stateDict.state[1].step'],
  ['step 2**53', set('step', 2 ** 53), RangeError, 'stateDict.state[1].step'],
  ['step 2**53 - 1 (its next count is not exact)', set('step', 2 ** 53 - 1), RangeError, 'stateDict.state[1].step'],
  ['step -1', set('step', -1), RangeError, 'stateDict.state[1].step'],
  ['step 1.5', set('step', 1.5), RangeError, 'stateDict.state[1].step'],
  ['step "2"', set('step', '2'), TypeError, 'stateDict.state[1].step'],
  ['step NaN', set('step', NaN), RangeError, 'stateDict.state[1].step'],
  ['a missing moment', set('exp_avg', undefined), RangeError, 'stateDict.state[1].exp_avg'],
  ['an unknown state key', set('momentum_buffer', [0, 0]), TypeError, 'stateDict.state[1].momentum_buffer'],
  [
    'a symbol state key',
    (d) => ((d.state[1] as Record<symbol, unknown>)[Symbol('k')] = 1),
    TypeError,
    'stateDict.state[1]',
  ],
  [
    'a non-canonical index "01"',
    (d) => ((d.state as Record<string, unknown>)['01'] = d.state[1]),
    RangeError,
    'stateDict.state[01]',
  ],
  [
    'an index past the tensors',
    (d) => ((d.state as Record<string, unknown>)['2'] = d.state[1]),
    RangeError,
    'stateDict.state[2]',
  ],
  [
    'a state entry that is a number',
    (d) => ((d.state as Record<string, unknown>)['1'] = 5),
    TypeError,
    'stateDict.state[1]',
  ],
  ['state null', (d) => ((d as Record<string, unknown>).state = null), TypeError, 'stateDict.state'],
  [
    'param_groups not an array',
    (d) => ((d as Record<string, unknown>).param_groups = {}),
    TypeError,
    'stateDict.param_groups',
  ],
  ['a null param group', (d) => ((d.param_groups as unknown[])[0] = null), TypeError, 'stateDict.param_groups[0]'],
  [
    'param ids that are strings',
    (d) => (d.param_groups[0].params = ['0', '1'] as never),
    TypeError,
    'stateDict.param_groups[0].params[0]',
  ],
  [
    'param ids that are fractions',
    (d) => (d.param_groups[0].params = [0, 0.5]),
    RangeError,
    'stateDict.param_groups[0].params[1]',
  ],
  [
    'too many params in a group',
    (d) => (d.param_groups[0].params = [0, 1, 2]),
    RangeError,
    'stateDict.param_groups[0].params',
  ],
  ['lr out of its domain', (d) => (d.param_groups[0].lr = -1), RangeError, 'stateDict.param_groups[0].lr'],
  ['lr a string', (d) => (d.param_groups[0].lr = '0.1'), TypeError, 'stateDict.param_groups[0].lr'],
  ['betas not an array', (d) => (d.param_groups[0].betas = 0.9), TypeError, 'stateDict.param_groups[0].betas'],
  ['beta2 = 1', (d) => (d.param_groups[0].betas = [0.9, 1]), RangeError, 'stateDict.param_groups[0].beta2'],
  [
    'an unknown group key',
    (d) => (d.param_groups[0].learning_rate = 0.1),
    TypeError,
    'stateDict.param_groups[0].learning_rate',
  ],
  ['another optimizer', (d) => (d.downhill!.optimizer = 'SGD'), RangeError, 'stateDict.downhill.optimizer'],
  ['stepCalls 1e300', (d) => (d.downhill!.stepCalls = 1e300), RangeError, 'stateDict.downhill.stepCalls'],
  ['frozen index out of range', (d) => (d.downhill!.frozen = [7]), RangeError, 'stateDict.downhill.frozen[0]'],
  [
    'a tensor with a bad $tensor tag',
    set('exp_avg', { $tensor: 'int8', data: 'AAAA' }),
    RangeError,
    'stateDict.state[1].exp_avg.$tensor',
  ],
  [
    'a tensor with broken base64',
    set('exp_avg', { $tensor: 'float32', data: 'A!A=' }),
    RangeError,
    'stateDict.state[1].exp_avg.data',
  ],
];

describe.each(ready.map((b) => [b.name, b] as const))('loadStateDict on %s', (_, backend) => {
  for (const dtype of DTYPES) {
    it(`${dtype}: every bad element or key is refused by path, with every buffer and option bit-identical`, () => {
      const { store, opt } = trained(backend, dtype);
      const other = new SGD(store, { lr: 0.3, momentum: 0.9 });
      store.grads.fill(0.25);
      other.step();
      const before = () => snapshot(store, opt, other);
      for (const [finding, edit, kind, path] of BAD) {
        const d = edited(opt, edit);
        try {
          expectRefused(() => opt.loadStateDict(d), kind, path, before);
        } catch (e) {
          throw new Error(`${finding}: ${(e as Error).message}`);
        }
      }
      // The same dict without the mistake loads and changes nothing it should not.
      const snap = before();
      opt.loadStateDict(edited(opt, () => undefined));
      expect(before()).toBe(snap);
      store.dispose();
    });
  }

  it('float32: moments beyond the float32 range are refused (they would become ±Infinity)', () => {
    const { store, opt } = trained(backend, 'float32');
    const before = () => snapshot(store, opt);
    const d = edited(opt, set('exp_avg', new Float64Array([1e39, 0])));
    expectRefused(() => opt.loadStateDict(d), RangeError, 'stateDict.state[1].exp_avg[0]', before);
    // A float64 store holds them exactly.
    const s64 = new ParamStore(backend, { w: [3], b: [2] }, { dtype: 'float64' });
    const o64 = new Adam(s64, { lr: 0.05, amsgrad: true });
    o64.loadStateDict(d);
    expect((o64.stateDict().state[1].exp_avg as Float64Array)[0]).toBe(1e39);
    s64.dispose();
    store.dispose();
  });

  it('loadStateDict options are checked: null, unknown keys and a non-boolean allowNonFinite', () => {
    const { store, opt } = trained(backend, 'float32');
    const before = () => snapshot(store, opt);
    const d = opt.stateDict();
    expectRefused(() => opt.loadStateDict(d, null as never), TypeError, 'options', before);
    expectRefused(
      () => opt.loadStateDict(d, { allowNonFinit: true } as never),
      TypeError,
      'options.allowNonFinit',
      before,
    );
    expectRefused(
      () => opt.loadStateDict(d, { allowNonFinite: 1 } as never),
      TypeError,
      'options.allowNonFinite',
      before,
    );
    store.dispose();
  });

  it('a diverged state loads only with allowNonFinite, and then keeps its NaN and infinities', () => {
    const { store, opt } = trained(backend, 'float64');
    const d = edited(opt, set('exp_avg', new Float64Array([NaN, -Infinity])));
    expectRefused(() => opt.loadStateDict(d), RangeError, 'stateDict.state[1].exp_avg[0]');
    opt.loadStateDict(d, { allowNonFinite: true });
    const m = opt.stateDict().state[1].exp_avg as Float64Array;
    expect(Number.isNaN(m[0])).toBe(true);
    expect(m[1]).toBe(-Infinity);
    store.dispose();
  });

  it("AdamW takes PyTorch 2.x's param groups, which carry decoupled_weight_decay: true, and refuses false", () => {
    const store = new ParamStore(backend, { w: { shape: [3], init: [1, -2, 3] } });
    const opt = new AdamW(store, { lr: 0.05, weightDecay: 0.1 });
    store.grads.set([0.1, -0.2, 0.3]);
    opt.step();
    const before = () => snapshot(store, opt);
    const snap = before();
    const withKey = (v: unknown) => {
      const d = fromJSON(toJSON(opt.stateDict())) as StateDict;
      (d.param_groups[0] as Record<string, unknown>).decoupled_weight_decay = v;
      return d;
    };
    // As torch.optim.AdamW(...).state_dict() writes it since 2.x (bool, or 1 from a re-encoded file).
    opt.loadStateDict(withKey(true));
    opt.loadStateDict(withKey(1));
    expect(before()).toBe(snap);
    // False would be Adam with L2 weight decay: not this optimizer's state.
    for (const v of [false, 0, 'true']) {
      expectRefused(
        () => opt.loadStateDict(withKey(v)),
        TypeError,
        'stateDict.param_groups[0].decoupled_weight_decay',
        before,
      );
    }
    // Adam has the key as an option of its own, and other optimizers do not know it.
    const sgd = new SGD(store, { lr: 0.1 });
    const d = fromJSON(toJSON(sgd.stateDict())) as StateDict;
    (d.param_groups[0] as Record<string, unknown>).decoupled_weight_decay = true;
    expectRefused(() => sgd.loadStateDict(d), TypeError, 'stateDict.param_groups[0].decoupled_weight_decay');
    store.dispose();
  });

  it('use after dispose is a BackendError for stateDict and loadStateDict', () => {
    const { store, opt } = trained(backend, 'float32');
    const d = opt.stateDict();
    opt.dispose();
    expect(() => opt.stateDict()).toThrow(BackendError);
    expect(() => opt.loadStateDict(d)).toThrow(BackendError);
    store.dispose();
  });
});

/** A state with the values JSON cannot write as numbers: NaN, −0, subnormals, the largest floats. */
const SPECIAL64 = [NaN, -0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3];
const SPECIAL32 = [NaN, -0, 1e-45, -1.1754942e-38, 3.4028234663852886e38, Math.fround(1 / 3)];

function bitsOf(a: Float32Array | Float64Array): string {
  return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).join(',');
}

describe('state dicts through JSON', () => {
  for (const dtype of DTYPES) {
    it(`${dtype}: JSON.stringify → JSON.parse → loadStateDict is exact on every backend and across backends`, () => {
      const special = dtype === 'float64' ? SPECIAL64 : SPECIAL32;
      const n = special.length;
      const saved: Record<string, string> = {};
      for (const from of ready) {
        const store = new ParamStore(from, { w: { shape: [n], init: 0.5 } }, { dtype });
        const opt = new AdamW(store, { lr: 0.01, weightDecay: 0.1 });
        store.grads.fill(1);
        opt.step();
        const d = opt.stateDict();
        d.state[0].exp_avg = dtype === 'float64' ? Float64Array.from(special) : Float32Array.from(special);
        d.state[0].exp_avg_sq =
          dtype === 'float64' ? Float64Array.from(special.map(Math.abs)) : Float32Array.from(special.map(Math.abs));
        opt.loadStateDict(d, { allowNonFinite: true });
        saved[from.name] = JSON.stringify(opt.stateDict());
        store.dispose();
      }
      // Every backend writes the same text.
      expect(new Set(Object.values(saved)).size).toBe(1);
      const text = saved[ready[0].name];
      for (const to of ready) {
        const store = new ParamStore(to, { w: { shape: [n], init: 0.5 } }, { dtype });
        const opt = new AdamW(store, { lr: 0.2 });
        opt.loadStateDict(JSON.parse(text) as StateDict, { allowNonFinite: true });
        const back = opt.stateDict();
        const m = back.state[0].exp_avg as Float32Array | Float64Array;
        const want = dtype === 'float64' ? Float64Array.from(special) : Float32Array.from(special);
        // NaN compared by value (payload bits are free to differ); everything else by its bits.
        expect(Number.isNaN(m[0])).toBe(true);
        expect(bitsOf(m.subarray(1))).toBe(bitsOf(want.subarray(1)));
        expect(back.param_groups[0].lr).toBe(0.01);
        expect(back.state[0].step).toBe(1);
        expect(JSON.stringify(back)).toBe(text);
        store.dispose();
      }
    });
  }

  it('scalar state (schedule-free weight_sum, lr_max; L-BFGS t, prev_loss) keeps NaN, ±Infinity and −0 through JSON', () => {
    for (const backend of ready) {
      const store = new ParamStore(backend, { w: { shape: [3], init: 1 } }, { dtype: 'float64' });
      const opt = new ScheduleFreeAdamW(store);
      store.grads.fill(1);
      opt.step();
      const d = opt.stateDict();
      d.state[0].weight_sum = NaN;
      d.state[0].lr_max = -0;
      opt.loadStateDict(d, { allowNonFinite: true });
      const text = JSON.stringify(opt.stateDict());
      expect(text).toContain('{"$number":"NaN"}');
      const again = new ScheduleFreeAdamW(store);
      again.loadStateDict(JSON.parse(text) as StateDict, { allowNonFinite: true });
      const back = again.stateDict().state[0];
      expect(Number.isNaN(back.weight_sum as number)).toBe(true);
      expect(Object.is(back.lr_max, -0)).toBe(true);
      // Without allowNonFinite the NaN is refused by path, as any other.
      expectRefused(
        () => again.loadStateDict(JSON.parse(text) as StateDict),
        RangeError,
        'stateDict.state[0].weight_sum',
      );
      expectRefused(
        () => again.loadStateDict(JSON.parse(text.replace('"NaN"', '"nan"')) as StateDict, { allowNonFinite: true }),
        RangeError,
        'stateDict.state[0].weight_sum.$number',
      );
      const lb = new LBFGS(store);
      lb.step(() => {
        store.grads.fill(Infinity);
        return Infinity;
      });
      const lbText = JSON.stringify(lb.stateDict());
      const lb2 = new LBFGS(store);
      lb2.loadStateDict(JSON.parse(lbText) as StateDict, { allowNonFinite: true });
      expect(JSON.stringify(lb2.stateDict())).toBe(lbText);
      store.dispose();
    }
  });

  it('toJSON/fromJSON keep typed arrays as typed arrays and refuse what is not JSON text', () => {
    const v = { a: Float32Array.of(-0, 1e-45, NaN), b: [Float64Array.of(5e-324)], c: 'x' };
    const back = fromJSON(toJSON(v)) as typeof v;
    expect(back.a).toBeInstanceOf(Float32Array);
    expect(Object.is(back.a[0], -0)).toBe(true);
    expect(back.a[1]).toBe(Math.fround(1e-45));
    expect(Number.isNaN(back.a[2])).toBe(true);
    expect(back.b[0][0]).toBe(5e-324);
    expectRefused(() => fromJSON(42 as never), TypeError, 'text');
  });
});
