/**
 * An in-process pair of transports for tests: what one side sends, the other receives, with
 * optional loss and delay drawn from an injected random source and clock.
 *
 * @remarks
 * Stands in for a datagram network (RFC 3261 §18 over UDP) by default, so the transactions
 * above it run their retransmission timers; with `reliable: true` it stands in for a connection
 * and may not lose anything. Delivery is never synchronous: with no delay it happens in a
 * microtask, with a delay on the injected {@link Clock}, so a manual clock drives it in tests.
 */

import { UaCstaError } from '../../errors.js';
import { systemClock, type Clock } from '../../util/clock.js';
import {
  NULL_SINK,
  addressKey,
  closedFailure,
  transportFailure,
  type SendOptions,
  type Transport,
  type TransportAddress,
  type TransportSink,
  type TransportState,
  type TransportTarget,
} from './transport.js';

/** Loss and delay on one direction of a {@link createMemoryPair} link. */
export interface MemoryLinkOptions {
  /**
   * Probability in [0, 1) that a message is lost, drawn per message from `random`.
   * @defaultValue 0
   */
  readonly lossRate?: number;
  /**
   * Delay of every message, in ms of the injected clock; 0 delivers in a microtask.
   * @defaultValue 0
   */
  readonly delayMs?: number;
}

/** Options of {@link createMemoryPair}. */
export interface MemoryPairOptions extends MemoryLinkOptions {
  /** Address of the first transport. @defaultValue `{ host: 'a.memory.invalid', port: 5060 }` */
  readonly a?: TransportAddress;
  /** Address of the second transport. @defaultValue `{ host: 'b.memory.invalid', port: 5060 }` */
  readonly b?: TransportAddress;
  /** Loss and delay from a to b; overrides `lossRate`/`delayMs` for that direction. */
  readonly aToB?: MemoryLinkOptions;
  /** Loss and delay from b to a; overrides `lossRate`/`delayMs` for that direction. */
  readonly bToA?: MemoryLinkOptions;
  /**
   * Whether the pair counts as reliable (a connection) rather than a datagram network. A
   * reliable pair may not lose messages.
   * @defaultValue false
   */
  readonly reliable?: boolean;
  /**
   * Random numbers in [0, 1) for loss; inject a seeded source to make a lossy run repeatable.
   * @defaultValue a source over `crypto.getRandomValues`
   */
  readonly random?: () => number;
  /** Clock for delays. @defaultValue `systemClock` */
  readonly clock?: Clock;
}

/** Defaults of {@link MemoryPairOptions}. */
export const MEMORY_PAIR_DEFAULTS = {
  a: { host: 'a.memory.invalid', port: 5060 },
  b: { host: 'b.memory.invalid', port: 5060 },
  lossRate: 0,
  delayMs: 0,
  reliable: false,
} as const;

const cryptoRandom = (): number => {
  const word = new Uint32Array(1);
  crypto.getRandomValues(word);
  return (word[0] ?? 0) / 2 ** 32;
};

interface Link {
  readonly lossRate: number;
  readonly delayMs: number;
}

function resolveLink(o: MemoryLinkOptions | undefined, base: Link, what: string): Link {
  const lossRate = o?.lossRate ?? base.lossRate;
  const delayMs = o?.delayMs ?? base.delayMs;
  if (typeof lossRate !== 'number' || !(lossRate >= 0 && lossRate < 1)) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${what} lossRate must be in [0, 1); got ${String(lossRate)}`,
    );
  }
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${what} delayMs must be a finite number >= 0; got ${String(delayMs)}`,
    );
  }
  return { lossRate, delayMs };
}

function checkAddress(a: TransportAddress, what: string): TransportAddress {
  if (
    typeof a.host !== 'string' ||
    a.host.length === 0 ||
    !Number.isInteger(a.port) ||
    a.port < 0 ||
    a.port > 65535
  ) {
    throw new UaCstaError('ERR_INVALID_ARG', `${what} must be a host and a port 0-65535`);
  }
  return { host: a.host, port: a.port };
}

/** Counts of one side of a memory pair, for tests. */
export interface MemoryTransportStats {
  /** Messages passed to `send`. */
  readonly sent: number;
  /** Messages lost on the way out (by `lossRate`). */
  readonly lost: number;
  /** Messages delivered to this side's sink. */
  readonly received: number;
}

