/**
 * The simulated phone's media: one RTP stream (RFC 3550) per call on its own UDP socket bound to
 * the phone's host, sending 20 ms G.711 frames of silence or a 1 kHz tone while the negotiated
 * direction lets us send (RFC 3264 §5.1), and DTMF as RFC 4733 named events.
 *
 * @remarks
 * Optional: a phone without media still offers a port (the socket is bound so that the far end's
 * RTP and ICMP go somewhere), but sends nothing. Received packets are counted, not decoded;
 * telephone events are reported as digits once, on their end packet. Time comes from the
 * injected clock; the SSRC and the first sequence number and timestamp are random as RFC 3550
 * §5.1 asks, from the injected random source.
 */

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { UaCstaError } from '../../errors.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import type { MediaDirection, NegotiatedMedia } from './sdp.js';
import {
  audioFrame,
  dtmfDigit,
  dtmfEvent,
  readRtpHeader,
  readTelephoneEvent,
  SAMPLES_PER_FRAME,
  telephoneEventPayload,
  writeRtpPacket,
  type AudioSource,
} from './rtp-packet.js';

/** Packet interval in ms (`a=ptime:20`). */
export const FRAME_MS = 20;

/** Options of {@link RtpStream.open}. */
export interface RtpStreamOptions {
  /** The address to bind: the phone's host. */
  readonly host: string;
  /** @defaultValue 0 (a free port) */
  readonly port?: number;
  /** What to send; `none` sends nothing. @defaultValue `'silence'` */
  readonly source?: AudioSource | 'none';
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Random 32-bit values for SSRC, first sequence number and timestamp. @defaultValue crypto */
  readonly random32?: () => number;
  /** Called with each DTMF digit received as an RFC 4733 event. */
  readonly onDigit?: (digit: string) => void;
}

/** What a stream counted. */
export interface RtpStreamStats {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  readonly eventsSent: number;
}

const cryptoRandom32 = (): number => crypto.getRandomValues(new Uint32Array(1))[0]!;

/** Packets of one RFC 4733 event: start (marker), updates every 50 ms, three end packets (§2.5.1.4). */
const EVENT_UPDATE_MS = 50;

/**
 * One call's RTP stream.
 *
 * @example
 * const rtp = await RtpStream.open({ host: '127.0.0.1', source: 'tone' });
 * const sdp = writeSdp({ address: '127.0.0.1', port: rtp.port, ... });
 * rtp.start(negotiated);            // sends while the direction allows
 * await rtp.sendDigits('12#', 101);
 * await rtp.close();
 */
export class RtpStream {
  readonly #socket: Socket;
  readonly #clock: Clock;
  readonly #source: AudioSource | 'none';
  readonly #onDigit: ((digit: string) => void) | undefined;
  readonly #ssrc: number;
  readonly port: number;
  readonly host: string;
  #sequence: number;
  #timestamp: number;
  #samples = 0;
  #media: NegotiatedMedia | undefined;
  #timer: TimerHandle | undefined;
  #nextAt = 0;
  #sendingEvent = false;
  #closed = false;
  #sent = 0;
  #received = 0;
  #events = 0;
  #lastEventTimestamp: number | undefined;

