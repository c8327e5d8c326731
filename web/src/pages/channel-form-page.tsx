import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useMemo, useRef, useState } from 'react';
import { MAX_BROADCAST_INTERVAL_HOURS, MAX_GRACE_PERIOD_HOURS, MAX_TIERS } from '../../../shared/channels/channel-schemas';
import { ApiError } from '../api/api-error';
import { type Channel, must, type PayoutOption } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { CheckboxField, ErrorMessage, fieldErrorsOf, Notice, SelectField, Spinner, TextAreaField, TextField, focusFirstInvalid } from '../components/ui';
import {
  channelBodyOf,
  channelChanges,
  channelFormOf,
  type ChannelFormValues,
  emptyChannelForm,
  type FieldErrors,
  validateChannelForm,
  walletFeedback,
} from '../forms/channel-form';
import { Link, navigate, useParams } from '../router';
import { queryKeys, useChannel, useMe, usePayoutOptions } from './queries';

const DONATION_MESSAGE_MAX = 256;

function Section({ title, children, description }: { title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <fieldset className="card">
      <legend>{title}</legend>
      {description && <p className="hint">{description}</p>}
      {children}
    </fieldset>
  );
}

function networksOf(options: PayoutOption[]) {
  const seen = new Map<string, string>();
  for (const option of options) if (!seen.has(option.network)) seen.set(option.network, option.networkName);
  return [...seen].map(([network, name]) => ({ network, name }));
}

interface ChannelFormProps {
  initial: ChannelFormValues;
  /** The stored channel when editing. */
  channel?: Channel;
  submitLabel: string;
  onSubmit: (values: ChannelFormValues, isPayoutChange: boolean) => Promise<unknown>;
}

