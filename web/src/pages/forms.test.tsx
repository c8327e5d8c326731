import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiErrorOf } from '../api/api-error';
import { createApi } from '../api/client';
import { type Auth, AuthProvider, createQueryClient } from '../auth/auth-context';
import { createAuthSession } from '../auth/auth-session';
import { emptyChannelForm } from '../forms/channel-form';
import { LogInPage, SignUpPage } from './auth-pages';
import { ChannelForm } from './channel-form-page';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const PAYOUT_OPTIONS = {
  options: [
    { currency: 'ETH', network: 'ETH', currencyName: 'Ether', networkName: 'Ethereum', extraIdName: null, addressHint: 'Starts with 0x, followed by 40 characters 0-9 and a-f.' },
    { currency: 'USDT', network: 'ETH', currencyName: 'Tether', networkName: 'Ethereum', extraIdName: null, addressHint: 'Starts with 0x, followed by 40 characters 0-9 and a-f.' },
    { currency: 'XRP', network: 'XRP', currencyName: 'XRP', networkName: 'XRP Ledger', extraIdName: 'destination tag', addressHint: 'Starts with r, 25 to 35 characters.' },
  ],
};

/** The pages with a fake gateway behind them: `answer` decides each request's response. */
function renderPage(page: ReactNode, answer: (path: string, body: unknown) => Response) {
  const requests: { path: string; body: unknown }[] = [];
  const gateway = async (request: Request) => {
    const path = new URL(request.url, 'http://localhost').pathname.replace('/api/v1', '');
    const text = await request.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    requests.push({ path, body });
    return answer(path, body);
  };
  const session = createAuthSession({ apiBase: 'http://localhost/api/v1', fetch: gateway });
  const auth: Auth = { session, api: createApi((request) => session.fetch(request)), publicApi: createApi(gateway) };
  render(
    <AuthProvider auth={auth}>
      <QueryClientProvider client={createQueryClient()}>{page}</QueryClientProvider>
    </AuthProvider>,
  );
  return { requests, session };
}

beforeEach(() => window.history.replaceState(null, '', '/login?next=%2Fchannels%2Fch_1'));
afterEach(cleanup);

describe('the log-in page', () => {
  it('shows a wrong password as an error on the page, keeps what was typed and stays put', async () => {
    const user = userEvent.setup();
    const { requests } = renderPage(<LogInPage />, () => json(401, { error: { code: 'invalid_credentials', message: 'Wrong email or password' }, requestId: 'r1' }));
    await user.type(screen.getByLabelText('Email'), 'owner@example.com');
    await user.type(screen.getByLabelText('Password'), 'not-the-password');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', expect.stringContaining('That email and password do not match an account.'));
    expect(requests.map((request) => request.path)).toEqual(['/auth/login']); // no refresh attempt
    expect(window.location.pathname).toBe('/login');
    expect(screen.getByLabelText<HTMLInputElement>('Email').value).toBe('owner@example.com');
  });

  it('goes back to the page that was asked for after logging in', async () => {
    const user = userEvent.setup();
    const { session } = renderPage(<LogInPage />, () => json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.now() + 900_000).toISOString() }));
    await user.type(screen.getByLabelText('Email'), 'owner@example.com');
    await user.type(screen.getByLabelText('Password'), 'the-password');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(window.location.pathname).toBe('/channels/ch_1'));
    expect(session.status()).toBe('signed-in');
  });

  it('checks the fields before sending anything, and labels every control', async () => {
    const user = userEvent.setup();
    const { requests } = renderPage(<LogInPage />, () => json(500, {}));
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(screen.getByLabelText('Email').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Enter a valid email address')).toBeTruthy();
    expect(requests).toEqual([]);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText('Email')));
  });
});

describe('the sign-up page', () => {
  it('refuses a common password before sending, then shows the server’s answer', async () => {
    const user = userEvent.setup();
    const { requests } = renderPage(<SignUpPage />, () => json(202, { message: 'If this address can be used, we sent it a link.' }));
    await user.type(screen.getByLabelText('Email'), 'new@example.com');
    await user.type(screen.getByLabelText('Password'), 'qwertyuiop');
    await user.type(screen.getByLabelText('Repeat the password'), 'qwertyuiop');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(screen.getByText('This password is too common; choose another')).toBeTruthy();
    expect(requests).toEqual([]);
    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'a long unusual passphrase');
    await user.clear(screen.getByLabelText('Repeat the password'));
    await user.type(screen.getByLabelText('Repeat the password'), 'a long unusual passphrase');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('If this address can be used, we sent it a link.')).toBeTruthy();
    expect(requests).toEqual([{ path: '/auth/signup', body: { email: 'new@example.com', password: 'a long unusual passphrase' } }]);
  });
});

