import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { type AnswerOf, must, type RevenueInterval } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { bucketLabel, RevenueChart } from '../components/revenue-chart';
import { ErrorMessage, SelectField, Spinner, TextField } from '../components/ui';
import { filtersProblem, type ListFilters, listQuery, NO_FILTERS, saveFile } from '../forms/earnings-filters';
import { useBalances, useChannels, useRevenue } from './queries';

type Payment = AnswerOf<'listPayments'>['items'][number];
type Subscription = AnswerOf<'listSubscriptions'>['items'][number];

const PAYMENT_STATUSES = ['finished', 'partially_paid', 'waiting', 'confirming', 'confirmed', 'sending', 'failed', 'refunded', 'expired'];

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';
}

/** Channel titles by id, for lists that carry only the id. */
export function useChannelTitles(): (channelId: string) => string {
  const channels = useChannels();
  const titles = new Map(channels.data?.channels.map((channel) => [channel.id, channel.openChat.title]));
  return (channelId) => titles.get(channelId) ?? channelId;
}

/** Channel, status and day range; applied on submit, so typing a date does not fetch on every key. */
export function ListFiltersForm({
  statuses,
  statusLabel,
  withDates = true,
  onApply,
  children,
}: {
  statuses: string[];
  statusLabel: string;
  withDates?: boolean;
  onApply: (filters: ListFilters) => void;
  children?: ReactNode;
}) {
  const channels = useChannels();
  const [draft, setDraft] = useState<ListFilters>(NO_FILTERS);
  const [problem, setProblem] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = filtersProblem(draft);
    setProblem(found);
    if (!found) onApply(draft);
  };
  return (
    <form className="filters" onSubmit={submit} noValidate>
      <SelectField label="Channel" value={draft.channelId} onChange={(event) => setDraft({ ...draft, channelId: event.target.value })}>
        <option value="">All channels</option>
        {channels.data?.channels.map((channel) => (
          <option key={channel.id} value={channel.id}>
            {channel.openChat.title}
          </option>
        ))}
      </SelectField>
      <SelectField label={statusLabel} value={draft.status} onChange={(event) => setDraft({ ...draft, status: event.target.value })}>
        <option value="">Any</option>
        {statuses.map((status) => (
          <option key={status} value={status}>
            {status.replace(/_/g, ' ')}
          </option>
        ))}
      </SelectField>
      {withDates && (
        <>
          <TextField label="From (UTC day)" type="date" value={draft.from} onChange={(event) => setDraft({ ...draft, from: event.target.value })} />
          <TextField label="Until (UTC day, included)" type="date" value={draft.until} onChange={(event) => setDraft({ ...draft, until: event.target.value })} error={problem} />
        </>
      )}
      <div className="actions filters__actions">
        <button type="submit" className="button">
          Show
        </button>
        {children}
      </div>
    </form>
  );
}

/** The CSV export of a list with its filters, saved as a file. */
export function ExportButton({ kind, query }: { kind: 'payments' | 'payouts'; query: Record<string, string> }) {
  const { api } = useAuth();
  const exported = useMutation({
    mutationFn: async () => {
      const file = await must(kind === 'payments' ? api.GET('/exports/payments', { params: { query } }) : api.GET('/exports/payouts', { params: { query } }));
      saveFile(file.filename, file.contentType, file.csv);
      return file.filename;
    },
  });
  return (
    <>
      <button type="button" className="button" onClick={() => exported.mutate()} disabled={exported.isPending}>
        {exported.isPending ? 'Exporting…' : 'Download CSV'}
      </button>
      {exported.isSuccess && (
        <span role="status" className="muted">
          Saved {exported.data}
        </span>
      )}
      {exported.isError && <ErrorMessage error={exported.error} />}
    </>
  );
}

function money(amount: { asset: string; amount: string } | null): string {
  return amount ? `${amount.amount} ${amount.asset}` : '—';
}

