-- A broadcast transaction the node dropped from its mempool (evicted, often exactly when its fee
-- was clamped to the cap) is re-broadcast; when the node will not take its bytes any more, it is
-- replaced: the same transfer (same nonce, recipient, amount and gas limit) signed again at a
-- higher fee. Two transactions with one nonce can never both be mined, so a payout is still paid
-- at most once. Attempt 1 is the transfer row's own signed_tx; replacements are attempts 2, 3, …
CREATE TABLE chain_transfer_replacements (
  payout_id                uuid NOT NULL REFERENCES chain_transfers (payout_id) ON DELETE RESTRICT,
  attempt                  smallint NOT NULL CHECK (attempt BETWEEN 2 AND 100),
  max_fee_per_gas          numeric(78,0) NOT NULL CHECK (max_fee_per_gas > 0),
  max_priority_fee_per_gas numeric(78,0) NOT NULL CHECK (max_priority_fee_per_gas >= 0),
  signed_tx                text NOT NULL CHECK (signed_tx ~ '^0x([0-9a-f]{2})+$'),
  tx_hash                  text NOT NULL UNIQUE CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
  signed_at                timestamptz NOT NULL,
  broadcast_at             timestamptz,
  PRIMARY KEY (payout_id, attempt),
  CHECK (max_priority_fee_per_gas <= max_fee_per_gas)
);

-- Signed bytes never change; only the moment of the first broadcast is filled in.
CREATE FUNCTION chain_transfer_replacements_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.payout_id, NEW.attempt, NEW.max_fee_per_gas, NEW.max_priority_fee_per_gas, NEW.signed_tx, NEW.tx_hash, NEW.signed_at)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.attempt, OLD.max_fee_per_gas, OLD.max_priority_fee_per_gas, OLD.signed_tx, OLD.tx_hash, OLD.signed_at)
     OR (OLD.broadcast_at IS NOT NULL AND NEW.broadcast_at IS DISTINCT FROM OLD.broadcast_at) THEN
    RAISE EXCEPTION 'replacement % of payout % is signed: it can never change', OLD.attempt, OLD.payout_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfer_replacements_immutable';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER chain_transfer_replacements_guard BEFORE UPDATE ON chain_transfer_replacements
  FOR EACH ROW EXECUTE FUNCTION chain_transfer_replacements_guard();
CREATE TRIGGER chain_transfer_replacements_no_delete BEFORE DELETE ON chain_transfer_replacements
  FOR EACH ROW EXECUTE FUNCTION reject_delete();

-- Which attempt was mined (its hash); set with the receipt. Shown to owners and in exports.
ALTER TABLE chain_transfers ADD COLUMN mined_tx_hash text CHECK (mined_tx_hash ~ '^0x[0-9a-f]{64}$');
UPDATE chain_transfers SET mined_tx_hash = tx_hash WHERE status IN ('confirmed', 'failed');
ALTER TABLE chain_transfers ADD CONSTRAINT chain_transfers_mined_hash_check
  CHECK (status NOT IN ('confirmed', 'failed') OR mined_tx_hash IS NOT NULL);
