/**
 * Stream framing for SIP over TCP and TLS: bytes in, whole messages out.
 *
 * @remarks
 * RFC 3261 §18.3: on a stream the body ends after `Content-Length` bytes, and "the
 * Content-Length header field MUST be used with stream oriented transports"; §7.5: CRLF before a
 * start line is ignored. RFC 5626 §3.5.1 and §4.4.1: a double CRLF is a keep-alive "ping" that
 * the receiver answers with a single CRLF "pong".
 *
 * A push parser (pg-protocol style, portable to browsers): the transport calls `push(chunk)` with
 * whatever the socket delivered and gets back the events it completes. Linear in the bytes
 * received: the search for the empty line resumes where it stopped, and each byte is copied at
 * most twice (into the frame buffer, then out as a frame). The header section and the body are
 * checked against the limits before they are buffered, the body against `Content-Length`
 * before its first byte arrives.
 */
import { UaCstaError } from '../../errors.js';
import type { SipLimits } from '../../limits.js';
import { findHeaderEnd, resolveSipLimits, type SipParseOptions } from './parse.js';
import { SipParseError } from './parse-error.js';
import { takeBytes } from './serialize.js';

const LF = 0x0a;
const CR = 0x0d;

/** What {@link SipStreamFramer.push} reports, in stream order. */
export type SipStreamEvent =
  /**
   * One whole message (start line, headers, empty line, `Content-Length` body bytes): a copy
   * that the framer never touches again (possibly a view into a shared slab).
   */
  | { readonly type: 'message'; readonly bytes: Uint8Array }
  /**
   * A double CRLF between messages: answer with a single CRLF (RFC 5626 §4.4.1). CRLFs between
   * messages are taken in pairs, also across pushes, so a ping that TCP split still gets its
   * answer.
   */
  | { readonly type: 'ping' }
  /**
   * A CRLF between messages with no partner yet at the end of a push (or before a message): the
   * answer to our ping (RFC 5626 §4.4.1); nothing to send. The first half of a split ping also
   * reads as a pong; the ping follows when its second half arrives.
   */
  | { readonly type: 'pong' }
  /** The stream cannot be framed any further: close the connection. Always the last event. */
  | { readonly type: 'error'; readonly error: SipParseError };

/**
 * States of the framer.
 *
 * ```
 *            non-CRLF byte             empty line found,
 *   Idle ─────────────────▶ Headers ──Content-Length read──▶ Body
 *    ▲ │ CRLF: ping/pong                                       │
 *    │ └──────┘                                                │ Content-Length bytes buffered
 *    └────────────────────── message emitted ◀─────────────────┘
 *   Headers, Body ── limit crossed or no/bad Content-Length ──▶ Failed (sticky)
 *   any ── close() ──▶ Closed
 * ```
 */
export type SipStreamFramerState = 'Idle' | 'Headers' | 'Body' | 'Failed' | 'Closed';

/** Options of {@link SipStreamFramer}: some of the {@link SIP_LIMITS}, the rest default. */
export type SipStreamFramerOptions = SipParseOptions;

/** Buffers of up to this size are kept between messages; larger ones are let go. */
const KEEP_BUFFER_BYTES = 16_384;

/**
 * Reads `Content-Length` (or `l`) from a header section: its value, -1 when absent, -2 when
 * malformed or given twice with different values. Values above `cap` come back as `cap + 1`.
 */
function readContentLength(buf: Uint8Array, end: number, cap: number): number {
  const b = buf.subarray(0, end);
  let result = -1;
  let pos = b.indexOf(LF);
  if (pos < 0) return -1;
  pos++;
  while (pos < end) {
    let lf = b.indexOf(LF, pos);
    if (lf < 0) lf = end;
    const c0 = b[pos]!;
    if (c0 !== 0x20 && c0 !== 0x09) {
      // name: "content-length" or "l", any case, then *(SP / HTAB) ":"
      let i = pos;
      const lower = c0 | 0x20;
      let matched = false;
      if (lower === 0x6c) {
        i = pos + 1;
        matched = true;
      } else if (lower === 0x63 && lf - pos > 14) {
        matched = true;
        const name = 'content-length';
        for (let k = 0; k < 14; k++) {
          const c = b[pos + k]!;
          const want = name.charCodeAt(k);
          // letters in any case; the '-' exactly
          if (c !== want && !(want !== 0x2d && (c | 0x20) === want && c >= 0x41)) {
            matched = false;
            break;
          }
        }
        i = pos + 14;
      }
      if (matched) {
        while (i < lf && (b[i] === 0x20 || b[i] === 0x09)) i++;
        if (i < lf && b[i] === 0x3a) {
          // value: digits with LWS around, possibly on continuation lines
          let value = 0;
          let digits = 0;
          let after = false;
          let j = i + 1;
          let lineEnd = lf;
          for (;;) {
            for (; j < lineEnd; j++) {
              const c = b[j]!;
              if (c >= 0x30 && c <= 0x39) {
                if (after) return -2;
                digits++;
                if (value <= cap) value = value * 10 + (c - 0x30);
              } else if (c === 0x20 || c === 0x09 || c === CR) {
                if (digits > 0) after = true;
              } else {
                return -2;
              }
            }
            const next = lineEnd + 1;
            if (next < end && (b[next] === 0x20 || b[next] === 0x09)) {
              j = next;
              let nl = b.indexOf(LF, next);
              if (nl < 0) nl = end;
              lineEnd = nl;
              continue;
            }
            lf = lineEnd;
            break;
          }
          if (digits === 0) return -2;
          if (value > cap) value = cap + 1;
          if (result >= 0 && result !== value) return -2;
          result = value;
        }
      }
    }
    pos = lf + 1;
  }
  return result;
}

