-- Owner alerts from the bot's leak guard: someone joined a closed channel through another person's
-- one-time invite link (they are removed, the link revoked, and the owner told). bot_rights_missing
-- is already listed; the constraint is re-created with the same name and one more kind.

ALTER TABLE owner_notifications DROP CONSTRAINT owner_notifications_kind_check;
ALTER TABLE owner_notifications ADD CONSTRAINT owner_notifications_kind_check
  CHECK (kind IN ('payment_received', 'donation_received', 'payment_problem',
                  'payout_completed', 'payout_failed', 'payout_held',
                  'threshold_progress', 'bot_rights_missing', 'broadcast_disabled',
                  'invite_link_misused', 'test'));
