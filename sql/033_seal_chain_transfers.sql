-- Field-level encryption of on-chain transfers (docs/security.md#field-encryption). A payout sent
-- straight to the owner's wallet (no swap) named that wallet in clear twice: `to_address`, and inside
-- the signed bytes (`signed_tx`, the ETH recipient or the ERC-20 calldata). Now:
-- - `signed_tx` of every transfer and every replacement is sealed (`signed_tx_ciphertext`, AAD
--   `signed-tx:<payout>:<attempt>`, so attempts cannot be swapped); only send-transfer opens it,
--   and the stored `tx_hash` still proves the bytes (checked before every broadcast);
-- - the recipient of a direct transfer is sealed (`to_address_ciphertext`, AAD
--   `transfer-recipient:<payout>`) and named by its blind index `to_address_index` (migration 029).
--   A swap's deposit address is ChangeNow's, already in clear in `swaps.deposit_address`: it stays in
--   clear so the database keeps checking where a swap's money goes.
-- The clear columns stay, nullable, for rows written before this migration: `npm run reencrypt` seals
-- them and nulls the clear value.

ALTER TABLE chain_transfers
  ALTER COLUMN to_address DROP NOT NULL,
  ALTER COLUMN signed_tx DROP NOT NULL,
  ADD COLUMN to_address_ciphertext text
    CHECK (to_address_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN signed_tx_ciphertext text
    CHECK (signed_tx_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD CONSTRAINT chain_transfers_recipient_one_shape CHECK (
    (to_address IS NULL) = (to_address_ciphertext IS NOT NULL)
    AND (to_address_ciphertext IS NULL OR to_address_index IS NOT NULL)),
  ADD CONSTRAINT chain_transfers_signed_tx_one_shape CHECK ((signed_tx IS NULL) = (signed_tx_ciphertext IS NOT NULL));

ALTER TABLE chain_transfer_replacements
  ALTER COLUMN signed_tx DROP NOT NULL,
  ADD COLUMN signed_tx_ciphertext text
    CHECK (signed_tx_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD CONSTRAINT chain_transfer_replacements_signed_tx_one_shape CHECK ((signed_tx IS NULL) = (signed_tx_ciphertext IS NOT NULL));

-- Where a transfer may go, for every shape: a swap's deposit address in clear; a sealed payout
-- destination only sealed, named by the same index; a destination still in clear (before 029's
-- re-encryption) by the same clear address.
CREATE OR REPLACE FUNCTION chain_transfers_check_destination() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  expected text;
  expected_index bytea;
BEGIN
  SELECT lower(deposit_address) INTO expected FROM swaps WHERE payout_id = NEW.payout_id;
  IF NOT FOUND THEN
    SELECT lower(destination_wallet), destination_wallet_index INTO expected, expected_index FROM payouts WHERE id = NEW.payout_id;
    IF expected IS NULL AND expected_index IS NOT NULL THEN
      IF NEW.to_address IS NOT NULL OR NEW.to_address_index IS DISTINCT FROM expected_index THEN
        RAISE EXCEPTION 'transfer for payout % does not go, sealed, to its sealed destination', NEW.payout_id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_destination';
      END IF;
      RETURN NEW;
    END IF;
  END IF;
  IF expected IS DISTINCT FROM NEW.to_address THEN
    RAISE EXCEPTION 'transfer for payout % does not go to its expected address', NEW.payout_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_destination';
  END IF;
  RETURN NEW;
END
$$;

-- Immutability as before, with the sealing step allowed: a clear value becomes NULL once, as its
-- ciphertext appears (`npm run reencrypt`); the recipient's index may be filled in then, never
-- changed. A ciphertext may be re-wrapped under a new key; the bytes it holds are still proven by
-- `tx_hash`, which never changes.
CREATE OR REPLACE FUNCTION chain_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  is_sealing_recipient boolean := OLD.to_address IS NOT NULL AND NEW.to_address IS NULL;
  is_sealing_bytes boolean := OLD.signed_tx IS NOT NULL AND NEW.signed_tx IS NULL;
BEGIN
  IF (NEW.payout_id, NEW.chain_id, NEW.from_address, NEW.token_contract, NEW.asset, NEW.amount_units,
      NEW.nonce, NEW.gas_limit, NEW.max_fee_per_gas, NEW.max_priority_fee_per_gas, NEW.tx_hash, NEW.signed_at)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.chain_id, OLD.from_address, OLD.token_contract, OLD.asset, OLD.amount_units,
      OLD.nonce, OLD.gas_limit, OLD.max_fee_per_gas, OLD.max_priority_fee_per_gas, OLD.tx_hash, OLD.signed_at)
     OR (NOT is_sealing_recipient AND NEW.to_address IS DISTINCT FROM OLD.to_address)
     OR (NOT (is_sealing_recipient AND OLD.to_address_index IS NULL) AND NEW.to_address_index IS DISTINCT FROM OLD.to_address_index)
     OR (NOT is_sealing_bytes AND NEW.signed_tx IS DISTINCT FROM OLD.signed_tx) THEN
    RAISE EXCEPTION 'chain transfer % is signed: its transaction can never change', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_signed_immutable';
  END IF;
  IF NEW.status <> OLD.status AND NOT chain_transfer_status_can_advance(OLD.status, NEW.status) THEN
    RAISE EXCEPTION 'chain transfer % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_status_transition';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION chain_transfer_replacements_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  is_sealing_bytes boolean := OLD.signed_tx IS NOT NULL AND NEW.signed_tx IS NULL;
BEGIN
  IF (NEW.payout_id, NEW.attempt, NEW.max_fee_per_gas, NEW.max_priority_fee_per_gas, NEW.tx_hash, NEW.signed_at)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.attempt, OLD.max_fee_per_gas, OLD.max_priority_fee_per_gas, OLD.tx_hash, OLD.signed_at)
     OR (NOT is_sealing_bytes AND NEW.signed_tx IS DISTINCT FROM OLD.signed_tx)
     OR (OLD.broadcast_at IS NOT NULL AND NEW.broadcast_at IS DISTINCT FROM OLD.broadcast_at) THEN
    RAISE EXCEPTION 'replacement % of payout % is signed: it can never change', OLD.attempt, OLD.payout_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfer_replacements_immutable';
  END IF;
  RETURN NEW;
END
$$;
