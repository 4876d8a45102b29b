/**
 * `uacsta phone --listen udp:HOST:PORT --extension 1000 [--count N]`: simulated phones on one
 * socket, each a CSTA-controllable SIP phone (issue #7) that takes uaCSTA sessions and real calls
 * on `sip:EXT@HOST:PORT`, optionally registered with a registrar.
 */

import { parseArgs } from 'node:util';
import { phoneProfile, PHONE_PROFILES } from '../../phone/profiles.js';
import { SimulatedPhone } from '../../phone/simulator.js';
import { SipPhoneHost, type SipPhoneHostLogEvent } from '../../phone/sip/sip-phone-host.js';
import { readListen, UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';

export const PHONE_HELP = `Usage: uacsta phone --listen udp:HOST:PORT --extension EXT [options]

Runs simulated phones on one socket: phone N has extension EXT+N, device ID sip:EXT+N@HOST and
Contact sip:EXT+N@HOST:PORT; with the multi-line profile its line 2 is sip:EXT+N-2@HOST. Each takes uaCSTA sessions (INVITE without SDP) and real calls
(INVITE with SDP) on that address, answers CSTA requests and sends CSTA events as a phone of
the chosen profile would, places calls on MakeCall, holds by re-INVITE, transfers by REFER.
Prints one line "listening udp:HOST:PORT extensions FIRST-LAST" once ready, then one line per
session and call; stops on SIGINT or SIGTERM (BYE to sessions and calls, unregisters).

Options:
  --listen T:HOST:PORT   udp or tcp, and the address to bind (port 0 picks a free one)
  --extension EXT        the first extension (digits; the others count up from it)
  --count N              how many phones (default 1, at most 10000)
  --profile NAME         vendor behaviour: ${Object.keys(PHONE_PROFILES).join(', ')} (default generic)
  --registrar URI        register each phone there (sip:HOST:PORT) and send calls through it
  --user U --password P  digest credentials for REGISTER and challenged INVITEs, and the ones a
                         challenge-* profile asks of the controller; U may contain {ext},
                         replaced by each line's extension (default: the extension)
  --auto-answer          answer incoming calls at once
  --media KIND           RTP: silence, tone (1 kHz) or none (default silence)
  --dtmf MODE            digits as rfc4733 events or info (application/dtmf-relay); default rfc4733
  -h, --help             this text

Exit codes: 0 stopped by a signal; 1 cannot listen or register; 2 usage error.

Examples:
  uacsta phone --listen udp:127.0.0.1:5070 --extension 1000 --count 10 --auto-answer
  uacsta phone --listen udp:127.0.0.1:5070 --extension 1000 --registrar sip:127.0.0.1:5060 \\
    --user '{ext}' --password secret
`;

/** Most phones one command runs. */
export const MAX_PHONES = 10_000;

/** Options of {@link startPhones}. */
export interface PhonesOptions {
  readonly listen: { readonly transport: 'udp' | 'tcp'; readonly host: string; readonly port: number };
  readonly extension: string;
  readonly count: number;
  readonly profile: string;
  readonly registrar?: string;
  readonly credentials?: { readonly user: string; readonly password: string };
  readonly autoAnswer: boolean;
  readonly media: 'silence' | 'tone' | 'none';
  readonly dtmf: 'rfc4733' | 'info';
  readonly log?: (line: string) => void;
}

/** Running phones. */
export interface Phones {
  readonly host: SipPhoneHost;
  readonly phones: readonly SimulatedPhone[];
  /** `udp:HOST:PORT extensions FIRST-LAST`. */
  readonly banner: string;
  close(): Promise<void>;
}

/** The extension `i` places after `first` (same width, `0999` + 1 = `1000`). */
export function nthExtension(first: string, i: number): string {
  const n = (BigInt(first) + BigInt(i)).toString();
  return n.padStart(first.length, '0');
}

function logLine(e: SipPhoneHostLogEvent): string {
  switch (e.type) {
    case 'session-open':
      return 'outOfDialog' in e ? `${e.extension} session NOTIFY from ${e.outOfDialog} open` : `${e.extension} session ${e.callId} open`;
    case 'challenge':
      return `${e.extension} ${e.method} answered ${e.status} (${e.reason})`;
    case 'conference':
      return `${e.extension} conference ${e.legs.join(' ') || 'ended'}`;
    case 'session-closed':
      return `${e.extension} session ${e.callId} closed (${e.reason})`;
    case 'register':
      return `${e.extension} register ${e.event.type}${'expiresSec' in e.event ? ` ${e.event.expiresSec}s` : ''}${'status' in e.event && e.event.status !== undefined ? ` ${e.event.status}` : ''}`;
    case 'call-out':
      return `${e.extension} call ${e.leg} to ${e.to}`;
    case 'call-in':
      return `${e.extension} call ${e.leg} from ${e.from}`;
    case 'connected':
      return `${e.extension} call ${e.leg} connected`;
    case 'ended':
      return `${e.extension} call ${e.leg} ended ${e.cause}${e.status === undefined ? '' : ` ${e.status}`}`;
    case 'hold':
    case 'retrieve':
      return `${e.extension} call ${e.leg} ${e.type} (${e.by})`;
  }
}

/** Starts the phones (usable in-process by tests). Rejects when it cannot listen or register. */
export async function startPhones(o: PhonesOptions): Promise<Phones> {
  const log = o.log;
  const profile = phoneProfile(o.profile);
  if (profile === undefined) throw new UsageError(`unknown profile '${o.profile}'`);
  const host = await SipPhoneHost.listen(
    { protocol: o.listen.transport, host: o.listen.host, port: o.listen.port },
    {
      media: o.media,
      dtmf: o.dtmf,
      ...(o.registrar === undefined ? {} : { registrar: o.registrar }),
      ...(log === undefined ? {} : { log: (e: SipPhoneHostLogEvent) => log(logLine(e)) }),
    },
  );
  const phones: SimulatedPhone[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const extension = nthExtension(o.extension, i);
      const c = o.credentials;
      let phone: SimulatedPhone | undefined;
      const sip = host.addPhone({
        extension,
        lines: profile.lines,
        challenge: profile.challenge,
        outOfDialogCsta: profile.outOfDialogCsta,
        // each line registers as its own account: {ext} is the line's extension (1000, 1000-2)
        ...(c === undefined ? {} : { credentials: (line: string) => ({ username: c.user.replaceAll('{ext}', line), password: c.password }) }),
        onCstaChannel: (channel) => phone?.attach(channel),
      });
      phone = new SimulatedPhone({ signalling: sip.signalling, profile: o.profile, autoAnswer: o.autoAnswer });
      phones.push(phone);
    }
    const failed = await host.register();
    if (failed.length > 0) throw new Error(`registration failed for ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''}`);
  } catch (error) {
    await Promise.allSettled(phones.map((p) => p.close()));
    await host.close();
    throw error;
  }
  const { protocol, host: h, port } = host.listenAddress;
  const hostText = h.includes(':') ? `[${h}]` : h;
  const last = nthExtension(o.extension, o.count - 1);
  const banner = `${protocol}:${hostText}:${port} extensions ${o.count === 1 ? o.extension : `${o.extension}-${last}`}`;
  return {
    host,
    phones,
    banner,
    close: async () => {
      // BYE and unregister, but never wait long for peers that have gone
      const done = (async () => {
        await Promise.allSettled(phones.map((p) => p.close()));
        await host.close();
      })();
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000).unref())]);
      await host.endpoint.close().catch(() => undefined);
    },
  };
}

