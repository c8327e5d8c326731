import { ledgerError } from './errors.js';

/**
 * Debit-normal types (asset, expense) grow with positive amounts; credit-normal types (liability,
 * income, equity) grow with negative amounts. See `balanceOf`.
 */
export type LedgerAccountType = 'asset' | 'liability' | 'income' | 'expense' | 'equity';

/** What the path of an account code implies about the account. */
export interface LedgerAccountSpec {
  code: string;
  asset: string;
  type: LedgerAccountType;
  /** The channel an `owner:` account belongs to; null for platform accounts. */
  channelId: string | null;
  /** False for owner balances: no transaction may leave them below zero. */
  isNegativeBalanceAllowed: boolean;
}

const ACCOUNT_CODE = /^[a-z][a-z0-9_]*(:[a-z0-9_-]+)+$/;
const ASSET_CODE = /^[A-Z][A-Z0-9_]{1,31}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CODE_LENGTH = 200;

/**
 * The chart of accounts, by the path before the asset suffix. `owner:<channel id>` is matched
 * separately. A code whose path is not listed here is refused, so a typo cannot open an account.
 */
const ACCOUNT_PATHS: Record<string, LedgerAccountType> = {
  // Funds we hold on chain.
  hot_wallet: 'asset',
  // Funds the payment processor holds for us (received, not yet in the hot wallet).
  'external:nowpayments': 'asset',
  // Funds sent to the swap provider and not yet delivered or refunded.
  'changenow:in_flight': 'asset',
  // Owner balances committed to payouts that have not completed.
  'payouts:in_flight': 'liability',
  'platform:fees': 'income',
  'platform:capital': 'equity',
  'expense:processor_fees': 'expense',
  'expense:network_fees': 'expense',
  'expense:swap_losses': 'expense',
  // Refunds of settled payments whose owner share had already been paid out: the platform carries them.
  'expense:refund_losses': 'expense',
};

function assetSuffix(asset: string): string {
  if (typeof asset !== 'string' || !ASSET_CODE.test(asset)) {
    throw ledgerError('ledger_invalid_account', 'Asset codes look like ETH or USDT_ERC20', { asset: String(asset) });
  }
  return asset.toLowerCase();
}

function pathCode(path: string, asset: string): string {
  return `${path}:${assetSuffix(asset)}`;
}

/**
 * Builders for every account code the gateway posts to. Codes are paths ending in the lower-case
 * asset code, e.g. `owner:6f1c…:eth`, `platform:fees:usdt_erc20`.
 */
export const ledgerAccountCodes = {
  /** What we owe a channel's owner (liability, never negative). */
  owner(channelId: string, asset: string): string {
    if (typeof channelId !== 'string' || !UUID.test(channelId)) {
      throw ledgerError('ledger_invalid_account', 'Owner accounts need a lower-case channel uuid', {
        channelId: String(channelId),
      });
    }
    return pathCode(`owner:${channelId}`, asset);
  },
  hotWallet: (asset: string) => pathCode('hot_wallet', asset),
  nowpayments: (asset: string) => pathCode('external:nowpayments', asset),
  changenowInFlight: (asset: string) => pathCode('changenow:in_flight', asset),
  payoutsInFlight: (asset: string) => pathCode('payouts:in_flight', asset),
  platformFees: (asset: string) => pathCode('platform:fees', asset),
  platformCapital: (asset: string) => pathCode('platform:capital', asset),
  processorFees: (asset: string) => pathCode('expense:processor_fees', asset),
  networkFees: (asset: string) => pathCode('expense:network_fees', asset),
  swapLosses: (asset: string) => pathCode('expense:swap_losses', asset),
  refundLosses: (asset: string) => pathCode('expense:refund_losses', asset),
} as const;

/**
 * Reads an account code posted in `asset`: its type, owner channel and overdraft rule.
 *
 * @throws PermanentError `ledger_invalid_account` when the code is malformed, does not end in the
 *   asset, or names a path outside the chart of accounts.
 */
export function describeAccountCode(code: string, asset: string): LedgerAccountSpec {
  const suffix = assetSuffix(asset);
  if (typeof code !== 'string' || code.length > MAX_CODE_LENGTH || !ACCOUNT_CODE.test(code)) {
    throw ledgerError('ledger_invalid_account', 'Account codes are lower-case paths like owner:<channel id>:eth', {
      code: String(code).slice(0, MAX_CODE_LENGTH),
    });
  }
  if (!code.endsWith(`:${suffix}`)) {
    throw ledgerError('ledger_invalid_account', `Account code must end in :${suffix} to hold ${asset}`, { code, asset });
  }
  const path = code.slice(0, -(suffix.length + 1));
  const segments = path.split(':');
  if (segments[0] === 'owner') {
    const channelId = segments[1];
    if (segments.length !== 2 || channelId === undefined || !UUID.test(channelId)) {
      throw ledgerError('ledger_invalid_account', 'Owner accounts look like owner:<channel uuid>:<asset>', { code });
    }
    return { code, asset, type: 'liability', channelId, isNegativeBalanceAllowed: false };
  }
  const type = ACCOUNT_PATHS[path];
  if (type === undefined) {
    throw ledgerError('ledger_invalid_account', `Unknown ledger account path ${path}`, { code });
  }
  return { code, asset, type, channelId: null, isNegativeBalanceAllowed: true };
}

/** +1 for debit-normal types, -1 for credit-normal ones. */
export function normalSign(type: LedgerAccountType): 1n | -1n {
  return type === 'asset' || type === 'expense' ? 1n : -1n;
}
