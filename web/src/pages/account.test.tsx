import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../api/client';
import { type Auth, AuthProvider, createQueryClient } from '../auth/auth-context';
import { createAuthSession } from '../auth/auth-session';
import { AccountPage, describeAction, describeUserAgent } from './account-page';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const noContent = () => new Response(null, { status: 204 });

const ME = {
  id: 'acc_1',
  email: 'owner@example.com',
  emailVerified: true,
  emailVerifiedAt: '2026-03-01T10:00:00Z',
  createdAt: '2026-03-01T09:00:00Z',
  telegram: { linked: false, userId: null, username: null, linkedAt: null },
  pendingEmailChange: null,
};

const session = (id: string, current: boolean, userAgent: string | null) => ({
  id,
  createdAt: '2026-03-02T10:00:00Z',
  lastUsedAt: '2026-03-03T10:00:00Z',
  expiresAt: '2026-03-16T10:00:00Z',
  userAgent,
  ip: current ? '203.0.113.7' : '198.51.100.9',
  current,
});

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

type Answer = (method: string, path: string, query: URLSearchParams, body: unknown) => Response | undefined;

/** The account page, signed in, against a fake gateway; `answer` may override any request. */
async function renderAccountPage(answer: Answer = () => undefined) {
  const requests: string[] = [];
  const bodies: Record<string, unknown> = {};
  let sessions = [session('ses_current', true, FIREFOX), session('ses_other', false, CHROME_WINDOWS), session('ses_old', false, null)];
  const gateway = async (request: Request) => {
    const url = new URL(request.url, 'http://localhost');
    const path = url.pathname.replace('/api/v1', '');
    const text = await request.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    requests.push(`${request.method} ${path}${url.search}`);
    bodies[`${request.method} ${path}`] = body;
    if (path === '/auth/login') return json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.now() + 900_000).toISOString() });
    const special = answer(request.method, path, url.searchParams, body);
    if (special) return special;
    if (path === '/me') return json(200, ME);
    if (path === '/me/sessions') return json(200, { sessions });
    if (request.method === 'DELETE' && path.startsWith('/me/sessions/')) {
      sessions = sessions.filter((item) => item.id !== decodeURIComponent(path.split('/').pop()!));
      return noContent();
    }
    if (path === '/me/sessions/revoke-all') {
      const revoked = sessions.filter((item) => !item.current).length;
      sessions = sessions.filter((item) => item.current);
      return json(200, { revoked, currentSessionKept: true });
    }
    if (path === '/me/activity') {
      const entry = (action: string, ip: string | null) => ({ occurredAt: '2026-03-03T10:00:00Z', action, actorType: 'account', subject: null, ip, details: {} });
      return url.searchParams.get('cursor') === 'older'
        ? json(200, { items: [entry('account.signed_up', null)], nextCursor: null })
        : json(200, { items: [entry('auth.login_succeeded', '203.0.113.7'), entry('auth.login_failed', '198.51.100.9')], nextCursor: 'older' });
    }
    return json(404, { error: { code: 'not_found', message: 'Not found' } });
  };
  const authSession = createAuthSession({ apiBase: 'http://localhost/api/v1', fetch: gateway });
  await authSession.logIn('owner@example.com', 'x');
  const auth: Auth = { session: authSession, api: createApi((request) => authSession.fetch(request)), publicApi: createApi(gateway) };
  render(
    <AuthProvider auth={auth}>
      <QueryClientProvider client={createQueryClient()}>
        <AccountPage />
      </QueryClientProvider>
    </AuthProvider>,
  );
  await screen.findByRole('heading', { name: 'Account settings' });
  return { requests, bodies };
}

beforeEach(() => window.history.replaceState(null, '', '/account'));
afterEach(cleanup);

