-- Money going out: a payout (one per ledger claim), at most one swap (ChangeNow exchange) and at most
-- one signed on-chain transfer for it, and the database-allocated nonce of each hot wallet. Every row
-- carries what it needs to be re-checked: a swap and a transfer must match their payout's asset,
-- amount and destination, and a payout's destination is a snapshot that channel edits cannot touch.

CREATE TABLE payouts (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- instant: one settled payment; threshold: an owner's accumulated balance; conversion: the platform
  -- converting owners' balances (conversion_batches) into the parking asset, to its own wallet.
  kind                 text NOT NULL CHECK (kind IN ('instant', 'threshold', 'conversion')),
  channel_id           uuid REFERENCES channels (id) ON DELETE RESTRICT,
  owner_account_id     uuid REFERENCES accounts (id) ON DELETE RESTRICT,
  -- The payment an instant payout pays out: one instant payout per payment.
  payment_id           uuid UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
  state                text NOT NULL DEFAULT 'requested' CHECK (state IN (
                         'requested', 'held', 'deferred', 'quoted', 'swap_created', 'transfer_signed',
                         'transfer_broadcast', 'awaiting_swap', 'completed', 'failed', 'refunded', 'cancelled')),
  -- What leaves the hot wallet, in base units.
  asset                text NOT NULL REFERENCES assets (code) ON DELETE RESTRICT,
  amount_units         numeric(78,0) NOT NULL CHECK (amount_units > 0),
  -- USD value when requested, for outflow limits and display.
  amount_usd_cents     bigint CHECK (amount_usd_cents >= 0),
  -- Destination snapshot, copied from the channel (or the platform's own wallet for conversions).
  destination_currency text NOT NULL,
  destination_network  text NOT NULL,
  destination_wallet   text NOT NULL CHECK (destination_wallet ~ '^[A-Za-z0-9:_+/=-]{14,128}$'),
  destination_extra_id text CHECK (destination_extra_id ~ '^[[:print:]]{1,128}$'),
  -- The ledger transaction that moved the balance into this payout. One payout per claim, and the
  -- claim must be a 'payout_claimed' transaction that names this payout.
  claim_transaction_id uuid NOT NULL UNIQUE,
  claim_kind           text NOT NULL DEFAULT 'payout_claimed' CHECK (claim_kind = 'payout_claimed'),
  quoted_to_amount     numeric CHECK (quoted_to_amount >= 0),
  quoted_at            timestamptz,
  held_reason          text CHECK (held_reason ~ '^[a-z][a-z0-9_]*$'),
  approved_by          text CHECK (length(approved_by) BETWEEN 1 AND 200),
  approved_at          timestamptz,
  deferred_until       timestamptz,
  failure_code         text CHECK (failure_code ~ '^[a-z][a-z0-9_]*$'),
  failure_reason       text CHECK (length(failure_reason) <= 1000),
  requested_at         timestamptz NOT NULL,
  state_changed_at     timestamptz NOT NULL,
  completed_at         timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (destination_currency, destination_network) REFERENCES payout_options (currency, network)
    ON UPDATE RESTRICT ON DELETE RESTRICT,
  FOREIGN KEY (claim_transaction_id, id, claim_kind) REFERENCES ledger_transactions (id, payout_id, kind)
    ON DELETE RESTRICT,
  -- Targets of swaps', chain_transfers' and conversion_batches' composite keys.
  UNIQUE (id, asset, amount_units, destination_currency, destination_network, destination_wallet),
  UNIQUE (id, asset, amount_units),
  UNIQUE (id, kind),
  CHECK ((kind = 'conversion') = (channel_id IS NULL)),
  CHECK ((channel_id IS NULL) = (owner_account_id IS NULL)),
  CHECK ((kind = 'instant') = (payment_id IS NOT NULL)),
  CHECK (state <> 'held' OR held_reason IS NOT NULL),
  CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
  CHECK (state <> 'deferred' OR deferred_until IS NOT NULL),
  CHECK (state <> 'failed' OR failure_code IS NOT NULL),
  CHECK ((state = 'completed') = (completed_at IS NOT NULL)),
  CHECK ((quoted_to_amount IS NULL) = (quoted_at IS NULL))
);
CREATE INDEX payouts_active_state_idx ON payouts (state, state_changed_at)
  WHERE state NOT IN ('completed', 'failed', 'refunded', 'cancelled');
CREATE INDEX payouts_channel_idx ON payouts (channel_id, requested_at);

ALTER TABLE ledger_transactions
  ADD CONSTRAINT ledger_transactions_payout_id_fkey FOREIGN KEY (payout_id) REFERENCES payouts (id)
  ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;

-- The payout lifecycle. Main line: requested → quoted → swap_created → transfer_signed →
-- transfer_broadcast → awaiting_swap → completed (a payout in the asset we hold skips the swap and
-- completes when its transfer confirms). held waits for an operator, deferred for a later retry.
-- Once a transaction is signed there is no way back to a state that could sign another.
CREATE FUNCTION payout_state_can_advance(from_state text, to_state text) RETURNS boolean
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
    ('awaiting_swap', 'completed'), ('awaiting_swap', 'refunded'), ('awaiting_swap', 'failed')
  )
