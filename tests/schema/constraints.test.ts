import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/db/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../../shared/ledger/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../../shared/testing/database.js';
import {
  FIXTURE_NOW,
  creditOwner,
  insertAccount,
  insertChainTransfer,
  insertChannel,
  insertCheckout,
  insertConversionBatch,
  insertPayment,
  insertPayout,
  insertSubscription,
  insertSwap,
  insertTelegramUser,
  insertTier,
  randomChatId,
  randomEvmAddress,
} from '../../shared/testing/fixtures.js';

// Each row here is a way the legacy system lost money or data (reference F §1, §5; B §11; C §9),
// and the database itself must refuse it, whatever code writes the row.


const sha256 = (text: string) => createHash('sha256').update(text).digest();
const DAY_MS = 86_400_000;

interface RefusalCase {
  name: string;
  run: (db: Db) => Promise<unknown>;
  code: string;
  constraint?: string;
}

const refusals: RefusalCase[] = [
  // Payments and checkouts
  {
    name: 'a second payment with the same provider payment id',
    run: async (db) => {
      const first = await insertPayment(db);
      await insertPayment(db, { providerPaymentId: first.providerPaymentId });
    },
    code: '23505',
    constraint: 'payments_provider_provider_payment_id_key',
  },
  {
    name: 'a second open checkout for the same user, channel and tier',
    run: async (db) => {
      const checkout = await insertCheckout(db);
      await insertCheckout(db, {
        telegramUserId: checkout.telegramUserId,
        channelId: checkout.channelId,
        tierId: checkout.tierId ?? undefined,
      });
    },
    code: '23505',
    constraint: 'checkouts_one_open_idx',
  },
  {
    name: 'a second open donation checkout for the same user and channel',
    run: async (db) => {
      const checkout = await insertCheckout(db, { kind: 'donation' });
      await insertCheckout(db, { kind: 'donation', telegramUserId: checkout.telegramUserId, channelId: checkout.channelId });
    },
    code: '23505',
    constraint: 'checkouts_one_open_idx',
  },
  {
    name: 'a donation checkout with a tier',
    run: async (db) => {
      const tier = await insertTier(db);
      const user = await insertTelegramUser(db);
      await db.query(
        `INSERT INTO checkouts (kind, telegram_user_id, channel_id, tier_id, price_cents, expires_at)
         VALUES ('donation', $1, $2, $3, 500, now() + interval '1 hour')`,
        [user.id.toString(), tier.channelId, tier.id],
      );
    },
    code: '23514',
    constraint: 'checkouts_tier_matches_kind',
  },
  {
    name: 'a checkout for a tier of another channel',
    run: async (db) => {
      const tier = await insertTier(db);
      await insertCheckout(db, { tierId: tier.id, channelId: (await insertChannel(db)).id });
    },
    code: '23503',
    constraint: 'checkouts_tier_id_channel_id_fkey',
  },
  {
    name: 'a payment status outside the NowPayments vocabulary',
    run: async (db) => {
      const payment = await insertPayment(db);
      await db.query(`UPDATE payments SET status = 'paid' WHERE id = $1`, [payment.id]);
    },
    code: '23514',
    constraint: 'payments_status_check',
  },
  {
    name: 'a payment status going backwards (late confirming IPN after confirmed)',
    run: async (db) => {
      const payment = await insertPayment(db, { status: 'confirmed' });
      await db.query(`UPDATE payments SET status = 'confirming' WHERE id = $1`, [payment.id]);
    },
    code: '23514',
    constraint: 'payments_status_forward_only',
  },
  {
    name: 'a finished payment turning failed',
    run: async (db) => {
      const payment = await insertPayment(db, { status: 'finished' });
      await db.query(`UPDATE payments SET status = 'failed' WHERE id = $1`, [payment.id]);
    },
    code: '23514',
    constraint: 'payments_status_forward_only',
  },
  {
    name: 'moving a settlement time (settling twice)',
    run: async (db) => {
      const payment = await insertPayment(db, { status: 'finished', isSettled: true });
      await db.query(`UPDATE payments SET settled_at = settled_at + interval '1 minute' WHERE id = $1`, [payment.id]);
    },
    code: '23514',
    constraint: 'payments_settled_once',
  },
  {
    name: 'a negative outcome amount',
    run: async (db) => {
      const payment = await insertPayment(db);
      await db.query('UPDATE payments SET outcome_units = -1 WHERE id = $1', [payment.id]);
    },
    code: '23514',
    constraint: 'payments_outcome_units_check',
  },
  {
    name: 'deleting a payment',
    run: async (db) => {
      const payment = await insertPayment(db);
      await db.query('DELETE FROM payments WHERE id = $1', [payment.id]);
    },
    code: '23001',
  },
  {
    name: 'editing a stored provider event',
    run: async (db) => {
      const { rows } = await db.query<{ id: unknown }>(
        `INSERT INTO payment_events (provider, received_at, body, signature_valid) VALUES ('nowpayments', now(), '{}', true) RETURNING id`,
      );
      await db.query(`UPDATE payment_events SET signature_valid = false WHERE id = $1`, [String(rows[0]?.id)]);
    },
    code: '23001',
  },

  // Channels, tiers, payout options
  {
    name: 'a fourth tier',
    run: async (db) => insertTier(db, { tierNumber: 4 }),
    code: '23514',
    constraint: 'channel_tiers_tier_number_check',
  },
  {
    name: 'two tiers with the same number on one channel',
    run: async (db) => {
      const tier = await insertTier(db);
      await insertTier(db, { channelId: tier.channelId, tierNumber: tier.tierNumber });
    },
    code: '23505',
    constraint: 'channel_tiers_channel_id_tier_number_key',
  },
  {
    name: 'a negative tier price',
    run: async (db) => insertTier(db, { priceCents: -500n }),
    code: '23514',
    constraint: 'channel_tiers_price_cents_check',
  },
  {
    name: 'a tier longer than ten years',
    run: async (db) => insertTier(db, { durationDays: 3651 }),
    code: '23514',
    constraint: 'channel_tiers_duration_days_check',
  },
  {
    name: 'threshold strategy without a threshold',
    run: async (db) => insertChannel(db, { payoutStrategy: 'threshold', payoutThresholdCents: null }),
    code: '23514',
    constraint: 'channels_payout_threshold_check',
  },
  {
    name: 'a zero threshold',
    run: async (db) => insertChannel(db, { payoutStrategy: 'threshold', payoutThresholdCents: 0n }),
    code: '23514',
    constraint: 'channels_payout_threshold_check',
  },
  {
    name: 'instant strategy with a threshold',
    run: async (db) => insertChannel(db, { payoutStrategy: 'instant', payoutThresholdCents: 5_000n }),
    code: '23514',
    constraint: 'channels_payout_threshold_check',
  },
  {
    name: 'an underpayment tolerance of zero',
    run: async (db) => insertChannel(db, { underpaymentToleranceBps: 0 }),
    code: '23514',
    constraint: 'channels_underpayment_tolerance_bps_check',
  },
  {
    name: 'a payout currency/network pair outside the reference table',
    run: async (db) => insertChannel(db, { payoutCurrency: 'SHIB', payoutNetwork: 'TRX' }),
    code: '23503',
    constraint: 'channels_payout_currency_payout_network_fkey',
  },
  {
    name: 'a live channel reusing another live channel’s open chat',
    run: async (db) => {
      const channel = await insertChannel(db);
      await insertChannel(db, { openChatId: channel.openChatId });
    },
    code: '23505',
    constraint: 'channels_chat_ids_unique',
  },
  {
    name: 'a chat that is one live channel’s closed chat and another’s open chat',
    run: async (db) => {
      const channel = await insertChannel(db);
      await insertChannel(db, { openChatId: channel.closedChatId });
    },
    code: '23505',
    constraint: 'channels_chat_ids_unique',
  },
  {
    name: 'a positive (user) chat id as a channel',
    run: async (db) => insertChannel(db, { openChatId: 12345n }),
    code: '23514',
    constraint: 'channels_open_chat_id_check',
  },
  {
    name: 'a channel registered without its broadcast schedule',
    run: async (db) => {
      const account = await insertAccount(db);
      await db.query(
        `INSERT INTO channels (owner_account_id, open_chat_id, closed_chat_id, open_title, closed_title, payout_currency,
                               payout_network, payout_wallet, payout_strategy)
         VALUES ($1, $2, $3, 'Open', 'Closed', 'ETH', 'ETH', $4, 'instant')`,
        [account.id, randomChatId().toString(), randomChatId().toString(), randomEvmAddress()],
      );
    },
    code: '23503',
    constraint: 'channels_broadcast_schedule_required',
  },

  // Accounts and secrets
  {
    name: 'an email that differs only in case',
    run: async (db) => {
      const account = await insertAccount(db);
      await insertAccount(db, { email: account.email.toUpperCase() });
    },
    code: '23505',
    constraint: 'accounts_email_index_key', // the blind index: emails are sealed at rest (migration 029)
  },
  {
    name: 'an email still in clear that differs only in case',
    run: async (db) => {
      await db.query(`INSERT INTO accounts (email, password_hash) VALUES ('Clear@Example.com', '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo')`);
      await db.query(`INSERT INTO accounts (email, password_hash) VALUES ('clear@example.com', '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo')`);
    },
    code: '23505',
    constraint: 'accounts_email_key',
  },
  {
    name: 'a plain password instead of a hash',
    run: async (db) => insertAccount(db, { passwordHash: 'correct horse battery staple' }),
    code: '23514',
    constraint: 'accounts_password_hash_check',
  },
  {
    name: 'a raw email token instead of its hash',
    run: async (db) => {
      const account = await insertAccount(db);
      await db.query(
        `INSERT INTO email_tokens (account_id, purpose, token_hash, created_at, expires_at)
         VALUES ($1, 'reset_password', convert_to('raw-reset-token', 'UTF8'), now(), now() + interval '1 hour')`,
        [account.id],
      );
    },
    code: '23514',
    constraint: 'email_tokens_token_hash_check',
  },
  {
    name: 'two live reset tokens for one account',
    run: async (db) => {
      const account = await insertAccount(db);
      for (const token of ['one', 'two']) {
        await db.query(
          `INSERT INTO email_tokens (account_id, purpose, token_hash, created_at, expires_at)
           VALUES ($1, 'reset_password', $2, now(), now() + interval '1 hour')`,
          [account.id, sha256(`${account.id}:${token}`)],
        );
      }
    },
    code: '23505',
    constraint: 'email_tokens_one_live_idx',
  },
  {
    name: 'two live refresh tokens in one family',
    run: async (db) => {
      const account = await insertAccount(db);
      const family = randomUUID();
      for (const token of ['one', 'two']) {
        await db.query(
          `INSERT INTO refresh_tokens (account_id, family_id, token_hash, issued_at, expires_at)
           VALUES ($1, $2, $3, now(), now() + interval '30 days')`,
          [account.id, family, sha256(`${family}:${token}`)],
        );
      }
    },
    code: '23505',
    constraint: 'refresh_tokens_one_live_per_family_idx',
  },

  // Subscriptions and invites
  {
    name: 'a second subscription for the same user and channel',
    run: async (db) => {
      const subscription = await insertSubscription(db);
      await insertSubscription(db, { telegramUserId: subscription.telegramUserId, channelId: subscription.channelId });
    },
    code: '23505',
    constraint: 'subscriptions_telegram_user_id_channel_id_key',
  },
  {
    name: 'overlapping subscription periods',
    run: async (db) => {
      const subscription = await insertSubscription(db);
      const start = FIXTURE_NOW.getTime();
      for (const offset of [0, 10 * DAY_MS]) {
        const payment = await insertPayment(db, { status: 'finished', isSettled: true });
        await db.query(
          `INSERT INTO subscription_periods (subscription_id, payment_id, starts_at, ends_at, duration_days)
           VALUES ($1, $2, $3, $4, 30)`,
          [subscription.id, payment.id, new Date(start + offset), new Date(start + offset + 30 * DAY_MS)],
        );
      }
    },
    code: '23P01',
    constraint: 'subscription_periods_no_overlap',
  },
  {
    name: 'a payment extending access twice',
    run: async (db) => {
      const subscription = await insertSubscription(db);
      const payment = await insertPayment(db, { status: 'finished', isSettled: true });
      const start = FIXTURE_NOW.getTime();
      for (const offset of [0, 30 * DAY_MS]) {
        await db.query(
          `INSERT INTO subscription_periods (subscription_id, payment_id, starts_at, ends_at, duration_days)
           VALUES ($1, $2, $3, $4, 30)`,
          [subscription.id, payment.id, new Date(start + offset), new Date(start + offset + 30 * DAY_MS)],
        );
      }
    },
    code: '23505',
    constraint: 'subscription_periods_payment_id_key',
  },
  {
    name: 'a second invite link for a payment',
    run: async (db) => {
      const payment = await insertPayment(db, { status: 'finished', isSettled: true });
      const subscription = await insertSubscription(db, { telegramUserId: payment.telegramUserId, channelId: payment.channelId });
      for (const code of ['AAAAaaaa1', 'BBBBbbbb2']) {
        await db.query(
          `INSERT INTO invite_links (payment_id, subscription_id, chat_id, invite_link, expires_at)
           VALUES ($1, $2, -1001234567890, $3, now() + interval '1 hour')`,
          [payment.id, subscription.id, `https://t.me/+${code}${randomUUID().slice(0, 8)}`],
        );
      }
    },
    code: '23505',
    constraint: 'invite_links_payment_id_key',
  },

  // Payouts, swaps, transfers
  {
    name: 'a second payout for one ledger claim',
    // Written by hand: createPayout always posts the payout's own claim; only a direct insert can reuse one.
    run: async (db) => {
      const payout = await insertPayout(db);
      const { rows } = await db.query<{ owner_account_id: string }>('SELECT owner_account_id FROM payouts WHERE id = $1', [payout.id]);
      await db.query(
        `INSERT INTO payouts (id, kind, channel_id, owner_account_id, asset, amount_units, destination_currency,
                              destination_network, destination_wallet, claim_transaction_id, requested_at, state_changed_at)
         VALUES ($1, 'threshold', $2, $3, 'ETH', $4, 'ETH', 'ETH', $5, $6, now(), now())`,
        [randomUUID(), payout.channelId, rows[0]?.owner_account_id, payout.amountUnits.toString(), payout.destinationWallet, payout.claimTransactionId],
      );
    },
    code: '23505',
    constraint: 'payouts_claim_transaction_id_key',
  },
  {
    name: 'repointing a payout at another payout’s claim',
    run: async (db) => {
      const claimed = await insertPayout(db);
      const other = await insertPayout(db);
      await db.query('UPDATE payouts SET claim_transaction_id = $1 WHERE id = $2', [claimed.claimTransactionId, other.id]);
    },
    code: '23514',
    constraint: 'payouts_snapshot_immutable',
  },
  {
    name: 'a payout whose claim is not a payout claim',
    // Written by hand: createPayout always claims with a 'payout_claimed' transaction; here the row names another kind.
    run: async (db) =>
      db.transaction(async (tx) => {
        const channel = await insertChannel(tx);
        const credit = await creditOwner(tx, channel.id, 'ETH', 10n);
        const { rows } = await tx.query<{ owner_account_id: string }>('SELECT owner_account_id FROM channels WHERE id = $1', [channel.id]);
        await tx.query(
          `INSERT INTO payouts (kind, channel_id, owner_account_id, asset, amount_units, destination_currency,
                                destination_network, destination_wallet, claim_transaction_id, requested_at, state_changed_at)
           VALUES ('threshold', $1, $2, 'ETH', 10, 'ETH', 'ETH', $3, $4, now(), now())`,
          [channel.id, rows[0]?.owner_account_id, randomEvmAddress(), credit],
        );
      }),
    code: '23503',
    constraint: 'payouts_claim_transaction_id_id_claim_kind_fkey',
  },
  {
    name: 'a second ledger claim for one payout',
    run: async (db) => {
      const payout = await insertPayout(db);
      await creditOwner(db, payout.channelId ?? '', 'ETH', payout.amountUnits);
      await db.transaction((tx) =>
        postLedgerTransaction(tx, {
          kind: 'payout_claimed',
          idempotencyKey: `second-claim:${payout.id}`,
          occurredAt: FIXTURE_NOW,
          payoutId: payout.id,
          entries: [
            { account: ledgerAccountCodes.owner(payout.channelId ?? '', 'ETH'), asset: 'ETH', amount: payout.amountUnits },
            { account: ledgerAccountCodes.payoutsInFlight('ETH'), asset: 'ETH', amount: -payout.amountUnits },
          ],
        }),
      );
    },
    code: 'ledger_duplicate_effect',
  },
  {
    name: 'a second instant payout for one payment',
    // Written by hand: createPayout claims an instant payout under its payment (`claim:instant:<payment>`),
    // so the ledger would refuse this second one before the table could; here the table must.
    run: async (db) => {
      const payout = await insertPayout(db, { kind: 'instant' });
      const { rows } = await db.query<{ payment_id: string; owner_account_id: string }>('SELECT payment_id, owner_account_id FROM payouts WHERE id = $1', [payout.id]);
      const secondId = randomUUID();
      await db.transaction(async (tx) => {
        await creditOwner(tx, payout.channelId ?? '', 'ETH', payout.amountUnits);
        const claim = await postLedgerTransaction(tx, {
          kind: 'payout_claimed',
          idempotencyKey: `second-payout-claim:${secondId}`,
          occurredAt: FIXTURE_NOW,
          payoutId: secondId,
          paymentId: rows[0]?.payment_id,
          entries: [
            { account: ledgerAccountCodes.owner(payout.channelId ?? '', 'ETH'), asset: 'ETH', amount: payout.amountUnits },
            { account: ledgerAccountCodes.payoutsInFlight('ETH'), asset: 'ETH', amount: -payout.amountUnits },
          ],
        });
        await tx.query(
          `INSERT INTO payouts (id, kind, channel_id, owner_account_id, payment_id, asset, amount_units, destination_currency,
                                destination_network, destination_wallet, claim_transaction_id, requested_at, state_changed_at)
           VALUES ($1, 'instant', $2, $3, $4, 'ETH', $5, 'ETH', 'ETH', $6, $7, now(), now())`,
          [secondId, payout.channelId, rows[0]?.owner_account_id, rows[0]?.payment_id, payout.amountUnits.toString(), payout.destinationWallet, claim],
        );
      });
    },
    code: '23505',
    constraint: 'payouts_payment_id_key',
  },
  {
    name: 'redirecting a payout in flight to another wallet',
    run: async (db) => {
      const payout = await insertPayout(db);
      await db.query('UPDATE payouts SET destination_wallet = $1 WHERE id = $2', [randomEvmAddress(), payout.id]);
    },
    code: '23514',
    constraint: 'payouts_snapshot_immutable',
  },
  {
    name: 'a payout state outside the lifecycle',
    run: async (db) => {
      const payout = await insertPayout(db);
      await db.query(`UPDATE payouts SET state = 'paid' WHERE id = $1`, [payout.id]);
    },
    code: '23514',
    constraint: 'payouts_state_transition',
  },
  {
    name: 'a payout skipping from requested to completed',
    run: async (db) => {
      const payout = await insertPayout(db);
      await db.query(`UPDATE payouts SET state = 'completed', completed_at = now() WHERE id = $1`, [payout.id]);
    },
    code: '23514',
    constraint: 'payouts_state_transition',
  },
  {
    name: 'a second swap for a payout',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertSwap(db, payout);
      await insertSwap(db, payout);
    },
    code: '23505',
    constraint: 'swaps_payout_id_key',
  },
  {
    name: 'a swap reusing a ChangeNow exchange id',
    run: async (db) => {
      const swap = await insertSwap(db, await insertPayout(db));
      await insertSwap(db, await insertPayout(db), { providerExchangeId: swap.providerExchangeId });
    },
    code: '23505',
    constraint: 'swaps_provider_exchange_id_key',
  },
  {
    name: 'a swap paying another wallet than the payout snapshot',
    run: async (db) => insertSwap(db, await insertPayout(db), { payoutAddress: randomEvmAddress() }),
    code: '23503',
  },
  {
    name: 'a swap for another amount than the payout',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertSwap(db, payout, { fromAmountUnits: payout.amountUnits * 2n });
    },
    code: '23503',
  },
  {
    name: 'changing a swap’s deposit address',
    run: async (db) => {
      const swap = await insertSwap(db, await insertPayout(db));
      await db.query('UPDATE swaps SET deposit_address = $1 WHERE id = $2', [randomEvmAddress(), swap.id]);
    },
    code: '23514',
    constraint: 'swaps_identity_immutable',
  },
  {
    name: 'a second transfer for a payout',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertSwap(db, payout);
      await insertChainTransfer(db, payout);
      await insertChainTransfer(db, payout);
    },
    code: '23505',
    constraint: 'chain_transfers_payout_id_key',
  },
  {
    name: 'a nonce already used by the same wallet',
    run: async (db) => {
      const first = await insertChainTransfer(db, await insertPayout(db));
      await insertChainTransfer(db, await insertPayout(db), { fromAddress: first.fromAddress, nonce: first.nonce });
    },
    code: '23505',
    constraint: 'chain_transfers_chain_id_from_address_nonce_key',
  },
  {
    name: 'a transfer to an address other than the swap deposit address',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertSwap(db, payout);
      await insertChainTransfer(db, payout, { toAddress: randomEvmAddress() });
    },
    code: '23514',
    constraint: 'chain_transfers_destination',
  },
  {
    name: 'a direct transfer naming the sealed destination in clear',
    run: async (db) => {
      // The payout's own index beside an address in clear: a sealed destination is only ever sent to sealed.
      const payout = await insertPayout(db);
      await db.query(
        `INSERT INTO chain_transfers (payout_id, chain_id, from_address, to_address, to_address_index, asset, amount_units, nonce, gas_limit,
                                      max_fee_per_gas, max_priority_fee_per_gas, signed_tx, tx_hash, signed_at)
         SELECT p.id, 1, $2, $3, p.destination_wallet_index, p.asset, p.amount_units, 1, 21000, 2, 1, '0x02ff', $4, now() FROM payouts p WHERE p.id = $1`,
        [payout.id, randomEvmAddress(), randomEvmAddress(), `0x${'cd'.repeat(32)}`],
      );
    },
    code: '23514',
    constraint: 'chain_transfers_destination',
  },
  {
    name: 'a transfer with its signed bytes both in clear and sealed',
    run: async (db) => {
      const transfer = await insertChainTransfer(db, await insertPayout(db));
      await db.query(
        `INSERT INTO chain_transfers (payout_id, chain_id, from_address, to_address, to_address_ciphertext, to_address_index, asset, amount_units,
                                      nonce, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, signed_tx, signed_tx_ciphertext, tx_hash, signed_at)
         SELECT p.id, 1, $2, NULL, t.to_address_ciphertext, p.destination_wallet_index, p.asset, p.amount_units, 1, 21000, 2, 1, '0x02ff',
                t.signed_tx_ciphertext, $3, now()
           FROM payouts p, chain_transfers t WHERE p.id = $1 AND t.id = $4`,
        [(await insertPayout(db)).id, randomEvmAddress(), `0x${'ce'.repeat(32)}`, transfer.id],
      );
    },
    code: '23514',
    constraint: 'chain_transfers_signed_tx_one_shape',
  },
  {
    name: 'a sealed recipient re-pointed at another wallet’s index',
    run: async (db) => {
      const transfer = await insertChainTransfer(db, await insertPayout(db));
      await db.query(`UPDATE chain_transfers SET to_address_index = $2 WHERE id = $1`, [transfer.id, Buffer.alloc(32, 9)]);
    },
    code: '23514',
    constraint: 'chain_transfers_signed_immutable',
  },
  {
    name: 'a sealed transfer’s bytes put back in clear',
    run: async (db) => {
      const transfer = await insertChainTransfer(db, await insertPayout(db));
      await db.query(`UPDATE chain_transfers SET signed_tx = '0x02ff', signed_tx_ciphertext = NULL WHERE id = $1`, [transfer.id]);
    },
    code: '23514',
    constraint: 'chain_transfers_signed_immutable',
  },
  {
    name: 'a transfer of another amount than its payout',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertChainTransfer(db, payout, { amountUnits: payout.amountUnits + 1n });
    },
    code: '23503',
    constraint: 'chain_transfers_payout_id_asset_amount_units_fkey',
  },
  {
    name: 're-signing a stored transfer',
    run: async (db) => {
      const transfer = await insertChainTransfer(db, await insertPayout(db));
      await db.query(`UPDATE chain_transfers SET signed_tx = '0x02ff', tx_hash = $1 WHERE id = $2`, [
        `0x${'ab'.repeat(32)}`,
        transfer.id,
      ]);
    },
    code: '23514',
    constraint: 'chain_transfers_signed_immutable',
  },
  {
    name: 'a swap slipped in after the transfer was signed',
    run: async (db) => {
      const payout = await insertPayout(db);
      await insertChainTransfer(db, payout);
      await insertSwap(db, payout);
    },
    code: '23514',
    constraint: 'swaps_before_transfer',
  },
  {
    name: 'a checksum-cased address dodging the nonce key',
    run: async (db) => {
      await insertChainTransfer(db, await insertPayout(db), { fromAddress: '0xAbCdEf0123456789abcdef0123456789ABCDEF01' });
    },
    code: '23514',
    constraint: 'chain_transfers_from_address_check',
  },

  // Conversion batches
  {
    name: 'a conversion batch whose shares do not add up to its total',
    run: async (db) => {
      const [a, b] = [await insertChannel(db), await insertChannel(db)];
      await insertConversionBatch(db, [
        { channelId: a.id, fromUnits: 600n },
        { channelId: b.id, fromUnits: 400n },
      ], { shareSkew: 1n });
    },
    code: '23514',
    constraint: 'conversion_batches_shares_sum',
  },
  {
    name: 'distributing more than a conversion received',
    run: async (db) => {
      const [a, b] = [await insertChannel(db), await insertChannel(db)];
      const batch = await insertConversionBatch(db, [
        { channelId: a.id, fromUnits: 600n },
        { channelId: b.id, fromUnits: 400n },
      ]);
      await db.transaction(async (tx) => {
        const completion = await postLedgerTransaction(tx, {
          kind: 'conversion_completed',
          idempotencyKey: `conversion:${batch.id}`,
          occurredAt: FIXTURE_NOW,
          conversionBatchId: batch.id,
          entries: [
            { account: ledgerAccountCodes.hotWallet('USDT_ERC20'), asset: 'USDT_ERC20', amount: 3_000n },
            { account: ledgerAccountCodes.owner(a.id, 'USDT_ERC20'), asset: 'USDT_ERC20', amount: -1_800n },
            { account: ledgerAccountCodes.owner(b.id, 'USDT_ERC20'), asset: 'USDT_ERC20', amount: -1_200n },
          ],
        });
        await tx.query(`UPDATE conversion_batch_shares SET to_units = 1801 WHERE batch_id = $1 AND channel_id = $2`, [batch.id, a.id]);
        await tx.query(`UPDATE conversion_batch_shares SET to_units = 1200 WHERE batch_id = $1 AND channel_id = $2`, [batch.id, b.id]);
        await tx.query(
          `UPDATE conversion_batches SET state = 'distributed', received_to_units = 3000, completion_transaction_id = $1,
                  completed_at = now() WHERE id = $2`,
          [completion, batch.id],
        );
      });
    },
    code: '23514',
    constraint: 'conversion_batches_distribution_sum',
  },
];

