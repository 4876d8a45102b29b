/**
 * RTP packets for the simulated phone: the fixed header of RFC 3550 §5.1, G.711 audio
 * (PCMU/PCMA, RFC 3551 §4.5.14) for silence or a tone, and named telephone events (RFC 4733
 * §2.3) for DTMF. Pure: no I/O, no clock.
 */

/** RTP version 2 (RFC 3550 §5.1). */
const VERSION = 2;

/** Fields of an RTP packet that the phone sets. */
export interface RtpPacketInit {
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker?: boolean;
  readonly payload: Uint8Array;
}

/** Writes an RTP packet with a 12-byte fixed header, no CSRC, no extension (RFC 3550 §5.1). */
export function writeRtpPacket(p: RtpPacketInit): Uint8Array {
  const out = new Uint8Array(12 + p.payload.length);
  const view = new DataView(out.buffer);
  out[0] = VERSION << 6;
  out[1] = ((p.marker === true ? 1 : 0) << 7) | (p.payloadType & 0x7f);
  view.setUint16(2, p.sequence & 0xffff);
  view.setUint32(4, p.timestamp >>> 0);
  view.setUint32(8, p.ssrc >>> 0);
  out.set(p.payload, 12);
  return out;
}

/** The fixed header of a received packet; `undefined` for anything that is not RTP v2. */
export interface RtpHeader {
  readonly payloadType: number;
  readonly marker: boolean;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** Offset of the payload in the packet (after CSRCs and an extension). */
  readonly payloadOffset: number;
}

/** Reads the fixed header (RFC 3550 §5.1); never throws. */
export function readRtpHeader(packet: Uint8Array): RtpHeader | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== VERSION) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const csrc = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrc;
  if ((packet[0]! & 0x10) !== 0) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + 4 * view.getUint16(offset + 2);
  }
  if (offset > packet.length) return undefined;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payloadOffset: offset,
  };
}

/** Segment ends of G.711 μ-law (14-bit magnitudes) and A-law (13-bit), ITU-T G.711 tables 2a/1a. */
const ULAW_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ALAW_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segment(value: number, ends: readonly number[]): number {
  const i = ends.findIndex((end) => value <= end);
  return i < 0 ? ends.length : i;
}

const clamp16 = (sample: number): number => Math.max(-32768, Math.min(32767, Math.trunc(sample)));

/** G.711 μ-law of one 16-bit linear sample (ITU-T G.711 §3, bias 33 on 14 bits). */
export function linearToUlaw(sample: number): number {
  let v = clamp16(sample) >> 2;
  const mask = v < 0 ? 0x7f : 0xff;
  if (v < 0) v = -v;
  v = Math.min(v, 8159) + 33;
  const seg = segment(v, ULAW_END);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

/** G.711 A-law of one 16-bit linear sample (ITU-T G.711 §2, even bits inverted). */
export function linearToAlaw(sample: number): number {
  let v = clamp16(sample) >> 3;
  const mask = v >= 0 ? 0xd5 : 0x55;
  if (v < 0) v = -v - 1;
  const seg = segment(v, ALAW_END);
  if (seg >= 8) return 0x7f ^ mask;
  const mantissa = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

/** What the phone plays. */
export type AudioSource = 'silence' | 'tone';

/** Samples per 20 ms frame at 8 kHz. */
export const SAMPLES_PER_FRAME = 160;

/**
 * One 20 ms G.711 frame: silence, or a 1 kHz tone at about −10 dBm0 starting at sample `at`
 * (1 kHz at 8 kHz sampling repeats every 8 samples, so the phase is `at mod 8`).
 */
export function audioFrame(
  source: AudioSource,
  encoding: 'PCMU' | 'PCMA',
  at: number,
  samples = SAMPLES_PER_FRAME,
): Uint8Array {
  const encode = encoding === 'PCMU' ? linearToUlaw : linearToAlaw;
  const out = new Uint8Array(samples);
  if (source === 'silence') return out.fill(encode(0));
  for (let i = 0; i < samples; i++) {
    out[i] = encode(10_000 * Math.sin((2 * Math.PI * 1000 * (at + i)) / 8000));
  }
  return out;
}

/** RFC 4733 §3.2 event codes of the DTMF digits; `undefined` for any other character. */
export function dtmfEvent(digit: string): number | undefined {
  const i = '0123456789*#ABCD'.indexOf(digit.toUpperCase());
  return i < 0 || digit.length !== 1 ? undefined : i;
}

/** The digit of an RFC 4733 DTMF event code. */
export function dtmfDigit(event: number): string | undefined {
  return '0123456789*#ABCD'[event];
}

/** The 4-byte payload of a named telephone event (RFC 4733 §2.3). */
export function telephoneEventPayload(event: number, end: boolean, volume: number, duration: number): Uint8Array {
  return Uint8Array.of(
    event & 0xff,
    ((end ? 1 : 0) << 7) | (volume & 0x3f),
    (duration >> 8) & 0xff,
    duration & 0xff,
  );
}

/** A received telephone event. */
export interface TelephoneEvent {
  readonly event: number;
  readonly end: boolean;
  readonly volume: number;
  readonly duration: number;
}

/** Reads a named telephone event payload (RFC 4733 §2.3); `undefined` when too short. */
export function readTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

/**
 * The body of a SIP INFO carrying one digit as `application/dtmf-relay` (the de facto format
 * of Cisco and most PBXs: `Signal=` and `Duration=` in ms).
 */
export function dtmfRelayBody(digit: string, durationMs: number): string {
  return `Signal=${digit}\r\nDuration=${durationMs}\r\n`;
}

/** The digit of an `application/dtmf-relay` body; `undefined` when it has none. */
export function readDtmfRelay(body: string): string | undefined {
  const m = /^\s*Signal\s*=\s*([0-9*#A-Da-d])\s*$/m.exec(body);
  return m?.[1]?.toUpperCase();
}
