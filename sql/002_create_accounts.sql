-- People: Telegram users (subscribers and owners) and dashboard accounts (channel owners), with
-- their authentication secrets. Secrets are stored only as SHA-256 hashes (32 bytes) of random
-- tokens; a raw verification, reset, refresh or link token never reaches the database.

-- Every Telegram user the bot has met. Telegram user ids are positive int64.
CREATE TABLE telegram_users (
  id            bigint PRIMARY KEY CHECK (id > 0),
  username      text CHECK (username ~ '^[A-Za-z0-9_]{1,64}$'),
  first_name    text CHECK (length(first_name) <= 256),
  last_name     text CHECK (length(last_name) <= 256),
  language_code text CHECK (language_code ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
  -- Set when the bot got 403 "blocked by the user": DMs are pointless until the user writes again.
  dm_blocked_at timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Dashboard accounts of channel owners.
CREATE TABLE accounts (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Stored as typed (trimmed); uniqueness is case-insensitive (accounts_email_key below).
  email              text NOT NULL CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 254
                                          AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  -- A PHC-style string ('$scrypt$…', '$argon2id$…'): never a plain password.
  password_hash      text NOT NULL CHECK (password_hash ~ '^\$[a-z0-9-]+\$' AND length(password_hash) BETWEEN 20 AND 512),
  email_verified_at  timestamptz,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
  disabled_at        timestamptz,
  deleted_at         timestamptz,
  -- The owner's Telegram identity, proven with a telegram_link_codes code.
  telegram_user_id   bigint UNIQUE REFERENCES telegram_users (id) ON DELETE RESTRICT,
  telegram_linked_at timestamptz,
  -- Lockout after repeated failed logins.
  failed_login_count integer NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
  locked_until       timestamptz,
  last_login_at      timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'disabled' OR disabled_at IS NOT NULL),
  CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
  CHECK ((telegram_user_id IS NULL) = (telegram_linked_at IS NULL))
);
-- Case-insensitive uniqueness over all rows, deleted ones included (deletion anonymises the email
-- if the address should become free again). No citext: PGlite has only core Postgres.
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

-- One-time email tokens. "Latest wins": issuing a token revokes the previous live one of the same
-- purpose, so at most one live token per account and purpose exists.
CREATE TABLE email_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
  token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  -- The address being confirmed by a change_email token.
  new_email  text CHECK (new_email = btrim(new_email) AND length(new_email) BETWEEN 3 AND 254
                        AND new_email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  revoked_at timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((purpose = 'change_email') = (new_email IS NOT NULL)),
  CHECK (used_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX email_tokens_one_live_idx ON email_tokens (account_id, purpose)
  WHERE used_at IS NULL AND revoked_at IS NULL;

-- Rotating refresh tokens. Each refresh replaces the presented token with a new one in the same
-- family; presenting a rotated token again is reuse, and revokes the whole family.
CREATE TABLE refresh_tokens (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  family_id      uuid NOT NULL,
  token_hash     bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  issued_at      timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  rotated_at     timestamptz,
  replaced_by    uuid UNIQUE REFERENCES refresh_tokens (id) ON DELETE RESTRICT,
  revoked_at     timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset',
                                                'email_changed', 'account_disabled', 'operator')),
  CHECK (expires_at > issued_at),
  CHECK ((rotated_at IS NULL) = (replaced_by IS NULL)),
  CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
-- One live token per family: two concurrent refreshes with the same token cannot both rotate it.
CREATE UNIQUE INDEX refresh_tokens_one_live_per_family_idx ON refresh_tokens (family_id)
  WHERE rotated_at IS NULL AND revoked_at IS NULL;
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

-- Short-lived codes an owner sends to the bot to link a Telegram identity to the account.
CREATE TABLE telegram_link_codes (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id               uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  code_hash                bytea NOT NULL UNIQUE CHECK (octet_length(code_hash) = 32),
  created_at               timestamptz NOT NULL,
  expires_at               timestamptz NOT NULL,
  used_at                  timestamptz,
  used_by_telegram_user_id bigint REFERENCES telegram_users (id) ON DELETE RESTRICT,
  revoked_at               timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((used_at IS NULL) = (used_by_telegram_user_id IS NULL)),
  CHECK (used_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX telegram_link_codes_one_live_idx ON telegram_link_codes (account_id)
  WHERE used_at IS NULL AND revoked_at IS NULL;
