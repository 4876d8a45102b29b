/**
 * `uacsta encode [FILE|-] [--edition edN]`: reads a typed message as JSON and prints CSTA XML.
 */
import { parseArgs } from 'node:util';
import { EDITIONS, serializeCsta, type CstaMessage, type Edition } from '../../csta/index.js';
import { isUaCstaError } from '../../errors.js';
import { EXIT, type CliIo } from '../io.js';

export const ENCODE_HELP = `Usage: uacsta encode [FILE|-] [--edition ed2|ed3|ed4|ed5|ed6] [--no-declaration]

Reads one typed CSTA message as JSON (the output of uacsta decode) and prints it as ECMA-323
XML. The edition is --edition, else the message's "edition" field, else ed3.

Options:
  --edition EDN       edition (namespace) to write
  --no-declaration    omit <?xml version="1.0" encoding="UTF-8"?>
  -h, --help          this text

Exit codes: 0 encoded; 1 the JSON does not fit the ECMA-323 model (error JSON on stdout);
2 usage error (bad option, input that is not JSON).

Examples:
  uacsta decode examples/csta/make-call.xml | uacsta encode - --edition ed5
  echo '{"type":"MonitorStop","monitorCrossRefID":"17"}' | uacsta encode -
`;

/** Runs `uacsta encode`. */
export async function runEncode(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      edition: { type: 'string' },
      'no-declaration': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(ENCODE_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 1) {
    io.stderr(`uacsta encode: expected at most one FILE, found ${positionals.length}\n`);
    return EXIT.usage;
  }
  const edition = values.edition;
  if (edition !== undefined && !EDITIONS.includes(edition as Edition)) {
    io.stderr(`uacsta encode: --edition expects one of ${EDITIONS.join(', ')}; found '${edition}'\n`);
    return EXIT.usage;
  }
  const input = new TextDecoder().decode(await io.readInput(positionals[0] ?? '-'));
  let message: unknown;
  try {
    message = JSON.parse(input);
  } catch (e) {
    io.stderr(`uacsta encode: the input is not JSON (${(e as Error).message})\n`);
    return EXIT.usage;
  }
  if (typeof message !== 'object' || message === null || typeof (message as { type?: unknown }).type !== 'string') {
    io.stderr('uacsta encode: expected a JSON object with a "type" field naming the root element\n');
    return EXIT.usage;
  }
  try {
    const xml = serializeCsta(message as CstaMessage, {
      ...(edition !== undefined ? { edition: edition as Edition } : {}),
      declaration: !values['no-declaration'],
    });
    io.stdout(xml + '\n');
    return EXIT.ok;
  } catch (e) {
    if (!isUaCstaError(e)) throw e;
    io.stdout(JSON.stringify({ error: { code: e.code, message: e.message } }) + '\n');
    return EXIT.failure;
  }
}
