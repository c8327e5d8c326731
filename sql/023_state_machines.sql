-- Every state machine has its transition table in code and the same graph here; a test
-- (tests/schema/state-machines.test.ts) walks every pair of both, and a BEFORE UPDATE trigger
-- refuses any other move. Payments (sql/005), payouts (sql/019) and chain transfers (sql/008) had
-- theirs; this adds checkouts and swaps. Code: shared/checkout/checkout-status.ts,
-- shared/payouts/swap-status.ts.

-- open → paid | expired | cancelled; a late payment still pays an expired or cancelled checkout
-- (the money arrived). Nothing leaves paid.
CREATE FUNCTION checkout_status_can_advance(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (from_status, to_status) IN (
    ('open', 'paid'), ('open', 'expired'), ('open', 'cancelled'),
    ('expired', 'paid'),
    ('cancelled', 'paid')
  )
$$;

CREATE FUNCTION checkouts_check_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT checkout_status_can_advance(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'checkout % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'checkouts_status_transition';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER checkouts_status_transition BEFORE UPDATE ON checkouts
  FOR EACH ROW EXECUTE FUNCTION checkouts_check_status_transition();

-- swaps.status is ChangeNow's own status, stored as is. Polling sees only some steps, so a status
-- may skip ahead; verifying (an AML hold) may come and go; ChangeNow support may still finish
-- (through exchanging or sending) or refund a failed exchange. finished, refunded, expired end it.
CREATE FUNCTION swap_status_can_advance(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (from_status, to_status) IN (
    ('new', 'waiting'), ('new', 'confirming'), ('new', 'exchanging'), ('new', 'sending'), ('new', 'finished'),
    ('new', 'failed'), ('new', 'refunded'), ('new', 'verifying'), ('new', 'expired'),
    ('waiting', 'confirming'), ('waiting', 'exchanging'), ('waiting', 'sending'), ('waiting', 'finished'),
    ('waiting', 'failed'), ('waiting', 'refunded'), ('waiting', 'verifying'), ('waiting', 'expired'),
    ('confirming', 'exchanging'), ('confirming', 'sending'), ('confirming', 'finished'), ('confirming', 'failed'),
    ('confirming', 'refunded'), ('confirming', 'verifying'),
    ('exchanging', 'sending'), ('exchanging', 'finished'), ('exchanging', 'failed'), ('exchanging', 'refunded'),
    ('exchanging', 'verifying'),
    ('sending', 'finished'), ('sending', 'failed'), ('sending', 'refunded'), ('sending', 'verifying'),
    ('failed', 'exchanging'), ('failed', 'sending'), ('failed', 'finished'), ('failed', 'refunded'), ('failed', 'verifying'),
    ('verifying', 'confirming'), ('verifying', 'exchanging'), ('verifying', 'sending'), ('verifying', 'finished'),
    ('verifying', 'failed'), ('verifying', 'refunded')
  )
$$;

CREATE FUNCTION swaps_check_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT swap_status_can_advance(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'swap % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'swaps_status_transition';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER swaps_status_transition BEFORE UPDATE ON swaps
  FOR EACH ROW EXECUTE FUNCTION swaps_check_status_transition();