$$;

CREATE FUNCTION payouts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.kind, NEW.channel_id, NEW.owner_account_id, NEW.payment_id, NEW.asset, NEW.amount_units,
      NEW.destination_currency, NEW.destination_network, NEW.destination_wallet, NEW.destination_extra_id,
      NEW.claim_transaction_id, NEW.requested_at)
     IS DISTINCT FROM
     (OLD.kind, OLD.channel_id, OLD.owner_account_id, OLD.payment_id, OLD.asset, OLD.amount_units,
      OLD.destination_currency, OLD.destination_network, OLD.destination_wallet, OLD.destination_extra_id,
      OLD.claim_transaction_id, OLD.requested_at) THEN
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
CREATE TRIGGER payouts_guard BEFORE UPDATE ON payouts FOR EACH ROW EXECUTE FUNCTION payouts_guard();

-- One ChangeNow exchange per payout. It swaps exactly the payout's amount and pays exactly the
-- payout's destination (composite key), and its addresses never change once stored.
CREATE TABLE swaps (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payout_id            uuid NOT NULL UNIQUE,
  provider             text NOT NULL DEFAULT 'changenow' CHECK (provider IN ('changenow')),
  provider_exchange_id text NOT NULL UNIQUE CHECK (provider_exchange_id ~ '^[A-Za-z0-9_-]{1,100}$'),
  from_asset           text NOT NULL,
  from_amount_units    numeric(78,0) NOT NULL CHECK (from_amount_units > 0),
  -- The provider's tickers for what we send ('eth' on 'eth', 'usdt' on 'eth').
  from_currency        text NOT NULL CHECK (from_currency ~ '^[a-z0-9]{2,20}$'),
  from_network         text NOT NULL CHECK (from_network ~ '^[a-z0-9]{2,20}$'),
  -- What the owner receives, as payout_options codes.
  to_currency          text NOT NULL,
  to_network           text NOT NULL,
  expected_to_amount   numeric CHECK (expected_to_amount >= 0),
  received_to_amount   numeric CHECK (received_to_amount >= 0),
  deposit_address      text NOT NULL CHECK (deposit_address ~ '^[A-Za-z0-9:_+/=-]{14,128}$'),
  deposit_extra_id     text CHECK (deposit_extra_id ~ '^[[:print:]]{1,128}$'),
  payout_address       text NOT NULL,
  payout_extra_id      text CHECK (payout_extra_id ~ '^[[:print:]]{1,128}$'),
  -- Where the provider returns funds of a failed exchange: our hot wallet.
  refund_address       text NOT NULL CHECK (refund_address ~ '^[A-Za-z0-9:_+/=-]{14,128}$'),
  flow                 text NOT NULL DEFAULT 'standard' CHECK (flow IN ('standard', 'fixed-rate')),
  rate_id              text CHECK (length(rate_id) BETWEEN 1 AND 200),
  valid_until          timestamptz,
  status               text NOT NULL CHECK (status IN ('new', 'waiting', 'confirming', 'exchanging', 'sending',
                                                       'finished', 'failed', 'refunded', 'verifying', 'expired')),
  payin_hash           text CHECK (length(payin_hash) BETWEEN 1 AND 200),
  payout_hash          text CHECK (length(payout_hash) BETWEEN 1 AND 200),
  status_checked_at    timestamptz,
  finished_at          timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (payout_id, from_asset, from_amount_units, to_currency, to_network, payout_address)
    REFERENCES payouts (id, asset, amount_units, destination_currency, destination_network, destination_wallet)
    ON DELETE RESTRICT,
  CHECK (flow <> 'fixed-rate' OR rate_id IS NOT NULL),
  CHECK (status <> 'finished' OR finished_at IS NOT NULL)
);
CREATE INDEX swaps_open_idx ON swaps (status_checked_at) WHERE status NOT IN ('finished', 'failed', 'refunded', 'expired');