/** Runs `uacsta phone`. */
export async function runPhone(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      listen: { type: 'string' },
      extension: { type: 'string' },
      count: { type: 'string' },
      profile: { type: 'string' },
      registrar: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      'auto-answer': { type: 'boolean' },
      media: { type: 'string' },
      dtmf: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(PHONE_HELP);
    return EXIT.ok;
  }
  let options: PhonesOptions;
  try {
    if (positionals.length > 0) throw new UsageError(`expected no arguments besides options; found '${positionals[0]}'`);
    const listen = readListen(values.listen);
    if (listen.transport !== 'udp' && listen.transport !== 'tcp')
      throw new UsageError(`--listen expects udp:HOST:PORT or tcp:HOST:PORT; found ${listen.transport}`);
    const extension = values.extension;
    if (extension === undefined || !/^\d{1,18}$/.test(extension))
      throw new UsageError(`--extension expects digits (e.g. 1000); found '${extension ?? ''}'`);
    const count = values.count === undefined ? 1 : Number(values.count);
    if (!Number.isInteger(count) || count < 1 || count > MAX_PHONES)
      throw new UsageError(`--count expects a whole number from 1 to ${MAX_PHONES}; found '${values.count}'`);
    const profile = values.profile ?? 'generic';
    if (phoneProfile(profile) === undefined)
      throw new UsageError(`--profile expects one of ${Object.keys(PHONE_PROFILES).join(', ')}; found '${profile}'`);
    if (values.registrar !== undefined && !/^sips?:[^@\s]+$/i.test(values.registrar))
      throw new UsageError(`--registrar expects sip:HOST:PORT; found '${values.registrar}'`);
    if ((values.user !== undefined || values.password !== undefined) && values.password === undefined)
      throw new UsageError('--user needs --password');
    const challenges = phoneProfile(values.profile ?? 'generic')?.challenge !== 'none';
    if (values.password !== undefined && values.registrar === undefined && !challenges)
      throw new UsageError('--user/--password need --registrar (or a challenge-* profile)');
    if (challenges && values.password === undefined)
      throw new UsageError(`--profile ${values.profile ?? ''} challenges the controller: give --password (and --user)`);
    const media = values.media ?? 'silence';
    if (media !== 'silence' && media !== 'tone' && media !== 'none')
      throw new UsageError(`--media expects silence, tone or none; found '${media}'`);
    const dtmf = values.dtmf ?? 'rfc4733';
    if (dtmf !== 'rfc4733' && dtmf !== 'info') throw new UsageError(`--dtmf expects rfc4733 or info; found '${dtmf}'`);
    options = {
      listen: { transport: listen.transport, host: listen.host, port: listen.port },
      extension,
      count,
      profile,
      ...(values.registrar === undefined ? {} : { registrar: values.registrar }),
      ...(values.password === undefined ? {} : { credentials: { user: values.user ?? '{ext}', password: values.password } }),
      autoAnswer: values['auto-answer'] ?? false,
      media,
      dtmf,
      log: (line) => io.stdout(line + '\n'),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`uacsta phone: ${e.message}\n`);
    return EXIT.usage;
  }
  const interrupted = io.interruption?.();
  let phones: Phones;
  try {
    phones = await startPhones(options);
  } catch (e) {
    io.stderr(`uacsta phone: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  io.stdout(`listening ${phones.banner}\n`);
  if (interrupted !== undefined) {
    await new Promise<void>((resolve) => {
      if (interrupted.aborted) resolve();
      else interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  await phones.close();
  return EXIT.ok;
}
