-- Owner webhooks (docs/webhooks.md): an owner's HTTPS endpoints, the events recorded for them in the
-- transaction of the effect that caused them, one delivery per (event, endpoint) and a log of every
-- HTTP attempt. No signing secret is stored: an endpoint's secret is derived from
-- OWNER_WEBHOOK_SIGNING_KEY, its id and secret_version.

CREATE TABLE owner_webhook_endpoints (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  -- Checked at registration (https, no credentials, no private IP literal) and again after DNS at delivery.
  url                   text NOT NULL CHECK (length(url) BETWEEN 9 AND 2048 AND url ~ '^https?://'),
  description           text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
  events                text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 6 AND events <@ ARRAY[
                          'payment.settled', 'subscription.started', 'subscription.renewed', 'subscription.ended',
                          'payout.completed', 'payout.failed']::text[]),
  is_enabled            boolean NOT NULL DEFAULT true,
  -- The secret in use is derived from this version; a rotation bumps it and keeps the previous one
  -- signing too until previous_secret_until (the overlap the owner chose, at most 7 days).
  secret_version        integer NOT NULL DEFAULT 1 CHECK (secret_version >= 1),
  previous_secret_until timestamptz,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  deleted_at            timestamptz,
  CHECK (previous_secret_until IS NULL OR secret_version > 1)
);
-- Recording an event looks up the owner's live endpoints on every settlement, expiry and finished payout.
CREATE INDEX owner_webhook_endpoints_live_idx ON owner_webhook_endpoints (account_id) WHERE deleted_at IS NULL AND is_enabled;

CREATE TABLE owner_webhook_events (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  type        text NOT NULL CHECK (type IN ('payment.settled', 'subscription.started', 'subscription.renewed', 'subscription.ended',
                                            'payout.completed', 'payout.failed')),
  -- What caused it (`payment:<uuid>`, `payout:<uuid>`, `subscription:<uuid>:<expires_at>`): a repeated
  -- effect records nothing new.
  source_key  text NOT NULL CHECK (length(source_key) BETWEEN 1 AND 200),
  -- The event's `data` (ids in public form, amounts as decimal strings; no wallet address, no email).
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL,
  UNIQUE (source_key, type)
);

CREATE TABLE owner_webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id         uuid NOT NULL REFERENCES owner_webhook_events (id) ON DELETE RESTRICT,
  endpoint_id      uuid NOT NULL REFERENCES owner_webhook_endpoints (id) ON DELETE RESTRICT,
  -- pending → delivered (a 2xx) or failed (3 days of failures, or the endpoint disabled or deleted).
  state            text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- When the next POST is due; retry-owner-webhooks re-publishes due rows every minute.
  next_attempt_at  timestamptz,
  -- A delivery holds the row while it POSTs: a concurrent duplicate message does nothing.
  leased_until     timestamptz,
  -- When a message for it was last queued: the sweep queues a due row again only 5 minutes later.
  enqueued_at      timestamptz NOT NULL,
  last_status_code integer,
  last_error       text CHECK (length(last_error) <= 200),
  -- A resend from the dashboard is a new delivery of the same event to the same endpoint.
  resend_of        uuid REFERENCES owner_webhook_deliveries (id) ON DELETE RESTRICT,
  created_at       timestamptz NOT NULL,
  state_changed_at timestamptz NOT NULL,
  CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL))
);
-- One original delivery per event and endpoint (resends are extra rows).
CREATE UNIQUE INDEX owner_webhook_deliveries_original_key ON owner_webhook_deliveries (event_id, endpoint_id) WHERE resend_of IS NULL;
CREATE INDEX owner_webhook_deliveries_due_idx ON owner_webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX owner_webhook_deliveries_endpoint_idx ON owner_webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE owner_webhook_attempts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id     uuid NOT NULL REFERENCES owner_webhook_deliveries (id) ON DELETE RESTRICT,
  attempt         integer NOT NULL CHECK (attempt >= 1),
  started_at      timestamptz NOT NULL,
  duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
  -- The endpoint's HTTP status; null when no answer came (error_class says why).
  status_code     integer CHECK (status_code BETWEEN 100 AND 599),
  error_class     text CHECK (error_class IN ('http_status', 'timeout', 'dns', 'refused_address', 'connection', 'tls', 'redirect')),
  -- The start of the endpoint's answer, for the owner's log; at most 1 KiB.
  response_body   text CHECK (octet_length(response_body) <= 1024),
  UNIQUE (delivery_id, attempt)
);
