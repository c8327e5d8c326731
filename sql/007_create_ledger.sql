-- Double-entry ledger. Every movement of money is a ledger transaction: a set of entries, each a
-- signed amount in base units on one account. Sign convention: a positive amount is a debit, a
-- negative amount a credit. The database itself guarantees, at commit, that each transaction has
-- exactly the entries it declares and that they sum to zero per asset; rows are never updated or
-- deleted (a correction is a reversing transaction). Balances are sums of entries, never counters.

-- Accounts are paths ending in the lower-case asset code: 'owner:<channel id>:eth',
-- 'platform:fees:eth', 'hot_wallet:usdt_erc20'. shared/ledger derives type and flags from the path.
CREATE TABLE ledger_accounts (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code                        text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]*(:[a-z0-9_-]+)+$' AND length(code) <= 200),
  asset                       text NOT NULL REFERENCES assets (code) ON DELETE RESTRICT,
  -- Debit-normal: asset, expense. Credit-normal: liability, income, equity.
  type                        text NOT NULL CHECK (type IN ('asset', 'liability', 'income', 'expense', 'equity')),
  -- Owner accounts name their channel; the key makes a balance for an unknown channel impossible.
  channel_id                  uuid REFERENCES channels (id) ON DELETE RESTRICT,
  -- When false, no commit may leave the balance (in the account's normal direction) below zero.
  is_negative_balance_allowed boolean NOT NULL,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  -- Target of ledger_entries' (account_id, asset) key: an entry's asset is its account's asset.
  UNIQUE (id, asset),
  CHECK (right(code, length(asset) + 1) = ':' || lower(asset)),
  CHECK ((channel_id IS NOT NULL) = (code LIKE 'owner:%')),
  CHECK (channel_id IS NULL OR code = 'owner:' || channel_id::text || ':' || lower(asset)),
  -- What we owe an owner can never go below zero: a second claim on the same balance fails.
  CHECK (channel_id IS NULL OR (type = 'liability' AND NOT is_negative_balance_allowed))
);

