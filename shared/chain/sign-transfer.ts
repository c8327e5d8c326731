import { type AlongsideWrite, assertNoOpenTransaction, isUniqueViolation, type Row, type Tx } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import { CHAIN_TRANSFER_COLUMNS, type ChainTransfer, retrieveChainTransfer, toChainTransfer } from './chain-transfer-rows.js';
import { buildTransfer, chooseFees, isTransferAsset, type TransferCall, type TransferRequest, withGasMargin } from './transfer-request.js';
import type { SigningDeps } from './transfer-deps.js';
import { allocateNonce, nonceAllocation } from './wallet-nonces.js';
import { sealSignedTransaction, sealTransferRecipient } from './sealed-transfer.js';
import { transactionHash } from './eip1559-transaction.js';
import { chainError } from './errors.js';

const DEFAULT_GAS_MARGIN_BPS = 2_000;

function callFor(deps: SigningDeps, payoutId: string, request: TransferRequest): TransferCall {
  if (!isTransferAsset(request.asset)) {
    throw chainError('unsupported_transfer_asset', 'The hot wallet cannot send this asset.', { payoutId, asset: request.asset });
  }
  const tokenAddress = request.asset === 'USDT_ERC20' ? deps.settings.tokenContracts.USDT_ERC20 : undefined;
  if (request.asset === 'USDT_ERC20' && tokenAddress === undefined) {
    throw chainError('token_contract_not_configured', 'No USDT_ERC20 contract is configured.', { payoutId });
  }
  return buildTransfer({ asset: request.asset, to: request.to, amountUnits: request.amountUnits, tokenAddress });
}

export interface SignTransferInput {
  /**
   * The idempotency key: at most one transfer is ever stored under it, and a retry gets that one
   * back. The payout's id, kept as `chain_transfers.payout_id` (`ChainTransfer.payoutId`) and named
   * so in logs; to chain/ an opaque reference.
   */
  key: string;
  request: TransferRequest;
  /**
   * Runs first in the signing transaction (`TransferLock`). It locks what the request was read from,
   * so that signers of one key wait there and the second then finds the first's transfer. Without it,
   * concurrent signers of one key may each sign; one row still wins.
   */
  lock?: TransferLock;
  /**
   * A write made by the statement that inserts a NEW transfer row (not when an earlier one is
   * returned), as its `alongside` CTE, e.g. the payout's move to `transfer_signed`: the two commit
   * together. It must write one row; when it writes none, nothing is stored (`transfer_invariant_broken`:
   * the `lock` is what keeps the row it writes where it expects it).
   */
  storedWith?: AlongsideWrite;
  /**
   * The caller has just read that no transfer is stored under `key`: the early look (which spares the
   * node's calls when one is) is skipped. The signing transaction looks again under the lock either way.
   */
  isKnownUnsigned?: boolean;
}

/**
 * The caller's lock on what a transfer request was read from (`SignTransferInput.lock`): the signing
 * transaction's first statement, which also takes the nonce when the locked row shows that nothing
 * can be stored under the key yet.
 */
export interface TransferLock {
  /** A SELECT of one row `FOR NO KEY UPDATE`, parameters from `$1`: signers of one key wait there. */
  sql: string;
  params: unknown[];
  /**
   * An SQL condition on that row's columns: the row is in a state that storing a transfer leaves in
   * the same transaction, so none is stored. Then the same statement takes the nonce and no stored
   * transfer is looked for; were one there anyway, its unique key refuses the second row, and it is
   * returned.
   */
  unsignedWhen: string;
  /**
   * Called with the locked row (undefined: there is none) only when no transfer is stored: answers
   * the request as it stands now (one that differs from `request` is retried:
   * `transfer_inputs_changed`) or throws when it may no longer be sent.
   */
  check: (row: Row | undefined) => TransferRequest;
}

/**
 * Signs the one transfer of `key` and stores it before anything is broadcast.
 *
 * Network reads (chain id, fees, pending nonce, balances, gas estimate) happen first, outside any
 * transaction. Then one transaction runs `lock`, returns the existing transfer if there is one (a
 * retry never signs again), allocates the nonce from `wallet_nonces`, signs offline and inserts the
 * row with the signed bytes (sealed, `signed_tx_ciphertext`) and `tx_hash` in status `signed`. A
 * request with `toIndex` goes to the owner's wallet: its recipient is stored sealed too.
 *
 * @returns the key's transfer, and whether this call created it.
 * @throws TransientError `gas_price_above_cap`, `hot_wallet_insufficient_funds`, `chain_unavailable`,
 *   `transfer_inputs_changed`; PermanentError `unsupported_transfer_asset`, `token_contract_not_configured`,
 *   `chain_id_mismatch`, `transfer_would_revert`, and whatever `lock`'s check throws.
 */
