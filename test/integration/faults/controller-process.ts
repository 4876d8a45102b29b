/**
 * A controller as a process of its own, for the restart tests: it opens a uaCSTA session to
 * TARGET from udp:127.0.0.1:PORT, starts a monitor on DEVICE and prints `ready PORT REF`, then
 * prints one line per event (`event TYPE`) until it is killed.
 *
 * Usage: tsx controller-process.ts TARGET DEVICE PORT [session-timer-seconds]
 * With a session-timer interval the UA offers RFC 4028 timers and refreshes the session.
 */

import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaClient } from '../../../src/uacsta/client.js';

const [target, device, portText, timerText] = process.argv.slice(2);
if (target === undefined || device === undefined || portText === undefined) {
  process.stderr.write('usage: controller-process.ts TARGET DEVICE PORT [session-timer-seconds]\n');
  process.exit(2);
}
const timers = { T1: 50, T2: 200 };
const transport = await UdpTransport.listen({ host: '127.0.0.1', port: Number(portText) });
const endpoint = new SipEndpoint({ transports: [transport], timers });
const timerSec = timerText === undefined ? undefined : Number(timerText);
const ua = new UserAgent({
  endpoint,
  aor: 'sip:cti@127.0.0.1',
  contact: `sip:cti@127.0.0.1:${transport.local.port}`,
  timers,
  ...(timerSec === undefined ? {} : { sessionTimer: { expiresSec: timerSec, minSeSec: 1, refresher: 'uac' as const } }),
});
const channel = await openSipCstaChannel(ua, target);
const client = new CstaClient({ channel });
client.on('event', (e) => process.stdout.write(`event ${e.type}\n`));
const { monitorCrossRefID } = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
process.stdout.write(`ready ${transport.local.port} ${monitorCrossRefID}\n`);
setInterval(() => undefined, 60_000);
