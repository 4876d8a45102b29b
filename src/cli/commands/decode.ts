/**
 * `uacsta decode [FILE|-]`: reads a CSTA XML body and prints the typed message as JSON.
 */
import { parseArgs } from 'node:util';
import { parseCsta } from '../../csta/index.js';
import { EXIT, type CliIo } from '../io.js';

export const DECODE_HELP = `Usage: uacsta decode [FILE|-] [--warnings]

Reads one ECMA-323 CSTA XML document (a file, or standard input for - or no argument) and
prints the typed message as JSON: {"type":"MakeCall","edition":"ed3",...}.

Options:
  --warnings   also print what was ignored or kept although the schema does not allow it
               (unknown children, unknown enumeration values) as {"message":...,"warnings":[...]}
  -h, --help   this text

Exit codes: 0 decoded; 1 the input is not a valid CSTA document (the error JSON
{"error":{"code":"CSTA_ERR_…","message":"…"}} is printed on stdout); 2 usage error.

Examples:
  uacsta decode examples/csta/make-call.xml
  printf '<MonitorStop xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorCrossRefID>17</monitorCrossRefID></MonitorStop>' | uacsta decode -
`;

/** Runs `uacsta decode`. */
export async function runDecode(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { warnings: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(DECODE_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 1) {
    io.stderr(`uacsta decode: expected at most one FILE, found ${positionals.length}\n`);
    return EXIT.usage;
  }
  const input = await io.readInput(positionals[0] ?? '-');
  const r = parseCsta(input);
  if (!r.ok) {
    io.stdout(JSON.stringify({ error: { code: r.error.code, message: r.error.message } }) + '\n');
    return EXIT.failure;
  }
  const out = values.warnings ? { message: r.value, warnings: r.warnings } : r.value;
  io.stdout(JSON.stringify(out, null, 2) + '\n');
  return EXIT.ok;
}
