-- The subscriber side of the money path: a checkout (what the bot or dashboard offered, with price and
-- duration snapshotted from the DB), the provider's payments for it (one row per provider payment id,
-- status forward-only), and every raw provider event as received (append-only).

CREATE TABLE checkouts (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind                 text NOT NULL CHECK (kind IN ('subscription', 'donation')),
  telegram_user_id     bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  channel_id           uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  -- NULL exactly for donations.
  tier_id              uuid,
  -- Snapshot of what is charged and granted, taken when the checkout is created.
  price_cents          bigint NOT NULL CHECK (price_cents > 0 AND price_cents <= 10000000),
  duration_days        integer CHECK (duration_days BETWEEN 1 AND 3650),
  status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'expired', 'cancelled')),
  provider             text NOT NULL DEFAULT 'nowpayments' CHECK (provider IN ('nowpayments')),
  provider_invoice_id  text CHECK (provider_invoice_id ~ '^[A-Za-z0-9_-]{1,100}$'),
  provider_invoice_url text CHECK (provider_invoice_url ~ '^https://[^[:space:]]{1,2000}$'),
  created_at           timestamptz NOT NULL DEFAULT now(),
  expires_at           timestamptz NOT NULL,
  paid_at              timestamptz,
  closed_at            timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tier_id, channel_id) REFERENCES channel_tiers (id, channel_id) ON DELETE RESTRICT,
  UNIQUE (provider, provider_invoice_id),
  CONSTRAINT checkouts_tier_matches_kind CHECK (
    (kind = 'subscription') = (tier_id IS NOT NULL) AND (kind = 'subscription') = (duration_days IS NOT NULL)),
  CHECK ((provider_invoice_id IS NULL) = (provider_invoice_url IS NULL)),
  CHECK (expires_at > created_at),
  -- A late payment may still pay an expired checkout, so 'paid' records when, not from which state.
  CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
  CHECK ((status IN ('expired', 'cancelled')) = (closed_at IS NOT NULL))
);
-- One open checkout per user × channel × tier (donations: per user × channel). Creating a new one
-- first expires or reuses the open one. Stale open rows (past expires_at) still count until marked.
CREATE UNIQUE INDEX checkouts_one_open_idx ON checkouts (telegram_user_id, channel_id, tier_id) NULLS NOT DISTINCT
  WHERE status = 'open';
CREATE INDEX checkouts_open_expiry_idx ON checkouts (expires_at) WHERE status = 'open';

-- NowPayments statuses in the order a payment moves through them. Out-of-order IPNs are normal;
-- a status may only replace one of lower rank (failed, expired and refunded are terminal, and a
-- finished payment can only become refunded).
CREATE FUNCTION payment_status_rank(status text) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (CASE status
    WHEN 'waiting'        THEN 10
    WHEN 'confirming'     THEN 20
    WHEN 'confirmed'      THEN 30
    WHEN 'sending'        THEN 40
    WHEN 'partially_paid' THEN 50
    WHEN 'finished'       THEN 60
    WHEN 'failed'         THEN 90
    WHEN 'expired'        THEN 90
    WHEN 'refunded'       THEN 90
  END)::smallint
$$;

