import { watchdogError } from './errors.js';
import { expireCheckouts } from '../checkout/checkouts.js';
import { releasePromoReservations } from '../promo-codes/index.js';
import type { Queryable } from '../db/index.js';

/**
 * Who owns each non-terminal state of every state machine, and how long a row may sit in it.
 *
 * The owner is a scheduled function that moves a row on when it has sat `redriveAfterSeconds`
 * (re-publishes its stage message, re-reads the provider, retries the side effect), idempotently.
 * Past `alertAfterSeconds` the watchdog (`reconcile`, every 5 minutes) raises one operator alert
 * per row and episode. `tests` check that every state the database allows is either terminal here or
 * owned, so a new state cannot be added without an owner. docs/reliability.md renders this table.
 */

const MINUTE = 60;
const HOUR = 3_600;
const DAY = 86_400;

export interface OwnedState {
  /** The function (scheduled) that re-drives rows in this state. */
  owner: string;
  /** What the owner does, for people. */
  redrive: string;
  /** How long a row sits before the owner acts; null when it acts on every run. */
  redriveAfterSeconds: number | null;
  /** How long a row may sit before one alert is raised. */
  alertAfterSeconds: number;
  /** For the operator: what it means and what to do. */
  alert: string;
  /** SQL: when the row entered the state (the age is measured from it). */
  since: string;
  /** SQL: the rows in this state (defaults to `<column> = '<state>'`). Name the table, no alias. */
  where?: string;
  /**
   * Owners that re-drive by re-publishing the row's own stage message: SQL matching the outbox row
   * `o` to the stuck row. The same message id goes out again, so a consumer that had applied it
   * does nothing (see `republishMessage`).
   */
  republishMatch?: string;
  /**
   * Owners that re-drive with one statement of the folder that owns the table: called with now and
   * now − redriveAfterSeconds, returns how many rows it moved on.
   */
  redriveStatement?: (db: Queryable, now: Date, cutoff: Date) => Promise<number>;
}

export interface StateMachine {
  name: string;
  /** The table whose rows move through the states. */
  table: string;
  /** The column that identifies a row (reported as text). */
  id: string;
  /** The state column, when the machine has one the database checks (`CHECK (column IN (…))`). */
  column?: string;
  /** Values of the column that need nobody. */
  terminal: readonly string[];
  /** Every other value (and derived conditions), with its owner. */
  states: Readonly<Record<string, OwnedState>>;
}

/** Status columns that are steady settings chosen by people, not work in progress. */
export const STEADY_STATUS_COLUMNS: Readonly<Record<string, string>> = {
  'accounts.status': 'an account is active, disabled or deleted by its owner or an operator; nothing is pending',
  'channels.status': 'a channel is pending, active, paused or deleted by its owner; nothing is pending on our side',
  'promo_codes.status': 'a promo code is active or archived by its owner; its uses are the promo_code_reservations machine',
};

const payoutStage = (redrive: string, alert: string): OwnedState => ({
  owner: 'track-payouts',
  redrive,
  redriveAfterSeconds: 10 * MINUTE,
  alertAfterSeconds: HOUR,
  alert,
  since: 'state_changed_at',
});

const swapStatus = (alertAfterSeconds: number, alert: string): OwnedState => ({
  owner: 'track-payouts',
  redrive: 'asks ChangeNow for the exchange status every tracking run (through its payout, awaiting_swap)',
  redriveAfterSeconds: null,
  alertAfterSeconds,
  alert,
  since: 'status_changed_at',
});