describe('constraints', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  describe('refuse', () => {
    it.each(refusals)('$name', async ({ run, code, constraint }) => {
      const error = await databaseRefusalOf(run(testDb.db));
      expect(error.code).toBe(code);
      if (constraint) expect(error.constraint).toBe(constraint);
    });
  });

  describe('accept', () => {
    it('a full valid chain of rows from the fixtures', async () => {
      const payout = await insertPayout(testDb.db, { kind: 'instant' });
      await insertSwap(testDb.db, payout);
      await insertChainTransfer(testDb.db, payout);
      const { rows } = await testDb.db.query<{ n: unknown }>('SELECT count(*) AS n FROM chain_transfers WHERE payout_id = $1', [payout.id]);
      expect(Number(rows[0]?.n)).toBe(1);
    });

    it('a deleted channel’s chats for a new channel', async () => {
      const channel = await insertChannel(testDb.db);
      await testDb.db.query(`UPDATE channels SET status = 'deleted', deleted_at = now() WHERE id = $1`, [channel.id]);
      const reborn = await insertChannel(testDb.db, { openChatId: channel.openChatId, closedChatId: channel.closedChatId });
      const { rows } = await testDb.db.query<{ id: string }>('SELECT id FROM channels WHERE open_chat_id = $1 AND deleted_at IS NULL', [channel.openChatId.toString()]);
      expect(rows.map((row) => row.id)).toEqual([reborn.id]);
    });

    it('a SHIB payout and a SHIB-sized amount (legacy numeric overflow)', async () => {
      const channel = await insertChannel(testDb.db, { payoutCurrency: 'SHIB', payoutNetwork: 'ETH' });
      const shibScale = 10n ** 27n * 123n; // 123e9 SHIB at 18 decimals
      const payment = await insertPayment(testDb.db);
      await testDb.db.query(`UPDATE payments SET outcome_units = $1 WHERE id = $2`, [shibScale.toString(), payment.id]);
      const { rows } = await testDb.db.query<{ units: string; currency: string }>(
        `SELECT p.outcome_units::text AS units, c.payout_currency AS currency FROM payments p, channels c WHERE p.id = $1 AND c.id = $2`,
        [payment.id, channel.id],
      );
      expect(rows[0]).toEqual({ units: shibScale.toString(), currency: 'SHIB' });
    });

    it('forward payment statuses, including refunded after finished', async () => {
      const payment = await insertPayment(testDb.db);
      for (const status of ['confirming', 'confirmed', 'sending', 'finished', 'refunded']) {
        await testDb.db.query('UPDATE payments SET status = $1 WHERE id = $2', [status, payment.id]);
      }
      await testDb.db.query(`UPDATE payments SET status = 'refunded', updated_at = now() WHERE id = $1`, [payment.id]);
      const { rows } = await testDb.db.query<{ status: string }>('SELECT status FROM payments WHERE id = $1', [payment.id]);
      expect(rows[0]?.status).toBe('refunded');
    });

    it('an expired open checkout replaced by a new one', async () => {
      const checkout = await insertCheckout(testDb.db);
      await testDb.db.query(`UPDATE checkouts SET status = 'expired', closed_at = now() WHERE id = $1`, [checkout.id]);
      const replacement = await insertCheckout(testDb.db, {
        telegramUserId: checkout.telegramUserId,
        channelId: checkout.channelId,
        tierId: checkout.tierId ?? undefined,
      });
      const { rows } = await testDb.db.query<{ id: string }>(
        `SELECT id FROM checkouts WHERE telegram_user_id = $1 AND channel_id = $2 AND status = 'open'`,
        [checkout.telegramUserId, checkout.channelId],
      );
      expect(rows.map((row) => row.id)).toEqual([replacement.id]);
    });

    it('stacked subscription periods that touch but do not overlap', async () => {
      const subscription = await insertSubscription(testDb.db);
      const start = FIXTURE_NOW.getTime();
      for (const offset of [0, 30 * DAY_MS]) {
        const payment = await insertPayment(testDb.db, { status: 'finished', isSettled: true });
        await testDb.db.query(
          `INSERT INTO subscription_periods (subscription_id, payment_id, starts_at, ends_at, duration_days)
           VALUES ($1, $2, $3, $4, 30)`,
          [subscription.id, payment.id, new Date(start + offset), new Date(start + offset + 30 * DAY_MS)],
        );
      }
      const { rows } = await testDb.db.query<{ ends_at: Date }>('SELECT ends_at FROM subscription_periods WHERE subscription_id = $1 ORDER BY ends_at', [subscription.id]);
      expect(rows.map((row) => row.ends_at.getTime())).toEqual([start + 30 * DAY_MS, start + 60 * DAY_MS]);
    });

    it('a conversion distributed exactly', async () => {
      const [a, b] = [await insertChannel(testDb.db), await insertChannel(testDb.db)];
      const batch = await insertConversionBatch(testDb.db, [
        { channelId: a.id, fromUnits: 2n },
        { channelId: b.id, fromUnits: 1n },
      ]);
      await testDb.db.transaction(async (tx) => {
        const completion = await postLedgerTransaction(tx, {
          kind: 'conversion_completed',
          idempotencyKey: `conversion:${batch.id}`,
          occurredAt: FIXTURE_NOW,
          conversionBatchId: batch.id,
          entries: [
            { account: ledgerAccountCodes.hotWallet('USDT_ERC20'), asset: 'USDT_ERC20', amount: 100n },
            { account: ledgerAccountCodes.owner(a.id, 'USDT_ERC20'), asset: 'USDT_ERC20', amount: -67n },
            { account: ledgerAccountCodes.owner(b.id, 'USDT_ERC20'), asset: 'USDT_ERC20', amount: -33n },
          ],
        });
        await tx.query(`UPDATE conversion_batch_shares SET to_units = CASE channel_id WHEN $2 THEN 67 ELSE 33 END WHERE batch_id = $1`, [
          batch.id,
          a.id,
        ]);
        await tx.query(
          `UPDATE conversion_batches SET state = 'distributed', received_to_units = 100, completion_transaction_id = $1,
                  completed_at = now() WHERE id = $2`,
          [completion, batch.id],
        );
      });
      const { rows } = await testDb.db.query<{ state: string; received: string }>('SELECT state, received_to_units::text AS received FROM conversion_batches WHERE id = $1', [batch.id]);
      expect(rows[0]).toEqual({ state: 'distributed', received: '100' });
    });
  });
});