export async function signAndStoreTransfer(
  deps: SigningDeps,
  input: SignTransferInput,
): Promise<{ transfer: ChainTransfer; isNew: boolean }> {
  assertNoOpenTransaction('signAndStoreTransfer');
  const { key: payoutId, request } = input;
  if (!input.isKnownUnsigned) {
    const existing = await retrieveChainTransfer(deps.db, payoutId);
    if (existing) return { transfer: existing, isNew: false };
  }

  const call = callFor(deps, payoutId, request);
  const from = deps.wallet.address.toLowerCase();

  const chainId = await deps.chain.getChainId();
  if (chainId !== deps.settings.chainId) {
    throw chainError('chain_id_mismatch', 'The Ethereum node serves another chain than ETH_CHAIN_ID.', {
      expected: deps.settings.chainId.toString(),
      actual: chainId.toString(),
    });
  }
  const fees = chooseFees(await deps.chain.estimateFees(), deps.settings.maxFeePerGasCapWei);
  const account = await deps.chain.readAccount(from, call.tokenContract ?? undefined);
  const insufficient = (context: Record<string, unknown>) =>
    chainError('hot_wallet_insufficient_funds', 'The hot wallet cannot cover this payout; top it up and it is retried.', {
      payoutId,
      asset: request.asset,
      ...context,
    });
  if (call.tokenContract !== null && account.tokenBalanceUnits < request.amountUnits) {
    throw insufficient({ neededUnits: request.amountUnits.toString(), balanceUnits: account.tokenBalanceUnits.toString() });
  }
  let estimatedGas: bigint;
  try {
    estimatedGas = await deps.chain.estimateGas({ from, to: call.to, data: call.data, value: call.value });
  } catch (error) {
    // A concurrent signer of this key may have stored and broadcast it since our look: the node then
    // estimates ours after its pending spend, and a token transfer "would revert". That is its transfer.
    if (errorCode(error) === 'transfer_would_revert') {
      const stored = await retrieveChainTransfer(deps.db, payoutId);
      if (stored) return { transfer: stored, isNew: false };
    }
    throw error;
  }
  const gasLimit = withGasMargin(estimatedGas, deps.settings.gasLimitMarginBps ?? DEFAULT_GAS_MARGIN_BPS);
  const worstCaseWei = call.value + gasLimit * fees.maxFeePerGas;
  if (account.balanceWei < worstCaseWei) {
    throw insufficient({ neededWei: worstCaseWei.toString(), balanceWei: account.balanceWei.toString() });
  }

  const sign = (tx: Tx) => signInTransaction(deps, tx, { input, call, from, gasLimit, fees, networkNonce: account.pendingNonce });
  try {
    const result = await deps.db.transaction(sign);
    if (result.isNew) {
      deps.logger.info('payout.transfer_signed', {
        payoutId,
        txHash: result.transfer.txHash,
        nonce: result.transfer.nonce.toString(),
        from,
        asset: result.transfer.asset,
      });
    }
    return result;
  } catch (error) {
    // A concurrent signer won the race on payout_id: its row is the one transfer.
    if (isUniqueViolation(error, 'chain_transfers_payout_id_key')) {
      const winner = await retrieveChainTransfer(deps.db, payoutId);
      if (winner) return { transfer: winner, isNew: false };
    }
    throw error;
  }
}

