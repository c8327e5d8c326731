import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/api-error';
import { must, type TierPosts } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { TelegramText } from '../components/telegram-html';
import { CopyButton, ErrorMessage, fieldErrorsOf, focusFirstInvalid, Notice, SelectField, Spinner, TextField } from '../components/ui';
import { type FieldErrors, validateDeleteChannel } from '../forms/channel-form';
import { Link, navigate, useLocation, useParams } from '../router';
import { describePayout, describeTier, missingRights } from './channels-page';
import { queryKeys, useChannel, useChannelGrowth, useTierPosts } from './queries';
import { formatCountdown, useSecondsUntil } from './telegram-page';

/**
 * The QR code of a subscribe link. The route needs the bearer token, so the SVG is fetched and shown
 * through a blob URL (revoked when it changes), which CSP allows as `img-src blob:`.
 */
function SubscribeQr({ channelId, tier, label }: { channelId: string; tier: number | undefined; label: string }) {
  const { api } = useAuth();
  const qr = useQuery({
    queryKey: ['subscribe-qr', channelId, tier ?? 'channel'],
    queryFn: () => must(api.GET('/channels/{channelId}/subscribe-qr.svg', { params: { path: { channelId }, query: tier ? { tier: String(tier) } : {} }, parseAs: 'blob' })),
    staleTime: 5 * 60_000,
  });
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!qr.data) return;
    const objectUrl = URL.createObjectURL(qr.data as unknown as Blob);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [qr.data]);
  if (qr.isError) return <ErrorMessage error={qr.error} />;
  if (!url) return <Spinner label="Drawing the QR code…" />;
  return (
    <figure className="qr">
      <img src={url} alt={`QR code of ${label}`} width={220} height={220} />
      <figcaption>
        <a href={url} download={`subscribe-${channelId}${tier ? `-tier-${tier}` : ''}.svg`}>
          Download the QR code (SVG)
        </a>
      </figcaption>
    </figure>
  );
}

function BroadcastNow({ channelId, availableAt }: { channelId: string; availableAt: string | null }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [until, setUntil] = useState(availableAt);
  useEffect(() => setUntil(availableAt), [availableAt]);
  const seconds = useSecondsUntil(until);
  const trigger = useMutation({
    mutationFn: () => must(api.POST('/channels/{channelId}/broadcast', { params: { path: { channelId } } })),
    onSuccess: (answer) => {
      setUntil(answer.nextAllowedAt);
      void queries.invalidateQueries({ queryKey: queryKeys.channel(channelId) });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === 'broadcast_cooling_down' && error.retryAfterSeconds) setUntil(new Date(Date.now() + error.retryAfterSeconds * 1000).toISOString());
    },
  });
  return (
    <div>
      <button type="button" className="button" onClick={() => trigger.mutate()} disabled={trigger.isPending || seconds > 0}>
        {trigger.isPending ? 'Asking…' : seconds > 0 ? `Post again in ${formatCountdown(seconds)}` : 'Post the tiers now'}
      </button>
      {trigger.isSuccess && <Notice tone="success">Queued: the bot posts the tiers in the open channel within a minute.</Notice>}
      {trigger.isError && !(trigger.error instanceof ApiError && trigger.error.code === 'broadcast_cooling_down') && <ErrorMessage error={trigger.error} />}
    </div>
  );
}

