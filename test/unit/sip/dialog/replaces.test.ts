/**
 * The Replaces header (RFC 3891 §6.1), its place in a Refer-To URI (§7.2), the dialog match of
 * §3, and the confirmation of an early dialog by its 2xx (RFC 3261 §13.2.2.4).
 */

import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../../src/sip/dialog/dialog.js';
import {
  formatReplaces,
  parseReplaces,
  replacesFor,
  replacesMatches,
  splitUriHeaders,
  uriWithReplaces,
} from '../../../../src/sip/dialog/replaces.js';
import { createRequest, createResponse } from '../../../../src/sip/message/serialize.js';

describe('Replaces (RFC 3891)', () => {
  it('reads the Call-ID, both tags and early-only', () => {
    expect(parseReplaces('98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff')).toEqual({
      callId: '98732@sip.example.com',
      toTag: 'ff87ff',
      fromTag: 'r33th4x0r',
      earlyOnly: false,
    });
    expect(parseReplaces('a@b; To-Tag=1 ;from-tag=2;early-only')).toMatchObject({ earlyOnly: true, toTag: '1' });
  });

  it('refuses a value without a Call-ID or a tag', () => {
    expect(parseReplaces('')).toBeUndefined();
    expect(parseReplaces('a@b;to-tag=1')).toBeUndefined();
    expect(parseReplaces('a@b;from-tag=2;to-tag=')).toBeUndefined();
  });

  it('writes the tags as the receiver sees them and matches there (§3)', () => {
    const ours = { callId: 'c1', localTag: 'mine', remoteTag: 'theirs' };
    const r = replacesFor(ours);
    expect(formatReplaces(r)).toBe('c1;to-tag=theirs;from-tag=mine');
    expect(replacesMatches(r, { callId: 'c1', localTag: 'theirs', remoteTag: 'mine' })).toBe(true);
    expect(replacesMatches(r, ours)).toBe(false);
  });

  it('escapes Replaces into a URI header and reads it back', () => {
    const r = { callId: '12345@192.168.118.3', toTag: '12345', fromTag: '5FFE-3994', earlyOnly: false };
    const uri = uriWithReplaces('sip:bob@example.org', r);
    expect(uri).toBe('sip:bob@example.org?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994');
    const split = splitUriHeaders(uri);
    expect(split.uri).toBe('sip:bob@example.org');
    expect(parseReplaces(split.headers['Replaces']!)).toEqual(r);
    expect(splitUriHeaders('sip:x@y?a=%zz&b').headers).toEqual({ a: '%zz', b: '' });
  });
});

describe('Dialog.confirm (RFC 3261 §13.2.2.4)', () => {
  it('recomputes the route set and remote target from the 2xx of an early dialog', () => {
    const invite = createRequest({
      method: 'INVITE',
      uri: 'sip:phone@pbx.invalid',
      via: [{ transport: 'UDP', host: 'ua.invalid', port: 5060, branch: 'z9hG4bKx', params: { branch: 'z9hG4bKx' } }],
      from: { displayName: undefined, uri: 'sip:cti@ctl.invalid', params: { tag: 'ctl' } },
      to: { displayName: undefined, uri: 'sip:phone@pbx.invalid', params: {} },
      callId: 'call-1',
      cseq: 1,
      headers: { Contact: '<sip:cti@192.0.2.1>' },
    });
    const ringing = createResponse(invite, 180, 'Ringing', {
      toTag: 'p',
      headers: { Contact: '<sip:early@192.0.2.2>', 'Record-Route': '<sip:p1.invalid;lr>' },
    });
    const dialog = Dialog.fromUac(invite, ringing, 'sip:cti@192.0.2.1');
    expect(dialog.state).toBe('Early');
    expect(dialog.routeSet).toEqual(['<sip:p1.invalid;lr>']);
    const ok = createResponse(invite, 200, 'OK', {
      toTag: 'p',
      headers: { Contact: '<sip:phone@192.0.2.3>', 'Record-Route': '<sip:p2.invalid;lr>, <sip:p1.invalid;lr>' },
    });
    dialog.confirm(ok);
    expect(dialog.state).toBe('Confirmed');
    expect(dialog.routeSet).toEqual(['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>']);
    expect(dialog.remoteTarget).toBe('sip:phone@192.0.2.3');
    expect(() => dialog.confirm(ok)).toThrow(/Confirmed/);
  });
});
