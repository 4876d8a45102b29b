/**
 * `uacsta demo`: two simulated phones (1000 and 1001) and a controller on loopback, a call from
 * one to the other driven over uaCSTA, and the ladder of every SIP message printed as it goes.
 *
 * @remarks
 * Everything is real SIP over UDP on 127.0.0.1 (port 0, three sockets): the controller opens a
 * uaCSTA session to each phone (ECMA TR/87 §7: INVITE without SDP, requests in INFO, responses
 * in the 200 OK, events in INFO from the phone; digest §1.3–1.5), starts a monitor on each, and
 * sends MakeCall, AnswerCall, HoldCall, RetrieveCall and ClearConnection. The phones call each
 * other with INVITE/SDP (RFC 3261, RFC 3264), hold by re-INVITE `a=sendonly`, hang up with BYE.
 */

import { parseArgs } from 'node:util';
import { connectCsta } from '../../node/connect-csta.js';
import { SimulatedPhone } from '../../phone/simulator.js';
import { SipPhoneHost, type SipPhone } from '../../phone/sip/sip-phone-host.js';
import { SipEndpoint } from '../../sip/endpoint.js';
import type { SipEndpointTraceEvent } from '../../sip/endpoint-types.js';
import { UdpTransport } from '../../sip/transport/node/udp.js';
import type { Transport } from '../../sip/transport/transport.js';
import { UserAgent } from '../../sip/ua/user-agent.js';
import type { CstaClient, CstaEvent } from '../../uacsta/client.js';
import { readSeconds, UsageError } from '../args.js';
import { DemoParties, formatDemoLine, shortDevices } from '../demo-ladder.js';
import { EXIT, type CliIo } from '../io.js';
import { errorJson } from '../session.js';
import { createTraceSink, splitTraceArgs, TRACE_HELP, type TraceSink } from '../trace-options.js';

export const DEMO_HELP = `Usage: uacsta demo [options]

Starts two simulated phones (extensions 1000 and 1001) and a controller on 127.0.0.1, each on
its own UDP socket, and shows uaCSTA at work: the controller opens a CSTA session to each phone
(INVITE carrying RequestSystemStatus, no SDP), starts a monitor on each, makes a call from 1000 to 1001 (MakeCall),
answers it at 1001 (AnswerCall), holds and retrieves it at 1000 (HoldCall, RetrieveCall:
re-INVITEs between the phones) and clears it (ClearConnection: BYE). Every SIP message is
printed as it is sent, one line each: time, sender → receiver, method or status, and the CSTA
element with its key fields (or the SDP direction). Ends the sessions and exits.

Options:
  --timeout S          seconds to wait for each step (default 5)
  --quiet              print the steps and the result only, not the ladder
  -h, --help           this text

${TRACE_HELP}
Exit codes: 0 the call went through every step; 1 a step failed or timed out (what failed is
on stderr); 2 usage error.

Examples:
  uacsta demo
  uacsta demo --ladder demo.html --pcap demo.pcap
  uacsta demo --trace=full 2>trace.txt
`;

/** One phone of the demo with the controller's session and monitor on it. */
interface Station {
  readonly name: string;
  readonly sip: SipPhone;
  readonly phone: SimulatedPhone;
  readonly port: number;
  client?: CstaClient;
  readonly events: CstaEvent[];
  readonly waiters: Array<() => void>;
}

/** Resolves once `station` has received an event of `type` (counting from `from`). */
function eventOf(station: Station, type: string, timeoutMs: number, from = 0): Promise<CstaEvent> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const e = station.events.slice(from).find((x) => x.type === type);
      if (e === undefined) return false;
      clearTimeout(timer);
      resolve(e);
      return true;
    };
    const timer = setTimeout(() => {
      const i = station.waiters.indexOf(waiter);
      if (i >= 0) station.waiters.splice(i, 1);
      reject(new Error(`no ${type} at ${station.name} within ${timeoutMs} ms`));
    }, timeoutMs);
    const waiter = (): void => {
      if (check()) station.waiters.splice(station.waiters.indexOf(waiter), 1);
    };
    if (!check()) station.waiters.push(waiter);
  });
}

function callIdOf(event: CstaEvent): string {
  const c = (event as { connection?: { callID?: string } }).connection;
  if (c?.callID === undefined) throw new Error(`${event.type} without connection callID`);
  return c.callID;
}

async function udpEndpoint(trace: TraceSink, party: string, hook: (e: SipEndpointTraceEvent) => void): Promise<{ endpoint: SipEndpoint; transport: Transport }> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport], ...trace.endpointOptions([transport], party, hook) });
  return { endpoint, transport };
}

