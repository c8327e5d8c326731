import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type AnswerOf, must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { ErrorMessage, fieldErrorsOf, Notice, Spinner, TextField, focusFirstInvalid } from '../components/ui';
import { DELETE_CONFIRMATION_WORD, type FieldErrors, validateChangeEmail, validateChangePassword, validateDeleteAccount } from '../forms/account-forms';
import { navigate } from '../router';
import { queryKeys, useMe } from './queries';

type Session = AnswerOf<'listSessions'>['sessions'][number];
type ActivityEntry = AnswerOf<'listActivity'>['items'][number];

/** Moves focus to the first field with an error, so the person lands where the fix is needed. */

const when = (iso: string) => new Date(iso).toLocaleString();

/** Account settings: password, email address, sessions, recent activity, deleting the account. */
export function AccountPage() {
  const me = useMe();
  if (me.isPending) return <Spinner />;
  if (me.isError) return <ErrorMessage error={me.error} />;
  return (
    <>
      <h1>Account settings</h1>
      <p className="muted">
        Logged in as <strong>{me.data.email}</strong>, account since {new Date(me.data.createdAt).toLocaleDateString()}.
      </p>
      <ChangePasswordSection email={me.data.email} />
      <ChangeEmailSection email={me.data.email} isVerified={me.data.emailVerified} pendingChange={me.data.pendingEmailChange} />
      <SessionsSection />
      <ActivitySection />
      <DeleteAccountSection />
    </>
  );
}

