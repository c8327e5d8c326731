import { enqueueMessages, type OutboxMessage, outboxMessage } from '../bus/index.js';
import type { Tx } from '../db/index.js';

/** What the owner hears about a payout; notify-owner composes the text from the payout row. */
export type PayoutNoticeKind = 'payout_completed' | 'payout_failed' | 'payout_held';

/**
 * Queues the owner's message about a payout in the transaction that moved it, so the message goes
 * out exactly when the state change commits. A conversion payout (no channel) has no owner to tell.
 */
export async function queuePayoutNotice(tx: Tx, payout: { id: string; channelId: string | null }, kind: PayoutNoticeKind, at: Date): Promise<void> {
  await enqueueMessages(tx, payoutNotices(payout, kind, at));
}

/** `queuePayoutNotice`'s message, for a caller that writes it with the move (`transitionPayout`'s `queue`): none without a channel. */
export function payoutNotices(payout: { id: string; channelId: string | null }, kind: PayoutNoticeKind, at: Date): OutboxMessage[] {
  if (!payout.channelId) return [];
  return [outboxMessage('owner-notification-requested', { kind, channelId: payout.channelId, subjectId: payout.id }, { at, dedupeKey: `${kind}:${payout.id}` })];
}
