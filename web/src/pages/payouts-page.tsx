import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { maskAddress } from '../../../shared/wallets/payout-address';
import { type AnswerOf, must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { ErrorMessage, Spinner } from '../components/ui';
import { explorerUrl, listQuery, PAYOUT_STATE_WORDS } from '../forms/earnings-filters';
import { ExportButton, formatTime, ListFiltersForm, useChannelTitles } from './earnings-page';

type Payout = AnswerOf<'listPayouts'>['items'][number];

/** Our transfers leave the hot wallet on Ethereum; the payout reaches the owner on the destination's network. */
const HOT_WALLET_NETWORK = 'ETH';

function TransactionLink({ network, hash, label }: { network: string; hash: string | null; label: string }) {
  if (!hash) return <span className="muted">—</span>;
  const url = explorerUrl(network, hash);
  const short = hash.length > 20 ? `${hash.slice(0, 10)}…${hash.slice(-8)}` : hash;
  return url ? (
    <a href={url} target="_blank" rel="noopener noreferrer" className="mono" title={hash} data-testid="tx-link">
      {short}
      <span className="visually-hidden"> ({label.toLowerCase()} on the block explorer, opens in a new tab)</span>
    </a>
  ) : (
    <span className="mono">{hash}</span>
  );
}

export function PayoutCard({ payout, channelTitle }: { payout: Payout; channelTitle: string }) {
  const { breakdown } = payout;
  const asset = breakdown.asset;
  const rows: [string, string | null][] = [
    [breakdown.basis === 'balance' ? 'Claimed from your balance' : 'Gross (the payment’s outcome)', breakdown.gross],
    ['Payment processor fee', breakdown.processorFee],
    ['Platform fee', breakdown.platformFee],
    ['Sent from the hot wallet', breakdown.sent],
    ['Exchange spread', breakdown.swapSpread],
    ['Network fee charged to you', breakdown.networkFee],
    ['Net', breakdown.net],
  ];
  return (
    <li className="card payout" data-testid="payout">
      <div className="channel-card__head">
        <h3>
          {breakdown.sent} {asset} → {payout.destination.currency} on {payout.destination.network}
        </h3>
        <span className={`badge badge--${payout.state}`}>{payout.state.replace(/_/g, ' ')}</span>
      </div>
      <p className="muted">
        {channelTitle} · {payout.kind} payout · requested {formatTime(payout.requestedAt)}
        {payout.completedAt && ` · completed ${formatTime(payout.completedAt)}`}
      </p>
      {payout.state !== 'completed' && <p>{PAYOUT_STATE_WORDS[payout.state] ?? payout.state}{payout.failureCode ? ` (${payout.failureCode})` : ''}</p>}
      <dl className="facts">
        <dt>To</dt>
        <dd className="mono">
          {maskAddress(payout.destination.wallet)}
          {payout.destination.extraId && ` (${payout.destination.extraId})`}
        </dd>
        <dt>Received</dt>
        <dd>
          {payout.delivered.received
            ? `${payout.delivered.received} ${payout.destination.currency}`
            : payout.delivered.estimated
              ? `about ${payout.delivered.estimated} ${payout.destination.currency} (estimate)`
              : '—'}
        </dd>
        <dt>Transaction</dt>
        <dd>
          <TransactionLink network={payout.destination.network} hash={payout.transactionHashes.payout} label="Payout transaction" />
        </dd>
        {payout.transactionHashes.transfer && payout.transactionHashes.transfer !== payout.transactionHashes.payout && (
          <>
            <dt>Our transfer</dt>
            <dd>
              <TransactionLink network={HOT_WALLET_NETWORK} hash={payout.transactionHashes.transfer} label="Transfer" />
            </dd>
          </>
        )}
      </dl>
      <details>
        <summary>Breakdown</summary>
        <table className="breakdown">
          <caption className="visually-hidden">Breakdown of the payout in {asset}</caption>
          <tbody>
            {rows.map(([label, value]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td className="mono">{value === null ? 'not known yet' : `${value} ${asset}`}</td>
              </tr>
            ))}
            {breakdown.platformPaidNetworkFee && (
              <tr>
                <th scope="row">Gas paid by the platform (not deducted)</th>
                <td className="mono">
                  {breakdown.platformPaidNetworkFee.amount} {breakdown.platformPaidNetworkFee.asset}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </details>
    </li>
  );
}

/** Payouts with their breakdown, transaction links and the reason a payout waits; filters, paging, CSV. */
export function PayoutsPage() {
  const { api } = useAuth();
  const titleOf = useChannelTitles();
  const [query, setQuery] = useState<Record<string, string>>({});
  const payouts = useInfiniteQuery({
    queryKey: ['payouts', query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => must(api.GET('/payouts', { params: { query: { ...query, limit: '20', ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const items = payouts.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <>
      <h1>Payouts</h1>
      <ListFiltersForm statuses={Object.keys(PAYOUT_STATE_WORDS)} statusLabel="State" onApply={(filters) => setQuery(listQuery(filters, 'state'))}>
        <ExportButton kind="payouts" query={query} />
      </ListFiltersForm>
      {payouts.isPending ? (
        <Spinner />
      ) : payouts.isError ? (
        <ErrorMessage error={payouts.error} />
      ) : items.length === 0 ? (
        <p className="muted">No payouts match.</p>
      ) : (
        <ul className="channel-list">
          {items.map((payout) => (
            <PayoutCard key={payout.id} payout={payout} channelTitle={titleOf(payout.channelId)} />
          ))}
        </ul>
      )}
      {payouts.hasNextPage && (
        <button type="button" className="button" onClick={() => void payouts.fetchNextPage()} disabled={payouts.isFetchingNextPage}>
          {payouts.isFetchingNextPage ? 'Loading…' : 'Show older payouts'}
        </button>
      )}
    </>
  );
}
