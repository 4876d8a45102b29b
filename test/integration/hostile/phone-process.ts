/**
 * A simulated phone as a process of its own, for the hostile-input, security and soak tests: the
 * phones of `uacsta phone` (`startPhones`, the same code) on LISTEN with extension 1000 (and 1001,
 * auto-answer), printing `listening …` once ready. On SIGUSR2 it collects garbage (when run with
 * `--expose-gc`) and prints `heap USED RSS` (bytes) and `sessions N` (CSTA sessions open on 1000).
 *
 * Usage: node --expose-gc --import tsx phone-process.ts udp:127.0.0.1:0
 */

import { startPhones } from '../../../src/cli/commands/phone.js';

const listen = process.argv[2] ?? 'udp:127.0.0.1:0';
const m = /^(udp|tcp):([^:]+):(\d+)$/.exec(listen);
if (m === null) {
  process.stderr.write('usage: phone-process.ts udp|tcp:HOST:PORT\n');
  process.exit(2);
}
const phones = await startPhones({
  listen: { transport: m[1] as 'udp' | 'tcp', host: m[2]!, port: Number(m[3]) },
  extension: '1000',
  count: 2,
  profile: 'generic',
  autoAnswer: true,
  media: 'none',
  dtmf: 'rfc4733',
});
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  process.stdout.write(`heap ${mem.heapUsed} ${mem.rss}\nsessions ${phones.phones[0]!.sessions}\n`);
});
const stop = (): void => {
  void phones.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`listening ${phones.banner}\n`);