describe('the channel form', () => {
  it('validates the wallet live, for the chosen network, with the server’s checksums', async () => {
    const user = userEvent.setup();
    renderPage(<ChannelForm initial={emptyChannelForm()} submitLabel="Register" onSubmit={vi.fn()} />, (path) => (path === '/payout-options' ? json(200, PAYOUT_OPTIONS) : json(404, {})));
    await screen.findByRole('option', { name: 'Ethereum (ETH)' });
    await user.selectOptions(screen.getByLabelText('Network'), 'ETH');
    await user.selectOptions(screen.getByLabelText('Currency'), 'USDT');
    const wallet = screen.getByLabelText('Wallet address');
    expect(screen.getByText('Starts with 0x, followed by 40 characters 0-9 and a-f.')).toBeTruthy();
    await user.type(wallet, '0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
    expect(screen.getByText('A valid Ethereum address; it will be saved as 0x70997970C51812dc3A010C7d01b50e0d17dc79C8.')).toBeTruthy();
    await user.type(wallet, '0');
    expect(wallet.getAttribute('aria-invalid')).toBe('true');
    // A network with a destination tag gets its field; Ethereum has none.
    expect(screen.queryByLabelText(/Destination tag/)).toBeNull();
    await user.selectOptions(screen.getByLabelText('Network'), 'XRP');
    expect(screen.getByLabelText<HTMLSelectElement>('Currency').value).toBe('XRP'); // the only one offered
    expect(screen.getByLabelText('Destination tag (optional)')).toBeTruthy();
    expect(wallet.getAttribute('aria-invalid')).toBe('true');
    await user.clear(wallet);
    await user.type(wallet, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(screen.getByText(/This is an EVM address .*, but this payout is sent on XRP Ledger/)).toBeTruthy();
  });

  it('lists every problem on submit, focuses the first, sends nothing; at most three tiers', async () => {
    const user = userEvent.setup();
    const submit = vi.fn();
    renderPage(<ChannelForm initial={emptyChannelForm()} submitLabel="Register" onSubmit={submit} />, (path) => (path === '/payout-options' ? json(200, PAYOUT_OPTIONS) : json(404, {})));
    await user.click(screen.getByRole('button', { name: 'Add a tier' }));
    await user.click(screen.getByRole('button', { name: 'Add a tier' }));
    expect(screen.queryByRole('button', { name: 'Add a tier' })).toBeNull();
    expect(screen.getAllByLabelText(/^Tier \d: price \(USD\)$/)).toHaveLength(3);
    await user.click(screen.getByRole('button', { name: 'Register' }));
    expect(submit).not.toHaveBeenCalled();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText('Open channel: chat id')));
    expect(screen.getByLabelText('Tier 2: price (USD)').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Your account password').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/problems above/)).toBeTruthy();
  });

  it('puts the server’s field errors and the missing bot right next to the inputs', async () => {
    const user = userEvent.setup();
    const refusal = {
      error: {
        code: 'channel_ownership_unverified',
        message: 'The bot @PayGatePrimeBot lacks the right "Invite users via link" in the closed chat -1001000000012.',
        fields: { 'closedChat.id': 'the bot lacks the right "Invite users via link"' },
      },
      requestId: 'r2',
    };
    const onSubmit = vi.fn(async () => {
      throw apiErrorOf({ status: 422, headers: new Headers() }, refusal);
    });
    const values = emptyChannelForm();
    values.openChat = { id: '-1001000000011', title: 'News', description: '' };
    values.closedChat = { id: '-1001000000012', title: 'Members', description: '' };
    values.tiers = [{ priceUsd: '9.99', durationDays: '30', trialDays: '0' }];
    values.payout = { network: 'ETH', currency: 'ETH', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', extraId: '' };
    values.currentPassword = 'my password';
    renderPage(<ChannelForm initial={values} submitLabel="Register" onSubmit={onSubmit} />, (path) => (path === '/payout-options' ? json(200, PAYOUT_OPTIONS) : json(404, {})));
    await user.click(screen.getByRole('button', { name: 'Register' }));
    expect(await screen.findByText(/Telegram says the bot cannot run this channel yet/)).toBeTruthy();
    expect(screen.getByText(/lacks the right "Invite users via link" in the closed chat/)).toBeTruthy();
    expect(screen.getByLabelText('Closed chat: chat id').getAttribute('aria-invalid')).toBe('true');
    expect(onSubmit).toHaveBeenCalledOnce();
  });
});
