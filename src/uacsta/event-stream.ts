/**
 * `EventStream`: an async iterator over pushed values with a bounded buffer (STYLE §4, §7).
 *
 * @remarks
 * The producer (a client's event delivery) never waits for the consumer. When the consumer falls
 * `maxBuffered` values behind, the stream stops collecting, counts what it had to drop, and ends
 * with `UACSTA_ERR_EVENT_OVERFLOW` once the consumer has taken what was buffered: events are never
 * lost silently, and the buffer never grows past its limit.
 */

import { UaCstaError } from '../errors.js';

/** What a stream's producer calls. */
export interface EventSink<T> {
  /** Adds one value; false once the stream has ended (overflowed, returned or failed). */
  push(value: T): boolean;
  /** Ends the stream normally after the buffered values. */
  end(): void;
  /** Ends the stream with `error` after the buffered values. */
  fail(error: unknown): void;
}

/** The consumer's end of an {@link EventStream}. */
export type EventIterator<T> = AsyncIterableIterator<T>;

/**
 * Creates a bounded stream; `onFinish` runs once when it ends for any reason (the producer
 * unsubscribes there).
 *
 * @example
 * const { sink, iterator } = createEventStream<CstaEvent>(1024, () => off());
 * const off = client.on('event', (e) => sink.push(e));
 * for await (const e of iterator) log(e);
 */
export function createEventStream<T>(
  maxBuffered: number,
  onFinish: () => void,
  signal?: AbortSignal,
): { readonly sink: EventSink<T>; readonly iterator: EventIterator<T> } {
  const buffer: T[] = [];
  let waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  // 'overflow' becomes its error when the consumer reaches it, so the count of lost events is final
  let ending: { error: unknown } | 'done' | 'overflow' | undefined;
  let finished = false;
  let overflowing = false;
  let lost = 0;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    signal?.removeEventListener('abort', onAbort);
    try {
      onFinish();
    } catch {
      // the producer's unsubscriber must not break the consumer
    }
  };
  const settleWaiter = (): void => {
    const w = waiter;
    if (w === undefined) return;
    if (buffer.length > 0) {
      waiter = undefined;
      w.resolve({ value: buffer.shift()!, done: false });
    } else if (ending !== undefined) {
      waiter = undefined;
      if (ending === 'done') w.resolve({ value: undefined, done: true });
      else {
        const error = ending === 'overflow' ? overflowError() : ending.error;
        ending = 'done';
        finish();
        w.reject(error);
      }
    }
  };
  const overflowError = (): UaCstaError =>
    new UaCstaError(
      'UACSTA_ERR_EVENT_OVERFLOW',
      `the consumer fell ${maxBuffered} events behind (maxBufferedEvents); ${lost} event${lost === 1 ? ' was' : 's were'} lost`,
    );
  const close = (how: { error: unknown } | 'done' | 'overflow'): void => {
    if (ending !== undefined) return;
    ending = how;
    // an overflowed stream keeps counting what it drops until the consumer reaches the error
    if (how !== 'overflow') finish();
    settleWaiter();
  };
  const onAbort = (): void => {
    buffer.length = 0;
    close({ error: new UaCstaError('ERR_ABORTED', 'the event iterator was aborted', { cause: signal?.reason }) });
  };

  const sink: EventSink<T> = {
    push(value) {
      if (ending !== undefined) {
        if (overflowing) lost++;
        return false;
      }
      if (waiter !== undefined) {
        const w = waiter;
        waiter = undefined;
        w.resolve({ value, done: false });
        return true;
      }
      if (buffer.length >= maxBuffered) {
        lost = 1;
        overflowing = true;
        close('overflow');
        return false;
      }
      buffer.push(value);
      return true;
    },
    end: () => close('done'),
    fail: (error) => close({ error }),
  };
  const iterator: EventIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (ending === 'done') return Promise.resolve({ value: undefined, done: true });
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiter = { resolve, reject };
        settleWaiter();
      });
    },
    return() {
      buffer.length = 0;
      ending = 'done';
      finish();
      settleWaiter();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };

  if (signal !== undefined) {
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return { sink, iterator };
}
