/**
 * downhill's warning channel: advice that must never interrupt a run (PyTorch's `UserWarning`).
 *
 * By default a warning goes to `process.emitWarning` (Node: printed once per process to stderr,
 * observable with `process.on('warning')`, silenced by `--no-warnings`), or to `console.warn`
 * where there is no `process` (browsers). Registering a handler with {@link onWarning} replaces
 * that default for as long as any handler is registered, so tests and applications can collect,
 * log or escalate warnings themselves.
 *
 * ```ts
 * const off = onWarning((w) => myLogger.warn(`${w.code}: ${w.message}`));
 * // ...
 * off(); // back to the default
 * ```
 */
import { typeError } from './errors.js';

/** One warning: a stable machine-readable `code` and a sentence for people. */
export interface DownhillWarning {
  /** A stable identifier, e.g. `DOWNHILL_SCHEDULER_BEFORE_OPTIMIZER`. */
  code: string;
  /** What happened and what to do. */
  message: string;
}

/** A function `onWarning` calls with each warning. */
export type WarningHandler = (warning: DownhillWarning) => void;

const handlers = new Set<WarningHandler>();

/** Sends `warning` to every registered handler, or to the default channel when there is none. */
export function warn(code: string, message: string): void {
  const warning: DownhillWarning = { code, message };
  if (handlers.size > 0) {
    for (const h of [...handlers]) h(warning);
    return;
  }
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: object) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { type: 'DownhillWarning', code });
  else console.warn(`DownhillWarning [${code}]: ${message}`);
}

/** Routes warnings to `handler` instead of the default channel; returns the function that undoes it. */
export function onWarning(handler: WarningHandler): () => void {
  if (typeof handler !== 'function') throw typeError('handler', `must be a function, got ${typeof handler}`);
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
