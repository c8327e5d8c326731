import { sameSet, sortedSet } from './gcloud.js';

/** The part of an IAM policy every API returns alike (Pub/Sub, Secret Manager, gcloud's JSON). */
export interface IamPolicyLike {
  bindings?: { role?: string | null; members?: string[] | null; condition?: unknown }[] | null;
  etag?: unknown;
}

/**
 * The policy with `role` held by exactly `members` (none: the binding removed), or undefined when it
 * already is: the deploy owns that role on that resource, so a member it does not derive is removed.
 */
export function withExactRole<P extends IamPolicyLike>(policy: P, role: string, members: readonly string[]): P | undefined {
  const bindings = policy.bindings ?? [];
  const current = bindings.filter((binding) => binding.role === role && !binding.condition).flatMap((binding) => binding.members ?? []);
  if (sameSet(current, members)) return undefined;
  const others = bindings.filter((binding) => binding.role !== role || binding.condition);
  return { ...policy, bindings: members.length > 0 ? [...others, { role, members: sortedSet(members) }] : others };
}