/**
 * Frames SIP messages out of a TCP or TLS byte stream.
 *
 * @example
 * const framer = new SipStreamFramer();
 * socket.on('data', (chunk) => {
 *   for (const ev of framer.push(chunk)) {
 *     if (ev.type === 'message') onMessage(parseSipMessage(ev.bytes));
 *     else if (ev.type === 'ping') socket.write(CRLF);
 *     else if (ev.type === 'error') { trace(ev.error); socket.destroy(); }
 *   }
 * });
 */
export class SipStreamFramer {
  readonly #limits: SipLimits;
  #state: SipStreamFramerState = 'Idle';
  #buf: Uint8Array = new Uint8Array(0);
  #len = 0;
  /** Where the search for the empty line resumes. */
  #scan = 0;
  /** Bytes of the whole current message, once its header section is known. */
  #need = 0;
  /** CRLFs seen in a row between messages, and whether a CR is waiting for its LF. */
  #crlf = 0;
  #cr = false;
  #pongSent = false;
  #error: SipParseError | undefined;

  /** Throws `ERR_INVALID_ARG` for a limit that is not a non-negative integer or `Infinity`. */
  constructor(options?: SipStreamFramerOptions) {
    this.#limits = resolveSipLimits(options);
  }

  /** Where the framer is; see {@link SipStreamFramerState}. */
  get state(): SipStreamFramerState {
    return this.#state;
  }

  /** Bytes held for a message that is not complete yet. */
  get bufferedBytes(): number {
    return this.#len;
  }

