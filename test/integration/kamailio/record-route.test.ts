/**
 * Through Kamailio as a record-routing proxy (issue #5): two of our user agents register with
 * Kamailio, A INVITEs B through it with a CSTA body (no SDP), and every in-dialog request (ACK,
 * INFO both ways, BYE) then goes through Kamailio, carrying the Route it record-routed. Kamailio
 * challenges the INVITE and every in-dialog INFO with 407; the user agents' DigestClient retries.
 *
 * Kamailio is started from `test/kamailio/kamailio.cfg`; CI installs it (`.ci/run`), elsewhere
 * these tests are skipped when it is missing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import type { DialogHandle } from '../../../src/sip/ua/user-agent.js';
import { hasKamailio, KAMAILIO_REALM, KAMAILIO_USERS, startKamailio, type RunningKamailio } from '../../kamailio/kamailio.js';
import { CSTA, digestFor, header, register, station, until, userAgent, type Station, type Wire } from './support.js';

const KAMAILIO = hasKamailio();
const SKIP_NOTE = '#5: skipped only when kamailio is not installed';
const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed4';
const RSS = `<RequestSystemStatus xmlns="${NS}"/>`;
const RSS_RESPONSE = `<RequestSystemStatusResponse xmlns="${NS}"><systemStatus>normal</systemStatus></RequestSystemStatusResponse>`;
const MAKE_CALL = `<MakeCall xmlns="${NS}"><callingDevice>alice</callingDevice><calledDirectoryNumber>bob</calledDirectoryNumber></MakeCall>`;
const DELIVERED = `<DeliveredEvent xmlns="${NS}"/>`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function body(m: { body: Uint8Array | string }): string {
  return typeof m.body === 'string' ? m.body : Buffer.from(m.body).toString('utf8');
}

interface Call {
  readonly kam: RunningKamailio;
  readonly a: Station;
  readonly b: Station;
  readonly aDialog: DialogHandle;
  readonly bDialog: DialogHandle;
  readonly aSeen: SipRequest[];
  readonly bSeen: SipRequest[];
}

/** Kamailio, A (alice) and B (bob) registered, and a confirmed dialog A → B through Kamailio. */
async function call(): Promise<Call> {
  const kam = await startKamailio('SHA-256');
  cleanups.push(() => kam.stop());
  const a = await station();
  const b = await station();
  cleanups.push(() => a.endpoint.close(), () => b.endpoint.close());
  for (const [st, user] of [[a, 'alice'], [b, 'bob']] as const) {
    const r = await register(st, kam, user, digestFor(user, KAMAILIO_USERS[user]));
    expect(r.responses.map((x) => x.status)).toEqual([401, 200]);
  }
  const aUa = userAgent(a, kam, 'alice', digestFor('alice', KAMAILIO_USERS.alice));
  const bUa = userAgent(b, kam, 'bob', digestFor('bob', KAMAILIO_USERS.bob));
  cleanups.push(() => aUa.close(), () => bUa.close());
  const aSeen: SipRequest[] = [];
  const bSeen: SipRequest[] = [];
  let bDialog: DialogHandle | undefined;
  bUa.onInvite((invite, dialog) => {
    bDialog = dialog;
    bSeen.push(invite);
    dialog.onRequest((req) => {
      bSeen.push(req);
      return { status: 200, body: `<MakeCallResponse xmlns="${NS}"/>`, contentType: CSTA };
    });
    return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
  });
  const aDialog = await aUa.invite(`sip:bob@${kam.host}:${kam.port}`, {
    body: RSS,
    contentType: CSTA,
    onRequest: (req) => {
      aSeen.push(req);
      return { status: 200 };
    },
  });
  // The ACK for the 2xx reaches B through Kamailio.
  await until(() => b.wire.some((w) => w.dir === 'in' && w.message.kind === 'request' && w.message.method === 'ACK'));
  return { kam, a, b, aDialog, bDialog: bDialog!, aSeen, bSeen };
}

function requests(st: Station, dir: Wire['dir'], method: string): Array<Wire & { message: SipRequest }> {
  return st.wire.filter(
    (w): w is Wire & { message: SipRequest } =>
      w.dir === dir && w.message.kind === 'request' && w.message.method === method,
  );
}

/** Final responses only (Kamailio's tm sends 100 Trying to INVITE). */
function responses(st: Station, dir: Wire['dir'], method: string): Array<Wire & { message: SipResponse }> {
  return st.wire.filter(
    (w): w is Wire & { message: SipResponse } =>
      w.dir === dir &&
      w.message.kind === 'response' &&
      w.message.status >= 200 &&
      w.message.cseq.method === method,
  );
}

