import type { Db } from '../db/index.js';
import { comparedAssets, type HotWalletAsset, type HotWalletTarget } from './hot-wallet-assets.js';
import { type HotWalletBooks, type PaymentInBooks, readHotWalletBooks } from './hot-wallet-books.js';
import type { HotWalletChain, SettledTransaction, WalletHoldings } from './hot-wallet-chain.js';

export type Verdict = 'matched' | 'surplus' | 'deficit';

/**
 * One asset of the hot wallet: the chain against the ledger, with what is legitimately in flight
 * between them. All amounts in base units (wei, USDT micro-units), signed:
 *
 *   chain = ledger + opening + transfersInFlight − gasNotBooked + receivedNotBooked + unexplained
 *
 * `unexplained` is 0 when every unit is booked; > 0 is a surplus (funds the ledger does not know of),
 * < 0 a deficit (money the ledger says is there and the chain does not hold).
 */
export interface AssetComparison {
  asset: HotWalletAsset;
  /** The wallet's balance on chain at `blockNumber`. */
  chainUnits: bigint;
  /** The `hot_wallet:<asset>` balance. */
  ledgerUnits: bigint;
  /** What the wallet held that the books never knew of when watching began (a test chain's genesis funds); normally 0. */
  openingUnits: bigint;
  /** Ledger already took it out, chain not yet (broadcast, not mined; reverted, return not booked); negative when the chain paid what is not booked yet. */
  transfersInFlightUnits: bigint;
  /** Gas the chain charged for mined transfers whose `network_fee` is not booked yet (ETH only). */
  gasNotBookedUnits: bigint;
  /** Payment outcomes that reached the wallet and are not booked (awaiting settle-payment; an underpayment below tolerance). */
  receivedNotBookedUnits: bigint;
  /** opening + transfersInFlight − gasNotBooked + receivedNotBooked. */
  inFlightUnits: bigint;
  /** chain − ledger − inFlight. */
  unexplainedUnits: bigint;
  verdict: Verdict;
}

/** A transfer whose books and chain differ at the compared block. */
export interface InFlightTransfer {
  payoutId: string;
  /** The attempt mined, else the latest one signed. */
  txHash: string;
  asset: string;
  onChain: 'not_mined' | 'mined' | 'reverted';
  /** Its share of `transfersInFlightUnits` (in `asset`). */
  valueUnits: bigint;
  /** Its share of `gasNotBookedUnits` (wei). */
  gasNotBookedWei: bigint;
}

export interface HotWalletPosition {
  chainId: bigint;
  /** Lower-case. */
  address: string;
  blockNumber: bigint;
  assets: AssetComparison[];
  transfers: InFlightTransfer[];
  payments: PaymentInBooks[];
  /**
   * False when the chain counts more transactions from the wallet than the gateway ever signed, even
   * after reading again: a transaction the gateway did not sign left the wallet (its value and gas
   * then show as a deficit).
   */
  isEveryTransactionKnown: boolean;
}

export interface CompareInput {
  assets: readonly HotWalletAsset[];
  books: HotWalletBooks;
  holdings: WalletHoldings;
  tokenContracts: HotWalletTarget['tokenContracts'];
  /** Per transfer of the books without a recorded receipt: its attempt mined by `holdings.blockNumber`, if any. */
  minedByBlock: ReadonlyMap<string, (SettledTransaction & { txHash: string }) | undefined>;
  openingUnits?: Partial<Record<HotWalletAsset, bigint>>;
}

const verdictOf = (unexplained: bigint): Verdict => (unexplained === 0n ? 'matched' : unexplained > 0n ? 'surplus' : 'deficit');

