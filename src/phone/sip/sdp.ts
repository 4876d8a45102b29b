/**
 * The simulated phone's SDP: a minimal offer/answer model (RFC 3264) over the session
 * description syntax of RFC 4566, for one audio stream of PCMU/PCMA with telephone-event
 * (RFC 4733).
 *
 * @remarks
 * Only what a phone needs is read from the peer: the connection address and port of the first
 * audio stream, its payload formats (static ones by number, RFC 3551 §6; dynamic ones by
 * `a=rtpmap`), and its direction attribute (RFC 3264 §5.1, §8.4). The parse is strict where a
 * wrong guess would send media to the wrong place (no `v=0`, no connection address, a bad port)
 * and lenient elsewhere (unknown lines and attributes are skipped, as RFC 4566 §5 asks). A
 * description that cannot be read, or offers no codec we have, gets 488 from the caller
 * (RFC 3261 §13.3.1.3 / RFC 3264 §6).
 */

import { SDP_LIMITS, type SdpLimits } from '../../limits.js';
import { err, ok, type Result } from '../../util/result.js';

/** The media direction attribute (RFC 3264 §5.1). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** One payload format of a media line. */
export interface SdpCodec {
  /** RTP payload type (0–127). */
  readonly pt: number;
  /** Encoding name as written in `a=rtpmap` (e.g. `PCMU`, `telephone-event`). */
  readonly name: string;
  /** Clock rate in Hz. */
  readonly rate: number;
  /** The `a=fmtp` parameters, when given. */
  readonly fmtp?: string;
}

/** One `m=` section. */
export interface SdpMedia {
  /** `audio`, `video`, … */
  readonly type: string;
  /** 0 for a rejected or disabled stream (RFC 3264 §6). */
  readonly port: number;
  /** `RTP/AVP`, `RTP/SAVP`, … */
  readonly proto: string;
  /** The format list as written on the `m=` line. */
  readonly formats: readonly string[];
  /** The formats with a known name: static ones (RFC 3551) and those with `a=rtpmap`. */
  readonly codecs: readonly SdpCodec[];
  /** The connection address for this stream (media-level `c=`, else the session's). */
  readonly address: string;
  /** The direction (media-level attribute, else the session's, else `sendrecv`). */
  readonly direction: MediaDirection;
  /** `a=ptime` in ms, when given. */
  readonly ptime?: number;
}

/** A session description as far as the phone reads it. */
export interface SessionDescription {
  readonly origin: {
    readonly username: string;
    readonly sessionId: string;
    readonly version: string;
    readonly address: string;
  };
  readonly media: readonly SdpMedia[];
}

/** Why a description was refused; the caller answers 488 (RFC 3261 §21.4.26). */
export interface SdpError {
  readonly code: 'SDP_ERR_PARSE' | 'SDP_ERR_LIMIT' | 'SDP_ERR_NO_CODEC';
  readonly message: string;
}

/** Static RTP payload types of RFC 3551 §6 that a phone meets. */
const STATIC: Readonly<Record<number, { name: string; rate: number }>> = {
  0: { name: 'PCMU', rate: 8000 },
  3: { name: 'GSM', rate: 8000 },
  4: { name: 'G723', rate: 8000 },
  8: { name: 'PCMA', rate: 8000 },
  9: { name: 'G722', rate: 8000 },
  18: { name: 'G729', rate: 8000 },
};

/** The payload types this phone sends and receives: PCMU, PCMA and telephone-event. */
export const PHONE_CODECS: readonly SdpCodec[] = [
  { pt: 0, name: 'PCMU', rate: 8000 },
  { pt: 8, name: 'PCMA', rate: 8000 },
  // RFC 4733 §7.1.1: events 0–15 are DTMF 0–9 * # A–D; 16 is flash
  { pt: 101, name: 'telephone-event', rate: 8000, fmtp: '0-16' },
];

const fail = (message: string): { ok: false; error: SdpError } => err({ code: 'SDP_ERR_PARSE', message });

/** IPv4 dotted quad, IPv6, or a host name: what `c=IN IP4|IP6 <address>` may hold. */
const ADDRESS = /^[0-9A-Za-z.:\-_]+$/;