CREATE FUNCTION swaps_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.payout_id, NEW.provider, NEW.provider_exchange_id, NEW.from_asset, NEW.from_amount_units, NEW.from_currency,
      NEW.from_network, NEW.to_currency, NEW.to_network, NEW.deposit_address, NEW.deposit_extra_id,
      NEW.payout_address, NEW.payout_extra_id, NEW.refund_address)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.provider, OLD.provider_exchange_id, OLD.from_asset, OLD.from_amount_units, OLD.from_currency,
      OLD.from_network, OLD.to_currency, OLD.to_network, OLD.deposit_address, OLD.deposit_extra_id,
      OLD.payout_address, OLD.payout_extra_id, OLD.refund_address) THEN
    RAISE EXCEPTION 'swap % identity, amounts and addresses are immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'swaps_identity_immutable';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER swaps_guard BEFORE UPDATE ON swaps FOR EACH ROW EXECUTE FUNCTION swaps_guard();

-- A swap comes before the payout's transfer: once funds may be sent somewhere, no exchange can be
-- slipped in front of them.
CREATE FUNCTION swaps_check_no_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM chain_transfers WHERE payout_id = NEW.payout_id) THEN
    RAISE EXCEPTION 'payout % already has a signed transfer; it cannot get a swap', NEW.payout_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'swaps_before_transfer';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER swaps_before_transfer BEFORE INSERT ON swaps FOR EACH ROW EXECUTE FUNCTION swaps_check_no_transfer();

-- Next nonce per hot wallet, allocated in the database (UPDATE … SET next_nonce = next_nonce + 1
-- RETURNING next_nonce - 1): the row lock makes concurrent senders take distinct nonces.
CREATE TABLE wallet_nonces (
  chain_id   bigint NOT NULL CHECK (chain_id > 0),
  address    text NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'),
  next_nonce bigint NOT NULL CHECK (next_nonce >= 0),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (chain_id, address)
);

