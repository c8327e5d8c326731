import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useRef, useState } from 'react';
import { type AnswerOf, type BodyOf, must } from '../api/client';
import { useAuth } from '../auth/auth-context';
import { CheckboxField, CopyButton, ErrorMessage, fieldErrorsOf, focusFirstInvalid, Notice, Spinner, TextField } from '../components/ui';
import { formatTime } from './earnings-page';

type Endpoint = AnswerOf<'listWebhookEndpoints'>['items'][number];
type EventType = BodyOf<'createWebhookEndpoint'>['events'][number];

const EVENT_TYPES: { type: EventType; words: string }[] = [
  { type: 'payment.settled', words: 'A payment settled' },
  { type: 'subscription.started', words: 'A subscription started' },
  { type: 'subscription.renewed', words: 'A subscription was renewed' },
  { type: 'subscription.ended', words: 'A subscription ended (member removed)' },
  { type: 'payout.completed', words: 'A payout reached your wallet' },
  { type: 'payout.failed', words: 'A payout failed or was refunded to your balance' },
];

const ENDPOINTS_KEY = ['webhook-endpoints'] as const;

/** A secret the API shows once (creation, rotation), with a copy button. */
function SecretNotice({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <Notice tone="warning">
      <p>
        Signing secret, shown only now: <code className="mono" data-testid="webhook-secret">{secret}</code> <CopyButton text={secret} what="signing secret" />
      </p>
      <p>Store it with your receiver and verify every request with it (docs/webhooks.md).</p>
      <button type="button" className="button button--small" onClick={onDone}>
        I stored it
      </button>
    </Notice>
  );
}

