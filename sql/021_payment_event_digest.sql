-- An IPN body that was already applied answers from one read. NowPayments repeats IPNs (and
-- retries any it thinks failed); a repeat of a body whose transaction committed cannot change the
-- payment (its status only moves forward and the report is already in it), and the body is stored
-- already, byte for byte, so the webhook answers it without a write, the transaction, the checkout
-- lock and the upsert; its `ipn.repeated` log line records the receipt.
-- The digest is SHA-256 of the raw body, set only on events stored with their applied update (not on
-- evidence kept for a refused IPN, nor on reconciliation reads), so "seen" means "applied".
ALTER TABLE payment_events ADD COLUMN body_digest bytea CHECK (octet_length(body_digest) = 32);
CREATE INDEX payment_events_body_digest_idx ON payment_events (body_digest) WHERE body_digest IS NOT NULL;
