/**
 * Param groups built from tensor names, for the most common split: no weight decay on biases and
 * normalisation weights.
 *
 * ```ts
 * const opt = new AdamW(store, weightDecayGroups(store, 0.01), { lr: 1e-3 });
 * // [{ params: ['layer0.weight', 'layer1.weight'], weightDecay: 0.01 },
 * //  { params: ['layer0.bias', 'layer1.bias'], weightDecay: 0 }]
 * ```
 */
import { rangeError, typeError } from '../errors.js';
import type { ParamStore, Tensor } from '../params.js';
import { checkNames, checkOptions, describeType } from '../validate.js';

/** Biases, norm layers' weights and 1-D tensors (names like `b`, `layer0.bias`, `ln.weight`, `bn1.gamma`). */
export const NO_DECAY: RegExp = /(^|[._])(bias|b\d*|beta|gamma)$|(^|[._])(norm|ln|bn|layernorm|batchnorm)\d*([._]|$)/i;

/** Which tensors a rule applies to: a pattern tested on the name, or a predicate of the name and tensor. */
export type TensorTest = RegExp | ((name: string, tensor: Tensor) => boolean);

function matches(test: TensorTest, t: Tensor): boolean {
  return typeof test === 'function' ? test(t.name, t) : test.test(t.name);
}

/**
 * Splits the store's tensors (or `names`) into groups: the first rule a tensor matches gives its
 * options; tensors no rule matches form a last group with no options of their own. Empty groups
 * are left out.
 */
export function groupsBy<O extends object>(
  store: ParamStore,
  rules: readonly { match: TensorTest; options: Partial<O> }[],
  names?: readonly string[],
): ({
  /** The group's tensor names. */
  params: string[];
} & Partial<O>)[] {
  if (!Array.isArray(rules))
    throw typeError('rules', `must be an array of { match, options }, got ${describeType(rules)}`);
  rules.forEach((r, i) => {
    if (!r || !(r.match instanceof RegExp || typeof r.match === 'function')) {
      throw typeError(`rules[${i}].match`, 'must be a RegExp or a function of (name, tensor)');
    }
  });
  const tensors = (names === undefined ? store.names : checkNames(names, 'names')).map((n, i) =>
    store.tensor(n, `names[${i}]`),
  );
  const buckets = rules.map(() => [] as string[]);
  const rest: string[] = [];
  for (const t of tensors) {
    const i = rules.findIndex((r) => matches(r.match, t));
    (i < 0 ? rest : buckets[i]).push(t.name);
  }
  const out = rules.flatMap((r, i) => (buckets[i].length > 0 ? [{ params: buckets[i], ...r.options }] : []));
  if (rest.length > 0) out.push({ params: rest } as { params: string[] } & Partial<O>);
  return out;
}

/**
 * Two groups: tensors that `exclude` matches (default: biases, norm weights and every 1-D tensor)
 * get `weightDecay: 0`, the others `weightDecay`.
 */
export function weightDecayGroups(
  store: ParamStore,
  weightDecay: number,
  options: { exclude?: TensorTest; names?: readonly string[] } = {},
): {
  /** The group's tensor names. */
  params: string[];
  /** `weightDecay` for the decayed group, 0 for the excluded one. */
  weightDecay: number;
}[] {
  if (typeof weightDecay !== 'number')
    throw typeError('weightDecay', `must be a number, got ${describeType(weightDecay)}`);
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) {
    throw rangeError('weightDecay', `must be finite and >= 0, got ${String(weightDecay)}`);
  }
  checkOptions(options, 'options', ['exclude', 'names']);
  if (options.exclude !== undefined && !(options.exclude instanceof RegExp || typeof options.exclude === 'function')) {
    throw typeError(
      'options.exclude',
      `must be a RegExp or a function of (name, tensor), got ${describeType(options.exclude)}`,
    );
  }
  const exclude = options.exclude ?? ((name: string, t: Tensor) => t.shape.length <= 1 || NO_DECAY.test(name));
  const groups = groupsBy<{ weightDecay: number }>(
    store,
    [
      { match: exclude, options: { weightDecay: 0 } },
      { match: () => true, options: { weightDecay } },
    ],
    options.names,
  );
  // Decayed tensors first, as users write them.
  return groups.reverse() as { params: string[]; weightDecay: number }[];
}
