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