async function signInTransaction(
  deps: SigningDeps,
  tx: Tx,
  prepared: {
    input: SignTransferInput;
    call: TransferCall;
    from: string;
    gasLimit: bigint;
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
    networkNonce: bigint;
  },
): Promise<{ transfer: ChainTransfer; isNew: boolean }> {
  const { input, call, from, gasLimit, fees } = prepared;
  const { key: payoutId, request } = input;
  const wallet = { chainId: deps.settings.chainId, address: from, networkNonce: prepared.networkNonce, now: deps.clock.now() };
  // The caller's lock serializes signers of one key: the second waits here, then sees the row.
  const locked = input.lock ? await lockAndTakeNonce(tx, input.lock, wallet) : undefined;
  if (!locked?.isUnsigned) {
    const existing = await retrieveChainTransfer(tx, payoutId);
    if (existing) return { transfer: existing, isNew: false };
  }
  if (input.lock) {
    const current = callFor(deps, payoutId, input.lock.check(locked?.row));
    if (current.to !== call.to || current.data !== call.data || current.value !== call.value) {
      // What to send changed between our reads (e.g. a swap was created): estimate again on the next attempt.
      throw chainError('transfer_inputs_changed', 'The payout changed while its transfer was prepared; retry.', { payoutId });
    }
  }
  const nonce = locked?.nonce ?? (await allocateNonce(tx, wallet));
  const now = deps.clock.now(); // after the lock's wait: when it was signed
  const signedTx = await deps.wallet.signTransaction({
    chainId: deps.settings.chainId,
    nonce,
    to: call.to,
    value: call.value,
    data: call.data,
    gasLimit,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
  const txHash = transactionHash(signedTx);

  // The owner's wallet (named by its index) is stored sealed, in the row and inside the signed bytes.
  const recipient = request.toIndex ? sealTransferRecipient(payoutId, call.recipient) : { clear: call.recipient, ciphertext: null };
  const alongside = input.storedWith;
  const first = (alongside?.params.length ?? 0) + 1;
  const $ = (n: number) => `$${first + n - 1}`;
  const { rows } = await tx.query<Record<string, unknown> & { alongside_rows: number | null }>(
    `${alongside ? `WITH alongside AS (${alongside.sql}) ` : ''}
     INSERT INTO chain_transfers (payout_id, chain_id, from_address, to_address, to_address_ciphertext, token_contract, asset, amount_units,
                                  nonce, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, signed_tx_ciphertext, tx_hash, status,
                                  signed_at, created_at, updated_at, to_address_index)
     VALUES (${[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map($).join(', ')}, 'signed', ${$(15)}, ${$(15)}, ${$(15)}, ${$(16)})
     RETURNING ${CHAIN_TRANSFER_COLUMNS}, ${alongside ? '(SELECT count(*) FROM alongside)::int' : 'NULL::int'} AS alongside_rows`,
    [
      ...(alongside?.params ?? []),
      payoutId,
      deps.settings.chainId.toString(),
      from,
      recipient.clear,
      recipient.ciphertext,
      call.tokenContract,
      request.asset,
      request.amountUnits.toString(),
      nonce.toString(),
      gasLimit.toString(),
      fees.maxFeePerGas.toString(),
      fees.maxPriorityFeePerGas.toString(),
      sealSignedTransaction(payoutId, 1, signedTx).ciphertext,
      txHash,
      now,
      request.toIndex ?? null,
    ],
  );
  const row = rows[0] as Record<string, unknown> & { alongside_rows: number | null };
  if (alongside && row.alongside_rows !== 1) {
    throw chainError('transfer_invariant_broken', 'The write stored with the transfer changed no row; nothing was stored.', { payoutId });
  }
  return { transfer: toChainTransfer(row), isNew: true };
}

/**
 * The caller's lock, and the wallet's next nonce when the locked row shows no transfer can be stored
 * yet, in one statement: the payout's row lock first, then the wallet's, as when they were two.
 */
async function lockAndTakeNonce(
  tx: Tx,
  lock: TransferLock,
  wallet: { chainId: bigint; address: string; networkNonce: bigint; now: Date },
): Promise<{ row: Row | undefined; isUnsigned: boolean; nonce: bigint | undefined }> {
  const isUnsigned = `EXISTS (SELECT 1 FROM locked WHERE ${lock.unsignedWhen})`;
  const allocation = nonceAllocation(wallet, lock.params.length + 1, isUnsigned);
  const { rows } = await tx.query(
    `WITH locked AS (${lock.sql}), nonce AS (${allocation.sql})
     SELECT locked.*, EXISTS (SELECT 1 FROM locked) AS transfer_lock_found, ${isUnsigned} AS transfer_lock_unsigned,
            (SELECT nonce FROM nonce)::text AS transfer_lock_nonce
       FROM (VALUES (1)) AS one (x) LEFT JOIN locked ON true`,
    [...lock.params, ...allocation.params],
  );
  type Locked = Row & { transfer_lock_found: boolean; transfer_lock_unsigned: boolean; transfer_lock_nonce: string | null };
  const { transfer_lock_found: isFound, transfer_lock_unsigned: isLockedUnsigned, transfer_lock_nonce: nonce, ...row } = rows[0] as Locked;
  if (isLockedUnsigned && nonce === null) throw chainError('transfer_invariant_broken', 'The nonce was not taken with the lock');
  return { row: isFound ? row : undefined, isUnsigned: isLockedUnsigned, nonce: nonce === null ? undefined : BigInt(nonce) };
}
