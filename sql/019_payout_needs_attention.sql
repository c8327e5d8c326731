-- A funded swap whose ChangeNow exchange says `failed` is not over: ChangeNow's support holds the
-- deposit and may still complete the exchange or refund it. Such a payout waits in
-- `needs_attention` with its amount held (nothing returned to the owner, so nothing is paid twice),
-- track-payouts keeps asking ChangeNow, and it ends `completed` or `refunded` when they settle it.

ALTER TABLE payouts DROP CONSTRAINT payouts_state_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_state_check CHECK (state IN (
  'requested', 'held', 'deferred', 'quoted', 'swap_created', 'transfer_signed',
  'transfer_broadcast', 'awaiting_swap', 'needs_attention', 'completed', 'failed', 'refunded', 'cancelled'));

-- The graph of sql/008 plus awaiting_swap → needs_attention → completed | refunded. There is no way
-- from needs_attention to failed: only ChangeNow's settlement ends it.
CREATE OR REPLACE FUNCTION payout_state_can_advance(from_state text, to_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (from_state, to_state) IN (
    ('requested', 'quoted'), ('requested', 'held'), ('requested', 'deferred'), ('requested', 'failed'), ('requested', 'cancelled'),
    ('held', 'requested'), ('held', 'cancelled'),
    ('deferred', 'requested'), ('deferred', 'failed'), ('deferred', 'cancelled'),
    ('quoted', 'requested'), ('quoted', 'swap_created'), ('quoted', 'transfer_signed'), ('quoted', 'held'),
    ('quoted', 'deferred'), ('quoted', 'failed'), ('quoted', 'cancelled'),
    ('swap_created', 'transfer_signed'), ('swap_created', 'failed'), ('swap_created', 'cancelled'),
    ('transfer_signed', 'transfer_broadcast'),
    ('transfer_broadcast', 'awaiting_swap'), ('transfer_broadcast', 'completed'), ('transfer_broadcast', 'failed'),
    ('awaiting_swap', 'completed'), ('awaiting_swap', 'refunded'), ('awaiting_swap', 'failed'), ('awaiting_swap', 'needs_attention'),
    ('needs_attention', 'completed'), ('needs_attention', 'refunded')
  )
$$;
