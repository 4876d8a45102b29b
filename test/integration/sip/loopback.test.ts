/**
 * Two endpoints on 127.0.0.1 exchange an INFO and its 200 over every socket transport: the UTF-8
 * bodies arrive byte for byte (Content-Length counts bytes, RFC 3261 §20.14).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import type { TransportProtocol } from '../../../src/sip/transport/transport.js';
import {
  endpoint,
  info,
  listen,
  makeCertificate,
  targetOf,
  text,
  utf8,
  type TestCertificate,
} from './support.js';

const REQUEST_BODY = '<MakeCall><callingDevice>Müller €</callingDevice></MakeCall>';
const RESPONSE_BODY = '<MakeCallResponse><callID>Grüße €1</callID></MakeCallResponse>';

let cert: TestCertificate;
beforeAll(() => {
  cert = makeCertificate();
});

describe.each<TransportProtocol>(['udp', 'tcp', 'tls', 'ws', 'wss'])('INFO over %s', (protocol) => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });

  it(
    'delivers a UTF-8 body byte-exact and gets a 200 with a body back',
    { timeout: 10_000 },
    async () => {
      const phone = endpoint([await listen(protocol, cert)]);
      const controller = endpoint([await listen(protocol, cert)]);
      closers.push(
        () => phone.endpoint.close(),
        () => controller.endpoint.close(),
      );
      const seen: SipRequest[] = [];
      phone.endpoint.onRequest((request, tx) => {
        seen.push(request);
        tx.respond(
          createResponse(request, 200, 'OK', {
            toTag: 'ph1',
            headers: { 'Content-Type': 'application/csta+xml' },
            body: RESPONSE_BODY,
          }),
        );
      });
      const target = targetOf(phone.endpoint.transports[0]!);
      const response = await controller.endpoint.sendRequest(info(target, 1, REQUEST_BODY), target);
      expect(response.status).toBe(200);
      expect(response.cseq).toEqual({ seq: 1, method: 'INFO' });
      expect(response.body).toEqual(utf8.encode(RESPONSE_BODY));
      expect(text(response.body)).toBe(RESPONSE_BODY);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.body).toEqual(utf8.encode(REQUEST_BODY));
      expect(seen[0]!.headers['content-length']).toEqual([
        String(utf8.encode(REQUEST_BODY).length),
      ]);
      for (const { events } of [phone, controller]) {
        expect(
          events.filter(
            (e) => e.type === 'dropped' || e.type === 'error' || e.type === 'user-error',
          ),
        ).toEqual([]);
      }
    },
  );
});
