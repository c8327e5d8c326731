import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApi } from '../api/client';
import { type Auth, AuthProvider, createQueryClient } from '../auth/auth-context';
import { createAuthSession } from '../auth/auth-session';
import { explorerUrl, filtersProblem, listQuery, NO_FILTERS } from '../forms/earnings-filters';
import { EarningsPage } from './earnings-page';
import { PayoutsPage } from './payouts-page';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const TX = `0x${'ab'.repeat(32)}`;
const payout = (id: string, state: string, net: string | null) => ({
  id,
  channelId: 'ch_1',
  kind: 'instant',
  state,
  paymentId: 'pay_1',
  destination: { currency: 'USDT', network: 'ETH', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', extraId: null },
  breakdown: {
    asset: 'ETH',
    basis: 'payment',
    gross: '0.0100',
    processorFee: '0',
    platformFee: '0.0003',
    sent: '0.0097',
    swapSpread: net === null ? null : '0.0001',
    networkFee: '0',
    platformPaidNetworkFee: { asset: 'ETH', amount: '0.00002' },
    net,
  },
  delivered: { estimated: '29.5', received: net === null ? null : '29.2' },
  transactionHashes: { transfer: TX, payout: net === null ? null : TX },
  failureCode: null,
  requestedAt: '2026-03-01T12:00:00Z',
  completedAt: net === null ? null : '2026-03-01T12:05:00Z',
});

/** A signed-in page against a fake gateway; `answer` gets the path and query of each request. */
async function renderSignedIn(page: ReactNode, answer: (path: string, query: URLSearchParams) => Response) {
  const requests: string[] = [];
  const gateway = async (request: Request) => {
    const url = new URL(request.url, 'http://localhost');
    const path = url.pathname.replace('/api/v1', '');
    requests.push(`${path}${url.search}`);
    if (path === '/auth/login') return json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.now() + 900_000).toISOString() });
    if (path === '/channels') return json(200, { channels: [{ id: 'ch_1', openChat: { title: 'Market notes' } }], count: 1, maxChannels: 10 });
    return answer(path, url.searchParams);
  };
  const session = createAuthSession({ apiBase: 'http://localhost/api/v1', fetch: gateway });
  await session.logIn('owner@example.com', 'x');
  const auth: Auth = { session, api: createApi((request) => session.fetch(request)), publicApi: createApi(gateway) };
  render(
    <AuthProvider auth={auth}>
      <QueryClientProvider client={createQueryClient()}>{page}</QueryClientProvider>
    </AuthProvider>,
  );
  return requests;
}

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe('the list filters', () => {
  it('make the API query: whole UTC days, the end day included', () => {
    expect(listQuery(NO_FILTERS)).toEqual({});
    expect(listQuery({ channelId: 'ch_1', status: 'finished', from: '2026-02-27', until: '2026-02-28' })).toEqual({
      channelId: 'ch_1',
      status: 'finished',
      from: '2026-02-27T00:00:00Z',
      to: '2026-03-01T00:00:00Z',
    });
    expect(listQuery({ ...NO_FILTERS, status: 'held' }, 'state')).toEqual({ state: 'held' });
    expect(filtersProblem({ ...NO_FILTERS, from: '2026-03-02', until: '2026-03-01' })).toBe('The end date is before the start date');
  });

  it('link transactions to the explorer of their network, and only hashes', () => {
    expect(explorerUrl('ETH', TX)).toBe(`https://etherscan.io/tx/${TX}`);
    expect(explorerUrl('TRX', 'a'.repeat(64))).toBe(`https://tronscan.org/#/transaction/${'a'.repeat(64)}`);
    expect(explorerUrl('ETH', 'javascript:alert(1)')).toBeUndefined();
    expect(explorerUrl('NOPE', TX)).toBeUndefined();
  });
});

