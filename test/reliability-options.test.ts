/**
 * Findings of the reliability battery about options, stores and param groups (issue 9), on every
 * backend and for every optimizer class the build registers: unknown keys (`betas`,
 * `weight_decay`, `learningRate`, a bare number for the learning rate) were ignored, values above
 * the float32 range accepted, an empty store accepted, `init` returning a string stored NaN,
 * `step()` after `dispose()` ran on zeroed moments, and mutating `paramGroups` changed the state
 * dict but not the step. Each is now a typed error naming the argument, with nothing changed.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../ts/backend/types.js';
import {
  Adam,
  BackendError,
  createOptimizer,
  optimizerNames,
  ParamStore,
  SGD,
  SPECS,
  type AnyOptimizer,
  type StateDict,
} from '../ts/index.js';
import { DTYPE_MAX, jsonNumber, type SpecData } from '../ts/spec.js';
import { backends } from './helpers.js';
import { expectRefused, snapshot } from './reliability-helpers.js';

const { ready } = await backends();

/** Every class `createOptimizer` builds from options alone (wrappers such as Lookahead need an inner optimizer). */
function standalone(backend: Backend): { spec: SpecData; make: (s: ParamStore, o?: object) => AnyOptimizer }[] {
  const probe = new ParamStore(backend, { w: [2, 2] });
  const out = optimizerNames().flatMap((name) => {
    const spec = SPECS.find((s) => s.name === name) as SpecData;
    try {
      createOptimizer(name, probe, {}).dispose();
    } catch {
      return [];
    }
    return [{ spec, make: (s: ParamStore, o: object = {}) => createOptimizer(name, s, o as Record<string, unknown>) }];
  });
  probe.dispose();
  return out;
}

