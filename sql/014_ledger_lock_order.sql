-- Deadlock-free balance locks. Inserting a ledger entry takes FOR KEY SHARE on its account row (the
-- foreign key check). The no-overdraft check then took FOR UPDATE on the same row, an upgrade that
-- conflicts with every other transaction's KEY SHARE: two settlements claiming one owner's balance
-- each held KEY SHARE and waited for the other's (a deadlock per pair at a channel's launch).
-- FOR NO KEY UPDATE serializes the balance checks of one account just the same (it conflicts with
-- itself) but not with the key-share locks of ordinary entry inserts, so no such cycle can form.
-- shared/ledger takes the same lock, in account-code order, before it inserts any entry.
CREATE OR REPLACE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  account ledger_accounts%ROWTYPE;
  balance numeric;
BEGIN
  PERFORM ledger_check_transaction(NEW.transaction_id);
  SELECT * INTO account FROM ledger_accounts WHERE id = NEW.account_id;
  IF NOT account.is_negative_balance_allowed AND NEW.amount * ledger_normal_sign(account.type) < 0 THEN
    PERFORM 1 FROM ledger_accounts WHERE id = NEW.account_id FOR NO KEY UPDATE;
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