describe('the payouts page', () => {
  it('shows each payout’s breakdown and transaction link, why one waits, and pages on with the cursor', async () => {
    const user = userEvent.setup();
    const requests = await renderSignedIn(<PayoutsPage />, (path, query) => {
      if (path !== '/payouts') return json(404, {});
      return query.get('cursor') === 'next-1' ? json(200, { items: [payout('po_3', 'held', null)], nextCursor: null }) : json(200, { items: [payout('po_1', 'completed', '0.0096'), payout('po_2', 'deferred', null)], nextCursor: 'next-1' });
    });
    const cards = await screen.findAllByTestId('payout');
    expect(cards).toHaveLength(2);
    const completed = within(cards[0]!);
    expect(completed.getByRole('heading', { name: '0.0097 ETH → USDT on ETH' })).toBeTruthy();
    expect(completed.getByRole('link', { name: /payout transaction on the block explorer/ }).getAttribute('href')).toBe(`https://etherscan.io/tx/${TX}`);
    expect(completed.getByRole('row', { name: /^Net / }).textContent).toContain('0.0096 ETH');
    expect(completed.getByRole('row', { name: /Exchange spread/ }).textContent).toContain('0.0001 ETH');
    expect(completed.getByText('0x7099…79C8')).toBeTruthy(); // the wallet, masked
    expect(within(cards[1]!).getByText(/below the exchange’s minimum/)).toBeTruthy();
    expect(within(cards[1]!).getByRole('row', { name: /^Net / }).textContent).toContain('not known yet');

    await user.click(screen.getByRole('button', { name: 'Show older payouts' }));
    await waitFor(() => expect(screen.getAllByTestId('payout')).toHaveLength(3));
    expect(screen.getByText(/waiting for an operator’s approval/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Show older payouts' })).toBeNull();
    expect(requests.filter((request) => request.startsWith('/payouts'))).toEqual(['/payouts?limit=20', '/payouts?limit=20&cursor=next-1']);
  });

  it('filters by state and downloads the CSV of the same filter', async () => {
    const user = userEvent.setup();
    const created: Blob[] = [];
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      created.push(blob as Blob);
      return 'blob:csv';
    });
    // The download link's click would navigate this test document away (a browser saves the file instead).
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    const requests = await renderSignedIn(<PayoutsPage />, (path) => {
      if (path === '/payouts') return json(200, { items: [], nextCursor: null });
      if (path === '/exports/payouts') return json(200, { filename: 'payouts-2026-03-01.csv', contentType: 'text/csv; charset=utf-8', csv: 'id,state\r\npo_1,held\r\n' });
      return json(404, {});
    });
    await screen.findByText('No payouts match.');
    await user.selectOptions(screen.getByLabelText('State'), 'held');
    await user.click(screen.getByRole('button', { name: 'Show' }));
    await user.click(screen.getByRole('button', { name: 'Download CSV' }));
    expect(await screen.findByText('Saved payouts-2026-03-01.csv')).toBeTruthy();
    expect(await created[0]?.text()).toBe('id,state\r\npo_1,held\r\n');
    expect(clicked).toHaveBeenCalledOnce();
    expect(requests).toContain('/payouts?state=held&limit=20');
    expect(requests).toContain('/exports/payouts?state=held');
  });
});

describe('the earnings page', () => {
  it('shows balances per channel and in total, and the payments', async () => {
    await renderSignedIn(<EarningsPage />, (path) => {
      if (path === '/balances') return json(200, { totals: [{ asset: 'ETH', available: '0.25', inPayouts: '0.01' }], channels: [{ channelId: 'ch_1', balances: [{ asset: 'ETH', available: '0.25', inPayouts: '0.01' }] }] });
      if (path === '/payments') {
        return json(200, {
          items: [
            {
              id: 'pay_1',
              channelId: 'ch_1',
              kind: 'subscription',
              status: 'finished',
              isSettled: true,
              priceUsd: '9.99',
              durationDays: 30,
              subscriber: { telegramUserId: '1001', username: 'alice' },
              paid: { currency: 'eth', amount: '0.0031', actuallyPaid: '0.0031' },
              outcome: { asset: 'ETH', amount: '0.0031' },
              platformFee: { asset: 'ETH', amount: '0.0001' },
              ownerNet: { asset: 'ETH', amount: '0.0030' },
              createdAt: '2026-03-01T12:00:00Z',
              settledAt: '2026-03-01T12:01:00Z',
            },
          ],
          nextCursor: null,
        });
      }
      if (path === '/subscriptions') return json(200, { items: [], nextCursor: null });
      return json(404, {});
    });
    const balances = await screen.findByRole('table', { name: 'Balances per channel and asset' }, { timeout: 5_000 });
    expect(within(balances).getByRole('row', { name: /Market notes ETH 0.25 0.01/ })).toBeTruthy();
    expect(within(balances).getByRole('row', { name: /Total ETH 0.25 0.01/ })).toBeTruthy();
    const payments = await screen.findByRole('table', { name: 'Payments, newest first' }, { timeout: 5_000 });
    expect(within(payments).getByRole('row', { name: /@alice/ }).textContent).toContain('0.0030 ETH');
    expect(await screen.findByText('No subscriptions match.')).toBeTruthy();
  });
});
