/**
 * RTP packets of the simulated phone: RFC 3550 §5.1 header, G.711 frames, RFC 4733 events,
 * `application/dtmf-relay` bodies, and the device addresses of phones on SIP.
 */
import { describe, expect, it } from 'vitest';
import {
  audioFrame,
  dtmfEvent,
  dtmfRelayBody,
  linearToAlaw,
  linearToUlaw,
  readDtmfRelay,
  readRtpHeader,
  readTelephoneEvent,
  telephoneEventPayload,
  writeRtpPacket,
} from '../../../../src/phone/sip/rtp-packet.js';
import { callTarget, extensionOf, phoneContact, phoneDeviceId } from '../../../../src/phone/sip/phone-address.js';
import { parseListenAddress } from '../../../../src/phone/sip/sip-phone-host.js';
import { uriUser } from '../../../../src/phone/sip/endpoint-router.js';

describe('RTP (RFC 3550 §5.1)', () => {
  it('writes version 2, marker, payload type, sequence, timestamp and SSRC in network order', () => {
    const p = writeRtpPacket({ payloadType: 0, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, marker: true, payload: Uint8Array.of(0xff, 0xff) });
    expect([...p]).toEqual([0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff]);
    expect(readRtpHeader(p)).toEqual({ payloadType: 0, marker: true, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, payloadOffset: 12 });
  });

  it('reads past CSRCs and a header extension, and refuses what is not RTP v2', () => {
    const p = Uint8Array.of(0x91, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* csrc */ 9, 9, 9, 9, /* ext */ 0xbe, 0xde, 0, 1, 1, 2, 3, 4, /* payload */ 0xd5);
    expect(readRtpHeader(p)?.payloadOffset).toBe(24);
    expect(readRtpHeader(Uint8Array.of(0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toBeUndefined();
    expect(readRtpHeader(Uint8Array.of(0x80))).toBeUndefined();
  });
});

describe('G.711', () => {
  it('encodes silence as 0xFF (μ-law) and 0xD5 (A-law), and full scale at the segment ends', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
  });

  it('makes 160-sample frames; the 1 kHz tone repeats every 8 samples', () => {
    const silence = audioFrame('silence', 'PCMU', 0);
    expect(silence.length).toBe(160);
    expect(new Set(silence)).toEqual(new Set([0xff]));
    const tone = audioFrame('tone', 'PCMA', 3);
    expect([...tone.subarray(0, 8)]).toEqual([...tone.subarray(8, 16)]);
    expect(new Set(tone).size).toBeGreaterThan(2);
  });
});

describe('telephone events (RFC 4733) and dtmf-relay', () => {
  it('maps 0-9 * # A-D to events 0-15', () => {
    expect([...'0123456789*#ABCD'].map(dtmfEvent)).toEqual([...Array(16).keys()]);
    expect(dtmfEvent('x')).toBeUndefined();
  });

  it('writes and reads the event payload: event, E bit, volume, duration', () => {
    const p = telephoneEventPayload(11, true, 10, 800);
    expect([...p]).toEqual([11, 0x8a, 0x03, 0x20]);
    expect(readTelephoneEvent(p)).toEqual({ event: 11, end: true, volume: 10, duration: 800 });
  });

  it('writes and reads application/dtmf-relay', () => {
    expect(dtmfRelayBody('#', 100)).toBe('Signal=#\r\nDuration=100\r\n');
    expect(readDtmfRelay('Signal= 5\r\nDuration= 160\r\n')).toBe('5');
    expect(readDtmfRelay('Duration=160')).toBeUndefined();
  });
});

describe('phone addresses', () => {
  it('names a phone sip:EXT@HOST and contacts it at sip:EXT@HOST:PORT', () => {
    expect(phoneDeviceId('1000', '127.0.0.1')).toBe('sip:1000@127.0.0.1');
    expect(phoneDeviceId('1000', '::1')).toBe('sip:1000@[::1]');
    expect(phoneContact('1000', '127.0.0.1', 5070)).toBe('sip:1000@127.0.0.1:5070');
    expect(phoneContact('1000', '127.0.0.1', 5070, 'tcp')).toBe('sip:1000@127.0.0.1:5070;transport=tcp');
  });

  it('accepts sip:, tel: and bare extensions on input', () => {
    expect(extensionOf('sip:1000@127.0.0.1')).toBe('1000');
    expect(extensionOf('tel:+491000')).toBe('+491000');
    expect(extensionOf('1000')).toBe('1000');
    expect(extensionOf('not a number')).toBeUndefined();
    expect(uriUser('sip:127.0.0.1:5060')).toBeUndefined();
  });

  it('calls numbers at the dial plan domain and SIP URIs as given', () => {
    const plan = { domain: '127.0.0.1:5070' };
    expect(callTarget('1001', plan)).toBe('sip:1001@127.0.0.1:5070');
    expect(callTarget('tel:1001', plan)).toBe('sip:1001@127.0.0.1:5070');
    expect(callTarget('sip:bob@192.0.2.1:5062?Subject=x', plan)).toBe('sip:bob@192.0.2.1:5062');
  });

  it('reads listen addresses', () => {
    expect(parseListenAddress('udp:127.0.0.1:5070')).toEqual({ protocol: 'udp', host: '127.0.0.1', port: 5070 });
    expect(parseListenAddress('tcp:[::1]:0')).toEqual({ protocol: 'tcp', host: '::1', port: 0 });
    expect(parseListenAddress('udp:127.0.0.1')).toBeUndefined();
    expect(parseListenAddress('sctp:127.0.0.1:5060')).toBeUndefined();
  });
});
