import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/api-error';
import { type AuthSessionOptions, createAuthSession } from './auth-session';

/**
 * A stand-in for the dashboard API's session endpoints: it issues numbered access tokens, knows
 * which one is current, and answers protected requests 401 for any other.
 */
function fakeApi(options: { password?: string; refreshAnswer?: () => Response | Promise<Response> } = {}) {
  let issued = 0;
  let current: string | undefined;
  let now = Date.parse('2026-03-01T12:00:00Z');
  const calls: { method: string; path: string; authorization: string | null; body: string; credentials: RequestCredentials }[] = [];
  const timers: { at: number; callback: () => void }[] = [];
  const issue = () => {
    issued += 1;
    current = `token-${issued}`;
    const body = { accessToken: current, tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(now + 900_000).toISOString() };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const error = (status: number, code: string) => new Response(JSON.stringify({ error: { code, message: `${code} message` }, requestId: 'req-1' }), { status, headers: { 'content-type': 'application/json' } });
  const fetch = vi.fn(async (request: Request) => {
    const path = new URL(request.url, 'https://dashboard.example').pathname;
    const body = await request.text();
    calls.push({ method: request.method, path, authorization: request.headers.get('authorization'), body, credentials: request.credentials });
    if (path === '/api/v1/auth/login') {
      return (JSON.parse(body) as { password: string }).password === (options.password ?? 'right-password-1') ? issue() : error(401, 'invalid_credentials');
    }
    if (path === '/api/v1/auth/session/refresh') return options.refreshAnswer ? options.refreshAnswer() : issue();
    if (path === '/api/v1/auth/session/logout') return new Response(null, { status: 204 });
    if (request.headers.get('authorization') !== `Bearer ${current}`) return error(401, 'invalid_token');
    return new Response(JSON.stringify({ ok: true, echo: body }), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  const sessionOptions: AuthSessionOptions = {
    apiBase: 'https://dashboard.example/api/v1',
    fetch,
    now: () => now,
    setTimer: (callback, ms) => {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      const index = timers.indexOf(handle as (typeof timers)[number]);
      if (index >= 0) timers.splice(index, 1);
    },
  };
  return {
    fetch,
    calls,
    timers,
    sessionOptions,
    revoke: () => (current = 'revoked'),
    /** Moves the clock and runs the timers that came due. */
    advance: async (ms: number) => {
      now += ms;
      for (const timer of timers.filter((entry) => entry.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.callback();
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
    refreshes: () => calls.filter((call) => call.path === '/api/v1/auth/session/refresh').length,
  };
}

const protectedRequest = (body?: unknown) =>
  new Request('https://dashboard.example/api/v1/channels', body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the browser session', () => {
  it('keeps the access token in memory only and sends it as a bearer token', async () => {
    const api = fakeApi();
    const session = createAuthSession(api.sessionOptions);
    await session.logIn('owner@example.com', 'right-password-1');
    expect(session.status()).toBe('signed-in');
    const response = await session.fetch(protectedRequest());
    expect(response.status).toBe(200);
    expect(api.calls.at(-1)?.authorization).toBe('Bearer token-1');
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
    expect(document.cookie).toBe('');
  });

  it('answers a wrong password with the API’s error: no refresh, no session end, no reload', async () => {
    const api = fakeApi();
    const ended = vi.fn();
    const session = createAuthSession({ ...api.sessionOptions, onSessionEnded: ended });
    const failure = await session.logIn('owner@example.com', 'wrong-password').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 401, code: 'invalid_credentials', requestId: 'req-1' });
    expect(api.refreshes()).toBe(0);
    expect(ended).not.toHaveBeenCalled();
    expect(session.status()).toBe('unknown');
  });

  it('refreshes once through the cookie on a 401 and sends the request again, body and all', async () => {
    const api = fakeApi();
    const session = createAuthSession(api.sessionOptions);
    await session.logIn('owner@example.com', 'right-password-1');
    api.revoke(); // the access token stops working (e.g. the server restarted its key)
    const response = await session.fetch(protectedRequest({ title: 'Club' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, echo: JSON.stringify({ title: 'Club' }) });
    const refresh = api.calls.find((call) => call.path === '/api/v1/auth/session/refresh');
    expect(refresh).toMatchObject({ method: 'POST', credentials: 'same-origin', authorization: null });
    expect(api.calls.map((call) => `${call.path} ${call.authorization ?? ''}`.trim())).toEqual([
      '/api/v1/auth/login',
      '/api/v1/channels Bearer token-1',
      '/api/v1/auth/session/refresh',
      '/api/v1/channels Bearer token-2',
    ]);
  });

  it('shares one refresh among requests that fail together (two refreshes with one cookie would end the session)', async () => {
    const api = fakeApi();
    const session = createAuthSession(api.sessionOptions);
    await session.logIn('owner@example.com', 'right-password-1');
    api.revoke();
    const answers = await Promise.all([session.fetch(protectedRequest()), session.fetch(protectedRequest()), session.fetch(protectedRequest())]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(api.refreshes()).toBe(1);
  });

  it('ends the session, and says so, when the refresh is refused; the request answers 401', async () => {
    const api = fakeApi({ refreshAnswer: () => new Response(JSON.stringify({ error: { code: 'invalid_refresh_token', message: 'x' } }), { status: 401 }) });
    const ended = vi.fn();
    const session = createAuthSession({ ...api.sessionOptions, onSessionEnded: ended });
    await session.logIn('owner@example.com', 'right-password-1');
    api.revoke();
    const response = await session.fetch(protectedRequest());
    expect(response.status).toBe(401);
    expect(ended).toHaveBeenCalledExactlyOnceWith('expired');
    expect(session.status()).toBe('signed-out');
  });

  it('retries only once: a fresh token refused again ends the session', async () => {
    const api = fakeApi();
    const ended = vi.fn();
    const session = createAuthSession({ ...api.sessionOptions, onSessionEnded: ended });
    await session.logIn('owner@example.com', 'right-password-1');
    api.fetch.mockImplementation(async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith('/refresh')) return new Response(JSON.stringify({ accessToken: 'token-x', tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(Date.parse('2026-03-01T12:15:00Z')).toISOString() }), { status: 200 });
      return new Response(JSON.stringify({ error: { code: 'invalid_token', message: 'The session has ended' } }), { status: 401 });
    });
    const response = await session.fetch(protectedRequest());
    expect(response.status).toBe(401);
    expect(api.fetch).toHaveBeenCalledTimes(1 + 3); // the login, then: request, refresh, request again — and no more
    expect(ended).toHaveBeenCalledExactlyOnceWith('expired');
  });

  it('refreshes silently a minute before the access token expires', async () => {
    const api = fakeApi();
    const session = createAuthSession(api.sessionOptions);
    await session.logIn('owner@example.com', 'right-password-1');
    expect(api.timers.map((timer) => timer.at - Date.parse('2026-03-01T12:00:00Z'))).toEqual([840_000]);
    await api.advance(839_000);
    expect(api.refreshes()).toBe(0);
    await api.advance(1_000);
    expect(api.refreshes()).toBe(1);
    // And again for the new token, without any request in between.
    await api.advance(840_000);
    expect(api.refreshes()).toBe(2);
    await session.fetch(protectedRequest());
    expect(api.calls.at(-1)?.authorization).toBe('Bearer token-3');
  });

  it('keeps the session when the gateway cannot be reached for a silent refresh, and tries again later', async () => {
    let isDown = true;
    const api = fakeApi();
    const inner = api.fetch.getMockImplementation()!;
    api.fetch.mockImplementation(async (request: Request) => {
      if (isDown && request.url.endsWith('/refresh')) throw new TypeError('Failed to fetch');
      return inner(request);
    });
    const ended = vi.fn();
    const session = createAuthSession({ ...api.sessionOptions, onSessionEnded: ended });
    await session.logIn('owner@example.com', 'right-password-1');
    await api.advance(840_000);
    expect(session.status()).toBe('signed-in');
    expect(ended).not.toHaveBeenCalled();
    isDown = false;
    await api.advance(30_000);
    expect(api.calls.filter((call) => call.path.endsWith('/refresh')).length).toBe(1);
    expect(session.status()).toBe('signed-in');
  });

  it('restores a session from the cookie on page load, or finds none without calling it an ending', async () => {
    const open = createAuthSession(fakeApi().sessionOptions);
    expect(await open.restore()).toBe('signed-in');

    const ended = vi.fn();
    const none = createAuthSession({
      ...fakeApi({ refreshAnswer: () => new Response('{}', { status: 401 }) }).sessionOptions,
      onSessionEnded: ended,
    });
    expect(await none.restore()).toBe('signed-out');
    expect(ended).not.toHaveBeenCalled();
  });

  it('logs out on the server, forgets the token and tells the other tabs', async () => {
    const api = fakeApi();
    const posted: string[] = [];
    const session = createAuthSession({ ...api.sessionOptions, channel: { post: (message) => posted.push(message), listen: () => undefined } });
    await session.logIn('owner@example.com', 'right-password-1');
    await session.logOut();
    expect(api.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/auth/session/logout', credentials: 'same-origin' });
    expect(session.status()).toBe('signed-out');
    expect(posted).toEqual(['logged-out']);
    expect(api.timers).toEqual([]);
  });

  it('ends this tab’s session when another tab logs out', async () => {
    let deliver: (message: string) => void = () => undefined;
    const ended = vi.fn();
    const session = createAuthSession({ ...fakeApi().sessionOptions, onSessionEnded: ended, channel: { post: () => undefined, listen: (listener) => (deliver = listener) } });
    await session.logIn('owner@example.com', 'right-password-1');
    deliver('logged-out');
    expect(session.status()).toBe('signed-out');
    expect(ended).toHaveBeenCalledWith('logged-out-elsewhere');
  });

  it('runs every refresh inside the cross-tab lock', async () => {
    const api = fakeApi();
    const locked: string[] = [];
    const session = createAuthSession({
      ...api.sessionOptions,
      withRefreshLock: async (task) => {
        locked.push('enter');
        const result = await task();
        locked.push('leave');
        return result;
      },
    });
    await session.restore();
    expect(locked).toEqual(['enter', 'leave']);
  });
});
