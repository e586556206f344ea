/**
 * Error classes. Invalid arguments throw the built-in `TypeError` (wrong type or shape) or
 * `RangeError` (value out of its domain) with a message that starts with the argument's name;
 * failures of a backend itself throw `BackendError`.
 */

/** A backend failed (a WASM trap, a Rust panic, an addon that will not load). */
export class BackendError extends Error {
  /** Always `'BackendError'` (survives minification, unlike the class name). */
  override readonly name = 'BackendError';
  constructor(
    /** The backend that failed: `native`, `wasm` or `js`. */
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${backend} backend: ${message}`, options);
  }
}

/** `TypeError(`${arg}: ${message}`)`, the shape every argument error in downhill has. */
export function typeError(arg: string, message: string): TypeError {
  return new TypeError(`${arg}: ${message}`);
}

/** `RangeError(`${arg}: ${message}`)`. */
export function rangeError(arg: string, message: string): RangeError {
  return new RangeError(`${arg}: ${message}`);
}

/**
 * Turns an error thrown by the Rust core (through either binding) into the JS error class it
 * stands for. The core formats argument errors as `[range] arg: message` / `[type] arg: message`
 * (crates/core/src/error.rs); anything else is a backend failure.
 */
export function fromCoreError(backend: string, err: unknown): Error {
  const text = err instanceof Error ? err.message : String(err);
  const m = /\[(range|type)\] (.*)$/s.exec(text);
  if (m) return m[1] === 'range' ? new RangeError(m[2]) : new TypeError(m[2]);
  return new BackendError(backend, text, { cause: err });
}
