-- Access to closed channels: one subscription per Telegram user × channel, extended by one period per
-- settled payment (renewals stack on the current expiry), and one invite link per payment.

CREATE TABLE subscriptions (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  telegram_user_id         bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  channel_id               uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  status                   text NOT NULL CHECK (status IN ('active', 'expired')),
  -- The end of the last period; the expiry job moves the row to 'expired' after it.
  expires_at               timestamptz NOT NULL,
  last_payment_id          uuid REFERENCES payments (id) ON DELETE RESTRICT,
  expired_at               timestamptz,
  -- The member was actually removed from the closed chat (expired only). Until then the expiry job
  -- retries the removal; it never marks a removal it did not make.
  removed_at               timestamptz,
  removal_attempts         integer NOT NULL DEFAULT 0 CHECK (removal_attempts >= 0),
  last_removal_error       text CHECK (length(last_removal_error) <= 1000),
  -- The expires_at a renewal reminder was sent for: one reminder per expiry.
  reminder_sent_for        timestamptz,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  UNIQUE (telegram_user_id, channel_id),
  CHECK ((status = 'expired') = (expired_at IS NOT NULL)),
  CHECK (removed_at IS NULL OR status = 'expired')
);
CREATE INDEX subscriptions_active_expiry_idx ON subscriptions (expires_at) WHERE status = 'active';
CREATE INDEX subscriptions_pending_removal_idx ON subscriptions (expired_at) WHERE status = 'expired' AND removed_at IS NULL;
CREATE INDEX subscriptions_channel_idx ON subscriptions (channel_id);

-- What each settled payment bought. A payment extends access once (payment_id UNIQUE), and periods
-- of one subscription never overlap: a renewal starts where the previous period ends.
CREATE TABLE subscription_periods (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE RESTRICT,
  payment_id      uuid NOT NULL UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL,
  duration_days   integer NOT NULL CHECK (duration_days BETWEEN 1 AND 3650),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at)
);
CREATE INDEX subscription_periods_subscription_idx ON subscription_periods (subscription_id, ends_at);

-- No overlap without btree_gist: the caller holds the subscription row lock (it updates expires_at
-- in the same transaction), so checking the latest period here is race-free.
CREATE FUNCTION subscription_periods_check_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM subscription_periods
             WHERE subscription_id = NEW.subscription_id AND id <> NEW.id
               AND starts_at < NEW.ends_at AND NEW.starts_at < ends_at) THEN
    RAISE EXCEPTION 'period % – % overlaps another period of subscription %', NEW.starts_at, NEW.ends_at, NEW.subscription_id
      USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'subscription_periods_no_overlap';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER subscription_periods_no_overlap
  BEFORE INSERT OR UPDATE OF subscription_id, starts_at, ends_at ON subscription_periods
  FOR EACH ROW EXECUTE FUNCTION subscription_periods_check_overlap();

-- One invite link per payment, stored when created and reused on every retry (member_limit 1).
CREATE TABLE invite_links (
  id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_id                 uuid NOT NULL UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
  subscription_id            uuid NOT NULL REFERENCES subscriptions (id) ON DELETE RESTRICT,
  -- The closed chat the link admits to, as it was when the link was made.
  chat_id                    bigint NOT NULL CHECK (chat_id < 0),
  invite_link                text NOT NULL UNIQUE CHECK (invite_link ~ '^https://t\.me/[A-Za-z0-9_+-]{1,200}$'),
  -- Telegram's link name ('pay:<payment id>'), at most 32 characters.
  name                       text CHECK (length(name) BETWEEN 1 AND 32),
  created_at                 timestamptz NOT NULL DEFAULT now(),
  expires_at                 timestamptz NOT NULL,
  sent_at                    timestamptz,
  joined_at                  timestamptz,
  joined_by_telegram_user_id bigint REFERENCES telegram_users (id) ON DELETE RESTRICT,
  revoked_at                 timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((joined_at IS NULL) = (joined_by_telegram_user_id IS NULL))
);
CREATE INDEX invite_links_subscription_idx ON invite_links (subscription_id);

CREATE TRIGGER subscriptions_no_delete BEFORE DELETE ON subscriptions FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER subscription_periods_no_delete BEFORE DELETE ON subscription_periods FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER invite_links_no_delete BEFORE DELETE ON invite_links FOR EACH ROW EXECUTE FUNCTION reject_delete();
