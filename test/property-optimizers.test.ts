/**
 * Property tests over every optimizer the build registers, on every backend (fast-check, seeded
 * and bounded; see test/property-arbitraries.ts for a longer run):
 *
 * - valid inputs never throw: any options inside each spec's domains, any store shapes, any
 *   finite gradients; the state dict then survives JSON text exactly, on another backend too;
 * - invalid options (out of domain, wrong type, unknown key) always throw a `TypeError` or
 *   `RangeError` naming the option — at construction and when set on a live group, where every
 *   buffer and option is left bit-identical.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StateDict } from '../ts/index.js';
import { backends } from './helpers.js';
import {
  build,
  gradValue,
  MATRIX_ONLY,
  outOfDomain,
  params,
  shapes,
  standaloneSpecs,
  stepWith,
  validOptions,
  wrongType,
} from './property-arbitraries.js';
import { snapshot } from './reliability-helpers.js';

const { ready } = await backends();
const specs = standaloneSpecs(ready[0]);

describe('valid inputs never throw', () => {
  for (const spec of specs) {
    it(`${spec.name}: any options in the domains, shapes and finite gradients step; the state dict round-trips through JSON on any backend`, () => {
      fc.assert(
        fc.property(
          validOptions(spec),
          shapes(MATRIX_ONLY.has(spec.name)),
          fc.array(gradValue, { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 3 }),
          fc.constantFrom(...ready),
          fc.constantFrom(...ready),
          fc.constantFrom('float32' as const, 'float64' as const),
          (options, dims, g, steps, from, to, dtype) => {
            const a = build(from, spec, dims, options, dtype);
            try {
              for (let t = 0; t < steps; t++) stepWith(a.store, a.opt, g);
              const text = JSON.stringify(a.opt.stateDict());
              const b = build(to, spec, dims, {}, dtype);
              try {
                b.store.data.set(a.store.data);
                b.opt.loadStateDict(JSON.parse(text) as StateDict, { allowNonFinite: true });
                expect(JSON.stringify(b.opt.stateDict())).toBe(text);
              } finally {
                b.store.dispose();
              }
            } finally {
              a.store.dispose();
            }
          },
        ),
        params(12),
      );
    });
  }
});

describe('invalid options always throw a typed error naming the option', () => {
  for (const spec of specs) {
    it(`${spec.name}: out-of-domain values, wrong types and unknown keys, at construction and on a live group`, () => {
      const known = new Set(spec.hparams.map((h) => h.name));
      const bad = fc.oneof(
        ...spec.hparams.flatMap((h) => {
          const range = outOfDomain(h);
          return [
            wrongType(h).map((v) => ({ key: h.name, value: v, kind: TypeError as typeof Error })),
            ...(range ? [range.map((v) => ({ key: h.name, value: v, kind: RangeError as typeof Error }))] : []),
          ];
        }),
        fc
          .string({ minLength: 1, maxLength: 12 })
          .filter((k) => !known.has(k) && k !== '__proto__')
          .map((k) => ({ key: k, value: 1, kind: TypeError as typeof Error })),
      );
      fc.assert(
        fc.property(validOptions(spec), bad, fc.constantFrom(...ready), (options, b, backend) => {
          const dims = [[2, 3]];
          // At construction.
          let err: unknown = null;
          try {
            build(backend, spec, dims, { ...options, [b.key]: b.value }).store.dispose();
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(b.kind);
          expect((err as Error).message.startsWith(`options.${b.key}: `), (err as Error).message).toBe(true);
          // On a live group of an optimizer that has stepped: refused, nothing changed.
          const { store, opt } = build(backend, spec, dims, options);
          try {
            stepWith(store, opt, [0.5, -1, 2]);
            const before = snapshot(store, opt);
            let err2: unknown = null;
            try {
              (opt.paramGroups[0] as Record<string, unknown>)[b.key] = b.value;
            } catch (e) {
              err2 = e;
            }
            expect(err2).toBeInstanceOf(b.kind === RangeError && typeof b.value !== 'number' ? RangeError : b.kind);
            expect((err2 as Error).message.startsWith(`paramGroups[0].${b.key}: `), (err2 as Error).message).toBe(true);
            expect(snapshot(store, opt)).toBe(before);
          } finally {
            store.dispose();
          }
        }),
        params(25),
      );
    });
  }
});