function CreateEndpointForm({ onSecret }: { onSecret: (secret: string) => void }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventType[]>(['payment.settled']);
  const [currentPassword, setCurrentPassword] = useState('');
  const create = useMutation({
    mutationFn: () => must(api.POST('/webhook-endpoints', { body: { url, description, events, currentPassword } })),
    onSuccess: (created) => {
      onSecret(created.secret);
      setUrl('');
      setDescription('');
      setCurrentPassword('');
      void queries.invalidateQueries({ queryKey: ENDPOINTS_KEY });
    },
    onError: () => focusFirstInvalid(form.current),
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form ref={form} onSubmit={submit} className="card" aria-labelledby="new-endpoint">
      <h2 id="new-endpoint">Add an endpoint</h2>
      <TextField label="URL" type="url" required placeholder="https://example.com/webhooks/paygate" value={url} onChange={(event) => setUrl(event.target.value)} error={errors.url} hint="https only; not a private or local address" />
      <TextField label="Description (optional)" maxLength={200} value={description} onChange={(event) => setDescription(event.target.value)} error={errors.description} />
      <fieldset>
        <legend>Events</legend>
        {EVENT_TYPES.map(({ type, words }) => (
          <CheckboxField
            key={type}
            label={`${words} (${type})`}
            checked={events.includes(type)}
            onChange={(event) => setEvents(event.target.checked ? [...events, type] : events.filter((chosen) => chosen !== type))}
          />
        ))}
        {errors.events && <p className="field-error">{errors.events}</p>}
      </fieldset>
      <TextField
        label="Your password"
        type="password"
        required
        autoComplete="current-password"
        value={currentPassword}
        onChange={(event) => setCurrentPassword(event.target.value)}
        error={errors.currentPassword}
        hint="Where your events go needs your password; we mail you a notice"
      />
      {!errors.currentPassword && <ErrorMessage error={create.error} />}
      <button type="submit" className="button button--primary" disabled={create.isPending || events.length === 0}>
        {create.isPending ? 'Adding…' : 'Add endpoint'}
      </button>
    </form>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const { api } = useAuth();
  const deliveries = useInfiniteQuery({
    queryKey: ['webhook-deliveries', endpointId],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      must(api.GET('/webhook-endpoints/{endpointId}/deliveries', { params: { path: { endpointId }, query: { limit: '20', ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const resend = useMutation({
    mutationFn: (deliveryId: string) => must(api.POST('/webhook-deliveries/{deliveryId}/resend', { params: { path: { deliveryId } } })),
    onSuccess: () => void deliveries.refetch(),
  });
  if (deliveries.isPending) return <Spinner />;
  if (deliveries.isError) return <ErrorMessage error={deliveries.error} />;
  const items = deliveries.data.pages.flatMap((page) => page.items);
  return (
    <>
      <ErrorMessage error={resend.error} />
      {items.length === 0 ? (
        <p className="muted">No deliveries yet.</p>
      ) : (
        <table className="breakdown">
          <caption className="visually-hidden">Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((delivery) => (
              <tr key={delivery.id} data-testid="webhook-delivery">
                <td className="mono">{delivery.eventType}</td>
                <td>
                  <span className={`badge badge--${delivery.state}`}>{delivery.state}</span>
                  {delivery.nextAttemptAt && <span className="muted"> next {formatTime(delivery.nextAttemptAt)}</span>}
                </td>
                <td>{delivery.attempts}</td>
                <td title={delivery.attemptLog.at(-1)?.responseBody ?? undefined}>{delivery.lastStatusCode ?? delivery.lastError ?? '—'}</td>
                <td>{formatTime(delivery.createdAt)}</td>
                <td>
                  <button type="button" className="button button--small" disabled={resend.isPending} onClick={() => resend.mutate(delivery.id)}>
                    Resend
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deliveries.hasNextPage && (
        <button type="button" className="button" onClick={() => void deliveries.fetchNextPage()} disabled={deliveries.isFetchingNextPage}>
          {deliveries.isFetchingNextPage ? 'Loading…' : 'Show older deliveries'}
        </button>
      )}
    </>
  );
}

function EndpointCard({ endpoint, onSecret }: { endpoint: Endpoint; onSecret: (secret: string) => void }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [overlapHours, setOverlapHours] = useState('24');
  const [currentPassword, setCurrentPassword] = useState('');
  const refresh = () => void queries.invalidateQueries({ queryKey: ENDPOINTS_KEY });
  const path = { params: { path: { endpointId: endpoint.id } } };
  const toggle = useMutation({ mutationFn: () => must(api.PATCH('/webhook-endpoints/{endpointId}', { ...path, body: { enabled: !endpoint.enabled } })), onSuccess: refresh });
  const rotate = useMutation({
    mutationFn: () => must(api.POST('/webhook-endpoints/{endpointId}/rotate-secret', { ...path, body: { overlapHours: Number(overlapHours), currentPassword } })),
    onSuccess: (rotated) => {
      onSecret(rotated.secret);
      setCurrentPassword('');
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: () => must(api.DELETE('/webhook-endpoints/{endpointId}', path)), onSuccess: refresh });
  return (
    <li className="card" data-testid="webhook-endpoint">
      <div className="channel-card__head">
        <h3 className="mono">{endpoint.url}</h3>
        <span className={`badge badge--${endpoint.enabled ? 'active' : 'paused'}`}>{endpoint.enabled ? 'enabled' : 'disabled'}</span>
      </div>
      {endpoint.description && <p>{endpoint.description}</p>}
      <p className="muted">
        {endpoint.events.join(', ')} · secret version {endpoint.secretVersion}
        {endpoint.previousSecretUntil && ` · previous secret also signs until ${formatTime(endpoint.previousSecretUntil)}`}
      </p>
      {!fieldErrorsOf(rotate.error).currentPassword && <ErrorMessage error={toggle.error ?? rotate.error ?? remove.error} />}
      <div className="actions">
        <button type="button" className="button button--small" onClick={() => toggle.mutate()} disabled={toggle.isPending}>
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
        <TextField label="Overlap (hours, 0–168)" type="number" min={0} max={168} value={overlapHours} onChange={(event) => setOverlapHours(event.target.value)} />
        <TextField
          label="Password to rotate"
          type="password"
          autoComplete="current-password"
          value={currentPassword}
          onChange={(event) => setCurrentPassword(event.target.value)}
          error={fieldErrorsOf(rotate.error).currentPassword}
        />
        <button type="button" className="button button--small" onClick={() => rotate.mutate()} disabled={rotate.isPending || currentPassword === ''}>
          Rotate secret
        </button>
        <button
          type="button"
          className="button button--small button--danger"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm(`Delete the endpoint ${endpoint.url}? Nothing more is sent to it.`)) remove.mutate();
          }}
        >
          Delete
        </button>
      </div>
      <details>
        <summary>Deliveries</summary>
        <Deliveries endpointId={endpoint.id} />
      </details>
    </li>
  );
}

/** Owner webhooks: endpoints (at most 10), their signing secrets and rotation, the delivery log and resends. */
export function WebhooksPage() {
  const { api } = useAuth();
  const [secret, setSecret] = useState<string | null>(null);
  const endpoints = useQuery({ queryKey: ENDPOINTS_KEY, queryFn: () => must(api.GET('/webhook-endpoints')) });
  return (
    <>
      <h1>Webhooks</h1>
      <p>
        We POST signed JSON events to your HTTPS endpoints (header <code>PayGate-Signature</code>) and retry failures for 3 days.
      </p>
      {secret && <SecretNotice secret={secret} onDone={() => setSecret(null)} />}
      {endpoints.isPending ? (
        <Spinner />
      ) : endpoints.isError ? (
        <ErrorMessage error={endpoints.error} />
      ) : endpoints.data.items.length === 0 ? (
        <p className="muted">No endpoints yet.</p>
      ) : (
        <ul className="channel-list">
          {endpoints.data.items.map((endpoint) => (
            <EndpointCard key={endpoint.id} endpoint={endpoint} onSecret={setSecret} />
          ))}
        </ul>
      )}
      <CreateEndpointForm onSecret={setSecret} />
    </>
  );
}
