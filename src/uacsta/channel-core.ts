/**
 * `ChannelCore`: the part of a {@link CstaChannel} that every SIP binding shares (our Node
 * dialog, the NOTIFY mode, sip.js): the one request handler, the peer's requests held until a
 * handler is set, the close listeners and the end of the channel.
 *
 * @remarks
 * Runtime-neutral. The binding keeps what differs (how a body is sent and answered on its SIP
 * stack) and delegates the rest, so the three agree on what the `CstaChannel` contract says:
 * requests that arrive before a handler are held (bounded: past the bound they get 503, RFC 3261
 * §21.5.4, "the server is temporarily unable to process"), held requests of a channel that ends
 * get 481 (RFC 3261 §12.2.2, the dialog is gone), a handler that throws yields 500, and close
 * listeners run once, each isolated from the others' failures.
 */
import { UaCstaError } from '../errors.js';
import type {
  CstaChannelAnswer,
  CstaChannelClosed,
  CstaChannelHandler,
  CstaChannelRequest,
  CstaChannelState,
} from './channel.js';

interface Held {
  readonly request: CstaChannelRequest;
  readonly resolve: (answer: CstaChannelAnswer) => void;
}

/** Options of {@link ChannelCore}. */
export interface ChannelCoreOptions {
  /** Requests held while no handler is set; the next ones get 503. */
  readonly maxHeld: number;
  /** Told of a handler that threw (its request was answered 500). */
  readonly onHandlerError?: (error: unknown) => void;
}

/** Handler, held requests and close listeners of one channel. */
export class ChannelCore {
  readonly #maxHeld: number;
  readonly #onHandlerError: ((error: unknown) => void) | undefined;
  readonly #held: Held[] = [];
  readonly #closedListeners = new Set<(c: CstaChannelClosed) => void>();
  #handler: CstaChannelHandler | undefined;
  #closed: CstaChannelClosed | undefined;

  constructor(options: ChannelCoreOptions) {
    this.#maxHeld = options.maxHeld;
    this.#onHandlerError = options.onHandlerError;
  }

  /** Why the channel ended, once it has. */
  get closed(): CstaChannelClosed | undefined {
    return this.#closed;
  }

  get state(): CstaChannelState {
    return this.#closed === undefined ? 'Open' : 'Closed';
  }

  /** `CstaChannel.onRequest`: sets the handler and gives it the requests held so far. */
  onRequest(handler: CstaChannelHandler): () => void {
    if (typeof handler !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    this.#handler = handler;
    for (const h of this.#held.splice(0)) void this.dispatch(h.request).then(h.resolve);
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /** `CstaChannel.onClosed`: at once when the channel has ended. */
  onClosed(listener: (closed: CstaChannelClosed) => void): () => void {
    if (this.#closed !== undefined) {
      listener(this.#closed);
      return () => {};
    }
    this.#closedListeners.add(listener);
    return () => this.#closedListeners.delete(listener);
  }

  /** The peer's request to the handler: held (bounded) until one is set; 481 once ended. */
  dispatch(request: CstaChannelRequest): Promise<CstaChannelAnswer> {
    const handler = this.#handler;
    if (this.#closed !== undefined) return Promise.resolve({ status: 481 });
    if (handler === undefined) {
      if (this.#held.length >= this.#maxHeld) return Promise.resolve({ status: 503 });
      return new Promise((resolve) => this.#held.push({ request, resolve }));
    }
    return Promise.resolve()
      .then(() => handler(request))
      .catch((error: unknown) => {
        try {
          this.#onHandlerError?.(error);
        } catch {
          // a trace sink that throws must not change the answer
        }
        return { status: 500 };
      });
  }

  /** Ends the channel: held requests get 481, close listeners run once. False when it had ended. */
  end(reason: string): boolean {
    if (this.#closed !== undefined) return false;
    const closed = { reason };
    this.#closed = closed;
    for (const h of this.#held.splice(0)) h.resolve({ status: 481 });
    const listeners = [...this.#closedListeners];
    this.#closedListeners.clear();
    for (const l of listeners) {
      try {
        l(closed);
      } catch {
        // a listener's failure must not stop the others
      }
    }
    return true;
  }
}