describe.each(ready.map((b) => [b.name, b] as const))('options on %s', (_, backend) => {
  const classes = standalone(backend);

  it('the build has optimizer classes to test', () => {
    expect(classes.map((c) => c.spec.name)).toEqual(expect.arrayContaining(['SGD', 'Adam', 'AdamW']));
  });

  it('new Adam(store, 0.01) and every class given a bare number: a TypeError saying how to write the lr', () => {
    const store = new ParamStore(backend, { w: [2, 2] });
    for (const { spec } of classes) {
      const cls = createOptimizer(spec.name, store, {}).constructor as new (s: ParamStore, o: unknown) => AnyOptimizer;
      expectRefused(() => new cls(store, 0.01), TypeError, /^options: .*\{ lr: 0\.01 \}/);
      expectRefused(() => new cls(store, 'fast'), TypeError, 'options');
    }
    store.dispose();
  });

  it("PyTorch's and Optax's names (betas, weight_decay, learning_rate) and close spellings are TypeErrors suggesting ours", () => {
    const store = new ParamStore(backend, { w: [2, 2] });
    const before = () => snapshot(store);
    for (const { spec, make } of classes) {
      for (const h of spec.hparams) {
        for (const foreign of [h.torch, h.optax]) {
          if (!foreign || foreign === h.name) continue;
          const key = foreign.split('.')[0];
          const err = expectRefused(() => make(store, { [key]: 0.5 }), TypeError, `options.${key}`, before);
          expect(err.message, `${spec.name} ${key}`).toMatch(new RegExp(`did you mean .*\\b${h.name}\\b`));
        }
      }
    }
    const adamErr = expectRefused(() => new Adam(store, { betas: [0.9, 0.99] } as never), TypeError, 'options.betas');
    expect(adamErr.message).toContain('did you mean beta1, beta2?');
    expect(() => new Adam(store, { learningRate: 0.5 } as never)).toThrow(
      /^options\.learningRate: .*did you mean lr\?/,
    );
    expect(() => new Adam(store, { weight_decay: 0.1 } as never)).toThrow(
      /^options\.weight_decay: .*did you mean weightDecay\?/,
    );
    expect(() => new Adam(store, { [Symbol('lr')]: 1 } as never)).toThrow(/^options: has a symbol key/);
    expect(() => new SGD(store, [{ params: ['w'], moment: 0.9 } as never])).toThrow(
      /^groups\[0\]\.moment: .*did you mean momentum\?/,
    );
    store.dispose();
  });

  it('real options above the float32 range are RangeErrors on float32 stores and exact on float64 ones', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const store = new ParamStore(backend, { w: [2, 2] }, { dtype });
      for (const { spec, make } of classes) {
        for (const h of spec.hparams) {
          if (h.kind !== 'real' || !h.domain || jsonNumber(h.domain.hi) !== Infinity) continue;
          if (jsonNumber(h.domain.lo) > 1e39) continue;
          if (dtype === 'float32') {
            const err = expectRefused(() => make(store, { [h.name]: 1e39 }), RangeError, `options.${h.name}`);
            expect(err.message).toContain(`within the float32 range (|x| <= ${DTYPE_MAX.float32})`);
          } else {
            let opt: AnyOptimizer | null = null;
            try {
              opt = make(store, { [h.name]: 1e39 });
            } catch (e) {
              // A cross-field rule may refuse the value for another reason, never the range.
              expect((e as Error).message).not.toContain('range');
            }
            if (opt) expect((opt.paramGroups[0] as Record<string, unknown>)[h.name]).toBe(1e39);
            opt?.dispose();
          }
        }
      }
      store.dispose();
    }
    // Adam's lr 1e39 used to turn float32 parameters into NaN; now the group refuses it too.
    const store = new ParamStore(backend, { w: [2] });
    const opt = new Adam(store);
    const before = () => snapshot(store, opt);
    expectRefused(() => (opt.paramGroups[0].lr = 1e39), RangeError, 'paramGroups[0].lr', before);
    expectRefused(() => (opt.paramGroups[0].eps = 4e38), RangeError, 'paramGroups[0].eps', before);
    store.dispose();
  });

  it('an optimizer over an empty store or an empty group is a RangeError (PyTorch raises too)', () => {
    const empty = new ParamStore(backend, {});
    for (const { make, spec } of classes) {
      expect(() => make(empty), spec.name).toThrow(/^params: optimizer got an empty parameter list/);
    }
    const store = new ParamStore(backend, { w: [2] });
    expectRefused(() => new Adam(store, []), RangeError, 'groups');
    expectRefused(() => new Adam(store, [{ params: [] }]), RangeError, 'params');
    empty.dispose();
    store.dispose();
  });

  it('init that is or returns a string, a bigint or a symbol is a TypeError; nothing is allocated', () => {
    for (const init of ['ab', 1n, Symbol('x'), () => '1', () => 1n, () => Symbol('y'), () => undefined, () => NaN]) {
      let err: unknown = null;
      try {
        new ParamStore(backend, { w: { shape: [2], init: init as never } });
      } catch (e) {
        err = e;
      }
      expect(err, String(typeof init === 'function' ? init.toString() : typeof init)).toBeInstanceOf(
        typeof init === 'function' && init.toString().includes('NaN') ? RangeError : TypeError,
      );
      expect((err as Error).message).toMatch(/^specs\.w\.init(\[\d+\])?: /);
    }
  });

  it('bad specs are refused by path: symbol keys, a Map, nested junk', () => {
    expectRefused(() => new ParamStore(backend, { w: [1], [Symbol('v')]: [2] } as never), TypeError, 'specs');
    expectRefused(() => new ParamStore(backend, new Map([['w', [2]]]) as never), TypeError, 'specs');
    expectRefused(
      () => new ParamStore(backend, { w: { shape: [2], [Symbol('init')]: 1 } } as never),
      TypeError,
      'specs.w',
    );
    expectRefused(() => new ParamStore(backend, { w: [2n] } as never), TypeError, 'specs.w.shape[0]');
    expectRefused(() => new ParamStore(backend, { w: [Symbol('d')] } as never), TypeError, 'specs.w.shape[0]');
    expectRefused(() => new ParamStore(backend, { w: [2.5] }), RangeError, 'specs.w.shape[0]');
    expectRefused(
      () => new ParamStore(backend, { w: [2] }, { dtype: 'float16' } as never),
      RangeError,
      'options.dtype',
    );
    expectRefused(
      () => new ParamStore(backend, { w: [2] }, { backend: 'js', device: 'gpu' } as never),
      TypeError,
      'options.device',
    );
  });

  it('a store and its tensors cannot be changed under the optimizers: size, offsets and shapes are frozen', () => {
    const store = new ParamStore(backend, { w: { shape: [2, 2], init: 1 }, b: [2] });
    const opt = new Adam(store);
    const before = () => snapshot(store, opt);
    const t = store.tensor('b');
    const s0 = before();
    for (const write of [
      () => ((store as { size: number }).size = 2),
      () => ((store as { dtype: string }).dtype = 'float64'),
      () => ((t as { offset: number }).offset = 0),
      () => (t.shape as number[]).push(3),
      () => ((t as { data: unknown }).data = new Float32Array(2)),
    ]) {
      expect(write).toThrow(TypeError);
    }
    expect(before()).toBe(s0);
    expect(Array.from(store.tensor('b').data)).toEqual([0, 0]);
    store.dispose();
  });

  it('step() and every other method after dispose() are BackendErrors; the moments are not touched', () => {
    for (const { make, spec } of classes) {
      const store = new ParamStore(backend, { w: { shape: [2, 2], init: 1 } });
      const opt = make(store);
      store.grads.fill(0.5);
      if ((opt as { closureRequired?: boolean }).closureRequired) opt.step(() => 1);
      else opt.step();
      const before = snapshot(store);
      opt.dispose();
      opt.dispose(); // idempotent
      expect(() => opt.step(() => 1), spec.name).toThrow(BackendError);
      expect(() => opt.zeroGrad()).toThrow(BackendError);
      expect(() => opt.stateDict()).toThrow(BackendError);
      expect(snapshot(store)).toBe(before);
      store.dispose();
      expect(() => store.data).toThrow(BackendError);
      expect(() => make(store)).toThrow(BackendError);
    }
    const store = new ParamStore(backend, { w: [2] });
    const opt = new Adam(store);
    store.dispose();
    expect(() => opt.step()).toThrow(/ParamStore used after dispose\(\)/);
  });

  it('paramGroups cannot be mutated out of step with the optimizer: push, replace, null, params, delete', () => {
    const store = new ParamStore(backend, { w: { shape: [3], init: 1 }, b: { shape: [2], init: 2 } });
    const opt = new Adam(store, [{ params: ['w'] }, { params: ['b'], lr: 0.1 }]);
    store.grads.fill(1);
    opt.step();
    const groups = opt.paramGroups as unknown as Record<string, unknown>[] & { length: number };
    const before = () => snapshot(store, opt);
    const saved = opt.stateDict();
    expectRefused(() => groups.push({ params: ['b'] }), TypeError, 'paramGroups', before);
    expectRefused(() => (groups[0] = null as never), TypeError, 'paramGroups', before);
    expectRefused(() => groups.splice(0, 1), TypeError, 'paramGroups', before);
    expectRefused(() => (groups.length = 0), TypeError, 'paramGroups', before);
    expectRefused(() => delete groups[1], TypeError, 'paramGroups', before);
    expectRefused(() => (groups[0].params = ['b']), TypeError, 'paramGroups[0].params', before);
    expectRefused(() => (groups[0].params as string[]).push('b'), TypeError, 'paramGroups[0].params', before);
    expectRefused(() => (groups[0].params as string[]).pop(), TypeError, 'paramGroups[0].params', before);
    expectRefused(() => ((groups[0].params as string[])[0] = 'b'), TypeError, 'paramGroups[0].params', before);
    expectRefused(() => delete groups[0].lr, TypeError, 'paramGroups[0].lr', before);
    expectRefused(() => (groups[0].betas = [0.9, 0.9]), TypeError, 'paramGroups[0].betas', before);
    expectRefused(() => (groups[0].lr = '0.1'), TypeError, 'paramGroups[0].lr', before);
    expectRefused(() => (groups[0].amsgrad = 1), TypeError, 'paramGroups[0].amsgrad', before);
    expectRefused(() => Object.defineProperty(groups[0], 'lr', { value: 5 }), TypeError, 'paramGroups[0].lr', before);
    expectRefused(() => ((opt.defaults as Record<string, unknown>).lr = 5), TypeError, 'defaults.lr', before);
    // The state dict taken before the attempts still loads and still describes the optimizer.
    opt.loadStateDict(saved as StateDict);
    expect(snapshot(store, opt)).toBe(before());
    store.dispose();
  });
});