/** The comparison, from the books and the chain read at one block (pure: every figure is an input). */
export function compareHotWallet(input: CompareInput): Pick<HotWalletPosition, 'assets' | 'transfers' | 'payments'> {
  const transfers: InFlightTransfer[] = [];
  for (const transfer of input.books.transfers) {
    const mined = transfer.recorded ?? input.minedByBlock.get(transfer.payoutId);
    const chainValueOut = mined?.isSuccess ? transfer.amountUnits : 0n;
    const chainGasOut = mined ? mined.feeWei : 0n;
    const valueUnits = transfer.ledgerValueOutUnits - chainValueOut;
    const gasNotBookedWei = chainGasOut - transfer.ledgerGasOutWei;
    if (valueUnits === 0n && gasNotBookedWei === 0n) continue;
    transfers.push({
      payoutId: transfer.payoutId,
      txHash: mined?.txHash ?? transfer.txHashes.at(-1) ?? '',
      asset: transfer.asset,
      onChain: mined === undefined ? 'not_mined' : mined.isSuccess ? 'mined' : 'reverted',
      valueUnits,
      gasNotBookedWei,
    });
  }
  const payments = input.books.payments.filter((payment) => input.assets.some((asset) => asset === payment.asset));
  const assets = input.assets.map((asset): AssetComparison => {
    const contract = input.tokenContracts[asset as keyof HotWalletTarget['tokenContracts']];
    const chainUnits = asset === 'ETH' ? input.holdings.weiUnits : (input.holdings.tokenUnits.get(contract?.toLowerCase() ?? '') ?? 0n);
    const ledgerUnits = input.books.ledgerUnits.get(asset) ?? 0n;
    const openingUnits = input.openingUnits?.[asset] ?? 0n;
    const transfersInFlightUnits = transfers.filter((transfer) => transfer.asset === asset).reduce((sum, transfer) => sum + transfer.valueUnits, 0n);
    const gasNotBookedUnits = asset === 'ETH' ? transfers.reduce((sum, transfer) => sum + transfer.gasNotBookedWei, 0n) : 0n;
    const receivedNotBookedUnits = payments.filter((payment) => payment.asset === asset).reduce((sum, payment) => sum + payment.arrivedUnits - payment.bookedUnits, 0n);
    const inFlightUnits = openingUnits + transfersInFlightUnits - gasNotBookedUnits + receivedNotBookedUnits;
    const unexplainedUnits = chainUnits - ledgerUnits - inFlightUnits;
    return {
      asset,
      chainUnits,
      ledgerUnits,
      openingUnits,
      transfersInFlightUnits,
      gasNotBookedUnits,
      receivedNotBookedUnits,
      inFlightUnits,
      unexplainedUnits,
      verdict: verdictOf(unexplainedUnits),
    };
  });
  return { assets, transfers, payments };
}

export interface PositionDeps {
  db: Db;
  chain: HotWalletChain;
}

export interface PositionOptions {
  /** Per asset: what the wallet held unbooked when watching began (a chaos run's starting balances). Default 0. */
  openingUnits?: Partial<Record<HotWalletAsset, bigint>>;
  /** Snapshots taken at most, when transactions signed after the snapshot were mined before the block. Default 3. */
  maxReads?: number;
}

/**
 * Reads the hot wallet's position: the books in one database snapshot, then the chain at one block
 * after it. That order keeps the comparison exact while money moves: whatever the ledger booked as
 * received was on chain before it was booked, and a transfer in the snapshot is judged by whether its
 * receipt is in that block. The one thing the snapshot can miss is a transfer signed after it and
 * mined by the block; the wallet's nonce at the block shows it, and the books are read again.
 *
 * @throws TransientError `chain_unavailable` (and the database's errors).
 */
export async function readHotWalletPosition(deps: PositionDeps, target: HotWalletTarget, options: PositionOptions = {}): Promise<HotWalletPosition> {
  const assets = comparedAssets(target);
  const contracts = assets.flatMap((asset) => (asset === 'ETH' ? [] : [target.tokenContracts[asset] as string]));
  const address = target.address.toLowerCase();
  const maxReads = options.maxReads ?? 3;
  for (let read = 1; ; read++) {
    const books = await deps.db.transaction((tx) => readHotWalletBooks(tx, { chainId: target.chainId, address }, assets), { isolation: 'repeatable read' });
    const holdings = await deps.chain.readHoldings(address, contracts);
    const isEveryTransactionKnown = books.nextNonce === null || holdings.nonce <= books.nextNonce;
    if (!isEveryTransactionKnown && read < maxReads) continue;
    const minedByBlock = new Map<string, (SettledTransaction & { txHash: string }) | undefined>();
    for (const transfer of books.transfers) {
      if (transfer.recorded) continue;
      let mined: (SettledTransaction & { txHash: string }) | undefined;
      for (const txHash of [...transfer.txHashes].reverse()) {
        const receipt = await deps.chain.receiptAt(txHash, holdings.blockNumber);
        if (receipt) {
          mined = { ...receipt, txHash };
          break;
        }
      }
      minedByBlock.set(transfer.payoutId, mined);
    }
    const compared = compareHotWallet({ assets, books, holdings, tokenContracts: target.tokenContracts, minedByBlock, openingUnits: options.openingUnits });
    return { chainId: target.chainId, address, blockNumber: holdings.blockNumber, ...compared, isEveryTransactionKnown };
  }
}
