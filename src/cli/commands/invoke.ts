/**
 * `uacsta invoke TARGET-URI 'JSON-REQUEST'`: one CSTA service request in its own uaCSTA session
 * (INVITE → INFO request → 200 with the response → BYE; digest §1.3–1.4).
 */

import { parseArgs } from 'node:util';
import { serializeCsta, type CstaMessage } from '../../csta/index.js';
import type { CstaServiceMap } from '../../csta/model/types.js';
import { isUaCstaError } from '../../errors.js';
import { readSeconds, UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { SERVICES } from '../minimal-response.js';
import { errorJson, openSession, readSession, SESSION_HELP, SESSION_OPTIONS } from '../session.js';

export const INVOKE_HELP = `Usage: uacsta invoke TARGET-URI 'JSON-REQUEST' [options]

Opens a uaCSTA session to TARGET-URI (INVITE with application/csta+xml), sends one CSTA
request in an INFO, prints the typed response as JSON on stdout, and ends the session (BYE).
JSON-REQUEST is a typed CSTA request as uacsta decode prints it: {"type":"MakeCall",...}.

Options:
${SESSION_HELP}

Exit codes: 0 positive response (the response JSON on stdout); 1 CSTA error or SIP failure
(error JSON on stdout: {"error":{"code":"CSTA_ERR_SERVICE","category":…,"value":…}} or
{"error":{"code":"SIP_ERR_REJECTED","status":…,"reason":…}}); 2 usage error (stderr).

Examples:
  uacsta invoke 'sip:1001@192.0.2.10:5060;transport=tcp' \\
    '{"type":"MakeCall","callingDevice":"1001","calledDirectoryNumber":"2002"}'
  uacsta invoke sip:1001@127.0.0.1:5070 '{"type":"SnapshotDevice","snapshotObject":"1001"}' --transport udp
  uacsta invoke sips:1001@pbx.example.com '{"type":"GetDoNotDisturb","device":"1001"}' --ca lab-ca.pem \\
    --user 1001 --password secret
`;

/** Reads and checks JSON-REQUEST: a known request type that the codec can write. */
export function readRequest(text: string | undefined): CstaMessage {
  if (text === undefined) throw new UsageError(`expected 'JSON-REQUEST' after TARGET-URI (e.g. '{"type":"MakeCall",...}'); found nothing`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`JSON-REQUEST expects JSON; found '${text.slice(0, 80)}' (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string')
    throw new UsageError(`JSON-REQUEST expects an object with a "type" naming a CSTA request; found ${JSON.stringify(value).slice(0, 80)}`);
  const type = (value as { type: string }).type;
  if (!(SERVICES as readonly string[]).includes(type))
    throw new UsageError(`JSON-REQUEST "type" expects a CSTA service request (MakeCall, MonitorStart, SnapshotDevice, …); found '${type}'`);
  try {
    serializeCsta(value as CstaMessage);
  } catch (e) {
    if (!isUaCstaError(e)) throw e;
    throw new UsageError(`JSON-REQUEST does not fit the ECMA-323 model of <${type}>: ${e.message}`);
  }
  return value as CstaMessage;
}

/** Runs `uacsta invoke`. */
export async function runInvoke(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: SESSION_OPTIONS, allowPositionals: true });
  if (values.help) {
    io.stdout(INVOKE_HELP);
    return EXIT.ok;
  }
  let settings;
  let request: CstaMessage;
  try {
    if (positionals.length > 2) throw new UsageError(`expected TARGET-URI and 'JSON-REQUEST'; found ${positionals.length} arguments`);
    settings = readSession(positionals[0], values, readSeconds(values.timeout, '--timeout', 10_000));
    request = readRequest(positionals[1]);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`uacsta invoke: ${e.message}\n`);
    return EXIT.usage;
  }
  let session;
  try {
    session = await openSession(settings);
  } catch (e) {
    io.stdout(JSON.stringify(errorJson(e)) + '\n');
    return EXIT.failure;
  }
  try {
    const type = request.type as keyof CstaServiceMap;
    const response = await session.client.request(request as CstaServiceMap[typeof type]['request'] & { type: typeof type });
    io.stdout(JSON.stringify(response) + '\n');
    return EXIT.ok;
  } catch (e) {
    io.stdout(JSON.stringify(errorJson(e)) + '\n');
    return EXIT.failure;
  } finally {
    await session.close();
  }
}
