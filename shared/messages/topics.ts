import { ENCRYPTED_FIELD_PATTERN } from '../field-crypto/index.js';
import * as z from 'zod';

/**
 * One zod schema per Pub/Sub topic: the runtime source of truth for what a message holds.
 * `schemas/<topic>.avsc` is the same shape in Avro (flat, required fields, decimals as strings) so
 * Pub/Sub rejects a malformed publish; `topics.test.ts` proves the two agree.
 *
 * Messages carry ids, not authority: a consumer re-reads amounts, addresses and state from the
 * database and acts only if the row is in the state it expects.
 */

const Id = z.uuid();

/** A NowPayments payment became settled (finished, or within the channel's underpayment tolerance). */
export const PaymentSettledSchema = z.object({ paymentId: Id });
export type PaymentSettled = z.infer<typeof PaymentSettledSchema>;

/**
 * An access grant needs its one-time invite link delivered to the subscriber. `paymentId` names the
 * grant: a settled payment (payments.id), a trial (trials.id) or a claimed gift (gifts.id). The field
 * kept its name so messages already in flight stay valid; ids are uuids and never collide.
 */
export const InviteRequestedSchema = z.object({ paymentId: Id });
export type InviteRequested = z.infer<typeof InviteRequestedSchema>;

/** A payout row was created and waits for a quote. */
export const PayoutRequestedSchema = z.object({ payoutId: Id });
export type PayoutRequested = z.infer<typeof PayoutRequestedSchema>;

/** A payout was quoted for a swap and needs its ChangeNow exchange created. */
export const PayoutQuotedSchema = z.object({ payoutId: Id });
export type PayoutQuoted = z.infer<typeof PayoutQuotedSchema>;

/** A payout is ready for its one on-chain transfer (to the owner, or to the stored swap deposit address). */
export const TransferRequestedSchema = z.object({ payoutId: Id });
export type TransferRequested = z.infer<typeof TransferRequestedSchema>;

/** Something the channel owner should be told about; the consumer reads details by `subjectId`. */
export const OwnerNotificationRequestedSchema = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9_]*$/),
  channelId: Id,
  subjectId: z.string().min(1).max(128),
});
export type OwnerNotificationRequested = z.infer<typeof OwnerNotificationRequestedSchema>;

/** Something the subscriber should be told (payment problem, subscription ended). */
export const SubscriberNotificationRequestedSchema = z.object({
  kind: z.enum(['payment_underpaid', 'payment_expired', 'payment_failed', 'payment_refunded', 'subscription_expired', 'gift_ready', 'gift_expired']),
  /** The payment, for subscription_expired the subscription, for gift_ready and gift_expired the gift, the notification is about. */
  subjectId: Id,
});
export type SubscriberNotificationRequested = z.infer<typeof SubscriberNotificationRequestedSchema>;

/**
 * Mails to a dashboard account's owner. The consumer reads the account and, for mails with a link,
 * issues the one-time token itself, so a raw token never sits in the outbox or in Pub/Sub.
 */
export const ACCOUNT_MAIL_KINDS = [
  'verify_email',
  'signup_attempted',
  'reset_password',
  'password_changed',
  'email_change_requested',
  'email_changed',
  'account_deleted',
  'payout_wallet_changed',
  'channel_chats_changed',
  'channel_deleted',
  'telegram_linked',
  'webhook_endpoint_changed',
  'webhook_endpoint_disabled',
] as const;
export type AccountMailKind = (typeof ACCOUNT_MAIL_KINDS)[number];

export const AccountMailRequestedSchema = z.object({
  kind: z.enum(ACCOUNT_MAIL_KINDS),
  accountId: Id,
  /**
   * The other address the mail concerns: the requested new address (`email_change_requested`), the
   * previous address (`email_changed`, `account_deleted`: the account no longer holds it); '' otherwise.
   * Sealed with field encryption for `mail-address:<accountId>` (shared/field-crypto), so neither the
   * outbox row nor the message holds an address; `send-account-mail` opens it.
   * Avro has no optional field without a union, so "none" is the empty string.
   */
  address: z.union([z.literal(''), z.string().regex(ENCRYPTED_FIELD_PATTERN, 'must be an encrypted field (v1.<kid>.…)').max(1024)]),
});
export type AccountMailRequested = z.infer<typeof AccountMailRequestedSchema>;

