-- When the channel's payout destination (currency, network, wallet, extra id) last changed; null
-- since registration. A payout to a destination changed in the last 24 hours is held for an
-- operator: whoever steals a session and the password must not be paid at once (payouts/limits.ts).
ALTER TABLE channels ADD COLUMN payout_destination_changed_at timestamptz;
