-- Free trials and gift subscriptions. Access (subscription_periods) and its one-time invite
-- (invite_links) were one per payment; they become one per access grant: a payment, a trial or a
-- gift claim, each exactly one of the three columns.

-- Days of a tier's free trial (0 = none) and, per channel, how long the subscriber's bot account must
-- have been known (telegram_users.created_at) before a trial is offered (NULL = no minimum).
ALTER TABLE channel_tiers ADD COLUMN trial_days integer NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 30);
ALTER TABLE channels ADD COLUMN trial_min_account_age_days integer CHECK (trial_min_account_age_days BETWEEN 1 AND 365);

-- One trial per Telegram user per channel, ever: the unique key is the abuse guard, so concurrent
-- taps and redelivered updates grant it once.
CREATE TABLE trials (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  telegram_user_id bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  channel_id       uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  tier_id          uuid NOT NULL REFERENCES channel_tiers (id) ON DELETE RESTRICT,
  duration_days    integer NOT NULL CHECK (duration_days BETWEEN 1 AND 30),
  granted_at       timestamptz NOT NULL,
  UNIQUE (telegram_user_id, channel_id)
);
CREATE INDEX trials_channel_idx ON trials (channel_id, granted_at);

-- A gift checkout is paid by the buyer; on settlement a gift row is created instead of access.
ALTER TABLE checkouts ADD COLUMN is_gift boolean NOT NULL DEFAULT false;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_gift_is_subscription CHECK (NOT is_gift OR kind = 'subscription');
-- A subscriber may have their own checkout and a gift checkout of one tier open at once.
DROP INDEX checkouts_one_open_idx;
CREATE UNIQUE INDEX checkouts_one_open_idx ON checkouts (telegram_user_id, channel_id, tier_id, is_gift) NULLS NOT DISTINCT
  WHERE status = 'open';

-- One gift per settled gift payment. The claim code is a bearer secret (192 random bits): only its
-- SHA-256 is stored; the code itself exists only in the buyer's DM (issued, or replaced, when the DM
-- is sent). pending → claimed (once, by someone other than the buyer) | expired (30 days unclaimed).
CREATE TABLE gifts (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_id                  uuid NOT NULL UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
  buyer_telegram_user_id      bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  channel_id                  uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  tier_id                     uuid REFERENCES channel_tiers (id) ON DELETE RESTRICT,
  duration_days               integer NOT NULL CHECK (duration_days BETWEEN 1 AND 3650),
  status                      text NOT NULL CHECK (status IN ('pending', 'claimed', 'expired')),
  claim_code_hash             bytea UNIQUE CHECK (length(claim_code_hash) = 32),
  created_at                  timestamptz NOT NULL,
  expires_at                  timestamptz NOT NULL,
  claimed_by_telegram_user_id bigint REFERENCES telegram_users (id) ON DELETE RESTRICT,
  claimed_at                  timestamptz,
  expired_at                  timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((status = 'claimed') = (claimed_at IS NOT NULL)),
  CHECK ((claimed_at IS NULL) = (claimed_by_telegram_user_id IS NULL)),
  CHECK ((status = 'expired') = (expired_at IS NOT NULL)),
  CHECK (claimed_by_telegram_user_id IS DISTINCT FROM buyer_telegram_user_id)
);
CREATE INDEX gifts_pending_expiry_idx ON gifts (expires_at) WHERE status = 'pending';
CREATE INDEX gifts_buyer_idx ON gifts (buyer_telegram_user_id, created_at);
CREATE INDEX gifts_channel_idx ON gifts (channel_id, created_at);

-- Only forward, and never twice: a claimed or expired gift is final.
CREATE FUNCTION gift_status_can_advance(from_status text, to_status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT from_status = 'pending' AND to_status IN ('claimed', 'expired')
$$;
CREATE FUNCTION gifts_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT gift_status_can_advance(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'gift % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'gifts_status_transition';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER gifts_status_transition BEFORE UPDATE OF status ON gifts FOR EACH ROW EXECUTE FUNCTION gifts_check_transition();

-- Access grants: a period and an invite link belong to exactly one payment, trial or gift claim.
ALTER TABLE subscription_periods ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE subscription_periods ADD COLUMN trial_id uuid UNIQUE REFERENCES trials (id) ON DELETE RESTRICT;
ALTER TABLE subscription_periods ADD COLUMN gift_id uuid UNIQUE REFERENCES gifts (id) ON DELETE RESTRICT;
ALTER TABLE subscription_periods ADD CONSTRAINT subscription_periods_one_grant CHECK (num_nonnulls(payment_id, trial_id, gift_id) = 1);

ALTER TABLE invite_links ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE invite_links ADD COLUMN trial_id uuid UNIQUE REFERENCES trials (id) ON DELETE RESTRICT;
ALTER TABLE invite_links ADD COLUMN gift_id uuid UNIQUE REFERENCES gifts (id) ON DELETE RESTRICT;
ALTER TABLE invite_links ADD CONSTRAINT invite_links_one_grant CHECK (num_nonnulls(payment_id, trial_id, gift_id) = 1);

-- The buyer's DMs: the claim link, and that the gift expired unclaimed.
ALTER TABLE subscriber_notifications DROP CONSTRAINT subscriber_notifications_kind_check;
ALTER TABLE subscriber_notifications ADD CONSTRAINT subscriber_notifications_kind_check
  CHECK (kind IN ('payment_underpaid', 'payment_expired', 'payment_failed', 'payment_refunded',
                  'subscription_expired', 'subscription_grace_started', 'renewal_reminder',
                  'gift_ready', 'gift_expired'));

CREATE TRIGGER trials_no_delete BEFORE DELETE ON trials FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER gifts_no_delete BEFORE DELETE ON gifts FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER trials_no_truncate BEFORE TRUNCATE ON trials FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER gifts_no_truncate BEFORE TRUNCATE ON gifts FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
