/**
 * Gradient clipping with PyTorch's semantics (`torch.nn.utils.clip_grad_norm_` and
 * `clip_grad_value_`, 1.13), applied to gradients in the arena before `step()`.
 *
 * The norm is a reduction; it is computed here, in f64, in one fixed order (tensor by tensor,
 * element by element), so it is the same number on every backend. The scaling is f32 element
 * math (`Math.fround`), also identical everywhere. (Moving both into the Rust core is future
 * work; they are O(n) passes over memory the step reads anyway.)
 */
import { rangeError, typeError } from './errors.js';
import type { ParamStore } from './params.js';

function tensorsOf(store: ParamStore, names: readonly string[] | undefined) {
  return (names ?? store.names).map((n, i) => store.tensor(n, `names[${i}]`));
}

/**
 * Scales the gradients so their total `normType`-norm is at most `maxNorm`, and returns the
 * total norm before clipping. As PyTorch: `coef = min(1, maxNorm / (total + 1e-6))`, and every
 * gradient is multiplied by `coef`.
 */
export function clipGradNorm(
  store: ParamStore,
  maxNorm: number,
  options: { normType?: number; names?: readonly string[] } = {},
): number {
  const normType = options.normType ?? 2;
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw rangeError('maxNorm', `must be >= 0, got ${maxNorm}`);
  if (typeof normType !== 'number' || !(normType > 0))
    throw rangeError('normType', `must be > 0 or Infinity, got ${normType}`);
  const ts = tensorsOf(store, options.names);
  const g = store.grads;
  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const t of ts) for (let i = t.offset; i < t.offset + t.size; i++) total = Math.max(total, Math.abs(g[i]));
  } else {
    // PyTorch takes the norm of the per-tensor norms; the same two-level order here.
    let acc = 0;
    for (const t of ts) {
      let s = 0;
      for (let i = t.offset; i < t.offset + t.size; i++) s += Math.abs(g[i]) ** normType;
      acc += s;
    }
    total = acc ** (1 / normType);
  }
  const coef = Math.fround(Math.min(1, maxNorm / (total + 1e-6)));
  for (const t of ts) for (let i = t.offset; i < t.offset + t.size; i++) g[i] = Math.fround(g[i] * coef);
  return total;
}

/** Clamps every gradient element into `[-clipValue, clipValue]`. */
export function clipGradValue(store: ParamStore, clipValue: number, options: { names?: readonly string[] } = {}): void {
  if (typeof clipValue !== 'number') throw typeError('clipValue', `must be a number, got ${typeof clipValue}`);
  if (!(clipValue >= 0)) throw rangeError('clipValue', `must be >= 0, got ${clipValue}`);
  const ts = tensorsOf(store, options.names);
  const g = store.grads;
  const c = Math.fround(clipValue);
  for (const t of ts) {
    for (let i = t.offset; i < t.offset + t.size; i++) g[i] = g[i] > c ? c : g[i] < -c ? -c : g[i];
  }
}
