-- Threshold owners' balances parked in a stable asset: a batch claims several owners' balances of
-- one asset (ETH), converts the total with one 'conversion' payout (a swap to the platform's own
-- wallet), and credits each owner a share of what arrived (largest remainder, so the shares sum
-- exactly). The database checks the sums at commit.

CREATE TABLE conversion_batches (
  id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  state                     text NOT NULL DEFAULT 'converting' CHECK (state IN ('converting', 'distributed', 'failed')),
  -- The conversion payout that sends exactly the batch total (composite key).
  payout_id                 uuid NOT NULL UNIQUE,
  payout_kind               text NOT NULL DEFAULT 'conversion' CHECK (payout_kind = 'conversion'),
  from_asset                text NOT NULL REFERENCES assets (code) ON DELETE RESTRICT,
  to_asset                  text NOT NULL REFERENCES assets (code) ON DELETE RESTRICT,
  total_from_units          numeric(78,0) NOT NULL CHECK (total_from_units > 0),
  -- What the conversion delivered, in to_asset base units; split across the shares.
  received_to_units         numeric(78,0) CHECK (received_to_units >= 0),
  -- The 'conversion_completed' ledger transaction that credited the shares.
  completion_transaction_id uuid UNIQUE,
  completion_kind           text NOT NULL DEFAULT 'conversion_completed' CHECK (completion_kind = 'conversion_completed'),
  failure_reason            text CHECK (length(failure_reason) BETWEEN 1 AND 1000),
  created_at                timestamptz NOT NULL,
  completed_at              timestamptz,
  updated_at                timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (payout_id, payout_kind) REFERENCES payouts (id, kind) ON DELETE RESTRICT,
  FOREIGN KEY (payout_id, from_asset, total_from_units) REFERENCES payouts (id, asset, amount_units) ON DELETE RESTRICT,
  FOREIGN KEY (completion_transaction_id, id, completion_kind)
    REFERENCES ledger_transactions (id, conversion_batch_id, kind) ON DELETE RESTRICT,
  CHECK (from_asset <> to_asset),
  CHECK ((state = 'distributed') = (completion_transaction_id IS NOT NULL)),
  CHECK ((state = 'distributed') = (received_to_units IS NOT NULL)),
  CHECK ((state = 'distributed') = (completed_at IS NOT NULL)),
  CHECK ((state = 'failed') = (failure_reason IS NOT NULL))
);
CREATE INDEX conversion_batches_converting_idx ON conversion_batches (created_at) WHERE state = 'converting';

ALTER TABLE ledger_transactions
  ADD CONSTRAINT ledger_transactions_conversion_batch_id_fkey FOREIGN KEY (conversion_batch_id)
  REFERENCES conversion_batches (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE conversion_batch_shares (
  batch_id   uuid NOT NULL REFERENCES conversion_batches (id) ON DELETE RESTRICT,
  channel_id uuid NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
  -- The owner balance this channel put into the batch (from_asset base units).
  from_units numeric(78,0) NOT NULL CHECK (from_units > 0),
  -- The channel's share of received_to_units; set when the batch is distributed.
  to_units   numeric(78,0) CHECK (to_units >= 0),
  PRIMARY KEY (batch_id, channel_id)
);
CREATE INDEX conversion_batch_shares_channel_idx ON conversion_batch_shares (channel_id);

CREATE FUNCTION conversion_batch_check_totals(p_batch_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  batch        conversion_batches%ROWTYPE;
  from_total   numeric;
  to_total     numeric;
  missing_to   bigint;
  share_count  bigint;
BEGIN
  SELECT * INTO batch FROM conversion_batches WHERE id = p_batch_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT count(*), coalesce(sum(from_units), 0), sum(to_units), count(*) FILTER (WHERE to_units IS NULL)
    INTO share_count, from_total, to_total, missing_to
    FROM conversion_batch_shares WHERE batch_id = p_batch_id;
  IF share_count = 0 OR from_total <> batch.total_from_units THEN
    RAISE EXCEPTION 'conversion batch % total is % but its shares sum to %', p_batch_id, batch.total_from_units, from_total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'conversion_batches_shares_sum';
  END IF;
  IF batch.state = 'distributed' AND (missing_to > 0 OR to_total IS DISTINCT FROM batch.received_to_units) THEN
    RAISE EXCEPTION 'conversion batch % received % but distributed %', p_batch_id, batch.received_to_units, to_total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'conversion_batches_distribution_sum';
  END IF;
END
$$;

CREATE FUNCTION conversion_batches_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM conversion_batch_check_totals(NEW.id);
  RETURN NULL;
END
$$;
CREATE FUNCTION conversion_batch_shares_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM conversion_batch_check_totals(NEW.batch_id);
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER conversion_batches_totals
  AFTER INSERT OR UPDATE ON conversion_batches
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION conversion_batches_check();
CREATE CONSTRAINT TRIGGER conversion_batch_shares_totals
  AFTER INSERT OR UPDATE ON conversion_batch_shares
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION conversion_batch_shares_check();

-- A batch's identity and a share's claimed amount never change; terminal states stay terminal.
CREATE FUNCTION conversion_batches_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.payout_id, NEW.from_asset, NEW.to_asset, NEW.total_from_units, NEW.created_at)
     IS DISTINCT FROM (OLD.payout_id, OLD.from_asset, OLD.to_asset, OLD.total_from_units, OLD.created_at) THEN
    RAISE EXCEPTION 'conversion batch % identity and total are immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'conversion_batches_identity_immutable';
  END IF;
  IF OLD.state <> 'converting' AND NEW IS DISTINCT FROM OLD THEN
    RAISE EXCEPTION 'conversion batch % is %; it cannot change', OLD.id, OLD.state
      USING ERRCODE = 'check_violation', CONSTRAINT = 'conversion_batches_state_transition';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER conversion_batches_guard BEFORE UPDATE ON conversion_batches
  FOR EACH ROW EXECUTE FUNCTION conversion_batches_guard();

CREATE FUNCTION conversion_batch_shares_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.batch_id, NEW.channel_id, NEW.from_units) IS DISTINCT FROM (OLD.batch_id, OLD.channel_id, OLD.from_units)
     OR (OLD.to_units IS NOT NULL AND NEW.to_units IS DISTINCT FROM OLD.to_units) THEN
    RAISE EXCEPTION 'conversion share (%, %) is immutable once claimed and once distributed', OLD.batch_id, OLD.channel_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'conversion_batch_shares_immutable';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER conversion_batch_shares_guard BEFORE UPDATE ON conversion_batch_shares
  FOR EACH ROW EXECUTE FUNCTION conversion_batch_shares_guard();

CREATE TRIGGER conversion_batches_no_delete BEFORE DELETE ON conversion_batches
  FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER conversion_batch_shares_no_delete BEFORE DELETE ON conversion_batch_shares
  FOR EACH ROW EXECUTE FUNCTION reject_delete();
