-- Messaging infrastructure every stage relies on: the transactional outbox, handle-once records,
-- dead letters, and the append-only audit log.

-- Messages written in the same transaction as the effect that causes them; a relay publishes them
-- after commit (and again from the scheduled relay for anything left unsent).
CREATE TABLE outbox (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Our id for the message, carried in the `pgp_message_id` attribute. Consumers de-duplicate on it,
  -- so a message the relay publishes twice (crash between publish and mark) still has one effect.
  message_id          uuid NOT NULL UNIQUE,
  topic               text NOT NULL CHECK (topic ~ '^[a-z][a-z0-9-]{2,62}$'),
  payload             jsonb NOT NULL,
  attributes          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- One message per logical event (e.g. 'payment-settled:<payment id>'): a repeated effect cannot
  -- enqueue a second copy.
  dedupe_key          text UNIQUE,
  created_at          timestamptz NOT NULL,
  published_at        timestamptz,
  publish_attempts    integer NOT NULL DEFAULT 0 CHECK (publish_attempts >= 0),
  -- A relay claims rows for a short lease, publishes outside any transaction, then marks them.
  -- Another relay skips leased rows; an expired lease (crashed relay) makes the row eligible again.
  leased_until        timestamptz,
  last_error          text,
  provider_message_id text,
  CHECK ((published_at IS NULL) = (provider_message_id IS NULL))
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- A consumer's record that it has applied a message's effect, written in the effect's transaction.
CREATE TABLE processed_messages (
  consumer     text NOT NULL,
  message_id   text NOT NULL,
  topic        text NOT NULL,
  processed_at timestamptz NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at);

-- Input that can never succeed (invalid, unknown id, wrong state): acknowledged and kept here for an
-- operator, never retried and never dropped silently.
CREATE TABLE dead_letters (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source           text NOT NULL,                -- consumer function or HTTP entry point
  topic            text,
  message_id       text,
  reason_code      text NOT NULL CHECK (reason_code ~ '^[a-z][a-z0-9_]*$'),
  reason           text NOT NULL,
  data             text,                         -- the message body as received (decoded)
  attributes       jsonb NOT NULL DEFAULT '{}'::jsonb,
  delivery_attempt integer,
  created_at       timestamptz NOT NULL,
  resolved_at      timestamptz,
  resolution       text,
  CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
-- A redelivered poison message is recorded once.
CREATE UNIQUE INDEX dead_letters_source_message_idx ON dead_letters (source, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX dead_letters_unresolved_idx ON dead_letters (created_at) WHERE resolved_at IS NULL;

-- Who did what: payment events, auth events, admin actions. Append-only.
CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at  timestamptz NOT NULL,
  actor_type   text NOT NULL CHECK (actor_type IN ('system', 'account', 'telegram_user', 'operator', 'provider')),
  actor_id     text,
  action       text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  subject_type text,
  subject_id   text,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  request_id   text
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id, occurred_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_type, actor_id, occurred_at);

CREATE FUNCTION reject_modification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION reject_modification();
