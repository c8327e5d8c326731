import { ApiError, readApiError, UNREACHABLE } from '../api/api-error';

/**
 * The browser side of the dashboard's sessions (docs/dashboard-api.md#authentication), free of
 * React so it can be tested on its own:
 *
 * - the access token (15 minutes) lives in this closure only: never in storage, never in a cookie;
 * - the refresh token is the API's httpOnly cookie, sent only to `/api/v1/auth/session/*`; the
 *   browser adds `Origin` to those POSTs, which is the API's CSRF check;
 * - a timer refreshes silently a minute before the access token expires;
 * - every refresh goes through one promise (and, across tabs, one Web Lock): two refreshes with the
 *   same cookie look like token reuse to the API and end the session;
 * - an authenticated request answered 401 refreshes once and is sent once more; if that fails the
 *   session is over and `onSessionEnded` sends the person to log in (the page they were on is kept
 *   by the caller);
 * - log-in failures are answers, not session ends: a wrong password is an error shown on the form
 *   (the legacy SPA reloaded the page, W12).
 */
export interface AccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out';

export type SessionEndReason = 'expired' | 'logged-out' | 'logged-out-elsewhere';

export interface AuthSessionOptions {
  /** `/api/v1` on the dashboard's own origin. */
  apiBase: string;
  fetch?: (request: Request) => Promise<Response>;
  now?: () => number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Runs `task` while holding the one cross-tab refresh lock (navigator.locks); default: just runs it. */
  withRefreshLock?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Tells other tabs about a logout, and hears theirs (BroadcastChannel); optional. */
  channel?: { post(message: string): void; listen(listener: (message: string) => void): void };
  /** Refresh this long before the access token expires. Default 60 s. */
  refreshMarginMs?: number;
  /** After a failed silent refresh the gateway could not be reached: try again this much later. Default 30 s. */
  retryAfterUnavailableMs?: number;
  /** The session ended without the person asking (expired, revoked) or they logged out (here or in another tab). */
  onSessionEnded?: (reason: SessionEndReason) => void;
}

export type RefreshOutcome = 'refreshed' | 'rejected' | 'unavailable';

export interface AuthSession {
  status(): SessionStatus;
  subscribe(listener: () => void): () => void;
  /** On page load: a refresh with the cookie tells whether a session is still open. */
  restore(): Promise<SessionStatus>;
  /** @throws ApiError (invalid_credentials, rate_limited, …), never ends or reloads anything. */
  logIn(email: string, password: string): Promise<void>;
  logOut(): Promise<void>;
  /** One refresh at a time; concurrent callers share it. */
  refresh(): Promise<RefreshOutcome>;
  /** `fetch` with the bearer token, one refresh and one retry on 401. */
  fetch(request: Request): Promise<Response>;
  /** The token's expiry (tests, and the account page). */
  expiresAt(): number | undefined;
}

interface TokenAnswer {
  accessToken: string;
  expiresAt: string;
  expiresIn: number;
}

export function createAuthSession(options: AuthSessionOptions): AuthSession {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  const withLock = options.withRefreshLock ?? ((task) => task());
  const margin = options.refreshMarginMs ?? 60_000;
  const retryLater = options.retryAfterUnavailableMs ?? 30_000;

  let access: AccessToken | undefined;
  let status: SessionStatus = 'unknown';
  let timer: unknown;
  let inFlight: Promise<RefreshOutcome> | undefined;
  const listeners = new Set<() => void>();

  const setStatus = (next: SessionStatus) => {
    if (next === status) return;
    status = next;
    for (const listener of [...listeners]) listener();
  };

  const cancelTimer = () => {
    if (timer !== undefined) clearTimer(timer);
    timer = undefined;
  };

  const schedule = (delayMs: number) => {
    cancelTimer();
    timer = setTimer(() => {
      timer = undefined;
      void refresh();
    }, Math.max(1_000, delayMs));
  };

  const accept = (answer: TokenAnswer) => {
    const parsed = Date.parse(answer.expiresAt);
    // The server's clock decides; if ours is off, expiresIn (relative) still holds.
    const expiresAt = Number.isFinite(parsed) && Math.abs(parsed - (now() + answer.expiresIn * 1000)) < 120_000 ? parsed : now() + answer.expiresIn * 1000;
    access = { token: answer.accessToken, expiresAt };
    schedule(expiresAt - margin - now());
    setStatus('signed-in');
  };

  const end = (reason: SessionEndReason, notify = true) => {
    const wasSignedIn = status === 'signed-in';
    access = undefined;
    cancelTimer();
    setStatus('signed-out');
    if (notify && (wasSignedIn || reason !== 'expired')) options.onSessionEnded?.(reason);
  };

  options.channel?.listen((message) => {
    if (message === 'logged-out' && status === 'signed-in') end('logged-out-elsewhere');
  });

  const post = (path: string, body?: unknown) =>
    new Request(`${options.apiBase}${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function refreshOnce(): Promise<RefreshOutcome> {
    let response: Response;
    try {
      response = await send(post('/auth/session/refresh'));
    } catch {
      return 'unavailable';
    }
    if (response.ok) {
      accept((await response.json()) as TokenAnswer);
      return 'refreshed';
    }
    // 401 (no, expired or reused cookie), 403 (origin refused): the session is gone. 429 and 5xx: not yet known.
    return response.status === 401 || response.status === 403 ? 'rejected' : 'unavailable';
  }

  function refresh(): Promise<RefreshOutcome> {
    inFlight ??= withLock(refreshOnce)
      .then((outcome) => {
        if (outcome === 'rejected') end('expired');
        else if (outcome === 'unavailable' && access) schedule(retryLater);
        return outcome;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  const withToken = (request: Request, token: string) => {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    return new Request(request, { headers });
  };

  return {
    status: () => status,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    expiresAt: () => access?.expiresAt,

    async restore() {
      const outcome = await refresh();
      if (outcome !== 'refreshed') setStatus('signed-out');
      return status;
    },

    async logIn(email, password) {
      let response: Response;
      try {
        response = await send(post('/auth/login', { email, password }));
      } catch {
        throw UNREACHABLE;
      }
      if (!response.ok) throw await readApiError(response);
      accept((await response.json()) as TokenAnswer);
    },

    async logOut() {
      try {
        await send(post('/auth/session/logout'));
      } catch {
        // Offline: the cookie stays until it expires, but this tab forgets the token either way.
      }
      options.channel?.post('logged-out');
      end('logged-out');
    },

    refresh,

    async fetch(request) {
      // Kept before the first send: a body can be read only once.
      const spare = request.clone();
      if (!access || access.expiresAt - now() < 5_000) {
        const outcome = await refresh();
        if (outcome === 'unavailable' && !access) throw UNREACHABLE;
        if (!access) return unauthorized();
      }
      const first = await send(withToken(request, access.token));
      if (first.status !== 401) return first;
      const outcome = await refresh();
      if (outcome === 'unavailable') return first;
      if (!access) return first;
      const second = await send(withToken(spare, access.token));
      // A fresh token refused at once: the session was revoked between the two (a password change elsewhere).
      if (second.status === 401) end('expired');
      return second;
    },
  };
}

function unauthorized(): Response {
  const body = { error: { code: 'unauthorized', message: 'Your session has ended; log in again.' } };
  return new Response(JSON.stringify(body), { status: 401, headers: { 'content-type': 'application/json' } });
}

/** Tells whether an error means "log in again" (the session module already moved on). */
export function isSessionError(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
