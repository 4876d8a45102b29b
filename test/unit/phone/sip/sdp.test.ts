/**
 * The simulated phone's SDP (RFC 4566 syntax, RFC 3264 offer/answer, RFC 3264 §8.4 hold).
 */
import { describe, expect, it } from 'vitest';
import {
  acceptAnswer,
  answerDirection,
  answerOffer,
  effectiveDirection,
  parseSdp,
  writeSdp,
} from '../../../../src/phone/sip/sdp.js';

/** An offer as baresip 1.0 writes it (trimmed to what matters). */
const BARESIP_OFFER = [
  'v=0',
  'o=- 1185974004 3427596437 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10636 RTP/AVP 9 0 8 101',
  'b=AS:64',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:2873305004 cname:sip:alice@127.0.0.1',
  'a=rtcp-mux',
  '',
].join('\r\n');

describe('parseSdp', () => {
  it('reads address, port, codecs (static and rtpmap) and direction of the audio stream', () => {
    const r = parseSdp(BARESIP_OFFER);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.origin).toEqual({ username: '-', sessionId: '1185974004', version: '3427596437', address: '127.0.0.1' });
    const [audio] = r.value.media;
    expect(audio).toMatchObject({ type: 'audio', port: 10636, proto: 'RTP/AVP', address: '127.0.0.1', direction: 'sendrecv' });
    expect(audio!.codecs).toEqual([
      { pt: 9, name: 'G722', rate: 8000 },
      { pt: 0, name: 'PCMU', rate: 8000 },
      { pt: 8, name: 'PCMA', rate: 8000 },
      { pt: 101, name: 'telephone-event', rate: 8000, fmtp: '0-15' },
    ]);
  });

  it('takes a media-level c= over the session one and LF line ends', () => {
    const r = parseSdp('v=0\no=x 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\na=recvonly\n');
    expect(r.ok && r.value.media[0]).toMatchObject({ address: '10.0.0.2', direction: 'recvonly' });
  });

  it.each([
    ['no v=0 first', 'o=x 1 1 IN IP4 1.2.3.4\nv=0\n'],
    ['no o= line', 'v=0\ns=-\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n'],
    ['a stream without connection address', 'v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n'],
    ['a port past 65535', 'v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\n'],
    ['a payload type past 127', 'v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 200\n'],
    ['a line that is not type=value', 'v=0\no=x 1 1 IN IP4 1.2.3.4\nhello\n'],
    ['a bad c= network type', 'v=0\no=x 1 1 IN IP4 1.2.3.4\nc=XX IP4 1.2.3.4\n'],
  ])('refuses %s (SDP_ERR_PARSE, answered 488)', (_name, sdp) => {
    const r = parseSdp(sdp);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('SDP_ERR_PARSE');
  });

  it('refuses a description over the size and m= limits (SDP_ERR_LIMIT)', () => {
    const big = parseSdp('v=0\n' + 'a=x\n'.repeat(3000));
    expect(!big.ok && big.error.code).toBe('SDP_ERR_LIMIT');
    const many = parseSdp('v=0\no=x 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\n' + 'm=audio 4000 RTP/AVP 0\n'.repeat(9));
    expect(!many.ok && many.error.code).toBe('SDP_ERR_LIMIT');
  });
});

describe('offer/answer (RFC 3264)', () => {
  it('writes an offer of PCMU, PCMA and telephone-event in RFC 4566 line order', () => {
    expect(writeSdp({ address: '127.0.0.1', port: 40000, sessionId: '42', version: 1, direction: 'sendrecv' })).toBe(
      [
        'v=0',
        'o=uacsta 42 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=audio 40000 RTP/AVP 0 8 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
  });

  it('answers baresip with the first codec we share (PCMU, not G722) and its telephone-event number', () => {
    const offer = parseSdp(BARESIP_OFFER);
    if (!offer.ok) throw new Error('offer');
    const r = answerOffer(offer.value, { address: '127.0.0.1', port: 40002, sessionId: '7', version: 1, wanted: 'sendrecv' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.media).toEqual({
      remoteAddress: '127.0.0.1',
      remotePort: 10636,
      codec: { pt: 0, name: 'PCMU', rate: 8000 },
      telephoneEvent: { pt: 101, name: 'telephone-event', rate: 8000, fmtp: '0-15' },
      direction: 'sendrecv',
    });
    expect(r.value.sdp).toContain('m=audio 40002 RTP/AVP 0 101\r\n');
    expect(r.value.sdp).toContain('a=sendrecv\r\n');
  });

  it('refuses an offer with no codec of ours (SDP_ERR_NO_CODEC)', () => {
    const offer = parseSdp('v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 4000 RTP/AVP 18\n');
    if (!offer.ok) throw new Error('offer');
    const r = answerOffer(offer.value, { address: '127.0.0.1', port: 1, sessionId: '1', version: 1, wanted: 'sendrecv' });
    expect(!r.ok && r.error.code).toBe('SDP_ERR_NO_CODEC');
  });

  it.each([
    ['sendrecv', 'sendrecv', 'sendrecv'],
    ['sendonly', 'sendrecv', 'recvonly'],
    ['recvonly', 'sendrecv', 'sendonly'],
    ['inactive', 'sendrecv', 'inactive'],
    ['sendrecv', 'sendonly', 'sendonly'],
    ['sendonly', 'sendonly', 'inactive'],
  ] as const)('answers an offer of %s, wanting %s, with %s (RFC 3264 §6.1)', (offered, wanted, answered) => {
    expect(answerDirection(offered, wanted)).toBe(answered);
  });

  it('reads the RFC 2543 hold (c=0.0.0.0) as sendonly from the offerer (RFC 3264 §8.4)', () => {
    const r = parseSdp('v=0\no=x 1 2 IN IP4 1.2.3.4\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n');
    if (!r.ok) throw new Error('parse');
    expect(effectiveDirection(r.value.media[0]!)).toBe('sendonly');
  });

  it('takes the answer to our hold offer: recvonly from the peer leaves us sendonly', () => {
    const answer = parseSdp('v=0\no=x 1 2 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 4000 RTP/AVP 8\na=recvonly\n');
    if (!answer.ok) throw new Error('parse');
    const r = acceptAnswer(answer.value, 'sendonly');
    expect(r.ok && r.value).toEqual({
      remoteAddress: '1.2.3.4',
      remotePort: 4000,
      codec: { pt: 8, name: 'PCMA', rate: 8000 },
      direction: 'sendonly',
    });
  });
});