export const STATE_MACHINES: readonly StateMachine[] = [
  {
    name: 'payments',
    table: 'payments',
    id: 'id',
    column: 'status',
    // Finished is terminal for the status; its booking is the next machine.
    terminal: ['finished', 'failed', 'refunded', 'expired'],
    states: Object.fromEntries(
      (['waiting', 'confirming', 'confirmed', 'sending', 'partially_paid'] as const).map((status) => [
        status,
        {
          owner: 'reconcile',
          redrive: 're-reads the payment from NowPayments (GET /v1/payment/{id}) and applies it as an IPN',
          redriveAfterSeconds: 10 * MINUTE,
          alertAfterSeconds: 7 * DAY,
          alert: 'NowPayments has not finished this payment in 7 days; reconcile stops re-reading it. Look it up in the NowPayments dashboard.',
          since: 'created_at',
          where: `status = '${status}' AND settled_at IS NULL`,
        },
      ]),
    ) as Record<string, OwnedState>,
  },
  {
    name: 'payment_bookings',
    table: 'payments',
    id: 'id',
    terminal: [],
    states: {
      settled: {
        owner: 'reconcile',
        redrive: 're-publishes the payment-settled message (same message id: settle-payment applies it once)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A settled payment has no ledger settlement after an hour: look for its payment-settled dead letter.',
        since: 'settled_at',
        republishMatch: `o.dedupe_key = 'payment-settled:' || payments.id::text`,
        where: `settled_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = payments.id AND t.kind = 'payment_settled')`,
      },
      changed_after_settlement: {
        owner: 'reconcile',
        redrive: 're-publishes the payment-settled message the top-up or refund queued (settle-payment books whatever is missing)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A settled payment was topped up or refunded an hour ago and the ledger still lacks it: look for its payment-settled dead letter.',
        since: 'updated_at',
        republishMatch: `o.topic = 'payment-settled' AND o.payload->>'paymentId' = payments.id::text AND o.dedupe_key <> 'payment-settled:' || payments.id::text`,
        where: `booked_outcome_units IS NOT NULL AND ((status <> 'refunded' AND outcome_units > booked_outcome_units) OR (status = 'refunded' AND refund_booked_at IS NULL))`,
      },
    },
  },
  {
    name: 'checkouts',
    table: 'checkouts',
    id: 'id',
    column: 'status',
    terminal: ['paid', 'expired', 'cancelled'],
    states: {
      open: {
        owner: 'reconcile',
        redrive: 'marks open checkouts past their expiry expired (a late payment still pays them)',
        redriveAfterSeconds: 0,
        alertAfterSeconds: HOUR,
        alert: 'Open checkouts an hour past their expiry: reconcile is not running.',
        since: 'expires_at',
        redriveStatement: expireCheckouts,
      },
    },
  },
  {
    name: 'promo_code_reservations',
    table: 'promo_code_reservations',
    id: 'checkout_id',
    column: 'status',
    terminal: ['released', 'redeemed'],
    states: {
      reserved: {
        owner: 'reconcile',
        redrive: 'frees the use held by a checkout that expired or was cancelled unpaid (none of its payments still on its way)',
        redriveAfterSeconds: 0,
        // A payment in flight keeps its use up to the 7 days reconcile follows a payment.
        alertAfterSeconds: 8 * DAY,
        alert: 'A promo code use has been held 8 days: its checkout neither settled nor closed unpaid. Look at the checkout and its payments.',
        since: 'reserved_at',
        redriveStatement: (db, now) => releasePromoReservations(db, now),
      },
    },
  },
  {
    name: 'payouts',
    table: 'payouts',
    id: 'id',
    column: 'state',
    terminal: ['completed', 'failed', 'refunded', 'cancelled'],
    states: {
      requested: payoutStage(
        'publishes payout-requested again (quote-payout acts only on a requested payout)',
        'A payout has not been quoted in an hour: see quote-payout errors (ChangeNow or the chain unreachable?).',
      ),
      quoted: payoutStage(
        'publishes payout-quoted (swap) or transfer-requested (direct) again',
        'A quoted payout has not been sent in an hour: see create-swap / send-transfer errors (gas above the cap, hot wallet empty, ChangeNow down?).',
      ),
      swap_created: payoutStage(
        'publishes transfer-requested again (send-transfer signs once, re-broadcasts the stored bytes)',
        'A payout with its exchange created has not been sent in an hour: see send-transfer errors (gas above the cap, hot wallet empty?).',
      ),
      held: {
        owner: 'track-payouts',
        redrive: 'nothing to re-drive: waits for `npm run payouts -- approve|reject`',
        redriveAfterSeconds: null,
        alertAfterSeconds: DAY,
        alert: 'A payout over the outflow limits has waited a day for an operator: npm run payouts -- list.',
        since: 'state_changed_at',
      },
      deferred: {
        owner: 'track-payouts',
        redrive: 're-queues it to quote-payout when deferred_until has passed; after 24 deferrals it fails and the amount returns to its owners (alerted)',
        redriveAfterSeconds: HOUR,
        alertAfterSeconds: 2 * DAY,
        alert: 'A deferred payout outlived its deferrals: track-payouts is not running.',
        since: 'state_changed_at',
      },
      transfer_signed: {
        owner: 'track-payouts',
        redrive: 'asks send-transfer (transfer-requested) to broadcast the stored signed bytes; one request outstanding, asked again once it acted or after 10 min',
        redriveAfterSeconds: null,
        alertAfterSeconds: 30 * MINUTE,
        alert: 'A signed transfer has not been broadcast in 30 minutes: is the Ethereum node reachable?',
        since: 'state_changed_at',
      },
      transfer_broadcast: {
        owner: 'track-payouts',
        redrive: 'checks confirmations every run; a transaction the node forgot, or stalled 10 min, goes to send-transfer: re-broadcast, then replaced with the same nonce at a higher fee',
        redriveAfterSeconds: null,
        alertAfterSeconds: HOUR,
        alert: 'A broadcast transfer is not confirmed after an hour: dropped and capped by MAX_FEE_PER_GAS_GWEI, or a nonce conflict.',
        since: 'state_changed_at',
      },
      awaiting_swap: {
        owner: 'track-payouts',
        redrive: 'asks ChangeNow for the exchange status every run',
        redriveAfterSeconds: null,
        alertAfterSeconds: 2 * DAY,
        alert: 'A payout has waited two days for its exchange: contact ChangeNow support with the exchange id.',
        since: 'state_changed_at',
      },
      // Also alerted once on entry (payout.swap_needs_attention); this is the reminder a day on.
      needs_attention: {
        owner: 'track-payouts',
        redrive: 'asks ChangeNow for the failed exchange every run; completes or books the refund when their support settles it (amount held meanwhile)',
        redriveAfterSeconds: null,
        alertAfterSeconds: DAY,
        alert: 'ChangeNow has not settled a failed exchange in a day; its amount stays held: contact ChangeNow support with the exchange id (swaps.provider_exchange_id) and ask them to refund or complete it.',
        since: 'state_changed_at',
      },
    },
  },
  {
    name: 'swaps',
    table: 'swaps',
    id: 'id',
    column: 'status',
    terminal: ['finished', 'failed', 'refunded', 'expired'],
    states: {
      new: swapStatus(2 * HOUR, 'An exchange was created two hours ago and ChangeNow has not seen it move: is our deposit sent?'),
      waiting: swapStatus(2 * HOUR, 'ChangeNow has awaited our deposit for two hours although we sent it: give them the deposit hash.'),
      confirming: swapStatus(2 * HOUR, 'ChangeNow has been confirming our deposit for two hours.'),
      exchanging: swapStatus(6 * HOUR, 'ChangeNow has been exchanging for six hours.'),
      sending: swapStatus(6 * HOUR, 'ChangeNow has been sending the payout for six hours.'),
      verifying: swapStatus(DAY, 'ChangeNow holds the exchange for verification (AML) for a day: contact their support.'),
    },
  },
  {
    name: 'chain_transfers',
    table: 'chain_transfers',
    id: 'payout_id',
    column: 'status',
    terminal: ['confirmed', 'failed'],
    states: {
      signed: {
        owner: 'track-payouts',
        redrive: 'send-transfer re-broadcasts the stored bytes (asked through its payout, transfer_signed)',
        redriveAfterSeconds: null,
        alertAfterSeconds: 30 * MINUTE,
        alert: 'A signed transaction has not been broadcast in 30 minutes.',
        since: 'signed_at',
      },
      broadcast: {
        owner: 'track-payouts',
        redrive: 'confirmations; re-broadcast, then a same-nonce replacement when the node forgot it',
        redriveAfterSeconds: null,
        alertAfterSeconds: HOUR,
        alert: 'A broadcast transaction is not mined after an hour.',
        since: 'broadcast_at',
      },
    },
  },
  {
    name: 'conversion_batches',
    table: 'conversion_batches',
    id: 'id',
    column: 'state',
    terminal: ['distributed', 'failed'],
    states: {
      converting: {
        owner: 'track-payouts',
        redrive: 'follows its conversion payout; distributed or returned to the owners when the payout ends',
        redriveAfterSeconds: null,
        alertAfterSeconds: 3 * DAY,
        alert: 'A conversion batch has been converting for three days: see its payout.',
        since: 'created_at',
      },
    },
  },
  {
    name: 'subscriptions',
    table: 'subscriptions',
    id: 'id',
    column: 'status',
    terminal: [],
    states: {
      active: {
        owner: 'expire-subscriptions',
        redrive: "removes the member once expires_at plus the channel's grace period has passed (every minute)",
        redriveAfterSeconds: 0,
        alertAfterSeconds: HOUR,
        alert: 'A subscription ended (its grace period included) an hour ago and its member was not removed: expire-subscriptions is not running.',
        // Access ends after the grace period: a member inside it is not late for removal.
        since: `subscriptions.expires_at + make_interval(hours => (SELECT c.grace_period_hours FROM channels c WHERE c.id = subscriptions.channel_id))`,
        where: `status = 'active'`,
      },
      expired: {
        owner: 'expire-subscriptions',
        redrive: 'retries the removal with backoff until Telegram confirms it',
        redriveAfterSeconds: 0,
        alertAfterSeconds: DAY,
        alert: 'An expired member could not be removed for a day (see last_removal_error): remove them by hand.',
        since: 'expired_at',
        where: `status = 'expired' AND removed_at IS NULL`,
      },
    },
  },
  {
    name: 'invites',
    table: 'payments',
    id: 'id',
    terminal: [],
    states: {
      unsent: {
        owner: 'reconcile',
        redrive: 're-publishes invite-requested (same message id; send-invite makes one link per payment and sends it once)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A paid subscriber has had no invite link for an hour: see send-invite errors.',
        since: 'settled_at',
        republishMatch: `o.dedupe_key = 'invite-requested:' || payments.id::text`,
        where: `settled_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM subscription_periods sp WHERE sp.payment_id = payments.id)
          AND NOT EXISTS (SELECT 1 FROM invite_links l WHERE l.payment_id = payments.id AND (l.sent_at IS NOT NULL OR l.revoked_at IS NOT NULL))
          AND NOT EXISTS (SELECT 1 FROM checkouts k JOIN telegram_users u ON u.id = k.telegram_user_id
                           WHERE k.id = payments.checkout_id AND u.dm_blocked_at IS NOT NULL)`,
      },
    },
  },
  {
    name: 'trial_invites',
    table: 'trials',
    id: 'id',
    terminal: [],
    states: {
      unsent: {
        owner: 'reconcile',
        redrive: 're-publishes invite-requested (same message id; send-invite makes one link per trial and sends it once)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A free trial has had no invite link for an hour: see send-invite errors.',
        since: 'granted_at',
        republishMatch: `o.dedupe_key = 'invite-requested:' || trials.id::text`,
        where: `NOT EXISTS (SELECT 1 FROM invite_links l WHERE l.trial_id = trials.id AND (l.sent_at IS NOT NULL OR l.revoked_at IS NOT NULL))
          AND NOT EXISTS (SELECT 1 FROM telegram_users u WHERE u.id = trials.telegram_user_id AND u.dm_blocked_at IS NOT NULL)`,
      },
    },
  },
  {
    name: 'gifts',
    table: 'gifts',
    id: 'id',
    column: 'status',
    terminal: ['claimed', 'expired'],
    states: {
      pending: {
        owner: 'expire-subscriptions',
        redrive: 'expires the gift 30 days after its purchase and queues the buyer’s DM (every minute)',
        redriveAfterSeconds: 0,
        alertAfterSeconds: HOUR,
        alert: 'A gift is an hour past its 30 days and still pending: expire-subscriptions is not running.',
        since: 'expires_at',
        where: `status = 'pending'`,
      },
    },
  },
  {
    name: 'gift_invites',
    table: 'gifts',
    id: 'id',
    terminal: [],
    states: {
      unsent: {
        owner: 'reconcile',
        redrive: 're-publishes invite-requested (same message id; send-invite makes one link per claimed gift and sends it once)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A claimed gift has had no invite link for an hour: see send-invite errors.',
        since: 'claimed_at',
        republishMatch: `o.dedupe_key = 'invite-requested:' || gifts.id::text`,
        where: `status = 'claimed'
          AND NOT EXISTS (SELECT 1 FROM invite_links l WHERE l.gift_id = gifts.id AND (l.sent_at IS NOT NULL OR l.revoked_at IS NOT NULL))
          AND NOT EXISTS (SELECT 1 FROM telegram_users u WHERE u.id = gifts.claimed_by_telegram_user_id AND u.dm_blocked_at IS NOT NULL)`,
      },
    },
  },
  {
    name: 'owner_notifications',
    table: 'owner_notifications',
    id: 'id',
    column: 'status',
    terminal: ['sent', 'failed', 'skipped'],
    states: {
      pending: {
        owner: 'reconcile',
        redrive: 'publishes owner-notification-requested again (notify-owner sends once per dedupe key)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'An owner message has been pending for an hour: is Telegram reachable?',
        since: 'created_at',
        // Payment and payout news share the row's dedupe key; channel alerts key the row by kind, channel and subject.
        republishMatch: `o.topic = 'owner-notification-requested' AND o.payload->>'kind' = owner_notifications.kind
          AND o.payload->>'channelId' = owner_notifications.channel_id::text
          AND owner_notifications.dedupe_key IN (o.dedupe_key, owner_notifications.kind || ':' || owner_notifications.channel_id::text || ':' || (o.payload->>'subjectId'))`,
      },
    },
  },
  {
    name: 'subscriber_notifications',
    table: 'subscriber_notifications',
    id: 'id',
    column: 'status',
    terminal: ['sent', 'failed'],
    states: {
      pending: {
        owner: 'reconcile',
        redrive: 're-publishes its message (same message id, which is its dedupe key)',
        redriveAfterSeconds: 10 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A subscriber message has been pending for an hour: is Telegram reachable?',
        since: 'created_at',
        republishMatch: `o.message_id::text = subscriber_notifications.dedupe_key`,
        where: `subscriber_notifications.status = 'pending' AND subscriber_notifications.kind NOT IN ('renewal_reminder', 'subscription_grace_started')`,
      },
      // Renewal reminders and grace notices have no message: remind-subscribers claims and sends them itself.
      pending_notice: {
        owner: 'remind-subscribers',
        redrive: 'sends it again on a tick 5 minutes after its claim while it still makes sense; closes it as failed once renewed, overtaken, switched off or past the grace period',
        redriveAfterSeconds: 5 * MINUTE,
        alertAfterSeconds: HOUR,
        alert: 'A renewal reminder or grace-period notice has been pending for an hour (see last_error): is Telegram reachable, is remind-subscribers running?',
        since: 'created_at',
        where: `subscriber_notifications.status = 'pending' AND subscriber_notifications.kind IN ('renewal_reminder', 'subscription_grace_started')`,
      },
    },
  },
  {
    name: 'tier_posts',
    table: 'broadcast_schedules',
    id: 'channel_id',
    terminal: [],
    states: {
      due: {
        owner: 'broadcast-tiers',
        redrive: 'posts the tier buttons of every channel whose turn it is (every 5 minutes); a crashed run frees its channels when the 10-minute lease ends',
        redriveAfterSeconds: 0,
        alertAfterSeconds: HOUR,
        alert: "A channel's tier post is an hour overdue: is broadcast-tiers running (see its errors)?",
        since: 'next_run_at',
        where: `broadcast_schedules.is_enabled
          AND EXISTS (SELECT 1 FROM channels c WHERE c.id = broadcast_schedules.channel_id AND c.status = 'active' AND c.deleted_at IS NULL)`,
      },
    },
  },
  {
    name: 'owner_webhook_deliveries',
    table: 'owner_webhook_deliveries',
    id: 'id',
    column: 'state',
    terminal: ['delivered', 'failed'],
    states: {
      pending: {
        owner: 'retry-owner-webhooks',
        redrive: 'queues owner-webhook-requested for every due delivery each minute (again 5 minutes after its last message, or once a crashed delivery\'s lease lapsed); deliver-owner-webhook ends it delivered, or failed after 3 days',
        redriveAfterSeconds: null,
        alertAfterSeconds: 30 * MINUTE,
        alert: 'An owner webhook delivery is 30 minutes past its next attempt: is retry-owner-webhooks (or deliver-owner-webhook) running?',
        since: 'next_attempt_at',
      },
    },
  },
  {
    name: 'outbox',
    table: 'outbox',
    id: 'id',
    terminal: [],
    states: {
      unpublished: {
        owner: 'relay-outbox',
        redrive: 'publishes every unpublished row every minute',
        redriveAfterSeconds: null,
        alertAfterSeconds: 15 * MINUTE,
        alert: 'Outbox messages unpublished for 15 minutes: is Pub/Sub reachable (see outbox.last_error)?',
        since: 'coalesce(last_republished_at, created_at)',
        where: 'published_at IS NULL',
      },
    },
  },
];

