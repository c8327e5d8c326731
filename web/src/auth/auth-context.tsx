import { QueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useMemo, useSyncExternalStore } from 'react';
import { API_BASE, type Api, createApi } from '../api/client';
import { type AuthSession, createAuthSession, type SessionEndReason, type SessionStatus } from './auth-session';

export interface Auth {
  session: AuthSession;
  /** Requests with the session's bearer token (one refresh and retry on 401). */
  api: Api;
  /** Requests that need no session (sign-up, mailed links, payout options). */
  publicApi: Api;
}

const AuthContext = createContext<Auth | undefined>(undefined);

/**
 * The one session of this tab, with the browser's cross-tab helpers: a Web Lock so two tabs never
 * refresh with the same cookie at once (the API would take it for token reuse and end the
 * session), and a BroadcastChannel so logging out in one tab logs out the others.
 */
export function createBrowserAuth(onSessionEnded: (reason: SessionEndReason) => void): Auth {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  const broadcast = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('pgp-session') : undefined;
  const session = createAuthSession({
    apiBase: API_BASE,
    // The lock's promise resolves to the task's result (typed as a promise of a promise).
    withRefreshLock: locks ? <T,>(task: () => Promise<T>) => locks.request('pgp-session-refresh', task) as unknown as Promise<T> : undefined,
    channel: broadcast && {
      post: (message) => broadcast.postMessage(message),
      listen: (listener) => broadcast.addEventListener('message', (event: MessageEvent) => listener(String(event.data))),
    },
    onSessionEnded,
  });
  return { session, api: createApi((request) => session.fetch(request)), publicApi: createApi((request) => fetch(request)) };
}

export function AuthProvider({ auth, children }: { auth: Auth; children: ReactNode }) {
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth & { status: SessionStatus } {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  const status = useSyncExternalStore(auth.session.subscribe, auth.session.status, auth.session.status);
  return useMemo(() => ({ ...auth, status }), [auth, status]);
}

/** Server state: short staleness, no retries of refusals (4xx), one retry of the rest. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (failures, error) => failures < 1 && !(error instanceof Error && 'status' in error && typeof error.status === 'number' && error.status >= 400 && error.status < 500),
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}
