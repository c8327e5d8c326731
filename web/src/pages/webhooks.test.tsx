import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../api/client';
import { type Auth, AuthProvider, createQueryClient } from '../auth/auth-context';
import { createAuthSession } from '../auth/auth-session';
import { WebhooksPage } from './webhooks-page';

const PASSWORD = 'owner password';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const endpoint = {
  id: 'we_1',
  url: 'https://hooks.example.com/paygate',
  description: 'CRM',
  events: ['payment.settled'],
  enabled: true,
  secretVersion: 1,
  previousSecretUntil: null,
  createdAt: '2026-03-01T12:00:00Z',
  updatedAt: '2026-03-01T12:00:00Z',
};

/** The page signed in against a fake gateway that keeps the endpoints it is given. */
async function renderPage() {
  const requests: { method: string; path: string; body: unknown }[] = [];
  const endpoints: (typeof endpoint)[] = [];
  const gateway = async (request: Request) => {
    const url = new URL(request.url, 'http://localhost');
    const path = url.pathname.replace('/api/v1', '');
    const body = request.method === 'GET' ? undefined : await request.text().then((text) => (text ? JSON.parse(text) : undefined));
    requests.push({ method: request.method, path, body });
    if (path === '/auth/login') return json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.now() + 900_000).toISOString() });
    if (path === '/webhook-endpoints' && request.method === 'GET') return json(200, { items: endpoints });
    if (path === '/webhook-endpoints' && request.method === 'POST') {
      if ((body as { currentPassword?: string }).currentPassword !== PASSWORD) {
        return json(400, { error: { code: 'incorrect_password', message: 'The password is incorrect', fields: { currentPassword: 'The password is incorrect' } }, requestId: 'r0' });
      }
      if (!String(body && (body as { url: string }).url).startsWith('https://')) {
        return json(400, { error: { code: 'validation_failed', message: 'Some fields are missing or invalid; see fields', fields: { url: 'must start with https://' } }, requestId: 'r1' });
      }
      endpoints.push({ ...endpoint, url: (body as { url: string }).url });
      return json(201, { ...endpoint, secret: 'whsec_created' });
    }
    return json(404, { error: { code: 'not_found', message: 'no' }, requestId: 'r2' });
  };
  const session = createAuthSession({ apiBase: 'http://localhost/api/v1', fetch: gateway });
  await session.logIn('owner@example.com', 'x');
  const auth: Auth = { session, api: createApi((request) => session.fetch(request)), publicApi: createApi(gateway) };
  render(
    <AuthProvider auth={auth}>
      <QueryClientProvider client={createQueryClient()}>
        <WebhooksPage />
      </QueryClientProvider>
    </AuthProvider>,
  );
  return { requests };
}

afterEach(cleanup);

describe('WebhooksPage', () => {
  it('adds an endpoint, shows its secret once and lists it', async () => {
    const user = userEvent.setup();
    const { requests } = await renderPage();
    expect(await screen.findByText('No endpoints yet.')).toBeTruthy();
    await user.type(screen.getByLabelText(/^URL/), 'https://hooks.example.com/paygate');
    await user.click(screen.getByLabelText(/payout\.failed/));
    await user.type(screen.getByLabelText(/^Your password/), PASSWORD);
    await user.click(screen.getByRole('button', { name: 'Add endpoint' }));
    expect((await screen.findByTestId('webhook-secret')).textContent).toBe('whsec_created');
    expect(requests.find((request) => request.method === 'POST' && request.path === '/webhook-endpoints')?.body).toEqual({
      url: 'https://hooks.example.com/paygate',
      description: '',
      events: ['payment.settled', 'payout.failed'],
      currentPassword: PASSWORD,
    });
    expect((screen.getByLabelText(/^Your password/) as HTMLInputElement).value).toBe('');
    await waitFor(() => expect(screen.getAllByTestId('webhook-endpoint')).toHaveLength(1));
    await user.click(screen.getByRole('button', { name: 'I stored it' }));
    expect(screen.queryByTestId('webhook-secret')).toBeNull();
  });

  it('shows the API’s field error beside the URL', async () => {
    const user = userEvent.setup();
    await renderPage();
    await screen.findByText('No endpoints yet.');
    const url = screen.getByLabelText(/^URL/) as HTMLInputElement;
    url.type = 'text'; // let the browser's own url check pass so the API answers
    await user.type(url, 'ftp://hooks.example.com/');
    await user.type(screen.getByLabelText(/^Your password/), PASSWORD);
    await user.click(screen.getByRole('button', { name: 'Add endpoint' }));
    expect(await screen.findByText('must start with https://')).toBeTruthy();
  });

  it('asks for the password and shows a wrong one beside its field', async () => {
    const user = userEvent.setup();
    await renderPage();
    await screen.findByText('No endpoints yet.');
    await user.type(screen.getByLabelText(/^URL/), 'https://hooks.example.com/paygate');
    await user.type(screen.getByLabelText(/^Your password/), 'a guess');
    await user.click(screen.getByRole('button', { name: 'Add endpoint' }));
    expect(await screen.findByText('The password is incorrect')).toBeTruthy();
    expect(screen.queryByTestId('webhook-secret')).toBeNull();
  });
});
