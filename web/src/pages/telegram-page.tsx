import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { CopyButton, ErrorMessage, Notice, Spinner } from '../components/ui';
import { Link } from '../router';
import { queryKeys, useMe } from './queries';

/** Seconds left until `iso`, ticking each second (0 once past). */
export function useSecondsUntil(iso: string | null | undefined): number {
  const until = iso ? Date.parse(iso) : Number.NaN;
  const left = () => (Number.isFinite(until) ? Math.max(0, Math.ceil((until - Date.now()) / 1000)) : 0);
  const [seconds, setSeconds] = useState(left);
  useEffect(() => {
    setSeconds(left());
    if (!Number.isFinite(until)) return;
    const timer = setInterval(() => setSeconds(left()), 1_000);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [until]);
  return seconds;
}

export function formatCountdown(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * Linking the owner's Telegram account: a one-time code (10 minutes) the bot accepts as
 * `/start link_<code>`; the button opens that deep link in Telegram. The page asks the API every
 * few seconds until the bot has linked the account.
 */
export function TelegramPage() {
  const { api } = useAuth();
  const queries = useQueryClient();
  const me = useMe();
  const [isWaiting, setIsWaiting] = useState(false);
  const code = useMutation({
    mutationFn: () => must(api.POST('/me/telegram-link')),
    onSuccess: () => setIsWaiting(true),
  });
  const resend = useMutation({ mutationFn: () => must(api.POST('/me/verification-email')) });
  const secondsLeft = useSecondsUntil(code.data?.expiresAt);
  const isLinked = me.data?.telegram.linked === true;

  const isExpired = secondsLeft === 0;
  useEffect(() => {
    if (!isWaiting || isLinked || isExpired) return;
    const timer = setInterval(() => void queries.invalidateQueries({ queryKey: queryKeys.me }), 3_000);
    return () => clearInterval(timer);
  }, [isWaiting, isLinked, isExpired, queries]);

  if (me.isPending) return <Spinner />;
  if (me.isError) return <ErrorMessage error={me.error} />;
  const account = me.data;
  return (
    <>
      <h1>Your Telegram account</h1>
      {isLinked ? (
        <>
          <Notice tone="success">
            Linked to Telegram user {account.telegram.username ? `@${account.telegram.username}` : account.telegram.userId}
            {account.telegram.linkedAt && ` since ${new Date(account.telegram.linkedAt).toLocaleString()}`}.
          </Notice>
          <p>The bot checks that this Telegram account administers the chats you register, and sends your payment notices there.</p>
          <p>
            <Link to="/channels/new" className="button button--primary">
              Register a channel
            </Link>
          </p>
        </>
      ) : !account.emailVerified ? (
        <>
          <Notice tone="warning">Verify your email address first: open the link we mailed to {account.email}.</Notice>
          <ErrorMessage error={resend.error} />
          {resend.isSuccess ? (
            <Notice tone="success">{resend.data.message}</Notice>
          ) : (
            <button type="button" className="button" onClick={() => resend.mutate()} disabled={resend.isPending}>
              Send the verification link again
            </button>
          )}
        </>
      ) : (
        <>
          <p>Your Telegram account must be linked before you register a channel: the bot uses it to check that you administer the channel.</p>
          <ErrorMessage error={code.error} />
          {code.data && secondsLeft > 0 ? (
            <section className="card" aria-labelledby="link-code">
              <h2 id="link-code">Send this to the bot</h2>
              <p className="code-line">
                <code data-testid="link-command">{code.data.command}</code> <CopyButton text={code.data.command} what="the command" />
              </p>
              {code.data.deepLink && (
                <p>
                  <a className="button button--primary" href={code.data.deepLink} target="_blank" rel="noopener noreferrer">
                    Open the bot in Telegram
                  </a>
                </p>
              )}
              <p className="hint" role="timer" aria-live="off">
                The code works once, for {formatCountdown(secondsLeft)} more.
              </p>
              <p role="status">Waiting for the bot to link your account…</p>
            </section>
          ) : (
            <button type="button" className="button button--primary" onClick={() => code.mutate()} disabled={code.isPending}>
              {code.data ? 'Get a new code' : 'Get a link code'}
            </button>
          )}
        </>
      )}
    </>
  );
}
