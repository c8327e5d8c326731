import type { Balances, Channel } from '../api/client';
import { ErrorMessage, Notice, Spinner } from '../components/ui';
import { Link } from '../router';
import { useBalances, useChannels, useMe } from './queries';

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

function ChannelCard({ channel, balances }: { channel: Channel; balances: Balances['totals'] | undefined }) {
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

/** The owner's channels with what the API tells about each: tiers, payouts, balance owed, tier posts, bot rights. */
export function ChannelsPage() {
  const channels = useChannels();
  const balances = useBalances();
  const me = useMe();
  if (channels.isPending) return <Spinner />;
  if (channels.isError) return <ErrorMessage error={channels.error} />;
  const { count, maxChannels } = channels.data;
  const byChannel = new Map(balances.data?.channels.map((entry) => [entry.channelId, entry.balances]));
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
      {channels.data.channels.length === 0 ? (
        <p>No channels yet.{canRegister ? ' Register your first one: you need its chat ids and the bot as an administrator of both chats.' : ''}</p>
      ) : (
        <ul className="channel-list">
          {channels.data.channels.map((channel) => (
            <ChannelCard key={channel.id} channel={channel} balances={byChannel.get(channel.id)} />
          ))}
        </ul>
      )}
    </>
  );
}
