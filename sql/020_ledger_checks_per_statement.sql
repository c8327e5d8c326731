-- Ledger checks at the end of the posting statement instead of at commit. shared/ledger inserts a
-- transaction and all its entries in one statement (a data-modifying WITH), and AFTER triggers fire
-- once that whole statement has run, so the completeness, balance and no-overdraft checks see the
-- finished transaction and refuse it right there, with their constraint name, instead of at the
-- caller's COMMIT. Before, each posting ran SET CONSTRAINTS … IMMEDIATE and … DEFERRED around its
-- inserts to get the same effect: two more round trips per posting. The triggers stay DEFERRABLE:
-- a writer that inserts a header and its entries in separate statements says
-- SET CONSTRAINTS ledger_transactions_balanced, ledger_entries_balanced DEFERRED first, and is
-- checked at commit.
DROP TRIGGER ledger_transactions_balanced ON ledger_transactions;
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
  AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION ledger_transactions_check();

DROP TRIGGER ledger_entries_balanced ON ledger_entries;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced
  AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_check();