/**
 * Reads a session description (RFC 4566 §5). Never throws.
 *
 * @param text - the body of an INVITE, 18x/2xx or ACK
 */
export function parseSdp(
  text: string,
  limits: Partial<SdpLimits> = {},
): Result<SessionDescription, SdpError> {
  const max = { ...SDP_LIMITS, ...limits };
  if (text.length > max.maxSdpBytes)
    return err({ code: 'SDP_ERR_LIMIT', message: `SDP longer than ${max.maxSdpBytes} bytes` });
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > max.maxSdpLines)
    return err({ code: 'SDP_ERR_LIMIT', message: `SDP has more than ${max.maxSdpLines} lines` });
  if (lines[0] !== 'v=0') return fail('the description does not start with v=0');
  let origin: SessionDescription['origin'] | undefined;
  let sessionAddress: string | undefined;
  let sessionDirection: MediaDirection | undefined;
  interface Building {
    type: string;
    port: number;
    proto: string;
    formats: string[];
    rtpmap: Map<number, { name: string; rate: number }>;
    fmtp: Map<number, string>;
    address?: string;
    direction?: MediaDirection;
    ptime?: number;
  }
  const media: Building[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length < 2 || line[1] !== '=') return fail(`line ${i + 1} is not type=value`);
    const type = line[0]!;
    const value = line.slice(2);
    const current = media.at(-1);
    switch (type) {
      case 'o': {
        const f = value.split(' ');
        if (f.length !== 6 || f[3] !== 'IN') return fail('o= needs six fields with network type IN');
        origin = { username: f[0]!, sessionId: f[1]!, version: f[2]!, address: f[5]! };
        break;
      }
      case 'c': {
        const f = value.split(' ');
        if (f.length !== 3 || f[0] !== 'IN' || (f[1] !== 'IP4' && f[1] !== 'IP6'))
          return fail('c= must be IN IP4|IP6 <address>');
        // a multicast TTL or count (`/127`) is allowed by RFC 4566 §5.7; the phone is unicast
        const address = f[2]!.split('/')[0]!;
        if (!ADDRESS.test(address)) return fail('c= has no usable address');
        if (current === undefined) sessionAddress = address;
        else current.address = address;
        break;
      }
      case 'm': {
        if (media.length >= max.maxSdpMedia)
          return err({ code: 'SDP_ERR_LIMIT', message: `more than ${max.maxSdpMedia} m= lines` });
        const f = value.split(' ');
        if (f.length < 4) return fail('m= needs media, port, proto and at least one format');
        const portText = f[1]!.split('/')[0]!;
        const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
        if (!(port >= 0 && port <= 65535)) return fail(`m= has a bad port ${f[1]}`);
        media.push({
          type: f[0]!,
          port,
          proto: f[2]!,
          formats: f.slice(3).filter((x) => x !== ''),
          rtpmap: new Map(),
          fmtp: new Map(),
        });
        break;
      }
      case 'a': {
        const colon = value.indexOf(':');
        const name = colon < 0 ? value : value.slice(0, colon);
        const rest = colon < 0 ? '' : value.slice(colon + 1);
        if (DIRECTIONS.has(name)) {
          if (current === undefined) sessionDirection = name as MediaDirection;
          else current.direction = name as MediaDirection;
        } else if (current !== undefined && name === 'rtpmap') {
          const m = /^(\d{1,3}) ([^/\s]+)\/(\d+)(?:\/\d+)?$/.exec(rest.trim());
          if (m === null) return fail(`a=rtpmap cannot be read: ${rest}`);
          current.rtpmap.set(Number(m[1]), { name: m[2]!, rate: Number(m[3]) });
        } else if (current !== undefined && name === 'fmtp') {
          const sp = rest.indexOf(' ');
          const pt = Number(sp < 0 ? rest : rest.slice(0, sp));
          if (Number.isInteger(pt)) current.fmtp.set(pt, sp < 0 ? '' : rest.slice(sp + 1));
        } else if (current !== undefined && name === 'ptime') {
          const ms = Number(rest);
          if (Number.isInteger(ms) && ms > 0) current.ptime = ms;
        }
        break;
      }
      default:
        // v, s, i, u, e, p, b, t, r, z, k: nothing a phone needs; RFC 4566 §5 says ignore
        if (!/^[a-z]$/.test(type)) return fail(`line ${i + 1} has type ${type}`);
    }
  }
  if (origin === undefined) return fail('no o= line');
  const out: SdpMedia[] = [];
  for (const m of media) {
    const address = m.address ?? sessionAddress;
    if (address === undefined && m.port !== 0)
      return fail(`m=${m.type} has no connection address (c=)`);
    const codecs: SdpCodec[] = [];
    if (m.proto.startsWith('RTP/')) {
      for (const f of m.formats) {
        if (!/^\d{1,3}$/.test(f)) return fail(`m=${m.type} has a bad RTP payload type ${f}`);
        const pt = Number(f);
        if (pt > 127) return fail(`m=${m.type} has payload type ${pt} > 127`);
        const known = m.rtpmap.get(pt) ?? STATIC[pt];
        if (known === undefined) continue;
        const fmtp = m.fmtp.get(pt);
        codecs.push({ pt, name: known.name, rate: known.rate, ...(fmtp === undefined ? {} : { fmtp }) });
      }
    }
    out.push({
      type: m.type,
      port: m.port,
      proto: m.proto,
      formats: m.formats,
      codecs,
      address: address ?? '0.0.0.0',
      direction: m.direction ?? sessionDirection ?? 'sendrecv',
      ...(m.ptime === undefined ? {} : { ptime: m.ptime }),
    });
  }
  return ok({ origin, media: out });
}

