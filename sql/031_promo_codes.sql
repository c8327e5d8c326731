-- Promo codes per channel (shared/promo-codes). A code takes percent off (basis points) or a fixed
-- USD amount off (cents) a tier's price; the discounted price is fixed on the checkout when it is
-- created (checkouts.promo_code_id, list_price_cents). Limits count uses: a use is reserved when the
-- checkout is made (under a row lock on the code), released when the checkout expires unpaid, and
-- each settled payment of a discounted checkout is one redemption (unique per payment).

CREATE TABLE promo_codes (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id        uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  -- Stored upper-case; people may type it in any case.
  code              text NOT NULL CHECK (code ~ '^[A-Z0-9_-]{3,32}$'),
  percent_off_bps   integer CHECK (percent_off_bps BETWEEN 1 AND 10000),
  amount_off_cents  bigint CHECK (amount_off_cents BETWEEN 1 AND 10000000),
  valid_from        timestamptz,
  valid_until       timestamptz,
  max_uses          integer CHECK (max_uses BETWEEN 1 AND 1000000),
  max_uses_per_user integer CHECK (max_uses_per_user BETWEEN 1 AND 1000),
  -- Archived is final: the code is never offered again (and its name stays taken in the channel).
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  archived_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel_id, code),
  UNIQUE (id, channel_id),
  CHECK ((percent_off_bps IS NULL) <> (amount_off_cents IS NULL)),
  CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from),
  CHECK ((status = 'archived') = (archived_at IS NOT NULL))
);
CREATE TRIGGER promo_codes_no_delete BEFORE DELETE ON promo_codes FOR EACH ROW EXECUTE FUNCTION reject_delete();

-- The tiers a code is restricted to; none listed means every tier of the channel.
CREATE TABLE promo_code_tiers (
  promo_code_id uuid NOT NULL,
  channel_id    uuid NOT NULL,
  tier_id       uuid NOT NULL,
  PRIMARY KEY (promo_code_id, tier_id),
  FOREIGN KEY (promo_code_id, channel_id) REFERENCES promo_codes (id, channel_id) ON DELETE RESTRICT,
  FOREIGN KEY (tier_id, channel_id) REFERENCES channel_tiers (id, channel_id) ON DELETE RESTRICT
);

-- What a discounted checkout charges is price_cents as always; list_price_cents is the tier's price
-- before the code. Both or neither.
ALTER TABLE checkouts ADD COLUMN promo_code_id uuid;
ALTER TABLE checkouts ADD COLUMN list_price_cents bigint;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_promo_code_fk
  FOREIGN KEY (promo_code_id, channel_id) REFERENCES promo_codes (id, channel_id) ON DELETE RESTRICT;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_promo_code_price CHECK (
  (promo_code_id IS NULL) = (list_price_cents IS NULL) AND (list_price_cents IS NULL OR list_price_cents > price_cents));
CREATE INDEX checkouts_promo_code_idx ON checkouts (promo_code_id) WHERE promo_code_id IS NOT NULL;

-- One use held per discounted checkout: reserved → released (expired or cancelled unpaid) or
-- redeemed (a payment settled; a late payment redeems a released one too). Owner of 'reserved':
-- reconcile (checkout expiry releases it; watchdog STATE_MACHINES).
CREATE TABLE promo_code_reservations (
  checkout_id      uuid PRIMARY KEY REFERENCES checkouts (id) ON DELETE RESTRICT,
  promo_code_id    uuid NOT NULL REFERENCES promo_codes (id) ON DELETE RESTRICT,
  telegram_user_id bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  status           text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'released', 'redeemed')),
  reserved_at      timestamptz NOT NULL,
  closed_at        timestamptz,
  CHECK ((status = 'reserved') = (closed_at IS NULL))
);
CREATE INDEX promo_code_reservations_held_idx ON promo_code_reservations (promo_code_id, telegram_user_id) WHERE status = 'reserved';

CREATE FUNCTION promo_code_reservations_check_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'reserved' AND NEW.status IN ('released', 'redeemed'))
       OR (OLD.status = 'released' AND NEW.status = 'redeemed')) THEN
    RAISE EXCEPTION 'promo code reservation % cannot go from % to %', OLD.checkout_id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'promo_code_reservations_forward_only';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER promo_code_reservations_forward_only
  BEFORE UPDATE ON promo_code_reservations
  FOR EACH ROW EXECUTE FUNCTION promo_code_reservations_check_forward();
CREATE TRIGGER promo_code_reservations_no_delete BEFORE DELETE ON promo_code_reservations FOR EACH ROW EXECUTE FUNCTION reject_delete();

-- One row per settled payment of a discounted checkout: what the code's figures and limits count.
CREATE TABLE promo_redemptions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  promo_code_id    uuid NOT NULL REFERENCES promo_codes (id) ON DELETE RESTRICT,
  payment_id       uuid NOT NULL UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
  checkout_id      uuid NOT NULL REFERENCES checkouts (id) ON DELETE RESTRICT,
  telegram_user_id bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  list_price_cents bigint NOT NULL CHECK (list_price_cents > 0),
  price_cents      bigint NOT NULL CHECK (price_cents > 0 AND price_cents < list_price_cents),
  redeemed_at      timestamptz NOT NULL
);
CREATE INDEX promo_redemptions_code_user_idx ON promo_redemptions (promo_code_id, telegram_user_id);
CREATE TRIGGER promo_redemptions_append_only
  BEFORE UPDATE OR DELETE ON promo_redemptions
  FOR EACH ROW EXECUTE FUNCTION reject_modification();

-- TRUNCATE skips row triggers (sql/024).
CREATE TRIGGER promo_codes_no_truncate BEFORE TRUNCATE ON promo_codes FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER promo_code_reservations_no_truncate BEFORE TRUNCATE ON promo_code_reservations FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER promo_redemptions_no_truncate BEFORE TRUNCATE ON promo_redemptions FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
