import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../accounts/index.js';
import { parsePublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { createSecretManagerStore, keyIdOf, loadSecretReader, rotatingSecret, type SecretStore } from '../secrets/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken, refreshCookieOf, TEST_DASHBOARD_ORIGIN } from '../testing/dashboard-api.js';
import { type FakeSecretManager, secretManagerClientOptions, startFakeSecretManager } from '../testing/fakes/secret-manager-server.js';
import { runSecretsCommand } from '../../scripts/secrets.js';

/**
 * Acceptance (issue 19): the JWT key rotates in Secret Manager (`npm run secrets -- rotate jwt-secret`)
 * under a stream of authenticated requests. Tokens signed with the old key pass during the overlap
 * and fail after it; none of the requests in between is refused; refresh tokens and mailed tokens
 * (random values stored hashed, no key involved) survive the rotation.
 */
const PROJECT = 'pgp-jwt-rotation';
const OLD = 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=';
const PASSWORD = 'correct horse battery';
const OVERLAP_SECONDS = 1800;
const SECOND = 1000;

let fake: FakeSecretManager;
let store: SecretStore;
let h: DashboardHarness;
const env = { SECRETS_SOURCE: 'secret-manager', GOOGLE_CLOUD_PROJECT: PROJECT };

beforeAll(async () => {
  fake = await startFakeSecretManager();
  fake.seed(PROJECT, 'jwt-secret', [OLD], { current: 1 });
  store = createSecretManagerStore({ projectId: PROJECT, clientOptions: secretManagerClientOptions(fake) });
  // As the function builds it: SECRETS_SOURCE=secret-manager, one reader per instance.
  h = await createDashboardHarness({ jwtSecret: loadSecretReader('JWT_SECRET', { store, logger: createLogger({ write: () => undefined }) }, env) });
});
afterAll(async () => {
  await h?.dispose();
  await fake?.close();
});

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const me = (token: string) => h.request('GET', '/me', { token });

async function signUpAndLogIn(email: string) {
  expect((await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD } })).status).toBe(202);
  await h.deliverMails();
  expect((await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) } })).status).toBe(200);
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  return { accessToken: login.json.accessToken as string, refreshToken: refreshCookieOf(login)! };
}

describe('JWT_SECRET rotation (Secret Manager, npm run secrets -- rotate)', () => {
  it('loses no request across the switch; the old key verifies during the overlap and not after', async () => {
    const owner = await signUpAndLogIn('rotation.owner@example.com');
    expect(kidOf(owner.accessToken)).toBe(keyIdOf(OLD));
    // A reset mail asked for before the rotation, used after it.
    await h.request('POST', '/auth/forgot-password', { body: { email: 'rotation.owner@example.com' } });
    await h.deliverMails();
    const resetToken = mailedToken(h.outbox, 'rotation.owner@example.com');

    const rotatedAt = h.clock.now();
    const rotation = await runSecretsCommand(['rotate', 'jwt-secret', '--overlap', String(OVERLAP_SECONDS)], { env, print: () => undefined, now: () => rotatedAt, store });
    expect(rotation).toBe(0);
    const NEW = fake.secret(PROJECT, 'jwt-secret')!.versions[1]!.value.toString('utf8');

    // A token another instance signed with the new key at once: this instance has the old key cached and
    // reloads on the unknown kid instead of refusing it (at most once per 10 s, so forged kids cannot flood Secret Manager).
    h.clock.advance(10 * SECOND);
    const fromOtherInstance = (await signAccessToken({ secret: NEW }, await subjectOf(owner.accessToken), h.clock.now())).token;
    expect((await me(fromOtherInstance)).status).toBe(200);

    // A stream across the switch: every 30 s, the token from before, a refreshed one and a fresh login.
    let access = owner.accessToken;
    let refresh = owner.refreshToken;
    const statuses: number[] = [];
    const kids = new Set<unknown>();
    const oldTokenExpiresAt = Number(decodeJwt(owner.accessToken).exp) * SECOND;
    for (let step = 0; step < 40; step++) {
      h.clock.advance(30 * SECOND);
      // Signed with the old key before the switch: passes until it expires on its own (15 minutes).
      const oldToken = (await me(owner.accessToken)).status;
      expect(oldToken).toBe(h.clock.now().getTime() < oldTokenExpiresAt ? 200 : 401);
      const refreshed = await h.request('POST', '/auth/session/refresh', { headers: { origin: TEST_DASHBOARD_ORIGIN, cookie: `__Secure-pgp_refresh=${refresh}` } });
      statuses.push(refreshed.status);
      access = refreshed.json.accessToken as string;
      refresh = refreshCookieOf(refreshed)!;
      kids.add(kidOf(access));
      statuses.push((await me(access)).status);
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(statuses).toHaveLength(80);
    expect(kids).toEqual(new Set([keyIdOf(NEW)]));

    // The mailed reset token, made before the rotation, still works.
    expect((await h.request('POST', '/auth/reset-password', { body: { token: resetToken, password: `${PASSWORD} again` } })).status).toBe(204);
    const again = await h.request('POST', '/auth/login', { body: { email: 'rotation.owner@example.com', password: `${PASSWORD} again` } });
    expect(kidOf(again.json.accessToken as string)).toBe(keyIdOf(NEW));
    const session = await subjectOf(again.json.accessToken as string);

    // During the overlap a fresh token signed with the old key passes…
    const oldKeyDuring = (await signAccessToken({ secret: rotatingSecret(OLD) }, session, h.clock.now())).token;
    expect((await me(oldKeyDuring)).status).toBe(200);
    // …and after it, an unexpired token signed with the old key fails; the new key goes on.
    h.clock.set(new Date(rotatedAt.getTime() + OVERLAP_SECONDS * SECOND));
    const oldKeyAfter = (await signAccessToken({ secret: OLD }, session, new Date(h.clock.now().getTime() - 60 * SECOND))).token;
    const refused = await me(oldKeyAfter);
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe('invalid_token');
    const newKeyAfter = (await signAccessToken({ secret: NEW }, session, h.clock.now())).token;
    expect((await me(newKeyAfter)).status).toBe(200);
  });
});

/** The account and session a token names (read without verifying: the test signs more tokens for them). */
async function subjectOf(token: string) {
  const claims = decodeJwt(token);
  return { accountId: parsePublicId('account', String(claims.sub)), sessionId: String(claims.sid) };
}
