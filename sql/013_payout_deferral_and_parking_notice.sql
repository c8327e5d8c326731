-- Why a payout waits: 'below_swap_minimum' (ChangeNow's minimum is above the amount) or
-- 'network_fee_too_high' (gas would take more than PAYOUT_MAX_NETWORK_FEE_BPS of it). Shown to the
-- operator and the owner; track-payouts re-queues the payout once deferred_until has passed.
ALTER TABLE payouts ADD COLUMN deferred_reason text CHECK (deferred_reason ~ '^[a-z][a-z0-9_]*$');
ALTER TABLE payouts ADD CONSTRAINT payouts_deferred_has_reason_check CHECK (state <> 'deferred' OR deferred_reason IS NOT NULL);

-- Threshold owners are told when their ETH has been parked as USDT (one message per owner and batch).
ALTER TABLE owner_notifications DROP CONSTRAINT owner_notifications_kind_check;
ALTER TABLE owner_notifications ADD CONSTRAINT owner_notifications_kind_check
  CHECK (kind IN ('payment_received', 'donation_received', 'payment_problem',
                  'payout_completed', 'payout_failed', 'payout_held', 'balance_parked',
                  'threshold_progress', 'bot_rights_missing', 'broadcast_disabled',
                  'invite_link_misused', 'test'));
