/**
 * The answer path in process, without sockets (issue #6 / #10 groundwork): MakeCall INFOs of 64
 * dialogs handed to a UDP-like transport double as bytes, answered by
 *
 * - the subject: the full responder stack (`UserAgent`, `acceptSipCstaChannels`, `CstaServer`,
 *   the CSTA codec, `MinimalResponder`), as `uacsta responder` runs it;
 * - the anchor: a `SipEndpoint` alone answering each INFO with a 200 carrying the same kind of
 *   CSTA body from a constant (no UA, no codec).
 *
 * The ratio is the share of the SIP layers in the full cost: what the UA and the CSTA layers add
 * per INFO, with no kernel and no peer in the loop (absolute rates still drift ±25 % with JIT and
 * GC, as the SIPp rows do; compare ratios). INFO/s of one core; each round runs both, fresh.
 */
import { acceptSipCstaChannels } from '../../src/node/sip-csta-channel.js';
import { MinimalResponder, SERVICES } from '../../src/cli/minimal-response.js';
import { SipEndpoint } from '../../src/sip/endpoint.js';
import { createResponse } from '../../src/sip/message/serialize.js';
import type { Transport } from '../../src/sip/transport/transport.js';
import { UserAgent } from '../../src/sip/ua/user-agent.js';
import type { CstaServiceMap } from '../../src/csta/model/types.js';
import { CstaServer } from '../../src/uacsta/server.js';
import { DOUBLE_PEER as PEER, transportDouble as bytesDouble } from '../support/transport-double.js';
import { stats, type BenchRow } from './harness.js';

const DIALOGS = 64;
const enc = new TextEncoder();
const dec = new TextDecoder();

const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';
const MAKE_CALL =
  `<?xml version="1.0" encoding="UTF-8"?>\r\n<MakeCall xmlns="${NS}">\r\n` +
  '<callingDevice typeOfNumber="dialingNumber">sip:1001@pbx.example.com</callingDevice>\r\n' +
  '<calledDirectoryNumber typeOfNumber="dialingNumber">sip:2002@pbx.example.com</calledDirectoryNumber>\r\n' +
  '<autoOriginate>doNotPrompt</autoOriginate>\r\n' +
  '<correlatorData><string>7C1B2E90</string></correlatorData>\r\n' +
  '<userData><string>uaCSTA bench</string></userData>\r\n' +
  '<callCharacteristics><priorityCall>true</priorityCall></callCharacteristics>\r\n' +
  '<subjectOfCall>uaCSTA load test</subjectOfCall>\r\n</MakeCall>\r\n';
const SYSTEM_STATUS = `<?xml version="1.0" encoding="UTF-8"?>\r\n<RequestSystemStatus xmlns="${NS}"/>\r\n`;
const MAKE_CALL_RESPONSE =
  `<?xml version="1.0" encoding="UTF-8"?><MakeCallResponse xmlns="${NS}"><callingDevice>` +
  '<callID>1</callID><deviceID>sip:1001@pbx.example.com</deviceID></callingDevice></MakeCallResponse>';

/** The transport double, with the answers counted and the last one kept. */
function transportDouble(): { transport: Transport; deliver: (b: Uint8Array) => void; sent: () => number; last: () => string } {
  let sent = 0;
  let last: Uint8Array = new Uint8Array(0);
  const double = bytesDouble((bytes) => {
    sent++;
    last = bytes;
  });
  return { ...double, sent: () => sent, last: () => dec.decode(last) };
}

