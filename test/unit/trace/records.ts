/**
 * Trace records of a small uaCSTA exchange for the trace tests: INVITE, 200, ACK, INFO MakeCall
 * and its 200, an event INFO; between a controller and a phone.
 */

import type { TraceAddress, TraceRecord, TraceTransport } from '../../../src/trace/record.js';

export const utf8 = new TextEncoder();
export const CONTROLLER: TraceAddress = { host: '127.0.0.1', port: 5070 };
export const PHONE: TraceAddress = { host: '127.0.0.1', port: 5080 };
/** 2024-01-02T03:04:05.678Z */
export const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';

/** A SIP message with Content-Length set from the UTF-8 body. */
export function sip(startLine: string, headers: readonly string[], body = ''): Uint8Array {
  const len = utf8.encode(body).length;
  return utf8.encode(`${startLine}\r\n${headers.join('\r\n')}\r\nContent-Length: ${len}\r\n\r\n${body}`);
}

export function request(method: string, cseq: number, transport = 'UDP', body = '', callId = 'a84b4c76e66710@pc33'): Uint8Array {
  return sip(
    `${method} sip:1001@127.0.0.1:5080 SIP/2.0`,
    [
      `Via: SIP/2.0/${transport} 127.0.0.1:5070;branch=z9hG4bK${method}${cseq}`,
      'Max-Forwards: 70',
      'From: <sip:cti@127.0.0.1:5070>;tag=ctl1',
      `To: <sip:1001@127.0.0.1:5080>${method === 'INVITE' ? '' : ';tag=ph1'}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      'Contact: <sip:cti@127.0.0.1:5070>',
      ...(body === '' ? [] : ['Content-Type: application/csta+xml']),
    ],
    body,
  );
}

export function response(status: string, cseq: number, method: string, transport = 'UDP', body = '', callId = 'a84b4c76e66710@pc33'): Uint8Array {
  return sip(
    `SIP/2.0 ${status}`,
    [
      `Via: SIP/2.0/${transport} 127.0.0.1:5070;branch=z9hG4bK${method}${cseq}`,
      'From: <sip:cti@127.0.0.1:5070>;tag=ctl1',
      'To: <sip:1001@127.0.0.1:5080>;tag=ph1',
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      ...(body === '' ? [] : ['Content-Type: application/csta+xml']),
    ],
    body,
  );
}

export const MAKE_CALL = `<?xml version="1.0" encoding="UTF-8"?><MakeCall xmlns="${NS}"><callingDevice>1001</callingDevice><calledDirectoryNumber>1002</calledDirectoryNumber></MakeCall>`;
export const MAKE_CALL_RESPONSE = `<MakeCallResponse xmlns="${NS}"><callingDevice><callID>c1</callID><deviceID>1001</deviceID></callingDevice></MakeCallResponse>`;
export const DELIVERED = `<csta:DeliveredEvent xmlns:csta="${NS}"><csta:monitorCrossRefID>43</csta:monitorCrossRefID><csta:connection><csta:callID>c1</csta:callID><csta:deviceID>1002</csta:deviceID></csta:connection><csta:cause>newCall</csta:cause><csta:extensions><csta:privateData><csta:private>Grüße</csta:private></csta:privateData></csta:extensions></csta:DeliveredEvent>`;

/** The controller's view of the exchange, over `transport`. */
export function controllerView(transport: TraceTransport = 'udp'): TraceRecord[] {
  const via = transport.toUpperCase();
  const rec = (n: number, direction: 'in' | 'out', bytes: Uint8Array): TraceRecord => ({
    time: T0 + n * 10,
    direction,
    transport,
    local: CONTROLLER,
    remote: PHONE,
    bytes,
    party: 'controller',
  });
  return [
    rec(0, 'out', request('INVITE', 1, via)),
    rec(1, 'in', response('200 OK', 1, 'INVITE', via)),
    rec(2, 'out', request('ACK', 1, via)),
    rec(3, 'out', request('INFO', 2, via, MAKE_CALL)),
    rec(4, 'in', response('200 OK', 2, 'INFO', via, MAKE_CALL_RESPONSE)),
    rec(5, 'in', request('INFO', 1, via, DELIVERED)),
    rec(6, 'out', response('200 OK', 1, 'INFO', via)),
  ];
}
