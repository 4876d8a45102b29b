/**
 * Requests to a peer that connected to us go over its connection: over TCP by its Via sent-by
 * (RFC 3261 §18.2.2, RFC 5923), and to a WebSocket client, which cannot be reached any other
 * way, by its `.invalid` Via sent-by (RFC 7118 §5.2).
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { SipEndpoint } from '../../../src/sip/endpoint.js';
import { createResponse } from '../../../src/sip/message/serialize.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { WsTransport } from '../../../src/sip/transport/node/ws.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { endpoint, info, targetOf } from './support.js';

const open: SipEndpoint[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

function answering(ep: SipEndpoint): void {
  ep.onRequest((request, tx) => tx.respond(createResponse(request, 200, 'OK', { toTag: 't' })));
}

describe('connection reuse', () => {
  it(
    'sends a TCP request back over the connection the peer opened',
    { timeout: 10_000 },
    async () => {
      const controllerTcp = await TcpTransport.listen({ port: 0 });
      const phoneTcp = await TcpTransport.listen({ port: 0 });
      const controller = endpoint([controllerTcp]).endpoint;
      const phone = endpoint([phoneTcp]).endpoint;
      open.push(controller, phone);
      answering(controller);
      answering(phone);
      expect(
        (await controller.sendRequest(info(targetOf(phoneTcp), 1), targetOf(phoneTcp))).status,
      ).toBe(200);
      // the phone calls the controller at its Via sent-by: the connection it already has
      const back = await phone.sendRequest(
        info(targetOf(controllerTcp), 1, '', 'event-dialog'),
        targetOf(controllerTcp),
      );
      expect(back.status).toBe(200);
      expect([controllerTcp.connections, phoneTcp.connections]).toEqual([1, 1]);
    },
  );

  it(
    'reaches a WebSocket client over its connection by its .invalid sent-by',
    { timeout: 10_000 },
    async () => {
      const serverWs = await WsTransport.listen({ port: 0 });
      const clientWs = await WsTransport.listen({ listen: false });
      const server = endpoint([serverWs]).endpoint;
      const client = endpoint([clientWs]);
      open.push(server, client.endpoint);
      answering(server);
      answering(client.endpoint);
      expect(
        (await client.endpoint.sendRequest(info(targetOf(serverWs), 1), targetOf(serverWs))).status,
      ).toBe(200);
      const toClient: TransportTarget = { protocol: 'ws', host: clientWs.sentBy.host, port: 80 };
      const response = await server.sendRequest(info(toClient, 1, '', 'to-browser'), toClient);
      expect(response.status).toBe(200);
      expect([serverWs.connections, clientWs.connections]).toEqual([1, 1]);
      expect(client.events.filter((e) => e.type === 'dropped' || e.type === 'error')).toEqual([]);
    },
  );
});