function request(method: string, dialog: number, cseq: number, toTag: string, body: string, extra = ''): Uint8Array {
  return enc.encode(
    `${method} sip:responder@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-path-${dialog}-${cseq}-${method}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:cti@127.0.0.1:5061>;tag=uac${dialog}\r\n` +
      `To: <sip:responder@127.0.0.1:5070>${toTag === '' ? '' : `;tag=${toTag}`}\r\nCall-ID: path-${dialog}@bench\r\n` +
      `CSeq: ${cseq} ${method}\r\n${extra}Content-Length: ${enc.encode(body).length}\r\n\r\n${body}`,
  );
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Opens 64 sessions on `deliver`, then hands over `infos` INFOs (32 per event-loop turn, as
 * libuv reads them) and returns INFO/s over the last four fifths.
 */
async function drive(t: ReturnType<typeof transportDouble>, infos: number): Promise<number> {
  const tags: string[] = [];
  for (let d = 0; d < DIALOGS; d++) {
    t.deliver(request('INVITE', d, 1, '', SYSTEM_STATUS, `Contact: <sip:cti@127.0.0.1:5061>\r\nContent-Type: application/csta+xml\r\n`));
    await turn();
    const tag = /^To:.*;tag=([^;\r\n]+)/m.exec(t.last())?.[1];
    if (tag === undefined) throw new Error(`no 200 to INVITE: ${t.last().split('\r\n')[0]}`);
    tags.push(tag);
    t.deliver(request('ACK', d, 1, tag, ''));
  }
  const headers = 'Content-Type: application/csta+xml\r\nContent-Disposition: signal;handling=required\r\n';
  const batch: Uint8Array[] = [];
  const perDialog = Math.ceil(infos / DIALOGS);
  for (let c = 2; c < 2 + perDialog; c++)
    for (let d = 0; d < DIALOGS; d++) batch.push(request('INFO', d, c, tags[d]!, MAKE_CALL, headers));
  const warm = Math.floor(batch.length / 5);
  const run = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 32) {
      for (let j = i; j < Math.min(to, i + 32); j++) t.deliver(batch[j]!);
      await turn();
    }
  };
  await run(0, warm);
  const before = t.sent();
  const t0 = performance.now();
  await run(warm, batch.length);
  const ms = performance.now() - t0;
  const answered = t.sent() - before;
  if (answered !== batch.length - warm || !t.last().startsWith('SIP/2.0 200'))
    throw new Error(`${answered} of ${batch.length - warm} INFOs answered; last: ${t.last().split('\r\n')[0]}`);
  return (answered / ms) * 1000;
}

async function fullStack(infos: number): Promise<number> {
  const t = transportDouble();
  const endpoint = new SipEndpoint({ transports: [t.transport] });
  const ua = new UserAgent({
    endpoint,
    aor: 'sip:responder@127.0.0.1:5070',
    contact: 'sip:responder@127.0.0.1:5070',
    resolve: () => PEER,
  });
  const answers = new MinimalResponder();
  acceptSipCstaChannels(ua, (channel) => {
    const server = new CstaServer({ channel });
    for (const service of SERVICES)
      server.handle(service as keyof CstaServiceMap, ((req: never) => answers.respond(req)) as never);
  });
  try {
    return await drive(t, infos);
  } finally {
    await endpoint.close();
  }
}

async function endpointAlone(infos: number): Promise<number> {
  const t = transportDouble();
  const endpoint = new SipEndpoint({ transports: [t.transport] });
  let tags = 0;
  endpoint.onRequest((req, tx) => {
    if (req.method === 'ACK') return;
    const body = req.method === 'INVITE' ? SYSTEM_STATUS : MAKE_CALL_RESPONSE;
    tx.respond(
      createResponse(req, 200, 'OK', {
        toTag: `t${++tags}`,
        headers: { 'Content-Type': 'application/csta+xml' },
        body,
      }),
    );
  });
  try {
    return await drive(t, infos);
  } finally {
    await endpoint.close();
  }
}

/** The in-process rows: `rounds` pairs of runs of `infos` INFOs each. */
export async function pathBench(rounds: number, infos = 40_000, log: (line: string) => void = (l) => void process.stdout.write(l + '\n')): Promise<BenchRow[]> {
  const pairs: [number, number][] = [];
  for (let r = 1; r <= rounds; r++) {
    const anchor = await endpointAlone(infos);
    const subject = await fullStack(infos);
    log(`path round ${r}/${rounds}: responder stack ${Math.round(subject).toLocaleString('en-US')} INFO/s, endpoint alone ${Math.round(anchor).toLocaleString('en-US')} INFO/s`);
    pairs.push([subject, anchor]);
  }
  return [
    {
      name: 'responder stack in process (UA, CstaServer, codec; no sockets), 64 dialogs',
      unit: 'INFO/s',
      value: stats(pairs.map((p) => p[0])),
      anchor: 'SipEndpoint alone answering a constant 200, same bytes',
      anchorValue: stats(pairs.map((p) => p[1])),
      ratio: stats(pairs.map((p) => p[0] / p[1])),
      target: '',
    },
  ];
}