/**
 * The direction the peer asks of us, with the hold form of RFC 2543 (`c=0.0.0.0`), which RFC
 * 3264 §8.4 tells answerers to read as `sendonly` from the offerer.
 */
export function effectiveDirection(media: SdpMedia): MediaDirection {
  if (media.address === '0.0.0.0' && media.direction === 'sendrecv') return 'sendonly';
  return media.direction;
}

/** The direction of the answer to an offer of `offered`, when we would like `wanted` (RFC 3264 §6.1). */
export function answerDirection(offered: MediaDirection, wanted: MediaDirection): MediaDirection {
  const weSend = wanted === 'sendrecv' || wanted === 'sendonly';
  const weReceive = wanted === 'sendrecv' || wanted === 'recvonly';
  const theySend = offered === 'sendrecv' || offered === 'sendonly';
  const theyReceive = offered === 'sendrecv' || offered === 'recvonly';
  const send = weSend && theyReceive;
  const receive = weReceive && theySend;
  if (send && receive) return 'sendrecv';
  if (send) return 'sendonly';
  if (receive) return 'recvonly';
  return 'inactive';
}

/** What we put in our own description. */
export interface LocalMedia {
  /** Our RTP address (IPv4 or IPv6) — the phone's host. */
  readonly address: string;
  /** Our RTP port; 0 rejects the stream. */
  readonly port: number;
  /** The `o=` session id; keep it for the whole call (RFC 4566 §5.2). */
  readonly sessionId: string;
  /** The `o=` version: one higher on each new offer or answer that changes (RFC 3264 §8). */
  readonly version: number;
  readonly direction: MediaDirection;
  /** @defaultValue {@link PHONE_CODECS} */
  readonly codecs?: readonly SdpCodec[];
  /** @defaultValue 20 */
  readonly ptimeMs?: number;
  /** The `o=` username. @defaultValue `uacsta` */
  readonly username?: string;
}

