/**
 * The dialog state of RFC 3261 §12: ids, route sets, CSeq rules, target refresh and in-dialog
 * request building.
 */

import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../../src/sip/dialog/dialog.js';
import {
  dialogIdOfRequest,
  dialogIdOfResponse,
  dialogKey,
  splitHeaderList,
} from '../../../../src/sip/dialog/dialog-id.js';
import { createRequest, createResponse } from '../../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';

const via = { transport: 'UDP', host: 'ua.invalid', port: 5060, branch: 'z9hG4bKx', params: { branch: 'z9hG4bKx' } };

function invite(headers: Record<string, string | string[]> = {}): SipRequest {
  return createRequest({
    method: 'INVITE',
    uri: 'sip:phone@pbx.invalid',
    via: [via],
    from: { displayName: undefined, uri: 'sip:cti@ctl.invalid', params: { tag: 'ctl-tag' } },
    to: { displayName: undefined, uri: 'sip:phone@pbx.invalid', params: {} },
    callId: 'call-1',
    cseq: 7,
    headers: { Contact: '<sip:cti@192.0.2.1:5070>', ...headers },
  });
}

const twoHundred = (req: SipRequest, headers: Record<string, string | string[]> = {}) =>
  createResponse(req, 200, 'OK', {
    toTag: 'phone-tag',
    headers: { Contact: '<sip:phone@192.0.2.2:5080>', ...headers },
  });

describe('dialog ids', () => {
  it('reads the local tag from To for a request and from From for a response', () => {
    const req = invite();
    const res = twoHundred(req);
    expect(dialogIdOfRequest(req)).toBeUndefined();
    expect(dialogIdOfResponse(res)).toEqual({ callId: 'call-1', localTag: 'ctl-tag', remoteTag: 'phone-tag' });
    const d = Dialog.fromUac(req, res, 'sip:cti@192.0.2.1:5070');
    expect(dialogKey(d.id)).toBe(dialogKey(dialogIdOfResponse(res)!));
  });

  it('splits header lists at commas outside quotes and angle brackets', () => {
    expect(splitHeaderList('<sip:a;lr>, "x, y" <sip:b>,<sip:c?h=1,2>')).toEqual([
      '<sip:a;lr>',
      '"x, y" <sip:b>',
      '<sip:c?h=1,2>',
    ]);
  });
});

describe('UAC dialog (§12.1.2)', () => {
  it('takes the remote target from the 2xx Contact and the route set from Record-Route reversed', () => {
    const req = invite();
    const res = twoHundred(req, { 'Record-Route': ['<sip:p2.invalid;lr>, <sip:p1.invalid;lr>'] });
    const d = Dialog.fromUac(req, res, 'sip:cti@192.0.2.1:5070');
    expect(d.state).toBe('Confirmed');
    expect(d.remoteTarget).toBe('sip:phone@192.0.2.2:5080');
    expect(d.routeSet).toEqual(['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>']);
    expect(d.localSeq).toBe(7);
    expect(d.nextHopUri()).toBe('sip:p1.invalid;lr');
  });

  it('builds INFO for loose routing: Request-URI = remote target, Route = the route set', () => {
    const req = invite();
    const res = twoHundred(req, { 'Record-Route': ['<sip:p2.invalid;lr>', '<sip:p1.invalid;lr>'] });
    const d = Dialog.fromUac(req, res, 'sip:cti@192.0.2.1:5070');
    const info = d.createRequest('INFO', { body: '<MakeCall/>', contentType: 'application/csta+xml' });
    expect(info.uri).toBe('sip:phone@192.0.2.2:5080');
    expect(info.cseq).toBe(8);
    expect(info.headers).toMatchObject({
      Route: ['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>'],
      'Content-Type': 'application/csta+xml',
    });
    expect(info.from.params['tag']).toBe('ctl-tag');
    expect(info.to.params['tag']).toBe('phone-tag');
    expect(info.headers?.['Contact']).toBeUndefined();
    expect(d.createRequest('UPDATE').headers?.['Contact']).toBe('<sip:cti@192.0.2.1:5070>');
    const ack = d.createRequest('ACK', {}, 7);
    expect(ack.cseq).toBe(7);
    expect(d.localSeq).toBe(9);
  });

  it('builds requests for a strict router: Request-URI = first route, remote target last', () => {
    const req = invite();
    const res = twoHundred(req, { 'Record-Route': ['<sip:strict.invalid>'] });
    const d = Dialog.fromUac(req, res, 'sip:cti@192.0.2.1:5070');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:strict.invalid');
    expect(bye.headers?.['Route']).toEqual(['<sip:phone@192.0.2.2:5080>']);
  });

  it('refuses a body without content type and any request but ACK once terminated', () => {
    const req = invite();
    const d = Dialog.fromUac(req, twoHundred(req), 'sip:cti@192.0.2.1:5070');
    expect(() => d.createRequest('INFO', { body: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    d.transition('Terminated');
    expect(() => d.createRequest('INFO')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => d.transition('Confirmed')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
});

describe('UAS dialog (§12.1.1, §12.2.2)', () => {
  it('keeps Record-Route in order, the Contact as remote target and the INVITE CSeq', () => {
    const req = invite({ 'Record-Route': ['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>'] });
    const d = Dialog.fromUas(req, 'phone-tag', 'sip:phone@192.0.2.2:5080');
    expect(d.state).toBe('Early');
    expect(d.id).toEqual({ callId: 'call-1', localTag: 'phone-tag', remoteTag: 'ctl-tag' });
    expect(d.routeSet).toEqual(['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>']);
    expect(d.remoteTarget).toBe('sip:cti@192.0.2.1:5070');
    expect(d.remoteSeq).toBe(7);
    // the UAS's own counter starts at 1
    expect(d.createRequest('INFO').cseq).toBe(1);
    const info = d.createRequest('INFO');
    expect(info.from.uri).toBe('sip:phone@pbx.invalid');
    expect(info.to.uri).toBe('sip:cti@ctl.invalid');
  });

  it('refuses a lower or equal remote CSeq and accepts a higher one', () => {
    const req = invite();
    const d = Dialog.fromUas(req, 'phone-tag', 'sip:phone@192.0.2.2:5080');
    const inDialog = (method: string, cseq: number): SipRequest =>
      createRequest({
        method,
        uri: 'sip:phone@192.0.2.2:5080',
        via: [via],
        from: req.from,
        to: { ...req.to, params: { tag: 'phone-tag' } },
        callId: 'call-1',
        cseq,
      });
    expect(d.checkRemoteCSeq(inDialog('INFO', 7))).toBe('out-of-order');
    expect(d.checkRemoteCSeq(inDialog('INFO', 6))).toBe('out-of-order');
    expect(d.checkRemoteCSeq(inDialog('INFO', 8))).toBe('ok');
    expect(d.remoteSeq).toBe(8);
    expect(d.checkRemoteCSeq(inDialog('ACK', 7))).toBe('ok');
    expect(d.remoteSeq).toBe(8);
  });

  it('updates the remote target from a re-INVITE or UPDATE, not from INFO', () => {
    const req = invite();
    const d = Dialog.fromUas(req, 'phone-tag', 'sip:phone@192.0.2.2:5080');
    const moved = invite({ Contact: '<sip:cti@198.51.100.9:5070>' });
    d.refreshTarget(moved, 'INFO');
    expect(d.remoteTarget).toBe('sip:cti@192.0.2.1:5070');
    d.refreshTarget(moved, 'UPDATE');
    expect(d.remoteTarget).toBe('sip:cti@198.51.100.9:5070');
  });
});
