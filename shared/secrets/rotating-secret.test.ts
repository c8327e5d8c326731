import { describe, expect, it } from 'vitest';
import { acceptedVersions, keyIdOf, matchingVersion, rotatingSecret } from './index.js';

const CURRENT = 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=';
const PREVIOUS = 'Vc_Nw498i0I3lSzKHIeJVFwZ4V43u0FRVSn4qCRZGpQ';
const UNTIL = new Date('2026-12-07T10:00:00Z');

describe('keyIdOf', () => {
  it('names a value by a short hash prefix that does not contain it', () => {
    expect(keyIdOf(CURRENT)).toMatch(/^k[A-Za-z0-9_-]{10}$/);
    expect(keyIdOf(CURRENT)).toBe(keyIdOf(CURRENT));
    expect(keyIdOf(CURRENT)).not.toBe(keyIdOf(PREVIOUS));
    expect(CURRENT).not.toContain(keyIdOf(CURRENT).slice(1));
  });
});

describe('acceptedVersions', () => {
  const ring = rotatingSecret(CURRENT, { value: PREVIOUS, until: UNTIL });

  it('accepts current first, then previous until the overlap ends (exclusive)', () => {
    expect(acceptedVersions(ring, new Date(UNTIL.getTime() - 1)).map((version) => version.role)).toEqual(['current', 'previous']);
    expect(acceptedVersions(ring, UNTIL).map((version) => version.role)).toEqual(['current']);
  });

  it('drops a previous value equal to the current one, and reads a plain string as a secret that never rotated', () => {
    expect(rotatingSecret(CURRENT, { value: CURRENT, until: UNTIL }).previous).toBeUndefined();
    expect(acceptedVersions(CURRENT, UNTIL)).toEqual([{ value: CURRENT, kid: keyIdOf(CURRENT), role: 'current' }]);
  });
});

describe('matchingVersion', () => {
  const accepted = acceptedVersions(rotatingSecret(CURRENT, { value: PREVIOUS, until: UNTIL }), new Date('2026-12-07T09:00:00Z'));

  it.each([
    ['the current value', CURRENT, 'current'],
    ['the previous value', PREVIOUS, 'previous'],
    ['another value', `${CURRENT}x`, undefined],
    ['a prefix', CURRENT.slice(0, 10), undefined],
    ['an empty value', '', undefined],
    ['no value', undefined, undefined],
  ])('finds %s', (_name, given, role) => {
    expect(matchingVersion(given, accepted)?.role).toBe(role);
  });
});