function PaymentsSection() {
  const { api } = useAuth();
  const titleOf = useChannelTitles();
  const [query, setQuery] = useState<Record<string, string>>({});
  const payments = useInfiniteQuery({
    queryKey: ['payments', query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => must(api.GET('/payments', { params: { query: { ...query, limit: '25', ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const items: Payment[] = payments.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section className="card" aria-labelledby="payments">
      <h2 id="payments">Payments</h2>
      <ListFiltersForm statuses={PAYMENT_STATUSES} statusLabel="Status" onApply={(filters) => setQuery(listQuery(filters))}>
        <ExportButton kind="payments" query={query} />
      </ListFiltersForm>
      {payments.isPending ? (
        <Spinner />
      ) : payments.isError ? (
        <ErrorMessage error={payments.error} />
      ) : items.length === 0 ? (
        <p className="muted">No payments match.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Payments, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Channel</th>
                <th scope="col">What</th>
                <th scope="col">Subscriber</th>
                <th scope="col">Status</th>
                <th scope="col">Paid</th>
                <th scope="col">Your share</th>
              </tr>
            </thead>
            <tbody>
              {items.map((payment) => (
                <tr key={payment.id}>
                  <td>{formatTime(payment.createdAt)}</td>
                  <td>{titleOf(payment.channelId)}</td>
                  <td>
                    {payment.kind === 'donation' ? 'Donation' : `$${payment.priceUsd}${payment.durationDays ? ` · ${payment.durationDays} d` : ''}`}
                  </td>
                  <td>{payment.subscriber.username ? `@${payment.subscriber.username}` : payment.subscriber.telegramUserId}</td>
                  <td>{payment.status.replace(/_/g, ' ')}</td>
                  <td className="mono">{payment.paid.actuallyPaid ? `${payment.paid.actuallyPaid} ${payment.paid.currency ?? ''}` : '—'}</td>
                  <td className="mono">{money(payment.ownerNet)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {payments.hasNextPage && (
        <button type="button" className="button" onClick={() => void payments.fetchNextPage()} disabled={payments.isFetchingNextPage}>
          {payments.isFetchingNextPage ? 'Loading…' : 'Show older payments'}
        </button>
      )}
    </section>
  );
}

function SubscriptionsSection() {
  const { api } = useAuth();
  const titleOf = useChannelTitles();
  const [query, setQuery] = useState<Record<string, string>>({});
  const subscriptions = useInfiniteQuery({
    queryKey: ['subscriptions', query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => must(api.GET('/subscriptions', { params: { query: { ...query, limit: '25', ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const items: Subscription[] = subscriptions.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section className="card" aria-labelledby="subscriptions">
      <h2 id="subscriptions">Subscriptions</h2>
      <ListFiltersForm statuses={['active', 'expired']} statusLabel="Subscription status" withDates={false} onApply={(filters) => setQuery(listQuery(filters))} />
      {subscriptions.isPending ? (
        <Spinner />
      ) : subscriptions.isError ? (
        <ErrorMessage error={subscriptions.error} />
      ) : items.length === 0 ? (
        <p className="muted">No subscriptions match.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Subscriptions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Subscriber</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Access until</th>
                <th scope="col">Periods paid</th>
              </tr>
            </thead>
            <tbody>
              {items.map((subscription) => (
                <tr key={subscription.id}>
                  <td>{subscription.subscriber.username ? `@${subscription.subscriber.username}` : subscription.subscriber.telegramUserId}</td>
                  <td>{titleOf(subscription.channelId)}</td>
                  <td>{subscription.status}</td>
                  <td>{formatTime(subscription.expiresAt)}</td>
                  <td>{subscription.periodCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {subscriptions.hasNextPage && (
        <button type="button" className="button" onClick={() => void subscriptions.fetchNextPage()} disabled={subscriptions.isFetchingNextPage}>
          {subscriptions.isFetchingNextPage ? 'Loading…' : 'Show older subscriptions'}
        </button>
      )}
    </section>
  );
}

/** Earnings: what is owed per asset (in total and per channel), the payments and the subscriptions. */
const INTERVALS: { value: RevenueInterval; label: string }[] = [
  { value: 'day', label: 'Last 30 days, by day' },
  { value: 'week', label: 'Last 26 weeks, by week' },
  { value: 'month', label: 'Last 12 months, by month' },
];

/** What subscribers paid over time, as bars, with the exact figures in a table beneath. */
function RevenueSection() {
  const channels = useChannels();
  const [interval, setInterval] = useState<RevenueInterval>('day');
  const [channelId, setChannelId] = useState('');
  const revenue = useRevenue(interval, channelId);
  return (
    <section className="card" aria-labelledby="revenue">
      <h2 id="revenue">Revenue</h2>
      <p className="hint">What subscribers paid (the price in USD) for payments settled in each period, UTC; refunds left out, before fees.</p>
      <div className="filters">
        <SelectField label="Period" value={interval} onChange={(event) => setInterval(event.target.value as RevenueInterval)}>
          {INTERVALS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </SelectField>
        <SelectField label="Channel" value={channelId} onChange={(event) => setChannelId(event.target.value)}>
          <option value="">All channels</option>
          {channels.data?.channels.map((channel) => (
            <option key={channel.id} value={channel.id}>
              {channel.openChat.title}
            </option>
          ))}
        </SelectField>
      </div>
      {revenue.isPending ? (
        <Spinner />
      ) : revenue.isError ? (
        <ErrorMessage error={revenue.error} />
      ) : (
        <>
          <p>
            <strong data-testid="revenue-total">${revenue.data.totalUsd}</strong> from {revenue.data.payments} {revenue.data.payments === 1 ? 'payment' : 'payments'}
          </p>
          <RevenueChart revenue={revenue.data} />
          <details>
            <summary>The figures as a table</summary>
            <div className="table-scroll">
              <table>
                <caption className="visually-hidden">Revenue per period</caption>
                <thead>
                  <tr>
                    <th scope="col">Period</th>
                    <th scope="col">Revenue</th>
                    <th scope="col">Payments</th>
                  </tr>
                </thead>
                <tbody>
                  {revenue.data.points.map((point) => (
                    <tr key={point.start}>
                      <td>{bucketLabel(point.start, revenue.data.interval)}</td>
                      <td className="mono">${point.revenueUsd}</td>
                      <td>{point.payments}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}

export function EarningsPage() {
  const balances = useBalances();
  const titleOf = useChannelTitles();
  return (
    <>
      <h1>Earnings</h1>
      <RevenueSection />
      <section className="card" aria-labelledby="balances">
        <h2 id="balances">Owed to you</h2>
        <p className="hint">Your share of settled payments not yet paid out (available), and what payouts on their way carry (in payouts).</p>
        {balances.isPending ? (
          <Spinner />
        ) : balances.isError ? (
          <ErrorMessage error={balances.error} />
        ) : balances.data.totals.length === 0 ? (
          <p className="muted">Nothing yet: balances appear with the first settled payment.</p>
        ) : (
          <div className="table-scroll">
            <table>
              <caption className="visually-hidden">Balances per channel and asset</caption>
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  <th scope="col">Asset</th>
                  <th scope="col">Available</th>
                  <th scope="col">In payouts</th>
                </tr>
              </thead>
              <tbody>
                {balances.data.channels.flatMap((entry) =>
                  entry.balances.map((balance) => (
                    <tr key={`${entry.channelId}-${balance.asset}`}>
                      <td>{titleOf(entry.channelId)}</td>
                      <td>{balance.asset}</td>
                      <td className="mono">{balance.available}</td>
                      <td className="mono">{balance.inPayouts}</td>
                    </tr>
                  )),
                )}
                {balances.data.totals.map((total) => (
                  <tr key={`total-${total.asset}`} className="total-row">
                    <th scope="row">Total</th>
                    <td>{total.asset}</td>
                    <td className="mono">{total.available}</td>
                    <td className="mono">{total.inPayouts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <PaymentsSection />
      <SubscriptionsSection />
    </>
  );
}
