-- Every unit owed is booked (docs/payouts.md, "Where a payment's money goes"):
-- a payment books what its settling report said, then every later increase (a top-up, `finished`
-- after an accepted `partially_paid`) as its own transaction, and a refund after settlement as a
-- reversal; an instant channel's returned balance is paid by a `balance` payout.

-- What the settling report said (`settled_at` is stamped from it) and how much of the payment's
-- outcome the ledger holds so far. settle-payment books `settled_outcome_units`, then each increase
-- of `outcome_units` above `booked_outcome_units`; both only grow.
ALTER TABLE payments
  ADD COLUMN settled_outcome_units numeric(78,0) CHECK (settled_outcome_units >= 0),
  ADD COLUMN booked_outcome_units  numeric(78,0) CHECK (booked_outcome_units >= 0),
  -- When the refund of a settled payment was booked (once).
  ADD COLUMN refund_booked_at      timestamptz,
  ADD CONSTRAINT payments_settled_outcome_check CHECK (settled_outcome_units IS NULL OR settled_at IS NOT NULL),
  ADD CONSTRAINT payments_refund_booked_check CHECK (refund_booked_at IS NULL OR (status = 'refunded' AND booked_outcome_units IS NOT NULL));

-- Rows settled before this migration: the report that settled them is not kept apart, their
-- current outcome is what was booked.
UPDATE payments SET settled_outcome_units = outcome_units WHERE settled_at IS NOT NULL;
UPDATE payments p SET booked_outcome_units = p.outcome_units
 WHERE EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = p.id AND t.kind = 'payment_settled');

CREATE FUNCTION payments_booking_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.settled_outcome_units IS NOT NULL AND NEW.settled_outcome_units IS DISTINCT FROM OLD.settled_outcome_units THEN
    RAISE EXCEPTION 'payment % settled at % units; that is never changed', OLD.id, OLD.settled_outcome_units
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_settled_outcome_fixed';
  END IF;
  IF OLD.booked_outcome_units IS NOT NULL AND (NEW.booked_outcome_units IS NULL OR NEW.booked_outcome_units < OLD.booked_outcome_units) THEN
    RAISE EXCEPTION 'payment % booked units only grow (% → %)', OLD.id, OLD.booked_outcome_units, NEW.booked_outcome_units
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_booked_outcome_grows';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_booking_forward_only
  BEFORE UPDATE OF settled_outcome_units, booked_outcome_units ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_booking_forward_only();

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN (
  'payment_settled',
  'payment_topped_up',     -- more of a settled payment arrived (its own fee and net split)
  'payment_refunded',      -- a settled payment was refunded by the processor: fee and net taken back
  'payout_claimed',
  'payout_funded',
  'payout_completed',
  'payout_returned',
  'swap_refunded',
  'conversion_completed',
  'network_fee',
  'capital',
  'adjustment',
  'reversal'
));
CREATE UNIQUE INDEX ledger_transactions_one_refund_idx ON ledger_transactions (payment_id) WHERE kind = 'payment_refunded';

-- `balance`: an owner's available balance paid out — an instant channel's returned payouts and top-ups,
-- or what a channel held when it switched from threshold to instant.
ALTER TABLE payouts DROP CONSTRAINT payouts_kind_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_kind_check CHECK (kind IN ('instant', 'threshold', 'balance', 'conversion'));

-- A refund revokes what is left of the period its payment bought: the period is cut at the refund
-- (or emptied when it had not started) and marked.
ALTER TABLE subscription_periods ADD COLUMN revoked_at timestamptz;
ALTER TABLE subscription_periods DROP CONSTRAINT subscription_periods_check;
ALTER TABLE subscription_periods ADD CONSTRAINT subscription_periods_check CHECK (ends_at > starts_at OR (revoked_at IS NOT NULL AND ends_at = starts_at));
