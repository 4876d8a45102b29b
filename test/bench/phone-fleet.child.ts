/**
 * Child process of the phone bench: `node --expose-gc --import tsx phone-fleet.child.ts COUNT
 * [REGISTRAR-URI | no-register]` starts COUNT simulated phones on one UDP socket (`startFleet`) and prints
 * `ready PORT EXT1,EXT2,…` (extensions as a range `FIRST-LAST`). Then, one command per stdin line:
 * `mem [SETTLE_MS]` waits SETTLE_MS (default 500) and prints `mem {"rss":…,"heapUsed":…,"sessions":…}` after two full garbage collections;
 * `quit` closes the phones and exits 0.
 */
import { createInterface } from 'node:readline';
import { startFleet } from '../integration/phone/fleet.js';

const count = Number(process.argv[2] ?? '0');
// argv[3]: the registrar URI (in the parent process), or `no-register`
const registrar = process.argv[3];
const register = registrar !== undefined && registrar !== 'no-register';
const fleet = await startFleet({ count, register, ...(register ? { registrar } : {}) });
const first = fleet.extensions[0] ?? '10000';
const last = fleet.extensions[fleet.extensions.length - 1] ?? '9999';
process.stdout.write(`ready ${fleet.port} ${first}-${last}\n`);

const gc = (globalThis as { gc?: () => void }).gc;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('mem')) {
    // settle (`mem MS`): let completed transactions linger out (Timer J/L, 64·T1 = 32 s), then collect twice
    await new Promise((r) => setTimeout(r, Number(line.split(' ')[1] ?? '500')));
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    const sessions = fleet.phones.reduce((n, p) => n + p.sessions, 0);
    process.stdout.write(`mem ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, sessions })}\n`);
  } else if (line === 'quit') {
    break;
  }
}
await fleet.close();
process.exit(0);
