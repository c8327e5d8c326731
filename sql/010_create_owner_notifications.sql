-- What we told channel owners, and whether it arrived. One row per logical notification
-- (dedupe_key such as 'payment_received:<payment id>'), so a redelivered request notifies once.

CREATE TABLE owner_notifications (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id          uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  kind                text NOT NULL CHECK (kind IN ('payment_received', 'donation_received', 'payment_problem',
                                                    'payout_completed', 'payout_failed', 'payout_held',
                                                    'threshold_progress', 'bot_rights_missing', 'broadcast_disabled',
                                                    'test')),
  dedupe_key          text NOT NULL UNIQUE CHECK (length(dedupe_key) BETWEEN 1 AND 200),
  -- Where it goes: the owner's user id or a group chat.
  chat_id             bigint NOT NULL CHECK (chat_id <> 0),
  payment_id          uuid REFERENCES payments (id) ON DELETE RESTRICT,
  payout_id           uuid REFERENCES payouts (id) ON DELETE RESTRICT,
  -- pending → sent | failed (gave up after retries) | skipped (owner unreachable or notifications off)
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error          text CHECK (length(last_error) <= 1000),
  telegram_message_id bigint CHECK (telegram_message_id > 0),
  created_at          timestamptz NOT NULL,
  sent_at             timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX owner_notifications_pending_idx ON owner_notifications (created_at) WHERE status = 'pending';
CREATE INDEX owner_notifications_channel_idx ON owner_notifications (channel_id, created_at);