function ChangePasswordSection({ email }: { email: string }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const empty = { currentPassword: '', newPassword: '', confirmPassword: '' };
  const [values, setValues] = useState(empty);
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const change = useMutation({
    mutationFn: () => must(api.POST('/me/password', { body: { currentPassword: values.currentPassword, newPassword: values.newPassword } })),
    onSuccess: () => {
      setValues(empty);
      void queries.invalidateQueries({ queryKey: queryKeys.sessions });
      void queries.invalidateQueries({ queryKey: queryKeys.activity });
    },
  });
  const set = (name: keyof typeof values) => (event: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateChangePassword(values, email);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    change.mutate();
  };
  const server = fieldErrorsOf(change.error);
  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form ref={form} onSubmit={submit} noValidate>
        <ErrorMessage error={change.error} />
        {change.isSuccess && <Notice tone="success">Your password is changed. Every other session has ended; this one goes on.</Notice>}
        <TextField
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={values.currentPassword}
          onChange={set('currentPassword')}
          error={errors.currentPassword ?? server.currentPassword}
          required
        />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters; not a common password and not your email address. Every other session ends."
          value={values.newPassword}
          onChange={set('newPassword')}
          error={errors.newPassword ?? server.newPassword}
          required
        />
        <TextField
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          value={values.confirmPassword}
          onChange={set('confirmPassword')}
          error={errors.confirmPassword}
          required
        />
        <button className="button button--primary" type="submit" disabled={change.isPending}>
          {change.isPending ? 'Saving…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}

/** A change whose link was mailed, as GET /me tells it after a reload. */
function pendingFromServer(change: { newEmail: string; expiresAt: string } | null): { address: string; message: string } | undefined {
  return change ? { address: change.newEmail, message: `We mailed a confirmation link to it; it works until ${new Date(change.expiresAt).toLocaleString()}.` } : undefined;
}

function ChangeEmailSection({ email, isVerified, pendingChange }: { email: string; isVerified: boolean; pendingChange: { newEmail: string; expiresAt: string } | null }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [values, setValues] = useState({ newEmail: '', password: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [pending, setPending] = useState(() => pendingFromServer(pendingChange));
  // A change requested in another tab shows at the next /me refresh. The server knows of a change
  // only once its link is mailed, so its null does not hide the one just requested here.
  useEffect(() => {
    if (pendingChange) setPending(pendingFromServer(pendingChange));
  }, [pendingChange]);
  const form = useRef<HTMLFormElement>(null);
  const request = useMutation({
    mutationFn: () => must(api.POST('/me/email', { body: { newEmail: values.newEmail.trim(), password: values.password } })),
    onSuccess: (answer) => {
      setPending({ address: values.newEmail.trim(), message: answer.message });
      setValues({ newEmail: '', password: '' });
      void queries.invalidateQueries({ queryKey: queryKeys.activity });
    },
  });
  const cancel = useMutation({
    mutationFn: () => must(api.DELETE('/me/email')),
    onSuccess: () => {
      setPending(undefined);
      request.reset();
      void queries.invalidateQueries({ queryKey: queryKeys.activity });
      void queries.invalidateQueries({ queryKey: queryKeys.me });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateChangeEmail(values, email);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    request.mutate();
  };
  const server = fieldErrorsOf(request.error);
  return (
    <section className="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      <p>
        Your address is <strong>{email}</strong>
        {isVerified ? ' (verified).' : ' (not verified yet).'}
      </p>
      {!isVerified ? (
        <Notice tone="warning">Verify your current address first (open the link we mailed to it); then you can change it.</Notice>
      ) : pending ? (
        <>
          <Notice tone="info">
            Change to <strong>{pending.address}</strong> pending: {pending.message} Until then, log in with {email}. Confirming it ends every session.
          </Notice>
          <ErrorMessage error={cancel.error} />
          <button type="button" className="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            {cancel.isPending ? 'Cancelling…' : 'Cancel the email change'}
          </button>
        </>
      ) : (
        <form ref={form} onSubmit={submit} noValidate>
          <ErrorMessage error={request.error} />
          <TextField
            label="New email address"
            type="email"
            autoComplete="email"
            hint="We mail a confirmation link to the new address; it works for an hour."
            value={values.newEmail}
            onChange={(event) => setValues({ ...values, newEmail: event.target.value })}
            error={errors.newEmail ?? server.newEmail}
            required
          />
          <TextField
            label="Your password, to confirm the change"
            type="password"
            autoComplete="current-password"
            value={values.password}
            onChange={(event) => setValues({ ...values, password: event.target.value })}
            error={errors.password ?? server.password}
            required
          />
          <button className="button button--primary" type="submit" disabled={request.isPending}>
            {request.isPending ? 'Sending…' : 'Change email'}
          </button>
        </form>
      )}
    </section>
  );
}

/** A short description of a browser from its User-Agent, for the sessions list. */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : undefined;
  const system = /Windows/.test(userAgent)
    ? 'Windows'
    : /Android/.test(userAgent)
      ? 'Android'
      : /iPhone|iPad/.test(userAgent)
        ? 'iOS'
        : /Mac OS X|Macintosh/.test(userAgent)
          ? 'macOS'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : undefined;
  if (!browser && !system) return userAgent.slice(0, 80);
  return [browser ?? 'A browser', system && `on ${system}`].filter(Boolean).join(' ');
}

function SessionsSection() {
  const { api, session } = useAuth();
  const queries = useQueryClient();
  const sessions = useQuery({ queryKey: queryKeys.sessions, queryFn: () => must(api.GET('/me/sessions')) });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: queryKeys.sessions });
    void queries.invalidateQueries({ queryKey: queryKeys.activity });
  };
  const revoke = useMutation({
    mutationFn: async (target: Session) => {
      if (target.current) {
        // Ending this tab's own session is a logout.
        await session.logOut();
        return;
      }
      await must(api.DELETE('/me/sessions/{sessionId}', { params: { path: { sessionId: target.id } } }));
    },
    onSuccess: (_done, target) => {
      if (target.current) {
        queries.clear();
        navigate('/login', { replace: true });
      } else refresh();
    },
  });
  const revokeAll = useMutation({ mutationFn: () => must(api.POST('/me/sessions/revoke-all')), onSuccess: refresh });
  const others = sessions.data?.sessions.filter((item) => !item.current).length ?? 0;
  return (
    <section className="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <p className="hint">Each login is a session; it lasts at most 14 days. End the ones you do not recognise, then change your password.</p>
      <ErrorMessage error={revoke.error ?? revokeAll.error} />
      {revokeAll.isSuccess && (
        <Notice tone="success">
          {revokeAll.data.revoked === 1 ? 'One other session ended.' : `${revokeAll.data.revoked} other sessions ended.`} This one goes on.
        </Notice>
      )}
      {sessions.isPending ? (
        <Spinner label="Loading your sessions…" />
      ) : sessions.isError ? (
        <ErrorMessage error={sessions.error} />
      ) : (
        <>
          <div className="table-scroll">
            <table>
              <caption className="visually-hidden">Your sessions, most recently used first</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Logged in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.data.sessions.map((item) => {
                  const device = describeUserAgent(item.userAgent);
                  return (
                    <tr key={item.id} data-testid="session-row">
                      <td>
                        <span title={item.userAgent ?? undefined}>{device}</span>
                        {item.current && <span className="badge badge--active"> This session</span>}
                      </td>
                      <td className="mono">{item.ip ?? 'unknown'}</td>
                      <td>{when(item.createdAt)}</td>
                      <td>{when(item.lastUsedAt)}</td>
                      <td>
                        <button
                          type="button"
                          className="button button--small"
                          aria-label={item.current ? 'Log out of this session' : `Log out the session of ${device}, last used ${when(item.lastUsedAt)}`}
                          onClick={() => revoke.mutate(item)}
                          disabled={revoke.isPending}
                        >
                          {revoke.isPending && revoke.variables?.id === item.id ? 'Logging out…' : 'Log out'}
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p>
            <button type="button" className="button" onClick={() => revokeAll.mutate()} disabled={revokeAll.isPending || others === 0}>
              {revokeAll.isPending ? 'Logging out…' : 'Log out everywhere else'}
            </button>
            {others === 0 && <span className="hint"> No other session is open.</span>}
          </p>
        </>
      )}
    </section>
  );
}

const ACTION_WORDS: Record<string, string> = {
  'auth.login_succeeded': 'Logged in',
  'auth.login_failed': 'Failed login',
  'auth.logged_out': 'Logged out',
  'auth.session_revoked': 'Session ended',
  'auth.sessions_revoked': 'Sessions ended',
  'auth.refresh_reuse_detected': 'Session ended: a refresh token was used twice',
  'account.signed_up': 'Account created',
  'account.email_verified': 'Email address verified',
  'account.verification_resent': 'Verification link sent again',
  'account.password_changed': 'Password changed',
  'account.password_change_failed': 'Password change refused',
  'account.password_reset': 'Password reset',
  'account.password_reset_requested': 'Password reset requested',
  'account.email_change_requested': 'Email change requested',
  'account.email_change_cancelled': 'Email change cancelled',
  'account.email_change_failed': 'Email change refused',
  'account.email_changed': 'Email address changed',
  'account.delete_failed': 'Account deletion refused',
  'account.telegram_link_code_issued': 'Telegram link code issued',
  'account.telegram_linked': 'Telegram linked',
  'channel.created': 'Channel registered',
  'channel.updated': 'Channel changed',
  'channel.deleted': 'Channel deleted',
  'channel.wallet_changed': 'Payout wallet changed',
};

/** `auth.login_failed` → "Failed login"; unknown actions in words from their code. */
export function describeAction(action: string): string {
  const known = ACTION_WORDS[action];
  if (known) return known;
  const words = (action.split('.').pop() ?? action).replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function ActivitySection() {
  const { api } = useAuth();
  const activity = useInfiniteQuery({
    queryKey: queryKeys.activity,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => must(api.GET('/me/activity', { params: { query: { limit: '20', ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const items: ActivityEntry[] = activity.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section className="card" aria-labelledby="activity-heading">
      <h2 id="activity-heading">Recent activity</h2>
      {activity.isPending ? (
        <Spinner label="Loading the activity…" />
      ) : activity.isError ? (
        <ErrorMessage error={activity.error} />
      ) : items.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Your account’s activity, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">By</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {items.map((entry, index) => (
                <tr key={`${entry.occurredAt}-${index}`}>
                  <td>{when(entry.occurredAt)}</td>
                  <td>
                    {describeAction(entry.action)}
                    {entry.subject?.id && <span className="muted mono"> {entry.subject.id}</span>}
                  </td>
                  <td>{entry.actorType === 'account' ? 'You' : entry.actorType.replace(/_/g, ' ')}</td>
                  <td className="mono">{entry.ip ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {activity.hasNextPage && (
        <button type="button" className="button" onClick={() => void activity.fetchNextPage()} disabled={activity.isFetchingNextPage}>
          {activity.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}

function DeleteAccountSection() {
  const { api, session } = useAuth();
  const queries = useQueryClient();
  const [values, setValues] = useState({ password: '', confirmation: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const remove = useMutation({
    mutationFn: () => must(api.DELETE('/me', { body: { password: values.password } })),
    onSuccess: async () => {
      // The server ended every session and cleared the cookie; this tab forgets its token.
      await session.logOut();
      queries.clear();
      navigate('/login?ended=account-deleted', { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateDeleteAccount(values);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    remove.mutate();
  };
  return (
    <section className="card" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete your account</h2>
      <Notice tone="warning">
        This cannot be undone. Your account, its Telegram link and every session end at once. Delete your channels first: an account with channels cannot be deleted.
      </Notice>
      <form ref={form} onSubmit={submit} noValidate>
        <ErrorMessage error={remove.error} />
        <TextField
          label="Your password, to delete the account"
          type="password"
          autoComplete="current-password"
          value={values.password}
          onChange={(event) => setValues({ ...values, password: event.target.value })}
          error={errors.password ?? fieldErrorsOf(remove.error).password}
          required
        />
        <TextField
          label={`Type ${DELETE_CONFIRMATION_WORD} to confirm`}
          autoComplete="off"
          value={values.confirmation}
          onChange={(event) => setValues({ ...values, confirmation: event.target.value })}
          error={errors.confirmation}
          required
        />
        <button className="button button--danger" type="submit" disabled={remove.isPending}>
          {remove.isPending ? 'Deleting…' : 'Delete my account'}
        </button>
      </form>
    </section>
  );
}