  private constructor(socket: Socket, host: string, port: number, options: RtpStreamOptions) {
    this.#socket = socket;
    this.host = host;
    this.port = port;
    this.#clock = options.clock ?? systemClock;
    this.#source = options.source ?? 'silence';
    this.#onDigit = options.onDigit;
    const random = options.random32 ?? cryptoRandom32;
    this.#ssrc = random() >>> 0;
    this.#sequence = random() & 0xffff;
    this.#timestamp = random() >>> 0;
    socket.on('message', (packet) => this.#receive(packet));
    socket.on('error', () => {
      // ICMP port unreachable and the like: media is best effort
    });
  }

  /** Binds a UDP socket on `host` and resolves with the stream. Rejects `ERR_INVALID_ARG` for a bad host. */
  static open(options: RtpStreamOptions): Promise<RtpStream> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
      socket.once('error', (error) =>
        reject(new UaCstaError('ERR_INVALID_ARG', `cannot bind RTP on ${options.host}`, { cause: error })),
      );
      socket.bind(options.port ?? 0, options.host, () => {
        socket.removeAllListeners('error');
        resolve(new RtpStream(socket, options.host, socket.address().port, options));
      });
    });
  }

  /** What was sent and received so far. */
  get stats(): RtpStreamStats {
    return { packetsSent: this.#sent, packetsReceived: this.#received, eventsSent: this.#events };
  }

  /** The media in use, once negotiated. */
  get media(): NegotiatedMedia | undefined {
    return this.#media;
  }

  /** Whether audio frames are going out now. */
  get sending(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Sets (or changes, after a re-INVITE) the negotiated media and sends while its direction
   * includes sending (`sendrecv`, `sendonly`); on hold (`recvonly`, `inactive`) it stops.
   */
  start(media: NegotiatedMedia): void {
    if (this.#closed) return;
    this.#media = media;
    const send = canSend(media.direction) && this.#source !== 'none' && media.remotePort !== 0;
    if (send && this.#timer === undefined) {
      this.#nextAt = this.#clock.now();
      this.#tick();
    } else if (!send) this.#stopTimer();
  }

  /** Changes only the direction (a hold or retrieve we offered and the peer accepted). */
  setDirection(direction: MediaDirection): void {
    if (this.#media !== undefined) this.start({ ...this.#media, direction });
  }

  /**
   * Sends `digits` as RFC 4733 events with payload type `payloadType`, one after the other
   * (`durationMs` each, `gapMs` between). Resolves when the last end packet went out.
   * Characters that are not DTMF are skipped.
   */
  async sendDigits(digits: string, payloadType: number, durationMs = 100, gapMs = 50): Promise<void> {
    const media = this.#media;
    if (media === undefined || this.#closed) return;
    for (const digit of digits) {
      const event = dtmfEvent(digit);
      if (event === undefined) continue;
      await this.#sendEvent(media, event, payloadType, durationMs);
      await this.#sleep(gapMs);
    }
  }

  /** Stops sending and closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#stopTimer();
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  async #sendEvent(media: NegotiatedMedia, event: number, pt: number, durationMs: number): Promise<void> {
    this.#sendingEvent = true;
    // every packet of one event carries the timestamp of its start (RFC 4733 §2.5.1.1)
    const start = this.#timestamp + this.#samples;
    const total = Math.round((durationMs * 8000) / 1000);
    let elapsed = 0;
    let first = true;
    try {
      while (elapsed < total && !this.#closed) {
        const step = Math.min(total - elapsed, (EVENT_UPDATE_MS * 8000) / 1000);
        elapsed += step;
        this.#emit(media, pt, start, telephoneEventPayload(event, false, 10, elapsed), first);
        first = false;
        await this.#sleep(EVENT_UPDATE_MS);
      }
      for (let i = 0; i < 3 && !this.#closed; i++) {
        this.#emit(media, pt, start, telephoneEventPayload(event, true, 10, total), false);
      }
      this.#samples += total;
      this.#events++;
    } finally {
      this.#sendingEvent = false;
    }
  }

  #tick(): void {
    this.#timer = undefined;
    const media = this.#media;
    if (this.#closed || media === undefined) return;
    if (!this.#sendingEvent) {
      const encoding = media.codec.name.toUpperCase() === 'PCMA' ? 'PCMA' : 'PCMU';
      const payload = audioFrame(this.#source === 'tone' ? 'tone' : 'silence', encoding, this.#samples);
      this.#emit(media, media.codec.pt, this.#timestamp + this.#samples, payload, false);
      this.#samples += SAMPLES_PER_FRAME;
    }
    // schedule against the ideal time so that timer lateness does not add up
    this.#nextAt += FRAME_MS;
    const delay = Math.max(0, this.#nextAt - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#tick(), delay);
  }

  #emit(media: NegotiatedMedia, pt: number, timestamp: number, payload: Uint8Array, marker: boolean): void {
    const packet = writeRtpPacket({
      payloadType: pt,
      sequence: this.#sequence,
      timestamp,
      ssrc: this.#ssrc,
      marker,
      payload,
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#sent++;
    this.#socket.send(packet, media.remotePort, media.remoteAddress, () => {
      // a send failure (no route, closed) loses one packet; RTP does not retransmit
    });
  }

  #receive(packet: Uint8Array): void {
    const header = readRtpHeader(packet);
    if (header === undefined) return;
    this.#received++;
    const pt = this.#media?.telephoneEvent?.pt;
    if (pt === undefined || header.payloadType !== pt) return;
    const event = readTelephoneEvent(packet.subarray(header.payloadOffset));
    // the end packet is sent three times; report the event once per start timestamp
    if (event === undefined || !event.end || this.#lastEventTimestamp === header.timestamp) return;
    this.#lastEventTimestamp = header.timestamp;
    const digit = dtmfDigit(event.event);
    if (digit !== undefined) this.#onDigit?.(digit);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }
}

/** Whether `direction` lets us send (RFC 3264 §5.1). */
export function canSend(direction: MediaDirection): boolean {
  return direction === 'sendrecv' || direction === 'sendonly';
}