-- True when `to_status` may replace `from_status` (strictly forward). Stages update with
-- `… WHERE payment_status_can_advance(status, $new)` and treat 0 rows as a stale event.
CREATE FUNCTION payment_status_can_advance(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE
    WHEN from_status IN ('failed', 'expired', 'refunded') THEN false
    WHEN from_status = 'finished' THEN to_status = 'refunded'
    ELSE payment_status_rank(to_status) > payment_status_rank(from_status)
  END
$$;

CREATE TABLE payments (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider            text NOT NULL CHECK (provider IN ('nowpayments')),
  provider_payment_id text NOT NULL CHECK (provider_payment_id ~ '^[A-Za-z0-9_-]{1,100}$'),
  checkout_id         uuid NOT NULL REFERENCES checkouts (id) ON DELETE RESTRICT,
  status              text NOT NULL CHECK (status IN ('waiting', 'confirming', 'confirmed', 'sending', 'partially_paid',
                                                      'finished', 'failed', 'refunded', 'expired')),
  status_rank         smallint GENERATED ALWAYS AS (payment_status_rank(status)) STORED,
  -- As the provider reports them: tickers lower-case ('btc', 'usdttrc20'), amounts exact decimals.
  pay_currency        text CHECK (pay_currency ~ '^[a-z0-9]{2,20}$'),
  pay_amount          numeric CHECK (pay_amount >= 0),
  actually_paid       numeric CHECK (actually_paid >= 0),
  actually_paid_fiat  numeric CHECK (actually_paid_fiat >= 0),
  pay_address         text CHECK (length(pay_address) BETWEEN 1 AND 256),
  price_amount_cents  bigint NOT NULL CHECK (price_amount_cents > 0),
  price_currency      text NOT NULL DEFAULT 'usd' CHECK (price_currency = 'usd'),
  outcome_currency    text CHECK (outcome_currency ~ '^[a-z0-9]{2,20}$'),
  outcome_amount      numeric CHECK (outcome_amount >= 0),
  -- The outcome in our asset and base units (wei for ETH): what the ledger books.
  outcome_asset       text REFERENCES assets (code) ON DELETE RESTRICT,
  outcome_units       numeric(78,0) CHECK (outcome_units >= 0),
  -- Fee the processor kept, in outcome base units, when it reports one.
  processor_fee_units numeric(78,0) CHECK (processor_fee_units >= 0),
  provider_created_at timestamptz,
  provider_updated_at timestamptz,
  -- When we counted the payment as paid (finished, or partially paid within the owner's tolerance).
  settled_at          timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, provider_payment_id),
  CHECK ((outcome_asset IS NULL) = (outcome_units IS NULL)),
  CHECK (settled_at IS NULL OR status IN ('partially_paid', 'finished', 'refunded'))
);
CREATE INDEX payments_checkout_idx ON payments (checkout_id);
CREATE INDEX payments_unsettled_idx ON payments (updated_at) WHERE settled_at IS NULL;

-- Backstop for the conditional UPDATE: a regression raises instead of silently rewriting history.
CREATE FUNCTION payments_check_status_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT payment_status_can_advance(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'payment % status % cannot follow %', OLD.id, NEW.status, OLD.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_status_forward_only';
  END IF;
  IF OLD.settled_at IS NOT NULL AND NEW.settled_at IS DISTINCT FROM OLD.settled_at THEN
    RAISE EXCEPTION 'payment % was settled at %; settlement is never undone or moved', OLD.id, OLD.settled_at
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_settled_once';
  END IF;
  IF NEW.provider IS DISTINCT FROM OLD.provider OR NEW.provider_payment_id IS DISTINCT FROM OLD.provider_payment_id
     OR NEW.checkout_id IS DISTINCT FROM OLD.checkout_id THEN
    RAISE EXCEPTION 'payment % identity is immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_identity_immutable';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_status_forward_only
  BEFORE UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_check_status_forward();
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER checkouts_no_delete BEFORE DELETE ON checkouts FOR EACH ROW EXECUTE FUNCTION reject_delete();

-- Every provider callback as received, valid signature or not. Append-only evidence: the status
-- column is the provider's raw text (unknown values must be recorded too), not our vocabulary.
CREATE TABLE payment_events (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider            text NOT NULL CHECK (provider IN ('nowpayments')),
  received_at         timestamptz NOT NULL,
  -- The headers that matter (signature, content type, user agent, forwarded-for), never auth tokens.
  headers             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(headers) = 'object'),
  body                text NOT NULL CHECK (octet_length(body) <= 1048576),
  signature_valid     boolean NOT NULL,
  provider_payment_id text CHECK (length(provider_payment_id) BETWEEN 1 AND 200),
  order_id            text CHECK (length(order_id) BETWEEN 1 AND 200),
  provider_status     text CHECK (length(provider_status) BETWEEN 1 AND 64)
);
CREATE INDEX payment_events_payment_idx ON payment_events (provider, provider_payment_id, received_at);

CREATE TRIGGER payment_events_append_only
  BEFORE UPDATE OR DELETE ON payment_events
  FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER payment_events_no_truncate
  BEFORE TRUNCATE ON payment_events
  FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
