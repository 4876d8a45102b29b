/**
 * Two user agents, A and B, over a pair of transports, with a tap on each transport that records
 * a ladder ('A → B INVITE', 'B → A 200') and can drop or hold chosen messages.
 */

import { SipEndpoint } from '../../../../src/sip/endpoint.js';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import type { SipMessage } from '../../../../src/sip/message/types.js';
import { createMemoryPair } from '../../../../src/sip/transport/memory.js';
import type { Transport } from '../../../../src/sip/transport/transport.js';
import { UserAgent, type UserAgentOptions } from '../../../../src/sip/ua/user-agent.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';
import type { Clock } from '../../../../src/util/clock.js';

export type SideName = 'A' | 'B';

/** One message as it left a tap. */
export interface LadderEntry {
  readonly line: string;
  readonly from: SideName;
  readonly at: number;
  readonly message: SipMessage;
  /** Dropped by the tap: never reached the other side. */
  readonly lost: boolean;
}

/** What a tap does with a message: pass it, drop it, or hold it until `release()`. */
export type TapVerdict = 'pass' | 'drop' | 'hold';

export interface Ladder {
  readonly entries: LadderEntry[];
  /** The ladder lines, lost messages marked ' (lost)'. */
  lines(): string[];
  /** Sets the rule of side `from`'s tap. */
  rule(from: SideName, rule: (m: SipMessage) => TapVerdict): void;
  /** Sends the messages held on side `from`. */
  release(from: SideName): void;
}

function label(m: SipMessage): string {
  return m.kind === 'request' ? m.method : String(m.status);
}

/** Wraps `inner`: every send goes through the rule and is recorded. */
function tap(
  inner: Transport,
  from: SideName,
  clock: Clock,
  entries: LadderEntry[],
  state: { rule: (m: SipMessage) => TapVerdict; held: (() => void)[] },
): Transport {
  const to: SideName = from === 'A' ? 'B' : 'A';
  return {
    get protocol() {
      return inner.protocol;
    },
    get reliable() {
      return inner.reliable;
    },
    get local() {
      return inner.local;
    },
    get sentBy() {
      return inner.sentBy;
    },
    get state() {
      return inner.state;
    },
    attach: (sink) => inner.attach(sink),
    alias: (flow, address) => inner.alias(flow, address),
    close: () => inner.close(),
    send(bytes, target, options) {
      const parsed = parseSipMessage(bytes);
      if (!parsed.ok) throw new Error(`the UA sent an unreadable message: ${parsed.error.message}`);
      const message = parsed.value;
      const verdict = state.rule(message);
      const go = (lost: boolean): void => {
        entries.push({ line: `${from} → ${to} ${label(message)}`, from, at: clock.now(), message, lost });
        if (!lost) inner.send(bytes, target, options);
      };
      if (verdict === 'hold') state.held.push(() => go(false));
      else go(verdict === 'drop');
    },
  };
}

export interface Pair {
  readonly a: { endpoint: SipEndpoint; ua: UserAgent; transport: Transport };
  readonly b: { endpoint: SipEndpoint; ua: UserAgent; transport: Transport };
  readonly ladder: Ladder;
  /** B's URI, for A's INVITE. */
  readonly bUri: string;
  /** Dropped input, caught errors and handler failures seen by either side's trace. */
  readonly problems: string[];
  close(): Promise<void>;
}

export interface PairOptions {
  readonly clock: Clock;
  /** The two transports, A's first; default a memory pair. */
  readonly transports?: readonly [Transport, Transport];
  readonly a?: Partial<UserAgentOptions>;
  readonly b?: Partial<UserAgentOptions>;
  readonly seed?: number;
}

function hostPort(t: Transport): string {
  const h = t.local.host.includes(':') ? `[${t.local.host}]` : t.local.host;
  return `${h}:${t.local.port}`;
}

/** Two UAs over taps on a transport pair. */
export function uaPair(options: PairOptions): Pair {
  const { clock } = options;
  const [ta, tb] = options.transports ?? createMemoryPair();
  const entries: LadderEntry[] = [];
  const states = {
    A: { rule: (): TapVerdict => 'pass', held: [] as (() => void)[] },
    B: { rule: (): TapVerdict => 'pass', held: [] as (() => void)[] },
  } as Record<SideName, { rule: (m: SipMessage) => TapVerdict; held: (() => void)[] }>;
  const seed = options.seed ?? 1;
  const problems: string[] = [];
  const side = (name: SideName, inner: Transport, extra: Partial<UserAgentOptions> = {}) => {
    const transport = tap(inner, name, clock, entries, states[name]);
    const ids = createIdGenerator(seededRandom(seed + (name === 'A' ? 0 : 1000)));
    const endpoint = new SipEndpoint({
      transports: [transport],
      clock,
      ids,
      trace: (e) => {
        if (e.type === 'dropped') problems.push(`${name} dropped: ${e.reason}`);
        else if (e.type === 'error' || e.type === 'user-error' || e.type === 'rejected')
          problems.push(`${name} ${e.type}: ${String((e as { error?: unknown }).error)}`);
      },
    });
    const user = name.toLowerCase();
    const ua = new UserAgent({
      endpoint,
      clock,
      ids,
      aor: `sip:${user}@${hostPort(inner)}`,
      contact: `sip:${user}@${hostPort(inner)}`,
      trace: (e) => {
        if (e.type === 'user-error') problems.push(`${name} UA user-error: ${String(e.error)}`);
        else if (e.type === 'dropped') problems.push(`${name} UA dropped: ${e.reason}`);
      },
      ...extra,
    });
    return { endpoint, ua, transport };
  };
  const a = side('A', ta, options.a);
  const b = side('B', tb, options.b);
  return {
    a,
    b,
    bUri: `sip:b@${hostPort(tb)}`,
    problems,
    ladder: {
      entries,
      lines: () => entries.map((e) => (e.lost ? `${e.line} (lost)` : e.line)),
      rule: (from, rule) => {
        states[from].rule = rule;
      },
      release: (from) => {
        const held = states[from].held.splice(0);
        for (const send of held) send();
      },
    },
    async close() {
      await Promise.all([a.endpoint.close(), b.endpoint.close()]);
    },
  };
}

/** Lets queued microtasks and immediate callbacks (memory deliveries, UDP reads) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export const CSTA = 'application/csta+xml';
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