/** One post as Telegram shows it: the text, then its URL buttons (they open the bot, as in the chat). */
function PostPreview({ title, post, empty }: { title: string; post: NonNullable<TierPosts['open']> | null; empty: string }) {
  return (
    <figure className="post-preview">
      <figcaption className="muted">{title}</figcaption>
      {post ? (
        <div className="post-preview__bubble">
          <p className="post-preview__text">
            <TelegramText html={post.html} />
          </p>
          <ul className="post-preview__buttons">
            {post.buttons.map((button) => (
              <li key={button.url}>
                <a className="button button--quiet" href={button.url} target="_blank" rel="noreferrer">
                  {button.text}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted">{empty}</p>
      )}
    </figure>
  );
}

function TierPostsPreview({ channelId }: { channelId: string }) {
  const posts = useTierPosts(channelId);
  if (posts.isPending) return <Spinner label="Composing the posts…" />;
  if (posts.isError) return <ErrorMessage error={posts.error} />;
  return (
    <div className="post-previews" data-testid="tier-post-preview">
      <PostPreview title="In the open channel" post={posts.data.open} empty="Nothing is posted there: the channel sells no tier right now." />
      <PostPreview title="In the closed chat" post={posts.data.closed} empty="No donation post: donations are off." />
    </div>
  );
}

function TrialsAndGifts({ channelId }: { channelId: string }) {
  const growth = useChannelGrowth(channelId);
  if (growth.isPending) return <Spinner label="Counting trials and gifts…" />;
  if (growth.isError) return <ErrorMessage error={growth.error} />;
  const { trials, gifts } = growth.data;
  return (
    <dl className="facts" data-testid="trials-gifts">
      <dt>Free trials</dt>
      <dd>
        {trials.granted} granted ({trials.grantedLast30Days} in the last 30 days), {trials.convertedToPaid} of them paid since
      </dd>
      <dt>Gifts</dt>
      <dd>
        {gifts.sold} sold: {gifts.claimed} claimed, {gifts.pending} waiting to be claimed, {gifts.expired} expired unclaimed
      </dd>
    </dl>
  );
}

function DeleteChannelSection({ channelId, title }: { channelId: string; title: string }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [values, setValues] = useState({ password: '', confirmation: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const remove = useMutation({
    mutationFn: () => must(api.DELETE('/channels/{channelId}', { params: { path: { channelId } }, body: { currentPassword: values.password } })),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: queryKeys.channels });
      void queries.invalidateQueries({ queryKey: queryKeys.channelFigures });
      navigate('/channels?deleted=1', { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateDeleteChannel(values, title);
    setErrors(found);
    if (Object.keys(found).length > 0) return focusFirstInvalid(form.current);
    remove.mutate();
  };
  const server = fieldErrorsOf(remove.error);
  return (
    <section className="card" aria-labelledby="delete-channel">
      <h2 id="delete-channel">Delete this channel</h2>
      <p>
        Sales and tier posts stop and both chats become free to register again. Members keep their access until their time ends; payments, payouts and what
        you are owed stay in your earnings.
      </p>
      <form ref={form} onSubmit={submit} noValidate>
        {!server.currentPassword && <ErrorMessage error={remove.error} />}
        <TextField
          label="Your password, to delete the channel"
          type="password"
          autoComplete="current-password"
          value={values.password}
          onChange={(event) => setValues({ ...values, password: event.target.value })}
          error={errors.password ?? server.currentPassword}
          required
        />
        <TextField
          label={`Type ${title} to confirm`}
          autoComplete="off"
          value={values.confirmation}
          onChange={(event) => setValues({ ...values, confirmation: event.target.value })}
          error={errors.confirmation}
          required
        />
        <button className="button button--danger" type="submit" disabled={remove.isPending}>
          {remove.isPending ? 'Deleting…' : 'Delete the channel'}
        </button>
      </form>
    </section>
  );
}

/** One channel: its subscribe links with copy buttons and QR codes, its settings, and the manual tier post. */
export function ChannelPage() {
  const { channelId = '' } = useParams();
  const { search } = useLocation();
  const channel = useChannel(channelId);
  const [qrTier, setQrTier] = useState<number | undefined>(undefined);
  if (channel.isPending) return <Spinner />;
  if (channel.isError) return <ErrorMessage error={channel.error} />;
  const data = channel.data;
  const links = data.subscribeLinks;
  const missing = missingRights(data);
  const qrLabel = qrTier ? `tier ${qrTier}'s checkout link` : 'the channel’s subscribe link';
  return (
    <>
      <div className="page-head">
        <h1>{data.openChat.title}</h1>
        <span className={`badge badge--${data.status}`}>{data.status}</span>
        <Link to={`/channels/${data.id}/edit`} className="button">
          Edit
        </Link>
        <Link to={`/channels/${data.id}/promo-codes`} className="button button--quiet">
          Promo codes
        </Link>
      </div>
      {search.get('created') && <Notice tone="success">The channel is registered. Share its links to sell subscriptions.</Notice>}
      {missing && <Notice tone="warning">The bot lacks rights it needs: {missing}.</Notice>}

      <section className="card" aria-labelledby="links">
        <h2 id="links">Subscribe links</h2>
        {!links ? (
          <Notice tone="warning">The bot’s username is not known right now, so there are no links. Try again in a minute.</Notice>
        ) : (
          <div className="links-and-qr">
            <ul className="link-list">
              <li>
                <span className="link-label">All tiers</span>
                <code className="mono" data-testid="subscribe-link">
                  {links.channel.url}
                </code>
                <CopyButton text={links.channel.url} what="the channel's subscribe link" />
              </li>
              {links.tiers.map((tier) => {
                const sold = data.tiers.find((entry) => entry.tierNumber === tier.tierNumber);
                return (
                  <li key={tier.tierNumber}>
                    <span className="link-label">
                      Tier {tier.tierNumber}
                      {sold ? `: ${describeTier(sold)}` : ''}
                    </span>
                    <code className="mono">{tier.url}</code>
                    <CopyButton text={tier.url} what={`tier ${tier.tierNumber}'s link`} />
                  </li>
                );
              })}
            </ul>
            <div>
              <SelectField label="QR code for" value={qrTier ?? ''} onChange={(event) => setQrTier(event.target.value ? Number(event.target.value) : undefined)}>
                <option value="">All tiers</option>
                {links.tiers.map((tier) => (
                  <option key={tier.tierNumber} value={tier.tierNumber}>
                    Tier {tier.tierNumber}
                  </option>
                ))}
              </SelectField>
              <SubscribeQr channelId={data.id} tier={qrTier} label={qrLabel} />
            </div>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="tier-posts">
        <h2 id="tier-posts">Tier posts</h2>
        <p>
          {data.broadcast.enabled
            ? `The bot posts your tiers every ${data.broadcast.intervalHours} hours${data.broadcast.nextRunAt ? `; next at ${new Date(data.broadcast.nextRunAt).toLocaleString()}` : ''}.`
            : `Scheduled posts are off (${data.broadcast.disabledReason ?? 'off'}).`}
          {data.broadcast.lastPostedAt && ` Last posted ${new Date(data.broadcast.lastPostedAt).toLocaleString()}.`}
        </p>
        {data.broadcast.lastError && <Notice tone="warning">The last post failed: {data.broadcast.lastError}</Notice>}
        <TierPostsPreview channelId={data.id} />
        <BroadcastNow channelId={data.id} availableAt={data.broadcast.manualTriggerAvailableAt} />
      </section>

      <section className="card" aria-labelledby="trials-gifts">
        <h2 id="trials-gifts">Trials and gifts</h2>
        <p className="muted">A tier’s free trial is set in the channel’s settings; subscribers can buy any tier as a gift in the bot.</p>
        <TrialsAndGifts channelId={data.id} />
      </section>
      <section className="card" aria-labelledby="settings">
        <h2 id="settings">Settings</h2>
        <dl className="facts">
          <dt>Open channel</dt>
          <dd>
            {data.openChat.title} <span className="muted mono">{data.openChat.id}</span>
          </dd>
          <dt>Closed chat</dt>
          <dd>
            {data.closedChat.title} <span className="muted mono">{data.closedChat.id}</span>
          </dd>
          <dt>Tiers</dt>
          <dd>
            {data.tiers.map((tier) => `Tier ${tier.tierNumber}: ${describeTier(tier)}${tier.trialDays > 0 ? `, ${tier.trialDays}-day free trial` : ''}`).join(' · ')}
          </dd>
          <dt>Free trials</dt>
          <dd>{data.trialMinAccountAgeDays === null ? 'for any account' : `for accounts known ${data.trialMinAccountAgeDays}+ days`}</dd>
          <dt>Payouts</dt>
          <dd>{describePayout(data)}</dd>
          <dt>Wallet</dt>
          <dd className="mono wrap">
            {data.payoutDestination.wallet}
            {data.payoutDestination.extraId && ` (${data.payoutDestination.extraId})`}
          </dd>
          <dt>Partial payments</dt>
          <dd>accepted from {data.underpaymentToleranceBps / 100} % of the price</dd>
          <dt>Grace period</dt>
          <dd>{data.gracePeriodHours} hours</dd>
          <dt>Donations</dt>
          <dd>{data.donations.enabled ? `$${data.donations.minUsd} to $${data.donations.maxUsd}` : 'off'}</dd>
          <dt>Notifications</dt>
          <dd>{data.notifications.enabled ? `to ${data.notifications.chatId ?? 'you'}` : 'off'}</dd>
        </dl>
      </section>
      <DeleteChannelSection channelId={data.id} title={data.openChat.title} />
      <p>
        <Link to="/channels">Back to your channels</Link>
      </p>
    </>
  );
}
