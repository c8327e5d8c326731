import { recordAuditEvent } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { getAsset, parseUnits } from '../money/index.js';
import { type HotWalletAsset, isHotWalletAsset } from './hot-wallet-assets.js';
import type { HotWalletChain } from './hot-wallet-chain.js';
import { hotWalletError } from './errors.js';

export interface BookCapitalInput {
  asset: HotWalletAsset;
  /** Base units, > 0. */
  units: bigint;
  /** `in`: the platform put funds into the hot wallet (the gas float); `out`: it took them out (a fee sweep). */
  direction: 'in' | 'out';
  operator: string;
  note: string;
  /** The on-chain transaction that moved the funds, when there is one; the key is derived from it. */
  txHash?: string;
  /** Names this booking when there is no transaction (a genesis float); one of `txHash` and `key` is required. */
  key?: string;
  at: Date;
}

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const KEY = /^[A-Za-z0-9._:-]{1,120}$/;

/** Reads an operator's amount exactly (`0.5`, `1e-3`); more decimals than the asset has is refused, never rounded. */
export function parseCapitalAmount(asset: string, text: string): { asset: HotWalletAsset; units: bigint } {
  if (!isHotWalletAsset(asset)) throw hotWalletError('unknown_hot_wallet_asset', 'The hot wallet holds ETH and USDT_ERC20; give one of them.', { asset: asset.slice(0, 32) });
  const units = parseUnits(text, getAsset(asset).decimals);
  if (units <= 0n) throw hotWalletError('invalid_capital_amount', 'The amount must be greater than zero.', { asset });
  return { asset, units };
}

/**
 * Books platform funds moved into or out of the hot wallet: a `capital` ledger transaction between
 * `hot_wallet:<asset>` and the equity account `platform:capital:<asset>`, with an audit entry naming
 * the operator. Idempotent by its key (`capital:<tx hash>` or `capital:<key>`): repeating the same
 * booking returns the first one; the same key with another amount is refused.
 *
 * @returns the ledger transaction id and whether this call posted it.
 * @throws PermanentError `capital_key_missing`, `invalid_capital_amount`, `ledger_idempotency_conflict`.
 */
export async function bookCapital(db: Db, input: BookCapitalInput): Promise<{ transactionId: string; isNew: boolean }> {
  if (input.units <= 0n) throw hotWalletError('invalid_capital_amount', 'The amount must be greater than zero.', { asset: input.asset });
  if (input.txHash !== undefined && !TX_HASH.test(input.txHash)) throw hotWalletError('invalid_tx_hash', 'A transaction hash is 0x followed by 64 hex digits.');
  if (input.key !== undefined && !KEY.test(input.key)) throw hotWalletError('invalid_capital_key', 'A key is 1–120 letters, digits, . _ : or -.');
  const idempotencyKey = input.txHash ? `capital:${input.txHash.toLowerCase()}` : input.key ? `capital:${input.key}` : undefined;
  if (!idempotencyKey) throw hotWalletError('capital_key_missing', 'Give the funding transaction (--tx) or a key naming this booking (--key), so it cannot be booked twice.');
  if (input.operator.trim() === '' || input.note.trim() === '') throw hotWalletError('capital_note_missing', 'Name the operator and say why (--operator, --note).');
  const signed = input.direction === 'in' ? input.units : -input.units;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string }>('SELECT id FROM ledger_transactions WHERE idempotency_key = $1', [idempotencyKey]);
    const transactionId = await postLedgerTransaction(tx, {
      kind: 'capital',
      idempotencyKey,
      occurredAt: input.at,
      description: `${input.direction === 'in' ? 'Capital in' : 'Capital out'} by ${input.operator}: ${input.note}`.slice(0, 500),
      entries: [
        { account: ledgerAccountCodes.hotWallet(input.asset), asset: input.asset, amount: signed },
        { account: ledgerAccountCodes.platformCapital(input.asset), asset: input.asset, amount: -signed },
      ],
    });
    const isNew = rows.length === 0;
    if (isNew) {
      await recordAuditEvent(tx, {
        occurredAt: input.at,
        actor: { type: 'operator', id: input.operator },
        action: 'hot_wallet.capital_booked',
        subject: { type: 'ledger_transaction', id: transactionId },
        details: { asset: input.asset, units: input.units.toString(), direction: input.direction, txHash: input.txHash ?? null, key: input.key ?? null, note: input.note.slice(0, 200) },
      });
    }
    return { transactionId, isNew };
  });
}

/**
 * Checks that `txHash` is mined and moved exactly `units` of `asset` into `wallet` (ETH sent to it, or
 * the token's `Transfer` logs to it), so a capital booking names the funding it claims to.
 *
 * @throws PermanentError `funding_not_found` (not mined or reverted), `funding_mismatch`.
 */
export async function verifyFunding(
  chain: HotWalletChain,
  input: { txHash: string; asset: HotWalletAsset; units: bigint; wallet: string; tokenContract?: string },
): Promise<void> {
  const received = await chain.receivedBy(input.txHash, input.wallet);
  if (!received) throw hotWalletError('funding_not_found', 'No mined, successful transaction has this hash.', { txHash: input.txHash });
  const moved = input.asset === 'ETH' ? received.weiUnits : (received.tokenUnits.get(input.tokenContract?.toLowerCase() ?? '') ?? 0n);
  if (moved !== input.units) {
    throw hotWalletError('funding_mismatch', `That transaction moved ${moved} base units of ${input.asset} into the hot wallet, not ${input.units}.`, {
      txHash: input.txHash,
      movedUnits: moved.toString(),
    });
  }
}