describe('the account settings page', () => {
  it('lists the sessions with the current one marked, ends one, then every other; pages the activity', async () => {
    const user = userEvent.setup();
    const { requests } = await renderAccountPage();
    const sessionsSection = within(screen.getByRole('region', { name: 'Sessions' }));
    const rows = await sessionsSection.findAllByTestId('session-row');
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByText('This session')).toBeTruthy();
    expect(within(rows[0]!).getByText('Firefox on Linux')).toBeTruthy();
    expect(within(rows[0]!).getByText('203.0.113.7')).toBeTruthy();
    expect(within(rows[2]!).getByText('Unknown browser')).toBeTruthy();

    await user.click(sessionsSection.getByRole('button', { name: /^Log out the session of Chrome on Windows/ }));
    await waitFor(() => expect(sessionsSection.getAllByTestId('session-row')).toHaveLength(2));
    expect(requests).toContain('DELETE /me/sessions/ses_other');

    await user.click(sessionsSection.getByRole('button', { name: 'Log out everywhere else' }));
    expect(await sessionsSection.findByText(/One other session ended\./)).toBeTruthy();
    await waitFor(() => expect(sessionsSection.getAllByTestId('session-row')).toHaveLength(1));
    expect(sessionsSection.getByRole('button', { name: 'Log out everywhere else' })).toHaveProperty('disabled', true);
    expect(requests).toContain('POST /me/sessions/revoke-all');

    const activity = within(screen.getByRole('region', { name: 'Recent activity' }));
    expect(await activity.findByText('Failed login')).toBeTruthy();
    await user.click(activity.getByRole('button', { name: 'Load more' }));
    expect(await activity.findByText('Account created')).toBeTruthy();
    expect(activity.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(requests.filter((request) => request.startsWith('GET /me/activity?limit=20&cursor='))).toEqual(['GET /me/activity?limit=20&cursor=older']);
  });

  it('checks a new password before sending, then puts the server’s refusal on the current password', async () => {
    const user = userEvent.setup();
    const { requests, bodies } = await renderAccountPage((method, path) =>
      method === 'POST' && path === '/me/password'
        ? json(400, { error: { code: 'incorrect_password', message: 'The password is not right', fields: { currentPassword: 'The password is not right' } }, requestId: 'r1' })
        : undefined,
    );
    const section = within(screen.getByRole('region', { name: 'Password' }));
    await user.type(section.getByLabelText('Current password'), 'the old passphrase');
    await user.type(section.getByLabelText('New password'), 'qwertyuiop');
    await user.type(section.getByLabelText('Repeat the new password'), 'qwertyuiop');
    await user.click(section.getByRole('button', { name: 'Change password' }));
    expect(section.getByText('This password is too common; choose another')).toBeTruthy();
    expect(section.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true');
    expect(requests.some((request) => request.startsWith('POST /me/password'))).toBe(false);

    await user.clear(section.getByLabelText('New password'));
    await user.type(section.getByLabelText('New password'), 'a long unusual passphrase');
    await user.clear(section.getByLabelText('Repeat the new password'));
    await user.type(section.getByLabelText('Repeat the new password'), 'a long unusual passphrase');
    await user.click(section.getByRole('button', { name: 'Change password' }));
    expect(await section.findByRole('alert')).toHaveProperty('textContent', expect.stringContaining('The password is not right'));
    expect(section.getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(bodies['POST /me/password']).toEqual({ currentPassword: 'the old passphrase', newPassword: 'a long unusual passphrase' });
  });

  it('shows a pending email change with its cancel, and the API’s reason a deletion is refused', async () => {
    const user = userEvent.setup();
    const { requests, bodies } = await renderAccountPage((method, path) => {
      if (method === 'POST' && path === '/me/email') return json(202, { message: 'Open the link we sent to the new address within an hour to finish the change.' });
      if (method === 'DELETE' && path === '/me/email') return noContent();
      if (method === 'DELETE' && path === '/me') return json(409, { error: { code: 'account_has_channels', message: 'Delete your channels first.' }, requestId: 'r2' });
      return undefined;
    });
    const email = within(screen.getByRole('region', { name: 'Email address' }));
    await user.type(email.getByLabelText('New email address'), 'new@example.com');
    await user.type(email.getByLabelText('Your password, to confirm the change'), 'my password');
    await user.click(email.getByRole('button', { name: 'Change email' }));
    expect(await email.findByText(/Change to/)).toHaveProperty('textContent', expect.stringContaining('new@example.com pending: Open the link we sent'));
    expect(bodies['POST /me/email']).toEqual({ newEmail: 'new@example.com', password: 'my password' });
    await user.click(email.getByRole('button', { name: 'Cancel the email change' }));
    expect(await email.findByLabelText('New email address')).toBeTruthy();
    expect(requests).toContain('DELETE /me/email');

    const removal = within(screen.getByRole('region', { name: 'Delete your account' }));
    expect(removal.getByText(/This cannot be undone/)).toBeTruthy();
    await user.type(removal.getByLabelText('Your password, to delete the account'), 'my password');
    await user.click(removal.getByRole('button', { name: 'Delete my account' }));
    expect(removal.getByText('Type DELETE to confirm', { selector: '.field-error' })).toBeTruthy();
    expect(requests).not.toContain('DELETE /me');
    await user.type(removal.getByLabelText('Type DELETE to confirm'), 'DELETE');
    await user.click(removal.getByRole('button', { name: 'Delete my account' }));
    expect(await removal.findByRole('alert')).toHaveProperty('textContent', expect.stringContaining('Delete your channels first.'));
    expect(bodies['DELETE /me']).toEqual({ password: 'my password' });
    expect(window.location.pathname).toBe('/account');
  });

  it('shows a change still pending after a reload, from GET /me', async () => {
    await renderAccountPage((method, path) =>
      method === 'GET' && path === '/me' ? json(200, { ...ME, pendingEmailChange: { newEmail: 'later@example.com', expiresAt: '2026-03-03T11:00:00Z' } }) : undefined,
    );
    const email = within(screen.getByRole('region', { name: 'Email address' }));
    expect(await email.findByText(/Change to/)).toHaveProperty('textContent', expect.stringContaining('later@example.com pending: We mailed a confirmation link to it'));
    expect(email.getByRole('button', { name: 'Cancel the email change' })).toBeTruthy();
    expect(email.queryByLabelText('New email address')).toBeNull();
  });

  it('describes browsers and activity in words', () => {
    expect(describeUserAgent(CHROME_WINDOWS)).toBe('Chrome on Windows');
    expect(describeUserAgent(null)).toBe('Unknown browser');
    expect(describeAction('channel.wallet_changed')).toBe('Payout wallet changed');
    expect(describeAction('account.something_new')).toBe('Something new');
  });
});
