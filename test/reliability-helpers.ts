/**
 * Helpers of the reliability tests: an exact snapshot of everything a call could corrupt (every
 * buffer's bits, every option, step counts), and an assertion that a call was refused with a
 * typed error naming an argument while that snapshot stayed bit-identical.
 */
import { expect } from 'vitest';
import type { FloatArray } from '../ts/backend/types.js';
import type { ParamStore } from '../ts/params.js';
import { toJSON } from '../ts/state.js';

/** Anything with a state dict (an optimizer, a chain). */
export interface Stateful {
  stateDict(): unknown;
  readonly paramGroups: readonly object[];
  readonly stepCalls: number;
}

function hexBits(a: FloatArray): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * Every bit a call could change: parameters and gradients (raw bytes, so −0 and NaN payloads
 * count), the optimizers' exact JSON state dicts (moments, steps, options) and their live groups.
 */
export function snapshot(store: ParamStore, ...opts: Stateful[]): string {
  const groups = opts.map((o) =>
    o.paramGroups.map((g) =>
      Object.entries(g)
        .map(([k, v]) => `${k}=${typeof v === 'function' ? 'fn' : Array.isArray(v) ? v.join('|') : String(v)}`)
        .join(','),
    ),
  );
  return JSON.stringify({
    params: hexBits(store.data),
    grads: hexBits(store.grads),
    state: opts.map((o) => toJSON(o.stateDict())),
    groups,
    stepCalls: opts.map((o) => o.stepCalls),
  });
}

/** The shape of every argument error: `path: message`, the path a dotted/indexed identifier. */
export const ARG_PATH = /^[A-Za-z_$][\w$]*(\.[\w$]+|\[[^\]]+\])*( \([^)]*\))?: \S/;

/**
 * `fn` must throw an error of class `kind` whose message starts with `path` (a string: the exact
 * argument path; a RegExp: matched against the message), and `before()` must equal what it was.
 */
export function expectRefused(
  fn: () => unknown,
  kind: new (...a: never[]) => Error,
  path: string | RegExp,
  before?: () => string,
): Error {
  const snap = before?.();
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ${kind.name} naming ${String(path)}`).toBeInstanceOf(kind);
  const err = caught as Error;
  expect(err.message).toMatch(ARG_PATH);
  if (typeof path === 'string') expect(err.message.startsWith(`${path}: `), err.message).toBe(true);
  else expect(err.message).toMatch(path);
  if (before) expect(before(), `state changed by the refused call (${err.message})`).toBe(snap);
  return err;
}
