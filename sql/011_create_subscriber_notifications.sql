-- What we told subscribers (payment problems, expiry), one row per logical notification so a
-- redelivered request DMs once; the expiry job's retry schedule; local invoice pages for the sandbox.

CREATE TABLE subscriber_notifications (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  telegram_user_id    bigint NOT NULL REFERENCES telegram_users (id) ON DELETE RESTRICT,
  kind                text NOT NULL CHECK (kind IN ('payment_underpaid', 'payment_expired', 'payment_failed',
                                                    'payment_refunded', 'subscription_expired')),
  -- e.g. 'payment_underpaid:<payment id>' or 'subscription_expired:<subscription id>:<expires_at>'.
  dedupe_key          text NOT NULL UNIQUE CHECK (length(dedupe_key) BETWEEN 1 AND 200),
  payment_id          uuid REFERENCES payments (id) ON DELETE RESTRICT,
  subscription_id     uuid REFERENCES subscriptions (id) ON DELETE RESTRICT,
  -- pending → sent | failed (the user cannot be reached) 
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  last_error          text CHECK (length(last_error) <= 1000),
  telegram_message_id bigint CHECK (telegram_message_id > 0),
  created_at          timestamptz NOT NULL,
  sent_at             timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
  CHECK (payment_id IS NOT NULL OR subscription_id IS NOT NULL)
);
CREATE INDEX subscriber_notifications_user_idx ON subscriber_notifications (telegram_user_id, created_at);

-- A failed removal is retried after a growing delay instead of every minute.
ALTER TABLE subscriptions ADD COLUMN next_removal_attempt_at timestamptz;

-- The invoice URL check of 005 used a repetition bound above PostgreSQL's regex limit (255), so
-- every URL failed it; and the sandbox's NowPayments simulator serves invoice pages over plain http
-- on this machine.
ALTER TABLE checkouts DROP CONSTRAINT checkouts_provider_invoice_url_check;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_provider_invoice_url_check CHECK (
  length(provider_invoice_url) <= 2000
  AND (provider_invoice_url ~ '^https://[^[:space:]]+$'
       OR provider_invoice_url ~ '^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?/[^[:space:]]*$'));
