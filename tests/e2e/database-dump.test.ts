import { execFileSync } from 'node:child_process';
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueAccountMail } from '../../shared/accounts/index.js';
import type { Queryable } from '../../shared/db/index.js';
import { accountEmailById, setChannelWallet } from '../../shared/testing/encrypted-fields.js';
import { topUpUsdtLikeToken } from '../../shared/testing/simulators/usdt-token.js';
import { checkoutFor, newSubscriber, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

/**
 * Acceptance of field encryption (issue 19): a dump of the database after a journey that touches
 * every sealed value holds no email address, payout wallet or extra id in clear — the recipient of a
 * direct transfer and the signed bytes that name it included (docs/security.md#field-encryption).
 */
function hasPgDump(): boolean {
  try {
    execFileSync('pg_dump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Every text, json and bytea value of every table, one line per value, prefixed with its table.column. */
async function selectEverything(db: Queryable): Promise<string> {
  const { rows: columns } = await db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')`,
  );
  const lines: string[] = [];
  for (const column of columns) {
    const { rows } = await db.query<{ value: string | null }>(`SELECT "${column.column_name}"::text AS value FROM "${column.table_name}"`);
    for (const row of rows) if (row.value !== null) lines.push(`${column.table_name}.${column.column_name}\t${row.value}`);
  }
  return lines.join('\n');
}

describe('a database dump after a full journey', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
  });

  it('holds no email, payout wallet or extra id in clear', async () => {
    const db = gateway.testDb.db;
    const anvil = gateway.runtime.simulators.anvil;
    const tokenAddress = process.env.USDT_ERC20_CONTRACT;
    if (!anvil || !tokenAddress) throw new Error('sandbox chain not started');
    await topUpUsdtLikeToken(anvil.rpcUrl, tokenAddress, anvil.accounts[9]?.privateKey ?? '', anvil.accounts[9]?.address ?? '', 1_000_000_000_000n);

    // A swap payout (USDT on Ethereum, through ChangeNow) and a direct one (ETH), with an extra id set once.
    const swapped = await seedChannel(gateway, { strategy: 'instant' });
    const swappedWallet = Wallet.createRandom().address;
    await db.query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [swapped.channelId]);
    await setChannelWallet(db, swapped.channelId, swappedWallet);
    const direct = await seedChannel(gateway, { strategy: 'instant' });
    const directWallet = Wallet.createRandom().address;
    await setChannelWallet(db, direct.channelId, directWallet);
    const xrp = await seedChannel(gateway, { strategy: 'threshold' });
    const xrpWallet = 'rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY';
    const extraId = '3141592653';
    await db.query(`UPDATE channels SET payout_currency = 'XRP', payout_network = 'XRP' WHERE id = $1`, [xrp.channelId]);
    await setChannelWallet(db, xrp.channelId, xrpWallet, extraId);

    for (const channel of [swapped, direct]) {
      const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
      await gateway.nowpayments.pay(checkout.invoiceId);
    }
    await gateway.settle();
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();

    // An email change pending (its mail sent: the token holds the new address) and the owner's mails.
    const pendingEmail = 'new-address-for-dump@example.org';
    await db.transaction((tx) => enqueueAccountMail(tx, { kind: 'email_change_requested', accountId: swapped.ownerAccountId, address: pendingEmail, now: new Date() }));
    await db.transaction((tx) => enqueueAccountMail(tx, { kind: 'account_deleted', accountId: direct.ownerAccountId, address: 'gone-owner@example.org', now: new Date() }));
    await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' });
    await gateway.settle();

    const { rows: payouts } = await db.query<{ state: string; kind: string }>('SELECT state, kind FROM payouts');
    expect(payouts.length).toBeGreaterThanOrEqual(2);
    expect((await db.query('SELECT 1 FROM swaps')).rows.length).toBeGreaterThanOrEqual(1);
    expect((await db.query(`SELECT 1 FROM email_tokens WHERE purpose = 'change_email'`)).rows).toHaveLength(1);

    const emails = [
      ...(await Promise.all([swapped, direct, xrp].map((channel) => accountEmailById(db, channel.ownerAccountId)))),
      pendingEmail,
      'gone-owner@example.org',
    ];
    const dump =
      gateway.testDb.url && hasPgDump()
        ? execFileSync('pg_dump', ['--data-only', '--no-owner', gateway.testDb.url], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })
        : await selectEverything(db);
    const lower = dump.toLowerCase();
    for (const email of emails) expect(lower, `the dump holds ${email}`).not.toContain(email.toLowerCase());
    for (const wallet of [swappedWallet, xrpWallet]) {
      expect(lower).not.toContain(wallet.toLowerCase());
      expect(lower).not.toContain(wallet.toLowerCase().replace(/^0x/, ''));
    }
    expect(dump).not.toContain(extraId);

    // The direct transfer went out (so its recipient and bytes were stored), and nothing names its
    // recipient: not the row, not the signed bytes (an ETH `to` or ERC-20 calldata, both bare hex).
    const { rows: transfers } = await db.query<{ to_address: string | null; to_address_ciphertext: string | null; signed_tx: string | null }>(
      'SELECT t.to_address, t.to_address_ciphertext, t.signed_tx FROM chain_transfers t JOIN payouts p ON p.id = t.payout_id WHERE p.channel_id = $1',
      [direct.channelId],
    );
    expect(transfers).toEqual([{ to_address: null, to_address_ciphertext: expect.stringMatching(/^v1\./), signed_tx: null }]);
    const bare = directWallet.toLowerCase().slice(2);
    expect(lower).not.toContain(bare);
    const holders = (await selectEverything(db))
      .split('\n')
      .filter((line) => line.toLowerCase().includes(bare))
      .map((line) => line.slice(0, line.indexOf('\t')));
    expect(holders).toEqual([]);
  });
});
