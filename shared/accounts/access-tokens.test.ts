import { decodeProtectedHeader, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { keyIdOf, rotatingSecret } from '../secrets/index.js';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, signAccessToken, verifyAccessToken } from './access-tokens.js';

const OLD = 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=';
const NEW = 'Vc_Nw498i0I3lSzKHIeJVFwZ4V43u0FRVSn4qCRZGpQ';
const NOW = new Date('2026-12-06T10:00:00Z');
const UNTIL = new Date('2026-12-06T11:00:00Z');
const SUBJECT = { accountId: '0b0b4a4e-5a62-4d5e-9a53-6f0b6f3c1a01', sessionId: '6c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' };
const ROTATED = rotatingSecret(NEW, { value: OLD, until: UNTIL });

describe('access tokens with rotating keys', () => {
  it('signs with the current key and names it in the kid header', async () => {
    const { token } = await signAccessToken({ secret: ROTATED }, SUBJECT, NOW);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', kid: keyIdOf(NEW) });
    expect(await verifyAccessToken({ secret: ROTATED }, token, NOW)).toEqual(SUBJECT);
  });

  it('verifies a token of the previous key until the overlap ends, then refuses it', async () => {
    const { token } = await signAccessToken({ secret: OLD }, SUBJECT, new Date(UNTIL.getTime() - 60_000));
    expect(await verifyAccessToken({ secret: ROTATED }, token, new Date(UNTIL.getTime() - 1))).toEqual(SUBJECT);
    await expect(verifyAccessToken({ secret: ROTATED }, token, UNTIL)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('verifies a token without kid (issued before kids) with any accepted key, and still reports expiry', async () => {
    const legacy = (secret: string, issuedAt: Date) =>
      new SignJWT({ sid: SUBJECT.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(formatPublicId('account', SUBJECT.accountId))
        .setJti('legacy')
        .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
        .setExpirationTime(Math.floor(issuedAt.getTime() / 1000) + 900)
        .sign(new TextEncoder().encode(secret));
    expect(await verifyAccessToken({ secret: ROTATED }, await legacy(OLD, NOW), NOW)).toEqual(SUBJECT);
    expect(await verifyAccessToken({ secret: ROTATED }, await legacy(NEW, NOW), NOW)).toEqual(SUBJECT);
    await expect(verifyAccessToken({ secret: ROTATED }, await legacy(OLD, NOW), new Date(NOW.getTime() + 901_000))).rejects.toMatchObject({ code: 'token_expired' });
    await expect(verifyAccessToken({ secret: ROTATED }, await legacy('another-key-entirely-0123456789abcdef', NOW), NOW)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('reloads the keys once for a kid it does not know, and refuses when nothing new was found', async () => {
    const { token } = await signAccessToken({ secret: NEW }, SUBJECT, NOW);
    let reloads = 0;
    const reload = async () => {
      reloads++;
      return ROTATED;
    };
    expect(await verifyAccessToken({ secret: OLD, reload }, token, NOW)).toEqual(SUBJECT);
    await expect(verifyAccessToken({ secret: OLD, reload: async () => undefined }, token, NOW)).rejects.toMatchObject({ code: 'invalid_token' });
    // A known kid never triggers a reload.
    await verifyAccessToken({ secret: ROTATED, reload }, token, NOW);
    expect(reloads).toBe(1);
  });
});
