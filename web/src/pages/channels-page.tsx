import type { Balances, Channel, ChannelFigures } from '../api/client';
import { ErrorMessage, Notice, Spinner } from '../components/ui';
import { Link, useLocation } from '../router';
import { useBalances, useChannelFigures, useChannels, useMe } from './queries';

export function describeTier(tier: Channel['tiers'][number]): string {
  return `$${tier.priceUsd} for ${tier.durationDays} ${tier.durationDays === 1 ? 'day' : 'days'}`;
}

export function describePayout(channel: Channel): string {
  const destination = `${channel.payoutDestination.currency} on ${channel.payoutDestination.network}`;
  return channel.payoutStrategy.strategy === 'instant' ? `After every payment, in ${destination}` : `At $${channel.payoutStrategy.thresholdUsd}, in ${destination}`;
}

/** What the bot lacks, in words, or undefined when it has every right it needs. */
export function missingRights(channel: Channel): string | undefined {
  const rights = channel.botRights;
  if (!rights) return undefined;
  const parts = [
    rights.open.missing.length > 0 ? `open channel: ${rights.open.missing.join(', ')}` : undefined,
    rights.closed.missing.length > 0 ? `closed chat: ${rights.closed.missing.join(', ')}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function BalanceLines({ balances }: { balances: Balances['totals'] | undefined }) {
  if (!balances || balances.length === 0) return <span className="muted">nothing owed yet</span>;
  return (
    <>
      {balances.map((balance) => (
        <span key={balance.asset} className="balance">
          {balance.available} {balance.asset}
          {balance.inPayouts !== '0' && <span className="muted"> (+{balance.inPayouts} on its way)</span>}
        </span>
      ))}
    </>
  );
}

/** Where the channel's next payout stands, in words: the threshold progress, or payouts on their way. */
export function describeNextPayout(next: ChannelFigures['nextPayout']): string {
  const flying = next.inFlight === 0 ? '' : ` · ${next.inFlight} ${next.inFlight === 1 ? 'payout' : 'payouts'} on the way`;
  if (next.strategy === 'instant') return `with each payment${flying}`;
  return `$${next.balanceUsd} of $${next.thresholdUsd} (${next.percent} %)${flying}`;
}

function FigureLines({ figures }: { figures: ChannelFigures | undefined }) {
  if (!figures) return null;
  const next = figures.nextPayout;
  return (
    <>
      <dt>Subscribers now</dt>
      <dd data-testid="active-subscribers">{figures.activeSubscribers}</dd>
      <dt>Revenue, 30 days</dt>
      <dd data-testid="revenue-30-days">${figures.revenue30DaysUsd}</dd>
      <dt>Next payout</dt>
      <dd>
        {describeNextPayout(next)}
        {next.strategy === 'threshold' && (
          <progress className="threshold-progress" max={100} value={Math.min(next.percent, 100)} aria-label={`Threshold progress: ${next.percent} %`} />
        )}
      </dd>
    </>
  );
}

function ChannelCard({ channel, balances, figures }: { channel: Channel; balances: Balances['totals'] | undefined; figures: ChannelFigures | undefined }) {
  const missing = missingRights(channel);
  return (
    <li className="card channel-card">
      <div className="channel-card__head">
        <h2>
          <Link to={`/channels/${channel.id}`}>{channel.openChat.title}</Link>
        </h2>
        <span className={`badge badge--${channel.status}`}>{channel.status}</span>
      </div>
      <p className="muted">Closed chat: {channel.closedChat.title}</p>
      <dl className="facts">
        <FigureLines figures={figures} />
        <dt>Tiers</dt>
        <dd>{channel.tiers.map(describeTier).join(' · ')}</dd>
        <dt>Payouts</dt>
        <dd>{describePayout(channel)}</dd>
        <dt>Owed to you</dt>
        <dd>
          <BalanceLines balances={balances} />
        </dd>
        <dt>Tier posts</dt>
        <dd>
          {channel.broadcast.enabled
            ? `every ${channel.broadcast.intervalHours} h${channel.broadcast.nextRunAt ? `, next ${new Date(channel.broadcast.nextRunAt).toLocaleString()}` : ''}`
            : `stopped (${channel.broadcast.disabledReason ?? 'off'})`}
        </dd>
      </dl>
      {missing && <Notice tone="warning">The bot lacks rights it needs ({missing}): members cannot be invited or removed until you grant them.</Notice>}
      <p className="actions">
        <Link to={`/channels/${channel.id}`} className="button">
          Subscribe links and QR
        </Link>
        <Link to={`/channels/${channel.id}/edit`} className="button button--quiet" aria-label={`Edit ${channel.openChat.title}`}>
          Edit
        </Link>
      </p>
    </li>
  );
}

/** The owner's channels with what the API tells about each: subscribers, revenue, next payout, tiers, balance owed, tier posts, bot rights. */
export function ChannelsPage() {
  const channels = useChannels();
  const balances = useBalances();
  const figures = useChannelFigures();
  const me = useMe();
  const { search } = useLocation();
  if (channels.isPending) return <Spinner />;
  if (channels.isError) return <ErrorMessage error={channels.error} />;
  const { count, maxChannels } = channels.data;
  const byChannel = new Map(balances.data?.channels.map((entry) => [entry.channelId, entry.balances]));
  const figuresByChannel = new Map(figures.data?.channels.map((entry) => [entry.channelId, entry]));
  const canRegister = count < maxChannels && me.data?.telegram.linked === true;
  return (
    <>
      <div className="page-head">
        <h1>Your channels</h1>
        <p className="muted">
          {count} of {maxChannels}
        </p>
        {canRegister && (
          <Link to="/channels/new" className="button button--primary">
            Register a channel
          </Link>
        )}
      </div>
      {search.get('deleted') && <Notice tone="success">The channel is deleted. Its history and what you are owed stay in your earnings.</Notice>}
      {me.data && !me.data.emailVerified && <Notice tone="warning">Verify your email address: open the link we mailed to {me.data.email}. Then link your Telegram account.</Notice>}
      {me.data?.emailVerified && !me.data.telegram.linked && (
        <Notice>
          Next step: <Link to="/telegram">link your Telegram account</Link>, so the bot can check that you administer your channels.
        </Notice>
      )}
      {balances.data && balances.data.totals.length > 0 && (
        <section className="card" aria-labelledby="totals">
          <h2 id="totals">Owed to you in total</h2>
          <p>
            <BalanceLines balances={balances.data.totals} />
          </p>
        </section>
      )}
      {balances.isError && <ErrorMessage error={balances.error} />}
      {figures.isError && <ErrorMessage error={figures.error} />}
      {channels.data.channels.length === 0 ? (
        <p>No channels yet.{canRegister ? ' Register your first one: you need its chat ids and the bot as an administrator of both chats.' : ''}</p>
      ) : (
        <ul className="channel-list">
          {channels.data.channels.map((channel) => (
            <ChannelCard key={channel.id} channel={channel} balances={byChannel.get(channel.id)} figures={figuresByChannel.get(channel.id)} />
          ))}
        </ul>
      )}
    </>
  );
}
