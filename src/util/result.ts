/**
 * A value or an error, for functions that read untrusted input and must never throw.
 *
 * @remarks
 * Untrusted bytes are a value, never an exception (STYLE §6): parsers return `Result`, and the
 * boundary that called them decides the reply (400, a `CSTAErrorCode`, a trace).
 */
export type Result<T, E = Error> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** Wraps a value as a successful {@link Result}. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an error as a failed {@link Result}. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