/** Runs `uacsta demo`. */
export async function runDemo(args: readonly string[], io: CliIo): Promise<number> {
  let timeoutMs: number;
  let quiet: boolean;
  let traceOptions;
  try {
    const split = splitTraceArgs(args);
    traceOptions = split.trace;
    const { values, positionals } = parseArgs({
      args: split.args,
      options: { timeout: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (values.help) {
      io.stdout(DEMO_HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`expected no arguments besides options; found '${positionals[0]}'`);
    timeoutMs = readSeconds(values.timeout, '--timeout', 5000);
    quiet = values.quiet ?? false;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof UsageError) && !(typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) throw e;
    io.stderr(`uacsta demo: ${(e as Error).message}\n(see uacsta demo --help)\n`);
    return EXIT.usage;
  }

  const trace = createTraceSink(traceOptions, io, { title: 'uacsta demo' });
  const parties = new DemoParties();
  let t0: number | undefined;
  const ladder = (from: string) => (e: SipEndpointTraceEvent): void => {
    if (quiet || e.type !== 'sent') return;
    const now = performance.now();
    t0 ??= now;
    io.stdout(formatDemoLine({ at: now - t0, from, to: parties.name(e.target), bytes: e.bytes }) + '\n');
  };
  const step = (text: string): void => io.stdout(`\n# ${text}\n`);

  const closers: Array<() => Promise<unknown>> = [];
  let failed: unknown;
  try {
    // two phones, each on its own socket so that each has its own lane in the ladder
    const stations: Station[] = [];
    for (const extension of ['1000', '1001']) {
      const { endpoint, transport } = await udpEndpoint(trace, extension, ladder(extension));
      parties.add(transport.local, extension);
      const host = new SipPhoneHost({ endpoint, ownsEndpoint: true, media: 'none' });
      closers.push(() => host.close());
      let phone: SimulatedPhone | undefined;
      const sip = host.addPhone({ extension, onCstaChannel: (channel) => phone?.attach(channel) });
      phone = new SimulatedPhone({ signalling: sip.signalling });
      closers.push(() => phone.close());
      stations.push({ name: extension, sip, phone, port: transport.local.port, events: [], waiters: [] });
    }
    const [a, b] = stations as [Station, Station];

    const ctl = await udpEndpoint(trace, 'controller', ladder('controller'));
    parties.add(ctl.transport.local, 'controller');
    const ua = new UserAgent({
      endpoint: ctl.endpoint,
      aor: 'sip:controller@127.0.0.1',
      contact: `sip:controller@127.0.0.1:${ctl.transport.local.port}`,
    });
    closers.push(async () => {
      await ua.close();
      await ctl.endpoint.close();
    });

    io.stdout(
      `uacsta demo: controller on udp:127.0.0.1:${ctl.transport.local.port}, ` +
        `phone 1000 on udp:127.0.0.1:${a.port}, phone 1001 on udp:127.0.0.1:${b.port}\n` +
        'calls between the phones: real SIP (INVITE/SDP, re-INVITE, BYE between their own sockets; no RTP)\n',
    );

    step('1. the controller opens a uaCSTA session to each phone (INVITE with RequestSystemStatus, no SDP) and starts a monitor on it');
    for (const s of stations) {
      // the INVITE carries RequestSystemStatus; its 200 OK must say normal (digest §1.3)
      const client = await connectCsta(ua, s.sip.contact, { requestSystemStatus: true, invokeTimeoutMs: timeoutMs });
      s.client = client;
      closers.unshift(() => client.close());
      client.on('event', (e) => {
        s.events.push(e);
        for (const w of [...s.waiters]) w();
      });
      await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: s.sip.deviceId } });
    }

    step('2. MakeCall: 1000 calls 1001 (the phones exchange INVITE/SDP; 1001 rings)');
    const made = await a.client!.request({
      type: 'MakeCall',
      callingDevice: a.sip.deviceId,
      calledDirectoryNumber: b.sip.contact,
      autoOriginate: 'doNotPrompt',
    });
    const delivered = await eventOf(b, 'DeliveredEvent', timeoutMs);
    const callA = made.callingDevice.callID!;
    const callB = callIdOf(delivered);

    step('3. AnswerCall at 1001 (200 OK with the SDP answer; both sides report Established)');
    await b.client!.request({ type: 'AnswerCall', callToBeAnswered: { callID: callB, deviceID: b.sip.deviceId } });
    await Promise.all([eventOf(a, 'EstablishedEvent', timeoutMs), eventOf(b, 'EstablishedEvent', timeoutMs)]);

    step('4. HoldCall at 1000 (re-INVITE a=sendonly), then RetrieveCall (re-INVITE a=sendrecv)');
    await a.client!.request({ type: 'HoldCall', callToBeHeld: { callID: callA, deviceID: a.sip.deviceId } });
    await Promise.all([eventOf(a, 'HeldEvent', timeoutMs), eventOf(b, 'HeldEvent', timeoutMs)]);
    await a.client!.request({ type: 'RetrieveCall', callToBeRetrieved: { callID: callA, deviceID: a.sip.deviceId } });
    await Promise.all([eventOf(a, 'RetrievedEvent', timeoutMs), eventOf(b, 'RetrievedEvent', timeoutMs)]);

    step('5. ClearConnection at 1000 (BYE between the phones; both report ConnectionCleared)');
    await a.client!.request({ type: 'ClearConnection', connectionToBeCleared: { callID: callA, deviceID: a.sip.deviceId } });
    await Promise.all([eventOf(a, 'ConnectionClearedEvent', timeoutMs), eventOf(b, 'ConnectionClearedEvent', timeoutMs)]);

    step('6. the controller ends both sessions (BYE)');
    for (const s of stations) await s.client!.close();

    const seen = (s: Station): string => s.events.map((e) => shortDevices(e.type.replace(/Event$/, ''))).join(', ');
    io.stdout(`\nevents at 1000: ${seen(a)}\nevents at 1001: ${seen(b)}\n`);
    io.stdout('uacsta demo: done: call made, answered, held, retrieved and cleared over uaCSTA\n');
  } catch (e) {
    failed = e;
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
  const written = await trace.finish();
  if (failed !== undefined) {
    const err = errorJson(failed).error;
    io.stderr(`uacsta demo: failed: ${String(err['message'] ?? JSON.stringify(err))}\n`);
    return EXIT.failure;
  }
  return written ? EXIT.ok : EXIT.failure;
}
