/**
 * A lean load client for the latency rows of `npm run bench` (issue #10: "p50 and p99 response
 * latency at half of our sustained rate"): raw SIP text over one UDP socket, no stack, so that
 * the client's own cost (a few µs per INFO) does not become the figure. Our CstaClient could not
 * serve here: at half the responder's rate it is itself near its limit, and its queueing showed
 * as milliseconds of "latency" for SIPp's UAS too.
 *
 * It opens `dialogs` uaCSTA sessions (INVITE with RequestSystemStatus → 200 → ACK), then offers
 * MakeCall INFOs at `ratePerSecond` in total, one outstanding per dialog (an INFO that would find
 * every dialog busy is counted as not offered), timing each from the send to its 200 with
 * `performance.now()`. Ends with a BYE per dialog.
 */
import { createSocket, type Socket } from 'node:dgram';

/** What {@link pacedInfoRun} measured. */
export interface PacedRun {
  /** Answered INFOs per second in the window. */
  readonly rate: number;
  /** Response times in ms of the INFOs sent and answered in the window. */
  readonly latencies: number[];
  /** INFOs not answered within 2 s, and INFOs not offered because every dialog was busy. */
  readonly lost: number;
  readonly skipped: number;
}

/** Options of {@link pacedInfoRun}. */
export interface PacedOptions {
  readonly port: number;
  readonly dialogs: number;
  readonly ratePerSecond: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

const MAKE_CALL =
  '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
  '<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">\r\n' +
  '<callingDevice typeOfNumber="dialingNumber">sip:1001@pbx.example.com</callingDevice>\r\n' +
  '<calledDirectoryNumber typeOfNumber="dialingNumber">sip:2002@pbx.example.com</calledDirectoryNumber>\r\n' +
  '<autoOriginate>doNotPrompt</autoOriginate>\r\n' +
  '</MakeCall>\r\n';
const SYSTEM_STATUS =
  '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
  '<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>\r\n';

interface Dialog {
  readonly callId: string;
  readonly fromTag: string;
  toTag: string;
  target: string;
  cseq: number;
  /** When the outstanding INFO left, or -1 when none is outstanding. */
  sentAt: number;
}

const header = (text: string, name: string): string | undefined =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(text)?.[1]?.trim();

export async function pacedInfoRun(o: PacedOptions): Promise<PacedRun> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  const local = `127.0.0.1:${socket.address().port}`;
  const server = `127.0.0.1:${o.port}`;
  const send = (text: string): void => socket.send(text, o.port, '127.0.0.1');
  let branches = 0;
  const request = (method: string, d: Dialog, cseq: number, extra: string, body = ''): string =>
    `${method} ${d.target} SIP/2.0\r\nVia: SIP/2.0/UDP ${local};branch=z9hG4bK-paced-${++branches}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:cti@${local}>;tag=${d.fromTag}\r\n` +
    `To: <sip:1001@${server}>${d.toTag === '' ? '' : `;tag=${d.toTag}`}\r\nCall-ID: ${d.callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  const dialogs = new Map<string, Dialog>();
  const list: Dialog[] = [];
  const latencies: number[] = [];
  let answered = 0;
  let lost = 0;
  let skipped = 0;
  let windowStart = Infinity; // set once every session is open
  const windowEnd = () => windowStart + o.seconds * 1000;
  const opened = new Set<string>();
  let onOpened: (() => void) | undefined;

  socket.on('message', (msg) => {
    const now = performance.now();
    const text = msg.toString('utf8');
    if (!text.startsWith('SIP/2.0 ')) return; // a request from the server (BYE…): not expected here
    const status = Number(text.slice(8, 11));
    const d = dialogs.get(header(text, '(?:Call-ID|i)') ?? '');
    const cseq = header(text, 'CSeq') ?? '';
    if (d === undefined || status < 200) return;
    if (cseq.endsWith('INVITE')) {
      if (d.toTag !== '') return; // a retransmitted 200: the ACK below already went
      d.toTag = /;\s*tag=([^;\s]+)/i.exec(header(text, '(?:To|t)') ?? '')?.[1] ?? '';
      d.target = /<([^>]+)>/.exec(header(text, '(?:Contact|m)') ?? '')?.[1] ?? d.target;
      send(request('ACK', d, 1, ''));
      opened.add(d.callId);
      if (opened.size === o.dialogs) onOpened?.();
      return;
    }
    if (cseq.endsWith('INFO') && Number(cseq.split(' ')[0]) === d.cseq && d.sentAt >= 0) {
      if (d.sentAt >= windowStart && now <= windowEnd()) {
        latencies.push(now - d.sentAt);
        answered++;
      }
      d.sentAt = -1;
    }
  });

  try {
    for (let i = 0; i < o.dialogs; i++) {
      const d: Dialog = {
        callId: `paced-${process.pid}-${i}`,
        fromTag: `p${i}`,
        toTag: '',
        target: `sip:1001@${server}`,
        cseq: 1,
        sentAt: -1,
      };
      dialogs.set(d.callId, d);
      list.push(d);
      send(
        request('INVITE', d, 1, `Contact: <sip:cti@${local}>\r\nContent-Type: application/csta+xml\r\n`, SYSTEM_STATUS),
      );
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${opened.size} of ${o.dialogs} sessions opened`)), 5000);
      onOpened = () => {
        clearTimeout(timer);
        resolve();
      };
      if (opened.size === o.dialogs) onOpened();
    });
    windowStart = performance.now() + o.warmupSeconds * 1000;
    const interval = 1000 / o.ratePerSecond;
    let next = performance.now();
    let rr = 0;
    const infoHeaders = 'Content-Type: application/csta+xml\r\nContent-Disposition: signal;handling=required\r\n';
    while (performance.now() < windowEnd()) {
      const now = performance.now();
      while (next <= now) {
        next += interval;
        let d: Dialog | undefined;
        for (let k = 0; k < list.length; k++) {
          const c = list[(rr + k) % list.length]!;
          if (c.sentAt >= 0 && now - c.sentAt > 2000) {
            lost++; // no answer in 2 s: give the dialog back
            c.sentAt = -1;
          }
          if (c.sentAt < 0) {
            d = c;
            rr = (rr + k + 1) % list.length;
            break;
          }
        }
        if (d === undefined) {
          skipped++;
          continue;
        }
        d.cseq++;
        d.sentAt = performance.now();
        send(request('INFO', d, d.cseq, infoHeaders, MAKE_CALL));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 200)); // the last answers
    for (const d of list) send(request('BYE', d, ++d.cseq, ''));
    await new Promise((r) => setTimeout(r, 200));
    return { rate: answered / o.seconds, latencies, lost, skipped };
  } finally {
    await new Promise<void>((r) => socket.close(() => r()));
  }
}
