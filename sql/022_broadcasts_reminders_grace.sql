-- Tier posts, renewal reminders and the grace period (issue "Broadcasts, subscribe links and renewals").

-- Tier posts --------------------------------------------------------------------------------------

-- An edit of what the post shows (titles, descriptions, tiers, donation settings, status) asks for a
-- new post at the next tick, whatever path made the edit: a flag, not a time, so the app's clock
-- (simulated in tests) stays the only clock that schedules.
ALTER TABLE broadcast_schedules ADD COLUMN rebuild_requested boolean NOT NULL DEFAULT false;
-- What the current posts show (SHA-256 of their text and buttons), to tell an edit that changes
-- nothing from one that does, and the moment each post went up.
ALTER TABLE broadcast_schedules ADD COLUMN last_posted_digest text CHECK (last_posted_digest ~ '^[0-9a-f]{64}$');
ALTER TABLE broadcast_schedules ADD COLUMN last_open_posted_at timestamptz;
ALTER TABLE broadcast_schedules ADD COLUMN last_closed_posted_at timestamptz;
-- The missing right (or 'membership') the last permanent failure named; the owner is told once per
-- distinct reason, not once per tick.
ALTER TABLE broadcast_schedules ADD COLUMN last_failure_reason text CHECK (last_failure_reason ~ '^[a-z][a-z0-9_]{0,63}$');
ALTER TABLE broadcast_schedules ADD COLUMN total_runs integer NOT NULL DEFAULT 0 CHECK (total_runs >= 0);
ALTER TABLE broadcast_schedules ADD COLUMN failed_runs integer NOT NULL DEFAULT 0 CHECK (failed_runs >= 0);
CREATE INDEX broadcast_schedules_rebuild_idx ON broadcast_schedules (channel_id) WHERE is_enabled AND rebuild_requested;

-- The trigger's argument names the column that holds the channel id.
CREATE FUNCTION request_broadcast_rebuild() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE broadcast_schedules SET rebuild_requested = true
   WHERE channel_id = (to_jsonb(NEW) ->> TG_ARGV[0])::uuid AND NOT rebuild_requested;
  RETURN NULL;
END
$$;

CREATE TRIGGER channel_tiers_request_broadcast_rebuild
  AFTER INSERT OR UPDATE OF price_cents, duration_days, is_active ON channel_tiers
  FOR EACH ROW EXECUTE FUNCTION request_broadcast_rebuild('channel_id');

CREATE TRIGGER channels_request_broadcast_rebuild
  AFTER UPDATE OF open_title, open_description, closed_title, closed_description, status,
                  donations_enabled, donation_min_cents, donation_max_cents, donation_message ON channels
  FOR EACH ROW
  WHEN (OLD.open_title IS DISTINCT FROM NEW.open_title OR OLD.open_description IS DISTINCT FROM NEW.open_description
     OR OLD.closed_title IS DISTINCT FROM NEW.closed_title OR OLD.closed_description IS DISTINCT FROM NEW.closed_description
     OR OLD.status IS DISTINCT FROM NEW.status OR OLD.donations_enabled IS DISTINCT FROM NEW.donations_enabled
     OR OLD.donation_min_cents IS DISTINCT FROM NEW.donation_min_cents OR OLD.donation_max_cents IS DISTINCT FROM NEW.donation_max_cents
     OR OLD.donation_message IS DISTINCT FROM NEW.donation_message)
  EXECUTE FUNCTION request_broadcast_rebuild('id');

-- Owners are told when a post is refused for good (the bot lost a right in a channel).
ALTER TABLE owner_notifications DROP CONSTRAINT owner_notifications_kind_check;
ALTER TABLE owner_notifications ADD CONSTRAINT owner_notifications_kind_check
  CHECK (kind IN ('payment_received', 'donation_received', 'payment_problem',
                  'payout_completed', 'payout_failed', 'payout_held', 'balance_parked',
                  'threshold_progress', 'bot_rights_missing', 'broadcast_disabled', 'broadcast_failed',
                  'invite_link_misused', 'test'));

-- Grace period --------------------------------------------------------------------------------------

-- Hours a member stays after their access ended before removal (0–72). A renewal in the grace
-- period stacks onto the end of the period that lapsed.
ALTER TABLE channels ADD COLUMN grace_period_hours integer NOT NULL DEFAULT 0 CHECK (grace_period_hours BETWEEN 0 AND 72);

-- Renewal reminders -----------------------------------------------------------------------------------

-- The subscriber can turn reminders off for one subscription (a button under each reminder).
ALTER TABLE subscriptions ADD COLUMN renewal_reminders_enabled boolean NOT NULL DEFAULT true;

ALTER TABLE subscriber_notifications DROP CONSTRAINT subscriber_notifications_kind_check;
ALTER TABLE subscriber_notifications ADD CONSTRAINT subscriber_notifications_kind_check
  CHECK (kind IN ('payment_underpaid', 'payment_expired', 'payment_failed', 'payment_refunded',
                  'subscription_expired', 'subscription_grace_started', 'renewal_reminder'));
-- Which reminder of which period: 'renewal_reminder' rows carry the expires_at they were sent for
-- and the offset ('3d', '1d', '1h'), unique per subscription, so duplicate deliveries and
-- overlapping ticks send each one once and a renewal (a new expires_at) starts a fresh set.
ALTER TABLE subscriber_notifications ADD COLUMN reminder_for_expires_at timestamptz;
ALTER TABLE subscriber_notifications ADD COLUMN reminder_offset text CHECK (reminder_offset IN ('3d', '1d', '1h'));
ALTER TABLE subscriber_notifications ADD CONSTRAINT subscriber_notifications_reminder_shape_check CHECK (
  (kind = 'renewal_reminder') = (reminder_for_expires_at IS NOT NULL AND reminder_offset IS NOT NULL AND subscription_id IS NOT NULL));
CREATE UNIQUE INDEX subscriber_notifications_reminder_key
  ON subscriber_notifications (subscription_id, reminder_for_expires_at, reminder_offset) WHERE kind = 'renewal_reminder';
-- remind-subscribers closes or re-sends notices left pending by a crash, every run: only those rows.
CREATE INDEX subscriber_notifications_pending_idx ON subscriber_notifications (updated_at) WHERE status = 'pending';