-- The one signed transaction of a payout, stored before it is broadcast. Retries re-broadcast the
-- same bytes; nothing here can be re-signed. EVM addresses are stored lower-case so that a checksum
-- spelling cannot dodge the nonce key.
CREATE TABLE chain_transfers (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payout_id                uuid NOT NULL UNIQUE,
  chain_id                 bigint NOT NULL CHECK (chain_id > 0),
  from_address             text NOT NULL CHECK (from_address ~ '^0x[0-9a-f]{40}$'),
  -- Who receives the asset: the swap's deposit address, or the payout destination without a swap.
  to_address               text NOT NULL CHECK (to_address ~ '^0x[0-9a-f]{40}$'),
  -- The ERC-20 contract called for a token transfer; NULL for the native asset.
  token_contract           text CHECK (token_contract ~ '^0x[0-9a-f]{40}$'),
  asset                    text NOT NULL,
  amount_units             numeric(78,0) NOT NULL CHECK (amount_units > 0),
  nonce                    bigint NOT NULL CHECK (nonce >= 0),
  gas_limit                bigint NOT NULL CHECK (gas_limit > 0),
  max_fee_per_gas          numeric(78,0) NOT NULL CHECK (max_fee_per_gas > 0),
  max_priority_fee_per_gas numeric(78,0) NOT NULL CHECK (max_priority_fee_per_gas >= 0),
  signed_tx                text NOT NULL CHECK (signed_tx ~ '^0x([0-9a-f]{2})+$'),
  tx_hash                  text NOT NULL UNIQUE CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
  status                   text NOT NULL DEFAULT 'signed' CHECK (status IN ('signed', 'broadcast', 'confirmed', 'failed')),
  broadcast_attempts       integer NOT NULL DEFAULT 0 CHECK (broadcast_attempts >= 0),
  last_broadcast_error     text CHECK (length(last_broadcast_error) <= 1000),
  block_number             bigint CHECK (block_number >= 0),
  gas_used                 bigint CHECK (gas_used > 0),
  effective_gas_price      numeric(78,0) CHECK (effective_gas_price > 0),
  fee_units                numeric(78,0) CHECK (fee_units >= 0),
  failure_reason           text CHECK (length(failure_reason) BETWEEN 1 AND 1000),
  signed_at                timestamptz NOT NULL,
  broadcast_at             timestamptz,
  confirmed_at             timestamptz,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (payout_id, asset, amount_units) REFERENCES payouts (id, asset, amount_units) ON DELETE RESTRICT,
  UNIQUE (chain_id, from_address, nonce),
  CHECK (max_priority_fee_per_gas <= max_fee_per_gas),
  CHECK (status = 'signed' OR broadcast_at IS NOT NULL),
  CHECK (status <> 'confirmed' OR (block_number IS NOT NULL AND confirmed_at IS NOT NULL)),
  CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
);
CREATE INDEX chain_transfers_open_idx ON chain_transfers (signed_at) WHERE status IN ('signed', 'broadcast');

CREATE FUNCTION chain_transfer_status_can_advance(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (from_status, to_status) IN (('signed', 'broadcast'), ('broadcast', 'confirmed'), ('broadcast', 'failed'))
$$;

CREATE FUNCTION chain_transfers_check_destination() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  expected text;
BEGIN
  SELECT lower(deposit_address) INTO expected FROM swaps WHERE payout_id = NEW.payout_id;
  IF NOT FOUND THEN
    SELECT lower(destination_wallet) INTO expected FROM payouts WHERE id = NEW.payout_id;
  END IF;
  IF expected IS DISTINCT FROM NEW.to_address THEN
    RAISE EXCEPTION 'transfer for payout % goes to %, expected %', NEW.payout_id, NEW.to_address, expected
      USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_transfers_destination';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER chain_transfers_destination
  BEFORE INSERT ON chain_transfers
  FOR EACH ROW EXECUTE FUNCTION chain_transfers_check_destination();

CREATE FUNCTION chain_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.payout_id, NEW.chain_id, NEW.from_address, NEW.to_address, NEW.token_contract, NEW.asset, NEW.amount_units,
      NEW.nonce, NEW.gas_limit, NEW.max_fee_per_gas, NEW.max_priority_fee_per_gas, NEW.signed_tx, NEW.tx_hash, NEW.signed_at)
     IS DISTINCT FROM
     (OLD.payout_id, OLD.chain_id, OLD.from_address, OLD.to_address, OLD.token_contract, OLD.asset, OLD.amount_units,
      OLD.nonce, OLD.gas_limit, OLD.max_fee_per_gas, OLD.max_priority_fee_per_gas, OLD.signed_tx, OLD.tx_hash, OLD.signed_at) THEN
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
CREATE TRIGGER chain_transfers_guard BEFORE UPDATE ON chain_transfers FOR EACH ROW EXECUTE FUNCTION chain_transfers_guard();

CREATE TRIGGER payouts_no_delete BEFORE DELETE ON payouts FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER swaps_no_delete BEFORE DELETE ON swaps FOR EACH ROW EXECUTE FUNCTION reject_delete();
CREATE TRIGGER chain_transfers_no_delete BEFORE DELETE ON chain_transfers FOR EACH ROW EXECUTE FUNCTION reject_delete();