/** The register / edit form. Checks run on submit (the wallet's also as it is typed); the server's field errors land on the same inputs. */
export function ChannelForm({ initial, channel, submitLabel, onSubmit }: ChannelFormProps) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const form = useRef<HTMLFormElement>(null);
  const options = usePayoutOptions();
  const save = useMutation({ mutationFn: ({ isPayoutChange }: { isPayoutChange: boolean }) => onSubmit(values, isPayoutChange) });
  const isPayoutChange = channel ? channelChanges(values, channel).isPayoutChange : true;
  const wallet = useMemo(() => walletFeedback(values.payout), [values.payout]);
  const server = fieldErrorsOf(save.error);
  const error = (path: string) => errors[path] ?? server[path];

  const update = (change: (draft: ChannelFormValues) => void) =>
    setValues((current) => {
      const draft = structuredClone(current);
      change(draft);
      return draft;
    });
  const text = (change: (draft: ChannelFormValues, value: string) => void) => (event: { target: { value: string } }) => update((draft) => change(draft, event.target.value));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateChannelForm(values, { requirePassword: isPayoutChange });
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid(form.current);
      return;
    }
    save.mutate({ isPayoutChange });
  };

  const optionList = options.data?.options ?? [];
  const networks = networksOf(optionList);
  // The stored pair stays selectable even if it is no longer offered to new channels.
  if (channel && !networks.some((entry) => entry.network === channel.payoutDestination.network)) {
    networks.push({ network: channel.payoutDestination.network, name: channel.payoutDestination.network });
  }
  const currencies = optionList.filter((option) => option.network === values.payout.network);
  const selected = currencies.find((option) => option.currency === values.payout.currency);
  const extraIdName = selected?.extraIdName ?? (values.payout.network === 'TON' ? 'memo' : values.payout.network === 'XRP' ? 'destination tag' : null);
  const isOwnershipError = save.error instanceof ApiError && save.error.code === 'channel_ownership_unverified';

  const chat = (which: 'openChat' | 'closedChat', label: string, rights: string) => (
    <>
      <TextField
        label={`${label}: chat id`}
        inputMode="numeric"
        autoComplete="off"
        placeholder="-1001234567890"
        hint={`Add the bot as an administrator of this chat with ${rights}. Forward a post from it to @userinfobot to see its id.`}
        value={values[which].id}
        onChange={text((draft, value) => (draft[which].id = value))}
        error={error(`${which}.id`)}
        required
      />
      <TextField label={`${label}: title`} value={values[which].title} onChange={text((draft, value) => (draft[which].title = value))} error={error(`${which}.title`)} required />
      <TextField
        label={`${label}: description (optional)`}
        value={values[which].description}
        onChange={text((draft, value) => (draft[which].description = value))}
        error={error(`${which}.description`)}
      />
    </>
  );

  return (
    <form ref={form} onSubmit={submit} noValidate className="channel-form">
      <Section title="Chats" description="The open channel is where people find you and the bot posts your tiers; the closed chat is what subscribers pay to join.">
        {chat('openChat', 'Open channel', 'the right “Post messages”')}
        {chat('closedChat', 'Closed chat', 'the rights “Invite users via link” and “Ban users”')}
      </Section>

      <Section title="Subscription tiers" description={`Up to ${MAX_TIERS} tiers. The prices are in US dollars; subscribers pay the equivalent in crypto.`}>
        {error('tiers') && <p className="field-error">{error('tiers')}</p>}
        {values.tiers.map((tier, index) => (
          <div className="tier-row" key={index}>
            <TextField
              label={`Tier ${index + 1}: price (USD)`}
              inputMode="decimal"
              placeholder="9.99"
              value={tier.priceUsd}
              onChange={text((draft, value) => (draft.tiers[index]!.priceUsd = value))}
              error={error(`tiers.${index}.priceUsd`)}
              required
            />
            <TextField
              label={`Tier ${index + 1}: days of access`}
              inputMode="numeric"
              value={tier.durationDays}
              onChange={text((draft, value) => (draft.tiers[index]!.durationDays = value))}
              error={error(`tiers.${index}.durationDays`)}
              required
            />
            <TextField
              label={`Tier ${index + 1}: free trial (days)`}
              inputMode="numeric"
              hint="0 for none, up to 30. The bot offers it once per Telegram user per channel."
              value={tier.trialDays}
              onChange={text((draft, value) => (draft.tiers[index]!.trialDays = value))}
              error={error(`tiers.${index}.trialDays`)}
            />
            {values.tiers.length > 1 && (
              <button type="button" className="button button--quiet" onClick={() => update((draft) => void draft.tiers.splice(index, 1))} aria-label={`Remove tier ${index + 1}`}>
                Remove
              </button>
            )}
          </div>
        ))}
        {values.tiers.length < MAX_TIERS && (
          <button type="button" className="button" onClick={() => update((draft) => void draft.tiers.push({ priceUsd: '', durationDays: '30', trialDays: '0' }))}>
            Add a tier
          </button>
        )}
      </Section>

      <Section title="Payouts" description="Where your share goes. Payouts already on their way keep the wallet they were created with.">
        {options.isError && <ErrorMessage error={options.error} />}
        <SelectField
          label="Network"
          value={values.payout.network}
          onChange={text((draft, value) => {
            draft.payout.network = value;
            const offered = optionList.filter((option) => option.network === value);
            draft.payout.currency = offered.length === 1 ? offered[0]!.currency : offered.some((option) => option.currency === draft.payout.currency) ? draft.payout.currency : '';
            if (!offered.some((option) => option.extraIdName)) draft.payout.extraId = '';
          })}
          error={error('payoutDestination.network')}
          required
        >
          <option value="">Choose a network</option>
          {networks.map((entry) => (
            <option key={entry.network} value={entry.network}>
              {entry.name} ({entry.network})
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Currency"
          value={values.payout.currency}
          onChange={text((draft, value) => (draft.payout.currency = value))}
          error={error('payoutDestination.currency')}
          disabled={!values.payout.network}
          required
        >
          <option value="">{values.payout.network ? 'Choose a currency' : 'Choose the network first'}</option>
          {currencies.map((option) => (
            <option key={option.currency} value={option.currency}>
              {option.currencyName} ({option.currency})
            </option>
          ))}
          {channel && values.payout.currency && !currencies.some((option) => option.currency === values.payout.currency) && (
            <option value={values.payout.currency}>{values.payout.currency}</option>
          )}
        </SelectField>
        <TextField
          label="Wallet address"
          autoComplete="off"
          spellCheck={false}
          className="mono"
          hint={selected?.addressHint ?? 'Choose the network to see what its addresses look like.'}
          value={values.payout.wallet}
          onChange={text((draft, value) => (draft.payout.wallet = value))}
          error={error('payoutDestination.wallet') ?? wallet.warning ?? (values.payout.network && values.payout.currency ? wallet.error : undefined)}
          ok={wallet.ok}
          required
        />
        {extraIdName && (
          <TextField
            label={`${extraIdName.charAt(0).toUpperCase()}${extraIdName.slice(1)} (optional)`}
            hint={`Only if your exchange gave you a ${extraIdName} with the address: without it, an exchange cannot credit you.`}
            value={values.payout.extraId}
            onChange={text((draft, value) => (draft.payout.extraId = value))}
            error={error('payoutDestination.extraId')}
          />
        )}
        <fieldset className="radio-group">
          <legend>When to pay out</legend>
          <label>
            <input type="radio" name="strategy" value="instant" checked={values.strategy === 'instant'} onChange={() => update((draft) => void (draft.strategy = 'instant'))} /> After every payment
          </label>
          <label>
            <input type="radio" name="strategy" value="threshold" checked={values.strategy === 'threshold'} onChange={() => update((draft) => void (draft.strategy = 'threshold'))} /> When the
            balance reaches a threshold (fewer, larger transfers)
          </label>
        </fieldset>
        {values.strategy === 'threshold' && (
          <TextField
            label="Threshold (USD)"
            inputMode="decimal"
            placeholder="50"
            hint="The balance is kept in USDT until it reaches this amount."
            value={values.thresholdUsd}
            onChange={text((draft, value) => (draft.thresholdUsd = value))}
            error={error('payoutStrategy.thresholdUsd') ?? error('payoutStrategy')}
            required
          />
        )}
      </Section>

      <Section title="Subscribers">
        <TextField
          label="Accept partial payments from (% of the price)"
          inputMode="decimal"
          hint="Crypto wallets often send a little less than asked (network fees). 90 to 100 %; 98 % is usual."
          value={values.tolerancePercent}
          onChange={text((draft, value) => (draft.tolerancePercent = value))}
          error={error('underpaymentToleranceBps')}
        />
        <TextField
          label="Grace period (hours)"
          inputMode="numeric"
          hint={`How long a member stays after their time ended, 0 to ${MAX_GRACE_PERIOD_HOURS} hours; a renewal within it continues without a gap.`}
          value={values.gracePeriodHours}
          onChange={text((draft, value) => (draft.gracePeriodHours = value))}
          error={error('gracePeriodHours')}
        />
        <TextField
          label="Free trials only for accounts older than (days)"
          inputMode="numeric"
          hint="Optional abuse guard: a trial is offered only to Telegram accounts the bot has known this many days (1 to 365). Empty: any account."
          value={values.trialMinAccountAgeDays}
          onChange={text((draft, value) => (draft.trialMinAccountAgeDays = value))}
          error={error('trialMinAccountAgeDays')}
        />
      </Section>

      <Section title="Tier posts" description="The bot posts your tiers, with a button each, in the open channel.">
        <CheckboxField label="Post the tiers on a schedule" checked={values.broadcastEnabled} onChange={(event) => update((draft) => void (draft.broadcastEnabled = event.target.checked))} />
        {values.broadcastEnabled && (
          <TextField
            label="Every (hours)"
            inputMode="numeric"
            hint={`1 to ${MAX_BROADCAST_INTERVAL_HOURS} hours.`}
            value={values.broadcastIntervalHours}
            onChange={text((draft, value) => (draft.broadcastIntervalHours = value))}
            error={error('broadcast.intervalHours') ?? error('broadcast')}
          />
        )}
        {channel?.broadcast.disabledReason && channel.broadcast.disabledReason !== 'owner' && (
          <Notice tone="warning">
            Scheduled posts stopped ({channel.broadcast.disabledReason === 'bot_rights_missing' ? 'the bot lost a right it needs' : 'they failed too often'}
            {channel.broadcast.lastError ? `: ${channel.broadcast.lastError}` : ''}). Saving with the schedule on starts them again.
          </Notice>
        )}
      </Section>

      <Section title="Donations" description="A donation button in the closed chat, for members who want to give more.">
        <CheckboxField label="Accept donations" checked={values.donations.enabled} onChange={(event) => update((draft) => void (draft.donations.enabled = event.target.checked))} />
        {error('donations') && <p className="field-error">{error('donations')}</p>}
        {values.donations.enabled && (
          <>
            <div className="tier-row">
              <TextField
                label="Smallest donation (USD)"
                inputMode="decimal"
                value={values.donations.minUsd}
                onChange={text((draft, value) => (draft.donations.minUsd = value))}
                error={error('donations.minUsd')}
              />
              <TextField
                label="Largest donation (USD)"
                inputMode="decimal"
                value={values.donations.maxUsd}
                onChange={text((draft, value) => (draft.donations.maxUsd = value))}
                error={error('donations.maxUsd')}
              />
            </div>
            <TextAreaField
              label="Message with the button"
              maxLength={DONATION_MESSAGE_MAX}
              hint={`${values.donations.message.length} of ${DONATION_MESSAGE_MAX} characters`}
              value={values.donations.message}
              onChange={text((draft, value) => (draft.donations.message = value))}
              error={error('donations.message')}
            />
          </>
        )}
      </Section>

      <Section title="Notifications">
        <CheckboxField
          label="Tell me about each payment in Telegram"
          checked={values.notificationsEnabled}
          onChange={(event) => update((draft) => void (draft.notificationsEnabled = event.target.checked))}
        />
        {values.notificationsEnabled && (
          <TextField
            label="Send them to (Telegram user or group id, optional)"
            inputMode="numeric"
            hint="Empty: your linked Telegram account."
            value={values.notificationChatId}
            onChange={text((draft, value) => (draft.notificationChatId = value))}
            error={error('notifications.chatId')}
          />
        )}
      </Section>

      {isPayoutChange && (
        <Section title="Confirm with your password" description="Setting where payouts go, or which chats the channel is, needs your password, so that a stolen session cannot redirect your money or your subscribers.">
          <TextField
            label="Your account password"
            type="password"
            autoComplete="current-password"
            value={values.currentPassword}
            onChange={text((draft, value) => (draft.currentPassword = value))}
            error={error('currentPassword')}
            required
          />
        </Section>
      )}

      {isOwnershipError ? (
        <div className="alert alert--error" role="alert">
          <strong>Telegram says the bot cannot run this channel yet.</strong> {(save.error as ApiError).message} Fix it in Telegram, then save again.
        </div>
      ) : (
        <ErrorMessage error={save.error} />
      )}
      {Object.keys(errors).length > 0 && (
        <p className="field-error" role="alert">
          Some fields need a look: {Object.keys(errors).length === 1 ? 'one problem' : `${Object.keys(errors).length} problems`} above.
        </p>
      )}
      <div className="actions">
        <button className="button button--primary" type="submit" disabled={save.isPending}>
          {save.isPending ? 'Saving… (asking Telegram)' : submitLabel}
        </button>
        <Link to={channel ? `/channels/${channel.id}` : '/channels'} className="button button--quiet">
          Cancel
        </Link>
      </div>
    </form>
  );
}

export function CreateChannelPage() {
  const { api } = useAuth();
  const queries = useQueryClient();
  const me = useMe();
  if (me.isPending) return <Spinner />;
  if (me.isError) return <ErrorMessage error={me.error} />;
  return (
    <>
      <h1>Register a channel</h1>
      {!me.data.telegram.linked ? (
        <Notice tone="warning">
          Link your Telegram account first: the bot checks that you administer the chats. <Link to="/telegram">Link Telegram</Link>
        </Notice>
      ) : (
        <ChannelForm
          initial={emptyChannelForm()}
          submitLabel="Register the channel"
          onSubmit={async (values) => {
            const created = await must(api.POST('/channels', { body: { ...channelBodyOf(values), currentPassword: values.currentPassword } }));
            // The list shows the new channel at once (the legacy SPA waited for its cache to expire, W12).
            await queries.invalidateQueries({ queryKey: queryKeys.channels });
            queries.setQueryData(queryKeys.channel(created.id), created);
            navigate(`/channels/${created.id}?created=1`);
          }}
        />
      )}
    </>
  );
}

export function EditChannelPage() {
  const { channelId = '' } = useParams();
  const { api } = useAuth();
  const queries = useQueryClient();
  const channel = useChannel(channelId);
  if (channel.isPending) return <Spinner />;
  if (channel.isError) return <ErrorMessage error={channel.error} />;
  const stored = channel.data;
  return (
    <>
      <h1>Edit {stored.openChat.title}</h1>
      <ChannelForm
        key={stored.updatedAt}
        initial={channelFormOf(stored)}
        channel={stored}
        submitLabel="Save the changes"
        onSubmit={async (values, isPayoutChange) => {
          const { changes } = channelChanges(values, stored);
          if (Object.keys(changes).length > 0) {
            const updated = await must(
              api.PATCH('/channels/{channelId}', {
                params: { path: { channelId } },
                body: { ...changes, ...(isPayoutChange ? { currentPassword: values.currentPassword } : {}) },
              }),
            );
            queries.setQueryData(queryKeys.channel(channelId), updated);
            await queries.invalidateQueries({ queryKey: queryKeys.channels });
          }
          navigate(`/channels/${channelId}`);
        }}
      />
    </>
  );
}