  /**
   * Takes the next bytes of the stream and returns the events they complete, in order.
   *
   * @remarks
   * After an `error` event the framer is `Failed` and every later push returns that error
   * again: the transport must close the connection. Throws `ERR_INVALID_STATE` after
   * {@link SipStreamFramer.close}.
   */
  push(chunk: Uint8Array): SipStreamEvent[] {
    if (this.#state === 'Closed')
      throw new UaCstaError('ERR_INVALID_STATE', 'push() after close()');
    if (this.#error !== undefined) return [{ type: 'error', error: this.#error }];
    const events: SipStreamEvent[] = [];
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.#state === 'Idle') {
        p = this.#idle(chunk, p, events);
      } else if (this.#state === 'Headers') {
        const room = this.#limits.maxHeaderSectionBytes - this.#len;
        const take = Math.min(n - p, room);
        this.#append(chunk, p, take);
        p += take;
        const found = findHeaderEnd(this.#buf, this.#scan, this.#len);
        if (found < 0) {
          this.#scan = -1 - found;
          if (this.#len >= this.#limits.maxHeaderSectionBytes) {
            return this.#fail(
              events,
              new SipParseError(
                'SIP_ERR_LIMIT',
                `header section longer than ${this.#limits.maxHeaderSectionBytes} bytes without an empty line`,
                {
                  limit: {
                    name: 'maxHeaderSectionBytes',
                    value: this.#limits.maxHeaderSectionBytes,
                  },
                },
              ),
            );
          }
          continue;
        }
        const failure = this.#startBody(found);
        if (failure !== undefined) return this.#fail(events, failure);
        // give back what was taken past the end of this message
        const extra = this.#len - this.#need;
        if (extra > 0) {
          p -= extra;
          this.#len = this.#need;
        }
        if (this.#len === this.#need) this.#emit(events);
      } else if (this.#state === 'Body') {
        const take = Math.min(n - p, this.#need - this.#len);
        this.#append(chunk, p, take);
        p += take;
        if (this.#len === this.#need) this.#emit(events);
      } else {
        break;
      }
    }
    if (this.#state === 'Idle' && this.#crlf === 1 && !this.#pongSent) {
      events.push({ type: 'pong' });
      this.#pongSent = true;
    }
    return events;
  }

  /**
   * Says that the lone CRLF just reported as `pong` answered our own ping (RFC 5626 §4.4.1, the
   * client side): it is forgotten, so that the pong to our next ping reads as a pong again
   * rather than as the second half of a CRLFCRLF ping.
   */
  pongTaken(): void {
    if (this.#state === 'Idle' && this.#crlf === 1) {
      this.#crlf = 0;
      this.#pongSent = false;
    }
  }

  /** Drops any buffered bytes; later pushes throw. Idempotent. */
  close(): void {
    this.#state = 'Closed';
    this.#buf = new Uint8Array(0);
    this.#len = 0;
  }

  /** Consumes CR/LF between messages (keep-alives); stops at the first byte of a message. */
  #idle(chunk: Uint8Array, p: number, events: SipStreamEvent[]): number {
    const n = chunk.length;
    while (p < n) {
      const b = chunk[p]!;
      if (b === CR) {
        this.#cr = true;
        p++;
      } else if (b === LF) {
        this.#cr = false;
        p++;
        if (++this.#crlf === 2) {
          events.push({ type: 'ping' });
          this.#crlf = 0;
          this.#pongSent = false;
        }
      } else {
        if (this.#crlf === 1 && !this.#pongSent) events.push({ type: 'pong' });
        this.#crlf = 0;
        this.#pongSent = false;
        this.#cr = false;
        this.#state = 'Headers';
        this.#len = 0;
        this.#scan = 0;
        return p;
      }
    }
    return p;
  }

  /** The header section ends at `bodyStart`: read Content-Length, check the limits. */
  #startBody(bodyStart: number): SipParseError | undefined {
    const limits = this.#limits;
    const cap = Math.min(
      Number.MAX_SAFE_INTEGER / 10,
      Math.max(limits.maxBodyBytes, limits.maxMessageBytes),
    );
    const cl = readContentLength(this.#buf, bodyStart, cap);
    if (cl === -1) {
      return new SipParseError(
        'SIP_ERR_PARSE',
        'message on a stream without Content-Length (RFC 3261 §18.3)',
        {
          reasonPhrase: 'Missing Content-Length',
        },
      );
    }
    if (cl === -2) {
      return new SipParseError(
        'SIP_ERR_PARSE',
        'Content-Length is not 1*DIGIT, or given twice with different values',
        {
          reasonPhrase: 'Bad Content-Length',
        },
      );
    }
    if (cl > limits.maxBodyBytes) {
      return new SipParseError(
        'SIP_ERR_LIMIT',
        `Content-Length ${cl > cap ? `above ${cap}` : cl}; limit maxBodyBytes is ${limits.maxBodyBytes}`,
        {
          limit: { name: 'maxBodyBytes', value: limits.maxBodyBytes },
        },
      );
    }
    if (bodyStart + cl > limits.maxMessageBytes) {
      return new SipParseError(
        'SIP_ERR_LIMIT',
        `message would be ${bodyStart + cl} bytes; limit maxMessageBytes is ${limits.maxMessageBytes}`,
        {
          limit: { name: 'maxMessageBytes', value: limits.maxMessageBytes },
        },
      );
    }
    this.#need = bodyStart + cl;
    this.#state = 'Body';
    return undefined;
  }

  #emit(events: SipStreamEvent[]): void {
    const frame = takeBytes(this.#need);
    frame.set(this.#buf.subarray(0, this.#need), 0);
    events.push({ type: 'message', bytes: frame });
    this.#len = 0;
    this.#scan = 0;
    this.#need = 0;
    this.#state = 'Idle';
    if (this.#buf.length > KEEP_BUFFER_BYTES) this.#buf = new Uint8Array(0);
  }

  #append(chunk: Uint8Array, p: number, take: number): void {
    const want = this.#len + take;
    if (want > this.#buf.length) {
      let size = Math.max(this.#buf.length * 2, 1024);
      while (size < want) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#len), 0);
      this.#buf = grown;
    }
    this.#buf.set(chunk.subarray(p, p + take), this.#len);
    this.#len = want;
  }

  #fail(events: SipStreamEvent[], error: SipParseError): SipStreamEvent[] {
    this.#error = error;
    this.#state = 'Failed';
    this.#buf = new Uint8Array(0);
    this.#len = 0;
    events.push({ type: 'error', error });
    return events;
  }
}
