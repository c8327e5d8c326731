-- Field-level encryption at rest (docs/security.md#field-encryption). Emails and payout
-- destinations are stored as envelope ciphertexts `v1.<kid>.<wrappedKey>.<iv>.<ciphertext>.<tag>`
-- (shared/field-crypto), with an HMAC blind index where equality is needed and a masked hint where
-- a person is shown which value it is. The clear columns stay, nullable, for rows written before
-- this migration: `npm run reencrypt` seals them and nulls the clear value; reads accept either
-- shape until then. Every CHECK below allows exactly one shape per value.

-- accounts.email → email_ciphertext + email_index (login lookup, uniqueness) + email_hint.
ALTER TABLE accounts
  ALTER COLUMN email DROP NOT NULL,
  ADD COLUMN email_ciphertext text
    CHECK (email_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN email_index bytea CHECK (octet_length(email_index) = 32),
  -- `o…@example.com`: what the bot shows when an account is linked (it holds no key).
  ADD COLUMN email_hint text CHECK (email_hint ~ '^[^@[:space:]]?…@[^@[:space:]]+$' AND length(email_hint) <= 256),
  ADD CONSTRAINT accounts_email_one_shape CHECK (
    (email IS NULL) = (email_ciphertext IS NOT NULL)
    AND (email_ciphertext IS NULL) = (email_index IS NULL)
    AND (email_ciphertext IS NULL) = (email_hint IS NULL));
-- Uniqueness moves to the index; the old lower(email) index keeps rows still in clear unique.
CREATE UNIQUE INDEX accounts_email_index_key ON accounts (email_index);

-- email_tokens.new_email (the address a change_email token confirms).
ALTER TABLE email_tokens
  ADD COLUMN new_email_ciphertext text
    CHECK (new_email_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  DROP CONSTRAINT email_tokens_check1,
  ADD CONSTRAINT email_tokens_new_email_one_shape CHECK (
    (purpose = 'change_email') = (new_email IS NOT NULL OR new_email_ciphertext IS NOT NULL)
    AND (new_email IS NULL OR new_email_ciphertext IS NULL));

-- channels: the payout wallet and extra id. The index answers "same wallet?" (a hint shows which).
ALTER TABLE channels
  ALTER COLUMN payout_wallet DROP NOT NULL,
  ADD COLUMN payout_wallet_ciphertext text
    CHECK (payout_wallet_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN payout_wallet_index bytea CHECK (octet_length(payout_wallet_index) = 32),
  ADD COLUMN payout_wallet_hint text CHECK (length(payout_wallet_hint) BETWEEN 2 AND 16),
  ADD COLUMN payout_extra_id_ciphertext text
    CHECK (payout_extra_id_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN payout_extra_id_index bytea CHECK (octet_length(payout_extra_id_index) = 32),
  ADD CONSTRAINT channels_payout_wallet_one_shape CHECK (
    (payout_wallet IS NULL) = (payout_wallet_ciphertext IS NOT NULL)
    AND (payout_wallet_ciphertext IS NULL) = (payout_wallet_index IS NULL)
    AND (payout_wallet_ciphertext IS NULL) = (payout_wallet_hint IS NULL)
    AND (payout_extra_id IS NULL OR payout_extra_id_ciphertext IS NULL)
    AND (payout_extra_id_ciphertext IS NULL OR payout_wallet_ciphertext IS NOT NULL)
    AND (payout_extra_id_ciphertext IS NULL) = (payout_extra_id_index IS NULL));

-- payouts: the destination snapshot, copied sealed from the channel (same owner, same AAD context:
-- settlement copies it without a key).
ALTER TABLE payouts
  ALTER COLUMN destination_wallet DROP NOT NULL,
  ADD COLUMN destination_wallet_ciphertext text
    CHECK (destination_wallet_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN destination_wallet_index bytea CHECK (octet_length(destination_wallet_index) = 32),
  ADD COLUMN destination_wallet_hint text CHECK (length(destination_wallet_hint) BETWEEN 2 AND 16),
  ADD COLUMN destination_extra_id_ciphertext text
    CHECK (destination_extra_id_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN destination_extra_id_index bytea CHECK (octet_length(destination_extra_id_index) = 32),
  ADD CONSTRAINT payouts_destination_one_shape CHECK (
    (destination_wallet IS NULL) = (destination_wallet_ciphertext IS NOT NULL)
    AND (destination_wallet_ciphertext IS NULL) = (destination_wallet_index IS NULL)
    AND (destination_wallet_ciphertext IS NULL) = (destination_wallet_hint IS NULL)
    AND (destination_extra_id IS NULL OR destination_extra_id_ciphertext IS NULL)
    AND (destination_extra_id_ciphertext IS NULL OR destination_wallet_ciphertext IS NOT NULL)
    AND (destination_extra_id_ciphertext IS NULL) = (destination_extra_id_index IS NULL)),
  ADD CONSTRAINT payouts_destination_index_key UNIQUE (id, asset, amount_units, destination_currency, destination_network, destination_wallet_index);

-- swaps: the owner's address ChangeNow pays out to, copied sealed from the payout. Its link to the
-- payout's destination moves from the clear address to the index.
ALTER TABLE swaps
  ALTER COLUMN payout_address DROP NOT NULL,
  ADD COLUMN payout_address_ciphertext text
    CHECK (payout_address_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD COLUMN payout_address_index bytea CHECK (octet_length(payout_address_index) = 32),
  ADD COLUMN payout_extra_id_ciphertext text
    CHECK (payout_extra_id_ciphertext ~ '^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$'),
  ADD CONSTRAINT swaps_payout_address_one_shape CHECK (
    (payout_address IS NULL) = (payout_address_ciphertext IS NOT NULL)
    AND (payout_address_ciphertext IS NULL) = (payout_address_index IS NULL)
    AND (payout_extra_id IS NULL OR payout_extra_id_ciphertext IS NULL)
    AND (payout_extra_id_ciphertext IS NULL OR payout_address_ciphertext IS NOT NULL)),
  ADD CONSTRAINT swaps_payout_destination_index_fkey
    FOREIGN KEY (payout_id, from_asset, from_amount_units, to_currency, to_network, payout_address_index)
    REFERENCES payouts (id, asset, amount_units, destination_currency, destination_network, destination_wallet_index) ON DELETE RESTRICT;
-- The clear-address link would stop `npm run reencrypt` from sealing a payout whose swap exists;
-- the job seals a payout and its swap together, and the index link above covers sealed rows.
ALTER TABLE swaps DROP CONSTRAINT swaps_payout_id_from_asset_from_amount_units_to_currency_t_fkey;

-- chain_transfers: the index of the recipient, so the destination check below still holds for a
-- payout whose wallet is sealed (the database cannot open it; send-transfer computes the index).
ALTER TABLE chain_transfers ADD COLUMN to_address_index bytea CHECK (octet_length(to_address_index) = 32);

-- Immutability as before, with the sealing step allowed: a clear value may become NULL once, as its
-- ciphertext and index appear (npm run reencrypt); an index never changes after that. A ciphertext
-- may be re-wrapped under a new key (same value: the index is unchanged and the AAD binds the owner).
CREATE OR REPLACE FUNCTION payouts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  is_sealing boolean := OLD.destination_wallet IS NOT NULL AND NEW.destination_wallet IS NULL AND OLD.destination_wallet_index IS NULL;
BEGIN
  IF (NEW.kind, NEW.channel_id, NEW.owner_account_id, NEW.payment_id, NEW.asset, NEW.amount_units,
      NEW.destination_currency, NEW.destination_network, NEW.claim_transaction_id, NEW.requested_at)
     IS DISTINCT FROM
     (OLD.kind, OLD.channel_id, OLD.owner_account_id, OLD.payment_id, OLD.asset, OLD.amount_units,
      OLD.destination_currency, OLD.destination_network, OLD.claim_transaction_id, OLD.requested_at)
     OR (NOT is_sealing AND (NEW.destination_wallet, NEW.destination_extra_id, NEW.destination_wallet_index, NEW.destination_wallet_hint, NEW.destination_extra_id_index)
                            IS DISTINCT FROM (OLD.destination_wallet, OLD.destination_extra_id, OLD.destination_wallet_index, OLD.destination_wallet_hint, OLD.destination_extra_id_index)) THEN
    RAISE EXCEPTION 'payout % amount, destination and claim are immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payouts_snapshot_immutable';
  END IF;
  IF NEW.state <> OLD.state AND NOT payout_state_can_advance(OLD.state, NEW.state) THEN
    RAISE EXCEPTION 'payout % cannot move from % to %', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payouts_state_transition';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION swaps_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  is_sealing boolean := OLD.payout_address IS NOT NULL AND NEW.payout_address IS NULL AND OLD.payout_address_index IS NULL;
BEGIN
  IF (NEW.payout_id, NEW.provider, NEW.provider_exchange_id, NEW.from_asset, NEW.from_amount_units, NEW.from_currency,
      NEW.from_network, NEW.to_currency, NEW.to_network, NEW.deposit_address, NEW.deposit_extra_id, NEW.refund_address)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.provider, OLD.provider_exchange_id, OLD.from_asset, OLD.from_amount_units, OLD.from_currency,
      OLD.from_network, OLD.to_currency, OLD.to_network, OLD.deposit_address, OLD.deposit_extra_id, OLD.refund_address)
     OR (NOT is_sealing AND (NEW.payout_address, NEW.payout_extra_id, NEW.payout_address_index)
                            IS DISTINCT FROM (OLD.payout_address, OLD.payout_extra_id, OLD.payout_address_index))
     OR (NOT is_sealing AND (NEW.payout_extra_id_ciphertext IS NULL) <> (OLD.payout_extra_id_ciphertext IS NULL)) THEN
    RAISE EXCEPTION 'swap % identity, amounts and addresses are immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'swaps_identity_immutable';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION chain_transfers_check_destination() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  expected text;
  expected_index bytea;
BEGIN
  SELECT lower(deposit_address) INTO expected FROM swaps WHERE payout_id = NEW.payout_id;
  IF NOT FOUND THEN
    SELECT lower(destination_wallet), destination_wallet_index INTO expected, expected_index FROM payouts WHERE id = NEW.payout_id;
    IF expected IS NULL AND expected_index IS NOT NULL THEN
      -- A sealed destination: the transfer must name the same wallet by its index.
      IF NEW.to_address_index IS DISTINCT FROM expected_index THEN
        RAISE EXCEPTION 'transfer for payout % does not go to its sealed destination', NEW.payout_id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_destination';
      END IF;
      RETURN NEW;
    END IF;
  END IF;
  IF expected IS DISTINCT FROM NEW.to_address THEN
    RAISE EXCEPTION 'transfer for payout % goes to %, expected %', NEW.payout_id, NEW.to_address, expected
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_destination';
  END IF;
  RETURN NEW;
END
$$;

-- What the dropped clear-address link guaranteed, for both shapes: a swap pays out to its payout's
-- destination. A sealed payout's swap carries the same index (the foreign key above compares it);
-- a payout still in clear needs the same clear address.
CREATE FUNCTION swaps_check_payout_address() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  clear_wallet text;
  wallet_index bytea;
BEGIN
  SELECT destination_wallet, destination_wallet_index INTO clear_wallet, wallet_index FROM payouts WHERE id = NEW.payout_id;
  IF (wallet_index IS NOT NULL AND NEW.payout_address_index IS NULL)
     OR (wallet_index IS NULL AND NEW.payout_address IS DISTINCT FROM clear_wallet) THEN
    RAISE EXCEPTION 'swap for payout % does not pay out to its destination', NEW.payout_id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'swaps_payout_destination_index_fkey';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER swaps_payout_address BEFORE INSERT ON swaps FOR EACH ROW EXECUTE FUNCTION swaps_check_payout_address();
