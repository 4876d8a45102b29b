/**
 * This project's SIP stack (`SipEndpoint` on `UdpTransport` / `TcpTransport`) answering the load
 * of `test/sipp/uac-info.xml`: the "uacsta UAS" row of `npm run bench` (performance.md G2).
 * Contract and usage: `common.ts`.
 *
 * @remarks
 * The server itself is `startUacstaUas` of `test/integration/sipp/uacsta-uas.ts`, shared with
 * the SIPp interop tests (issue #4): a bench server, not a UA, with constant CSTA answers and no
 * codec, so the row measures transport, parse, transaction layer and serialization. Here it runs
 * as its own process on the port the bench gives, without the trace watch.
 */
import { startUacstaUas } from '../../integration/sipp/uacsta-uas.js';
import { serverArgs } from './common.js';

const { transport, port } = serverArgs();
const uas = await startUacstaUas({ transport, port, recordInfos: false });

process.once('SIGTERM', () => {
  void uas.close().then(() => process.exit(0));
});
