/**
 * How Optax's `optax.lookahead` cases are built: the inner optimizer from the case's
 * `fast_optimizer` ({name, hyperparameters}) through its spec, like any other case, then wrapped.
 * The recorded slow weights and `fast_state.*` / `steps_since_sync` come from the class's hooks.
 */
import { Lookahead } from '../optim/lookahead.js';
import type { HParamData } from '../spec.js';
import {
  buildForCase,
  mapHyperparameters,
  referenceOf,
  registerCaseBuilder,
  specFor,
  type OptimizerCase,
} from './optimizer.js';

/** Implementation details of the reference libraries (as the runner's own list). */
const IGNORED = new Set(['mu_dtype', 'accumulator_dtype', 'state_dtype']);

function knows(h: readonly HParamData[], key: string, ref: 'torch' | 'optax'): boolean {
  return h.some((p) => {
    const name = ref === 'torch' ? p.torch : p.optax;
    return name === key || (name?.startsWith(`${key}.`) ?? false) || (ref === 'optax' && p.optaxMask === key);
  });
}

registerCaseBuilder(
  'Lookahead',
  (store, c, mapped) => {
    const fast = c.hyperparameters.fast_optimizer as
      { name?: unknown; hyperparameters?: Record<string, unknown> } | undefined;
    if (!fast || typeof fast.name !== 'string') throw new Error('lookahead case has no fast_optimizer.name');
    const ref = referenceOf({ optimizer: fast.name, reference: c.reference });
    const spec = specFor(fast.name, ref);
    if (!spec) throw new Error(`the inner optimizer ${fast.name} is not implemented`);
    // Options the inner spec does not have are accepted at their "off" value only (Adam's
    // eps_root 0, nesterov false), so nothing the reference used is silently dropped.
    const hp: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fast.hyperparameters ?? {})) {
      if (IGNORED.has(k)) continue;
      if (knows(spec.hparams, k, ref)) hp[k] = v;
      else if (!(v === null || v === false || v === 0)) {
        throw new Error(
          `${spec.name} has no option for the ${ref} hyperparameter ${JSON.stringify(k)} = ${JSON.stringify(v)}`,
        );
      }
    }
    const names = store.names;
    const innerMapped = mapHyperparameters(spec, hp, ref, names.length);
    const inner = buildForCase(spec, store, { ...c, hyperparameters: hp } as OptimizerCase, innerMapped);
    return new Lookahead(inner, mapped.options);
  },
  ['fast_optimizer'],
);
