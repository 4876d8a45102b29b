/**
 * One small typed emitter for notifications (STYLE §4): `on(type, fn)` returns its unsubscriber,
 * and a listener that throws is reported to `onError`, never to the emitter's caller.
 *
 * @remarks
 * Runtime-neutral (no `node:events`), so code reachable from the browser entry may use it.
 */

/** Typed listeners by name (`M` maps each name to its listeners' argument). */
export class Emitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<(value: never) => void>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Adds `fn` for `type`; returns the function that removes it. */
  on<K extends keyof M>(type: K, fn: (value: M[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    const entry = fn as (value: never) => void;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** How many listeners `type` has. */
  count<K extends keyof M>(type: K): number {
    return this.#listeners.get(type)?.size ?? 0;
  }

  /** Calls every listener of `type` with `value`; a throwing listener goes to `onError`. */
  emit<K extends keyof M>(type: K, value: M[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        (fn as (value: M[K]) => void)(value);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
