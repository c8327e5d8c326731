import { describe, expect, it } from 'vitest';
import { decideAudit } from './audit-dependencies.js';

/** The shape of `npm audit --json` (npm 7+), trimmed to what the decision reads. */
function report(vulnerabilities: Record<string, { via: unknown[] }>): string {
  return JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: {} });
}
const advisory = (name: string, id: string, severity: string) => ({ source: 1, name, dependency: name, title: `${name} is vulnerable`, url: `https://github.com/advisories/${id}`, severity, range: '<1.0.0' });

describe('decideAudit', () => {
  it('skips, and says why, when the registry refuses the advisory endpoint (405 on these machines)', () => {
    const verdict = decideAudit(JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405 }), []);
    expect(verdict).toMatchObject({ kind: 'skipped' });
    expect(verdict.kind === 'skipped' && verdict.reason).toContain('405');
  });

  it('skips when npm printed nothing readable', () => {
    expect(decideAudit('', [])).toMatchObject({ kind: 'skipped' });
  });

  it('passes a clean report', () => {
    expect(decideAudit(report({}), [])).toMatchObject({ kind: 'passed', reported: [] });
  });

  it('fails on a high or critical advisory, not on a moderate one, counting a package reached through another once', () => {
    const verdict = decideAudit(
      report({
        jose: { via: [advisory('jose', 'GHSA-aaaa-bbbb-cccc', 'high')] },
        wrapper: { via: ['jose'] },
        qs: { via: [advisory('qs', 'GHSA-dddd-eeee-ffff', 'moderate')] },
      }),
      [],
    );
    expect(verdict).toMatchObject({ kind: 'failed', failing: [{ package: 'jose', advisory: 'GHSA-aaaa-bbbb-cccc', severity: 'high' }] });
    expect(verdict.kind === 'failed' && verdict.reported).toHaveLength(2);
  });

  it('lets an allowlisted advisory pass and names allowlist entries no longer reported', () => {
    const verdict = decideAudit(report({ jose: { via: [advisory('jose', 'GHSA-aaaa-bbbb-cccc', 'critical')] } }), [
      { advisory: 'GHSA-aaaa-bbbb-cccc', package: 'jose', reason: 'only the JWE path is affected and we sign JWS only' },
      { advisory: 'GHSA-gggg-hhhh-iiii', package: 'pg', reason: 'fixed upstream, kept until the lock file moves' },
    ]);
    expect(verdict).toMatchObject({ kind: 'passed', allowed: [{ package: 'jose' }], staleAllowlist: [{ package: 'pg' }] });
  });
});