-- +1 for debit-normal account types, -1 for credit-normal ones.
CREATE FUNCTION ledger_normal_sign(account_type text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN account_type IN ('asset', 'expense') THEN 1 ELSE -1 END
$$;

CREATE TABLE ledger_transactions (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind                    text NOT NULL CHECK (kind IN (
                            'payment_settled',       -- gross in, processor fee, platform fee, owner net
                            'payout_claimed',        -- owner balance committed to a payout
                            'payout_funded',         -- hot wallet sent the payout's funds on chain
                            'payout_completed',      -- swap provider delivered; the obligation is discharged
                            'payout_returned',       -- a payout that did not happen gives the balance back
                            'swap_refunded',         -- the swap provider sent funds back to the hot wallet
                            'conversion_completed',  -- batch conversion received; shares credited to owners
                            'network_fee',           -- gas paid by the hot wallet
                            'capital',               -- platform funds in or out (gas top-up, fee sweep)
                            'adjustment',            -- operator correction with a description
                            'reversal'               -- exact negation of an earlier transaction
                          )),
  -- One logical effect, one key ('settle:<payment id>'): a repeated effect cannot post twice.
  idempotency_key         text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200 AND idempotency_key !~ '[[:space:]]'),
  occurred_at             timestamptz NOT NULL,
  -- How many entries the transaction has; checked at commit, so no entry can be added later.
  entry_count             smallint NOT NULL CHECK (entry_count BETWEEN 2 AND 1000),
  payment_id              uuid REFERENCES payments (id) ON DELETE RESTRICT,
  payout_id               uuid,  -- key to payouts added with that table (008)
  conversion_batch_id     uuid,  -- key to conversion_batches added with that table (009)
  reverses_transaction_id uuid UNIQUE REFERENCES ledger_transactions (id) ON DELETE RESTRICT,
  description             text CHECK (length(description) BETWEEN 1 AND 500),
  created_at              timestamptz NOT NULL DEFAULT now(),
  -- Targets of payouts' and conversion_batches' composite keys: the transaction they point at is of
  -- the right kind and names them.
  UNIQUE (id, payout_id, kind),
  UNIQUE (id, conversion_batch_id, kind),
  CHECK ((kind = 'reversal') = (reverses_transaction_id IS NOT NULL)),
  CHECK (kind <> 'adjustment' OR description IS NOT NULL)
);
CREATE INDEX ledger_transactions_payment_idx ON ledger_transactions (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX ledger_transactions_payout_idx ON ledger_transactions (payout_id) WHERE payout_id IS NOT NULL;
CREATE INDEX ledger_transactions_batch_idx ON ledger_transactions (conversion_batch_id) WHERE conversion_batch_id IS NOT NULL;
-- Each of these effects happens at most once per payment, payout or batch, whatever its key says:
-- a payment settles once; a payout is claimed, funded, completed, returned and refunded once.
CREATE UNIQUE INDEX ledger_transactions_one_settlement_idx ON ledger_transactions (payment_id)
  WHERE kind = 'payment_settled';
CREATE UNIQUE INDEX ledger_transactions_one_payout_effect_idx ON ledger_transactions (payout_id, kind)
  WHERE kind IN ('payout_claimed', 'payout_funded', 'payout_completed', 'payout_returned', 'swap_refunded');
CREATE UNIQUE INDEX ledger_transactions_one_conversion_idx ON ledger_transactions (conversion_batch_id)
  WHERE kind = 'conversion_completed';

CREATE TABLE ledger_entries (
  transaction_id uuid NOT NULL REFERENCES ledger_transactions (id) ON DELETE RESTRICT,
  line           smallint NOT NULL CHECK (line >= 1),
  account_id     uuid NOT NULL,
  asset          text NOT NULL,
  -- Base units of the asset; positive = debit, negative = credit.
  amount         numeric(78,0) NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (transaction_id, line),
  FOREIGN KEY (account_id, asset) REFERENCES ledger_accounts (id, asset) ON DELETE RESTRICT
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id);

-- A transaction is complete (lines 1..entry_count, no more, no fewer) and sums to zero per asset.
CREATE FUNCTION ledger_check_transaction(p_transaction_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  declared_count smallint;
  actual_count   bigint;
  last_line      smallint;
  bad_asset      text;
  bad_sum        numeric;
BEGIN
  SELECT entry_count INTO declared_count FROM ledger_transactions WHERE id = p_transaction_id;
  SELECT count(*), max(line) INTO actual_count, last_line FROM ledger_entries WHERE transaction_id = p_transaction_id;
  IF actual_count <> declared_count OR last_line IS DISTINCT FROM declared_count THEN
    RAISE EXCEPTION 'ledger transaction % declares % entries but has %', p_transaction_id, declared_count, actual_count
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_complete';
  END IF;
  SELECT asset, sum(amount) INTO bad_asset, bad_sum
    FROM ledger_entries WHERE transaction_id = p_transaction_id
    GROUP BY asset HAVING sum(amount) <> 0 ORDER BY asset LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced: % entries sum to %', p_transaction_id, bad_asset, bad_sum
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_balanced';
  END IF;
END
$$;

CREATE FUNCTION ledger_transactions_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_check_transaction(NEW.id);
  RETURN NULL;
END
$$;

-- Per entry: its transaction is still complete and balanced (an entry added to an old transaction
-- breaks its count), and an account that may not go negative did not. The account row lock makes
-- two concurrent claims on one balance run one after the other, and the sum (a fresh snapshot per
-- statement under READ COMMITTED) then sees the first claim. Under SERIALIZABLE the conflict aborts
-- one of them instead (40001, retried by Db.transaction). Do not post under REPEATABLE READ.
CREATE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  account ledger_accounts%ROWTYPE;
  balance numeric;
BEGIN
  PERFORM ledger_check_transaction(NEW.transaction_id);
  SELECT * INTO account FROM ledger_accounts WHERE id = NEW.account_id;
  IF NOT account.is_negative_balance_allowed AND NEW.amount * ledger_normal_sign(account.type) < 0 THEN
    PERFORM 1 FROM ledger_accounts WHERE id = NEW.account_id FOR UPDATE;
    SELECT coalesce(sum(amount), 0) * ledger_normal_sign(account.type) INTO balance
      FROM ledger_entries WHERE account_id = NEW.account_id;
    IF balance < 0 THEN
      RAISE EXCEPTION 'ledger account % would have a negative balance (%)', account.code, balance
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_accounts_no_overdraft';
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
  AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_transactions_check();
CREATE CONSTRAINT TRIGGER ledger_entries_balanced
  AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_check();

-- Immutable: accounts, transactions and entries are never updated, deleted or truncated.
CREATE TRIGGER ledger_accounts_immutable BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
