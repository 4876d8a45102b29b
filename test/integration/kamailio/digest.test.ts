/**
 * Digest against Kamailio (issue #5): REGISTER with SHA-256 and with MD5 (one Kamailio per
 * algorithm: its auth module takes one), and a wrong password refused without a retry loop.
 *
 * Kamailio is started from `test/kamailio/kamailio.cfg`; CI installs it (`.ci/run`), elsewhere
 * these tests are skipped when it is missing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hasKamailio, KAMAILIO_REALM, KAMAILIO_USERS, startKamailio, type KamailioAlgorithm } from '../../kamailio/kamailio.js';
import { digestFor, header, register, station, type Station } from './support.js';

const KAMAILIO = hasKamailio();
const SKIP_NOTE = '#5: skipped only when kamailio is not installed';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(algorithm: KamailioAlgorithm): Promise<{ kam: Awaited<ReturnType<typeof startKamailio>>; st: Station }> {
  const kam = await startKamailio(algorithm);
  cleanups.push(() => kam.stop());
  const st = await station();
  cleanups.push(() => st.endpoint.close());
  return { kam, st };
}

describe('REGISTER with digest against Kamailio', () => {
  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    it.skipIf(!KAMAILIO)(
      `registers with ${algorithm} digest after Kamailio's 401 (${SKIP_NOTE})`,
      async () => {
        const { kam, st } = await setup(algorithm);
        // Only the algorithm under test is allowed, so a 200 proves Kamailio verified it.
        const r = await register(st, kam, 'alice', digestFor('alice', KAMAILIO_USERS.alice, [algorithm]));

        expect(r.authError).toBeUndefined();
        expect(r.responses.map((x) => x.status)).toEqual([401, 200]);
        const challenge = header(r.responses[0]!, 'www-authenticate') ?? '';
        expect(challenge).toMatch(new RegExp(`realm="${KAMAILIO_REALM}"`));
        expect(challenge).toMatch(new RegExp(`algorithm=${algorithm}(,|$|\\s)`));
        expect(challenge).toMatch(/qop="?auth/);
        const credentials = header(r.requests[1]!, 'authorization') ?? '';
        expect(credentials).toMatch(new RegExp(`algorithm=${algorithm}(,|$|\\s)`));
        expect(credentials).toMatch(/username="alice"/);
        expect(credentials).toMatch(/qop=auth/);
        // The response digest is 64 hex digits for SHA-256, 32 for MD5.
        const digestLength = algorithm === 'SHA-256' ? 64 : 32;
        expect(credentials).toMatch(new RegExp(`response="[0-9a-f]{${digestLength}}"`));
        expect(r.requests[1]!.cseq.seq).toBe(2);
        // The 200 lists our binding.
        expect(header(r.responses[1]!, 'contact') ?? '').toContain(`sip:alice@127.0.0.1:${st.port}`);
        expect(st.problems).toEqual([]);
      },
      20_000,
    );

    it.skipIf(!KAMAILIO)(
      `refuses a wrong password with ${algorithm}: the client gives up with SIP_ERR_AUTH_REFUSED after the second 401 (${SKIP_NOTE})`,
      async () => {
        const { kam, st } = await setup(algorithm);
        const r = await register(st, kam, 'alice', digestFor('alice', 'not-the-password', [algorithm]));

        expect(r.responses.map((x) => x.status)).toEqual([401, 401]);
        expect(r.requests).toHaveLength(2);
        expect(r.authError?.code).toBe('SIP_ERR_AUTH_REFUSED');
        // The second challenge is not stale: the credentials were wrong, not old.
        expect(header(r.responses[1]!, 'www-authenticate') ?? '').not.toMatch(/stale=true/i);
        expect(st.problems).toEqual([]);
      },
      20_000,
    );
  }
});
