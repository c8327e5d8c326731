/**
 * `npm audit --omit=dev` for CI: fails on a high or critical advisory in a production dependency
 * unless `.ci/audit-allowlist.json` names it with a reason; says "skipped" (and passes) when the
 * registry does not answer the advisory endpoint, as the mirror on these machines does (405).
 *
 *   npx tsx scripts/audit-dependencies.ts
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';

const FAILING_SEVERITIES = new Set(['high', 'critical']);

const AllowlistSchema = z.array(
  z.object({
    /** The advisory's id as npm reports it: its GitHub advisory URL's last part (`GHSA-…`). */
    advisory: z.string().regex(/^GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/),
    package: z.string().min(1),
    /** Why it cannot reach us or cannot be fixed yet; reviewed when the list is touched. */
    reason: z.string().min(20),
  }),
);
export type AuditAllowlist = z.infer<typeof AllowlistSchema>;

export interface Advisory {
  advisory: string;
  package: string;
  severity: string;
  title: string;
}

export type AuditVerdict =
  | { kind: 'skipped'; reason: string }
  | { kind: 'passed'; allowed: Advisory[]; reported: Advisory[]; staleAllowlist: AuditAllowlist }
  | { kind: 'failed'; failing: Advisory[]; reported: Advisory[] };

const ReportSchema = z.object({
  vulnerabilities: z.record(
    z.string(),
    z.object({ via: z.array(z.union([z.string(), z.object({ name: z.string(), title: z.string(), url: z.string(), severity: z.string() })])) }),
  ),
});

/** Decides from `npm audit --json`'s output (npm 7+ report, or the error body when the endpoint refused). */
export function decideAudit(output: string, allowlist: AuditAllowlist): AuditVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return { kind: 'skipped', reason: 'npm audit printed no JSON report' };
  }
  const report = ReportSchema.safeParse(parsed);
  if (!report.success) {
    const error = parsed as { statusCode?: number; message?: string };
    return { kind: 'skipped', reason: `the registry does not answer the advisory endpoint (${error.statusCode ?? 'no status'}: ${String(error.message ?? 'unknown answer').slice(0, 160)})` };
  }
  const byId = new Map<string, Advisory>();
  for (const vulnerability of Object.values(report.data.vulnerabilities)) {
    for (const via of vulnerability.via) {
      if (typeof via === 'string') continue; // reached through another package, reported under its own name
      const advisory = via.url.split('/').at(-1) ?? via.url;
      byId.set(`${advisory}:${via.name}`, { advisory, package: via.name, severity: via.severity, title: via.title });
    }
  }
  const reported = [...byId.values()];
  const isAllowed = (found: Advisory) => allowlist.some((entry) => entry.advisory === found.advisory && entry.package === found.package);
  const failing = reported.filter((found) => FAILING_SEVERITIES.has(found.severity) && !isAllowed(found));
  if (failing.length > 0) return { kind: 'failed', failing, reported };
  const staleAllowlist = allowlist.filter((entry) => !reported.some((found) => found.advisory === entry.advisory && found.package === entry.package));
  return { kind: 'passed', allowed: reported.filter(isAllowed), reported, staleAllowlist };
}

function main(): void {
  const allowlist = AllowlistSchema.parse(JSON.parse(readFileSync(new URL('../.ci/audit-allowlist.json', import.meta.url), 'utf8')));
  const audit = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const verdict = decideAudit(audit.stdout ?? '', allowlist);
  if (verdict.kind === 'skipped') {
    console.log(`npm audit: skipped, ${verdict.reason}`);
    return;
  }
  for (const found of verdict.reported) console.log(`npm audit: ${found.severity} ${found.package} ${found.advisory} ${found.title}`);
  if (verdict.kind === 'failed') {
    console.error(`npm audit: ${verdict.failing.length} high or critical advisory(ies) not in .ci/audit-allowlist.json: ${verdict.failing.map((found) => `${found.package} ${found.advisory}`).join(', ')}`);
    process.exitCode = 1;
    return;
  }
  for (const entry of verdict.staleAllowlist) console.log(`npm audit: allowlist entry ${entry.package} ${entry.advisory} is no longer reported; remove it`);
  console.log(`npm audit: passed (${verdict.reported.length} advisories, ${verdict.allowed.length} allowed)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
