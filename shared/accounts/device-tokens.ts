import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { acceptedVersions } from '../secrets/index.js';
import type { AccessTokenSettings } from './access-tokens.js';

/**
 * Device tokens ("device cookies", OWASP's answer to lockout as a denial of service): a browser that
 * logged in to an account gets a token naming a random device id, signed for that account. A login
 * that presents a valid token for the account it tries is a recognised client: its failures are
 * counted per device instead of per IP, and the address-wide limit for unrecognised clients does not
 * apply to it. So an attacker guessing from many IPs can exhaust the strangers' budget of an address,
 * but not the owner's browser.
 *
 * `<deviceId>.<issued, base-36 seconds>.<HMAC-SHA256(account id, device id, issued)>`, keyed by a key
 * derived from JWT_SECRET (so nothing is stored). Valid `DEVICE_TOKEN_TTL_SECONDS` from issue; each
 * login re-issues it with the same device id. A token names no account or address: the login names
 * the address and the token only says "this browser logged in to that account before".
 *
 * After a JWT_SECRET rotation, tokens made with the previous key are recognised until its overlap
 * ends; a browser that does not log in by then is a stranger again until its next login (it loses
 * only the lockout shelter, never access).
 */
export const DEVICE_TOKEN_TTL_SECONDS = 180 * 86_400;

/** For an unknown address the check still runs (same work), against an id no account has. */
export const NO_ACCOUNT_ID = '00000000-0000-0000-0000-000000000000';

const TOKEN = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$/;

export interface IssuedDeviceToken {
  token: string;
  deviceId: string;
  expiresAt: Date;
}

function keyOf(jwtSecret: string): Buffer {
  return createHmac('sha256', jwtSecret).update('paygateprime device token v1').digest();
}

function macOf(jwtSecret: string, accountId: string, deviceId: string, issued: string): Buffer {
  return createHmac('sha256', keyOf(jwtSecret)).update(`${accountId}.${deviceId}.${issued}`).digest();
}

/** A token for this browser and account; `deviceId` keeps the id of a token it already had. */
export function issueDeviceToken(settings: AccessTokenSettings, input: { accountId: string; now: Date; deviceId?: string }): IssuedDeviceToken {
  const deviceId = input.deviceId ?? randomBytes(16).toString('base64url');
  const issuedSeconds = Math.floor(input.now.getTime() / 1000);
  const issued = issuedSeconds.toString(36);
  const mac = macOf(acceptedVersions(settings.secret, input.now)[0]!.value, input.accountId, deviceId, issued).toString('base64url');
  return { token: `${deviceId}.${issued}.${mac}`, deviceId, expiresAt: new Date((issuedSeconds + DEVICE_TOKEN_TTL_SECONDS) * 1000) };
}

/**
 * The device id of `token` when it is a valid, unexpired token this server issued for `accountId`;
 * undefined otherwise (absent, malformed, another account's, forged, expired).
 */
export function recognisedDeviceId(settings: AccessTokenSettings, token: string | undefined, accountId: string, now: Date): string | undefined {
  const match = token === undefined ? null : TOKEN.exec(token);
  // Without a token the MAC is still computed, so a login costs the same with or without one.
  const [deviceId, issued, mac] = match ? [match[1]!, match[2]!, match[3]!] : ['', '0', ''];
  const given = Buffer.from(mac, 'base64url');
  // Every accepted key is tried, so the work does not depend on which one (if any) matches.
  let isValid = false;
  for (const key of acceptedVersions(settings.secret, now)) {
    const expected = macOf(key.value, accountId, deviceId, issued);
    if (given.length === expected.length && timingSafeEqual(given, expected)) isValid = true;
  }
  if (!match || !isValid) return undefined;
  const issuedMs = Number.parseInt(issued, 36) * 1000;
  if (issuedMs > now.getTime() + 60_000 || issuedMs + DEVICE_TOKEN_TTL_SECONDS * 1000 <= now.getTime()) return undefined;
  return deviceId;
}
