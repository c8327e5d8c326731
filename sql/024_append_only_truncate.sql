-- TRUNCATE skips row triggers, so every table whose rows may not be deleted also refuses TRUNCATE
-- (the ledger and payment_events did already; the audit trail and the money path's tables did not).
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER assets_no_truncate BEFORE TRUNCATE ON assets FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER broadcast_schedules_no_truncate BEFORE TRUNCATE ON broadcast_schedules FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER chain_transfer_replacements_no_truncate BEFORE TRUNCATE ON chain_transfer_replacements FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER chain_transfers_no_truncate BEFORE TRUNCATE ON chain_transfers FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER channel_tiers_no_truncate BEFORE TRUNCATE ON channel_tiers FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER channels_no_truncate BEFORE TRUNCATE ON channels FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER checkouts_no_truncate BEFORE TRUNCATE ON checkouts FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER conversion_batch_shares_no_truncate BEFORE TRUNCATE ON conversion_batch_shares FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER conversion_batches_no_truncate BEFORE TRUNCATE ON conversion_batches FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER invite_links_no_truncate BEFORE TRUNCATE ON invite_links FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER payouts_no_truncate BEFORE TRUNCATE ON payouts FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER subscription_periods_no_truncate BEFORE TRUNCATE ON subscription_periods FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER subscriptions_no_truncate BEFORE TRUNCATE ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
CREATE TRIGGER swaps_no_truncate BEFORE TRUNCATE ON swaps FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();
