/**
 * `--trace`, `--trace=full`, `--ladder FILE.html`, `--pcap FILE` for every CLI command that
 * sends SIP: the argument reader and the sink that the command's endpoints report to.
 *
 * @remarks
 * The SIP endpoint already reports every message in and out with its bytes and the peer's
 * address (`SipEndpointOptions.trace`, RFC 3261 §18 transport layer); the sink adds the time,
 * the local address and the party name, prints lines on stderr as they come, keeps the records
 * for the files and writes them when the command ends. The renderers are pure (`src/trace/`);
 * files are written here.
 *
 * @example
 * const { args, trace: traceOptions } = splitTraceArgs(argv);      // before parseArgs
 * const trace = createTraceSink(traceOptions, io);
 * const transport = await listenTransport(...);
 * const endpoint = new SipEndpoint({ transports: [transport], ...trace.endpointOptions([transport], 'uacsta') });
 * try { ... } finally { await endpoint.close(); await trace.finish(); }
 */

import { writeFile as fsWriteFile } from 'node:fs/promises';
import { TRACE_LIMITS } from '../limits.js';
import type { SipEndpointTraceEvent } from '../sip/endpoint.js';
import type { Transport, TransportTarget } from '../sip/transport/transport.js';
import { formatTraceLine, type TraceDetail } from '../trace/format-line.js';
import { renderLadderHtml } from '../trace/ladder-html.js';
import { mergeTrace } from '../trace/merge.js';
import { writePcap } from '../trace/pcap.js';
import type { TraceAddress, TraceRecord } from '../trace/record.js';
import { UsageError } from './args.js';
import type { CliIo } from './io.js';

/** What the trace flags asked for. */
export interface TraceOptions {
  /** Lines on stderr: one per message (`--trace`) or with the whole message (`--trace=full`). */
  readonly detail?: TraceDetail;
  /** `--ladder FILE`: the HTML ladder written when the command ends. */
  readonly ladder?: string;
  /** `--pcap FILE`: the capture written when the command ends. */
  readonly pcap?: string;
}

/** The help text of the trace flags, for each command's `--help`. */
export const TRACE_HELP = `Tracing:
  --trace              one line per SIP message in and out on stderr (time UTC, transport,
                       addresses, request or status line, CSTA element, Call-ID, CSeq)
  --trace=full         the line and the whole message
  --ladder FILE.html   write an HTML ladder diagram of the messages when the command ends
  --pcap FILE          write a pcap capture of the messages (Wireshark, tshark, sngrep)
`;

const VALUE_FLAGS = ['--ladder', '--pcap'] as const;

/**
 * Takes the trace flags out of `args`; the rest goes to the command's own `parseArgs`.
 * Arguments after `--` are left alone.
 *
 * @throws {@link UsageError} for `--trace=` other than `full` or `summary`, a flag given twice,
 * or `--ladder`/`--pcap` without a file.
 */
export function splitTraceArgs(args: readonly string[]): { args: string[]; trace: TraceOptions } {
  const rest: string[] = [];
  let detail: TraceDetail | undefined;
  const files: { ladder?: string; pcap?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--trace' || a.startsWith('--trace=')) {
      if (detail !== undefined) throw new UsageError('--trace given twice');
      const v = a === '--trace' ? 'summary' : a.slice('--trace='.length);
      if (v !== 'summary' && v !== 'full')
        throw new UsageError(`--trace expects nothing or =full (e.g. --trace=full); found '${a}'`);
      detail = v;
      continue;
    }
    const flag = VALUE_FLAGS.find((f) => a === f || a.startsWith(`${f}=`));
    if (flag === undefined) {
      rest.push(a);
      continue;
    }
    const key = flag === '--ladder' ? 'ladder' : 'pcap';
    if (files[key] !== undefined) throw new UsageError(`${flag} given twice`);
    let value: string | undefined;
    if (a === flag) {
      value = args[i + 1];
      if (value === undefined || value.startsWith('-'))
        throw new UsageError(`${flag} expects a FILE (e.g. ${flag} ${key === 'ladder' ? 'call.html' : 'call.pcap'}); found ${value === undefined ? 'nothing' : `'${value}'`}`);
      i++;
    } else value = a.slice(flag.length + 1);
    if (value === '') throw new UsageError(`${flag} expects a FILE; found an empty name`);
    files[key] = value;
  }
  return {
    args: rest,
    trace: {
      ...(detail === undefined ? {} : { detail }),
      ...(files.ladder === undefined ? {} : { ladder: files.ladder }),
      ...(files.pcap === undefined ? {} : { pcap: files.pcap }),
    },
  };
}

/** Dependencies of {@link createTraceSink}, injected by tests. */
export interface TraceSinkDeps {
  /** Wall-clock milliseconds since 1970. @defaultValue `performance.timeOrigin + performance.now()` */
  readonly now?: () => number;
  /** Writes a file. @defaultValue `fs.promises.writeFile` */
  readonly writeFile?: (path: string, data: Uint8Array | string) => Promise<void>;
  /** The ladder page's title. @defaultValue `'uacsta ladder'` */
  readonly title?: string;
  /** Most records kept for the files. @defaultValue `TRACE_LIMITS.maxRecords` */
  readonly maxRecords?: number;
}