/** The `where` of a state: its own, or `<column> = '<state>'`. */
export function stateCondition(machine: StateMachine, state: string): string {
  const owned = machine.states[state];
  if (owned?.where) return owned.where;
  if (!machine.column) throw watchdogError('state_owner_undeclared', `state ${machine.name}.${state} needs a where: its machine has no column`);
  return `${machine.table}.${machine.column} = '${state}'`;
}

/** The row's id as text, qualified by its table. */
export function idExpression(machine: StateMachine): string {
  return `${machine.table}.${machine.id}::text`;
}

/** The state's `since`, qualified by its table when it is a bare column (queries join other tables). */
export function sinceExpression(machine: StateMachine, owned: OwnedState): string {
  return /^[a-z_]+$/.test(owned.since) ? `${machine.table}.${owned.since}` : owned.since;
}

/** The owned state, for owners that read their own limits. @throws Error when it is not declared. */
export function ownedState(machineName: string, state: string): OwnedState {
  const owned = STATE_MACHINES.find((machine) => machine.name === machineName)?.states[state];
  if (!owned) throw watchdogError('state_owner_undeclared', `no owner is declared for ${machineName}.${state}`);
  return owned;
}

function formatSeconds(seconds: number | null): string {
  if (seconds === null) return 'every run';
  if (seconds === 0) return 'at once';
  if (seconds % DAY === 0) return `${seconds / DAY} d`;
  if (seconds % HOUR === 0) return `${seconds / HOUR} h`;
  return `${Math.round(seconds / MINUTE)} min`;
}

/** The owners table as docs/reliability.md shows it (a test keeps the two equal). */
export function renderStateOwnersTable(): string {
  const lines = ['| machine | state | owner | re-driven after | how | alert after |', '|---|---|---|---|---|---|'];
  for (const machine of STATE_MACHINES) {
    for (const [state, owned] of Object.entries(machine.states)) {
      lines.push(
        `| ${machine.name} | \`${state}\` | ${owned.owner} | ${formatSeconds(owned.redriveAfterSeconds)} | ${owned.redrive} | ${formatSeconds(owned.alertAfterSeconds)} |`,
      );
    }
  }
  return lines.join('\n');
}
