-- Monetised channels: the owner's open/closed chat pair, up to three tiers, the payout destination
-- and strategy, and the schedule of tier posts. Payout (currency, network) pairs come from a
-- reference table instead of Postgres enums, so adding SHIB or BASE is an INSERT, not a type change.

CREATE TABLE payout_options (
  currency      text NOT NULL CHECK (currency ~ '^[A-Z0-9]{2,10}$'),
  network       text NOT NULL CHECK (network ~ '^[A-Z0-9]{2,10}$'),
  currency_name text NOT NULL CHECK (length(currency_name) BETWEEN 1 AND 64),
  network_name  text NOT NULL CHECK (length(network_name) BETWEEN 1 AND 64),
  -- What the network calls a per-deposit tag ('memo', 'destination tag'), if it has one. Exchange
  -- deposit addresses on these networks lose funds sent without it.
  extra_id_name text CHECK (length(extra_id_name) BETWEEN 1 AND 32),
  -- Offered for new choices; disabling keeps existing channels valid.
  is_enabled    boolean NOT NULL DEFAULT true,
  PRIMARY KEY (currency, network)
);

INSERT INTO payout_options (currency, network, currency_name, network_name, extra_id_name) VALUES
  ('ETH',  'ETH',  'Ethereum',   'Ethereum',                 NULL),
  ('USDT', 'ETH',  'Tether USD', 'Ethereum (ERC-20)',        NULL),
  ('USDC', 'ETH',  'USD Coin',   'Ethereum (ERC-20)',        NULL),
  ('SHIB', 'ETH',  'Shiba Inu',  'Ethereum (ERC-20)',        NULL),
  ('ETH',  'BASE', 'Ethereum',   'Base',                     NULL),
  ('USDC', 'BASE', 'USD Coin',   'Base',                     NULL),
  ('BNB',  'BSC',  'BNB',        'BNB Smart Chain',          NULL),
  ('USDT', 'BSC',  'Tether USD', 'BNB Smart Chain (BEP-20)', NULL),
  ('BTC',  'BTC',  'Bitcoin',    'Bitcoin',                  NULL),
  ('LTC',  'LTC',  'Litecoin',   'Litecoin',                 NULL),
  ('DOGE', 'DOGE', 'Dogecoin',   'Dogecoin',                 NULL),
  ('TRX',  'TRX',  'TRON',       'TRON',                     NULL),
  ('USDT', 'TRX',  'Tether USD', 'TRON (TRC-20)',            NULL),
  ('SOL',  'SOL',  'Solana',     'Solana',                   NULL),
  ('USDT', 'SOL',  'Tether USD', 'Solana (SPL)',             NULL),
  ('TON',  'TON',  'Toncoin',    'TON',                      'memo'),
  ('USDT', 'TON',  'Tether USD', 'TON (Jetton)',             'memo'),
  ('XRP',  'XRP',  'XRP',        'XRP Ledger',               'destination tag');

-- Rows that are retired by a state or a timestamp, never deleted (money and its history hang off them).
CREATE FUNCTION reject_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are never deleted; retire them with their status instead', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TABLE channels (
  id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  -- Telegram chat ids: channels and supergroups are negative ('-100…').
  open_chat_id               bigint NOT NULL CHECK (open_chat_id < 0),
  closed_chat_id             bigint NOT NULL CHECK (closed_chat_id < 0),
  open_title                 text NOT NULL CHECK (length(btrim(open_title)) BETWEEN 1 AND 255),
  closed_title               text NOT NULL CHECK (length(btrim(closed_title)) BETWEEN 1 AND 255),
  open_description           text NOT NULL DEFAULT '' CHECK (length(open_description) <= 1024),
  closed_description         text NOT NULL DEFAULT '' CHECK (length(closed_description) <= 1024),
  status                     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'paused', 'deleted')),
  -- Payout destination. A payout copies these onto its own row when it is created, so editing
  -- them never redirects a payout already in flight.
  payout_currency            text NOT NULL,
  payout_network             text NOT NULL,
  payout_wallet              text NOT NULL CHECK (payout_wallet ~ '^[A-Za-z0-9:_+/=-]{14,128}$'),
  payout_extra_id            text CHECK (payout_extra_id ~ '^[[:print:]]{1,128}$'),
  payout_strategy            text NOT NULL CHECK (payout_strategy IN ('instant', 'threshold')),
  -- USD cents of owner balance at which a threshold payout starts; NULL exactly for instant.
  payout_threshold_cents     bigint,
  -- A payment counts as settled when actually_paid ≥ pay_amount × bps / 10000.
  underpayment_tolerance_bps integer NOT NULL DEFAULT 9800 CHECK (underpayment_tolerance_bps > 0 AND underpayment_tolerance_bps <= 10000),
  donations_enabled          boolean NOT NULL DEFAULT false,
  donation_min_cents         bigint CHECK (donation_min_cents > 0),
  donation_max_cents         bigint CHECK (donation_max_cents > 0),
  donation_message           text CHECK (length(btrim(donation_message)) BETWEEN 1 AND 256),
  notifications_enabled      boolean NOT NULL DEFAULT false,
  -- Where owner notifications go: the owner's user id (positive) or a group (negative).
  notification_chat_id       bigint CHECK (notification_chat_id <> 0),
  -- What getChatMember said about the bot in each chat: {"open": {...}, "closed": {...}}.
  bot_rights                 jsonb CHECK (jsonb_typeof(bot_rights) = 'object'),
  bot_rights_checked_at      timestamptz,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  deleted_at                 timestamptz,
  FOREIGN KEY (payout_currency, payout_network) REFERENCES payout_options (currency, network)
    ON UPDATE RESTRICT ON DELETE RESTRICT,
  CHECK (open_chat_id <> closed_chat_id),
  CONSTRAINT channels_payout_threshold_check CHECK (
    (payout_strategy = 'instant' AND payout_threshold_cents IS NULL)
    OR (payout_strategy = 'threshold' AND payout_threshold_cents IS NOT NULL AND payout_threshold_cents > 0)),
  CONSTRAINT channels_donation_limits_check CHECK (
    (NOT donations_enabled OR (donation_min_cents IS NOT NULL AND donation_max_cents IS NOT NULL))
    AND donation_min_cents <= donation_max_cents),
  CHECK (NOT notifications_enabled OR notification_chat_id IS NOT NULL),
  CHECK ((bot_rights IS NULL) = (bot_rights_checked_at IS NULL)),
  CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
