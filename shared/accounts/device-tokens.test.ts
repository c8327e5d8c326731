import { describe, expect, it } from 'vitest';
import { rotatingSecret } from '../secrets/index.js';
import { DEVICE_TOKEN_TTL_SECONDS, issueDeviceToken, recognisedDeviceId } from './device-tokens.js';

const SETTINGS = { secret: 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=' };
const ACCOUNT = '6f1d3c2a-9b8e-4d7f-8a6b-5c4d3e2f1a0b';
const OTHER = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const NOW = new Date('2026-03-01T12:00:00Z');

describe('device tokens', () => {
  it('recognise the browser they were issued to, for that account only', () => {
    const { token, deviceId } = issueDeviceToken(SETTINGS, { accountId: ACCOUNT, now: NOW });
    expect(recognisedDeviceId(SETTINGS, token, ACCOUNT, NOW)).toBe(deviceId);
    expect(recognisedDeviceId(SETTINGS, token, OTHER, NOW)).toBeUndefined();
    expect(recognisedDeviceId({ secret: 'gjU8NfTIPWhECGW1hgtrDdDvs4RStu/DryOVhs8KomY=' }, token, ACCOUNT, NOW)).toBeUndefined();
  });

  it('refuse tampered, malformed and missing tokens', () => {
    const { token } = issueDeviceToken(SETTINGS, { accountId: ACCOUNT, now: NOW });
    const [id, issued, mac] = token.split('.') as [string, string, string];
    const later = (Number.parseInt(issued, 36) + 86_400).toString(36);
    // The MAC's first character: all six of its bits count (the last one's low bits are padding, which
    // base64url decoding drops, so changing it to a neighbour could leave the same bytes).
    const otherMac = `${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    for (const bad of [`${id}.${later}.${mac}`, `${'A'.repeat(22)}.${issued}.${mac}`, `${id}.${issued}.${otherMac}`, token.slice(1), '', 'x', undefined]) {
      expect(recognisedDeviceId(SETTINGS, bad, ACCOUNT, NOW)).toBeUndefined();
    }
  });

  it('expire 180 days after issue; re-issuing keeps the device id', () => {
    const first = issueDeviceToken(SETTINGS, { accountId: ACCOUNT, now: NOW });
    const expiry = new Date(NOW.getTime() + DEVICE_TOKEN_TTL_SECONDS * 1000);
    expect(first.expiresAt).toEqual(expiry);
    expect(recognisedDeviceId(SETTINGS, first.token, ACCOUNT, new Date(expiry.getTime() - 1000))).toBe(first.deviceId);
    expect(recognisedDeviceId(SETTINGS, first.token, ACCOUNT, expiry)).toBeUndefined();
    const again = issueDeviceToken(SETTINGS, { accountId: ACCOUNT, now: expiry, deviceId: first.deviceId });
    expect(recognisedDeviceId(SETTINGS, again.token, ACCOUNT, expiry)).toBe(first.deviceId);
  });
});

describe('device tokens across a JWT_SECRET rotation', () => {
  const OLD = 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=';
  const NEW = 'gjU8NfTIPWhECGW1hgtrDdDvs4RStu/DryOVhs8KomY=';
  const until = new Date(NOW.getTime() + 3_600_000);
  const rotated = { secret: rotatingSecret(NEW, { value: OLD, until }) };

  it('recognises a token of the previous key until the overlap ends, and issues new ones with the current key', () => {
    const before = issueDeviceToken({ secret: OLD }, { accountId: ACCOUNT, now: NOW });
    expect(recognisedDeviceId(rotated, before.token, ACCOUNT, new Date(until.getTime() - 1))).toBe(before.deviceId);
    expect(recognisedDeviceId(rotated, before.token, ACCOUNT, until)).toBeUndefined();
    const after = issueDeviceToken(rotated, { accountId: ACCOUNT, now: NOW, deviceId: before.deviceId });
    expect(recognisedDeviceId({ secret: NEW }, after.token, ACCOUNT, NOW)).toBe(before.deviceId);
  });
});