describe('through Kamailio as a record-routing proxy', () => {
  it.skipIf(!KAMAILIO)(
    `keeps Kamailio in the path of ACK, INFO A→B, INFO B→A and BYE of a dialog set up through it (${SKIP_NOTE})`,
    async () => {
      const { kam, a, b, aDialog, bDialog, aSeen, bSeen } = await call();
      const kamAddr = { protocol: 'udp', host: kam.host, port: kam.port };
      const routeRe = new RegExp(`^<sip:127\\.0\\.0\\.1:${kam.port};[^>]*\\blr\\b[^>]*>$`);

      // The INVITE reached B from Kamailio, record-routed by it, with the CSTA body and no SDP.
      const invite = requests(b, 'in', 'INVITE');
      expect(invite).toHaveLength(1);
      expect(invite[0]!.peer).toEqual(kamAddr);
      expect(header(invite[0]!.message, 'record-route')).toMatch(routeRe);
      expect(header(invite[0]!.message, 'content-type')).toBe(CSTA);
      expect(body(invite[0]!.message)).toBe(RSS);
      expect(invite[0]!.message.headers['proxy-authorization']).toBeUndefined();
      // A's INVITE was challenged once and retried with credentials.
      expect(responses(a, 'in', 'INVITE').map((w) => w.message.status)).toEqual([407, 200]);

      const infoAB = await aDialog.request('INFO', { body: MAKE_CALL, contentType: CSTA });
      expect(infoAB.status).toBe(200);
      const infoBA = await bDialog.request('INFO', { body: DELIVERED, contentType: CSTA });
      expect(infoBA.status).toBe(200);
      const ended = new Promise((resolve) => bDialog.onTerminated(resolve));
      await aDialog.bye();
      await ended;

      // Every in-dialog request left its UA for Kamailio with Kamailio's Route, Request-URI the
      // peer's contact, and arrived at the peer from Kamailio.
      const inDialog: Array<[Station, Station, string, string]> = [
        [a, b, 'ACK', `sip:bob@127.0.0.1:${b.port}`],
        [a, b, 'INFO', `sip:bob@127.0.0.1:${b.port}`],
        [b, a, 'INFO', `sip:alice@127.0.0.1:${a.port}`],
        [a, b, 'BYE', `sip:bob@127.0.0.1:${b.port}`],
      ];
      // The dialog's to-tag, to tell the ACK for the 2xx from the transaction's ACK for the 407.
      const bTag = responses(a, 'in', 'INVITE').find((w) => w.message.status === 200)?.message.to.params['tag'];
      expect(bTag).toBeTruthy();
      const ofDialog = (w: Wire & { message: SipRequest }): boolean =>
        w.message.callId === aDialog.callId &&
        (w.message.to.params['tag'] === bTag || w.message.from.params['tag'] === bTag);
      for (const [from, to, method, uri] of inDialog) {
        const out = requests(from, 'out', method).filter(ofDialog);
        expect(out.length, `${method} sent`).toBeGreaterThan(0);
        for (const w of out) {
          expect(w.peer, `${method} sent to Kamailio`).toEqual(kamAddr);
          expect(w.message.uri).toBe(uri);
          expect(w.message.headers['route'], `${method} Route`).toHaveLength(1);
          expect(header(w.message, 'route')).toMatch(routeRe);
        }
        const arrived = requests(to, 'in', method).filter(ofDialog);
        expect(arrived.length, `${method} arrived`).toBeGreaterThan(0);
        for (const w of arrived) {
          expect(w.peer, `${method} came from Kamailio`).toEqual(kamAddr);
          // Kamailio consumed its own Route entry and the credentials meant for it.
          expect(w.message.headers['route']).toBeUndefined();
          expect(w.message.headers['proxy-authorization']).toBeUndefined();
          expect(w.message.via.length, `${method} Via count`).toBe(2);
        }
      }
      // Nothing went directly between A and B.
      for (const [st, other] of [[a, b], [b, a]] as const) {
        expect(st.wire.filter((w) => w.peer.port === other.port)).toEqual([]);
      }
      expect(bSeen.map((r) => r.method)).toEqual(['INVITE', 'INFO']);
      expect(body(bSeen[1]!)).toBe(MAKE_CALL);
      expect(aSeen.map((r) => r.method)).toEqual(['INFO']);
      expect(body(aSeen[0]!)).toBe(DELIVERED);
      expect(aDialog.termination?.reason).toBe('bye-sent');
      expect(bDialog.termination?.reason).toBe('bye-received');
      expect([...a.problems, ...b.problems]).toEqual([]);
    },
    20_000,
  );

  it.skipIf(!KAMAILIO)(
    `retries an in-dialog INFO that Kamailio challenged with 407 and gets it through (${SKIP_NOTE})`,
    async () => {
      const { a, b, aDialog, bSeen } = await call();
      const before = requests(a, 'out', 'INFO').length;

      const res = await aDialog.request('INFO', { body: MAKE_CALL, contentType: CSTA });
      expect(res.status).toBe(200);

      const sent = requests(a, 'out', 'INFO').slice(before).map((w) => w.message);
      expect(sent).toHaveLength(2);
      const [first, retry] = sent as [SipRequest, SipRequest];
      expect(first.headers['proxy-authorization']).toBeUndefined();
      const challenges = responses(a, 'in', 'INFO').map((w) => w.message);
      expect(challenges.map((r) => r.status)).toEqual([407, 200]);
      const challenge = header(challenges[0]!, 'proxy-authenticate') ?? '';
      expect(challenge).toMatch(new RegExp(`realm="${KAMAILIO_REALM}"`));
      expect(challenge).toMatch(/algorithm=SHA-256/);
      // The retry: same dialog, next CSeq, new branch, credentials for the INFO's Request-URI.
      expect(retry.callId).toBe(first.callId);
      expect(retry.from.params['tag']).toBe(first.from.params['tag']);
      expect(retry.to.params['tag']).toBe(first.to.params['tag']);
      expect(retry.cseq).toEqual({ seq: first.cseq.seq + 1, method: 'INFO' });
      expect(retry.via[0]?.branch).not.toBe(first.via[0]?.branch);
      const credentials = header(retry, 'proxy-authorization') ?? '';
      expect(credentials).toMatch(/username="alice"/);
      expect(credentials).toMatch(/algorithm=SHA-256/);
      expect(credentials).toContain(`uri="${first.uri}"`);
      // B got the INFO once, from Kamailio, without the credentials.
      const arrived = requests(b, 'in', 'INFO');
      expect(arrived).toHaveLength(1);
      expect(arrived[0]!.message.cseq.seq).toBe(retry.cseq.seq);
      expect(bSeen.filter((r) => r.method === 'INFO')).toHaveLength(1);
      expect([...a.problems, ...b.problems]).toEqual([]);
    },
    20_000,
  );
});
