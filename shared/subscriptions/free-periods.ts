import { enqueueMessage } from '../bus/index.js';
import type { Tx } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { recordOwnerWebhookEvents, subscriptionGrantEvent } from '../owner-webhooks/index.js';
import { type SubscriptionExtension, extendSubscription } from './extend.js';

/**
 * A period the user did not pay for themselves (a free trial, a claimed gift), in the caller's
 * transaction: the period (unique per grant), the one-time invite keyed by the grant (invite-requested
 * carries the grant's id in `paymentId`, see its schema) and the owner's `subscription.started/renewed`
 * webhook event. Settlement does the same three for a payment, with the payment's own news beside them.
 */
export async function grantFreePeriod(
  tx: Tx,
  input: { telegramUserId: bigint; channelId: string; ownerAccountId: string; grant: { kind: 'trial' | 'gift'; id: string }; durationDays: number; now: Date },
): Promise<SubscriptionExtension> {
  const { telegramUserId, channelId, grant, durationDays, now } = input;
  const extension = await extendSubscription(tx, { telegramUserId, channelId, grant, durationDays, now });
  await enqueueMessage(tx, 'invite-requested', { paymentId: grant.id }, { at: now, dedupeKey: `invite-requested:${grant.id}` });
  await recordOwnerWebhookEvents(tx, [
    subscriptionGrantEvent({
      accountId: input.ownerAccountId,
      channelPublicId: formatPublicId('channel', channelId),
      telegramUserId,
      grant,
      extension: { ...extension, subscriptionPublicId: formatPublicId('subscription', extension.subscriptionId) },
      at: now,
    }),
  ]);
  return extension;
}
