/**
 * npm `sip` 0.0.6 (kirm/sip.js) answering the load of `test/sipp/uac-info.xml`: the "npm sip UAS"
 * rows of `npm run bench`. Contract and usage: `common.ts`.
 *
 * @remarks
 * As measured in performance.md: the stack's own transport (kernel-default UDP receive buffer),
 * its transaction layer (state kept 32 s per transaction) and a constant CSTA answer; no codec.
 */
import sip from 'sip';
import { ANSWERS, serverArgs } from './common.js';

/** The parts of `sip`'s message objects this server touches. */
interface NpmSipAor {
  name?: string;
  uri: string;
  params: Record<string, string | undefined>;
}
interface NpmSipMessage {
  method?: string;
  headers: Record<string, unknown> & { to: NpmSipAor };
  content?: string;
}
interface NpmSipStack {
  send(m: NpmSipMessage): void;
  destroy(): void;
}
interface NpmSipModule {
  create(
    options: Record<string, unknown>,
    onRequest: (rq: NpmSipMessage, remote: unknown) => void,
  ): NpmSipStack;
  makeResponse(rq: NpmSipMessage, status: number, reason?: string): NpmSipMessage;
}

const npm = sip as unknown as NpmSipModule;
const { transport, port } = serverArgs();
const contact = [{ uri: `sip:phone@127.0.0.1:${port};transport=${transport}`, params: {} }];
let tags = 0;

function answer(rq: NpmSipMessage, content?: string): NpmSipMessage {
  const rs = npm.makeResponse(rq, 200, 'OK');
  if (content !== undefined) {
    rs.headers['content-type'] = ANSWERS.contentType;
    rs.headers['content-disposition'] = ANSWERS.contentDisposition;
    rs.content = content;
  }
  return rs;
}

const stack = npm.create(
  {
    udp: transport === 'udp',
    tcp: transport === 'tcp',
    port,
    address: '127.0.0.1',
    publicAddress: 'bench.invalid',
  },
  (rq) => {
    switch (rq.method) {
      case 'INVITE': {
        const rs = answer(rq, ANSWERS.invite);
        // makeResponse shares the request's To object; the tag goes on the response only.
        rs.headers.to = { ...rq.headers.to, params: { ...rq.headers.to.params, tag: `n${(++tags).toString(36)}` } };
        rs.headers['contact'] = contact;
        stack.send(rs);
        break;
      }
      case 'INFO':
        stack.send(answer(rq, ANSWERS.info));
        break;
      case 'BYE':
        stack.send(answer(rq));
        break;
      case 'ACK':
        break;
      default:
        stack.send(npm.makeResponse(rq, 405, 'Method Not Allowed'));
    }
  },
);

process.once('SIGTERM', () => {
  stack.destroy();
  process.exit(0);
});