/** Writes a description with one audio stream (RFC 4566 §5, in the order it requires). */
export function writeSdp(local: LocalMedia): string {
  const ipv = local.address.includes(':') ? 'IP6' : 'IP4';
  const codecs = local.codecs ?? PHONE_CODECS;
  const lines = [
    'v=0',
    `o=${local.username ?? 'uacsta'} ${local.sessionId} ${local.version} IN ${ipv} ${local.address}`,
    's=-',
    `c=IN ${ipv} ${local.address}`,
    't=0 0',
    `m=audio ${local.port} RTP/AVP ${codecs.map((c) => c.pt).join(' ')}`,
  ];
  for (const c of codecs) {
    lines.push(`a=rtpmap:${c.pt} ${c.name}/${c.rate}`);
    if (c.fmtp !== undefined) lines.push(`a=fmtp:${c.pt} ${c.fmtp}`);
  }
  lines.push(`a=ptime:${local.ptimeMs ?? 20}`, `a=${local.direction}`);
  return lines.join('\r\n') + '\r\n';
}

/** The agreed media of a call, from the peer's description and ours. */
export interface NegotiatedMedia {
  /** Where to send RTP. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The voice codec both sides have (the answerer's first, RFC 3264 §6.1). */
  readonly codec: SdpCodec;
  /** The peer's telephone-event payload type, when it offered RFC 4733 events. */
  readonly telephoneEvent?: SdpCodec;
  /** Our direction. */
  readonly direction: MediaDirection;
}

/** The first audio stream that is not disabled, if any. */
export function audioOf(description: SessionDescription): SdpMedia | undefined {
  return description.media.find((m) => m.type === 'audio' && m.port !== 0);
}

const isEvent = (c: SdpCodec): boolean => c.name.toLowerCase() === 'telephone-event';
const sameCodec = (a: SdpCodec, b: SdpCodec): boolean =>
  a.name.toLowerCase() === b.name.toLowerCase() && a.rate === b.rate;

/**
 * Answers an offer (RFC 3264 §6): the first voice codec of the offer that we have, the offer's
 * telephone-event payload type if any, our direction derived from the offer's. The answer uses
 * the offerer's payload type numbers (§6.1).
 */
export function answerOffer(
  offer: SessionDescription,
  local: Omit<LocalMedia, 'codecs' | 'direction'> & { readonly wanted: MediaDirection },
): Result<{ readonly sdp: string; readonly media: NegotiatedMedia }, SdpError> {
  const audio = audioOf(offer);
  if (audio === undefined)
    return err({ code: 'SDP_ERR_NO_CODEC', message: 'the offer has no audio stream' });
  const codec = audio.codecs.find((c) => !isEvent(c) && PHONE_CODECS.some((p) => sameCodec(p, c)));
  if (codec === undefined)
    return err({ code: 'SDP_ERR_NO_CODEC', message: 'the offer has neither PCMU nor PCMA' });
  const event = audio.codecs.find((c) => isEvent(c) && c.rate === 8000);
  const direction = answerDirection(effectiveDirection(audio), local.wanted);
  const codecs = event === undefined ? [codec] : [codec, { ...event, fmtp: event.fmtp ?? '0-15' }];
  const { wanted: _wanted, ...rest } = local;
  const sdp = writeSdp({ ...rest, direction, codecs });
  return ok({
    sdp,
    media: {
      remoteAddress: audio.address,
      remotePort: audio.port,
      codec,
      ...(event === undefined ? {} : { telephoneEvent: event }),
      direction,
    },
  });
}

/**
 * Reads the answer to our offer (RFC 3264 §7): where to send, which codec the peer chose (the
 * first of its list that we offered), and the direction we end up with.
 */
export function acceptAnswer(
  answer: SessionDescription,
  offered: MediaDirection,
): Result<NegotiatedMedia, SdpError> {
  const audio = audioOf(answer);
  if (audio === undefined)
    return err({ code: 'SDP_ERR_NO_CODEC', message: 'the answer rejected the audio stream' });
  const codec = audio.codecs.find((c) => !isEvent(c) && PHONE_CODECS.some((p) => sameCodec(p, c)));
  if (codec === undefined)
    return err({ code: 'SDP_ERR_NO_CODEC', message: 'the answer has neither PCMU nor PCMA' });
  const event = audio.codecs.find(isEvent);
  return ok({
    remoteAddress: audio.address,
    remotePort: audio.port,
    codec,
    ...(event === undefined ? {} : { telephoneEvent: event }),
    direction: answerDirection(effectiveDirection(audio), offered),
  });
}
