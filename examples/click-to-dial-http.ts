/**
 * Click-to-dial over HTTP: `POST /dial {"from":"1000","to":"1001"}` makes the phone `from` call
 * `to` (MakeCall) and answers `200 {"callID":"1"}`; a CSTA refusal answers 409 with the CSTA
 * error, a bad body 400, an unknown path 404.
 *
 *   npx tsx examples/click-to-dial-http.ts --self-test   # simulated phones, two requests, exit
 *   npx tsx examples/click-to-dial-http.ts --port 8080   # simulated phones, until Ctrl-C
 *   npx tsx examples/click-to-dial-http.ts --target sip:cti@pbx.example.com --port 8080
 *     curl -d '{"from":"1000","to":"1001"}' http://127.0.0.1:8080/dial
 *
 * With `--target` one uaCSTA session carries the requests for every phone (a PBX or gateway
 * that controls many devices, digest §1.2); with the simulated phones, each phone has its own
 * session, opened on the first request for it (ECMA-269 MakeCall).
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectCsta, CstaServiceError, type CstaClient } from '../src/index.js';
import { controllerAgent, flag, option, startLab, type Lab } from './lab.js';

/** Longest request body read. */
const MAX_BODY = 4096;

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY) throw new Error(`body longer than ${MAX_BODY} bytes`);
  }
  return JSON.parse(text);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
}

async function main(): Promise<void> {
  let lab: Lab | undefined;
  const target = option('target');
  if (target === undefined) lab = await startLab(['1000', '1001', '1002'], { autoAnswer: ['1001', '1002'] });
  const controller = await controllerAgent(option('target'));
  const sessions = new Map<string, Promise<CstaClient>>();

  /** The session that controls `from`: the target's one, or the simulated phone's own. */
  const sessionFor = (from: string): Promise<CstaClient> => {
    const uri = target ?? lab!.phone(from).contact;
    let s = sessions.get(uri);
    if (s === undefined) {
      s = connectCsta(controller.ua, uri, { invokeTimeoutMs: 5000 });
      s.catch(() => sessions.delete(uri));
      sessions.set(uri, s);
    }
    return s;
  };
  /** The device ID the phone knows for an extension (the lab's phones use SIP URIs). */
  const deviceOf = (ext: string): string => (lab === undefined ? ext : lab.phone(ext).deviceId);

  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/dial') return reply(res, 404, { error: 'POST /dial {"from","to"}' });
    void (async () => {
      let from: string, to: string;
      try {
        const body = (await readJson(req)) as { from?: unknown; to?: unknown };
        if (typeof body.from !== 'string' || typeof body.to !== 'string') throw new Error('expected {"from":"1000","to":"1001"}');
        if (lab !== undefined && !lab.phones.some((p) => p.extension === body.from)) throw new Error(`no phone ${body.from}`);
        ({ from, to } = body as { from: string; to: string });
      } catch (e) {
        return reply(res, 400, { error: (e as Error).message });
      }
      try {
        const client = await sessionFor(from);
        const made = await client.request({ type: 'MakeCall', callingDevice: deviceOf(from), calledDirectoryNumber: to });
        console.log(`dial ${from} → ${to}: callID ${made.callingDevice.callID}`);
        reply(res, 200, { callID: made.callingDevice.callID });
      } catch (e) {
        if (e instanceof CstaServiceError) return reply(res, 409, { error: { category: e.category, value: e.value } });
        reply(res, 502, { error: (e as Error).message });
      }
    })();
  });
  const port = Number(option('port') ?? (flag('self-test') ? 0 : 8080));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dial`;
  console.log(`click-to-dial listening on ${url}${lab === undefined ? '' : ' (simulated phones 1000, 1001, 1002)'}`);

  try {
    if (flag('self-test')) {
      for (const body of [{ from: '1000', to: '1001' }, { from: '1000' }, { from: '1002', to: '1000' }]) {
        const r = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
        console.log(`POST /dial ${JSON.stringify(body)} → ${r.status} ${(await r.text()).trim()}`);
      }
    } else {
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    server.close();
    for (const s of sessions.values()) await s.then((c) => c.close()).catch(() => undefined);
    await controller.close();
    await lab?.close();
  }
}

main().catch((e: unknown) => {
  console.error(`click-to-dial-http: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
