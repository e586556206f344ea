/**
 * Gradient clipping with PyTorch's semantics (`torch.nn.utils.clip_grad_norm_` and
 * `clip_grad_value_`), over the arena's gradients before `step()`. Each is one call into the
 * core: the norm is a reduction in the core's fixed blocked order (in f64), the scaling element
 * math in the element type, so the results are the same bits on every backend.
 */
import { rangeError, typeError } from './errors.js';
import type { ParamStore } from './params.js';
import { OP, rangesOf, runVector } from './ops.js';
import { checkOptions, describeType } from './validate.js';

/** Options of `clipGradNorm` and `gradNorm`. */
export interface ClipNormOptions {
  /** 1, 2 (default), Infinity, or any p > 0. */
  normType?: number;
  /** Clip only these tensors (default: all). */
  names?: readonly string[];
  /** Throw (and leave the gradients untouched) when the total norm is NaN or infinite, as PyTorch's `error_if_nonfinite`. */
  errorIfNonfinite?: boolean;
}

function checkStore(store: unknown): ParamStore {
  if (!store || typeof store !== 'object' || typeof (store as ParamStore).tensor !== 'function') {
    throw typeError('store', `must be a ParamStore, got ${describeType(store)}`);
  }
  (store as ParamStore).assertLive();
  return store as ParamStore;
}

/**
 * Scales the gradients so their total `normType`-norm is at most `maxNorm`, and returns the total
 * norm before clipping. As PyTorch: `coef = min(1, maxNorm / (total + 1e-6))`, every gradient is
 * multiplied by `coef` (also when it is 1), and a NaN norm makes every gradient NaN unless
 * `errorIfNonfinite` is set.
 */
export function clipGradNorm(store: ParamStore, maxNorm: number, options: ClipNormOptions = {}): number {
  const s = checkStore(store);
  const o = checkOptions(options, 'options', ['normType', 'names', 'errorIfNonfinite']);
  if (typeof maxNorm !== 'number') throw typeError('maxNorm', `must be a number, got ${describeType(maxNorm)}`);
  if (!(maxNorm >= 0)) throw rangeError('maxNorm', `must be >= 0, got ${maxNorm}`);
  const normType = o.normType ?? 2;
  if (typeof normType !== 'number')
    throw typeError('options.normType', `must be a number, got ${describeType(normType)}`);
  if (!(normType > 0)) throw rangeError('options.normType', `must be > 0 or Infinity, got ${normType}`);
  const err = o.errorIfNonfinite ?? false;
  if (typeof err !== 'boolean')
    throw typeError('options.errorIfNonfinite', `must be a boolean, got ${describeType(err)}`);
  const segs = rangesOf(s, o.names as readonly string[] | undefined, 'options.names');
  const [total] = runVector(s, OP.CLIP_NORM, [s.buffers.grads], segs, [maxNorm, normType, err ? 1 : 0], 2);
  return total;
}

/** The total `normType`-norm of the gradients (no clipping). */
export function gradNorm(store: ParamStore, normType = 2, names?: readonly string[]): number {
  const s = checkStore(store);
  if (typeof normType !== 'number') throw typeError('normType', `must be a number, got ${describeType(normType)}`);
  if (!(normType > 0)) throw rangeError('normType', `must be > 0 or Infinity, got ${normType}`);
  return runVector(s, OP.NORM, [s.buffers.grads], rangesOf(s, names), [normType], 1)[0];
}

/** Clamps every gradient element into `[-clipValue, clipValue]` (NaN stays NaN). */
export function clipGradValue(store: ParamStore, clipValue: number, options: { names?: readonly string[] } = {}): void {
  const s = checkStore(store);
  const o = checkOptions(options, 'options', ['names']);
  if (typeof clipValue !== 'number') throw typeError('clipValue', `must be a number, got ${describeType(clipValue)}`);
  if (!(clipValue >= 0)) throw rangeError('clipValue', `must be >= 0, got ${clipValue}`);
  runVector(
    s,
    OP.CLIP_VALUE,
    [s.buffers.grads],
    rangesOf(s, o.names as readonly string[] | undefined, 'options.names'),
    [clipValue],
  );
}
