import { Transaction } from 'ethers';
import { assertNoOpenTransaction, isUniqueViolation, type Queryable, type Tx } from '../db/index.js';
import { CHAIN_TRANSFER_COLUMNS, type ChainTransfer, retrieveChainTransfer, toChainTransfer } from './chain-transfer-rows.js';
import { buildTransfer, chooseFees, isTransferAsset, type TransferCall, withGasMargin } from './transfer-request.js';
import type { SigningDeps } from './transfer-deps.js';
import { allocateNonce } from './wallet-nonces.js';
import { chainError } from './errors.js';

/** Payout states from which a transfer may be signed (the states that can advance to `transfer_signed`). */
const SIGNABLE_PAYOUT_STATES = new Set(['quoted', 'swap_created']);
const DEFAULT_GAS_MARGIN_BPS = 2_000;

interface PayoutForTransfer {
  state: string;
  asset: string;
  amountUnits: bigint;
  /** The swap's deposit address when the payout has a swap, else the payout destination. */
  recipient: string;
}

async function readPayoutForTransfer(q: Queryable, payoutId: string, lock: boolean): Promise<PayoutForTransfer> {
  const { rows } = await q.query<{ state: string; asset: string; amount_units: string; destination_wallet: string }>(
    `SELECT state, asset, amount_units, destination_wallet FROM payouts WHERE id = $1${lock ? ' FOR NO KEY UPDATE' : ''}`,
    [payoutId],
  );
  const payout = rows[0];
  if (!payout) throw chainError('payout_not_found', 'No payout with this id.', { payoutId });
  const swaps = await q.query<{ deposit_address: string }>('SELECT deposit_address FROM swaps WHERE payout_id = $1', [payoutId]);
  return {
    state: payout.state,
    asset: payout.asset,
    amountUnits: BigInt(payout.amount_units),
    recipient: swaps.rows[0]?.deposit_address ?? payout.destination_wallet,
  };
}

function callFor(deps: SigningDeps, payoutId: string, payout: PayoutForTransfer): TransferCall {
  if (!isTransferAsset(payout.asset)) {
    throw chainError('unsupported_transfer_asset', 'The hot wallet cannot send this asset.', { payoutId, asset: payout.asset });
  }
  const tokenAddress = payout.asset === 'USDT_ERC20' ? deps.settings.tokenContracts.USDT_ERC20 : undefined;
  if (payout.asset === 'USDT_ERC20' && tokenAddress === undefined) {
    throw chainError('token_contract_not_configured', 'No USDT_ERC20 contract is configured.', { payoutId });
  }
  return buildTransfer({ asset: payout.asset, to: payout.recipient, amountUnits: payout.amountUnits, tokenAddress });
}

function assertSignable(payoutId: string, state: string): void {
  if (!SIGNABLE_PAYOUT_STATES.has(state)) {
    throw chainError('payout_not_ready_for_transfer', 'The payout is not in a state that may be sent.', { payoutId, state });
  }
}

export interface SignTransferInput {
  payoutId: string;
  /**
   * Runs in the signing transaction right after a NEW transfer row is inserted (not when an earlier
   * one is returned), e.g. to move the payout to `transfer_signed` atomically with the row.
   */
  onSigned?: (tx: Tx, transfer: ChainTransfer) => Promise<void>;
}

/**
 * Signs the payout's one transfer and stores it before anything is broadcast. Amount, asset and
 * recipient are re-read from the database (the swap's deposit address, else the payout destination).
 *
 * Network reads (chain id, fees, pending nonce, balances, gas estimate) happen first, outside any
 * transaction. Then one transaction locks the payout row, returns the existing transfer if there is
 * one (a retry never signs again), allocates the nonce from `wallet_nonces`, signs offline and
 * inserts the row with `signed_tx` and `tx_hash` in status `signed`.
 *
 * @returns the payout's transfer, and whether this call created it.
 * @throws TransientError `gas_price_above_cap`, `hot_wallet_insufficient_funds`, `chain_unavailable`;
 *   PermanentError `payout_not_found`, `payout_not_ready_for_transfer`, `unsupported_transfer_asset`,
 *   `chain_id_mismatch`, `transfer_would_revert`.
 */
export async function signAndStoreTransfer(
  deps: SigningDeps,
  input: SignTransferInput,
): Promise<{ transfer: ChainTransfer; isNew: boolean }> {
  assertNoOpenTransaction('signAndStoreTransfer');
  const { payoutId } = input;
  const existing = await retrieveChainTransfer(deps.db, payoutId);
  if (existing) return { transfer: existing, isNew: false };

  const payout = await readPayoutForTransfer(deps.db, payoutId, false);
  assertSignable(payoutId, payout.state);
  const call = callFor(deps, payoutId, payout);
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
      asset: payout.asset,
      ...context,
    });
  if (call.tokenContract !== null && account.tokenBalanceUnits < payout.amountUnits) {
    throw insufficient({ neededUnits: payout.amountUnits.toString(), balanceUnits: account.tokenBalanceUnits.toString() });
  }
  const gasLimit = withGasMargin(
    await deps.chain.estimateGas({ from, to: call.to, data: call.data, value: call.value }),
    deps.settings.gasLimitMarginBps ?? DEFAULT_GAS_MARGIN_BPS,
  );
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
  const { payoutId } = input;
  // The payout row lock serializes signers of one payout: the second waits here, then sees the row.
  const payout = await readPayoutForTransfer(tx, payoutId, true);
  const existing = await retrieveChainTransfer(tx, payoutId);
  if (existing) return { transfer: existing, isNew: false };
  assertSignable(payoutId, payout.state);
  const current = callFor(deps, payoutId, payout);
  if (current.to !== call.to || current.data !== call.data || current.value !== call.value) {
    // A swap was created between our reads: estimate again on the next attempt.
    throw chainError('transfer_inputs_changed', 'The payout changed while its transfer was prepared; retry.', { payoutId });
  }

  const now = deps.clock.now();
  const nonce = await allocateNonce(tx, { chainId: deps.settings.chainId, address: from, networkNonce: prepared.networkNonce, now });
  const signedTx = (
    await deps.wallet.signTransaction({
      type: 2,
      chainId: deps.settings.chainId,
      nonce: Number(nonce),
      to: call.to,
      value: call.value,
      data: call.data,
      gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
  ).toLowerCase();
  const txHash = Transaction.from(signedTx).hash?.toLowerCase();
  if (!txHash) throw chainError('transfer_invariant_broken', 'signAndStoreTransfer: the signed transaction has no hash');

  const { rows } = await tx.query(
    `INSERT INTO chain_transfers (payout_id, chain_id, from_address, to_address, token_contract, asset, amount_units, nonce,
                                  gas_limit, max_fee_per_gas, max_priority_fee_per_gas, signed_tx, tx_hash, status,
                                  signed_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'signed', $14, $14, $14)
     RETURNING ${CHAIN_TRANSFER_COLUMNS}`,
    [
      payoutId,
      deps.settings.chainId.toString(),
      from,
      call.recipient,
      call.tokenContract,
      payout.asset,
      payout.amountUnits.toString(),
      nonce.toString(),
      gasLimit.toString(),
      fees.maxFeePerGas.toString(),
      fees.maxPriorityFeePerGas.toString(),
      signedTx,
      txHash,
      now,
    ],
  );
  const transfer = toChainTransfer(rows[0] as Record<string, unknown>);
  await input.onSigned?.(tx, transfer);
  return { transfer, isNew: true };
}