/** Where a command's endpoints report their messages. */
export interface TraceSink {
  /** Whether any trace flag was given (when not, every method is a no-op). */
  readonly enabled: boolean;
  /**
   * Options to spread into `new SipEndpoint({...})`: `{ trace }` when tracing, `{}` when not
   * (zero cost). `transports` are the endpoint's (for the local address); `party` names it in
   * lines and ladder lanes; `next` is a trace hook of the caller's own, called first.
   */
  endpointOptions(
    transports: readonly Transport[],
    party?: string,
    next?: (event: SipEndpointTraceEvent) => void,
  ): { trace?: (event: SipEndpointTraceEvent) => void };
  /** Adds a record made elsewhere (printed and kept like the endpoint's). */
  record(record: TraceRecord): void;
  /** The records kept for the files so far. */
  readonly records: readonly TraceRecord[];
  /**
   * Writes the `--ladder` and `--pcap` files (each message once, in time order) and reports
   * them on stderr. Idempotent. Resolves `false` when a file could not be written (the reason
   * is on stderr); never rejects.
   */
  finish(): Promise<boolean>;
}

/** An unspecified bind address (0.0.0.0, ::) says nothing; the sent-by says where we are. */
function localOf(t: Transport): TraceAddress {
  const h = t.local.host;
  const unspecified = h === '0.0.0.0' || h === '::' || h === '[::]' || h === '';
  return { host: unspecified ? t.sentBy.host : h, port: t.local.port };
}

function defaultNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The sink of a command's trace flags.
 *
 * @example
 * const trace = createTraceSink({ detail: 'summary', ladder: 'call.html' }, io);
 */
export function createTraceSink(options: TraceOptions, io: CliIo, deps: TraceSinkDeps = {}): TraceSink {
  const detail = options.detail;
  const keep = options.ladder !== undefined || options.pcap !== undefined;
  const enabled = detail !== undefined || keep;
  const now = deps.now ?? defaultNow;
  const max = deps.maxRecords ?? TRACE_LIMITS.maxRecords;
  let records: TraceRecord[] = [];
  let left = 0;
  let finishing: Promise<boolean> | undefined;

  const record = (r: TraceRecord): void => {
    if (detail !== undefined) io.stderr(formatTraceLine(r, detail));
    if (!keep || finishing !== undefined) return;
    records.push(r);
    // drop the oldest in chunks, so that a long run does not shift the array per message
    if (records.length > max + Math.max(1, Math.floor(max / 8))) {
      left += records.length - max;
      records = records.slice(records.length - max);
    }
  };

  const write = async (path: string, data: Uint8Array | string, what: string): Promise<boolean> => {
    try {
      await (deps.writeFile ?? fsWriteFile)(path, data);
      io.stderr(`uacsta: wrote ${path} (${what})\n`);
      return true;
    } catch (e) {
      io.stderr(`uacsta: cannot write ${path} (${what}): ${(e as Error).message}\n`);
      return false;
    }
  };

  return {
    enabled,
    get records() {
      return records;
    },
    record,
    endpointOptions(transports, party, next) {
      if (!enabled) return next === undefined ? {} : { trace: next };
      const local = (target: TransportTarget): TraceAddress => {
        const t = transports.find((x) => x.protocol === target.protocol) ?? transports[0];
        return t === undefined ? { host: '0.0.0.0', port: 0 } : localOf(t);
      };
      return {
        trace: (event) => {
          next?.(event);
          if (event.type !== 'sent' && event.type !== 'received') return;
          // a trace must not break the path it watches (a closed stderr, a full disk)
          try {
            const remote = event.type === 'sent' ? event.target : event.source;
            record({
              time: now(),
              direction: event.type === 'sent' ? 'out' : 'in',
              transport: remote.protocol,
              local: local(remote),
              remote: { host: remote.host, port: remote.port },
              // the transport may reuse its buffer after the call: keep a copy
              bytes: keep ? event.bytes.slice() : event.bytes,
              ...(party === undefined ? {} : { party }),
              ...(event.flow === undefined ? {} : { flow: event.flow }),
            });
          } catch {
            // nothing left to report to
          }
        },
      };
    },
    finish() {
      return (finishing ??= (async () => {
        if (!keep) return true;
        const merged = mergeTrace(records);
        const note =
          left === 0 ? '' : ` (the first ${left} messages were left out: TRACE_LIMITS.maxRecords = ${max})`;
        let ok = true;
        if (options.ladder !== undefined) {
          const html = renderLadderHtml(merged, { title: deps.title ?? 'uacsta ladder' });
          ok = (await write(options.ladder, html, `ladder, ${merged.length} messages${note}`)) && ok;
        }
        if (options.pcap !== undefined) {
          const pcap = writePcap(merged);
          for (const n of pcap.notes) io.stderr(`uacsta: pcap: ${n}\n`);
          const what = `pcap, ${merged.length} messages, ${pcap.packets} packets${note}`;
          ok = (await write(options.pcap, pcap.bytes, what)) && ok;
        }
        return ok;
      })());
    },
  };
}