/** One side of a {@link createMemoryPair} pair. */
export class MemoryTransport implements Transport {
  readonly protocol = 'memory' as const;
  readonly reliable: boolean;
  readonly local: TransportAddress;
  readonly sentBy: { readonly host: string; readonly port: number | undefined };
  #sink: TransportSink = NULL_SINK;
  #state: TransportState = 'Open';
  #peer: MemoryTransport | undefined;
  #link: Link = { lossRate: 0, delayMs: 0 };
  #random: () => number = cryptoRandom;
  #clock: Clock = systemClock;
  #sent = 0;
  #lost = 0;
  #received = 0;

  /** @internal Built by {@link createMemoryPair}. */
  constructor(local: TransportAddress, reliable: boolean) {
    this.local = local;
    this.sentBy = { host: local.host, port: local.port };
    this.reliable = reliable;
  }

  /** @internal Wires the pair. */
  connect(peer: MemoryTransport, link: Link, random: () => number, clock: Clock): void {
    this.#peer = peer;
    this.#link = link;
    this.#random = random;
    this.#clock = clock;
  }

  get state(): TransportState {
    return this.#state;
  }

  /** Counts for tests; see {@link MemoryTransportStats}. */
  get stats(): MemoryTransportStats {
    return { sent: this.#sent, lost: this.#lost, received: this.#received };
  }

  attach(sink: TransportSink): void {
    this.#sink = sink;
  }

  send(bytes: Uint8Array, target: TransportTarget, _options?: SendOptions): void {
    if (this.#state === 'Closed') throw closedFailure('memory');
    if (target.protocol !== 'memory') {
      throw transportFailure(`the memory transport cannot send to ${target.protocol}`);
    }
    this.#sent++;
    const peer = this.#peer;
    if (
      peer === undefined ||
      addressKey(target.host, target.port) !== addressKey(peer.local.host, peer.local.port)
    ) {
      // like a datagram to an address nobody listens on: gone
      this.#sink.trace({
        type: 'dropped',
        reason: 'no memory transport at the target',
        source: undefined,
      });
      return;
    }
    const link = this.#link;
    if (link.lossRate > 0 && this.#random() < link.lossRate) {
      this.#lost++;
      return;
    }
    const copy = bytes.slice();
    const from: TransportTarget = {
      protocol: 'memory',
      host: this.local.host,
      port: this.local.port,
    };
    const deliver = (): void => peer.deliver(copy, from);
    if (link.delayMs > 0) this.#clock.setTimeout(deliver, link.delayMs);
    else queueMicrotask(deliver);
  }

  alias(): void {}

  close(): Promise<void> {
    this.#state = 'Closed';
    return Promise.resolve();
  }

  /** @internal Hands a message to this side's sink; never throws. */
  deliver(bytes: Uint8Array, from: TransportTarget): void {
    if (this.#state === 'Closed') return;
    this.#received++;
    try {
      this.#sink.receive(bytes, from, undefined);
    } catch (error) {
      this.#sink.trace({ type: 'error', error });
    }
  }
}

/**
 * Creates two connected in-memory transports.
 *
 * @throws `ERR_INVALID_ARG` for a loss rate outside [0, 1), a negative delay, a bad address, or
 * loss on a reliable pair.
 *
 * @example
 * const clock = manualClock();
 * const [a, b] = createMemoryPair({ lossRate: 0.2, random: seeded(7), clock, delayMs: 1 });
 * a.send(bytes, { protocol: 'memory', ...b.local });
 * clock.tick(1);   // b's sink receives it, unless it was lost
 */
export function createMemoryPair(
  options: MemoryPairOptions = {},
): [MemoryTransport, MemoryTransport] {
  const base = resolveLink(options, MEMORY_PAIR_DEFAULTS, 'memory pair');
  const aToB = resolveLink(options.aToB, base, 'aToB');
  const bToA = resolveLink(options.bToA, base, 'bToA');
  const reliable = options.reliable ?? MEMORY_PAIR_DEFAULTS.reliable;
  if (reliable && (aToB.lossRate > 0 || bToA.lossRate > 0)) {
    throw new UaCstaError('ERR_INVALID_ARG', 'a reliable memory pair cannot lose messages');
  }
  const random = options.random ?? cryptoRandom;
  if (typeof random !== 'function')
    throw new UaCstaError('ERR_INVALID_ARG', 'random must be a function');
  const clock = options.clock ?? systemClock;
  const a = new MemoryTransport(checkAddress(options.a ?? MEMORY_PAIR_DEFAULTS.a, 'a'), reliable);
  const b = new MemoryTransport(checkAddress(options.b ?? MEMORY_PAIR_DEFAULTS.b, 'b'), reliable);
  a.connect(b, aToB, random, clock);
  b.connect(a, bToA, random, clock);
  return [a, b];
}