-- A chat belongs to at most one live channel. A deleted channel frees its chats.
CREATE UNIQUE INDEX channels_open_chat_id_key ON channels (open_chat_id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX channels_closed_chat_id_key ON channels (closed_chat_id) WHERE deleted_at IS NULL;
CREATE INDEX channels_owner_idx ON channels (owner_account_id);

-- The indexes above keep each column unique; this also keeps a chat from being one channel's open
-- chat and another's closed chat. Advisory locks on the chat ids serialise concurrent registrations.
CREATE FUNCTION channels_check_chat_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.deleted_at IS NOT NULL THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(least(NEW.open_chat_id, NEW.closed_chat_id));
  PERFORM pg_advisory_xact_lock(greatest(NEW.open_chat_id, NEW.closed_chat_id));
  IF EXISTS (
    SELECT 1 FROM channels c
    WHERE c.deleted_at IS NULL AND c.id <> NEW.id
      AND (c.open_chat_id IN (NEW.open_chat_id, NEW.closed_chat_id)
        OR c.closed_chat_id IN (NEW.open_chat_id, NEW.closed_chat_id))
  ) THEN
    RAISE EXCEPTION 'chat % or % already belongs to a live channel', NEW.open_chat_id, NEW.closed_chat_id
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'channels_chat_ids_unique';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER channels_chat_ids_unique
  BEFORE INSERT OR UPDATE OF open_chat_id, closed_chat_id, deleted_at ON channels
  FOR EACH ROW EXECUTE FUNCTION channels_check_chat_ids();

-- Up to three tiers per channel (tier_number 1..3, unique per channel). Checkouts snapshot price and
-- duration, so editing a tier never changes what an open checkout charges.
CREATE TABLE channel_tiers (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id    uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  tier_number   smallint NOT NULL CHECK (tier_number BETWEEN 1 AND 3),
  price_cents   bigint NOT NULL CHECK (price_cents > 0 AND price_cents <= 10000000),
  duration_days integer NOT NULL CHECK (duration_days BETWEEN 1 AND 3650),
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel_id, tier_number),
  -- Target of checkouts' (tier_id, channel_id) key: a checkout's tier belongs to its channel.
  UNIQUE (id, channel_id)
);

-- Scheduled posts of the tier buttons into the open channel. Exactly one row per channel, created
-- in the channel's transaction (legacy channels were registered without one and never broadcast).
CREATE TABLE broadcast_schedules (
  channel_id             uuid PRIMARY KEY REFERENCES channels (id) ON DELETE RESTRICT,
  is_enabled             boolean NOT NULL DEFAULT true,
  disabled_reason        text CHECK (disabled_reason IN ('owner', 'too_many_failures', 'bot_rights_missing', 'channel_deleted')),
  interval_minutes       integer NOT NULL DEFAULT 1440 CHECK (interval_minutes BETWEEN 5 AND 43200),
  next_run_at            timestamptz NOT NULL,
  -- A runner claimed the row until then; an expired lease (crashed runner) frees it.
  lease_expires_at       timestamptz,
  last_run_at            timestamptz,
  last_succeeded_at      timestamptz,
  last_open_message_id   bigint CHECK (last_open_message_id > 0),
  last_closed_message_id bigint CHECK (last_closed_message_id > 0),
  consecutive_failures   integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  last_error             text CHECK (length(last_error) <= 1000),
  last_manual_trigger_at timestamptz,
  manual_trigger_count   integer NOT NULL DEFAULT 0 CHECK (manual_trigger_count >= 0),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (is_enabled = (disabled_reason IS NULL))
);
CREATE INDEX broadcast_schedules_due_idx ON broadcast_schedules (next_run_at) WHERE is_enabled;

CREATE TRIGGER channels_no_delete BEFORE DELETE ON channels FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER channel_tiers_no_delete BEFORE DELETE ON channel_tiers FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER broadcast_schedules_no_delete BEFORE DELETE ON broadcast_schedules FOR EACH ROW EXECUTE FUNCTION reject_delete();

-- At commit, every new channel must have its schedule row.
CREATE FUNCTION channels_check_broadcast_schedule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM broadcast_schedules WHERE channel_id = NEW.id) THEN
    RAISE EXCEPTION 'channel % has no broadcast_schedules row; create it in the same transaction', NEW.id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'channels_broadcast_schedule_required';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER channels_broadcast_schedule_required
  AFTER INSERT ON channels
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION channels_check_broadcast_schedule();