/**
 * An operator alert was raised (`operator_alerts`, in the same transaction): notify-operator reads
 * the row and tells the operator's Telegram chat once. `alertId` is the row's id as a decimal string.
 */
export const OperatorAlertRequestedSchema = z.object({ alertId: z.string().regex(/^[1-9][0-9]{0,18}$/) });
export type OperatorAlertRequested = z.infer<typeof OperatorAlertRequestedSchema>;

/**
 * One owner webhook delivery is due (`owner_webhook_deliveries`): deliver-owner-webhook POSTs it if
 * it is still pending and due. Queued with the event, by a resend, and by the retry sweep.
 */
export const OwnerWebhookRequestedSchema = z.object({ deliveryId: Id });
export type OwnerWebhookRequested = z.infer<typeof OwnerWebhookRequestedSchema>;

/**
 * Post the tier buttons: `channelIds: []` is the scheduler's tick (every channel that is due);
 * the dashboard's "broadcast now" names its channel (5-minute cooldown, checked before queueing).
 */
export const BroadcastRequestedSchema = z.object({ job: z.string().regex(/^[a-z][a-z0-9-]*$/), channelIds: z.array(Id).max(100) });
export type BroadcastRequested = z.infer<typeof BroadcastRequestedSchema>;

/** The body every Cloud Scheduler job publishes: which job ticked. */
export const ScheduledTickSchema = z.object({ job: z.string().regex(/^[a-z][a-z0-9-]*$/) });
export type ScheduledTick = z.infer<typeof ScheduledTickSchema>;

/**
 * Topic name → message schema. Adding a topic means: a schema here, `schemas/<name>.avsc`, an entry
 * in `pubsub-topics.yaml`, and a fixture in `topics.test.ts`.
 */
export const TOPIC_SCHEMAS = {
  'payment-settled': PaymentSettledSchema,
  'invite-requested': InviteRequestedSchema,
  'payout-requested': PayoutRequestedSchema,
  'payout-quoted': PayoutQuotedSchema,
  'transfer-requested': TransferRequestedSchema,
  'owner-notification-requested': OwnerNotificationRequestedSchema,
  'subscriber-notification-requested': SubscriberNotificationRequestedSchema,
  'broadcast-requested': BroadcastRequestedSchema,
  'account-mail-requested': AccountMailRequestedSchema,
  'operator-alert-requested': OperatorAlertRequestedSchema,
  'owner-webhook-requested': OwnerWebhookRequestedSchema,
  'owner-webhook-retries-requested': ScheduledTickSchema,
  'outbox-relay-requested': ScheduledTickSchema,
  'subscription-expiry-requested': ScheduledTickSchema,
  'reconciliation-requested': ScheduledTickSchema,
  'payout-tracking-requested': ScheduledTickSchema,
  'conversion-requested': ScheduledTickSchema,
  'threshold-payouts-requested': ScheduledTickSchema,
  'hot-wallet-reconciliation-requested': ScheduledTickSchema,
  'renewal-reminders-requested': ScheduledTickSchema,
} as const;

export type TopicName = keyof typeof TOPIC_SCHEMAS;
export type TopicMessage<T extends TopicName> = z.infer<(typeof TOPIC_SCHEMAS)[T]>;

export function isTopicName(name: string): name is TopicName {
  return Object.hasOwn(TOPIC_SCHEMAS, name);
}

/** The Avro schema name registered in Pub/Sub for a topic (`gcloud pubsub schemas create`). */
export function avroSchemaFile(topic: TopicName): string {
  return `schemas/${topic}.avsc`;
}
