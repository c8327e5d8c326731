/**
 * The filters of the earnings and payouts lists as the inputs hold them, and the query they make.
 * Dates are whole days in UTC: "from" is inclusive, "until" too (the API's `to` is exclusive, so
 * it gets the next midnight).
 */
export interface ListFilters {
  channelId: string;
  status: string;
  /** `YYYY-MM-DD` or empty. */
  from: string;
  /** `YYYY-MM-DD` or empty; inclusive. */
  until: string;
}

export const NO_FILTERS: ListFilters = { channelId: '', status: '', from: '', until: '' };

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function nextDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

/** The API query of the filters (`status` is the name of the status filter: `status` or `state`). */
export function listQuery(filters: ListFilters, statusName: 'status' | 'state' = 'status'): Record<string, string> {
  const query: Record<string, string> = {};
  if (filters.channelId) query.channelId = filters.channelId;
  if (filters.status) query[statusName] = filters.status;
  if (DAY.test(filters.from)) query.from = `${filters.from}T00:00:00Z`;
  if (DAY.test(filters.until)) query.to = `${nextDay(filters.until)}T00:00:00Z`;
  return query;
}

/** A date range that ends before it starts, said in words; undefined when fine. */
export function filtersProblem(filters: ListFilters): string | undefined {
  if (DAY.test(filters.from) && DAY.test(filters.until) && filters.until < filters.from) return 'The end date is before the start date';
  return undefined;
}

/** Explorer pages of a transaction on the network it was sent on (mainnets). */
const EXPLORERS: Record<string, string> = {
  ETH: 'https://etherscan.io/tx/',
  BASE: 'https://basescan.org/tx/',
  BSC: 'https://bscscan.com/tx/',
  BTC: 'https://mempool.space/tx/',
  LTC: 'https://litecoinspace.org/tx/',
  DOGE: 'https://dogechain.info/tx/',
  TRX: 'https://tronscan.org/#/transaction/',
  SOL: 'https://solscan.io/tx/',
  TON: 'https://tonviewer.com/transaction/',
  XRP: 'https://xrpscan.com/tx/',
};

export function explorerUrl(network: string, hash: string): string | undefined {
  const base = EXPLORERS[network];
  // Only hashes that look like one: the text goes into a URL.
  return base && /^(0x)?[0-9A-Za-z_-]{16,128}$/.test(hash) ? `${base}${hash}` : undefined;
}

/** What a payout's state means for the owner. */
export const PAYOUT_STATE_WORDS: Record<string, string> = {
  requested: 'requested: being quoted',
  held: 'held: above the platform’s outflow limits, waiting for an operator’s approval',
  deferred: 'deferred: below the exchange’s minimum; retried when more has accumulated',
  quoted: 'quoted',
  swap_created: 'exchange created',
  transfer_signed: 'transfer signed',
  transfer_broadcast: 'transfer sent, waiting for confirmations',
  awaiting_swap: 'waiting for the exchange',
  needs_attention: 'needs attention: the exchange failed and its support is on it; your money is safe',
  completed: 'completed',
  failed: 'failed',
  refunded: 'refunded: the amount is back on your balance and goes out with the next payout',
  cancelled: 'cancelled',
};

/** Saves text as a file through a temporary link (the export needs the bearer token, so no plain link). */
export function saveFile(filename: string, contentType: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: contentType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
