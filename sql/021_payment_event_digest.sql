-- An IPN body that was already applied answers from one statement. NowPayments repeats IPNs (and
-- retries any it thinks failed); a repeat of a body whose transaction committed cannot change the
-- payment (its status only moves forward and the report is already in it), so the webhook stores
-- the repeat as evidence and answers, without the transaction, the checkout lock and the upsert.
-- The digest is SHA-256 of the raw body, set only on events stored with their applied update (not on
-- evidence kept for a refused IPN, nor on reconciliation reads), so "seen" means "applied".
ALTER TABLE payment_events ADD COLUMN body_digest bytea CHECK (octet_length(body_digest) = 32);
CREATE INDEX payment_events_body_digest_idx ON payment_events (body_digest) WHERE body_digest IS NOT NULL;
